"""Claims as data: each trained or counted claim of a paper, how the book measures it, and a verdict
computed from the numbers, so that no machine or seed can make a page's table or sentence false.

A chapter declares its claims as :class:`Claim` rows. A row names the paper and section, states the claim
in one sentence, carries the paper's value (taken from :mod:`ecg_lib.papers`, with its source), says how
the book measures it, and holds a function that reads a :class:`Measurement` from an
:class:`~ecg_lib.experiments.ExperimentResult`. :func:`verdict` turns a measurement into one of
:data:`VERDICTS`; :func:`sentence` writes the sentence a page shows; :func:`ledger_table` renders the
chapter's "Paper vs. this book" table with one column per run (live, archived standard, archived full).

Noise: a measurement carries its own standard error and says where it comes from; several seeds combine
by the one rule of :mod:`ecg_lib.evidence` (the test-set part, binomial or paired over images, which does
not shrink with seeds, plus the spread over seeds). A difference counts as shown when it exceeds
:data:`Z` standard errors; otherwise it is "within noise", and the cell states the smallest difference
the run could have seen (its power). A "no gain" claim is an equivalence test against a stated margin
("inconclusive" when the run cannot show it); a claim of an absolute value that the run cannot reach by
construction (a lossy copy, a fraction of the paper's schedule) is "not testable here"; a sign claim
(which side reaches a target first) counts seeds ("2 of 2 seeds").

A typo in a reader (a missing metric, a wrong key) raises :class:`ClaimError` naming the claim and the
experiment: it never turns into a silent "—".
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ecg_lib.evidence import binomial_se, combined_se, paired_difference, unpack_correct
from ecg_lib.profiles import ARCHIVED_PROFILES

__all__ = [
    "ARCHIVED",
    "COLUMNS",
    "DEFAULT_MARGIN",
    "INCONCLUSIVE",
    "KINDS",
    "NOT_TESTABLE",
    "NO_EVIDENCE",
    "VERDICTS",
    "Cell",
    "Claim",
    "ClaimError",
    "Evidence",
    "Ledger",
    "Measurement",
    "NotMeasured",
    "Tally",
    "Z",
    "archived_seeds",
    "binomial_se",
    "difference_se",
    "error_gap",
    "ledger_table",
    "measure",
    "paired_gap",
    "pooled",
    "power",
    "power_text",
    "scoreboard_table",
    "seed_siblings",
    "seed_spread",
    "seeds_gap",
    "sentence",
    "tally",
    "tally_text",
    "verdict",
]

Verdict = Literal["reproduced", "not reproduced", "opposite", "within noise", "inconclusive",
                  "not testable here", "no evidence yet"]  # fmt: skip
VERDICTS: tuple[Verdict, ...] = (
    "reproduced", "not reproduced", "opposite", "within noise", "inconclusive", "not testable here",
    "no evidence yet",
)  # fmt: skip
NO_EVIDENCE: Verdict = "no evidence yet"
NOT_TESTABLE: Verdict = "not testable here"
INCONCLUSIVE: Verdict = "inconclusive"
#: A no-gain claim's default margin: the smallest gain (1 point of error) that would have counted as one.
DEFAULT_MARGIN = 0.01
# A difference counts as shown beyond two standard errors (about 95% for a normal error).
Z = 2.0


class ClaimError(ValueError):
    """A claim's reader failed on a result (a typo, or a result that lacks the metric)."""


class NotMeasured(Exception):
    """Raised by a reader when the run legitimately holds no value for the claim (its profile does not
    train the network, a side missed the target it is timed to); the message is what the cell shows."""


# ----------------------------------------------------------------------------------------------------------
# Noise


def difference_se(error_a: float, n_a: int, error_b: float, n_b: int) -> float:
    """Standard error of the difference of two independent test errors."""
    return math.hypot(binomial_se(error_a, n_a), binomial_se(error_b, n_b))


