"""The scoreboard's arithmetic: every chapter's claims in one table, and the count the introduction
states (direction claims and absolute values apart). Re-exported by :mod:`ecg_lib.claims`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ecg_lib.claim_ledgers import _NOT_RETRAINED, ARCHIVED, COLUMNS, Evidence, _paper_cell, _row
from ecg_lib.claim_verdicts import INCONCLUSIVE, NO_EVIDENCE, NOT_TESTABLE, _fmt_noise, power, power_text


@dataclass(frozen=True)
class Tally:
    """The scoreboard's count. Trained claims are counted by their archived verdict (full over
    standard); the live quick runs are too small to count. They fall in two groups that a reader must
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
    counted = [e for e in evidence if e.claim.counted and e.claim.paper]
    notes = [e for e in evidence if e.claim.counted and not e.claim.paper]
    trained_ev = [e for e in evidence if not e.claim.counted]
    trained = [e.archived_verdict for e in trained_ev]
    effects = [e.archived_verdict for e in trained_ev if e.claim.kind != "value"]
    values = [e.archived_verdict for e in trained_ev if e.claim.kind == "value"]
    return Tally(
        counted=len(counted),
        counted_reproduced=sum(e.archived_verdict == "reproduced" for e in counted),
        trained=len(trained),
        reproduced=trained.count("reproduced"),
        not_reproduced=trained.count("not reproduced") + trained.count("opposite"),
        opposite=trained.count("opposite"),
        within_noise=trained.count("within noise"),
        awaiting=trained.count(NO_EVIDENCE),
        notes=len(notes),
        notes_hold=sum(e.archived_verdict == "reproduced" for e in notes),
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
    """The count in one paragraph, generated (the scoreboard ends with it; the introduction states it).
    Direction claims and absolute values are counted apart; "not testable here" and "inconclusive" are
    never counted as failures or as agreement."""
    off = t.counted - t.counted_reproduced
    counted = (f"{_n(t.counted, 'arithmetic claim')} of the papers checked: {t.counted_reproduced} hold "
               "exactly or within their stated tolerance" + (f", {off} do not" if off else ""))  # fmt: skip
    parts = [f"{t.reproduced} reproduced"]
    if t.not_reproduced:
        parts.append(f"{t.not_reproduced} not reproduced"
                     + (f" ({t.opposite} of them the opposite way)" if t.opposite else ""))  # fmt: skip
    if t.within_noise:
        parts.append(f"{t.within_noise} within noise")
    if t.inconclusive:
        parts.append(f"{t.inconclusive} inconclusive")
    if t.not_testable:
        parts.append(f"{t.not_testable} not testable here")
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
    notes = (f" Of the notes' {_n(t.notes, 'numeric statement')}, checked the same way, {t.notes_hold} "
             f"{'holds' if t.notes_hold == 1 else 'hold'}.") if t.notes else ""  # fmt: skip
    return f"{counted}. {trained}{split}{notes}"


def _power_cell(ev: Evidence) -> str:
    """The archived evidence's power: its 2-SE limit, "k of n seeds" for a sign claim, or a dash."""
    if ev.claim.counted:
        return "exact"
    for column in reversed(ARCHIVED):
        m = ev.cells[column].measurement
        if m is None:
            continue
        if m.untestable:
            return "not testable"
        if ev.claim.kind == "sign":
            return power_text(ev.claim, m)
        limit = power(m)
        return _fmt_noise(limit, m) if limit is not None else "no SE"
    return "—"


def scoreboard_table(evidence: Sequence[Evidence], profile: str) -> str:
    """One row per claim of every chapter: a link to the section that measures it, the claim, the paper's
    value, and the verdict in this build's profile and in each archived profile."""
    header = ["chapter", "claim", "paper", "kind", f"this build ({profile})",
              *(f"{p} (archived)" for p in ARCHIVED), "could see (2 SE)"]  # fmt: skip
    lines = [_row(header), "|" + "---|" * len(header)]
    for ev in evidence:
        c, led = ev.claim, ev.ledger
        # a claim measured in a section of its own links there under the section's title
        link = f"{{ref}}`{c.section}`" if c.section else f"{{ref}}`{led.title} <{led.label}>`"
        kind = "counted" if c.counted else "trained"
        verdicts = [ev.cells[col].verdict for col in COLUMNS]
        if c.counted:
            verdicts = [verdicts[0]] * len(COLUMNS)  # the same in every profile
        elif ev.cells["live"].text == _NOT_RETRAINED:
            verdicts[0] = "in the chapter"  # the scoreboard does not retrain
        lines.append(_row([link, f"{c.statement} ({c.where})", _paper_cell(c), kind, *verdicts,
                           _power_cell(ev)]))  # fmt: skip
    return "\n".join(lines)
