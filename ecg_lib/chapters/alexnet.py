"""What the AlexNet chapter (``notebooks/alexnet.md``) shows: its figures, the races' kernel-free
explorer, tables and measured paragraphs, and the closing "Paper vs. this book" table.

The numbers come from :mod:`ecg_lib.experiments.alexnet` (results of its experiments, live or archived,
and its small measurements); the paper's figures from :data:`ecg_lib.papers.ALEXNET_CLAIMS`. The
functions follow the chapter's sections: preprocessing, ReLU vs. tanh (Figure 1), response
normalisation, the two-GPU split, pooling, the first-layer filters (Figure 3), and the closing page.
This module holds the sections other than Figure 1 and re-exports the rest, so the notebook imports
one page module: Figure 1's section is :mod:`ecg_lib.chapters.alexnet_races`, the claims and the
closing table :mod:`ecg_lib.chapters.alexnet_ledger`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ecg_lib.chapters import common
from ecg_lib.chapters.alexnet_ledger import (
    CHAPTER,
    CLAIMS,
    LEDGER,
    counted,
    data_note,
    fmt_ratio,
    summary_points,
)
from ecg_lib.chapters.alexnet_races import (
    figure1_text,
    grid_edges,
    plot_figure1,
    plot_sweeps,
    race_curves,
    race_table,
    relu_archive_text,
    run_cell,
    saturation_table,
    sweep_explorer,
    wide_race_text,
)
from ecg_lib.counting import positions_read
from ecg_lib.data import CIFAR10Data
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments import alexnet as experiment
from ecg_lib.profiles import select

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "CHAPTER",
    "CLAIMS",
    "LEDGER",
    "counted",
    "data_note",
    "figure1_text",
    "filter_table",
    "filter_text",
    "filters_figure",
    "fmt_ratio",
    "grid_edges",
    "lrn_gain_figure",
    "lrn_gain_text",
    "lrn_text",
    "mean_image_figure",
    "mean_image_text",
    "per_class",
    "plot_figure1",
    "plot_lrn",
    "plot_sweeps",
    "pooling_read_text",
    "pooling_table",
    "race_curves",
    "race_table",
    "relu_archive_text",
    "run_cell",
    "run_notes",
    "saturation_table",
    "summary_points",
    "sweep_explorer",
    "tower_counts",
    "tower_notes",
    "tower_shapes",
    "wide_race_text",
]  # fmt: skip


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


def mean_image_figure(data: CIFAR10Data, mean: Tensor, index: int = 7) -> Figure:
    """The mean training image (as is and contrast stretched), one training image and that image minus
    the mean. Built without pyplot: the notebook displays the returned Figure once."""
    from matplotlib.figure import Figure

    example = data.train_x[index].float() / 255
    stretch = (mean - mean.min()) / (mean.max() - mean.min())
    fig = Figure(figsize=(common.FIGURE_WIDTH, 2.3), layout="constrained")
    axes = fig.subplots(1, 4)
    panels = [
        (mean, "mean image"),
        (stretch, "contrast stretched"),
        (example, f"a training image\n({data.classes[int(data.train_y[index])]})"),
        ((example - mean + 0.5).clamp(0, 1), "minus the mean\n(+0.5 to display)"),
    ]
    for ax, (img, title) in zip(axes, panels, strict=True):
        ax.imshow(img.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    return fig


def mean_image_text(mean: Tensor) -> str:
    """The numbers that show the mean image is not a flat grey (0-255 units), one per line."""
    lines = []
    rgb = (255 * mean.mean((1, 2))).tolist()
    lines.append("per-channel mean (0-255 units): R {:.1f}, G {:.1f}, B {:.1f}".format(*rgb))
    border = torch.ones(32, 32, dtype=torch.bool)
    border[4:-4, 4:-4] = False
    lines.append(f"mean image from {255 * mean.min():.1f} to {255 * mean.max():.1f}")
    lines.append(f"top 8 rows {255 * mean[:, :8].mean():.1f}, bottom 8 rows {255 * mean[:, -8:].mean():.1f}")
    lines.append(f"centre 24×24 {255 * mean[:, ~border].mean():.1f}, "
                 f"4-pixel border {255 * mean[:, border].mean():.1f}")  # fmt: skip
    flat = mean.mean((1, 2), keepdim=True)  # what subtracting one value per channel would remove
    dev = 255 * (mean - flat)
    lines.append(f"departure from the per-channel averages: up to {dev.abs().max():.1f} levels, "
                 f"{dev.pow(2).mean().sqrt():.1f} RMS")  # fmt: skip
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# 3. Local response normalisation

_LEVELS = torch.logspace(-1, 3.5, 200)


def lrn_gain_figure(activity: dict[str, float]) -> Figure:
    """The normalisation's gain against the activity of the neighbouring maps, for the paper's constants
    and three variations, with the RMS activity measured in the trained network. Built without pyplot:
    the notebook displays the returned Figure once."""
    from matplotlib.figure import Figure

    variants = [(2.0, 1e-4, 0.75, "-"), (1.0, 1e-4, 0.75, "--"), (2.0, 1e-3, 0.75, ":"),
                (2.0, 1e-4, 0.5, "-.")]  # fmt: skip
    fig = Figure(figsize=(common.FIGURE_WIDTH, 3.5), layout="constrained")
    ax = fig.subplots()
    for k, alpha, beta, style in variants:
        label = f"k={k:g}, α={alpha:g}, β={beta:g}" + (" (paper)" if style == "-" else "")
        gain = experiment.lrn_gain(_LEVELS, k=k, n=5, alpha=alpha, beta=beta)
        ax.semilogx(_LEVELS, gain, style, label=label)
    ax.axvline(activity["rms"], color="k", lw=0.8)
    ax.text(activity["rms"] * 1.1, 0.9, f"measured RMS\nactivity {activity['rms']:.0f}", fontsize=9)
    ax.set(xlabel="activity a of all 5 neighbouring maps (input units)", ylabel="output / input")
    ax.set_title("Response normalisation: gain against activity (n = 5)", fontsize=10)
    ax.legend(fontsize=9)
    return fig


def lrn_gain_text(activity: dict[str, float]) -> str:
    """How many of the trained network's units the normalisation really inhibits, and its median gain."""
    return (f"In the trained network, {100 * activity['inhibited']:.1f}% of the active first-layer units "
            f"are scaled down by more than 10% beyond the constant gain of {activity['constant_gain']:.3f}. "
            f"The median gain is {activity['median_gain']:.3f}.")  # fmt: skip


