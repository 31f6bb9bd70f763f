"""What the ResNet chapter (``notebooks/resnet.md``) shows: its plots, tables and measured paragraphs, and
the closing "Paper vs. this book" table. The numbers come from :mod:`ecg_lib.experiments.resnet` (a
:class:`~ecg_lib.experiments.resnet.DepthRun`'s result, live or archived, and the counted tables); the
paper's figures from :mod:`ecg_lib.papers`.

The sections follow the chapter's: training error (Fig. 6), gradients, lesions, the bottleneck and
Table 1, Table 6, and the closing table. A new section of the chapter adds its own block of functions
here and, for the closing table, claim rows to :data:`LEDGER`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from ecg_lib import papers
from ecg_lib.chapters import common, reference
from ecg_lib.chapters.common import pct
from ecg_lib.chapters.reach import out_of_reach
from ecg_lib.claims import (
    Claim,
    Ledger,
    Measurement,
    NotMeasured,
    binomial_se,
    error_gap,
    measure,
    paired_gap,
    sentence,
)
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments import resnet as experiment
from ecg_lib.results import find_archives

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "CHAPTER",
    "LEDGER",
    "archive_note",
    "bottleneck_table",
    "bottleneck_text",
    "counted",
    "degradation_text",
    "depth_cost_line",
    "final_errors_table",
    "grad_ratios",
    "gradient_table",
    "gradient_text",
    "lesion_summaries",
    "lesion_table",
    "lesion_text",
    "paper_vs_book",
    "plot_grad_norms",
    "plot_lesions",
    "plot_training_error",
    "profile_text",
    "residual_text",
    "show_grad_norms",
    "show_lesions",
    "show_training_error",
    "table1_table",
    "table1_text",
    "table6_table",
    "twins_table",
]

CHAPTER = "resnet"
_DEPTH = "depth"  # the archived experiment (key of experiments.resnet.EXPERIMENTS) the chapter quotes


# ----------------------------------------------------------------------------------------------------------
# Plots (each draws on an Axes it is given; the show_* functions make the chapter's figures)


def _style(name: str, color_by: str = "depth") -> dict[str, Any]:
    # As in Fig. 6: colour by depth, plain dashed, residual solid; one depth per panel: colour by kind.
    depth = int("".join(c for c in name if c.isdigit()))
    plain = name.startswith("plain")
    colors = {20: "tab:blue", 32: "tab:green", 44: "tab:purple", 56: "tab:red", 110: "black"}
    color = colors.get(depth, "tab:gray") if color_by == "depth" else ("tab:orange" if plain else "tab:blue")
    label = f"{'plain' if plain else 'ResNet'}-{depth}"
    return {"color": color, "linestyle": "--" if plain else "-", "label": label}


def plot_training_error(result: ExperimentResult, ax: Axes, names: Sequence[str] | None = None) -> Axes:
    """Training error (%) against iterations, plain nets dashed and residual nets solid (as Fig. 6)."""
    for name in names or list(result.histories):
        x, y = experiment.training_curve(result.histories[name])
        ax.plot(x, [100 * v for v in y], **_style(name))
    ax.set_xlabel("iteration (optimisation steps)")
    ax.set_ylabel("training error (%)")
    ax.axhline(90, color="0.7", linewidth=0.8, zorder=0)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def plot_grad_norms(result: ExperimentResult, ax: Axes, names: Sequence[str], when: str) -> Axes:
    """Gradient norm of every convolution's weights (log scale) against its depth in the net."""
    for name in names:
        g = experiment.grads_of(result, name, when)
        ax.plot([v.index + 1 for v in g], [v.norm for v in g], marker=".", **_style(name, "kind"))
    ax.set_yscale("log")
    ax.set_xlabel("convolution (1 = nearest the input)")
    ax.set_ylabel("gradient norm ‖∂L/∂W‖")
    ax.set_title("at initialisation" if when == "init" else "after training", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return ax


def plot_lesions(result: ExperimentResult, ax: Axes, names: Sequence[str] | None = None) -> Axes:
    """Test error (%) after deleting each single block; downsampling blocks ringed, intact nets dotted."""
    lesions = experiment.lesions_of(result)
    for name in names or list(lesions):
        les = lesions[name]
        style = _style(name, "kind")
        blocks = les[1:]
        xs, ys = [b.block + 1 for b in blocks], [100 * b.error for b in blocks]
        ax.plot(xs, ys, marker="o", markersize=3, **style)
        ax.axhline(100 * les[0].error, color=style["color"], linestyle=":", linewidth=1)
        down = [b for b in blocks if b.downsampling]
        ax.scatter([b.block + 1 for b in down], [100 * b.error for b in down], s=90, facecolors="none",
                   edgecolors=style["color"], zorder=3)  # fmt: skip
    ax.axhline(90, color="0.6", linewidth=0.8)
    ax.text(1, 91.5, "chance (90%)", fontsize=8, color="0.4")
    ax.set_xlabel("deleted block (ringed: a downsampling block; dotted: the intact net)")
    ax.set_ylabel("test error (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def show_training_error(result: ExperimentResult, names: Sequence[str], label: str = "plain nets") -> None:
    """One panel of training-error curves of ``names``, titled with ``label`` and the result's profile."""
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6.5, 4))
    plot_training_error(result, ax, names)
    ax.set_title(f"{label}, {result.profile} profile", fontsize=10)
    plt.show()


