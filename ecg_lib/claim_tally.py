"""The scoreboard's arithmetic: every chapter's claims as one list of paper figures (a figure that several
ledgers check is one row), each with its best evidence and one of five tiles, the folded table and the
count the introduction states (direction claims and absolute values apart). Re-exported by
:mod:`ecg_lib.claims`.

Nothing here computes a verdict: each check's verdict is its ledger's (:mod:`ecg_lib.claim_ledgers`).
This module only chooses which of a claim's verdicts to show (the best evidence) and merges the checks
of one paper figure.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ecg_lib.claim_ledgers import ARCHIVED, Cell, Evidence, _paper_cell, _row
from ecg_lib.claim_verdicts import INCONCLUSIVE, NO_EVIDENCE, NOT_TESTABLE, Claim, Verdict

# ----------------------------------------------------------------------------------------------------------
# Best evidence and tiles

#: The scoreboard's five tiles, in the legend's order: (CSS class suffix, label, symbol, verdicts). The
#: symbol is the text cue beside the colour, so colour is never the only one.
TILES: tuple[tuple[str, str, str, tuple[Verdict, ...]], ...] = (
    ("holds", "holds", "✓", ("reproduced",)),
    ("fails", "fails", "✗", ("not reproduced", "opposite")),
    ("noise", "within noise or inconclusive", "≈", ("within noise", INCONCLUSIVE)),
    ("untestable", "not testable here", "–", (NOT_TESTABLE,)),
    ("none", "no evidence yet", "?", (NO_EVIDENCE,)),
)
_TILE_OF = {v: t[0] for t in TILES for v in t[3]}


def tile(verdict: Verdict) -> str:
    """The tile (``"holds"``, ``"fails"``, ``"noise"``, ``"untestable"``, ``"none"``) of a verdict."""
    return _TILE_OF[verdict]


def best_cell(ev: Evidence) -> tuple[str, Cell]:
    """A claim's best evidence and where it comes from: the archived full run, else the archived
    standard run, else the live run (``"live"``), else the archived standard cell, which then says why
    there is no evidence. A counted claim's evidence is its count (``"counted"``)."""
    if ev.claim.counted:
        return "counted", ev.cells["live"]
    for column in reversed(ARCHIVED):
        if ev.cells[column].measurement is not None:
            return f"archived {column}", ev.cells[column]
    if ev.cells["live"].measurement is not None:
        return "live", ev.cells["live"]
    return "", ev.cells[ARCHIVED[0]]


def best_verdict(ev: Evidence) -> Verdict:
    """The verdict of a claim's best evidence (:func:`best_cell`): "no evidence yet" without any."""
    return best_cell(ev)[1].verdict


# ----------------------------------------------------------------------------------------------------------
# Paper figures: one row per claim, whichever ledgers check it

_FAILS: frozenset[str] = frozenset({"not reproduced", "opposite"})
# How much a verdict says about the figure: a check that cannot test it, or has no evidence, gives way to
# one that can; a shown result to a run that could not resolve it.
_TIERS: tuple[frozenset[str], ...] = (
    frozenset({"reproduced", *_FAILS}),
    frozenset({"within noise", INCONCLUSIVE}),
    frozenset({NOT_TESTABLE}),
    frozenset({NO_EVIDENCE}),
)


def merge_verdicts(verdicts: Sequence[Verdict]) -> Verdict:
    """One verdict for a paper figure that several checks measure: the verdicts of its most informative
    checks (shown, then within noise or inconclusive, then not testable, then no evidence). Where those
    disagree: "not reproduced" if all fail (two "opposite": "opposite"), otherwise "inconclusive"."""
    for tier in _TIERS:
        found = sorted({v for v in verdicts if v in tier})
        if len(found) == 1:
            return found[0]  # type: ignore[return-value]
        if found:
            return "not reproduced" if set(found) <= _FAILS else INCONCLUSIVE
    return NO_EVIDENCE


