"""Claims as data: each trained or counted claim of a paper, how the book measures it, and a verdict
computed from the numbers, so that no machine or seed can make a page's table or sentence false.

A chapter declares its claims as :class:`Claim` rows. A row names the paper and section, states the claim
in one sentence, carries the paper's value (taken from :mod:`ecg_lib.papers`, with its source), says how
the book measures it, and holds a function that reads a :class:`Measurement` from an
:class:`~ecg_lib.experiments.ExperimentResult`. :func:`verdict` turns a measurement into one of
:data:`VERDICTS`; :func:`sentence` writes the sentence a page shows; :func:`ledger_table` renders the
chapter's "Paper vs. this book" table with one column per run (live, archived standard, archived full).

Noise: a measurement carries its own standard error and says where it comes from (the binomial standard
error of a test error on n images, or the spread over seeds). A difference counts as shown when it
exceeds :data:`Z` standard errors; otherwise it is "within noise". A reader sees the basis in the table.

A typo in a reader (a missing metric, a wrong key) raises :class:`ClaimError` naming the claim and the
experiment: it never turns into a silent "—".
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from ecg_lib.experiments import ExperimentResult

__all__ = [
    "NO_EVIDENCE",
    "VERDICTS",
    "Claim",
    "ClaimError",
    "Measurement",
    "Z",
    "binomial_se",
    "difference_se",
    "ledger_table",
    "measure",
    "seed_spread",
    "sentence",
    "verdict",
]

Verdict = Literal["reproduced", "not reproduced", "opposite", "within noise", "no evidence yet"]
VERDICTS: tuple[Verdict, ...] = (
    "reproduced", "not reproduced", "opposite", "within noise", "no evidence yet",
)  # fmt: skip
NO_EVIDENCE: Verdict = "no evidence yet"
# A difference counts as shown beyond two standard errors (about 95% for a normal error).
Z = 2.0


class ClaimError(ValueError):
    """A claim's reader failed on a result (a typo, or a result that lacks the metric)."""


# ----------------------------------------------------------------------------------------------------------
# Noise


def binomial_se(error: float, n: int) -> float:
    """Standard error of a test error measured on ``n`` images: sqrt(p (1 - p) / n)."""
    if n <= 0:
        raise ValueError(f"n must be positive (got {n}).")
    if not 0.0 <= error <= 1.0:
        raise ValueError(f"error must be a fraction in [0, 1] (got {error}).")
    return math.sqrt(error * (1.0 - error) / n)


def difference_se(error_a: float, n_a: int, error_b: float, n_b: int) -> float:
    """Standard error of the difference of two independent test errors."""
    return math.hypot(binomial_se(error_a, n_a), binomial_se(error_b, n_b))


