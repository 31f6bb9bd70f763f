"""Why a run cannot reach a paper's absolute value: the ``reach`` of a "value" claim (see
:class:`ecg_lib.claims.Claim`).

A paper's test error was measured on the original, lossless CIFAR-10 after the paper's whole schedule.
A run on the lossy JPEG copy, or one that trains a fraction of that schedule (the quick and standard
profiles), cannot reach it by construction: its verdict is "not testable here", with the reason, never
"not reproduced". Only the full profile on the original data can test such a value.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["lossy_offset_text", "out_of_reach"]


def lossy_offset_text() -> str:
    """The measured cost of the lossy copy, from the archived reference networks (trained elsewhere on
    the original data and scored here): ``", which moves trained reference networks' test errors by
    +10.1 to +10.7 points from their publisher's figures"`` (the README table), or empty without that
    archive."""
    from ecg_lib.chapters.reference import lossy_effect
    from ecg_lib.results import find_archive

    depth = find_archive("resnet", "reference_depth")
    if depth is None:
        return ""
    effect = sorted(lossy_effect(depth, "readme").values())  # the README describes the weights in the files
    lo, hi = 100 * effect[0], 100 * effect[-1]
    span = f"{lo:+.1f}" if f"{lo:.1f}" == f"{hi:.1f}" else f"{lo:+.1f} to {hi:+.1f}"
    return (f", which moves trained reference networks' test errors by {span} points from their "
            "publisher's figures")


def _length(result: Any) -> str:
    """How long the run trained: its seconds per network for a time-budgeted race (whose History has one
    "epoch" per step), else its epochs."""
    seconds = (getattr(result, "metrics", None) or {}).get("seconds_per_net")
    if seconds:
        return f" of {seconds:g} s per network"
    done = [h.epochs_done for h in getattr(result, "histories", {}).values() if getattr(h, "epochs_done", 0)]
    return f" of {max(done)} epoch{'s' if max(done) != 1 else ''}" if done else ""


def out_of_reach(paper_run: str | None) -> Callable[[Any], str | None]:
    """The ``reach`` of a value claim. ``paper_run`` describes the paper's schedule (``"about 164 epochs
    (64k iterations)"``); None for networks trained elsewhere (the reference weights), whose schedule
    is not this run's. The function returns the reasons a result cannot reach the value, or None: it
    can when its data is lossless and, unless ``paper_run`` is None, its profile is the full one."""

    def reach(result: Any) -> str | None:
        reasons = []
        info = getattr(result, "run_info", None) or {}
        # the reference networks' results carry it in their metrics (they are scored, not trained)
        metrics = getattr(result, "metrics", None) or {}
        quality = str(info.get("data_quality") or metrics.get("data_quality") or "")
        if quality.startswith("lossy"):
            # "lossy JPEG copy (quality 75, ...)": the kind alone, the details are in the run-info box
            reasons.append(f"the data is a {quality.split(' (')[0].split(' — ')[0]}{lossy_offset_text()}")
        profile = getattr(result, "profile", None)
        if paper_run is not None and profile != "full":
            reasons.append(f"a {profile}-profile run{_length(result)}, "
                           f"where the paper's schedule is {paper_run}")
        return "; ".join(reasons) or None

    return reach