def figure_key(ev: Evidence) -> tuple[Any, ...]:
    """What makes two claims one paper figure: a value a paper reports (a trained network's error) at the
    same place in the same paper, with the same target. ResNet's Table 6 8.75% is checked by the ResNet
    chapter's own training, by its reference weights and by the comparison's race; NIN's 8.81% by the NIN
    chapter and by the race. Any other claim is its own figure: counts with equal targets are counts of
    different things (Table 2's 133 M is configuration A's, A-LRN's and B's)."""
    c = ev.claim
    if c.kind == "value" and c.paper and c.target is not None:
        return ("figure", c.paper, c.where, round(c.target, 12))
    return ("claim", ev.ledger.chapter, c.key)


def anchor(ev: Evidence) -> str:
    """The HTML id of a claim's row in the scoreboard's table (``claim-resnet-table6_20``)."""
    return "claim-" + re.sub(r"[^\w-]", "-", f"{ev.ledger.chapter}-{ev.claim.key}")


@dataclass(frozen=True)
class Figure:
    """One claim of a paper, as the scoreboard counts it: the checks (one per ledger row) that measure
    it, the first in reading order leading."""

    checks: tuple[Evidence, ...]

    @property
    def lead(self) -> Evidence:
        return self.checks[0]

    @property
    def claim(self) -> Claim:
        return self.lead.claim

    @property
    def chapter(self) -> str:
        """The chapter whose row and fold the figure sits in: the first that checks it."""
        return self.lead.ledger.chapter

    @property
    def chapters(self) -> tuple[str, ...]:
        """The titles of the chapters that check it, in reading order, each once."""
        return tuple(dict.fromkeys(e.ledger.title for e in self.checks))

    @property
    def anchor(self) -> str:
        return anchor(self.lead)

    @property
    def verdict(self) -> Verdict:
        """The verdict of the best evidence (:func:`best_verdict`), merged over the checks."""
        return merge_verdicts([best_verdict(e) for e in self.checks])

    @property
    def archived_verdict(self) -> Verdict:
        """The archived (paper-scale) verdict, merged over the checks: what the count reads."""
        return merge_verdicts([e.archived_verdict for e in self.checks])

    @property
    def tile(self) -> str:
        return tile(self.verdict)


def figures(evidence: Sequence[Evidence]) -> list[Figure]:
    """The evidence as paper figures (:func:`figure_key`), in the order each first appears."""
    groups: dict[tuple[Any, ...], list[Evidence]] = {}
    for ev in evidence:
        groups.setdefault(figure_key(ev), []).append(ev)
    return [Figure(tuple(g)) for g in groups.values()]


# ----------------------------------------------------------------------------------------------------------
# The count


@dataclass(frozen=True)
class Tally:
    """The scoreboard's count, one per paper figure (:func:`figures`: a figure several chapters check
    counts once). Trained claims are counted by their archived verdict (full over standard); the live
    quick runs are too small to count. They fall in two groups that a reader must
    not add up: claims about the direction of an effect (the science that transfers to CIFAR-10 at a
    small scale: direction, no-gain and sign claims) and claims of a paper's absolute value (which only
    the paper's data and schedule can test). Claims that are not a paper's (no citation: the notes this
    book grew from) are counted apart."""

    counted: int
    counted_reproduced: int
    trained: int
    reproduced: int
    not_reproduced: int  # "not reproduced" and "opposite"
    opposite: int
    within_noise: int
    awaiting: int
    notes: int = 0  # counted claims of the notes (not a paper's), not in ``counted``
    notes_hold: int = 0
    inconclusive: int = 0
    not_testable: int = 0
    effects: int = 0  # trained claims about the direction of an effect (the rest: absolute values)
    effects_reproduced: int = 0
    values: int = 0
    values_reproduced: int = 0


def tally(evidence: Sequence[Evidence]) -> Tally:
    """The count of :func:`figures` ``(evidence)``: each paper figure once, by its archived verdict."""
    figs = figures(evidence)
    counted = [f for f in figs if f.claim.counted and f.claim.paper]
    notes = [f for f in figs if f.claim.counted and not f.claim.paper]
    trained_figs = [f for f in figs if not f.claim.counted]
    trained = [f.archived_verdict for f in trained_figs]
    effects = [f.archived_verdict for f in trained_figs if f.claim.kind != "value"]
    values = [f.archived_verdict for f in trained_figs if f.claim.kind == "value"]
    return Tally(
        counted=len(counted),
        counted_reproduced=sum(f.archived_verdict == "reproduced" for f in counted),
        trained=len(trained),
        reproduced=trained.count("reproduced"),
        not_reproduced=trained.count("not reproduced") + trained.count("opposite"),
        opposite=trained.count("opposite"),
        within_noise=trained.count("within noise"),
        awaiting=trained.count(NO_EVIDENCE),
        notes=len(notes),
        notes_hold=sum(f.archived_verdict == "reproduced" for f in notes),
        inconclusive=trained.count(INCONCLUSIVE),
        not_testable=trained.count(NOT_TESTABLE),
        effects=len(effects),
        effects_reproduced=effects.count("reproduced"),
        values=len(values),
        values_reproduced=values.count("reproduced"),
    )


