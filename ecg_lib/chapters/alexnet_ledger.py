"""The AlexNet chapter's claims (its "Paper vs. this book" table): how each claim is measured from a
result, the tolerance of the speed ratio, :data:`LEDGER` and the closing table. Read by the page
(:mod:`ecg_lib.chapters.alexnet`, which re-exports these names) and by the scoreboard.
"""

from __future__ import annotations

from typing import Any

from ecg_lib import papers
from ecg_lib.claims import Claim, Ledger, Measurement, NotMeasured, error_gap
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments import alexnet as experiment

__all__ = ["CHAPTER", "CLAIMS", "LEDGER", "counted", "fmt_ratio", "paper_vs_book"]

CHAPTER = "alexnet"
CLAIMS = papers.ALEXNET_CLAIMS


def fmt_ratio(v: float | None) -> str:
    """A tanh/ReLU ratio (``"1.2×"``; None: ``"—"``, a side missed the target)."""
    return "—" if v is None else f"{v:.1f}×"


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
    Claim("params", _CITE, "Sec. 4",
          f"The network has about {CLAIMS['params']['value'] / 1e6:.0f} million parameters",
          f"about {CLAIMS['params']['value'] / 1e6:.0f} million", str(CLAIMS["params"]["source"]),
          "counted, two-tower split", _ARCH,
          lambda s: Measurement(s["params_split"], f"{s['params_split']:,}"),
          kind="exact", target=float(CLAIMS["params"]["value"]), tolerance=0.05),
    Claim("neurons", _CITE, "Abstract", f"The network has about {CLAIMS['neurons']['value']:,} neurons",
          f"about {CLAIMS['neurons']['value']:,}", str(CLAIMS["neurons"]["source"]),
          "counted, every layer's outputs",
          _ARCH, lambda s: Measurement(s["neurons"], f"{s['neurons']:,}"),
          kind="exact", target=float(CLAIMS["neurons"]["value"]), tolerance=0.05),
    Claim("conv1_neurons", _CITE, "Sec. 3.5",
          f"The first layer has {CLAIMS['neurons_per_layer']['value'][0]:,} neurons",
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
