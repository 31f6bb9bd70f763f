"""Veit et al.'s lesion study of the trained reference ResNet-56 on a page (the ResNet chapter's section
"Trained networks"): single deletions, the error against the number of deleted blocks beside the additive
estimate, the measured paragraph and the kernel-free explorer. The single-deletion curve is drawn by
:func:`ecg_lib.chapters.plots.plot_single_lesions`, as the chapter's own nets' are. Re-exported by
:mod:`ecg_lib.chapters.reference`.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ecg_lib.chapters import common, plots
from ecg_lib.chapters.common import pct
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments.lesions import Lesion, lesions_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ecg_lib.chapters.explorers import Explorer

__all__ = [
    "CHANCE",
    "additive_estimate",
    "k_rows",
    "lesion_explorer",
    "lesion_k_table",
    "lesion_text",
    "lesions_figure",
    "plot_lesions",
    "single_summary",
]

CHANCE = 0.9  # ten classes
# A net closer to chance than this has too little left to lose for its lesions to say much.
_NEAR_CHANCE = 0.25
#: How the reference networks' figures are labelled: where they were trained, where evaluated.
LABEL = "trained elsewhere on the original CIFAR-10, evaluated here"


def _records(lesions: Sequence[Lesion | Mapping[str, Any]]) -> list[Lesion]:
    """A lesion study as :class:`~ecg_lib.experiments.lesions.Lesion` records (archived JSON rows too)."""
    return [r if isinstance(r, Lesion) else Lesion(**r) for r in lesions]


def _singles(lesions: ExperimentResult) -> list[dict[str, Any]]:
    return [r for r in lesions.metrics["single"] if r["block"] != -1]


def single_summary(lesions: ExperimentResult) -> dict[str, float]:
    """Single deletions of ordinary blocks (shape kept): median, min, max and mean change (fractions)
    against the intact net, and the largest change from a downsampling block."""
    intact = lesions.metrics["intact_error"]
    same = [r["error"] - intact for r in _singles(lesions) if not r["downsampling"]]
    down = [r["error"] - intact for r in _singles(lesions) if r["downsampling"]]
    return {"median": statistics.median(same), "min": min(same), "max": max(same),
            "mean": statistics.fmean(same), "std": statistics.stdev(same) if len(same) > 1 else 0.0,
            "n": len(same), "downsampling": max(down) if down else float("nan")}  # fmt: skip


def additive_estimate(lesions: ExperimentResult, deleted: Sequence[int]) -> float:
    """The error if the blocks' effects simply added up: intact + the sum of their single-deletion
    changes (capped at chance). What an ensemble of independent members would roughly give."""
    intact = lesions.metrics["intact_error"]
    by_block = {r["block"]: r["error"] for r in _singles(lesions)}
    return min(CHANCE, intact + sum(by_block[b] - intact for b in deleted))


def k_rows(lesions: ExperimentResult) -> list[dict[str, Any]]:
    """Error against the number of deleted blocks: ``k = 0`` (intact), ``k = 1`` (every ordinary block
    alone), then each random ``k`` (mean, sd, min, max over repeats, and the additive estimate)."""
    m = lesions.metrics
    intact = m["intact_error"]
    s = single_summary(lesions)
    singles = [r["error"] for r in _singles(lesions) if not r["downsampling"]]
    rows = [{"k": 0, "kind": "intact", "mean": intact, "std": 0.0, "min": intact, "max": intact, "n": 1,
             "additive": intact},
            {"k": 1, "kind": "each ordinary block", "mean": intact + s["mean"], "std": s["std"],
             "min": min(singles), "max": max(singles), "n": s["n"],
             "additive": intact + s["mean"]}]  # fmt: skip
    for k, v in sorted(m["random"].items(), key=lambda kv: int(kv[0])):
        add = statistics.fmean(additive_estimate(lesions, d) for d in v["sets"])
        rows.append({"k": int(k), "kind": "random", **{f: v[f] for f in ("mean", "std", "min", "max", "n")},
                     "additive": add})  # fmt: skip
    for k, v in sorted(m["contiguous"].items(), key=lambda kv: int(kv[0])):
        starts = v["starts"]
        add = statistics.fmean(additive_estimate(lesions, range(st, st + int(k))) for st in starts)
        rows.append({"k": int(k), "kind": "contiguous",
                     **{f: v[f] for f in ("mean", "std", "min", "max", "n")}, "additive": add})  # fmt: skip
    return rows


def _share(error: float, intact: float) -> float:
    return (error - intact) / (CHANCE - intact) if CHANCE > intact else float("nan")


def lesion_k_table(lesions: ExperimentResult) -> str:
    """Error against the number of deleted blocks (Veit et al., Fig. 5a), with the spread over repeats;
    which blocks and how many sets share a column, so that the table keeps to six columns."""
    intact = lesions.metrics["intact_error"]
    return common.markdown_table(
        ("blocks deleted", "which: sets", "test error, mean ± sd", "min – max",
         "share of the way to chance", "if the effects added up"),
        [(r["k"], f"{r['kind']}: {r['n']}", f"{pct(r['mean'])} ± {100 * r['std']:.1f}",
          f"{pct(r['min'])} – {pct(r['max'])}", f"{100 * _share(r['mean'], intact):.0f}%",
          pct(r["additive"])) for r in k_rows(lesions)],
    )  # fmt: skip


def lesion_text(lesions: ExperimentResult,
                quick_resnet56: Sequence[Lesion | Mapping[str, Any]] | None = None) -> str:  # fmt: skip
    """The measured paragraph on the trained net's lesions: single deletions against the sampling noise,
    the rise with ``k`` against the additive estimate, the verdict on ensemble-like behaviour, and (with
    the ``lesion_study`` output of a ResNet-56 of this chapter's depth study, live or archived) the
    comparison with the net trained by the chapter."""
    m = lesions.metrics
    intact, se, n = m["intact_error"], m["sampling_se"], m["n_test"]
    s = single_summary(lesions)
    rand = [r for r in k_rows(lesions) if r["kind"] == "random"]
    top = rand[-1]
    eligible = s["n"]
    small = s["median"] <= 2 * se
    single = (f"deleting one of its {eligible} ordinary blocks moves the error from {pct(intact)} by a "
              f"median {100 * s['median']:+.1f} points ({100 * s['min']:+.1f} to {100 * s['max']:+.1f}); a "
              f"downsampling block costs up to {100 * s['downsampling']:+.1f}. ")  # fmt: skip
    single += ("The median single deletion is within two sampling standard errors of the intact net: one "
               "block can go, as Veit et al. found. " if small else
               "Even the median single deletion is more than two sampling standard errors above the intact "
               "net. ")  # fmt: skip
    curve = ", ".join(f"k = {r['k']}: {pct(r['mean'])} ± {100 * r['std']:.1f}" for r in rand)
    share = _share(top["mean"], intact)
    gap = max(rand, key=lambda r: abs(r["mean"] - r["additive"]))  # where measured and additive differ most
    if gap["mean"] > gap["additive"] + 2 * se:
        compound = (f"At k = {gap['k']} the measured {pct(gap['mean'])} is more than the "
                    f"{pct(gap['additive'])} the single deletions' "
                    "effects would add up to: the damage compounds, so the blocks do not behave like "
                    "independent members of an ensemble. ")  # fmt: skip
    elif gap["mean"] < gap["additive"] - 2 * se:
        compound = (f"At k = {gap['k']} the measured {pct(gap['mean'])} is less than the "
                    f"{pct(gap['additive'])} the single deletions' "
                    "effects would add up to, as for an ensemble whose members overlap. ")  # fmt: skip
    else:
        compound = (f"At k = {gap['k']} the measured {pct(gap['mean'])} is about what the single deletions' "
                    f"effects add up to "
                    f"({pct(gap['additive'])}). ")  # fmt: skip
    if small and share < 0.5:
        verdict = ("So the ensemble-like behaviour shows here: single blocks can go and the error rises "
                   "gradually with the number deleted.")  # fmt: skip
    elif small:
        verdict = (f"So the ensemble-like behaviour shows only in part: single blocks can go, but with "
                   f"{top['k']} of the {eligible} ordinary blocks deleted the net is {100 * share:.0f}% of "
                   "the way to chance, a much steeper rise than the gradual one Veit et al. "
                   "report.")  # fmt: skip
    else:
        verdict = "So the ensemble-like behaviour does not show here: single deletions already hurt."
    runs = ""
    # a "run" of one block is a single deletion, already stated above: runs start at two blocks
    for r in (r for r in k_rows(lesions) if r["kind"] == "contiguous" and r["k"] > 1):
        same_k = next((q for q in rand if q["k"] == r["k"]), None)
        if same_k is not None:
            which = "more than" if r["mean"] > same_k["mean"] + 2 * se else (
                "less than" if r["mean"] < same_k["mean"] - 2 * se else "about as much as")  # fmt: skip
            runs += (f"Runs of {r['k']} consecutive blocks cost {which} {r['k']} random ones "
                     f"({pct(r['mean'])} ± {100 * r['std']:.1f} over {r['n']} runs, against "
                     f"{pct(same_k['mean'])}). ")  # fmt: skip
    text = (f"**Measured.** On {n:,} test images (sampling standard error {100 * se:.1f} points), {single}"
            f"Deleting k blocks at random ({top['n']} draws each): {curve}. "
            f"{compound}{runs}{verdict}")  # fmt: skip
    if quick_resnet56:
        q = [(r.error, r.downsampling) for r in _records(quick_resnet56)]
        q_intact = q[0][0]
        q_med = statistics.median(e - q_intact for e, d in q[1:] if not d)
        trained_share = _share(intact + s["median"], intact)
        q_share = _share(q_intact + q_med, q_intact)
        text += (f" The ResNet-56 of this chapter's depth study (section 4) is at {pct(q_intact)} intact. It "
                 f"loses a median {100 * q_med:+.1f} points per single deletion, {100 * q_share:.0f}% of its "
                 f"way to chance, against {100 * trained_share:.0f}% for the fully trained net")  # fmt: skip
        if CHANCE - q_intact < _NEAR_CHANCE:
            text += (f"; but intact it is only {100 * (CHANCE - q_intact):.1f} points from chance, so its "
                     "small changes say that it has little left to lose, not that its blocks are "
                     "redundant.")  # fmt: skip
        else:
            more = "more" if q_share > trained_share else "less"
            text += f": {more} fragile per block."

    return text


def plot_lesions(lesions: ExperimentResult, ax_single: Axes, ax_k: Axes,
                 quick_resnet56: Sequence[Lesion | Mapping[str, Any]] | None = None) -> None:  # fmt: skip
    """Left: the error with each block deleted (trained net; the quick net's as a thin line). Right: the
    error against the number of deleted blocks, mean ± sd over draws, min and max, and the additive
    estimate."""
    (trained,) = lesions_of(lesions).values()
    plots.plot_single_lesions(ax_single, trained, color="tab:red", label="trained ResNet-56")
    if quick_resnet56:
        plots.plot_single_lesions(ax_single, _records(quick_resnet56), color="tab:blue", marked=False,
                                  label="ResNet-56 trained in this chapter")  # fmt: skip
    ax_single.set_xlabel("deleted block (ringed: downsampling; dotted: intact)")
    ax_single.set_ylabel("test error (%)")
    rows = k_rows(lesions)
    rand = [r for r in rows if r["kind"] in ("intact", "each ordinary block", "random")]
    ks = [r["k"] for r in rand]
    ax_k.errorbar(ks, [100 * r["mean"] for r in rand], yerr=[100 * r["std"] for r in rand], fmt="o-",
                  color="tab:red", capsize=3, label="random blocks, mean ± sd")  # fmt: skip
    ax_k.fill_between(ks, [100 * r["min"] for r in rand], [100 * r["max"] for r in rand], color="tab:red",
                      alpha=0.15, label="min – max")  # fmt: skip
    ax_k.plot(ks, [100 * r["additive"] for r in rand], "--", color="0.4", label="if the effects added up")
    for r in rows:
        if r["kind"] == "contiguous":
            ax_k.errorbar([r["k"]], [100 * r["mean"]], yerr=[100 * r["std"]], fmt="D", color="tab:purple",
                          capsize=3, label=f"{r['k']} consecutive blocks")  # fmt: skip
    ax_k.set_xlabel("blocks deleted")
    for ax in (ax_single, ax_k):
        ax.axhline(100 * CHANCE, color="0.6", lw=0.8)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)


def lesions_figure(lesions: ExperimentResult,
                   quick_resnet56: Sequence[Lesion | Mapping[str, Any]] | None = None) -> Figure:  # fmt: skip
    """:func:`plot_lesions`, the two panels stacked so they fit the text column; built without pyplot:
    the notebook displays the returned Figure once."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(common.FIGURE_WIDTH, 7.0), layout="constrained")
    axes = fig.subplots(2, 1)
    plot_lesions(lesions, axes[0], axes[1], quick_resnet56)
    axes[0].set_title(f"one block deleted ({lesions.metrics['n_test']:,} test images)", fontsize=10)
    axes[1].set_title("k blocks deleted (Veit et al., Fig. 5a)", fontsize=10)
    return fig


def lesion_explorer(lesions: ExperimentResult) -> Explorer:
    """The kernel-free lesion explorer over the trained ResNet-56: every single deletion, and every
    contiguous run and random set that was measured, shown as measured; other sets as the additive
    estimate."""
    from ecg_lib.chapters.explorers import lesion_explorer as build

    m = lesions.metrics
    singles = _singles(lesions)
    name = {r["block"]: r["name"] for r in singles}
    combos: dict[tuple[str, ...], float] = {}
    for k, v in m["contiguous"].items():
        for start, err in zip(v["starts"], v["errors"], strict=True):
            combos[tuple(name[b] for b in range(start, start + int(k)))] = err
    for v in m["random"].values():
        for deleted, err in zip(v["sets"], v["errors"], strict=True):
            combos[tuple(name[b] for b in deleted)] = err
    return build({r["name"]: r["error"] for r in singles}, m["intact_error"], combos=combos,
                 downsampling=[r["name"] for r in singles if r["downsampling"]],
                 title="Lesion study of the trained ResNet-56: delete blocks, read the test error",
                 source=f"Trained ResNet-56 ({LABEL}, {m['n_test']:,} test images).")  # fmt: skip

