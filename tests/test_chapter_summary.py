"""A chapter's closing page (ecg_lib.chapters.summary): five generated points and the verdict table in the
scoreboard's three columns, built from the archives and counts alone (no live run needed), so a chapter's
last page can stand on its own."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from ecg_lib.chapters import summary
from ecg_lib.claim_tally import best_cell


def test_five_points_are_a_numbered_list_of_exactly_five() -> None:
    text = summary.five_points([f"point {i}" for i in range(1, 6)])
    assert re.findall(r"^(\d)\. point \1$", text, re.M) == ["1", "2", "3", "4", "5"]
    with pytest.raises(ValueError, match="five points, got 4"):
        summary.five_points(["a", "b", "c", "d"])
    with pytest.raises(ValueError, match="empty"):
        summary.five_points(["a", "b", "", "d", "e"])


def test_the_verdict_table_has_the_scoreboards_three_columns_and_a_folded_method() -> None:
    ev = summary.evidence("nin")
    text = summary.verdict_table(ev)
    header = next(line for line in text.splitlines() if line.startswith("| claim"))
    assert header == "| claim | paper | verdict |"
    rows = [line for line in text.splitlines() if line.startswith("| ") and "claim-nin-" in line]
    assert len(rows) == len(ev)  # one row per claim, each with the id a tile or link can point at
    # how each claim is measured sits in a dropdown below, two columns
    fold = text[text.index(":::{dropdown}"):]
    assert "| claim | how measured; verdict threshold |" in fold
    assert all(line.count(" | ") == 1 for line in fold.splitlines() if line.startswith("| "))


def test_a_finding_speaks_of_the_best_evidence_and_flips_with_it() -> None:
    ev = {e.claim.key: e for e in summary.evidence("nin")}
    gap = ev["gap_beats_fc"]
    text = summary.finding(gap)
    # the archived standard run's verdict, never the live run's (a chapter's last page trains nothing);
    # the verdict is read from the evidence, so a new seed's archive that moves it (seed 1 took NIN's
    # from "opposite" to "within noise") moves the sentence with it
    source, cell = best_cell(gap)
    assert source == "archived standard" and cell.verdict in ("opposite", "within noise", "reproduced")
    assert "The archived standard run measured" in text
    assert f"Verdict: **{cell.verdict}**; it could see" in text
    for other in ("reproduced", "opposite"):
        flipped = replace(gap, cells={**gap.cells, "standard": replace(cell, verdict=other)})
        assert f"Verdict: **{other}**; it could see" in summary.finding(flipped)
    assert text.startswith(ev["gap_beats_fc"].claim.statement)
    # a counted claim says it is counted; a value the run cannot reach says why
    counted = next(e for e in ev.values() if e.claim.counted)
    assert "Counted from the definitions: " in summary.finding(counted)
    assert "Verdict: **not testable here**; the data is a lossy JPEG copy" in summary.finding(ev["nin_error"])


def test_evidence_needs_no_live_run() -> None:
    ev = summary.evidence("resnet")
    trained = [e for e in ev if not e.claim.counted]
    assert trained and all(e.cells["live"].measurement is None for e in trained)
    with pytest.raises(ValueError, match="Unknown chapter"):
        summary.evidence("lenet")
