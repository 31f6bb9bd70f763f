"""What the trained reference networks (:mod:`ecg_lib.experiments.reference`) show on a page: the ResNet
chapter's section "Trained networks" (error against depth beside Table 6, Veit et al.'s lesion study on
the trained ResNet-56, per-block gradients and activations) and the data-source note that the "Paper vs.
this book" tables of the ResNet and comparison chapters carry.

Every number in a sentence here is read from a result; the wording that depends on a number (a verdict)
is chosen by comparing numbers, so it flips when they do. Errors are fractions, printed as percentages.

The lesions of the trained ResNet-56 are in :mod:`ecg_lib.chapters.reference_lesions`, re-exported here.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ecg_lib import papers
from ecg_lib.chapters import common
from ecg_lib.chapters.common import pct
from ecg_lib.chapters.reference_lesions import (
    CHANCE,
    LABEL,
    additive_estimate,
    k_rows,
    lesion_explorer,
    lesion_k_table,
    lesion_text,
    lesions_figure,
    plot_lesions,
    single_summary,
)
from ecg_lib.experiments import ExperimentResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "CHANCE",
    "SOURCES",
    "additive_estimate",
    "block_stats_figure",
    "block_stats_table",
    "block_stats_text",
    "data_note",
    "depth_figure",
    "depth_table",
    "depth_text",
    "k_rows",
    "lesion_explorer",
    "lesion_k_table",
    "lesion_text",
    "lesions_figure",
    "lossy_effect",
    "offsets_text",
    "plot_block_stats",
    "plot_depth",
    "plot_lesions",
    "published_errors",
    "single_summary",
]


def _depth(name: str) -> int:
    return int(name.removeprefix("resnet"))


def _se(error: float, n: int) -> float:
    return math.sqrt(max(error * (1 - error), 1e-12) / n)


# ----------------------------------------------------------------------------------------------------------
# Error against depth, and the size of the lossy-copy effect


#: The publisher's two figures on the original test set, as the pages name them.
SOURCES = {"readme": "the publisher's README table", "best_epoch": "the files' best_prec1 (best epoch)"}


def published_errors(metrics: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Per network, the publisher's two test errors on the original test set (fractions): ``readme``,
    from their README table, and ``best_epoch``, 1 - the ``best_prec1`` stored in the file (the best
    epoch's accuracy; the weights are the last epoch's). Read from the result's metrics; archives
    written before both were kept hold ``reported_accuracy`` (the files' best_prec1) and take the README
    figure from :data:`ecg_lib.pretrained.PRETRAINED`."""
    from ecg_lib.pretrained import PRETRAINED

    best = metrics.get("best_prec1", metrics.get("reported_accuracy"))
    if best is None:
        raise KeyError("the reference result holds neither best_prec1 nor reported_accuracy")
    readme = metrics.get("readme_error") or {n: PRETRAINED[n].readme_error for n in best}
    return {n: {"readme": readme[n] / 100, "best_epoch": 1 - best[n] / 100} for n in metrics["errors"]}


def lossy_effect(depth: ExperimentResult, against: str = "readme") -> dict[str, float]:
    """Per network: measured error here minus the publisher's error on the original test set (fractions;
    positive: worse here), ``against`` their README table (``"readme"``, the closer description of the
    weights) or the files' best-epoch figure (``"best_epoch"``). On the lossy copy this is the copy's
    cost to a trained network."""
    pub = published_errors(depth.metrics)
    return {n: e["error"] - pub[n][against] for n, e in depth.metrics["errors"].items()}


def offsets_text(result: ExperimentResult, name: str = "ResNet") -> str:
    """``ResNet-20 +9.8 / +9.7, ...`` (points): measured error minus the publisher's README figure / minus
    the files' best-epoch figure, for each reference network of ``result``."""
    a, b = lossy_effect(result, "readme"), lossy_effect(result, "best_epoch")
    return ", ".join(f"{name}-{_depth(n)} {100 * a[n]:+.1f} / {100 * b[n]:+.1f}" for n in a)


def depth_table(depth: ExperimentResult) -> str:
    """One row per reference network: Table 6's error, the publisher's two (README table; the files'
    best epoch), the one measured here and the difference from each of the publisher's (points)."""
    m, pub = depth.metrics, published_errors(depth.metrics)
    readme, best = lossy_effect(depth, "readme"), lossy_effect(depth, "best_epoch")
    rows = []
    for name, e in m["errors"].items():
        d = _depth(name)
        rows.append((f"ResNet-{d}", f"{100 * papers.RESNET_TABLE6[d][1]:.2f}%",
                     f"{100 * pub[name]['readme']:.2f}%", f"{100 * pub[name]['best_epoch']:.2f}%",
                     f"{pct(e['error'], 2)} ± {100 * _se(e['error'], e['n']):.1f} "
                     f"({e['correct']:,} of {e['n']:,})",
                     f"{100 * readme[name]:+.1f} / {100 * best[name]:+.1f} points"))  # fmt: skip
    return common.markdown_table(
        ("network", "test error, paper (Table 6)", "publisher's README table (original test set)",
         "files' best_prec1, best epoch (original test set)", "measured here (± 1 SE)",
         "here minus README / minus best epoch"), rows,
    )  # fmt: skip