def show_grad_norms(result: ExperimentResult, names: Sequence[str] = ("plain56", "resnet56")) -> None:
    """Gradient norms per convolution of ``names``: at initialisation (left) and after training (right)."""
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, when in zip(axes, ("init", "trained"), strict=True):
        plot_grad_norms(result, ax, names, when)
    plt.tight_layout()
    plt.show()


def _lesion_figure(result: ExperimentResult, title: str) -> None:
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, depth in zip(axes, (20, 56), strict=True):
        plot_lesions(result, ax, (f"resnet{depth}", f"plain{depth}"))
        ax.set_title(f"{depth} layers; {title}", fontsize=10)
    plt.tight_layout()
    plt.show()


def show_lesions(result: ExperimentResult, archived: ExperimentResult | None = None) -> None:
    """The lesion study of ``result`` (residual and plain nets, 20 and 56 layers), then that of the
    archived run when there is one and it has lesions."""
    _lesion_figure(result, f"this run, {result.profile} profile")
    if archived is not None and experiment.lesions_of(archived):
        _lesion_figure(archived, f"archived: {common.archive_label(archived)}")


# ----------------------------------------------------------------------------------------------------------
# 1-2. The degradation problem and residual learning


def twins_table(twins: Sequence[experiment.TwinNets]) -> str:
    """Plain and residual nets of each depth: blocks, parameters, same initial weights."""
    return common.markdown_table(
        ("depth", "blocks", "parameters (plain)", "parameters (residual)", "same initial weights"),
        [(t.depth, t.blocks, f"{t.plain_params:,}", f"{t.residual_params:,}", t.same_weights) for t in twins],
    )


def degradation_text(result: ExperimentResult) -> str:
    """The measured paragraph after the plain nets trained: does plain-56 fit worse than plain-20?"""
    err = result.metrics["final_train_error"]
    gap = err["plain56"] - err["plain20"]
    verdict = (f"worse, by {100 * gap:.1f} points." if err["plain56"] > err["plain20"]
               else "no worse here, so this run does not show the degradation.")  # fmt: skip
    return (
        f"**Measured.** At the end of training (mean over the last epoch) plain-20 is at "
        f"{100 * err['plain20']:.1f}% training error and plain-56 at {100 * err['plain56']:.1f}%: the deeper "
        f"plain net fits its training set {verdict}"
    )


def final_errors_table(result: ExperimentResult, names: Sequence[str]) -> str:
    """Each net's training error (last epoch), test error and training time."""
    m = result.metrics
    return common.markdown_table(
        ("net", "training error, last epoch", "test error", "training time"),
        [(n, pct(m["final_train_error"][n]), pct(m["final_test_error"][n]), f"{m['train_time_s'][n]:.0f} s")
         for n in names],
    )  # fmt: skip


def residual_text(result: ExperimentResult) -> str:
    """The measured paragraph on the shortcuts: how much of the plain nets' gap they close, and whether
    ResNet-56 ends below ResNet-20."""
    err = result.metrics["final_train_error"]
    gap = err["plain56"] - err["plain20"]
    closed = (err["plain56"] - err["resnet56"]) / gap if gap > 0 else float("nan")
    deeper_wins = err["resnet56"] < err["resnet20"]
    if gap <= 0:
        closing = ". "
    elif closed >= 1:
        closing = (f", below even plain-20 ({100 * err['plain20']:.1f}%): the shortcuts remove the whole "
                   f"{100 * gap:.1f}-point gap between plain-56 and plain-20. ")  # fmt: skip
    else:
        closing = (f", closing {100 * closed:.0f}% of the {100 * gap:.1f}-point gap between plain-56 and "
                   "plain-20. ")  # fmt: skip
    if deeper_wins:
        depth = "ResNet-56 also ends below ResNet-20 here, as in the paper's Figure 6 (middle)."
    else:
        depth = (
            f"ResNet-56 ({100 * err['resnet56']:.1f}%) does not yet beat ResNet-20 "
            f"({100 * err['resnet20']:.1f}%) in this {result.profile}-profile run: a deeper net has more to "
            "fit and needs more steps; the paper sees the deeper residual net end lower after its full "
            "schedule of 64,000 iterations (Figure 6, middle), which only the full profile runs."
        )
    return (
        f"**Measured.** With the same 56 layers, the shortcuts take the training error from "
        f"{100 * err['plain56']:.1f}% (plain) to {100 * err['resnet56']:.1f}% (residual){closing}{depth}"
    )


# ----------------------------------------------------------------------------------------------------------
# 3. Gradients


def grad_ratios(result: ExperimentResult,
                names: Sequence[str] = ("plain56", "resnet56")) -> dict[tuple[str, str], float]:  # fmt: skip
    """``{(net, "init" | "trained"): first conv's gradient norm / last conv's}``."""
    out = {}
    for name in names:
        for when in ("init", "trained"):
            g = experiment.grads_of(result, name, when)
            out[name, when] = g[0].norm / g[-1].norm
    return out


