"""What the AlexNet chapter (``notebooks/alexnet.md``) shows: its figures, the races' kernel-free
explorer, tables and measured paragraphs, and the closing "Paper vs. this book" table.

The numbers come from :mod:`ecg_lib.experiments.alexnet` (results of its experiments, live or archived,
and its small measurements); the paper's figures from :data:`ecg_lib.papers.ALEXNET_CLAIMS`. The
functions follow the chapter's sections: preprocessing, ReLU vs. tanh (Figure 1), response
normalisation, the two-GPU split, pooling, the first-layer filters (Figure 3), and the closing table.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ecg_lib import papers
from ecg_lib.chapters import common
from ecg_lib.chapters.explorers import Explorer, curves_explorer, history_curves
from ecg_lib.claims import (
    Claim,
    Ledger,
    Measurement,
    NotMeasured,
    archived_seeds,
    error_gap,
    measure,
    verdict,
)
from ecg_lib.counting import positions_read
from ecg_lib.data import CIFAR10Data
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments import alexnet as experiment
from ecg_lib.profiles import select

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CHAPTER", "LEDGER", "counted", "figure1_text", "filter_table", "filter_text", "fmt_ratio", "lrn_text",
    "paper_vs_book", "per_class", "plot_figure1", "plot_filters", "plot_lrn", "plot_sweeps",
    "pooling_read_text", "pooling_table",
    "race_curves", "race_table", "relu_archive_text", "run_cell", "run_notes", "saturation_table",
    "show_lrn_gain", "show_mean_image", "sweep_explorer", "tower_notes", "tower_table",
]  # fmt: skip

CHAPTER = "alexnet"
CLAIMS = papers.ALEXNET_CLAIMS


def per_class(n: int | None) -> str:
    """A per-class image count of the settings (None: all of them)."""
    return "all" if n is None else f"{n}"


def run_notes(profile: str) -> dict[str, Any]:
    """What the chapter trains in ``profile``: extra lines for the run-info box of its first cell."""
    act = select(experiment.ACTIVATION_SETTINGS, profile)
    lrn = select(experiment.LRN_SETTINGS, profile)
    return {
        "relu_vs_tanh": f"{per_class(act.n_train_per_class)} training images per class, "
        f"target {100 * act.target:.0f}% training error, at most {act.max_epochs} epochs",
        "lrn": f"{per_class(lrn.n_train_per_class)} training / {per_class(lrn.n_test_per_class)} test images "
        f"per class, {lrn.train.epochs} epochs",
        "training_threads": act.cpu_threads or "PyTorch's default",
    }


# ----------------------------------------------------------------------------------------------------------
# 1. The mean image


def show_mean_image(data: CIFAR10Data, mean: Tensor, index: int = 7) -> None:
    """The mean training image (as is and contrast stretched), one training image and that image minus
    the mean; then the numbers that show the mean is not a flat grey (0-255 units)."""
    import matplotlib.pyplot as plt

    example = data.train_x[index].float() / 255
    stretch = (mean - mean.min()) / (mean.max() - mean.min())
    _, axes = plt.subplots(1, 4, figsize=(11, 3))
    panels = [
        (mean, "mean training image"),
        (stretch, "same, contrast stretched"),
        (example, f"a training image ({data.classes[int(data.train_y[index])]})"),
        ((example - mean + 0.5).clamp(0, 1), "minus the mean (+0.5 to display)"),
    ]
    for ax, (img, title) in zip(axes, panels, strict=True):
        ax.imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    plt.tight_layout()
    plt.show()

    rgb = (255 * mean.mean((1, 2))).tolist()
    print("per-channel mean (0-255 units): R {:.1f}, G {:.1f}, B {:.1f}".format(*rgb))
    border = torch.ones(32, 32, dtype=torch.bool)
    border[4:-4, 4:-4] = False
    print(f"mean image from {255 * mean.min():.1f} to {255 * mean.max():.1f}")
    print(f"top 8 rows {255 * mean[:, :8].mean():.1f}, bottom 8 rows {255 * mean[:, -8:].mean():.1f}")
    print(f"centre 24×24 {255 * mean[:, ~border].mean():.1f}, "
          f"4-pixel border {255 * mean[:, border].mean():.1f}")  # fmt: skip
    flat = mean.mean((1, 2), keepdim=True)  # what subtracting one value per channel would remove
    dev = 255 * (mean - flat)
    print(f"departure from the per-channel averages: up to {dev.abs().max():.1f} levels, "
          f"{dev.pow(2).mean().sqrt():.1f} RMS")  # fmt: skip


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
    ax.legend(fontsize=8)


def fmt_ratio(v: float | None) -> str:
    """A tanh/ReLU ratio (``"1.2×"``; None: ``"—"``, a side missed the target)."""
    return "—" if v is None else f"{v:.1f}×"


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
        f"**Measured.** To reach {100 * target:.0f}% training error, tanh needed "
        f"{fmt_ratio(paper_r['epoch_ratio'])} the epochs of ReLU under the paper-like recipe "
        f"({fmt_ratio(paper_r['time_ratio'])} the training time) and {fmt_ratio(modern_r['epoch_ratio'])} "
        f"under modern defaults ({fmt_ratio(modern_r['time_ratio'])} the time). {summary}{note} "
        f"Training times come from a machine that may be shared, so the epoch ratio is the firmer number."
        f"{edges}"
    )


def _plot_sweep(result: ExperimentResult, recipe: str, act: str, ax: Axes, fmt: str) -> None:
    for entry in result.metrics["recipes"][recipe][act]["entries"]:
        errors = _errors(result, recipe, act, entry["lr"])
        ax.plot(range(1, len(errors) + 1), errors, marker=".", label=fmt.format(**entry))
    ax.axhline(100 * result.metrics["target"], color="grey", lw=0.8)


def plot_sweeps(result: ExperimentResult) -> None:
    """Every learning rate of the four races (recipe x activation) and the winner's continuation."""
    import matplotlib.pyplot as plt

    recipes = result.metrics["recipes"]
    _, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharey=True)
    for row, recipe in zip(axes, recipes, strict=False):
        for ax, act in zip(row, ("relu", "tanh"), strict=True):
            _plot_sweep(result, recipe, act, ax, "lr {lr:g}: {outcome}")
            ax.set_title(f"{recipe} recipe, {act}", fontsize=10)
            ax.set_xlabel("epoch")
            common.integer_epochs(ax)
            ax.set_ylabel("training error (%)")
            ax.legend(fontsize=8)
    plt.tight_layout()
    plt.show()


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


