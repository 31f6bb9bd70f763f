"""What the AlexNet chapter shows of Figure 1's experiment (ReLU versus tanh): the winners' curves, every
learning rate of the races and their kernel-free explorer, the table and measured paragraph, the
saturation of tanh at initialisation, and the races whose winning rate sits at an edge of its grid.
Re-exported by :mod:`ecg_lib.chapters.alexnet`.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from torch import Tensor

from ecg_lib.chapters import common
from ecg_lib.chapters.alexnet_ledger import CHAPTER, CLAIMS, LEDGER, fmt_ratio
from ecg_lib.chapters.explorers import Explorer, curves_explorer, history_curves
from ecg_lib.claims import NotMeasured, archived_seeds, measure, verdict
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments import alexnet as experiment
from ecg_lib.profiles import ARCHIVED_PROFILES as ARCHIVED

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "figure1_text",
    "grid_edges",
    "plot_figure1",
    "plot_sweeps",
    "race_curves",
    "race_table",
    "relu_archive_text",
    "run_cell",
    "saturation_table",
    "sweep_explorer",
    "wide_race_text",
]  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# 2. ReLU versus tanh (Figure 1)


def _errors(result: ExperimentResult, recipe: str, act: str, lr: float) -> list[float]:
    h = result.histories[f"{recipe}/{act}/lr={lr:g}"]
    return [100 * e for e in h.epoch_train_error]


def plot_figure1(result: ExperimentResult, ax: Axes) -> None:
    """The winners' training error per epoch: solid ReLU, dashed tanh, as in the paper's Figure 1."""
    for colour, (recipe, r) in zip(("C0", "C1"), result.metrics["recipes"].items(), strict=False):
        for act, style in (("relu", "-"), ("tanh", "--")):
            if r[act]["lr"] is None:
                continue
            errors = _errors(result, recipe, act, r[act]["lr"])
            ax.plot(range(1, len(errors) + 1), errors, style, color=colour, marker=".",
                    label=f"{recipe}: {act} (lr {r[act]['lr']:g})")  # fmt: skip
    ax.axhline(100 * result.metrics["target"], color="grey", lw=0.8)
    ax.set(xlabel="epoch", ylabel="training error (%)")
    common.integer_epochs(ax)
    ax.legend(fontsize=9)


def run_cell(r: dict[str, Any]) -> str:
    """One activation's winner of a race: rate, epochs and seconds to the target."""
    if r["epochs"] is None:
        return "did not reach the target"
    return f"{r['lr']:g}, {r['epochs']}, {r['seconds']:.1f} s"


def race_table(result: ExperimentResult) -> str:
    """Per recipe: each activation's winning rate, epochs and seconds, and the tanh/ReLU ratios."""
    rows = [(recipe, run_cell(r["relu"]), run_cell(r["tanh"]), fmt_ratio(r["epoch_ratio"]),
             fmt_ratio(r["time_ratio"])) for recipe, r in result.metrics["recipes"].items()]  # fmt: skip
    header = ["recipe", "ReLU: lr, epochs, seconds", "tanh: lr, epochs, seconds", "tanh/ReLU epochs",
              "tanh/ReLU time"]  # fmt: skip
    return common.markdown_table(header, rows)


def figure1_text(result: ExperimentResult) -> str:
    """The measured paragraph under Figure 1: both recipes' ratios against the paper's sixfold gap."""
    target, recipes = result.metrics["target"], result.metrics["recipes"]
    paper_r, modern_r = recipes["paper"], recipes["modern"]
    claim = CLAIMS["relu_speedup"]
    # the verdict of the chapter's claim row on the paper-like ratio (within 2 of six, see LEDGER)
    row = LEDGER.claim("relu_speedup")
    try:
        m = measure(row, result)
    except NotMeasured as why:
        summary = f"The paper-like ratio could not be measured: {why}."
    else:
        agrees = verdict(row, m) == "reproduced"
        side = "below" if m.value < claim["value"] else "above"
        summary = ("The paper-like ratio is within 2 of the paper's six." if agrees
                   else f"The paper-like ratio is {side} the paper's six by more than 2.")  # fmt: skip
    paper_target = f"{100 * claim['target']:.0f}%"
    edges = _edges_sentence(grid_edges(result))
    note = "" if target == claim["target"] else (
        f" The target is {100 * target:.0f}% rather than the paper's {paper_target} because the quick "
        f"profile trains on {result.metrics['n_train']:,} images for minutes on a CPU; the full profile "
        f"measures at {paper_target} on all of CIFAR-10.")  # fmt: skip
    return (
        f"{common.small_run_lead(result)} To reach {100 * target:.0f}% training error, "
        f"{_ratio_clause(paper_r, 'the paper-like recipe')}; {_ratio_clause(modern_r, 'modern defaults')}. "
        f"{summary}{note} Training times come from a machine that may be shared, so the epoch ratio is the "
        f"firmer number.{edges}"
    )