def gradient_table(result: ExperimentResult, names: Sequence[str] = ("plain56", "resnet56")) -> str:
    """Gradient norms of the first conv, the first block, the last conv, and first / last."""
    rows = []
    for name in names:
        for when in ("init", "trained"):
            g = experiment.grads_of(result, name, when)
            first_block = (g[1].norm + g[2].norm) / 2
            rows.append((name, when, f"{g[0].norm:.3g}", f"{first_block:.3g}", f"{g[-1].norm:.3g}",
                         f"{g[0].norm / g[-1].norm:.3g}"))  # fmt: skip
    return common.markdown_table(
        ("net", "when", "first conv", "first block (mean of 2)", "last conv", "first / last"), rows
    )


def gradient_text(result: ExperimentResult) -> str:
    """The measured paragraph on gradients: does plain-56's gradient vanish or grow towards the input?"""
    ratio = grad_ratios(result)
    p, r = ratio["plain56", "init"], ratio["resnet56", "init"]
    pt, rt = ratio["plain56", "trained"], ratio["resnet56", "trained"]
    if p > 1 and p > r:
        reading = (
            "So the plain net's gradient does not vanish on its way to the input, it *grows*: with batch "
            "normalisation the deep plain net starts with an exploding, badly scaled gradient rather than a "
            "vanishing one, and the shortcuts keep the layers' gradients within a much narrower range. This "
            "agrees with the paper's remark that the gradients of its BN plain nets are not small, and it "
            "contradicts the common summary that ResNets work because they cure vanishing gradients. "
        )
    else:
        reading = "In this run the plain net's first-layer gradient does not grow beyond the residual net's. "
    return (
        f"**Measured.** At initialisation the first convolution of plain-56 receives a gradient {p:.0f} "
        f"times as large as its last convolution's; in ResNet-56 the factor is {r:.1f}. {reading}"
        f"After training the factors are {pt:.2g} (plain-56) and {rt:.2g} (ResNet-56)."
    )


# ----------------------------------------------------------------------------------------------------------
# 4. Lesions


def lesion_summaries(result: ExperimentResult) -> dict[str, experiment.LesionSummary]:
    """:class:`~ecg_lib.experiments.resnet.LesionSummary` of every lesioned net of ``result``."""
    return {name: experiment.LesionSummary.of(les) for name, les in experiment.lesions_of(result).items()}


def lesion_table(result: ExperimentResult) -> str:
    """One row per lesioned net: intact error and how single deletions change it."""
    return common.markdown_table(
        ("net", "intact test error", "median change, one block deleted", "largest change (shape kept)",
         "largest change (downsampling block)", "median share of the way to chance"),
        [(name, pct(s.intact), f"{100 * s.median_change:+.1f} points", f"{100 * s.max_change:+.1f} points",
          f"{100 * s.downsampling_change:+.1f} points", f"{100 * s.toward_chance:.0f}%")
         for name, s in lesion_summaries(result).items()],
    )  # fmt: skip


def lesion_text(result: ExperimentResult) -> str:
    """The measured paragraph on the lesion study, residual against plain nets."""
    summary = lesion_summaries(result)
    r20, r56, p20, p56 = (summary[n] for n in ("resnet20", "resnet56", "plain20", "plain56"))
    worst = max(experiment.lesions_of(result)["resnet56"][1:], key=lambda b: b.error)
    near_chance = ""
    if p56.intact >= 0.8:
        near_chance = (f"Plain-56 is at {100 * p56.intact:.1f}% test error intact in this run, close to "
                       "chance already, so its deletions have little left to destroy; plain-20 shows the "
                       "collapse. ")  # fmt: skip
    if r56.downsampling_change >= r56.max_change:
        worst_text = "The residual nets' worst deletions are downsampling blocks, as Veit et al. found."
    else:
        worst_text = (f"Unlike in Veit et al.'s 110-layer net, ResNet-56's most damaging deletion here is "
                      f"not a downsampling block but {worst.name} ({100 * (worst.error - r56.intact):+.1f} "
                      "points).")  # fmt: skip
    return (
        f"**Measured.** Deleting one block changes the test error of ResNet-20 by a median of "
        f"{100 * r20.median_change:+.1f} points and that of ResNet-56 by {100 * r56.median_change:+.1f}; the "
        f"same deletion takes plain-20 a median {100 * p20.toward_chance:.0f}% of the way from its intact "
        f"error ({100 * p20.intact:.1f}%) to chance, and plain-56 {100 * p56.toward_chance:.0f}%. "
        f"{near_chance}{worst_text}"
    )


# ----------------------------------------------------------------------------------------------------------
# 5. The bottleneck block and Table 1


def bottleneck_table(blocks: Sequence[experiment.BlockCost]) -> str:
    """The three blocks of :func:`~ecg_lib.experiments.resnet.bottleneck_comparison`."""
    return common.markdown_table(
        ("block", "layers", "weights", "with BN", "MACs at 56×56"),
        [(b.label, b.layers, f"{b.weights:,}", f"{b.params:,}", f"{b.macs / 1e6:.1f} M") for b in blocks],
    )


def _projection_weights(channels: int = 256) -> int:
    # a projection shortcut between the bottleneck's two 256-channel ends: one 1x1 convolution
    return torch.nn.Conv2d(channels, channels, 1, bias=False).weight.numel()


