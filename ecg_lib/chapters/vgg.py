"""What the VGG chapter shows: receptive-field footprints, the cost bars of Table 1's configurations,
the tables (among them the static one beside the kernel-free stack explorer of
:mod:`ecg_lib.chapters.explorers`), the trained run's loss curves and paragraph, and the closing "Paper
vs. this book" table. The numbers come from :mod:`ecg_lib.experiments.vgg`; the paper's from
:mod:`ecg_lib.papers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ecg_lib import papers
from ecg_lib.chapters import common
from ecg_lib.experiments import ExperimentResult, vgg

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FOOTPRINT_PANELS",
    "config_table_markdown",
    "cost_figure",
    "describe_settings",
    "footprint_figure",
    "last_conv_field",
    "loss_figure",
    "paper_table",
    "run_paragraph",
    "stack_table_markdown",
]

# The chains of the footprint figure: (title, [(kernel, stride), ...]).
FOOTPRINT_PANELS: tuple[tuple[str, list[tuple[int, int]]], ...] = (
    ("1 x 3x3", [(3, 1)]), ("2 x 3x3", [(3, 1)] * 2), ("3 x 3x3", [(3, 1)] * 3),
    ("1 x 7x7", [(7, 1)]), ("1 x 11x11, stride 4", [(11, 4)]),
)  # fmt: skip


def footprint_figure(
    panels: Sequence[tuple[str, list[tuple[int, int]]]] = FOOTPRINT_PANELS, side: int = 15
) -> Figure:
    """One panel per chain: which input pixels reach the centre output unit, and through how many paths
    (:func:`ecg_lib.experiments.vgg.footprint` on a ``side`` x ``side`` input)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(13, 3))
    half = side / 2
    for ax, (title, layers) in zip(axes, panels, strict=True):
        fp = vgg.footprint(layers, side).numpy()
        size = int(np.count_nonzero(fp.sum(0)))
        im = ax.imshow(fp, cmap="viridis", extent=(-half, half, half, -half))
        ax.set_title(f"{title}\nsees {size}x{size} pixels", fontsize=10)
        ax.set_xlabel("input x (pixels from centre)")
        fig.colorbar(im, ax=ax, fraction=0.046, label="paths to the unit")
    axes[0].set_ylabel("input y (pixels)")
    fig.tight_layout()
    return fig


def config_table_markdown(rows: Sequence[vgg.ConfigRow]) -> str:
    """Table 1's configurations as counted: layers, parameters against Table 2, MACs, FC shares."""
    return common.markdown_table(
        ["config", "weight layers", "3×3 / 1×1 convs", "parameters", "Table 2", "MACs per image",
         "params in FC6-8", "MACs in FC6-8", "receptive field"],
        [[r.config, r.weight_layers, f"{r.conv3} / {r.conv1}", f"{r.params:,} ({r.params_m:.1f} M)",
          f"{r.paper_params_m} M", f"{r.macs / 1e9:.2f} G", f"{100 * r.fc_share:.1f}%",
          f"{100 * r.fc_mac_share:.1f}%", f"{r.receptive_field} px"] for r in rows],
    )  # fmt: skip


def cost_figure(rows: Sequence[vgg.ConfigRow]) -> Figure:
    """Parameters and MACs per configuration, each split into convolutions and FC6-FC8."""
    import matplotlib.pyplot as plt

    names = [r.config for r in rows]
    fig, (ax_p, ax_m) = plt.subplots(1, 2, figsize=(11, 3.6))
    conv_p = [(r.params - r.fc_params) / 1e6 for r in rows]
    ax_p.bar(names, conv_p, label="convolutions")
    ax_p.bar(names, [r.fc_params / 1e6 for r in rows], bottom=conv_p, label="FC6-FC8")
    ax_p.set_ylabel("parameters (millions)")
    ax_p.set_title("Parameters per configuration")
    conv_m = [(r.macs - r.fc_macs) / 1e9 for r in rows]
    ax_m.bar(names, conv_m, label="convolutions")
    ax_m.bar(names, [r.fc_macs / 1e9 for r in rows], bottom=conv_m, label="FC6-FC8")
    ax_m.set_ylabel("MACs per 224x224 image (billions)")
    ax_m.set_title("Compute per configuration")
    for ax in (ax_p, ax_m):
        ax.set_xlabel("configuration (Table 1)")
        ax.set_ylim(0, 1.3 * ax.get_ylim()[1])  # headroom for the legend above the bars
        ax.legend(loc="upper left", fontsize=9, ncol=2)
    fig.tight_layout()
    return fig