# ----------------------------------------------------------------------------------------------------------
# 3. Local response normalisation

_LEVELS = torch.logspace(-1, 3.5, 200)


def show_lrn_gain(activity: dict[str, float]) -> None:
    """The normalisation's gain against the activity of the neighbouring maps, for the paper's constants
    and three variations, with the RMS activity measured in the trained network; then how many of its
    units the normalisation really inhibits."""
    import matplotlib.pyplot as plt

    variants = [(2.0, 1e-4, 0.75, "-"), (1.0, 1e-4, 0.75, "--"), (2.0, 1e-3, 0.75, ":"),
                (2.0, 1e-4, 0.5, "-.")]  # fmt: skip
    _, ax = plt.subplots(figsize=(7, 3.5))
    for k, alpha, beta, style in variants:
        label = f"k={k:g}, α={alpha:g}, β={beta:g}" + (" (paper)" if style == "-" else "")
        gain = experiment.lrn_gain(_LEVELS, k=k, n=5, alpha=alpha, beta=beta)
        ax.semilogx(_LEVELS, gain, style, label=label)
    ax.axvline(activity["rms"], color="k", lw=0.8)
    ax.text(activity["rms"] * 1.1, 0.9, f"measured RMS\nactivity {activity['rms']:.0f}", fontsize=8)
    ax.set(xlabel="activity a of all 5 neighbouring maps (input units)", ylabel="output / input",
           title="Response normalisation: gain against activity (n = 5)")  # fmt: skip
    ax.legend(fontsize=8)
    plt.tight_layout()
    plt.show()
    print(f"trained network: {100 * activity['inhibited']:.1f}% of the active first-layer units are "
          f"scaled down by more than 10% beyond the constant {activity['constant_gain']:.3f}; "
          f"median gain {activity['median_gain']:.3f}")  # fmt: skip


def plot_lrn(result: ExperimentResult, ax: Axes) -> None:
    """Training error per epoch (lines) and test error where evaluated (circles)."""
    for colour, (label, h) in zip(("C0", "C1"), result.histories.items(), strict=False):
        errors = [100 * e for e in h.epoch_train_error]
        ax.plot(range(1, len(errors) + 1), errors, color=colour, label=f"{label} LRN: training")
        pts = [(i + 1, 100 * e) for i, e in enumerate(h.test_error) if e is not None]
        ax.plot(*zip(*pts, strict=True), "o--", color=colour, label=f"{label} LRN: test")
    ax.set(xlabel="epoch", ylabel="error (%)")
    common.integer_epochs(ax)
    ax.legend(fontsize=8)


