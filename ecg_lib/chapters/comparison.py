"""What the comparison chapter shows over its three pages: ``notebooks/comparison.md`` (the tables, printed
comparisons and plots of the five ImageNet networks, :func:`ecg_lib.experiments.comparison.landmarks`, and
what carried forward), ``notebooks/comparison_race.md`` (the CIFAR-10 race, live and archived) and
``notebooks/comparison_summary.md`` (five points, :func:`summary_points`, above the verdict table of
:mod:`ecg_lib.chapters.summary`). The papers' figures come from :mod:`ecg_lib.papers`.

The race's part of the chapter is :mod:`ecg_lib.chapters.comparison_race` (re-exported here, so every
page reads the chapter from this module); this one holds the five networks, what carried forward, the
closing page's points and the chapter's claims (:data:`LEDGER`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ecg_lib import papers
from ecg_lib.chapters import common, comparison_race
from ecg_lib.chapters.common import join_words, pct
from ecg_lib.chapters.comparison_race import CHAPTER
from ecg_lib.chapters.reach import out_of_reach
from ecg_lib.claims import Claim, Ledger, Measurement, NotMeasured, binomial_se
from ecg_lib.counting import format_count
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments import comparison as experiment

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ecg_lib.claim_ledgers import Evidence

__all__ = [
    "CHAPTER",
    "LEDGER",
    "alexnet_input_text",
    "carried_forward_table",
    "counted",
    "error_vs_cost_figure",
    "errors_table",
    "landmarks_table",
    "race_point",
    "receptive_field_lines",
    "receptive_field_text",
    "size_lines",
    "summary_points",
    "top5",
    "vgg_cost_lines",
]


def __getattr__(name: str) -> Any:
    # The race's part of the page is read from here too (the notebook imports one module per page), without
    # a second list of its names to keep in step with comparison_race.__all__.
    if name in comparison_race.__all__:
        return getattr(comparison_race, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *comparison_race.__all__})


# ----------------------------------------------------------------------------------------------------------
# 1. The five ImageNet networks, measured


def top5(t: papers.TopFive | None) -> str:
    """A paper's top-5 error with its split and test-time views, or the number of networks of an
    ensemble; "—" if none."""
    if t is None:
        return "—"
    if t.models > 1:
        return f"{100 * t.error:.2f}% ({t.models} nets)"
    return f"{100 * t.error:.2f}% ({t.split}, {t.views})" if t.views else f"{100 * t.error:.2f}% ({t.split})"


def landmarks_table(marks: Sequence[experiment.Landmark]) -> str:
    """Year, measured depth, size, cost and receptive field of each network (six columns; the papers'
    errors are :func:`errors_table`'s)."""
    return common.markdown_table(
        ("network", "year", "depth", "parameters", "multiply-adds (input)", "last-conv receptive field"),
        [(f"{m.name} {{cite}}`{m.paper}`", m.year, m.depth, format_count(m.params),
          f"{format_count(m.macs)} ({m.input_size[1]}²)", f"{m.receptive_field} px") for m in marks],
    )  # fmt: skip


def errors_table(marks: Sequence[experiment.Landmark]) -> str:
    """The papers' ImageNet top-5 errors of each network: its best single network (split and views) and
    its team's ILSVRC entry."""
    return common.markdown_table(
        ("network", "top-5, one network", "top-5, ILSVRC entry"),
        [(m.name, top5(m.single_model), top5(m.entry)) for m in marks],
    )


def size_lines(marks: Sequence[experiment.Landmark]) -> str:
    """One line per network, shallowest first: depth, parameters, multiply-adds, share in FC layers."""
    return "\n".join(
        f"{m.name:>10}: {m.depth:>3} weight layers, {m.params / 1e6:6.1f} M parameters "
        f"({m.params / m.depth / 1e6:5.2f} M per layer), {m.macs / 1e9:5.2f} G multiply-adds, "
        f"{100 * m.fc_share:4.1f}% of the parameters in fully connected layers"
        for m in sorted(marks, key=lambda m: m.depth)
    )


def vgg_cost_lines(marks: Sequence[experiment.Landmark]) -> str:
    """VGG-16/19's multiply-adds in all and in the convolutions alone, and ResNet-152's against them."""
    by = {m.name: m for m in marks}
    lines = []
    for name, model in (("VGG-16", "vgg_d"), ("VGG-19", "vgg_e")):
        total, convs = by[name].macs, experiment.conv_macs(model)
        lines.append(f"{name}: {total / 1e9:.2f} G multiply-adds in all, {convs / 1e9:.2f} G in the "
                     "convolutions alone")  # fmt: skip
    r152 = by["ResNet-152"].macs
    lines.append(f"ResNet-152: {r152 / 1e9:.2f} G; {r152 / by['VGG-16'].macs:.0%} of VGG-16's, "
                 f"{r152 / by['VGG-19'].macs:.0%} of VGG-19's")  # fmt: skip
    return "\n".join(lines)


def alexnet_input_text(sides: Sequence[int] = (224, 227)) -> str:
    """Why AlexNet is measured at 227: its first layer (11x11, stride 4, no padding) on each input side,
    traced by :func:`ecg_lib.counting.positions_read` (which pixels some window reads) and
    :func:`ecg_lib.counting.window_centres` (units per side)."""
    from torch import nn

    from ecg_lib.counting import positions_read, window_centres

    conv = nn.Conv2d(3, 96, 11, stride=4)
    parts = []
    for side in sides:
        unread = int((~positions_read(conv, side).any(0)).sum())
        units = int(window_centres(conv, side).any(0).sum())
        # "the last 1 row" reads like a template: one row is "the last row"
        where = ("reads every pixel" if unread == 0 else "never reads the last row and column" if unread == 1
                 else f"never reads the last {unread} rows and columns")  # fmt: skip
        parts.append(f"on {side}×{side} it has {units} units a side and {where}")
    return "AlexNet's first layer (11×11, stride 4, no padding): " + "; ".join(parts) + "."


def receptive_field_lines(marks: Sequence[experiment.Landmark]) -> str:
    """Each network's last-conv receptive field against its input side, and where the windows of that
    layer's units fall (:class:`ecg_lib.tracing.Coverage`): the share of units whose window holds the
    whole image, and how much of the image a corner unit sees."""
    lines = []
    for m in marks:
        c = m.trace.coverage
        assert c is not None
        verdict = "wider than the image" if m.receptive_field > m.input_size[1] else "narrower than the image"
        lines.append(f"{m.name:>10}: {m.receptive_field:>5} px, {verdict} ({m.input_size[1]} px); "
                     f"{c.full_units:>2} of {c.units**2:>3} units ({100 * c.full_share:5.1f}%) "
                     "see all of it; "
                     f"a corner unit sees {100 * c.corner_seen:5.1f}% of the image, and "
                     f"{100 * (1 - c.corner_inside):4.1f}% of its window is padding")  # fmt: skip
    return "\n".join(lines)


def receptive_field_text(marks: Sequence[experiment.Landmark]) -> str:
    """The paragraph on what the last convolutions see, generated from the traced coverage: which
    networks' last-layer units all see the whole image, and which have a field wider than the image
    that still leaves a corner unit blind to most of it."""
    def names(ms: Sequence[experiment.Landmark]) -> str:
        return join_words([m.name for m in ms])

    cov = {m.name: m.trace.coverage for m in marks}
    wider = [m for m in marks if m.receptive_field > m.input_size[1]]
    all_see = [m for m in wider if cov[m.name].full_share == 1]
    partial = [m for m in wider if cov[m.name].full_share < 1]
    narrower = [m for m in marks if m.receptive_field <= m.input_size[1]]
    parts = []
    if all_see:
        pad = max(1 - cov[m.name].corner_inside for m in all_see)
        lo_pad = min(1 - cov[m.name].corner_inside for m in all_see)
        fields = join_words([f"{m.receptive_field:,}" for m in all_see])
        parts.append(
            f"In {names(all_see)} the last convolution's field "
            f"({fields} pixels) is so much wider than the "
            f"{all_see[0].input_size[1]}-pixel input that every one of its units, corner units included, is "
            f"connected through some path to every pixel; for a corner unit {100 * lo_pad:.0f}% to "
            f"{100 * pad:.0f}% of the window lies in the padding around the image.")  # fmt: skip
    for m in partial:
        c = cov[m.name]
        idx = [i + 1 for i, full in enumerate(c.covers()) if full]
        which = (f": units {idx[0]} to {idx[-1]} of the {c.units} along each side" if len(idx) > 1
                 else f": unit {idx[0]} of the {c.units} along each side" if idx else "")  # fmt: skip
        parts.append(
            f"{m.name}'s field, {m.receptive_field} pixels, is wider than its {m.input_size[1]}-pixel input, "
            f"yet only {c.full_units} of its {c.units**2} last-layer units see all of the image{which}. A "
            f"corner unit's window reaches {-c.first} pixels into the padding on one side and holds "
            f"{100 * c.corner_seen:.0f}% of the image.")  # fmt: skip
    if narrower:
        seen = [f"{100 * cov[m.name].corner_seen:.0f}%{' of the image' if i == 0 else ''} in {m.name}"
                for i, m in enumerate(narrower)]  # fmt: skip
        parts.append(
            f"In {names(narrower)} the field is narrower than the image, so no unit of the last "
            f"convolution sees all of it; a corner unit sees {join_words(seen)}."
        )  # fmt: skip
    return " ".join(parts)


def error_vs_cost_figure(marks: Sequence[experiment.Landmark]) -> Figure:
    """The papers' top-5 errors against parameters (top) and multiply-adds (bottom): each network's best
    single result hollow, its team's ensemble entry filled. Built without pyplot at the text column's
    width; the notebook shows the returned Figure."""
    from ecg_lib.chapters.common import FIGURE_WIDTH, new_figure

    fig = new_figure(FIGURE_WIDTH, 7.6)[0]
    fig.clear()
    axes = fig.subplots(2, 1, sharey=True)
    for ax, attr, label in ((axes[0], "params", "parameters (millions, log scale)"),
                            (axes[1], "macs", "multiply-adds per image (billions, log scale)")):  # fmt: skip
        scale = 1e6 if attr == "params" else 1e9
        for i, m in enumerate(marks):
            if m.single_model is None:
                continue  # NIN: no ImageNet result in its paper
            x = getattr(m, attr) / scale
            ax.scatter(x, 100 * m.single_model.error, s=60, color="white", edgecolor=f"C{i}", zorder=3)
            if m.entry is not None and m.name != "VGG-19":  # VGG-16 and -19 share one ensemble entry
                ax.scatter(x, 100 * m.entry.error, s=60, color=f"C{i}", zorder=3)
            below = m.name == "VGG-19"  # VGG-16 and VGG-19 sit almost on top of each other
            ax.annotate(m.name, (x, 100 * m.single_model.error), textcoords="offset points",
                        xytext=(7, -12 if below else 3), fontsize=9)  # fmt: skip
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("ImageNet top-5 error (%)")
    axes[0].scatter([], [], color="white", edgecolor="k",
                    label="best single network of the architecture (validation set, many views per image)")
    axes[0].scatter([], [], color="k", label="ILSVRC entry, an ensemble (test set)")
    axes[0].set_ylim(0, 21)
    axes[1].set_ylabel("ImageNet top-5 error (%)")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", fontsize=9)
    return fig


# ----------------------------------------------------------------------------------------------------------
# 3. What carried forward


def carried_forward_table(marks: Sequence[experiment.Landmark]) -> str:
    """Activations, kernel sizes, FC layers, global pooling and joins of each network, one column per
    network and one row per feature (five networks fit the column; VGG-19 left out: it is VGG-16 with
    three more 3×3 layers)."""
    shown = [m for m in marks if m.name != "VGG-19"]
    cells: dict[str, list[object]] = {k: [] for k in (
        "activations", "3×3 convs", "1×1 convs", "larger convs", "FC layers (share of parameters)",
        "global average pool", "paths joined")}  # fmt: skip
    for m in shown:
        t = m.trace
        joins = [f"{t.concats} concatenations"] if t.concats else []
        joins += [f"{t.shortcut_adds} shortcut additions"] if t.shortcut_adds else []
        for key, value in zip(cells, (", ".join(f"{n} {a}" for a, n in t.activations.items()),
                                      t.conv_kernels.get(3, 0), t.conv_kernels.get(1, 0),
                                      sum(n for k, n in t.conv_kernels.items() if k > 3),
                                      f"{t.linear_layers} ({100 * m.fc_share:.0f}%)",
                                      "yes" if t.global_pool else "no", ", ".join(joins) or "—"),
                              strict=True):  # fmt: skip
            cells[key].append(value)
    return common.markdown_table(("", *(m.name for m in shown)), [(k, *v) for k, v in cells.items()])


# ----------------------------------------------------------------------------------------------------------
# The chapter's claims (its "Paper vs. this book" table is summary.verdict_table's)


_NAMES = ("AlexNet", "VGG-16", "VGG-19", "GoogLeNet", "ResNet-152")
_COUNTS = "landmarks"  # the counted object the arithmetic claims read: {name: Landmark}
_ALL_FIVE = "krizhevsky2012imagenet,simonyan2015very,szegedy2015going,he2016deep"  # one {cite} of all
_RACE = "race_seed0"  # the race the table reads (live: this run's seed 0; archived: the same seed)


def _depths(marks: dict[str, Any]) -> Measurement:
    ours = [marks[n].depth for n in _NAMES]
    paper = [papers.network(n).depth for n in _NAMES]
    return Measurement(sum(a != b for a, b in zip(ours, paper, strict=True)), ", ".join(map(str, ours)))


def _race_error(name: str) -> Callable[[ExperimentResult], Measurement]:
    def read(r: ExperimentResult) -> Measurement:
        if name not in r.metrics["nets"]:
            raise NotMeasured(f"{name} not raced in the {r.profile} profile")
        e, n = r.metrics["nets"][name]["test_error"], r.metrics["n_test"]
        if e is None:
            raise NotMeasured("diverged: no test error")
        return Measurement(e, pct(e), se=binomial_se(e, n), basis=f"binomial SE, {n:,} images (seed 0)")

    return read


def _race_claim(name: str, fig: papers.CifarFigure) -> Claim:
    method = "test error after this chapter's race (a short time-budgeted run, not the paper's schedule)"
    return Claim(f"race_{name}", fig.paper, fig.source,
                 f"`{name}` reaches {100 * fig.error:.2f}% CIFAR-10 test error",
                 f"{100 * fig.error:.2f}% ({fig.note})", fig.source, method, _RACE, _race_error(name),
                 kind="value", target=fig.error, tolerance=0.01,
                 noise="binomial SE of the test error, plus 1 point",
                 reach=out_of_reach(papers.CIFAR_SCHEDULES[fig.paper]))  # fmt: skip


#: The chapter's claims, in the order of its "Paper vs. this book" table. The counts that other chapters
#: check (VGG-19's and ResNet-152's multiply-adds) are theirs; this one adds what only it measures.
LEDGER = Ledger("comparison", "Five networks side by side", "comparison-paper-vs-book", (
    Claim("vgg16_macs", "he2016deep", "Sec. 4.1",
          f"VGG-16 needs {papers.RESNET_VGG_GMACS[16]} billion multiply-adds per image",
          f"{papers.RESNET_VGG_GMACS[16]} G", "He et al. 2016, Sec. 4.1; Sec. 3.3 quotes VGG-19 only",
          "MACs counted at 224×224 (the paper rounds to 0.1 G)", _COUNTS,
          lambda m: Measurement(m["VGG-16"].macs / 1e9, f"{m['VGG-16'].macs / 1e9:.2f} G (convolutions: "
                                f"{experiment.conv_macs('vgg_d') / 1e9:.2f} G)"),
          kind="exact", target=papers.RESNET_VGG_GMACS[16], tolerance=0.02),
    Claim("depths", _ALL_FIVE, "each paper", "AlexNet, VGG-16, VGG-19, GoogLeNet and ResNet-152 have "
          + ", ".join(str(papers.network(n).depth) for n in _NAMES[:-1])
          + f" and {papers.network(_NAMES[-1]).depth} weight layers",
          ", ".join(str(papers.network(n).depth) for n in _NAMES),
          "each paper's architecture table (ecg_lib.papers.NETWORKS)", "weight layers on the longest path; "
          "the verdict counts mismatches", _COUNTS, _depths, kind="exact", target=0.0),
    *(_race_claim(name, fig) for name, fig in papers.COMPARISON_CIFAR.items()),
))  # fmt: skip


def counted() -> dict[str, Any]:
    """The objects the chapter's arithmetic claims read (the scoreboard computes them without the page)."""
    return {_COUNTS: {m.name: m for m in experiment.landmarks()}}


# ----------------------------------------------------------------------------------------------------------
# The closing page: what the chapter found


def race_point(archives: Sequence[ExperimentResult]) -> str:
    """The archived race in one sentence: which network ends lowest, pooled over the archived seeds, and
    which stay within five points of chance; generated from the archives (one profile, see
    :func:`~ecg_lib.chapters.comparison_race.archived_races`)."""
    if not archives:
        return ("No archived race exists yet (`python -m ecg_lib reproduce comparison --profile standard`), "
                "so this chapter's race has no evidence beyond the reader's own small run.")  # fmt: skip
    rows = [r for r in experiment.race_summary(archives) if r.error_mean is not None]
    first = archives[0]
    budget = first.metrics.get("seconds_per_net")
    length = f"{budget:g} s of training per network" if budget else f"{rows[0].epochs} epochs per network"
    seeds = f"{len(archives)} seed{'s' if len(archives) > 1 else ''}"
    best = min(rows, key=lambda r: r.error_mean)
    text = (f"In the archived {first.profile} race ({length}, {seeds}), {best.model} ends lowest, at a mean "
            f"test error of {pct(best.error_mean)}")  # fmt: skip
    stalled = [r.model for r in rows if r.error_mean > 0.85]
    if stalled:
        verb = "stays" if len(stalled) == 1 else "stay"
        text += f"; {join_words(stalled)} {verb} within five points of chance (90%)"
    return text + ": a result about this budget on the archive's device, not about the designs."


def summary_points(ev: Sequence[Evidence], *, marks: Sequence[experiment.Landmark] | None = None,
                   archives: Sequence[ExperimentResult] | None = None) -> list[str]:  # fmt: skip
    """The chapter's five findings for its closing page, generated from the claims' best evidence
    (``ev``, :func:`ecg_lib.chapters.summary.evidence`), the counted networks (``marks``; None: counted
    now) and the archived races (``archives``; None: :func:`archived_races`)."""
    from ecg_lib.chapters.summary import finding
    from ecg_lib.claim_tally import best_verdict

    marks = experiment.landmarks() if marks is None else marks
    archives = comparison_race.archived_races() if archives is None else archives
    by_key = {e.claim.key: e for e in ev}
    by_name = {m.name: m for m in marks}
    r152, vgg16 = by_name["ResNet-152"], by_name["VGG-16"]
    cost = (f"{finding(by_key['vgg16_macs'])} ResNet-152 needs {r152.macs / 1e9:.2f} billion, "
            f"{r152.macs / vgg16.macs:.0%} of VGG-16's.")  # fmt: skip
    alex = by_name["AlexNet"]
    ones, threes = r152.trace.conv_kernels.get(1, 0), r152.trace.conv_kernels.get(3, 0)
    carried = (f"Global average pooling shrank the fully connected layers from {100 * alex.fc_share:.0f}% of "
               f"AlexNet's parameters to {100 * r152.fc_share:.0f}% of ResNet-152's. In ResNet-152, "
               f"{ones} 1×1 convolutions wrap {threes} 3×3 ones.")  # fmt: skip
    groups: dict[str, list[str]] = {}
    for e in ev:
        if e.claim.key.startswith("race_"):
            groups.setdefault(best_verdict(e), []).append(e.claim.key.removeprefix("race_"))
    verdicts = "; ".join(f"{join_words(names)}: **{v}**" for v, names in groups.items())
    race_claims = (f"The papers' CIFAR-10 errors, checked on the race's networks: {verdicts}. The table "
                   "below gives each reason.")  # fmt: skip
    return [finding(by_key["depths"]), cost, carried, race_point(archives), race_claims]