def seed_spread(values: Sequence[float]) -> float:
    """Standard error of the mean over seeds (sample standard deviation / sqrt(seeds)); needs 2 or more."""
    if len(values) < 2:
        raise ValueError("a spread over seeds needs at least 2 seeds.")
    return statistics.stdev(values) / math.sqrt(len(values))


def _pair(a: float, b: float, labels: tuple[str, str] | None) -> str:
    if labels is None:
        return f"{100 * a:.1f}% vs. {100 * b:.1f}%"
    return f"{100 * a:.1f}% ({labels[0]}) vs. {100 * b:.1f}% ({labels[1]})"


def error_gap(higher: float, lower: float, n: int, *, n_lower: int | None = None,
              labels: tuple[str, str] | None = None) -> Measurement:  # fmt: skip
    """The measurement of "``higher`` is above ``lower``" for two test (or training) errors on ``n``
    images each: the gap, its binomial standard error, and the text ``"higher% vs. lower%"`` (with
    ``labels``: ``"higher% (a) vs. lower% (b)"``)."""
    m = n if n_lower is None else n_lower
    return Measurement(higher - lower, _pair(higher, lower, labels), se=difference_se(higher, n, lower, m),
                       basis=f"binomial SE, {min(n, m):,} images")  # fmt: skip


def paired_gap(higher: float, lower: float, n: int, correct_higher: str | None, correct_lower: str | None,
               labels: tuple[str, str] | None = None) -> Measurement:  # fmt: skip
    """:func:`error_gap` tested paired over the ``n`` test images when both networks' per-image
    correctness is known (:func:`ecg_lib.evidence.pack_correct` text), which is several times tighter
    than comparing two error rates; without it (archives from before the bits), :func:`error_gap`."""
    if correct_higher is None or correct_lower is None:
        return error_gap(higher, lower, n, labels=labels)
    diff, noise = paired_difference([unpack_correct(correct_higher, n)], [unpack_correct(correct_lower, n)])
    return Measurement(diff, _pair(higher, lower, labels), se=noise.se, basis=f"paired SE over {n:,} images")


def seeds_gap(higher: Sequence[float], lower: Sequence[float], n: int,
              labels: tuple[str, str] | None = None) -> Measurement:  # fmt: skip
    """:func:`error_gap` of the mean errors over seeds ``higher[s]``, ``lower[s]`` (seed ``s`` of each
    side), with the one noise rule (:func:`ecg_lib.evidence.combined_se`): the binomial SE of each seed's
    difference, which does not shrink with seeds scored on the same images, combined with the spread of
    the seeds' differences. (The spread alone, from two seeds, once made a 0.18-point threshold where the
    test set alone allows no less than 0.8.)"""
    if len(higher) != len(lower) or not higher:
        raise ValueError(f"need the same seeds on both sides (got {len(higher)} and {len(lower)}).")
    if len(higher) == 1:
        return error_gap(higher[0], lower[0], n, labels=labels)
    a, b = statistics.fmean(higher), statistics.fmean(lower)
    noise = combined_se([difference_se(h, n, lo, n) for h, lo in zip(higher, lower, strict=True)],
                        [h - lo for h, lo in zip(higher, lower, strict=True)])  # fmt: skip
    return Measurement(a - b, f"{_pair(a, b, labels)}, means", se=noise.se,
                       basis=f"{noise.basis}, {n:,} images")  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# Claims and measurements


@dataclass(frozen=True)
class Measurement:
    """What a run measured for one claim.

    ``value``: for a ``"direction"`` claim the effect signed so that positive is the paper's direction
    (e.g. plain-56's training error minus plain-20's); for ``"value"`` and ``"exact"`` claims the measured
    quantity in the paper's unit. ``se``: its standard error (None for exact counts). ``basis``: where the
    error comes from (``"binomial SE, 500 test images"``, ``"spread over 3 seeds"``, ``"exact count"``).
    ``text``: the measurement as the table shows it (``"74.1% vs. 87.6%"``).
    """

    value: float
    text: str
    se: float | None = None
    basis: str = "exact count"
    #: why the run cannot reach the claim's value by construction (set by :func:`measure` from the
    #: claim's ``reach``): the verdict is then "not testable here"
    untestable: str | None = None
    #: a sign claim's count over seeds: (in the paper's direction, the other way, seeds)
    votes: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise ValueError(f"a measurement must be finite (got {self.value}).")
        if self.se is not None and not (math.isfinite(self.se) and self.se >= 0):
            raise ValueError(f"a standard error must be finite and non-negative (got {self.se}).")