def seed_spread(values: Sequence[float]) -> float:
    """Standard error of the mean over seeds (sample standard deviation / sqrt(seeds)); needs 2 or more."""
    if len(values) < 2:
        raise ValueError("a spread over seeds needs at least 2 seeds.")
    return statistics.stdev(values) / math.sqrt(len(values))


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

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise ValueError(f"a measurement must be finite (got {self.value}).")
        if self.se is not None and not (math.isfinite(self.se) and self.se >= 0):
            raise ValueError(f"a standard error must be finite and non-negative (got {self.se}).")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, and how the book checks it.

    ``kind``:
      - ``"direction"``: the paper says an effect has a sign (deeper plain nets train worse); the
        measurement's value is positive in the paper's direction.
      - ``"value"``: the paper gives a number (Table 6: 8.75% test error); reproduced when the measurement
        is within ``tolerance`` plus :data:`Z` standard errors of ``target``.
      - ``"exact"``: a count (parameters, multiply-adds): reproduced within ``tolerance`` (relative).
    """

    key: str
    paper: str  # citation key in references.bib
    where: str  # table, figure or section of the paper
    statement: str  # the claim in one sentence
    paper_value: str  # the paper's value as text, from ecg_lib.papers
    source: str  # where the paper's value is stated (from ecg_lib.papers)
    method: str  # how the book measures it
    experiment: str  # the chapter's EXPERIMENTS key whose result the reader reads
    read: Callable[[ExperimentResult], Measurement]
    kind: Literal["direction", "value", "exact"] = "direction"
    target: float | None = None
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("direction", "value", "exact"):
            raise ValueError(f"claim {self.key!r}: kind must be direction, value or exact "
                             f"(got {self.kind!r}).")  # fmt: skip
        if self.kind in ("value", "exact") and self.target is None:
            raise ValueError(f"claim {self.key!r}: a {self.kind!r} claim needs the paper's target value.")
        if self.tolerance < 0:
            raise ValueError(f"claim {self.key!r}: tolerance must be non-negative.")


def measure(claim: Claim, result: ExperimentResult | None) -> Measurement | None:
    """``claim.read(result)``; None without a result. A failing reader raises :class:`ClaimError`."""
    if result is None:
        return None
    try:
        m = claim.read(result)
    except (KeyError, IndexError, TypeError, AttributeError, ValueError, ZeroDivisionError) as exc:
        raise ClaimError(
            f"claim {claim.key!r} cannot read experiment {claim.experiment!r} of a {result.profile}-profile "
            f"result ({type(exc).__name__}: {exc}); fix the claim's reader or rerun the experiment."
        ) from exc
    if not isinstance(m, Measurement):
        raise ClaimError(f"claim {claim.key!r}: its reader returned {type(m).__name__}, not a Measurement.")
    return m


def verdict(claim: Claim, m: Measurement | None, z: float = Z) -> Verdict:
    """The verdict of one measurement (see :class:`Claim` for the rules)."""
    if m is None:
        return NO_EVIDENCE
    noise = z * (m.se or 0.0)
    if claim.kind == "direction":
        if m.value > noise:
            return "reproduced"
        if m.value < -noise:
            return "opposite"
        return "within noise"
    assert claim.target is not None  # checked in Claim.__post_init__
    if claim.kind == "exact":
        scale = abs(claim.target) or 1.0
        return "reproduced" if abs(m.value - claim.target) <= claim.tolerance * scale else "not reproduced"
    return "reproduced" if abs(m.value - claim.target) <= claim.tolerance + noise else "not reproduced"


_PHRASES: dict[str, str] = {
    "reproduced": "which agrees with the paper",
    "not reproduced": "which does not reproduce the paper's value",
    "opposite": "which is the opposite of what the paper reports",
    "within noise": "a difference within the noise of this measurement",
}


def sentence(claim: Claim, m: Measurement | None, profile: str, data: str = "") -> str:
    """The sentence a page shows for one claim, generated from the measurement and its verdict.

    ``data`` names the data the run used (e.g. "lossy JPEG copy of CIFAR-10"), so that an absolute number
    is never shown without it.
    """
    if m is None:
        return f"{claim.statement} ({claim.where}): no {profile}-profile evidence yet."
    v = verdict(claim, m)
    noise = ""
    if m.se:
        noise = f"; {Z:g} standard errors are {_fmt_noise(Z * m.se, m)} ({m.basis})"
    on = f" on the {data}" if data else ""
    return (f"{claim.statement} ({claim.where}; paper: {claim.paper_value}). The {profile}-profile run{on} "
            f"measured {m.text}, {_PHRASES[v]}{noise}.")  # fmt: skip


def _fmt_noise(x: float, m: Measurement) -> str:
    # errors are fractions: show their noise in percentage points when the text is in percent
    return f"{100 * x:.1f} points" if "%" in m.text else f"{x:.3g}"


# ----------------------------------------------------------------------------------------------------------
# The chapter's table


def _cell(claim: Claim, result: ExperimentResult | None) -> tuple[str, Verdict, Measurement | None]:
    m = measure(claim, result)
    if m is None:
        return "—", NO_EVIDENCE, None
    v = verdict(claim, m)
    return f"{m.text} ({v})", v, m


def ledger_table(
    claims: Sequence[Claim],
    runs: Mapping[str, Mapping[str, ExperimentResult] | None],
    *,
    cite: bool = True,
) -> str:
    """The "Paper vs. this book" table: one row per claim, one column per run, and the verdict.

    ``runs`` maps a column heading (``"this run (quick)"``, ``"standard (archived)"``, ``"full
    (archived)"``) to that run's results by experiment key, or None when the run does not exist (its
    cells say "—" and its verdicts "no evidence yet"). A missing experiment in an existing run raises
    :class:`ClaimError`. The last column is the verdict of the rightmost column that has evidence (full
    over standard over live), with the noise basis it rests on.
    """
    names = list(runs)
    header = ["claim", "paper", *names, "verdict (basis)"]
    rows = []
    for claim in claims:
        cells, best = [], (NO_EVIDENCE, None)
        for name in names:
            results = runs[name]
            result = None
            if results is not None:
                if claim.experiment not in results:
                    have = ", ".join(results) or "nothing"
                    raise ClaimError(f"claim {claim.key!r} needs experiment {claim.experiment!r}, which the "
                                     f"{name!r} run lacks (it has {have}).")  # fmt: skip
                result = results[claim.experiment]
            text, v, m = _cell(claim, result)
            cells.append(text)
            if m is not None:
                best = (v, m)
        v, m = best
        basis = "" if m is None else f" ({m.basis})"
        ref = f" {{cite}}`{claim.paper}`" if cite else ""
        rows.append([f"{claim.statement} ({claim.where})", f"{claim.paper_value}{ref}", *cells,
                     f"{v}{basis}"])  # fmt: skip
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)