def _n(k: int, word: str) -> str:
    return f"{k} {word}" if k == 1 else f"{k} {word}s"


def tally_text(t: Tally) -> str:
    """The count in one paragraph, generated (the scoreboard states it below its tiles).
    Direction claims and absolute values are counted apart; "not testable here" and "inconclusive" are
    never counted as failures or as agreement."""
    off = t.counted - t.counted_reproduced
    counted = (f"{_n(t.counted, 'arithmetic claim')} of the papers checked: {t.counted_reproduced} hold "
               "exactly or within their stated tolerance" + (f", {off} do not" if off else ""))  # fmt: skip
    parts = [f"{t.reproduced} reproduced"]
    # one number per clause: the failures that came out the opposite way are a clause of their own
    if t.not_reproduced > t.opposite:
        parts.append(f"{t.not_reproduced - t.opposite} not reproduced")
    if t.opposite:
        parts.append(f"{t.opposite} the opposite way")
    if t.within_noise:
        parts.append(f"{t.within_noise} within noise")
    if t.inconclusive:
        parts.append(f"{t.inconclusive} inconclusive")
    if t.not_testable:
        parts.append(f"{t.not_testable} not testable here")
    if t.awaiting:
        parts.append(f"{t.awaiting} awaiting evidence")
    judged = ", ".join(parts)
    groups = []
    if t.effects:
        verb = "is" if t.effects_reproduced == 1 else "are"
        groups.append(f"of the {_n(t.effects, 'claim')} about the direction of an effect, "
                      f"{t.effects_reproduced} {verb} reproduced")  # fmt: skip
    if t.values:
        groups.append(f"of the {_n(t.values, 'claim')} of a paper's absolute value, {t.values_reproduced} "
                      f"{'is' if t.values_reproduced == 1 else 'are'} reproduced"
                      + (f" and {t.not_testable} cannot be tested on this data or schedule (a lossy "
                         "copy of CIFAR-10, runs a fraction of the papers' length)"
                         if t.not_testable else ""))  # fmt: skip
    split = (" " + "; ".join(groups)[0].upper() + "; ".join(groups)[1:] + ".") if groups else ""
    trained = f"{_n(t.trained, 'trained claim')}, judged on the archived standard or full runs: {judged}."
    held = "none holds" if not t.notes_hold else f"{t.notes_hold} {'holds' if t.notes_hold == 1 else 'hold'}"
    notes = (f" Of the notes' {_n(t.notes, 'numeric statement')}, checked the same way, {held}."
             if t.notes else "")  # fmt: skip
    return f"{counted}. {trained}{split}{notes}"




# ----------------------------------------------------------------------------------------------------------
# The table, folded by chapter

#: How each tile is counted in a sentence: (one, several).
_COUNT_WORDS = {"holds": ("holds", "hold"), "fails": ("fails", "fail"),
                "noise": ("within noise or inconclusive",) * 2, "untestable": ("not testable here",) * 2,
                "none": ("without evidence yet",) * 2}  # fmt: skip
_SOURCES = {"counted": "counted from the definitions", "archived standard": "archived standard run",
            "archived full": "archived full run", "live": "this build's run"}  # fmt: skip


def tile_counts(figs: Sequence[Figure]) -> list[tuple[str, int]]:
    """``[(tile, how many), ...]`` in the legend's order, tiles without a figure left out."""
    found = [(t[0], sum(f.tile == t[0] for f in figs)) for t in TILES]
    return [(t, k) for t, k in found if k]


def tile_count_text(figs: Sequence[Figure]) -> str:
    """``"4 hold, 1 fails, 1 without evidence yet"``: one number per clause, empty tiles left out."""
    return ", ".join(f"{k} {_COUNT_WORDS[t][k != 1]}" for t, k in tile_counts(figs))


