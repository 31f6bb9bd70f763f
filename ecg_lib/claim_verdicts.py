"""One claim: how a run's :class:`Measurement` is read, the verdict computed from it, and its words.

A :class:`Claim` row names the paper and section, states the claim in one sentence, carries the paper's
value (from :mod:`ecg_lib.papers`, with its source), says how the book measures it, and holds a function
that reads a :class:`Measurement` from an :class:`~ecg_lib.experiments.ExperimentResult`.
:func:`verdict` turns a measurement into one of :data:`VERDICTS`; :func:`sentence` and
:func:`cell_text` write what a page shows. The noise readers (:func:`error_gap`, :func:`paired_gap`,
:func:`seeds_gap`) build measurements with their standard errors. Re-exported by :mod:`ecg_lib.claims`.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ecg_lib.evidence import binomial_se, combined_se, paired_difference, unpack_correct

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
    larger than that limit; without a standard error, that the run measured no noise and what decides the
    verdict instead (the claim's ``noise``). Sign claims count their seeds."""
    if claim.kind == "sign":
        agree, _, n = _votes(m)
        return f"{agree} of {n} seed{'s' if n != 1 else ''} in the paper's direction"
    limit = power(m)
    if limit is None:
        # no standard error (one seed of a ratio, one probe batch): the row says so, and what decides it
        return f"it measured no noise: {claim.noise}" if claim.noise else "it measured no noise"
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


def cell_text(claim: Claim, m: Measurement, v: Verdict | None = None) -> str:
    """A table cell: the measurement, its verdict in bold, and what the run could have seen (its power),
    or why it cannot test the value."""
    v = v or verdict(claim, m)
    if v == NOT_TESTABLE:
        return f"{m.text}: **{v}** ({m.untestable})"
    said = "" if claim.counted else power_text(claim, m)
    return f"{m.text}: **{v}**" + (f" ({said})" if said else "")