def _ratio_clause(race: dict[str, Any], recipe: str) -> str:
    # one race in words: the epoch ratio, then the time ratio, each in its own clause; a side that missed
    # the target has no ratio, and the clause says so instead of printing a dash
    missed = [_ACT_NAMES[a] for a in ("relu", "tanh") if race[a]["epochs"] is None]
    if missed:
        who = " and ".join(missed)
        return f"under {recipe} {who} did not reach it, so there is no ratio"
    return (f"under {recipe} tanh needed {fmt_ratio(race['epoch_ratio'])} the epochs of ReLU, and "
            f"{fmt_ratio(race['time_ratio'])} its training time")  # fmt: skip


def _plot_sweep(result: ExperimentResult, recipe: str, act: str, ax: Axes, fmt: str) -> None:
    for entry in result.metrics["recipes"][recipe][act]["entries"]:
        errors = _errors(result, recipe, act, entry["lr"])
        ax.plot(range(1, len(errors) + 1), errors, marker=".", label=fmt.format(**entry))
    ax.axhline(100 * result.metrics["target"], color="grey", lw=0.8)


def plot_sweeps(result: ExperimentResult) -> Figure:
    """Every learning rate of the four races (recipe x activation) and the winner's continuation. Built
    without pyplot: the notebook displays the returned Figure once."""
    from matplotlib.figure import Figure

    recipes = result.metrics["recipes"]
    fig = Figure(figsize=(common.FIGURE_WIDTH, 5.6), layout="constrained")
    axes = fig.subplots(2, 2, sharey=True)
    for row, recipe in zip(axes, recipes, strict=False):
        for ax, act in zip(row, ("relu", "tanh"), strict=True):
            _plot_sweep(result, recipe, act, ax, "lr {lr:g}: {outcome}")
            ax.set_title(f"{recipe} recipe, {act}", fontsize=10)
            ax.set_xlabel("epoch")
            common.integer_epochs(ax)
            ax.set_ylabel("training error (%)")
            ax.legend(fontsize=9)
    return fig


def race_curves(result: ExperimentResult, recipe: str, act: str) -> dict[str, dict[str, list]]:
    """One race's curves for :func:`ecg_lib.chapters.explorers.curves_explorer`: every learning rate's
    training error per epoch (fractions), named ``"lr 0.01 (winner)"``; epochs without a finite error
    (a diverged run) are left out, and a run with none at all is left out."""
    curves = {}
    for entry in result.metrics["recipes"][recipe][act]["entries"]:
        h = result.histories[f"{recipe}/{act}/lr={entry['lr']:g}"]
        points = history_curves({"run": h}, "epoch_train_error")["run"]
        if points["x"]:
            curves[f"lr {entry['lr']:g} ({entry['outcome']})"] = points
    return curves


def sweep_explorer(result: ExperimentResult, *, archive_root: str | None = None) -> Explorer:
    """The four races (recipe x activation) one at a time, with no kernel: a switch picks the race, the
    chart shows each learning rate's training error per epoch, and hovering or the epoch slider reads every
    curve. With a full-profile archive of ``relu_vs_tanh``, its races are four more choices."""
    from ecg_lib import results

    runs = [("", result)]
    archived = results.find_archive(CHAPTER, "relu_vs_tanh", archive_root)
    if archived is not None:
        runs.append(("archived: ", common.in_live_order(archived, result)))
    series = {
        f"{prefix}{recipe} recipe, {act}": race_curves(r, recipe, act)
        for prefix, r in runs
        for recipe in r.metrics["recipes"]
        for act in ("relu", "tanh")
    }
    target = f"{100 * result.metrics['target']:.0f}%"
    note = (f"Precomputed: the page only draws and reads the recorded values. The winner is the rate with "
            f"the lowest training error after the sweep; it continues until {target} training error.")
    if archived is not None:
        note += f" Archived races: {html.escape(common.archive_label(archived))}."
    else:
        note += " " + html.escape(common.NO_ARCHIVE.format(chapter=CHAPTER))
    return curves_explorer(series, ylabel="training error", title="AlexNet: the learning-rate races",
                           note=note)  # fmt: skip


def saturation_table(result: ExperimentResult, x_uint8: Tensor) -> str:
    """At initialisation, per recipe and activation and per layer: the pre-activations' standard
    deviation, the activation's mean slope and, for tanh, the share of saturated units, on ``x_uint8``
    fed the way the races fed their networks."""
    rows = []
    for recipe in ("paper", "modern"):
        # the input statistics the sweeps used
        used = next(h.normalizer for key, h in result.histories.items() if key.startswith(f"{recipe}/"))
        x_in = experiment.recipe_input(recipe, used, x_uint8)
        for act in ("tanh", "relu"):
            net = experiment.cifar_net_of(experiment.build_cifar_net(act, recipe=recipe))
            cells = []
            for st in experiment.activation_stats(net, x_in):
                sat = f", {100 * st['saturated']:.0f}% saturated" if act == "tanh" else ""
                cells.append(f"std {st['pre_std']:.2f}, slope {st['mean_slope']:.2f}{sat}")
            rows.append([f"{recipe}, {act}", *cells])
    return common.markdown_table(["recipe, activation", "conv1", "conv2", "conv3"], rows)



_RECIPE_NAMES = {"paper": "paper-like recipe", "modern": "modern recipe"}
_ACT_NAMES = {"relu": "ReLU", "tanh": "tanh"}