def depth_text(depth: ExperimentResult) -> str:
    """The measured paragraph: what the copy costs a trained network, and whether error falls with depth."""
    m, pub = depth.metrics, published_errors(depth.metrics)
    errs = {n: e["error"] for n, e in m["errors"].items()}
    names = list(errs)
    n = next(iter(m["errors"].values()))["n"]
    se = max(_se(e, n) for e in errs.values())
    effects = {k: lossy_effect(depth, k) for k in SOURCES}
    lo = min(min(v.values()) for v in effects.values())
    hi = max(max(v.values()) for v in effects.values())
    first, last = names[0], names[-1]
    quality = (m.get("data_quality") or "source not recorded").split(" — ")[0]
    readme = ", ".join(f"{100 * pub[k]['readme']:.2f}%" for k in names)
    best = ", ".join(f"{100 * pub[k]['best_epoch']:.2f}%" for k in names)
    falls = all(errs[a] >= errs[b] for a, b in itertools.pairwise(names))
    if falls:
        order = "falls with every step in depth, as in Table 6"
    elif errs[last] < errs[first] - 2 * se * math.sqrt(2):
        order = ("falls from the shallowest to the deepest net, though not at every step (neighbouring "
                 "depths differ by about the sampling noise)")  # fmt: skip
    else:
        order = "does not fall measurably with depth on these images (the differences are within the noise)"
    return (
        f"**Measured.** This chapter's data: {quality}. On {n:,} of its test images the four networks score "
        f"{', '.join(pct(errs[k]) for k in names)} test error "
        f"(sampling standard error up to {100 * se:.1f} points). On the original test set their "
        f"publisher's README table gives {readme}; the files themselves store the best epoch's accuracy "
        f"(best_prec1), {best} as errors, while their weights are the last epoch's. Against either figure "
        f"each network is {100 * lo:+.1f} to {100 * hi:+.1f} points off here: that is the size of the data "
        f"effect on these networks. The error {order}: "
        f"ResNet-{_depth(first)} {pct(errs[first])}, ResNet-{_depth(last)} {pct(errs[last])}."
    )


def plot_depth(depth: ExperimentResult, ax: Axes) -> Axes:
    """Test error (%) against depth: Table 6, the publisher's figures, and this data (± 1 SE)."""
    m = depth.metrics
    names = list(m["errors"])
    ds = [_depth(n) for n in names]
    ax.plot(ds, [100 * papers.RESNET_TABLE6[d][1] for d in ds], "s--", color="0.4", label="paper (Table 6)")
    pub = published_errors(m)
    ax.plot(ds, [100 * pub[n]["readme"] for n in names], "o:", color="tab:green",
            label="publisher's README table, original test set")  # fmt: skip
    ax.plot(ds, [100 * pub[n]["best_epoch"] for n in names], "^:", color="tab:olive",
            label="files' best_prec1 (best epoch), original test set")  # fmt: skip
    errs = [m["errors"][n]["error"] for n in names]
    ses = [100 * _se(e, m["errors"][n]["n"]) for e, n in zip(errs, names, strict=True)]
    ax.errorbar(ds, [100 * e for e in errs], yerr=ses, fmt="o-", color="tab:red", capsize=3,
                label="measured here")  # fmt: skip
    ax.set_xticks(ds)
    ax.set_xlabel("depth (weight layers)")
    ax.set_ylabel("test error (%)")
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    return ax


def depth_figure(depth: ExperimentResult) -> Figure:
    """:func:`plot_depth` on one panel of the text column's width, built without pyplot: the notebook
    displays the returned Figure once."""
    fig, ax = common.new_figure(height=3.8)
    plot_depth(depth, ax)
    ax.set_title(f"trained ResNets, {LABEL}", fontsize=9)
    return fig


def data_note(depth: ExperimentResult | None, data_quality: str | None = None, *,
              whose: str = "This run's") -> str:  # fmt: skip
    """The line above a "Paper vs. this book" table: what the data is, and (with the references' depth
    result) the measured size of the lossy-copy effect against both of the publisher's figures.
    ``whose``: whose data it is (an archived run's on a page that trains nothing)."""
    quality = data_quality or (depth.metrics.get("data_quality") if depth is not None else None)
    text = f"**Data.** {whose} CIFAR-10: {quality or 'source not recorded'}."
    if depth is not None:
        n = next(iter(depth.metrics["errors"].values()))["n"]
        text += (f" Measured on the trained reference networks ({n:,} test images), this data moves a "
                 f"network's test error from the publisher's figure on the original test set by "
                 f"{offsets_text(depth)} points (against their README table / against the files' best-epoch "
                 "best_prec1); read absolute errors against the papers' with that offset in mind."
                 )  # fmt: skip
    return text


