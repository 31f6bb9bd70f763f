"""What the Network-in-Network chapter (``notebooks/nin.md``) shows: its tables, figures, the measured
paragraph on GAP against an FC head, and the closing page's five points and data note (its "Paper vs. this
book" table is :func:`ecg_lib.chapters.summary.verdict_table`).

The numbers come from :mod:`ecg_lib.experiments.nin` (the counted tables, the trained heads' result, live
or archived, and the trained GAP network's class maps); the paper's figures from
:data:`ecg_lib.papers.NIN_CIFAR10`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from torch import Tensor

from ecg_lib import papers
from ecg_lib.chapters import common, plots, summary
from ecg_lib.chapters.common import join_words
from ecg_lib.chapters.reach import out_of_reach
from ecg_lib.claim_ledgers import Evidence
from ecg_lib.claims import Claim, Ledger, Measurement, NotMeasured, binomial_se, paired_gap
from ecg_lib.counting import Summary
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments import nin as experiment

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "CHAPTER", "LEDGER", "counted", "data_note", "describe_settings", "heads_table", "heads_text",
    "plot_class_maps", "plot_cross_channel", "plot_heads", "plot_loss", "run_lines", "summary_points",
    "summary_table",
]  # fmt: skip

CHAPTER = "nin"
PAPER = papers.NIN_CIFAR10


def summary_table(summary: Summary) -> str:
    """The CIFAR-10 NIN layer by layer: convolutions and pooling, output shape, parameters, MACs."""
    rows = [[r.name, r.kind, " × ".join(map(str, r.output_shape)), f"{r.params:,}", f"{r.macs / 1e6:.1f} M"]
            for r in summary.rows if r.kind in ("Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d")]
    table = common.markdown_table(["layer", "kind", "output (C × H × W)", "parameters", "MACs"], rows)
    return table + f"\n| **total** | | 10 | **{summary.params:,}** | **{summary.macs / 1e6:.1f} M** |"


def heads_table(heads: Sequence[experiment.HeadFacts]) -> str:
    """Parameters of each head and its output at 32x32 and 64x64 inputs (or why it rejects them)."""
    rows = []
    for h in heads:
        shape = {side: (" × ".join(map(str, v)) if isinstance(v, tuple) else v)
                 for side, v in h.output_shape.items()}  # fmt: skip
        rows.append([h.name, f"{h.params:,}", shape[32], shape[64]])
    header = ["head on the last mlpconv block", "parameters", "output at 32×32", "output at 64×64"]
    return common.markdown_table(header, rows)


def describe_settings(s: experiment.Settings) -> str:
    """One line with what the training cell runs in this profile."""
    t = s.train
    images = (f"{'all' if s.n_train_per_class is None else s.n_train_per_class} training / "
              f"{'all' if s.n_test_per_class is None else s.n_test_per_class} test images per class")
    milestones = ", ".join(f"{m:g}" for m in t.milestones)
    schedule = t.schedule + (f" (milestones {milestones})" if t.milestones else "")
    dropout = "the authors' dropout" if s.dropout is None else f"dropout {s.dropout:g}"
    extra = "; plus the GAP network with augmentation" if s.augmented_run else ""
    return (f"width {s.width:g}, {images}; {t.epochs} epochs of batch {t.batch_size}, {t.optimizer} at lr "
            f"{t.lr:g}, weight decay {t.weight_decay:g}, {schedule} schedule; {dropout}, augment "
            f"{t.augment}; heads {', '.join(s.heads)}{extra}")  # fmt: skip


def run_lines(result: ExperimentResult) -> str:
    """One line per trained network: parameters, MACs, test and training error, seconds."""
    lines = []
    for head in result.histories:
        r = result.metrics[head]
        lines.append(
            f"{head:>3} head: {r['params']:>7,} parameters ({r['head_params']:,} in the head), "
            f"{r['macs'] / 1e6:.1f} M MACs/image, test error {100 * r['test_error']:.1f}%, "
            f"train error (last epoch) {100 * r['train_error']:.1f}%, {r['seconds']:.0f} s"
        )
    return "\n".join(lines)


def plot_heads(result: ExperimentResult, ax: Axes) -> None:
    """Test error per epoch of each head, with the paper's two figures as dotted lines."""
    common.plot_histories(result, ax)
    ax.axhline(100 * PAPER["nin"], color="C0", ls=":", lw=1, label=f"paper, GAP ({100 * PAPER['nin']:.2f}%)")
    ax.axhline(100 * PAPER["fc"], color="C1", ls=":", lw=1, label=f"paper, FC ({100 * PAPER['fc']:.2f}%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=9)


def plot_loss(result: ExperimentResult) -> Figure:
    """The training loss of each head (moving average over half an epoch) against epochs."""
    return plots.smoothed_loss_figure(result.histories, {h: f"{h} head" for h in result.histories},
                                      result.profile)  # fmt: skip


def _plural(k: int, one: str, many: str) -> str:
    return f"{k:,} {one if k == 1 else many}"


def _silent_text(classes: Sequence[str], silent: Tensor, predicted: Tensor, fc_ahead: bool,
                 fc_inputs: int) -> str:  # fmt: skip
    """The GAP network's switched-off class maps, and the classes it never predicts, each list under its
    own heading: the maps off on more than half of the images; of those, the ones never predicted; then
    any class never predicted although its map is on (the largest map decides, not a switched-off one)."""
    n = len(classes)
    off = [c for c in range(n) if silent[c] > 0.5]
    never = [c for c in range(n) if predicted[c] == 0]
    off_never = [classes[c] for c in never if c in off]
    on_never = [classes[c] for c in never if c not in off]
    text = ""
    if off:
        names = join_words([classes[c] for c in off])
        # "one reason" only where there is something to explain: FC ahead of GAP
        lead = "The GAP network's class maps show one reason: " if fc_ahead else "In the GAP network, "
        subject = f"the map of {names} is" if len(off) == 1 else f"the maps of {names} are"
        text += (f"{lead}{subject} zero everywhere on more than half of the test images. The ReLU in front "
                 f"of the pooling switched {'it' if len(off) == 1 else 'them'} off, and a class whose map "
                 "is off scores exactly 0. ")  # fmt: skip
        if off_never and len(off_never) == len(off):
            text += f"The network never predicts {join_words(off_never, 'or')}. "
        elif off_never:
            text += f"Of these, the network never predicts {join_words(off_never, 'or')}. "
    if on_never:
        whose = "whose map is" if len(on_never) == 1 else "whose maps are"
        start = "Nor does it predict" if off_never else "The GAP network never predicts"
        text += (f"{start} {join_words(on_never, 'or')}, {whose} on for at least half of the test images but "
                 "never the highest. ")  # fmt: skip
    if off:  # last, so that "it" above is still the GAP network
        text += (f"The FC head reads all {fc_inputs:,} values of the {n} maps and does not depend on any "
                 "one map being on. ")  # fmt: skip
    return text


def heads_text(result: ExperimentResult, classes: Sequence[str], n_test: int, silent: Tensor,
               predicted: Tensor) -> str:  # fmt: skip
    """The measured paragraph: GAP against FC in this run and in the paper, the GAP network's silent
    class maps (``silent``, ``predicted``: from :func:`~ecg_lib.experiments.nin.silent_class_maps` on the
    runs' ``n_test`` test images), and how far the run is from the paper's setting."""
    m, s = result.metrics, result.metrics["settings"]
    gap, fc = m["gap"]["test_error"], m["fc"]["test_error"]
    n_per_class = s["n_train_per_class"] or 5000
    se = 100 * (gap * (1 - gap) / n_test) ** 0.5  # binomial standard error of an error rate
    paper_gap = f"{100 * (PAPER['fc'] - PAPER['nin']):.2f}"
    diff = f"{abs(100 * (fc - gap)):.1f}"
    text = (
        f"{common.small_run_lead(result)} "
        f"With the same budget, the GAP head ended at {100 * gap:.1f}% test error "
        f"and the FC head at {100 * fc:.1f}%. "
    )
    if diff == "0.0":  # a difference that rounds away is no order at all
        text += f"The two are level; in the paper the FC head's error is {paper_gap} points higher. "
    elif fc > gap:
        text += (f"The FC head's error is {diff} points higher, as in the paper, where it is "
                 f"{paper_gap} points higher. ")  # fmt: skip
    else:
        text += (f"The FC head's error is {diff} points lower: in this short run the order is the reverse of "
                 f"the paper's, where it is {paper_gap} points higher. ")  # fmt: skip
    # an FC layer with one output per class has one weight per class for each value it reads, plus biases
    fc_inputs = (m["fc"]["head_params"] - len(classes)) // len(classes)
    text += _silent_text(classes, silent, predicted, fc < gap, fc_inputs)
    off = abs(100 * (gap - PAPER["nin"]))
    text += (
        f"The paper's GAP network reached {100 * PAPER['nin']:.2f}%; this one is "
        + (f"{off:.1f} points {'above' if gap >= PAPER['nin'] else 'below'} it. " if f"{off:.1f}" != "0.0"
           else "level with it. ")
        + f"This run trained for {_plural(s['train']['epochs'], 'epoch', 'epochs')}, on "
        f"{_plural(n_per_class, 'image', 'images')} per class, at width {s['width']:g}; the paper trained "
        "the full network on all 5,000 images per class to convergence, which is what the full profile does. "
        f"On {n_test:,} test images, sampling alone gives a test error a standard error of {se:.1f} points."
    )
    return text


def plot_cross_channel(image_u8: Tensor, label: str, mix: dict[str, Any], out_map: int) -> Figure:
    """The input image, the three input maps with the largest weights in output map ``out_map`` of a 1x1
    layer (``mix``: :func:`~ecg_lib.experiments.nin.cross_channel_mix`), and the output map. Built
    without pyplot, the text column's width: the notebook displays the returned Figure once."""
    from matplotlib.figure import Figure

    top = mix["weights"].abs().argsort(descending=True)[:3].tolist()
    fig = Figure(figsize=(common.FIGURE_WIDTH, 2.1), layout="constrained")
    axes = fig.subplots(1, 5)
    axes[0].imshow(image_u8[0].permute(1, 2, 0).numpy())
    axes[0].set_title(f"input image\n({label})", fontsize=9)
    for ax, c in zip(axes[1:4], top, strict=True):
        ax.imshow(mix["inputs"][c].numpy(), cmap="gray")
        ax.set_title(f"input map {c}\nweight {mix['weights'][c]:+.3f}", fontsize=9)
    axes[4].imshow(mix["output"].numpy(), cmap="RdBu_r")
    axes[4].set_title(f"output map {out_map}\n(sum over all {mix['inputs'].shape[0]} maps)", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def plot_class_maps(images_u8: Tensor, labels: Sequence[int], classes: Sequence[str], maps: Tensor,
                    scores: Tensor) -> Figure:  # fmt: skip
    """Per image (a row): the image with its true and predicted class, then its ten class maps (``maps``,
    ``scores``: :func:`~ecg_lib.experiments.nin.class_maps`), each with its mean below it (the predicted
    class's in bold); the class names head the columns once, and a colour bar gives the maps' scale.
    Sized for the text column (6.8 inches) with 9-point text; built without pyplot, so the notebook
    displays the returned Figure once."""
    from matplotlib.figure import Figure

    n = len(labels)
    fig = Figure(figsize=(common.FIGURE_WIDTH, 0.85 * n + 1.0), layout="constrained")
    axes = fig.subplots(n, 11, squeeze=False)
    vmax = float(maps.abs().max())
    image = None
    for row in range(n):
        ax = axes[row, 0]
        ax.imshow(images_u8[row].permute(1, 2, 0).numpy())
        pred = int(scores[row].argmax())
        ax.set_ylabel(f"{classes[labels[row]]}\n→ {classes[pred]}", fontsize=9, rotation=0, ha="right",
                      va="center")  # fmt: skip
        for c in range(10):
            ax = axes[row, c + 1]
            image = ax.imshow(maps[row, c].numpy(), cmap="magma", vmin=0, vmax=vmax)
            ax.set_xlabel(f"{scores[row, c]:.2f}", fontsize=9, labelpad=1,
                          fontweight="bold" if c == pred else "normal")  # fmt: skip
            if row == 0:
                ax.set_title(classes[c], fontsize=9, rotation=45, ha="left", va="bottom")
    axes[0, 0].set_title("image", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if image is not None:
        bar = fig.colorbar(image, ax=axes[:, 1:], shrink=0.9, pad=0.02)
        bar.set_label("class-map value", fontsize=9)
        bar.ax.tick_params(labelsize=9)
    return fig


def _error(label: str) -> Any:
    def read(r: ExperimentResult) -> Measurement:
        if label == "gap_augmented" and not r.metrics["settings"]["augmented_run"]:
            raise NotMeasured(f"not trained in the {r.profile} profile")
        e, n, w = r.metrics[label]["test_error"], r.run_info["n_test"], r.metrics["settings"]["width"]
        return Measurement(e, f"{100 * e:.1f}% (width {w:g})", se=binomial_se(e, n),
                           basis=f"binomial SE, {n:,} images")  # fmt: skip

    return read


def _gap_vs_fc(r: ExperimentResult) -> Measurement:
    fc, gap = r.metrics["fc"], r.metrics["gap"]
    return paired_gap(fc["test_error"], gap["test_error"], r.run_info["n_test"], fc.get("correct"),
                      gap.get("correct"), labels=("FC", "GAP"))  # fmt: skip


_CITE = "lin2014network"
_COUNTS = "counts"  # the counted object the arithmetic claims read (see counted())
_NOISE = "binomial SE of each test error"
_REACH = out_of_reach(papers.CIFAR_SCHEDULES[_CITE])

#: The chapter's claims, in the order of its "Paper vs. this book" table.
LEDGER = Ledger(CHAPTER, "Network in Network", "nin-paper-vs-book", (
    Claim("mlpconv", _CITE, "Sec. 3.1", "An mlpconv layer is a k×k convolution followed by 1×1 convolutions",
          '"cccp" layers', "Lin et al. 2014, Sec. 3.1", "largest difference of the two on random input",
          _COUNTS, lambda c: Measurement(c["check"].max_abs_diff, f"equal to {c['check'].max_abs_diff:.0e}"),
          kind="exact", target=0.0, tolerance=1e-5),
    Claim("params", _CITE, "released model",
          f"The CIFAR-10 NIN has {papers.NIN_CIFAR10_PARAMS / 1e6:.2f} million parameters",
          f"{papers.NIN_CIFAR10_PARAMS / 1e6:.2f} M", "Caffe Model Zoo release; the paper prints no sizes",
          "counted", _COUNTS, lambda c: Measurement(c["summary"].params, f"{c['summary'].params:,}"),
          kind="exact", target=papers.NIN_CIFAR10_PARAMS, tolerance=0.005),
    Claim("gap_params", _CITE, "Sec. 3.2", "Global average pooling has no parameters to fit",
          "none (an FC head has a layer of them)", "Lin et al. 2014, Sec. 3.2 and 4.6", "counted",
          _COUNTS, lambda c: Measurement(c["gap_params"], f"{c['gap_params']} / {c['fc_params']:,} "
                                                          "(GAP / FC head)"),
          kind="exact", target=0.0),
    Claim("gap_beats_fc", _CITE, "Table 5",
          "GAP gives a lower test error than an FC head on the same mlpconvs",
          f"{100 * PAPER['nin']:.2f}% vs {100 * PAPER['fc']:.2f}%", "Lin et al. 2014, Table 5",
          "test error of the FC head vs. the GAP head, same seed, initial blocks and budget", "train_heads",
          _gap_vs_fc, noise="paired SE over the test images (binomial SE for archives without them)",
          paper_effect=PAPER["fc"] - PAPER["nin"]),
    Claim("nin_error", _CITE, "Table 1",
          f"NIN reaches {100 * PAPER['nin']:.2f}% CIFAR-10 test error without augmentation",
          f"{100 * PAPER['nin']:.2f}%", "Lin et al. 2014, Table 1", "test error of the GAP network",
          "train_heads", _error("gap"), kind="value", target=PAPER["nin"], tolerance=0.01,
          noise=_NOISE + ", plus 1 point", reach=_REACH),
    Claim("nin_augmented", _CITE, "Table 1",
          f"With translation and flips NIN reaches {100 * PAPER['nin_augmented']:.2f}%",
          f"{100 * PAPER['nin_augmented']:.2f}%", "Lin et al. 2014, Table 1",
          "test error of the GAP network trained with crops and flips", "train_heads",
          _error("gap_augmented"),
          kind="value", target=PAPER["nin_augmented"], tolerance=0.01, noise=_NOISE + ", plus 1 point",
          reach=_REACH),
))  # fmt: skip


def _counts(check: experiment.MlpconvCheck, summary: Summary,
            heads: Sequence[experiment.HeadFacts]) -> dict[str, Any]:  # fmt: skip
    by = {h.name: h for h in heads}
    return {"check": check, "summary": summary, "gap_params": by["gap"].params, "fc_params": by["fc"].params}


def counted() -> dict[str, Any]:
    """The objects the chapter's arithmetic claims read (the scoreboard computes them without the page)."""
    from ecg_lib.counting import summarize

    summary = summarize(experiment.build_nin(1.0), (3, 32, 32), name="nin_cifar")
    return {_COUNTS: _counts(experiment.mlpconv_check(), summary, experiment.head_facts())}


def summary_points(ev: Sequence[Evidence]) -> list[str]:
    """The closing page's five points (:func:`ecg_lib.chapters.summary.five_points`), from ``ev``
    (:func:`ecg_lib.chapters.summary.evidence`): the mlpconv identity, GAP's parameters, GAP against the
    FC head and NIN's error, each with its best evidence, then the chapter's count of verdicts."""
    by = {e.claim.key: e for e in ev}
    points = [summary.finding(by[k]) for k in ("mlpconv", "gap_params", "gap_beats_fc", "nin_error")]
    points.append(summary.count_point(ev))
    return points


def data_note(root: str | None = None) -> str:
    """The line above the closing table: the data the archived runs read (full over standard; the
    verdicts quote them), or that no run is archived yet."""
    archived = common.quoted_archive(CHAPTER, "train_heads", root)
    if archived is None:
        return "**Data.** No archived run yet."
    quality = str(archived.run_info.get("data_quality") or "source not recorded").split(" — ")[0]
    return f"**Data.** The archived {archived.profile}-profile run's CIFAR-10: {quality}."