def plot_lrn(result: ExperimentResult, ax: Axes) -> None:
    """Training error per epoch (lines) and test error where evaluated (circles)."""
    for colour, (label, h) in zip(("C0", "C1"), result.histories.items(), strict=False):
        errors = [100 * e for e in h.epoch_train_error]
        ax.plot(range(1, len(errors) + 1), errors, color=colour, label=f"{label} LRN: training")
        pts = [(i + 1, 100 * e) for i, e in enumerate(h.test_error) if e is not None]
        ax.plot(*zip(*pts, strict=True), "o--", color=colour, label=f"{label} LRN: test")
    ax.set(xlabel="epoch", ylabel="error (%)")
    common.integer_epochs(ax)
    ax.legend(fontsize=9)


def lrn_text(result: ExperimentResult) -> str:
    """The measured paragraph of Sec. 3.3's comparison, with the noise of one seed on the test subset."""
    errs, paper = result.metrics["test_error"], CLAIMS["lrn_cifar_test_error"]
    diff = 100 * (errs["without"] - errs["with"])
    n_test = result.metrics["n_test"]
    se = 100 * (errs["with"] * (1 - errs["with"]) / n_test) ** 0.5
    lowered = "lowered" if diff > 0 else "raised"
    return (
        f"{common.small_run_lead(result)} Test error was {100 * errs['without']:.1f}% without response "
        f"normalisation and {100 * errs['with']:.1f}% with it, so the normalisation {lowered} it by "
        f"{abs(diff):.1f} points. The paper reports {100 * paper['without']:.0f}% and "
        f"{100 * paper['with']:.0f}%, a drop of {100 * (paper['without'] - paper['with']):.0f} points. "
        f"This is one seed on {n_test:,} test images: one standard error of each figure is about "
        f"{se:.1f} points, so a difference needs about {2 * 2 ** 0.5 * se:.0f} points to stand out."
    )


