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

Layout, by what changes together: :mod:`ecg_lib.claim_verdicts` (one claim: :class:`Claim`,
:class:`Measurement`, the noise readers, :func:`verdict`, its sentence and cell),
:mod:`ecg_lib.claim_ledgers` (a chapter's :class:`Ledger`: the evidence of the live run and of every
archived seed, its table) and :mod:`ecg_lib.claim_tally` (the scoreboard: each paper figure once, with
its best evidence and tile; its table and count). Every public name is importable from here.
"""

from __future__ import annotations

from ecg_lib.claim_ledgers import (
    ARCHIVED,
    COLUMNS,
    Cell,
    Evidence,
    Ledger,
    archived_seeds,
    ledger_table,
    pooled,
    seed_siblings,
)
from ecg_lib.claim_tally import (
    TILES,
    Figure,
    Tally,
    best_cell,
    best_verdict,
    by_chapter,
    figures,
    merge_verdicts,
    notes_table,
    scoreboard_table,
    tally,
    tally_text,
    tile,
    tile_count_text,
)
from ecg_lib.claim_verdicts import (
    DEFAULT_MARGIN,
    INCONCLUSIVE,
    KINDS,
    NO_EVIDENCE,
    NOT_TESTABLE,
    VERDICTS,
    Claim,
    ClaimError,
    Measurement,
    NotMeasured,
    Verdict,
    Z,
    binomial_se,
    cell_text,
    difference_se,
    error_gap,
    measure,
    paired_gap,
    power,
    power_text,
    seed_spread,
    seeds_gap,
    sentence,
    verdict,
)

__all__ = [
    "ARCHIVED",
    "COLUMNS",
    "DEFAULT_MARGIN",
    "INCONCLUSIVE",
    "KINDS",
    "NOT_TESTABLE",
    "NO_EVIDENCE",
    "TILES",
    "VERDICTS",
    "Cell",
    "Claim",
    "ClaimError",
    "Evidence",
    "Figure",
    "Ledger",
    "Measurement",
    "NotMeasured",
    "Tally",
    "Verdict",
    "Z",
    "archived_seeds",
    "best_cell",
    "best_verdict",
    "binomial_se",
    "by_chapter",
    "cell_text",
    "difference_se",
    "error_gap",
    "figures",
    "ledger_table",
    "measure",
    "merge_verdicts",
    "notes_table",
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
    "tile",
    "tile_count_text",
    "verdict",
]
