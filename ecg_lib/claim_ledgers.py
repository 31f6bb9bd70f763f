"""A chapter's claims across runs: its :class:`Ledger`, the evidence of this build's run and of the
archived standard and full runs (every archived seed pooled by the one noise rule), and its "Paper vs.
this book" table. Re-exported by :mod:`ecg_lib.claims`.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ecg_lib.claim_verdicts import (
    NO_EVIDENCE,
    Claim,
    ClaimError,
    Measurement,
    NotMeasured,
    Verdict,
    Z,
    _fmt_noise,
    _votes,
    cell_text,
    measure,
    sentence,
    verdict,
)
from ecg_lib.evidence import combined_se
from ecg_lib.profiles import ARCHIVED_PROFILES

#: The runs a claim is checked against, in the order the table shows them: this build's live run, then
#: the archived standard and full runs (``results/``; see :mod:`ecg_lib.results`).
ARCHIVED: tuple[str, ...] = ARCHIVED_PROFILES  # ("standard", "full"): shorter runs first
COLUMNS = ("live", *ARCHIVED)


@dataclass(frozen=True)
class Cell:
    """One claim in one run: the measurement (None: no evidence), its verdict and the text shown."""

    measurement: Measurement | None
    verdict: Verdict
    text: str


@dataclass(frozen=True)
class Evidence:
    """One claim and its cells by column (``"live"``, ``"standard"``, ``"full"``)."""

    ledger: Ledger
    claim: Claim
    cells: Mapping[str, Cell]

    @property
    def archived_verdict(self) -> Verdict:
        """The verdict of the paper-scale evidence: the full archive over the standard one (a counted
        claim's is its own: the same in every profile)."""
        for column in reversed(ARCHIVED):
            if self.cells[column].measurement is not None:
                return self.cells[column].verdict
        return self.cells["live"].verdict if self.claim.counted else NO_EVIDENCE

    @property
    def basis(self) -> str:
        """Where each run's noise comes from, or the claim's declared basis before any evidence."""
        if self.claim.counted:
            return self.claim.threshold
        measured = [(c, cell.measurement) for c, cell in self.cells.items() if cell.measurement is not None]
        if not measured:
            return self.claim.threshold
        seen = "; ".join(f"{_COLUMN_NAMES.get(c, c)}: {m.basis}" for c, m in measured)
        # "2 SE" only where a standard error exists; a sign-only measurement says so in its basis
        return f"{Z:g} SE; {seen}" if any(m.se for _, m in measured) else seen


_COLUMN_NAMES = {"live": "this run"}
_NOT_RETRAINED = "trained in the chapter, not on this page"


def seed_siblings(chapter: str, experiment: str) -> list[tuple[int, str]]:
    """``[(seed, key), ...]``: ``experiment`` and the other seeds of it that the chapter registers in its
    ``EXPERIMENTS`` (``lrn`` and ``lrn_seed1``; ``race_seed0``, ``race_seed1``, ...), seed order. A key
    without a ``_seed<k>`` suffix is seed 0."""
    from ecg_lib.experiments import CHAPTERS, SEED_SUFFIX, chapter_module

    keys = list(chapter_module(chapter).EXPERIMENTS) if chapter in CHAPTERS else []
    base = SEED_SUFFIX.sub("", experiment)
    found = {experiment, *(k for k in keys if SEED_SUFFIX.search(k) and SEED_SUFFIX.sub("", k) == base)}

    def seed(key: str) -> int:
        m = SEED_SUFFIX.search(key)
        return int(m.group(1)) if m else 0

    return sorted((seed(k), k) for k in found)


def archived_seeds(chapter: str, experiments: Sequence[str],
                   root: Any = None) -> dict[str, dict[str, list[tuple[int, Any]]]]:  # fmt: skip
    """``{profile: {experiment: [(seed, archived result), ...]}}`` over every archived seed."""
    from ecg_lib.results import find_archive  # imported here: results imports experiments, not claims

    out: dict[str, dict[str, list[tuple[int, Any]]]] = {}
    for p in ARCHIVED:
        out[p] = {}
        for e in experiments:
            found = [(seed, find_archive(chapter, key, root, profile=p))
                     for seed, key in seed_siblings(chapter, e)]  # fmt: skip
            out[p][e] = [(seed, r) for seed, r in found if r is not None]
    return out


def pooled(claim: Claim, seeded: Sequence[tuple[int, Any]]) -> Measurement | None:
    """One measurement from the runs of several seeds: the mean, with the one noise rule of
    :func:`ecg_lib.evidence.combined_se` (each seed's test-set SE, which does not shrink with seeds
    scored on the same images, combined with the spread over seeds); a sign claim counts its seeds. One
    run is measured as it is. None without a run; :class:`NotMeasured` when no run holds the value."""
    measured, why = [], []
    for seed, result in seeded:
        try:
            m = measure(claim, result)
        except NotMeasured as exc:
            why.append((seed, exc))
            continue
        if m is not None:
            measured.append((seed, m))
    if not measured:
        reasons = list(dict.fromkeys(str(exc) for _, exc in why))
        if len(reasons) == 1:  # one reason (one seed, or the same for all): said once
            raise why[0][1]
        if why:  # every seed's reason: they differ (one seed's bound, another's)
            raise NotMeasured("; ".join(f"seed {seed}: {exc}" for seed, exc in why))
        return None
    if len(measured) == 1:
        return measured[0][1]
    ms = [m for _, m in measured]
    values = [m.value for m in ms]
    text = "; ".join(f"seed {seed}: {m.text}" for seed, m in measured)
    untestable = next((m.untestable for m in ms if m.untestable), None)
    if claim.kind == "sign":
        votes = [_votes(m) for m in ms]
        agree, disagree, n = (sum(v[i] for v in votes) for i in range(3))
        return Measurement(statistics.fmean(values), text, basis=f"the sign in each of {n} seeds",
                           votes=(agree, disagree, n))  # fmt: skip
    if not all(m.se for m in ms):  # no standard error to combine (a bound, a one-net comparison)
        return Measurement(statistics.fmean(values), text, basis=f"{len(ms)} seeds; {ms[0].basis}",
                           untestable=untestable)  # fmt: skip
    paired = all("paired" in m.basis for m in ms)
    noise = combined_se([m.se or 0.0 for m in ms], values, paired=paired)
    basis = (f"{noise.basis}: test-set SE {_fmt_noise(noise.test, ms[0])}, "
             f"seed spread SE {_fmt_noise(noise.seeds or 0.0, ms[0])}")  # fmt: skip
    return Measurement(statistics.fmean(values), text, se=noise.se, basis=basis, untestable=untestable)


@dataclass(frozen=True)
class Ledger:
    """A chapter's claims as data: ``chapter`` (its archive folder), ``title`` (for links), ``label`` (the
    MyST label of its "Paper vs. this book" section) and the :class:`Claim` rows in table order."""

    chapter: str
    title: str
    label: str
    claims: tuple[Claim, ...]

    def __post_init__(self) -> None:
        keys = [c.key for c in self.claims]
        doubles = sorted({k for k in keys if keys.count(k) > 1})
        if doubles:
            raise ValueError(f"ledger {self.chapter!r}: claim keys used twice: {', '.join(doubles)}.")

    def claim(self, key: str) -> Claim:
        """The claim with ``key``; an unknown key raises :class:`ClaimError` naming the known ones."""
        for c in self.claims:
            if c.key == key:
                return c
        raise ClaimError(f"ledger {self.chapter!r} has no claim {key!r} "
                         f"(it has {', '.join(c.key for c in self.claims)}).")  # fmt: skip

    @property
    def trained_experiments(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.experiment for c in self.claims if not c.counted))

    def evidence(self, live: Mapping[str, Any], profile: str, *, retrained: bool = True,
                 root: Any = None) -> list[Evidence]:  # fmt: skip
        """Every claim's cells. ``live`` maps each experiment key (and each counted object's name) to
        this build's result; a key that is missing raises :class:`ClaimError` (a typo), a None value
        means "not run in this profile". With ``retrained=False`` (the scoreboard) trained claims are
        not looked up in ``live``: their live cell says they are shown in the chapter. Archives come
        from :func:`ecg_lib.results.find_archive`; a missing file is "no evidence yet", a malformed one
        raises :class:`~ecg_lib.results.ArchiveError`."""
        archives = archived_seeds(self.chapter, self.trained_experiments, root)
        out = []
        for claim in self.claims:
            cells: dict[str, Cell] = {}
            if claim.counted or retrained:
                if claim.experiment not in live:
                    have = ", ".join(live) or "nothing"
                    raise ClaimError(f"claim {claim.key!r} of {self.chapter!r} needs {claim.experiment!r}, "
                                     f"which this run lacks (it has {have}).")  # fmt: skip
                cells["live"] = _cell(claim, live[claim.experiment], f"not run in the {profile} profile")
            else:
                cells["live"] = Cell(None, NO_EVIDENCE, _NOT_RETRAINED)
            for p in ARCHIVED:
                if claim.counted:
                    cells[p] = Cell(cells["live"].measurement, cells["live"].verdict, "same (counted)")
                else:
                    cells[p] = _archived_cell(claim, archives[p][claim.experiment])
            out.append(Evidence(self, claim, cells))
        return out

    def table(self, live: Mapping[str, Any], profile: str, *, root: Any = None) -> str:
        """The chapter's "Paper vs. this book" table (see :func:`ledger_table`)."""
        return ledger_table(self.evidence(live, profile, root=root), profile)

    def archived_sentence(self, key: str, *, root: Any = None, data: str = "") -> str:
        """A sentence on the archived evidence of one claim, generated: the full run's measurement and
        verdict (else the standard run's), or that no archive exists yet."""
        claim = self.claim(key)
        if claim.counted:
            raise ClaimError(f"claim {key!r} is counted: it has no archived run.")
        archives = archived_seeds(self.chapter, (claim.experiment,), root)
        unmeasured: tuple[str, NotMeasured] | None = None
        for p in reversed(ARCHIVED):
            try:
                m = pooled(claim, archives[p][claim.experiment])
            except NotMeasured as why:
                unmeasured = unmeasured or (p, why)
                continue
            if m is not None:
                return sentence(claim, m, f"archived {p}", data)
        if unmeasured is not None:  # archived, but the run could not measure the quantity: say why
            p, why = unmeasured
            return (f"{claim.statement} ({claim.where}; paper: {claim.paper_value}). The archived "
                    f"{p}-profile run could not measure it: {why}.")  # fmt: skip
        return (f"No archived standard- or full-profile run of this experiment exists yet "
                f"(`python -m ecg_lib reproduce {self.chapter} --profile standard --experiments "
                f"{claim.experiment}`), so the "
                f"\"Paper vs. this book\" table lists its archived columns as no evidence yet.")  # fmt: skip


