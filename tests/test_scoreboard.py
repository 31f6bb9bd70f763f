"""The scoreboard: every chapter's claims, linked to a section that exists, and the seed's statements
checked by counts (the whole page is executed by the book build; these tests stay cheap)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecg_lib import chapter_registry
from ecg_lib.chapters import scoreboard
from ecg_lib.claims import tally

ROOT = Path(__file__).resolve().parents[1]


def _labels() -> set[str]:
    pages = [*(ROOT / "notebooks").glob("*.md"), *(ROOT / "book").glob("*.md")]
    return {m for p in pages for m in re.findall(r"^\(([\w-]+)\)=$", p.read_text(), re.M)}


def test_every_claim_links_to_a_label_that_exists() -> None:
    labels = _labels()
    for ledger, _counted in [*scoreboard.ledgers(), (scoreboard.SEED, None)]:
        assert ledger.label in labels, f"{ledger.chapter}: no MyST label ({ledger.label})= in the pages"
        for claim in ledger.claims:
            assert (claim.section or ledger.label) in labels, f"{claim.key}: no label {claim.section}"
    # one ledger per registered chapter, in reading order
    assert [led.chapter for led, _ in scoreboard.ledgers()] == list(chapter_registry.names())


def test_the_seeds_numeric_statements_are_checked(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))
    ev = {e.claim.key: e for e in scoreboard.SEED.evidence(scoreboard._seed_counts(), "quick",
                                                            retrained=False)}  # fmt: skip
    third = ev["seed_one_third"].cells["live"]
    assert third.verdict == "not reproduced"
    assert third.measurement is not None and third.measurement.text.startswith("41.5% (163,328 / 393,216); "
                                                                                "40.6% by the notes' formula")
    assert "7.93% vs. 6.43% (+1.50 points" in ev["seed_1202"].cells["live"].text
    assert ev["seed_1202"].cells["live"].verdict == "not reproduced"
    assert ev["seed_relu_linear"].cells["live"].verdict == "not reproduced"
    t = tally(list(ev.values()))
    assert (t.counted, t.notes, t.notes_hold, t.trained) == (0, 3, 0, 0)
    assert "Of the notes' 3 numeric statements, checked the same way, 0 hold." in scoreboard.count_text(
        list(ev.values()))


@pytest.mark.slow
def test_the_page_counts_every_claim_without_training(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))  # no archive: every trained claim awaits evidence
    ev = scoreboard.evidence("quick")
    t = tally(ev)
    assert t.trained == t.awaiting > 0 and t.reproduced == t.not_reproduced == 0
    assert t.counted + t.notes == sum(e.claim.counted for e in ev) and t.notes == len(scoreboard.SEED.claims)
    assert t.counted + t.notes + t.trained == len(ev)
    table = scoreboard.table(ev, "quick")
    assert table.count("\n") == len(ev) + 1 and "| trained | in the chapter | no evidence yet |" in table
    # no failure to count, so none is named: "0 not reproduced" is no longer printed
    assert f"0 reproduced, {t.trained} awaiting evidence." in scoreboard.count_text(ev)