# ----------------------------------------------------------------------------------------------------------
# 4. Two GPUs, one network


def tower_shapes(rows: list[experiment.TowerRow], summary: dict[str, Any]) -> str:
    """Per weight layer: its kernels, the shape of one, which maps it reads and its neurons (output units),
    with the total of neurons. The counts of the split and of one tower are :func:`tower_counts`."""
    reads = {"the image": "the image", "own tower": "own GPU", "both towers": "**both GPUs**"}
    body = [[r.layer, r.kernels, r.kernel, reads[r.sees], f"{r.neurons:,}"] for r in rows]
    total = f"| **total** | | | | {summary['neurons']:,} |"
    return common.markdown_table(["layer", "kernels", "one kernel", "reads", "neurons"], body) + "\n" + total


def tower_counts(rows: list[experiment.TowerRow], summary: dict[str, Any]) -> str:
    """Per weight layer: parameters and multiply-adds of the two-GPU split and of one tower of the same
    width, with their totals (the split's in bold)."""
    header = ["layer", "parameters", "one tower", "MACs (M)", "one tower (M)"]
    body = [[r.layer, f"{r.params_split:,}", f"{r.params_single:,}", f"{r.macs_split / 1e6:.1f}",
             f"{r.macs_single / 1e6:.1f}"] for r in rows]  # fmt: skip
    total = (f"| **total** | **{summary['params_split']:,}** | {summary['params_single']:,} "
             f"| **{summary['macs_split'] / 1e6:.0f}** | {summary['macs_single'] / 1e6:.0f} |")  # fmt: skip
    return common.markdown_table(header, body) + "\n" + total


def tower_notes(summary: dict[str, Any]) -> str:
    """Two sentences: what the split saves, and where the parameters and the multiply-adds sit; one
    number per clause."""
    return (
        f"The split saves {summary['params_saved']:,} parameters, "
        f"{100 * summary['params_saved_frac']:.1f}% of one tower's, and {summary['macs_saved'] / 1e6:.0f} M "
        f"multiply-adds per image, {100 * summary['macs_saved_frac']:.0f}% of them.\n"
        f"FC6 alone holds {summary['fc6_params']:,} parameters, {100 * summary['fc6_frac']:.0f}% of the "
        f"network; FC6 to FC8 hold {100 * summary['fc_params_frac']:.0f}%, while the convolutions do "
        f"{100 * summary['conv_macs_frac']:.0f}% of the multiply-adds."
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


def filters_figure(result: ExperimentResult) -> Figure:
    """The LRN run's 32 first-layer kernels, each scaled to the full display range. Built without
    pyplot: the notebook displays the returned Figure once."""
    from matplotlib.figure import Figure

    trained = torch.tensor(result.metrics["conv1_filters"])  # 32 x 3 x 5 x 5
    lo = trained.amin((1, 2, 3), keepdim=True)
    hi = trained.amax((1, 2, 3), keepdim=True)
    fig = Figure(figsize=(6.4, 3.6), layout="constrained")
    axes = fig.subplots(4, 8)
    for ax, kernel in zip(axes.flat, (trained - lo) / (hi - lo), strict=False):
        ax.imshow(kernel.permute(1, 2, 0).numpy(), interpolation="nearest")
        ax.axis("off")
    fig.suptitle(f"first-layer kernels after {result.histories['with'].epochs_done} epochs "
                 f"on {result.metrics['n_train']:,} images", fontsize=10)  # fmt: skip
    return fig


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