_COUNTS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def grid_edges(result: ExperimentResult) -> list[str]:
    """The races whose winning rate is the lowest or the highest of the rates tried, one clause each
    (``"tanh under the paper-like recipe did best at 0.02, the lowest of the three rates tried"``): a rate
    beyond the grid might have reached the target sooner, so a ratio involving that race may be off in
    its favour or against."""
    out = []
    for recipe, race in result.metrics["recipes"].items():
        for act in ("relu", "tanh"):
            rates = sorted(e["lr"] for e in race[act]["entries"])
            won = race[act]["lr"]
            if len(rates) < 2 or won not in (rates[0], rates[-1]):
                continue
            side = "lowest" if won == rates[0] else "highest"
            n = _COUNTS.get(len(rates), len(rates))
            out.append(f"{_ACT_NAMES[act]} under the {_RECIPE_NAMES.get(recipe, recipe)} did best at "
                       f"{won:g}, the {side} of the {n} rates tried")  # fmt: skip
    return out


def _edges_sentence(edges: list[str]) -> str:
    """" ... might have trained faster: <edges>." (with its leading space), or "" when there are none."""
    if not edges:
        return ""
    races = "one race" if len(edges) == 1 else f"{_COUNTS.get(len(edges), len(edges))} races"
    return (f" In {races} the best rate lay at the edge of the grid tried, so a rate beyond it might have "
            f"trained faster: " + "; ".join(edges) + ".")  # fmt: skip


def _archived_races(experiment: str) -> list[tuple[str, int, ExperimentResult]]:
    """Every archived race of ``experiment`` as ``(profile, seed, result)``, the full profile's first."""
    found = archived_seeds(CHAPTER, (experiment,))
    return [(profile, seed, r) for profile in reversed(ARCHIVED)
            for seed, r in found[profile][experiment]]  # fmt: skip


def _bound_sentence(races: list[tuple[str, int, ExperimentResult]]) -> str:
    """" With seed 0, ReLU took 12 epochs, so the ratio is above 2.5×; ..." (leading space): each seed of
    the best archived profile whose ratio the claim could not measure because one side missed the
    target, with the bound that seed gives; "" when there is none."""
    claim = LEDGER.claim("relu_speedup")
    best = races[0][0] if races else None
    clauses = []
    for profile, seed, r in races:
        m = r.metrics["recipes"]["paper"]
        relu, tanh = m["relu"]["epochs"], m["tanh"]["epochs"]
        if profile != best or (relu is None) == (tanh is None):  # both reached it (a ratio), or neither
            continue
        try:
            measure(claim, r)  # a bound that decides the verdict is a measurement, said by the ledger
        except NotMeasured:
            cap = r.metrics["max_epochs"]
            if tanh is None:
                clauses.append((seed, f"ReLU took {relu} epochs", f"above {fmt_ratio(cap / relu)}"))
            else:
                clauses.append((seed, f"tanh took {tanh} epochs", f"below {fmt_ratio(tanh / cap)}"))
    if not clauses:
        return ""
    text = "; ".join(f"with seed {seed}, {took}, so the ratio is {bound}" for seed, took, bound in clauses)
    return f" In the {best} run {text}."


def _races_text(races: list[tuple[str, int, ExperimentResult]]) -> str:
    # the bound each seed gives where one side missed the target, then the races whose best rate lies at
    # the edge of its grid
    edges = [f"in the {profile} run with seed {seed}, {edge}" for profile, seed, r in races
             for edge in grid_edges(r)]  # fmt: skip
    return _bound_sentence(races) + _edges_sentence(edges)


def relu_archive_text() -> str:
    """The sentence on the paper-scale ratio: generated from the archived widened races the claim reads
    (``relu_vs_tanh_wide``), or saying there are none; the bound each seed gives where one side missed the
    target; the races whose best rate lies at the edge of its grid. Until the widened race is archived,
    what the races on the standard grid (``relu_vs_tanh``) bound is added, as the reason it was run."""
    claim = LEDGER.claim("relu_speedup")
    races = _archived_races(claim.experiment)
    text = LEDGER.archived_sentence("relu_speedup") + _races_text(races)
    narrow = [] if races else _archived_races("relu_vs_tanh")
    older = _races_text(narrow)
    if older:
        caps = sorted({r.metrics["max_epochs"] for _, _, r in narrow})
        cap = " or ".join(str(c) for c in caps)
        if older.startswith(" In the "):  # the clause continues the sentence below
            older = " in the " + older[len(" In the "):]
        text += f" The races on the standard grid (three rates each, at most {cap} epochs) give only bounds:"
        text += older
    return text


def wide_race_text() -> str:
    """The text under the widened race's figure: how the archived run was made (device, data, departures)
    when there is one, then :func:`relu_archive_text`, which says when there is none."""
    from ecg_lib.results import find_archives

    wide = LEDGER.claim("relu_speedup").experiment
    made = common.archive_summary(CHAPTER, wide) if find_archives(CHAPTER, wide) else ""
    return "\n\n".join(part for part in (made, relu_archive_text()) if part)
