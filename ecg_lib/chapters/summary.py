"""A chapter's closing page: five points on what it found and the "Paper vs. this book" verdict table.

Both are built from the archived runs and the counts alone (``retrained=False``, as the scoreboard does):
the closing page trains nothing and needs no variable from the chapter's other pages, so it stands on its
own as a sub-page. The table has the scoreboard's three columns (claim, paper, verdict of the best
evidence); how each claim is measured, and its threshold, are folded below it.
"""

from __future__ import annotations

from collections.abc import Sequence

from ecg_lib import chapter_registry
from ecg_lib.claim_ledgers import Evidence, _row
from ecg_lib.claim_tally import _reason, _table, best_cell, figures, tile_count_text
from ecg_lib.claim_verdicts import NOT_TESTABLE, power_text

__all__ = ["count_point", "evidence", "finding", "five_points", "verdict_table"]

# Stated above every verdict table, so a reader meets the rule before the verdicts it produces.
RULE = (
    "Each verdict comes from the best evidence for the claim: the archived full run, else the archived "
    "standard run, else the count from the definitions. A trained difference counts when it exceeds two "
    "standard errors, and each cell states the smallest difference that run could have seen. A \"no gain\" "
    "claim holds only when the run excludes a gain as large as its margin. A paper's absolute value that "
    "the run cannot reach by construction is not testable here. The scoreboard explains these rules."
)


def evidence(chapter: str) -> list[Evidence]:
    """Every claim of ``chapter`` with its cells: counted claims counted now, trained ones from the
    archives only (no live run). An unknown chapter raises ``ValueError`` naming the known ones."""
    c = chapter_registry.chapter(chapter)
    return c.ledger().evidence(c.counted()(), "any", retrained=False)


_LEADS = {"counted": "Counted from the definitions:",
          "archived standard": "The archived standard run measured",
          "archived full": "The archived full run measured", "live": "This build's run measured"}  # fmt: skip


def finding(ev: Evidence) -> str:
    """One claim's finding in two short sentences: the claim and where the paper states it, then its best
    evidence (which run, what it measured, the verdict and what the run could have seen)."""
    c = ev.claim
    source, cell = best_cell(ev)
    m = cell.measurement
    if m is None:
        return f"{c.statement} ({c.where}): {_reason(cell)}."
    if cell.verdict == NOT_TESTABLE:
        said = m.untestable
    else:
        said = "" if c.counted else power_text(c, m)
    return (f"{c.statement} ({c.where}). {_LEADS[source]} {m.text}. Verdict: **{cell.verdict}**"
            + (f"; {said}" if said else "") + ".")


def count_point(ev: Sequence[Evidence], source: str = "the paper") -> str:
    """The chapter's verdicts counted by tile, one paper figure once: ``"Of the chapter's 6 claims from the
    paper, 3 hold, 1 fails, ..."`` (``source``: where the claims come from, e.g. "the papers")."""
    figs = figures(ev)
    return f"Of the chapter's {len(figs)} claims from {source}, {tile_count_text(figs)}."


def five_points(points: Sequence[str]) -> str:
    """The chapter's summary as a numbered Markdown list of exactly five points (a list of four or six
    is a page that lost or gained a point by accident)."""
    if len(points) != 5:
        raise ValueError(f"A chapter summary has five points, got {len(points)}.")
    if not all(p.strip() for p in points):
        raise ValueError("A chapter summary point is empty.")
    return "\n".join(f"{i}. {p.strip()}" for i, p in enumerate(points, 1))


def verdict_table(ev: Sequence[Evidence]) -> str:
    """The chapter's "Paper vs. this book" table: the rule, one row per claim (claim, paper, verdict),
    and a dropdown with how each claim is measured and its verdict threshold."""
    method = [_row(["claim", "how measured; verdict threshold"]), "|---|---|"]
    method += [_row([e.claim.statement, f"{e.claim.method}; {e.basis}"]) for e in ev]
    return "\n".join([RULE, "", *_table(figures(ev)), "",
                      ":::{dropdown} How each claim is measured, and its verdict threshold", *method,
                      ":::"])  # fmt: skip