def _archived_cell(claim: Claim, seeded: Sequence[tuple[int, Any]]) -> Cell:
    try:
        m = pooled(claim, seeded)
    except NotMeasured as why:
        return Cell(None, NO_EVIDENCE, str(why))
    if m is None:
        return Cell(None, NO_EVIDENCE, "no archive: no evidence yet" if not seeded else "not measurable")
    v = verdict(claim, m)
    return Cell(m, v, cell_text(claim, m, v))


def _cell(claim: Claim, result: Any, missing: str) -> Cell:
    try:
        m = measure(claim, result)
    except NotMeasured as why:
        return Cell(None, NO_EVIDENCE, str(why))
    if m is None:
        return Cell(None, NO_EVIDENCE, missing if result is None else "not measurable in this run")
    v = verdict(claim, m)
    return Cell(m, v, cell_text(claim, m, v))


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _paper_cell(claim: Claim) -> str:
    cite = f" {{cite}}`{claim.paper}`" if claim.paper else ""
    # no nested parentheses: a value that has its own puts its source after a semicolon
    if "(" in claim.paper_value:
        return f"{claim.paper_value}; {claim.source}{cite}"
    return f"{claim.paper_value} ({claim.source}){cite}"


def ledger_table(evidence: Sequence[Evidence], profile: str) -> str:
    """The "Paper vs. this book" table: per claim the paper's value with its source, this run's, the
    archived standard and full runs' measurement with its verdict, how the book measures it and the
    threshold with its noise basis. A line above it states the rule."""
    header = ["claim", "paper", f"this run ({profile})", *(f"{p} (archived)" for p in ARCHIVED),
              "how measured; verdict threshold"]  # fmt: skip
    lines = [
        f"Each verdict is computed from that run's numbers: a trained difference counts beyond {Z:g} "
        "standard errors (the test set's binomial or paired standard error combined with the spread over "
        "seeds, as the last column says), and each cell says the smallest difference the run could have "
        "seen; a \"no gain\" claim holds only when the run excludes a gain as large as its margin "
        "(otherwise inconclusive); a paper's absolute value that the run cannot reach by construction is "
        "not testable here; an arithmetic claim is checked exactly or within the stated tolerance. No "
        "archive file means no evidence yet.",
        "",
        _row(header),
        "|" + "---|" * len(header),
    ]
    for ev in evidence:
        c = ev.claim
        lines.append(_row([f"{c.statement} ({c.where})", _paper_cell(c),
                           *(ev.cells[col].text for col in COLUMNS), f"{c.method}; {ev.basis}"]))  # fmt: skip
    return "\n".join(lines)