def bottleneck_text(blocks: Sequence[experiment.BlockCost]) -> str:
    """The bottleneck against two 3×3 layers, and what a projection shortcut would add to it."""
    bott, b64, b256 = blocks
    projection = _projection_weights()
    return (
        f"The bottleneck has slightly fewer weights ({bott.weights:,}) than two 3×3 layers at 64 channels "
        f"({b64.weights:,}), although its input and output are four times as wide, and "
        f"{b256.weights / bott.weights:.1f}× fewer than two 3×3 layers at 256 channels ({b256.weights:,}). "
        f"Its shortcut joins the two 256-channel ends: a projection there (a 1×1 convolution, {projection:,} "
        f"weights) would make the block {(bott.weights + projection) / bott.weights:.2f}× as large, which is "
        "the paper's reason for identity shortcuts in the bottleneck nets."
    )


def table1_table(rows: Sequence[experiment.ImageNetRow], vgg: dict[int, int]) -> str:
    """Table 1's nets (and VGG-16/19) counted against the paper's multiply-adds."""
    body = [(f"ResNet-{r.depth}", r.block, f"{r.params / 1e6:.1f} M", f"{r.macs / 1e9:.2f} G",
             f"{r.paper_gmacs} G", f"{100 * r.rel_diff:+.1f}%", f"{r.macs_v15 / 1e9:.2f} G")
            for r in rows]  # fmt: skip
    for depth, macs in vgg.items():
        paper = papers.RESNET_VGG_GMACS[depth]
        body.append((f"VGG-{depth}", "—", "—", f"{macs / 1e9:.2f} G", f"{paper} G (Sec. 4.1)",
                     f"{100 * (macs / (paper * 1e9) - 1):+.1f}%", "—"))  # fmt: skip
    return common.markdown_table(
        ("net", "blocks", "parameters", "MACs (counted)", "paper (Table 1)", "difference",
         "MACs, stride on the 3×3"), body,
    )  # fmt: skip


def _by_depth(rows: Sequence[Any], depth: int) -> Any:
    return next(r for r in rows if r.depth == depth)


def table1_text(rows: Sequence[experiment.ImageNetRow], vgg: dict[int, int]) -> str:
    """ResNet-34 and ResNet-152 against VGG, as the paper compares them."""
    r34, r152 = _by_depth(rows, 34), _by_depth(rows, 152)
    return (
        f"Every count rounds to the paper's figure within 2%. ResNet-34 costs "
        f"{100 * r34.macs / vgg[19]:.1f}% of VGG-19 (the paper says 18%), and ResNet-152, at "
        f"{r152.macs / 1e9:.2f} G, costs less than VGG-16."
    )


# ----------------------------------------------------------------------------------------------------------
# 6. Table 6


def table6_table(t6: Sequence[experiment.CifarRow], result: ExperimentResult,
                 archived: ExperimentResult | None) -> str:  # fmt: skip
    """Table 6's depths: counted parameters, the paper's figures, this run's and the archive's test errors."""
    ours = result.metrics["final_test_error"]
    full = archived.metrics["final_test_error"] if archived is not None else {}
    rows = []
    for r in t6:
        mine, arch = ours.get(f"resnet{r.depth}"), full.get(f"resnet{r.depth}")
        rows.append((r.depth, f"{r.params:,}", f"{r.paper_params_m} M", f"{100 * r.paper_error:.2f}%",
                     pct(mine), pct(arch, 2)))  # fmt: skip
    return common.markdown_table(
        ("depth", "parameters (counted)", "paper", "test error, paper", f"this run ({result.profile})",
         "full profile (archived)"), rows,
    )  # fmt: skip


def depth_cost_line(t6: Sequence[experiment.CifarRow]) -> str:
    """How much larger ResNet-1202 is than ResNet-110."""
    a, b = _by_depth(t6, 1202), _by_depth(t6, 110)
    return (f"ResNet-1202 / ResNet-110: {a.blocks / b.blocks:.1f}x the blocks, "
            f"{a.params / b.params:.1f}x the parameters")


# ----------------------------------------------------------------------------------------------------------
# Paper vs. this book


_NAME = {"plain20": "plain-20", "plain56": "plain-56", "resnet20": "ResNet-20", "resnet56": "ResNet-56",
         "resnet110": "ResNet-110"}


def _train_gap(higher: str, lower: str) -> Callable[[ExperimentResult], Measurement]:
    """Final training errors (mean over the last epoch): ``higher`` above ``lower``."""

    def read(r: ExperimentResult) -> Measurement:
        e = r.metrics["final_train_error"]
        return error_gap(e[higher], e[lower], r.run_info["n_train"], labels=(_NAME[higher], _NAME[lower]))

    return read


def _test_error(net: str) -> Callable[[ExperimentResult], Measurement]:
    def read(r: ExperimentResult) -> Measurement:
        e, n = r.metrics["final_test_error"][net], r.run_info["n_test"]
        return Measurement(e, pct(e), se=binomial_se(e, n), basis=f"binomial SE, {n:,} images")

    return read