def _link(ev: Evidence) -> str:
    # a claim measured in a section of its own links there under the section's title
    c, led = ev.claim, ev.ledger
    return f"{{ref}}`{c.section}`" if c.section else f"{{ref}}`{led.title} <{led.label}>`"


def _reason(cell: Cell) -> str:
    text = cell.text.removesuffix(": no evidence yet").removesuffix("no evidence yet").rstrip(": ")
    return f"**{cell.verdict}**" + (f": {text}" if text else "")


def _check_text(ev: Evidence, *, short: bool) -> str:
    """One check's evidence: its cell (the measurement, verdict and power) and the run it comes from;
    ``short``: the measurement and the verdict only."""
    source, cell = best_cell(ev)
    if cell.measurement is None:
        return _reason(cell)
    if short:
        return f"{cell.measurement.text}: {cell.verdict}"
    return f"{cell.text}; {_SOURCES[source]}"


def _verdict_cell(f: Figure) -> str:
    if len(f.checks) == 1:
        return _check_text(f.lead, short=False)
    checks = [f"{_link(e)}, “{e.claim.statement}”: {_check_text(e, short=True)}" for e in f.checks]
    return f"**{f.verdict}**, checked {len(f.checks)} ways:<br>" + "<br>".join(checks)


def _table(figs: Sequence[Figure], paper: str = "paper") -> list[str]:
    lines = [_row(["claim", paper, "verdict"]), "|---|---|---|"]
    for f in figs:
        c = f.claim
        # the paper's cell names the place in the paper; the claim's links to where the book measures it
        claim = f'<span id="{f.anchor}"></span>{c.statement} · {_link(f.lead)}'
        lines.append(_row([claim, _paper_cell(c) if c.paper else c.paper_value, _verdict_cell(f)]))
    return lines


def _chapters(figs: Sequence[Figure]) -> dict[str, tuple[str, list[Figure]]]:
    """``{chapter: (title, its figures)}`` in the order the chapters first appear."""
    out: dict[str, tuple[str, list[Figure]]] = {}
    for f in figs:
        out.setdefault(f.chapter, (f.lead.ledger.title, []))[1].append(f)
    return out


def by_chapter(evidence: Sequence[Evidence]) -> dict[str, tuple[str, list[Figure]]]:
    """The papers' figures (not the notes'), ``{chapter: (title, figures)}``, in reading order; a figure
    several chapters check sits with the first."""
    return _chapters([f for f in figures(evidence) if f.claim.paper])


def scoreboard_table(evidence: Sequence[Evidence]) -> str:
    """The papers' claims folded by chapter: a dropdown per chapter, its title the chapter's count, with
    one row per paper figure (claim, paper, verdict of the best evidence; each row's HTML id is
    :func:`anchor`, which the tiles link to), and the figures the chapter also checks that sit with an
    earlier chapter."""
    figs = [f for f in figures(evidence) if f.claim.paper]
    out: list[str] = []
    for chapter, (title, own) in _chapters(figs).items():
        n = len(own)
        out += [f":::{{dropdown}} {title}: {n} {'claim' if n == 1 else 'claims'}, {tile_count_text(own)}",
                *_table(own)]  # fmt: skip
        elsewhere = [f for f in figs if f.chapter != chapter and any(e.ledger.chapter == chapter
                                                                     for e in f.checks)]  # fmt: skip
        if elsewhere:
            # raw HTML: a Markdown link to "#id" would be resolved (and warned about) as a Sphinx target
            listed = "; ".join(f'<a href="#{f.anchor}">“{f.claim.statement}”</a>, listed under '
                               f"{f.lead.ledger.title}" for f in elsewhere)  # fmt: skip
            out += ["", f"This chapter also checks {listed}."]
        out += [":::", ""]
    return "\n".join(out).rstrip("\n")


def notes_table(evidence: Sequence[Evidence]) -> str:
    """The numeric statements of the notes this book grew from (claims without a paper), apart from the
    papers' claims: claim, what the notes say, verdict."""
    figs = [f for f in figures(evidence) if not f.claim.paper]
    return "\n".join(_table(figs, paper="the notes say")) if figs else ""