def lrn_text(result: ExperimentResult) -> str:
    """The measured paragraph of Sec. 3.3's comparison, with the noise of one seed on the test subset."""
    errs, paper = result.metrics["test_error"], CLAIMS["lrn_cifar_test_error"]
    diff = 100 * (errs["without"] - errs["with"])
    n_test = result.metrics["n_test"]
    se = 100 * (errs["with"] * (1 - errs["with"]) / n_test) ** 0.5
    return (
        f"**Measured.** Test error {100 * errs['without']:.1f}% without and "
        f"{100 * errs['with']:.1f}% with response normalisation: the normalisation "
        f"{'lowered' if diff > 0 else 'raised'} it by {abs(diff):.1f} points (the paper: "
        f"{100 * paper['without']:.0f}% and {100 * paper['with']:.0f}%, lowered by "
        f"{100 * (paper['without'] - paper['with']):.0f}). One seed and {n_test:,} test images, so one "
        f"standard error of each figure is about {se:.1f} points and a difference needs about "
        f"{2 * 2 ** 0.5 * se:.0f} points to stand out."
    )


# ----------------------------------------------------------------------------------------------------------
# 4. Two GPUs, one network


def tower_table(rows: list[experiment.TowerRow], summary: dict[str, Any]) -> str:
    """Per weight layer: kernels, where they read, parameters, MACs and neurons, split vs. one tower."""
    reads = {"the image": "the image", "own tower": "own GPU", "both towers": "**both GPUs**"}
    header = ["layer", "kernels", "one kernel", "reads", "parameters", "one tower", "MACs (M)",
              "one tower (M)", "neurons"]  # fmt: skip
    body = [[r.layer, r.kernels, r.kernel, reads[r.sees], f"{r.params_split:,}", f"{r.params_single:,}",
             f"{r.macs_split / 1e6:.1f}", f"{r.macs_single / 1e6:.1f}", f"{r.neurons:,}"] for r in rows]
    total = (f"| **total** | | | | **{summary['params_split']:,}** | {summary['params_single']:,} "
             f"| **{summary['macs_split'] / 1e6:.0f}** | {summary['macs_single'] / 1e6:.0f} "
             f"| {summary['neurons']:,} |")  # fmt: skip
    return common.markdown_table(header, body) + "\n" + total


def tower_notes(summary: dict[str, Any]) -> str:
    """Two lines: what the split saves, and where the parameters and the multiply-adds sit."""
    return (
        f"the split saves {summary['params_saved']:,} parameters "
        f"({100 * summary['params_saved_frac']:.1f}%) and {summary['macs_saved'] / 1e6:.0f} M "
        f"multiply-adds per image ({100 * summary['macs_saved_frac']:.0f}%)\n"
        f"FC6 holds {summary['fc6_params']:,} parameters, {100 * summary['fc6_frac']:.0f}% of "
        f"the network; FC6-FC8 {100 * summary['fc_params_frac']:.0f}%, while the convolutions do "
        f"{100 * summary['conv_macs_frac']:.0f}% of the multiply-adds"
    )


# ----------------------------------------------------------------------------------------------------------
# 5. Overlapping pooling


def pooling_table(maps: Tensor, shifted: Tensor) -> str:
    """Overlapping (z=3, s=2) against plain (z=2, s=2) max pooling: output side and coverage of AlexNet's
    55x55 maps (a random map), and on first-layer maps of the CIFAR-10 net (``maps``, and ``shifted``: the
    same images moved by a pixel) the windows per position, the winners and the change after the shift."""
    rows = []
    for z, s in ((3, 2), (2, 2)):
        alex = experiment.pooling_coverage(torch.rand(1, 1, 55, 55), z, s)
        ours = experiment.pooling_coverage(maps, z, s)
        change = experiment.pooling_shift_change(maps, shifted, z, s)
        rows.append([f"z={z}, s={s}", alex["out"], f"{100 * alex['covered']:.1f}%",
                     f"{ours['windows_per_input']:.2f}", f"{100 * ours['winners']:.1f}%",
                     f"{100 * change:.0f}%"])  # fmt: skip
    header = ["pooling", "AlexNet: output side", "AlexNet: positions read", "CIFAR net: windows per position",
              "units that win", "change after a 1-pixel shift"]  # fmt: skip
    return common.markdown_table(header, rows)