def describe_settings(s: vgg.Settings) -> str:
    """The training budget of :func:`ecg_lib.experiments.vgg.train_configs` in one paragraph."""
    t = s.train
    milestones = ", ".join(f"{m:g}" for m in t.milestones)
    schedule = t.schedule + (f", lr x {t.gamma:g} at epochs {milestones}" if milestones else "")
    per_class = f"{s.n_train_per_class or 'all'} train / {s.n_test_per_class or 'all'} test images per class"
    return (f"configurations {', '.join(s.configs)}; width {s.width}; {per_class}; {t.epochs} epochs, "
            f"batch {t.batch_size}, lr {t.lr} ({schedule}); batch_norm={s.batch_norm}, init={s.init!r}, "
            f"dropout={s.dropout}; seeds {', '.join(map(str, s.seeds))}")  # fmt: skip


def loss_figure(result: ExperimentResult, profile: str) -> Figure:
    """Training loss (moving average over half an epoch) of every configuration against epochs."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for config, h in result.histories.items():
        steps = np.arange(1, len(h.train_loss) + 1) / h.steps_per_epoch
        window = max(1, h.steps_per_epoch // 2)
        smooth = np.convolve(h.train_loss, np.ones(window) / window, mode="valid")
        layers = result.metrics[config]["weight_layers"]
        ax.plot(steps[window - 1 :], smooth, label=f"{config} ({layers} weight layers)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss (cross-entropy, moving average)")
    ax.set_title(f"Training loss, this run ({profile} profile)")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def run_paragraph(result: ExperimentResult, settings: vgg.Settings) -> str:
    """The paragraph "What this run shows" (Markdown): the deep against the shallow configuration,
    A-LRN against A, and how much a difference of a few points means on this many test images."""
    m = result.metrics
    shallow, deep = settings.configs[0], settings.configs[-1]
    d_err = 100 * (m[deep]["test_error"] - m[shallow]["test_error"])
    d_train = 100 * (m[deep]["train_error"] - m[shallow]["train_error"])
    lrn_err = 100 * (m["A-LRN"]["test_error"] - m["A"]["test_error"])
    n_per_class = m["settings"]["n_train_per_class"] or 5000
    n_test = result.histories[shallow].info["n_test"]
    p = m[shallow]["test_error"]
    se = 100 * (p * (1 - p) / n_test) ** 0.5  # binomial standard error of an error rate
    top5 = {c: 100 * papers.VGG_TABLE3[c][1] for c in ("A", "A-LRN")}
    text = (
        f"**What this run shows.** With the same budget, the {m[deep]['weight_layers']}-layer configuration "
        f"{deep} ended {abs(d_err):.1f} points {'lower' if d_err < 0 else 'higher'} in test error than the "
        f"{m[shallow]['weight_layers']}-layer {shallow} "
        f"({100 * m[deep]['test_error']:.1f}% against {100 * m[shallow]['test_error']:.1f}%), "
        f"at {m[deep]['macs'] / m[shallow]['macs']:.1f} times the compute per image. "
    )
    if d_err >= 0:
        text += (
            f"Depth did not pay in this budget, and the training errors say why: {deep} also ended "
            f"{abs(d_train):.1f} points {'higher' if d_train >= 0 else 'lower'} on its own training images, "
            "so in a few epochs the deeper network is the slower one to fit, not the one that overfits. "
            "The paper's comparison is between networks trained to convergence (74 epochs on 1.3 million "
            "images); the full profile trains all six configurations on all of CIFAR-10 to test it. "
        )
    text += (
        f"Adding LRN to A changed the test error by {lrn_err:+.1f} points "
        f"(paper, ImageNet top-5: {top5['A']:.1f}% without, {top5['A-LRN']:.1f}% with) "
        f"and cost {m['A-LRN']['seconds'] / m['A']['seconds']:.1f} times A's training time. "
        f"These runs see {n_per_class} images per class for {settings.train.epochs} epochs, with one seed, "
        f"and are scored on {n_test:,} test images, where sampling alone gives a test error a standard "
        f"error of {se:.1f} points (before any seed-to-seed variation): differences of a few points are "
        "not evidence."
    )
    return text


def stack_table_markdown(table: Sequence[vgg.StackStats]) -> str:
    """The static companion of the chapter's stack explorer
    (:func:`ecg_lib.chapters.explorers.vgg_stack_explorer`): the stacks the chapter compares."""
    channels, side = table[0].channels, table[0].side
    return common.markdown_table(
        [f"stack (C = {channels}, {side}×{side} maps)", "receptive field", "weights", "weights / C²", "MACs",
         "ReLUs"],
        [[s.label, f"{s.receptive_field}×{s.receptive_field}", f"{s.weights:,}", f"{s.weights_per_c2:.0f}",
          f"{s.macs / 1e9:.2f} G", s.relus] for s in table],
    )  # fmt: skip


def _archived_error(config: str) -> str:
    return common.archive_value("vgg", "train_configs", lambda r: 100 * r.metrics[config]["test_error"],
                                "{:.1f}%")  # fmt: skip


def paper_table(
    rows: Sequence[vgg.ConfigRow],
    trace_c: Sequence[vgg.LayerTrace],
    result: ExperimentResult,
    settings: vgg.Settings,
    profile: str,
) -> str:
    """The closing table "Paper vs. this book" (Markdown): the stack arithmetic, Table 2's parameters,
    VGG-19's MACs, the 1x1 layers of C and the trained comparisons, with a column of the archived
    full-profile run."""
    by = {r.config: r for r in rows}
    m = result.metrics
    two, three, seven = vgg.stack_stats(3, 2, 8, 16), vgg.stack_stats(3, 3, 256), vgg.stack_stats(7, 1, 256)
    extra, saving = seven.weights / three.weights - 1, 1 - three.weights / seven.weights
    shallow, deep = settings.configs[0], settings.configs[-1]
    top5 = {c: f"{100 * t5:.1f}%" for c, (_, t5) in papers.VGG_TABLE3.items()}
    lines = ["| claim | paper {cite}`simonyan2015very` | this book |", "|---|---|---|",
             f"| receptive field of 2 / 3 stacked 3×3 layers | 5×5 / 7×7 (Sec. 2.3) "
             f"| {two.receptive_field}×{two.receptive_field} / "
             f"{three.receptive_field}×{three.receptive_field} (computed) |",
             f"| weights of one 7×7 layer vs three 3×3 layers | 49C² vs 27C², "
             f"\"{100 * papers.VGG_STACK_EXTRA:.0f}% more\" (Sec. 2.3) "
             f"| {seven.weights_per_c2:.0f}C² vs {three.weights_per_c2:.0f}C²: {100 * extra:.1f}% more, "
             f"i.e. the stack saves {100 * saving:.1f}% |"]  # fmt: skip
    for c in by:
        lines.append(f"| parameters of configuration {c} | {by[c].paper_params_m} M (Table 2) | "
                     f"{by[c].params:,} |")  # fmt: skip
    lines += [
        f"| multiply-adds of VGG-19 (E) | {papers.RESNET_VGG_GMACS[19]:.1f} G {{cite}}`he2016deep` | "
        f"{by['E'].macs / 1e9:.2f} G MACs |",
        f"| 1×1 layers of C change the receptive field | no (Sec. 2.3) | no: "
        f"{last_conv_field(vgg.layer_trace('B'))} px at B's last convolution, "
        f"{last_conv_field(trace_c)} px at C's |",
        f"| LRN helps (A vs A-LRN) | no: {top5['A']} vs {top5['A-LRN']} top-5, "
        f"ImageNet (Table 3) | {100 * m['A']['test_error']:.1f}% vs {100 * m['A-LRN']['test_error']:.1f}% "
        f"CIFAR-10 test error ({profile} profile) |",
        f"| deeper is better ({shallow} vs {deep}) | {top5[shallow]} vs {top5[deep]} top-5, ImageNet "
        f"(Table 3) | {100 * m[shallow]['test_error']:.1f}% vs {100 * m[deep]['test_error']:.1f}% CIFAR-10 "
        f"test error ({profile} profile) |",
    ]
    # the arithmetic rows are the same in every profile; only the two trained rows get an archived value
    full = [None] * (len(lines) - 4) + [
        f"{_archived_error('A')} vs {_archived_error('A-LRN')}",
        f"{_archived_error(shallow)} vs {_archived_error(deep)}",
    ]
    return common.add_archive_column("\n".join(lines), full, header="full profile (archived)")


def last_conv_field(trace: Sequence[vgg.LayerTrace]) -> int:
    """Receptive field of the last convolution of a configuration's trace (its last entry is pool5)."""
    return [t for t in trace if t.kind.startswith("conv")][-1].receptive_field