def _test_gap(higher: str, lower: str) -> Callable[[ExperimentResult], Measurement]:
    """Final test errors, ``higher`` above ``lower``: paired over the test images where the result keeps
    each net's per-image correctness (an unpaired 2-SE limit of about 1.1 points at 18% error cannot see
    Table 6's 0.54 points between ResNet-56 and ResNet-110), else from the two error rates."""

    def read(r: ExperimentResult) -> Measurement:
        e, bits = r.metrics["final_test_error"], r.metrics.get("correct", {})
        return paired_gap(e[higher], e[lower], r.run_info["n_test"], bits.get(higher), bits.get(lower),
                          labels=(_NAME[higher], _NAME[lower]))  # fmt: skip

    return read


def _ref_error(net: str) -> Callable[[ExperimentResult], Measurement]:
    def read(r: ExperimentResult) -> Measurement:
        e, pub = r.metrics["errors"][net], reference.published_errors(r.metrics)[net]
        text = (f"{pct(e['error'])} (on the original: {100 * pub['readme']:.2f}% in the publisher's README, "
                f"{100 * pub['best_epoch']:.2f}% at the best epoch)")  # fmt: skip
        return Measurement(e["error"], text,
                           se=binomial_se(e["error"], e["n"]), basis=f"binomial SE, {e['n']:,} images")

    return read


#: "Healthy norms" read two-sided: the first conv's gradient within a factor of ten of the last conv's,
#: neither vanishing (below 1/10) nor exploding (above 10).
GRADIENT_BAND = 10.0


def _plain56_gradient(r: ExperimentResult) -> Measurement:
    # Sec. 4.1 speaks of the plain nets as they train ("we also verify that the backward propagated
    # gradients exhibit healthy norms with BN"), so the claim reads the trained net's ratio; the ratio at
    # initialisation (an explosion, 1.8e3-3.1e3 in the archived runs) is shown beside it, not hidden.
    ratios = grad_ratios(r, ("plain56",))
    trained, init = ratios["plain56", "trained"], ratios["plain56", "init"]
    inside = math.log10(GRADIENT_BAND) - abs(math.log10(trained))  # positive inside the band
    band = f"1/{GRADIENT_BAND:g} to {GRADIENT_BAND:g}"
    return Measurement(inside, f"first / last = {trained:.3g} after training ({init:.3g} at initialisation)",
                       basis=f"one probe batch; inside {band} decides")  # fmt: skip


def _residual_lesion(r: ExperimentResult) -> Measurement:
    s = lesion_summaries(r)["resnet56"]
    n = r.run_info["n_test"]
    return Measurement(s.median_change, f"{100 * s.median_change:+.1f} points (ResNet-56)",
                       se=binomial_se(s.intact, n), basis=f"binomial SE, {n:,} images")  # fmt: skip


def _plain_vs_residual_lesion(r: ExperimentResult) -> Measurement:
    s = lesion_summaries(r)
    plain, res = s["plain56"].toward_chance, s["resnet56"].toward_chance
    if math.isnan(plain) or math.isnan(res):
        raise NotMeasured("an intact net is at chance: no way left to measure")
    return Measurement(plain - res, f"{100 * plain:.0f}% vs. {100 * res:.0f}% of the way to chance",
                       basis="one net each: the sign decides")  # fmt: skip


def _ref_single(r: ExperimentResult) -> Measurement:
    median, se = reference.single_summary(r)["median"], r.metrics["sampling_se"]
    return Measurement(median, f"{100 * median:+.1f} points", se=se,
                       basis=f"sampling SE, {r.metrics['n_test']:,} images")  # fmt: skip


_CITE, _VEIT = "he2016deep", "veit2016residual"
_COUNTS = "counts"  # the counted object the arithmetic claims read (see counted())
_SRC = "He et al. 2016"
_T6 = papers.RESNET_TABLE6
_BIN = "binomial SE of each error"
_ELSEWHERE = "trained elsewhere on the original data, evaluated here"
_REACH = out_of_reach(papers.CIFAR_SCHEDULES[_CITE])


def _count(key: str, where: str, statement: str, paper_value: str, method: str, read: Any, target: float,
           tolerance: float) -> Claim:  # fmt: skip
    return Claim(key, _CITE, where, statement, paper_value, f"{_SRC}, {where}", method, _COUNTS, read,
                 kind="exact", target=target, tolerance=tolerance)  # fmt: skip


def _macs(depth: int) -> Any:
    return lambda c: Measurement(c["table1"][depth].macs / 1e9, f"{c['table1'][depth].macs / 1e9:.2f} G")


