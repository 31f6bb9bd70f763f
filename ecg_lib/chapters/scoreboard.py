"""The scoreboard page (``book/scoreboard.md``) and the count the introduction states: every claim the
chapters check, gathered from their ledgers (:meth:`ecg_lib.chapter_registry.Chapter.ledger`), plus the
numeric statements of the notes this book grew from (:data:`SEED`), with a verdict per profile.

Nothing is trained here. Arithmetic claims are counted live (each chapter's ``counted()``, seconds);
trained claims are read from the archived standard and full runs only
(:func:`ecg_lib.results.find_archive`), so the page never retrains and a missing archive reads "no
evidence yet".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecg_lib import chapter_registry, papers
from ecg_lib.claims import Claim, Evidence, Ledger, Measurement, scoreboard_table, tally, tally_text

__all__ = ["CHAPTERS", "SEED", "count_text", "evidence", "ledgers", "table"]

#: The chapters whose ledgers the scoreboard gathers, in reading order (:mod:`ecg_lib.chapter_registry`).
CHAPTERS: tuple[str, ...] = chapter_registry.names()

_NOTES = "the notes this book grew from"


def _reduction_share(c: dict[str, Any]) -> Measurement:
    s = c["s3a"]
    proj = s.naive_proj.weights - s.naive.weights  # the pool projection's weights (192 x 32)
    share, formula = s.reduced.weights / s.naive_proj.weights, (s.reduced.weights - proj) / s.naive.weights
    return Measurement(share, f"{100 * share:.1f}% ({s.reduced.weights:,} / {s.naive_proj.weights:,}); "
                       f"{100 * formula:.1f}% by the notes' formula, without the pool projection")


def _depth_1202(t6: dict[int, tuple[float, float]]) -> Measurement:
    gap = t6[1202][1] - t6[110][1]
    return Measurement(gap, f"{100 * t6[1202][1]:.2f}% vs. {100 * t6[110][1]:.2f}% "
                            f"({100 * gap:+.2f} points; He et al. 2016, Table 6)")  # fmt: skip


def _relu_additivity(_: Any) -> Measurement:
    import torch

    # a linear f has f(a + b) = f(a) + f(b); for ReLU at a = 1, b = -1: relu(0) = 0, but 1 + 0 = 1
    a, b = torch.tensor(1.0), torch.tensor(-1.0)
    gap = float((torch.relu(a) + torch.relu(b) - torch.relu(a + b)).abs())
    return Measurement(gap, f"relu(1) + relu(-1) - relu(0) = {gap:g}")


#: The seed's numeric statements, each checked by a count (the chapters discuss them where they belong).
SEED = Ledger("seed", "the notes", "googlenet-paper-vs-book", (
    Claim("seed_one_third", "", "the notes", "The 1×1 reductions of inception (3a) cut its parameters to "
          "about one third", "about 1/3 (within 10%)", _NOTES, "weights with reductions over weights "
          "without, counted (Fig. 2b vs. 2a)", "s3a_counts", _reduction_share, kind="exact", target=1 / 3,
          tolerance=0.10, section="googlenet-reductions"),
    Claim("seed_1202", "", "the notes", "ResNet-1202 was about as good as ResNet-110 on CIFAR-10",
          "about the same (within 0.5 points)", _NOTES, "the two test errors of Table 6, subtracted",
          "table6", _depth_1202, kind="exact", target=0.0, tolerance=0.005, section="resnet-table6"),
    Claim("seed_relu_linear", "", "the notes", "ReLU is a linear activation", "linear", _NOTES,
          "additivity checked at 1 and -1", "relu", _relu_additivity, kind="exact", target=0.0,
          section="alexnet-relu"),
))  # fmt: skip


def ledgers() -> list[tuple[Ledger, Any]]:
    """Every chapter's ledger with the module that counts its arithmetic claims, then :data:`SEED`."""
    return [(c.ledger(), c.counted()) for c in chapter_registry.CHAPTERS]


def _seed_counts() -> dict[str, Any]:
    from ecg_lib.experiments import googlenet

    # the ReLU check takes no input; 0 stands for it, since measure() reads None as "no result"
    return {"s3a_counts": {"s3a": googlenet.branch_savings("3a")}, "table6": papers.RESNET_TABLE6, "relu": 0}


def evidence(profile: str, *, root: Any = None) -> list[Evidence]:
    """Every claim's evidence: arithmetic claims counted now, trained ones from the archives only."""
    out: list[Evidence] = []
    for ledger, counted in ledgers():
        out += ledger.evidence(counted(), profile, retrained=False, root=root)
    out += SEED.evidence(_seed_counts(), profile, retrained=False, root=root)
    return out


def table(ev: Sequence[Evidence], profile: str) -> str:
    """The scoreboard's table (see :func:`ecg_lib.claims.scoreboard_table`)."""
    return scoreboard_table(ev, profile)


def count_text(ev: Sequence[Evidence] | None = None) -> str:
    """The honest count, generated (see :func:`ecg_lib.claims.tally_text`); without ``ev`` it gathers
    the evidence itself (the count does not depend on the build's profile: it counts arithmetic claims
    and archived runs only)."""
    if ev is None:
        ev = evidence("any")  # the profile only labels the live column, which the count does not read
    return tally_text(tally(ev))
