"""The ResNet chapter's trained sections (sections 1-4: ``notebooks/resnet.md``, which trains the nets and
shows the reader's own run, and ``notebooks/resnet_gradients.md``, which reads the archived run): the training
curves of plain and residual nets (Fig. 6), their gradients and the lesion study of their blocks, as
figures, tables and measured paragraphs read from a :class:`~ecg_lib.experiments.resnet.DepthRun`'s result,
live or archived. Re-exported by :mod:`ecg_lib.chapters.resnet`, whose claims read some of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ecg_lib.chapters import common, plots
from ecg_lib.chapters.common import pct
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments import resnet as experiment
from ecg_lib.results import find_archives

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CHAPTER = "resnet"

__all__ = [
    "archived_grad_norms_figure",
    "archived_lesion_figure",
    "degradation_text",
    "final_errors_table",
    "grad_norms_figure",
    "grad_ratios",
    "gradient_table",
    "gradient_text",
    "lesion_figure",
    "lesion_summaries",
    "lesion_table",
    "lesion_text",
    "plot_grad_norms",
    "plot_lesions",
    "plot_plain",
    "plot_training_error",
    "residual_text",
    "twins_table",
]


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
        style = _style(name, "kind")
        plots.plot_single_lesions(ax, lesions[name], color=style["color"], label=style["label"],
                                  linestyle=style["linestyle"])  # fmt: skip
    ax.axhline(90, color="0.6", linewidth=0.8)
    ax.text(1, 91.5, "chance (90%)", fontsize=8, color="0.4")
    ax.set_xlabel("deleted block (ringed: a downsampling block; dotted: the intact net)")
    ax.set_ylabel("test error (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    return ax


def grad_norms_figure(result: ExperimentResult, names: Sequence[str] = ("plain56", "resnet56"),
                      title: str = "") -> Figure:  # fmt: skip
    """Gradient norms per convolution of ``names``: at initialisation (left) and after training (right),
    titled ``title``; built without pyplot: the notebook displays the returned Figure once."""
    fig, axes = common.new_figure(height=3.8, ncols=2, sharey=True)
    for ax, when in zip(axes, ("init", "trained"), strict=True):
        plot_grad_norms(result, ax, names, when)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_plain(result: ExperimentResult, ax: Axes) -> Axes:
    """:func:`plot_training_error` of the plain nets of ``result`` only (section 1's degradation)."""
    return plot_training_error(result, ax, [n for n in result.histories if n.startswith("plain")])


def lesion_figure(result: ExperimentResult, title: str) -> Figure:
    """The lesion study of ``result``: one panel per depth (20, 56), residual and plain net in each,
    titled ``title``. Built without pyplot: the notebook displays the returned Figure once."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(common.FIGURE_WIDTH, 3.8), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, depth in zip(axes, (20, 56), strict=True):
        plot_lesions(result, ax, (f"resnet{depth}", f"plain{depth}"))
        ax.set_xlabel("deleted block")  # two panels side by side: the caption says what rings and dots mean
        ax.set_title(f"{depth} layers", fontsize=10)
    fig.suptitle(title, fontsize=10)
    return fig


def _quoted_depth_run(root: str | None) -> ExperimentResult | None:
    found = find_archives(CHAPTER, "depth", root)
    return found.get("full", found.get("standard"))


def archived_grad_norms_figure(names: Sequence[str] = ("plain56", "resnet56"),
                               root: str | None = None) -> Figure | None:  # fmt: skip
    """:func:`grad_norms_figure` of the archived depth run (the full profile's, else the standard one's);
    None when there is none, or it holds no gradient norms of ``names``."""
    archived = _quoted_depth_run(root)
    if archived is None:
        return None
    try:
        return grad_norms_figure(archived, names, f"archived: {common.archive_label(archived)}")
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):  # an archive of an older version
        return None


def archived_lesion_figure(root: str | None = None) -> Figure | None:
    """:func:`lesion_figure` of the archived depth run (the full profile's, else the standard one's);
    None when there is none, or it holds no lesions."""
    archived = _quoted_depth_run(root)
    if archived is None or not experiment.lesions_of(archived):
        return None
    return lesion_figure(archived, f"archived: {common.archive_label(archived)}")


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
        f"{common.small_run_lead(result)} "
        f"At the end of training (mean over the last epoch) plain-20 is at "
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
        f"{common.small_run_lead(result)} "
        f"With the same 56 layers, the shortcuts take the training error from "
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


def gradient_text(result: ExperimentResult, archived_at: str = "above") -> str:
    """The measured paragraph on gradients: does plain-56's gradient vanish or grow towards the input?
    ``archived_at``: where the page shows the archived run (:func:`common.small_run_lead`)."""
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
        f"{common.small_run_lead(result, archived_at)} "
        f"At initialisation the first convolution of plain-56 receives a gradient {p:.0f} "
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


def lesion_text(result: ExperimentResult, archived_at: str = "above") -> str:
    """The measured paragraph on the lesion study, residual against plain nets. ``archived_at``: where
    the page shows the archived run (:func:`common.small_run_lead`)."""
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
        f"{common.small_run_lead(result, archived_at)} "
        f"Deleting one block changes the test error of ResNet-20 by a median of "
        f"{100 * r20.median_change:+.1f} points and that of ResNet-56 by {100 * r56.median_change:+.1f}; the "
        f"same deletion takes plain-20 a median {100 * p20.toward_chance:.0f}% of the way from its intact "
        f"error ({100 * p20.intact:.1f}%) to chance, and plain-56 {100 * p56.toward_chance:.0f}%. "
        f"{near_chance}{worst_text}"
    )