#: The chapter's claims, in the order of its "Paper vs. this book" table.
LEDGER = Ledger(CHAPTER, "ResNet", "resnet-paper-vs-book", (
    Claim("degradation", _CITE, "Fig. 6 left", "A deeper plain net has a higher training error",
          "plain-56 above plain-20", f"{_SRC}, Fig. 1 and 6", "final training error, same schedule and seed",
          _DEPTH, _train_gap("plain56", "plain20"), noise=_BIN),
    Claim("shortcuts", _CITE, "Fig. 6 middle", "Shortcuts remove the degradation",
          "ResNet-56 below plain-56", f"{_SRC}, Fig. 6", "final training error, same initial weights",
          _DEPTH, _train_gap("plain56", "resnet56"), noise=_BIN),
    Claim("deeper_residual", _CITE, "Fig. 6 middle", "A deeper residual net has a lower training error",
          "ResNet-56 below ResNet-20", f"{_SRC}, Fig. 6", "final training error, same schedule",
          _DEPTH, _train_gap("resnet20", "resnet56"), noise=_BIN),
    Claim("deeper_110", _CITE, "Table 6", "ResNet-110 reaches a lower test error than ResNet-56",
          f"{100 * _T6[110][1]:.2f}% vs. {100 * _T6[56][1]:.2f}%", f"{_SRC}, Table 6",
          "final test error, same recipe and seed, paired over the test images", "depth110",
          _test_gap("resnet56", "resnet110"), noise="paired SE over the test images",
          paper_effect=_T6[56][1] - _T6[110][1]),
    Claim("table6_20", _CITE, "Table 6", f"ResNet-20 reaches {100 * _T6[20][1]:.2f}% CIFAR-10 test error",
          f"{100 * _T6[20][1]:.2f}%", f"{_SRC}, Table 6", "final test error of this chapter's training",
          _DEPTH, _test_error("resnet20"), kind="value", target=_T6[20][1], tolerance=0.01,
          noise=_BIN + ", plus 1 point", reach=_REACH),
    Claim("table6_56", _CITE, "Table 6", f"ResNet-56 reaches {100 * _T6[56][1]:.2f}% CIFAR-10 test error",
          f"{100 * _T6[56][1]:.2f}%", f"{_SRC}, Table 6", "final test error of this chapter's training",
          _DEPTH, _test_error("resnet56"), kind="value", target=_T6[56][1], tolerance=0.01,
          noise=_BIN + ", plus 1 point", reach=_REACH),
    Claim("gradients", _CITE, "Sec. 4.1",
          "With BN, a deep plain net's gradients neither vanish nor explode as it trains",
          '"healthy norms"', f"{_SRC}, Sec. 4.1",
          "first conv's gradient over the last conv's after training, plain-56",
          _DEPTH, _plain56_gradient,
          noise=f"one probe batch: the ratio within a factor of {GRADIENT_BAND:g}"),
    Claim("lesion_residual", _VEIT, "Fig. 3", "Deleting one block barely changes a residual net's error",
          "small (ResNet-110)", "Veit et al. 2016, Fig. 3", "median change over single deletions; "
          "small: within 2 points", _DEPTH, _residual_lesion, kind="value", target=0.0, tolerance=0.02,
          noise="binomial SE of the intact error, plus 2 points"),
    Claim("lesion_plain", _VEIT, "Fig. 3",
          "Deleting one block hurts a plain net far more than a residual one",
          "plain (VGG) near chance, ResNet small", "Veit et al. 2016, Fig. 3",
          "median share of the way to chance, plain-56 vs. ResNet-56", _DEPTH, _plain_vs_residual_lesion,
          kind="sign", noise="one net each per seed: the sign in every seed"),
    Claim("reference_20", _CITE, "Table 6",
          f"A trained ResNet-20 tests at {100 * _T6[20][1]:.2f}% (reference weights, this data)",
          f"{100 * _T6[20][1]:.2f}%", f"{_SRC}, Table 6", _ELSEWHERE,
          "reference_depth", _ref_error("resnet20"), kind="value", target=_T6[20][1], tolerance=0.01,
          noise=_BIN + ", plus 1 point", reach=out_of_reach(None)),
    Claim("reference_56", _CITE, "Table 6",
          f"A trained ResNet-56 tests at {100 * _T6[56][1]:.2f}% (reference weights, this data)",
          f"{100 * _T6[56][1]:.2f}%", f"{_SRC}, Table 6", _ELSEWHERE,
          "reference_depth", _ref_error("resnet56"), kind="value", target=_T6[56][1], tolerance=0.01,
          noise=_BIN + ", plus 1 point", reach=out_of_reach(None)),
    Claim("reference_lesion", _VEIT, "Fig. 3",
          "Deleting one block of a trained ResNet-56 barely changes its error",
          "small (ResNet-110)", "Veit et al. 2016, Fig. 3", "median change over single ordinary deletions; "
          "small: within 2 points", "reference_lesions", _ref_single, kind="value", target=0.0,
          tolerance=0.02, noise="sampling SE of the intact error, plus 2 points"),
    _count("bottleneck", "Sec. 4.1", "A bottleneck block costs about what two 3×3 layers at 64 channels cost",
           "similar time complexity", "weights of the two blocks; similar: within 10%",
           lambda c: Measurement(c["blocks"][0].weights / c["blocks"][1].weights,
                                 f"{c['blocks'][0].weights:,} vs. {c['blocks'][1].weights:,}"), 1.0, 0.10),
    _count("macs50", "Table 1", f"ResNet-50 needs {papers.RESNET_TABLE1_GMACS[50]} billion multiply-adds",
           f"{papers.RESNET_TABLE1_GMACS[50]} G", "MACs counted at 224×224 (the paper rounds to 0.1 G)",
           _macs(50), papers.RESNET_TABLE1_GMACS[50], 0.02),
    _count("macs152", "Table 1", f"ResNet-152 needs {papers.RESNET_TABLE1_GMACS[152]} billion multiply-adds",
           f"{papers.RESNET_TABLE1_GMACS[152]} G", "MACs counted at 224×224 (the paper rounds to 0.1 G)",
           _macs(152), papers.RESNET_TABLE1_GMACS[152], 0.02),
    _count("params110", "Table 6", f"ResNet-110 has {_T6[110][0]} million parameters", f"{_T6[110][0]} M",
           "counted (the paper rounds to 0.1 M)",
           lambda c: Measurement(c["table6"][110].params, f"{c['table6'][110].params:,}"),
           _T6[110][0] * 1e6, 0.03),
))  # fmt: skip