# ----------------------------------------------------------------------------------------------------------
# Gradients and activations per block of the trained ResNet-56


def plot_block_stats(stats: ExperimentResult, axes: Sequence[Axes]) -> None:
    """Three panels per block: gradient norms (parameters, block output; log scale), ||F(x)|| / ||x||,
    and the output's fraction of zeros and its std."""
    rows = stats.metrics["blocks"]
    x = [r["block"] + 1 for r in rows]
    a, b, c = axes
    a.plot(x, [r["grad_norm"] for r in rows], "o-", ms=3, label="‖∂L/∂θ‖, block parameters")
    a.plot(x, [r["out_grad_norm"] for r in rows], "s-", ms=3, label="‖∂L/∂y‖ at the block output")
    a.set_yscale("log")
    b.plot(x, [r["residual_ratio"] for r in rows], "o-", ms=3, color="tab:red")
    b.axhline(1, color="0.6", lw=0.8)
    b.set_ylabel("‖F(x)‖ / ‖x‖")
    c.plot(x, [r["out_zero_frac"] for r in rows], "o-", ms=3, label="output: fraction of zeros")
    c.plot(x, [r["out_std"] for r in rows], "s-", ms=3, label="output: std")
    for ax in axes:
        for r in rows:
            if r["downsampling"]:
                ax.axvline(r["block"] + 1, color="0.7", lw=0.8, ls="--")
        ax.set_xlabel("block (dashed: downsampling)")
        ax.grid(alpha=0.3)
    a.legend(fontsize=9)
    c.legend(fontsize=9)


def block_stats_figure(stats: ExperimentResult) -> Figure:
    """:func:`plot_block_stats`, its three panels stacked so they fit the text column; built without
    pyplot: the notebook displays the returned Figure once."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(common.FIGURE_WIDTH, 7.8), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    plot_block_stats(stats, axes)
    axes[0].set_title("gradient norms", fontsize=10)
    axes[1].set_title("size of the residual", fontsize=10)
    axes[2].set_title("activations", fontsize=10)
    return fig


def _stage_rows(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        out.setdefault(str(r["name"]).split(".")[0], []).append(r)
    return out


def block_stats_table(stats: ExperimentResult) -> str:
    """Per stage: medians of the per-block statistics (the stage's number of blocks goes with its name,
    so that the table keeps to six columns)."""
    rows = []
    for stage, rs in _stage_rows(stats.metrics["blocks"]).items():
        keys = ("grad_norm", "out_grad_norm", "residual_ratio", "out_zero_frac", "out_std")
        med = {k: statistics.median(r[k] for r in rs) for k in keys}
        rows.append((f"{stage}, {len(rs)} blocks", f"{med['grad_norm']:.3g}", f"{med['out_grad_norm']:.3g}",
                     f"{med['residual_ratio']:.2f}", f"{100 * med['out_zero_frac']:.0f}%",
                     f"{med['out_std']:.2f}"))  # fmt: skip
    return common.markdown_table(
        ("stage", "‖∂L/∂θ‖ (median)", "‖∂L/∂y‖ (median)", "‖F(x)‖/‖x‖ (median)", "zeros (median)",
         "output std (median)"), rows,
    )  # fmt: skip


def block_stats_text(stats: ExperimentResult) -> str:
    """The measured paragraph: how large the residuals are against what passes the shortcut, and how the
    gradient changes from the first block to the last."""
    rows = stats.metrics["blocks"]
    ratios = [r["residual_ratio"] for r in rows]
    med = statistics.median(ratios)
    big = max(rows, key=lambda r: r["residual_ratio"])
    g = [r["grad_norm"] for r in rows]
    og = [r["out_grad_norm"] for r in rows]
    zeros = [r["out_zero_frac"] for r in rows]
    size = ("smaller than what passes through the shortcut in most blocks, in line with He et al.'s Fig. 7 "
            "(trained residual functions are small)" if med < 1 else
            "not smaller than what passes through the shortcut in most blocks, unlike He et al.'s "
            "Fig. 7")  # fmt: skip
    trend = "grows" if og[0] > og[-1] else "shrinks"
    return (
        f"**Measured.** On {stats.metrics['settings']['probe_batch']:,} test images, the residual F(x) of a "
        f"block of the trained ResNet-56 has a median {med:.2f} of the norm of its shortcut's output "
        f"(from {min(ratios):.2f} to {max(ratios):.2f}, largest in {big['name']}): {size}. The gradient at "
        f"a block's output {trend} from the last block ({og[-1]:.3g}) back to the first ({og[0]:.3g}), a "
        f"factor of {og[0] / og[-1]:.2g}; over the blocks' parameters it ranges from {min(g):.3g} to "
        f"{max(g):.3g}. "
        f"Between {100 * min(zeros):.0f}% and {100 * max(zeros):.0f}% of each block's outputs are zero after "
        "its ReLU."
    )