def pooling_read_text(side: int = 55) -> str:
    """Which positions of AlexNet's ``side`` x ``side`` maps the overlapping (z=3, s=2) and the
    traditional (z=2, s=2) pooling grids read, traced by :func:`ecg_lib.counting.positions_read`."""
    from torch import nn

    parts = []
    for z, s in ((3, 2), (2, 2)):
        read = positions_read(nn.MaxPool2d(z, s), side)
        share = float(read.float().mean())
        unread = [int(i) for i in (~read.any(0)).nonzero().flatten()]
        where = ("every position" if not unread else
                 f"{int(read.sum()):,} of the {side * side:,} positions ({100 * share:.1f}%): "
                 f"never row{'s' if len(unread) > 1 else ''} and column{'s' if len(unread) > 1 else ''} "
                 f"{', '.join(str(i + 1) for i in unread)} of {side}")  # fmt: skip
        parts.append(f"a {z}×{z} grid with stride {s} reads {where}")
    return f"On a {side}×{side} map, " + "; ".join(parts) + "."


# ----------------------------------------------------------------------------------------------------------
# 6. The first-layer filters (Figure 3)


def plot_filters(result: ExperimentResult) -> None:
    """The LRN run's 32 first-layer kernels, each scaled to the full display range."""
    import matplotlib.pyplot as plt

    trained = torch.tensor(result.metrics["conv1_filters"])  # 32 x 3 x 5 x 5
    lo = trained.amin((1, 2, 3), keepdim=True)
    hi = trained.amax((1, 2, 3), keepdim=True)
    fig, axes = plt.subplots(4, 8, figsize=(8, 4.3))
    for ax, kernel in zip(axes.flat, (trained - lo) / (hi - lo), strict=False):
        ax.imshow(kernel.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.axis("off")
    fig.suptitle(f"first-layer kernels after {result.histories['with'].epochs_done} epochs "
                 f"on {result.metrics['n_train']:,} images", fontsize=10)  # fmt: skip
    plt.tight_layout()
    plt.show()


def filter_table(initial: Tensor, trained: Tensor) -> str:
    """Smoothness and colourless share of the kernels at initialisation and after training."""
    rows = []
    for name, w in (("at initialisation", initial), ("trained", trained)):
        st = experiment.filter_stats(w)
        rows.append([name, f"{st['smoothness']:.2f}", f"{100 * st['luminance_share']:.0f}%",
                     f"{100 * st['colour_agnostic']:.0f}%"])  # fmt: skip
    header = ["kernels", "smoothness", "colourless share of energy", "mostly colourless (> 80%)"]
    return common.markdown_table(header, rows)


def filter_text(initial: Tensor, trained: Tensor, result: ExperimentResult) -> str:
    """What training did to the first-layer kernels, generated from :func:`filter_table`'s two numbers
    (``result``: the LRN run the kernels come from, for its profile and images)."""
    a, b = experiment.filter_stats(initial), experiment.filter_stats(trained)
    smoother, greyer = b["smoothness"] > a["smoothness"], b["luminance_share"] > a["luminance_share"]
    if smoother and greyer:
        moved = "they have moved away from the random start, towards smoother and more colourless kernels"
    elif smoother or greyer:
        gained, not_gained = ("smoother", "more colourless") if smoother else ("more colourless", "smoother")
        moved = f"they have become {gained} than at the random start, but not {not_gained}"
    else:
        moved = "they are no smoother and no more colourless than at the random start"
    return (f"In this {result.profile}-profile run the kernels trained on {result.metrics['n_train']:,} "
            f"images: smoothness went from {a['smoothness']:.2f} to {b['smoothness']:.2f} and the "
            f"colourless share of their energy from {100 * a['luminance_share']:.0f}% to "
            f"{100 * b['luminance_share']:.0f}%, so {moved}.")  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# Paper vs. this book


def _relu_faster(r: ExperimentResult) -> Measurement:
    # the direction of Figure 1: tanh needs more epochs than ReLU; a side that missed the target counts
    # as slower (it needed more than the run allowed), both missing is no measurement
    m = r.metrics["recipes"]["paper"]
    relu, tanh, target = m["relu"]["epochs"], m["tanh"]["epochs"], r.metrics["target"]
    at = f"at {100 * target:.0f}%"
    if relu is None and tanh is None:
        raise NotMeasured(f"neither reached {100 * target:.0f}%")
    if relu is None or tanh is None:
        missed = "ReLU" if relu is None else "tanh"
        other = f"{tanh if relu is None else relu} epochs"
        return Measurement(-1.0 if relu is None else 1.0, f"{missed} missed the target, the other took "
                           f"{other} ({at})", basis="one seed: the sign of the difference")  # fmt: skip
    text = f"{tanh} vs. {relu} epochs: {fmt_ratio(m['epoch_ratio'])} ({at})"
    return Measurement(m["epoch_ratio"] - 1.0, text, basis="one seed: the sign of the difference")


def _relu_ratio(r: ExperimentResult) -> Measurement:
    # A side that missed the target within the run's epoch cap still bounds the ratio: tanh missing means
    # tanh/ReLU > cap / ReLU's epochs, ReLU missing means < tanh's epochs / cap. A bound that lies outside
    # six +- 2 decides the verdict; one that does not cannot, and is reported as the reason.
    m = r.metrics["recipes"]["paper"]
    relu, tanh, ratio = m["relu"]["epochs"], m["tanh"]["epochs"], m["epoch_ratio"]
    target, cap = f"{100 * r.metrics['target']:.0f}%", r.metrics["max_epochs"]
    if ratio is not None:
        return Measurement(ratio, f"{fmt_ratio(ratio)} at {target}", basis="one seed, no spread measured")
    if relu is None and tanh is None:
        raise NotMeasured(f"neither reached {target} within {cap} epochs: no ratio")
    six, tol = float(_SPEED["value"]), _SPEED_TOLERANCE
    if tanh is None:
        bound, side, decides = cap / relu, "above", cap / relu > six + tol
        how = f"tanh did not reach {target} within {cap} epochs; ReLU took {relu}"
    else:
        bound, side, decides = tanh / cap, "below", tanh / cap < six - tol
        how = f"ReLU did not reach {target} within {cap} epochs; tanh took {tanh}"
    if not decides:
        raise NotMeasured(f"{how}: the ratio is {side} {fmt_ratio(bound)}, a bound that cannot test "
                          f"{six:g}× within {tol:g}")  # fmt: skip
    return Measurement(bound, f"{side} {fmt_ratio(bound)} at {target} ({how})",
                       basis="one seed, a bound: one side missed the target")  # fmt: skip


def _lrn_gap(r: ExperimentResult) -> Measurement:
    e = r.metrics["test_error"]
    return error_gap(e["without"], e["with"], r.metrics["n_test"], labels=("without", "with"))


_SPEED, _LRN = CLAIMS["relu_speedup"], CLAIMS["lrn_cifar_test_error"]
_SPEED_TOLERANCE = 2.0  # "about six times": within 2 of six counts as agreeing (one seed, no spread)
_ARCH = "summary"  # the counted object the arithmetic claims read: experiment.architecture_summary()
_CITE = "krizhevsky2012imagenet"

#: The chapter's claims, in the order of its "Paper vs. this book" table.
LEDGER = Ledger(CHAPTER, "AlexNet", "alexnet-paper-vs-book", (
    Claim("relu_faster", _CITE, "Sec. 3.1, Fig. 1",
          "ReLU reaches the target training error in fewer epochs than tanh (paper-like recipe)",
          f"{_SPEED['value']:.0f}× fewer at {100 * _SPEED['target']:.0f}%", str(_SPEED["source"]),
          "epochs to the target, best of three learning rates each", "relu_vs_tanh", _relu_faster,
          kind="sign", noise="the sign in every seed"),
    Claim("relu_speedup", _CITE, "Sec. 3.1, Fig. 1", "ReLU is about six times faster than tanh",
          f"{_SPEED['value']:.0f}×", str(_SPEED["source"]), "tanh/ReLU ratio of the epochs to the target",
          "relu_vs_tanh", _relu_ratio, kind="value", target=float(_SPEED["value"]),
          tolerance=_SPEED_TOLERANCE,
          noise="one seed, no spread measured: within ±2 of six counts"),
    Claim("lrn_helps", _CITE, "Sec. 3.3", "Response normalisation lowers the CIFAR-10 test error",
          f"{100 * _LRN['without']:.0f}% without, {100 * _LRN['with']:.0f}% with", str(_LRN["source"]),
          "test error without vs. with LRN, same seed and data", "lrn", _lrn_gap,
          noise="binomial SE of each test error"),
    Claim("params", _CITE, "Sec. 4", "The network has about 60 million parameters",
          f"about {CLAIMS['params']['value'] / 1e6:.0f} million", str(CLAIMS["params"]["source"]),
          "counted, two-tower split", _ARCH,
          lambda s: Measurement(s["params_split"], f"{s['params_split']:,}"),
          kind="exact", target=float(CLAIMS["params"]["value"]), tolerance=0.05),
    Claim("neurons", _CITE, "Abstract", "The network has about 650,000 neurons",
          f"about {CLAIMS['neurons']['value']:,}", str(CLAIMS["neurons"]["source"]),
          "counted, every layer's outputs",
          _ARCH, lambda s: Measurement(s["neurons"], f"{s['neurons']:,}"),
          kind="exact", target=float(CLAIMS["neurons"]["value"]), tolerance=0.05),
    Claim("conv1_neurons", _CITE, "Sec. 3.5", "The first layer has 253,440 neurons",
          f"{CLAIMS['neurons_per_layer']['value'][0]:,}", str(CLAIMS["neurons_per_layer"]["source"]),
          "counted: 55×55 positions × 96 kernels", _ARCH,
          lambda s: Measurement(s["neurons_per_layer"][0], f"{s['neurons_per_layer'][0]:,}"),
          kind="exact", target=float(CLAIMS["neurons_per_layer"]["value"][0])),
))  # fmt: skip


def counted() -> dict[str, Any]:
    """The objects the chapter's arithmetic claims read (the scoreboard computes them without the page)."""
    return {_ARCH: experiment.architecture_summary()}


def paper_vs_book(relu_vs_tanh: ExperimentResult, lrn: ExperimentResult, summary: dict[str, Any]) -> str:
    """The closing table, from :data:`LEDGER`: every claim in this run, the archived standard run and the
    archived full run, each with its verdict."""
    quality = str(lrn.run_info.get("data_quality") or "source not recorded").split(" — ")[0]
    live = {"relu_vs_tanh": relu_vs_tanh, "lrn": lrn, _ARCH: summary}
    return f"**Data.** This run's CIFAR-10: {quality}.\n\n" + LEDGER.table(live, relu_vs_tanh.profile)


_RECIPE_NAMES = {"paper": "paper-like recipe", "modern": "modern recipe"}
_ACT_NAMES = {"relu": "ReLU", "tanh": "tanh"}


def grid_edges(result: ExperimentResult) -> list[str]:
    """The races whose winning rate is the lowest or the highest of the rates tried, one phrase each
    (``"paper-like recipe, tanh: 0.02, the lowest of 0.02, 0.06, 0.2"``): a rate beyond the grid might
    have reached the target sooner, so a ratio involving that race may be off in its favour or against."""
    out = []
    for recipe, race in result.metrics["recipes"].items():
        for act in ("relu", "tanh"):
            rates = sorted(e["lr"] for e in race[act]["entries"])
            won = race[act]["lr"]
            if len(rates) < 2 or won not in (rates[0], rates[-1]):
                continue
            side = "lowest" if won == rates[0] else "highest"
            out.append(f"{_RECIPE_NAMES.get(recipe, recipe)}, {_ACT_NAMES[act]}: {won:g}, the {side} of "
                       f"{', '.join(f'{x:g}' for x in rates)}")  # fmt: skip
    return out


def _edges_sentence(edges: list[str]) -> str:
    """" Best rates at the edge of the grid tried, ...: <edges>." (with its leading space), or ""."""
    if not edges:
        return ""
    return (" Best rates at the edge of the grid tried, where a rate beyond the grid might have trained "
            "faster: " + "; ".join(edges) + ".")  # fmt: skip


def _archived_races() -> list[tuple[str, ExperimentResult]]:
    """Every archived race of Figure 1 (all seeds, standard and full), labelled ``"seed 1, standard"``."""
    found = archived_seeds(CHAPTER, ("relu_vs_tanh",))
    return [(f"seed {seed}, {profile}", r) for profile, by_key in found.items()
            for seed, r in by_key["relu_vs_tanh"]]  # fmt: skip


def relu_archive_text() -> str:
    """The sentence on the paper-scale ratio: generated from the archived runs, or saying there are none;
    then the archived races whose best rate lies at the edge of its grid."""
    edges = [f"{label}: {edge}" for label, r in _archived_races() for edge in grid_edges(r)]
    return LEDGER.archived_sentence("relu_speedup") + _edges_sentence(edges)