def _counts(blocks: Sequence[experiment.BlockCost], table1: Sequence[experiment.ImageNetRow],
            t6: Sequence[experiment.CifarRow]) -> dict[str, Any]:  # fmt: skip
    return {"blocks": blocks, "table1": {r.depth: r for r in table1}, "table6": {r.depth: r for r in t6}}


def counted() -> dict[str, Any]:
    """The objects the chapter's arithmetic claims read (the scoreboard computes them without the page)."""
    return {_COUNTS: _counts(experiment.bottleneck_comparison(), experiment.table1_rows(),
                             experiment.table6_rows())}  # fmt: skip


def paper_vs_book(
    result: ExperimentResult,
    blocks: Sequence[experiment.BlockCost],
    table1: Sequence[experiment.ImageNetRow],
    t6: Sequence[experiment.CifarRow],
    depth_ref: ExperimentResult | None = None,
    lesions_ref: ExperimentResult | None = None,
) -> str:
    """The closing table from :data:`LEDGER`, below a note on the data (its source and, with
    ``depth_ref``, the measured size of the lossy-copy effect): every claim in this run and in the
    archived standard and full runs, each with its verdict. Without the trained references their rows
    say they were not run."""
    note = reference.data_note(depth_ref, result.run_info.get("data_quality")) + "\n\n"
    # ResNet-110 (depth110) is too long for a chapter's live run: `reproduce resnet` trains and archives it
    live = {_DEPTH: result, "depth110": None, "reference_depth": depth_ref, "reference_lesions": lesions_ref,
            _COUNTS: _counts(blocks, table1, t6)}  # fmt: skip
    return note + LEDGER.table(live, result.profile)


def archive_note() -> str:
    """Whether an archived run of the depth experiment exists to be drawn beside this one (generated)."""
    found = find_archives(CHAPTER, _DEPTH)
    if not found:
        return ("No archived standard- or full-profile run of these nets exists yet, so the figures below "
                "show this run alone.")  # fmt: skip
    return (f"The archived {' and '.join(found)}-profile run{'s' if len(found) > 1 else ''} "
            f"{'are' if len(found) > 1 else 'is'} drawn beside this run's curves below.")


def profile_text(result: ExperimentResult) -> str:
    """What this run shows of Figure 6, generated from its verdicts (one sentence per claim)."""
    out = []
    for key in ("degradation", "shortcuts", "deeper_residual"):
        claim = LEDGER.claim(key)
        out.append(sentence(claim, measure(claim, result), f"{result.profile}"))
    return " ".join(out)


# ----------------------------------------------------------------------------------------------------------
# Teaching sections: batch normalisation, shortcut options (Table 3), the identity term of the gradient,
# and why the residual function has two layers


def batchnorm_table(probes: Sequence[experiment.SignalProbe], every: int = 4) -> str:
    """Spread of every ``every``-th block's output, per variant, and the gradient norms of the first
    and last convolutions."""
    n = len(probes[0].block_std)
    picks = sorted({*range(0, n, every), n - 1})
    header = ["variant", *(f"block {i + 1}" for i in picks), "‖∂L/∂W‖ first conv", "last conv", "loss"]
    rows = [
        [p.label, *(f"{p.block_std[i]:.3g}" for i in picks), f"{p.grads[0].norm:.2g}",
         f"{p.grads[-1].norm:.2g}", f"{p.loss:.3f}"]
        for p in probes
    ]  # fmt: skip
    return common.markdown_table(header, rows)


def batchnorm_text(probes: Sequence[experiment.SignalProbe]) -> str:
    """What the probe shows, from its numbers."""
    bn, he, default = probes
    n = len(bn.block_std)
    lo, hi = min(bn.block_std), max(bn.block_std)
    grad_ratio = bn.grads[0].norm / bn.grads[-1].norm
    return (
        f"With batch normalisation every one of the {n} blocks outputs a signal of the same spread "
        f"(standard deviation {lo:.2f} to {hi:.2f}), as the normalisation guarantees. Without it the same "
        f"weights let the signal shrink from {he.block_std[0]:.3g} after the first block to "
        f"{he.block_std[-1]:.2g} after the last, and from PyTorch's default initialisation to "
        f"{default.block_std[-1]:.1e}. What reaches the classifier is then almost nothing: the losses are "
        f"{he.loss:.3f} and {default.loss:.3f}, a uniform guess's ln 10 = 2.303. Note what BN does *not* "
        f"do: at initialisation the gradient of the first "
        f"convolution of the BN net is {grad_ratio:,.0f} times that of the last. BN fixes the forward "
        "signal, not every backward one."
    )