KINDS = ("direction", "no_gain", "sign", "value", "exact")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, and how the book checks it.

    ``kind``:
      - ``"direction"``: the paper says an effect has a sign (deeper plain nets train worse); the
        measurement's value is positive in the paper's direction.
      - ``"no_gain"``: the paper says something does *not* help (VGG: LRN does not improve A); the
        measurement's value is the gain the paper says is absent. An equivalence test (Schuirmann's two
        one-sided tests at :data:`Z` standard errors): reproduced when the whole interval
        ``value ± Z SE`` lies below ``+margin`` (the smallest gain that would have counted, default
        :data:`DEFAULT_MARGIN`), i.e. the run excludes a gain as large as the margin (a clear loss is
        allowed: the claim is that it does not help); "not reproduced" when the interval lies wholly
        above the margin; otherwise "inconclusive": the run cannot tell "no gain" from a gain smaller
        than its noise.
      - ``"sign"``: which side reaches a target first (epochs to a training error): each seed's value
        is +1 (the paper's side), -1 or 0. Reproduced when every one of two or more seeds agrees with
        the paper, opposite when every one disagrees, inconclusive otherwise; the cell says "k of n
        seeds", never a standard error.
      - ``"value"``: the paper gives a number (Table 6: 8.75% test error); reproduced when the measurement
        is within ``tolerance`` plus :data:`Z` standard errors of ``target``. ``reach`` (a function of
        the result) returns why a run cannot reach the value by construction (a lossy copy of the
        data, a fraction of the paper's schedule), or None: such a run's verdict is "not testable
        here", never "not reproduced".
      - ``"exact"``: an arithmetic claim (parameters, multiply-adds, a receptive field): reproduced
        within ``tolerance`` (relative; 0 means exactly). It is counted, not trained: ``read`` takes the
        chapter's counted objects (``experiment`` names one), it is the same in every profile and is
        never read from an archive.

    ``noise`` names where a trained claim's threshold comes from ("binomial SE of each test error"); the
    measurement states the figures (its ``basis``). ``section``: the MyST label of the page section that
    measures the claim (None: the chapter's "Paper vs. this book" section). ``paper_effect``: the size
    of the paper's own effect in the measurement's unit (NIN's 1.18 points: 0.0118), so that a "within
    noise" cell can say whether the run could have seen it.
    """

    key: str
    paper: str  # citation key in references.bib ("" for a claim that is not a paper's)
    where: str  # table, figure or section of the paper
    statement: str  # the claim in one sentence
    paper_value: str  # the paper's value as text, from ecg_lib.papers
    source: str  # where the paper's value is stated (from ecg_lib.papers)
    method: str  # how the book measures it
    experiment: str  # the EXPERIMENTS key the reader reads (for "exact": the counted object's name)
    read: Callable[[Any], Measurement]
    kind: Literal["direction", "no_gain", "value", "exact"] = "direction"
    target: float | None = None
    tolerance: float = 0.0
    noise: str = ""
    section: str | None = None
    margin: float = DEFAULT_MARGIN
    paper_effect: float | None = None
    reach: Callable[[Any], str | None] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            known = ", ".join(KINDS)
            raise ValueError(f"claim {self.key!r}: kind must be one of {known} (got {self.kind!r}).")
        if self.kind in ("value", "exact") and self.target is None:
            raise ValueError(f"claim {self.key!r}: a {self.kind!r} claim needs the paper's target value.")
        if self.tolerance < 0:
            raise ValueError(f"claim {self.key!r}: tolerance must be non-negative.")
        if not (math.isfinite(self.margin) and self.margin > 0):
            raise ValueError(f"claim {self.key!r}: a no-gain margin must be positive (got {self.margin}).")
        if self.reach is not None and self.kind != "value":
            raise ValueError(f"claim {self.key!r}: only a 'value' claim has a value a run may not reach.")
        for name in ("key", "where", "statement", "paper_value", "source", "method", "experiment"):
            if not str(getattr(self, name)).strip():
                raise ValueError(f"claim {self.key!r}: {name!r} must not be empty.")
        if not callable(self.read):
            raise ValueError(f"claim {self.key!r}: read must be a function of the result.")

    @property
    def counted(self) -> bool:
        """An arithmetic claim: computed from the definitions, the same in every profile."""
        return self.kind == "exact"

    @property
    def threshold(self) -> str:
        """The verdict's rule in words (the table's last column)."""
        if self.counted:
            if self.tolerance == 0:
                return "exact"
            # relative to the target, or absolute around a target of 0 (see verdict())
            return f"within {self.tolerance:g}" if self.target == 0 else f"within {100 * self.tolerance:g}%"
        if self.kind == "no_gain":
            return (f"{self.noise + '; ' if self.noise else ''}equivalence: the {Z:g}-SE interval below a "
                    f"gain of {100 * self.margin:g} points")  # fmt: skip
        if self.kind == "sign":
            return self.noise or "the sign in every seed"
        return self.noise or f"{Z:g} standard errors"


def measure(claim: Claim, result: Any) -> Measurement | None:
    """``claim.read(result)``; None without a result, or when the reader returns None because the run
    could not measure the quantity (a network missed the target it is timed to). A failing reader (a
    typo, a missing metric) raises :class:`ClaimError`."""
    if result is None:
        return None
    try:
        m = claim.read(result)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError, ZeroDivisionError) as exc:
        what = getattr(result, "profile", None)
        what = f"a {what}-profile result" if what else f"the counted {type(result).__name__}"
        raise ClaimError(
            f"claim {claim.key!r} cannot read experiment {claim.experiment!r} of {what} "
            f"({type(exc).__name__}: {exc}); fix the claim's reader or rerun the experiment."
        ) from exc
    if m is not None and not isinstance(m, Measurement):
        raise ClaimError(f"claim {claim.key!r}: its reader returned {type(m).__name__}, not a Measurement.")
    if m is not None and claim.reach is not None and m.untestable is None:
        why = claim.reach(result)
        if why:
            m = dataclasses.replace(m, untestable=why)
    return m


def power(m: Measurement, z: float = Z) -> float | None:
    """The smallest difference the run could have seen: ``z`` standard errors (None without one)."""
    return z * m.se if m.se else None


def verdict(claim: Claim, m: Measurement | None, z: float = Z) -> Verdict:
    """The verdict of one measurement (see :class:`Claim` for the rules)."""
    if m is None:
        return NO_EVIDENCE
    if m.untestable:
        return NOT_TESTABLE
    noise = z * (m.se or 0.0)
    if claim.kind == "direction":
        if m.value > noise:
            return "reproduced"
        if m.value < -noise:
            return "opposite"
        return "within noise"
    if claim.kind == "sign":
        agree, disagree, n = _votes(m)
        if n >= 2 and agree == n:
            return "reproduced"
        if n >= 2 and disagree == n:
            return "opposite"
        return INCONCLUSIVE
    if claim.kind == "no_gain":
        if m.value - noise > claim.margin:
            return "not reproduced"
        return "reproduced" if m.value + noise <= claim.margin else INCONCLUSIVE
    assert claim.target is not None  # checked in Claim.__post_init__
    if claim.kind == "exact":
        scale = abs(claim.target) or 1.0
        return "reproduced" if abs(m.value - claim.target) <= claim.tolerance * scale else "not reproduced"
    return "reproduced" if abs(m.value - claim.target) <= claim.tolerance + noise else "not reproduced"


def _votes(m: Measurement) -> tuple[int, int, int]:
    if m.votes is not None:
        return m.votes
    return (int(m.value > 0), int(m.value < 0), 1)


_PHRASES: dict[str, str] = {
    "reproduced": "which agrees with the paper",
    "not reproduced": "which does not reproduce the paper's finding",
    "opposite": "which is the opposite of what the paper reports",
    "within noise": "a difference within the noise of this measurement",
    "inconclusive": "which cannot decide the claim",
}


def power_text(claim: Claim, m: Measurement) -> str:
    """What the run could have detected, in words: its 2-SE limit, for a no-gain claim the smallest
    margin it could have shown, and for a within-noise difference whether the paper's effect was
    larger than that limit. Empty for exact counts and sign claims."""
    if claim.kind == "sign":
        agree, _, n = _votes(m)
        return f"{agree} of {n} seed{'s' if n != 1 else ''} in the paper's direction"
    limit = power(m)
    if limit is None:
        return ""
    text = f"it could see a difference of {_fmt_noise(limit, m)}"
    if claim.kind == "no_gain":
        shown = max(m.value + limit, 0.0)
        text = (f"it could show no gain larger than {_fmt_noise(shown, m)}, against a margin of "
                f"{_fmt_noise(claim.margin, m)}")  # fmt: skip
    elif claim.paper_effect is not None and verdict(claim, m) == "within noise":
        seen = "larger than" if claim.paper_effect > limit else "smaller than"
        text += f"; the paper's effect ({_fmt_noise(claim.paper_effect, m)}) is {seen} that"
    return text


def sentence(claim: Claim, m: Measurement | None, profile: str, data: str = "") -> str:
    """The sentence a page shows for one claim, generated from the measurement and its verdict.

    ``data`` names the data the run used (e.g. "lossy JPEG copy of CIFAR-10"), so that an absolute number
    is never shown without it.
    """
    if m is None:
        return f"{claim.statement} ({claim.where}): no {profile}-profile evidence yet."
    v = verdict(claim, m)
    on = f" on the {data}" if data else ""
    head = f"{claim.statement} ({claim.where}; paper: {claim.paper_value})."
    if v == NOT_TESTABLE:
        return (f"{head} The {profile}-profile run{on} measured {m.text}, but it cannot test this value: "
                f"{m.untestable}.")  # fmt: skip
    noise = f" ({m.basis})" if m.se else ""
    said = power_text(claim, m)
    said = f"; {said}{noise}" if said else ""
    return f"{head} The {profile}-profile run{on} measured {m.text}, {_PHRASES[v]}{said}."


def _fmt_noise(x: float, m: Measurement) -> str:
    # errors are fractions: show their noise in percentage points when the text is in percent
    return f"{100 * x:.1f} points" if "%" in m.text or "point" in m.text else f"{x:.3g}"


# ----------------------------------------------------------------------------------------------------------
# A chapter's ledger: its claims, and the evidence of every run

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
                f"(`python -m ecg_lib reproduce {self.chapter} --profile standard`), so the "
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


def cell_text(claim: Claim, m: Measurement, v: Verdict | None = None) -> str:
    """A table cell: the measurement, its verdict in bold, and what the run could have seen (its power),
    or why it cannot test the value."""
    v = v or verdict(claim, m)
    if v == NOT_TESTABLE:
        return f"{m.text}: **{v}** ({m.untestable})"
    said = "" if claim.counted else power_text(claim, m)
    return f"{m.text}: **{v}**" + (f" ({said})" if said else "")


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _paper_cell(claim: Claim) -> str:
    cite = f" {{cite}}`{claim.paper}`" if claim.paper else ""
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


# ----------------------------------------------------------------------------------------------------------
# The scoreboard: every chapter's claims in one table, and the count


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
