"""What the ResNet chapter (``notebooks/resnet.md`` and its four sections, ``notebooks/resnet_*.md``)
shows: its plots, tables and measured paragraphs, and the closing page's five points and data note. The
numbers come from :mod:`ecg_lib.experiments.resnet` (a :class:`~ecg_lib.experiments.resnet.DepthRun`'s
result, live or archived, and the counted tables); the paper's figures from :mod:`ecg_lib.papers`.

This module holds the claims and the closing page: the claim readers, :data:`LEDGER`, :func:`counted`,
:func:`summary_points` and :func:`data_note`. The sections' figures, tables and paragraphs live in two
siblings, re-exported here so that ``from ecg_lib.chapters import resnet`` reaches every name:
:mod:`~ecg_lib.chapters.resnet_trained` (sections 1-4, read from the trained nets' result) and
:mod:`~ecg_lib.chapters.resnet_tables` (the counted tables and the teaching sections). A new section
adds its functions to the sibling it belongs with and, for the closing table, claim rows to
:data:`LEDGER`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from ecg_lib import papers
from ecg_lib.chapters import reference, summary
from ecg_lib.chapters.common import pct, quoted_archive
from ecg_lib.chapters.reach import out_of_reach
from ecg_lib.chapters.resnet_tables import (
    batchnorm_table,
    batchnorm_text,
    bottleneck_table,
    bottleneck_text,
    depth_cost_line,
    identity_table,
    identity_text,
    linearity_table,
    linearity_text,
    shortcut_options_table,
    shortcut_options_text,
    shortcut_run_text,
    table1_table,
    table1_text,
    table6_table,
)
from ecg_lib.chapters.resnet_trained import (
    archived_grad_norms_figure,
    archived_lesion_figure,
    degradation_text,
    final_errors_table,
    grad_norms_figure,
    grad_ratios,
    gradient_table,
    gradient_text,
    lesion_figure,
    lesion_summaries,
    lesion_table,
    lesion_text,
    plot_grad_norms,
    plot_lesions,
    plot_plain,
    plot_training_error,
    residual_text,
    twins_table,
)
from ecg_lib.claim_ledgers import Evidence
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

__all__ = [
    "CHAPTER",
    "GRADIENT_BAND",
    "LEDGER",
    "archive_note",
    "archived_grad_norms_figure",
    "archived_lesion_figure",
    "batchnorm_table",
    "batchnorm_text",
    "bottleneck_table",
    "bottleneck_text",
    "counted",
    "data_note",
    "degradation_text",
    "depth_cost_line",
    "final_errors_table",
    "grad_norms_figure",
    "grad_ratios",
    "gradient_table",
    "gradient_text",
    "identity_table",
    "identity_text",
    "lesion_figure",
    "lesion_summaries",
    "lesion_table",
    "lesion_text",
    "linearity_table",
    "linearity_text",
    "plot_grad_norms",
    "plot_lesions",
    "plot_plain",
    "plot_training_error",
    "profile_text",
    "residual_text",
    "shortcut_options_table",
    "shortcut_options_text",
    "shortcut_run_text",
    "summary_points",
    "table1_table",
    "table1_text",
    "table6_table",
    "twins_table",
]

CHAPTER = "resnet"
_DEPTH = "depth"  # the archived experiment (key of experiments.resnet.EXPERIMENTS) the chapter quotes


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
          noise=f"one probe batch per seed, and a ratio within a factor of {GRADIENT_BAND:g} counts"),
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


def summary_points(ev: Sequence[Evidence]) -> list[str]:
    """The closing page's five points (:func:`ecg_lib.chapters.summary.five_points`), from ``ev``
    (:func:`ecg_lib.chapters.summary.evidence`): the degradation, the shortcuts, the plain net's gradients
    and a single block's deletion from a trained net, each with its best evidence, then the chapter's
    count of verdicts."""
    by = {e.claim.key: e for e in ev}
    points = [summary.finding(by[k]) for k in ("degradation", "shortcuts", "gradients", "reference_lesion")]
    points.append(summary.count_point(ev, "the papers"))
    return points


def data_note(root: str | None = None) -> str:
    """The line above the closing table: the data the archived trained references were scored on and the
    lossy-copy offset measured on them (:func:`ecg_lib.chapters.reference.data_note`), read from the
    archive, so that the closing page trains and evaluates nothing; without an archive, says so."""
    depth_ref = quoted_archive(CHAPTER, "reference_depth", root)
    if depth_ref is None:
        return "**Data.** No archived evaluation of the trained reference networks yet."
    return reference.data_note(depth_ref, whose=f"The archived {depth_ref.profile}-profile run's")


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