def shortcut_options_table(options: Sequence[experiment.ShortcutOption]) -> str:
    """Table 3's three options at 34 layers: counted shortcuts and parameters, and the paper's errors."""
    base = options[0].params
    rows = [
        [o.option, o.identities, o.zero_pad, o.projections, f"{o.params:,}", f"+{o.params - base:,}",
         pct(o.paper_top1, 2), pct(o.paper_top5, 2)]
        for o in options
    ]  # fmt: skip
    header = ["option", "identity", "zero-pad", "projection", "parameters", "vs. A",
              "top-1 (Table 3)", "top-5 (Table 3)"]  # fmt: skip
    return common.markdown_table(header, rows)


def shortcut_options_text(options: Sequence[experiment.ShortcutOption]) -> str:
    a, b, c = options
    extra = c.projections - b.projections
    agrees = "the paper's" if extra == papers.RESNET_TABLE3_EXTRA_PROJECTIONS else "unlike the paper's"
    return (
        f"B adds {b.params - a.params:,} parameters to A ({100 * (b.params / a.params - 1):.1f}%), all in "
        f"its {b.projections} projections; C adds {c.params - b.params:,} more "
        f"({100 * (c.params / b.params - 1):.1f}%) in {extra} further projections ({agrees} "
        f"\"many ({papers.RESNET_TABLE3_EXTRA_PROJECTIONS})\"). Table 3's gains are "
        f"{100 * (a.paper_top1 - b.paper_top1):.2f} points of top-1 error from A to B and "
        f"{100 * (b.paper_top1 - c.paper_top1):.2f} from B to C: small against the "
        f"{100 * (papers.RESNET_TABLE3['plain-34'][0] - a.paper_top1):.2f} points between plain-34 and A. "
        "The shortcuts, not their projections, remove the degradation."
    )


def shortcut_run_text(run: experiment.ShortcutRun) -> str:
    diff = run.error_b - run.error_a
    noise = 2 * run.standard_error
    verdict = (
        f"within the noise of {run.n_test:,} test images (two standard errors: ±{100 * noise:.1f} points)"
        if abs(diff) <= noise
        else f"larger than two standard errors (±{100 * noise:.1f} points) on {run.n_test:,} test images"
    )
    return (
        f"{run.net} with option A: {pct(run.error_a)} test error; with option B "
        f"({run.params_b - run.params_a:,} more parameters, trained in {run.seconds_b:.0f} s): "
        f"{pct(run.error_b)}. The difference, {100 * diff:+.1f} points, is {verdict}."
    )


def identity_table(rows: dict[str, Sequence[experiment.IdentityGrad]]) -> str:
    """One column group per network/composition: cos(g_l, g_L) and ||g_l|| / ||g_L|| per block."""
    labels = list(rows)
    blocks = [r.block for r in rows[labels[0]]]
    header = ["block", *(f"{label}: cos" for label in labels), *(f"{label}: ratio" for label in labels)]
    body = []
    for i, name in enumerate(blocks):
        body.append([name, *(f"{rows[k][i].cosine:.2f}" for k in labels),
                     *(f"{rows[k][i].ratio:.2f}" for k in labels)])  # fmt: skip
    return common.markdown_table(header, body)


def identity_text(rows: dict[str, Sequence[experiment.IdentityGrad]]) -> str:
    plain, built, ident = (rows[k] for k in rows)
    top = max(abs(r.cosine) for r in plain)
    return (
        f"In the plain net the gradient at a block's input is unrelated to the gradient at the top of the "
        f"stage (|cos| at most {top:.2f}), and its size changes by a factor of {plain[0].ratio:.1f} over "
        f"{len(plain)} blocks. In the residual net, composed as pure identities, the cosine is "
        f"{ident[-1].cosine:.2f} one block below the top and still {ident[0].cosine:.2f} {len(ident)} blocks "
        f"below: Eq. 5's identity term carries ∂E/∂x_L down unchanged, and what the residual functions add "
        f"on top grows block by block. As built (ReLU after the addition) the cosines are "
        f"{built[-1].cosine:.2f} to {built[0].cosine:.2f}: the ReLU on the path removes part of the "
        "identity term, which is why He et al. (2016b) move it into the residual branch."
    )


def _share(value: float) -> str:
    """A variance share in percent; below 1e-12 it is rounding error, shown as 0."""
    return "0% (rounding)" if value < 1e-12 else f"{100 * value:.3g}%"


def linearity_table(rows: Sequence[experiment.BranchLinearity]) -> str:
    body = [
        [f"{r.layers} layer{'s' if r.layers > 1 else ''}", _share(r.branch_unexplained),
         _share(r.sum_unexplained),
         "—" if r.plain_difference is None else f"{r.plain_difference:.1e}"]
        for r in rows
    ]  # fmt: skip
    header = ["residual branch", "F(x) not affine", "x + F(x) not affine",
              "block vs. one plain layer (max diff)"]  # fmt: skip
    return common.markdown_table(header, body)


def linearity_text(rows: Sequence[experiment.BranchLinearity]) -> str:
    one, two = rows
    return (
        f"With one layer, the best affine map of x leaves {_share(one.sum_unexplained)} of x + F(x): the "
        f"block is ReLU(W′x + b), exactly one plain convolution with the weights W + I (largest difference "
        f"{one.plain_difference:.0e}, rounding). The shortcut only reparametrises the layer. With two layers "
        f"{100 * two.branch_unexplained:.0f}% of F(x) is beyond any affine map, and the block computes "
        "something no single layer can."
    )
