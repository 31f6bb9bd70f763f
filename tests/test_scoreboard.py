"""The scoreboard: every chapter's claims, linked to a section that exists, each paper figure once, a tile
per claim coloured by its best evidence, the seed's statements apart; and the introduction's five points
generated from the same ledgers (the whole pages are executed by the book build; these tests stay cheap)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from scoreboard_check import first_screen_problems, grid_problems, intro_problems, parse_grid

from ecg_lib import chapter_registry
from ecg_lib.chapters import intro, scoreboard
from ecg_lib.claims import (
    NO_EVIDENCE,
    Cell,
    Claim,
    Evidence,
    Ledger,
    Measurement,
    best_cell,
    figures,
    merge_verdicts,
    tally,
)
from ecg_lib.experiments import ExperimentResult
from ecg_lib.results import save_archive

ROOT = Path(__file__).resolve().parents[1]


def _labels() -> set[str]:
    pages = [*(ROOT / "notebooks").glob("*.md"), *(ROOT / "book").glob("*.md")]
    return {m for p in pages for m in re.findall(r"^\(([\w-]+)\)=$", p.read_text(), re.M)}


# ----------------------------------------------------------------------------------------------------------
# A small board: one claim of each verdict, a paper figure checked by two chapters, a note


def _claim(key: str, kind: str = "direction", *, target: float | None = None, paper: str = "he2016deep",
           where: str = "Fig. 6") -> Claim:  # fmt: skip
    return Claim(key, paper, where, f"Claim {key} is true", "pv", "src", "m", "exp", lambda r: None,
                 kind=kind, target=target)  # type: ignore[arg-type]  # fmt: skip


_NONE = Cell(None, NO_EVIDENCE, "no archive: no evidence yet")
_LIVE = Cell(None, NO_EVIDENCE, "trained in the chapter, not on this page")


def _ev(ledger: Ledger, key: str, verdict: str, column: str = "standard") -> Evidence:
    """A claim's evidence as a ledger would give it: a count in every column, or one archived cell."""
    claim = ledger.claim(key)
    if claim.counted:
        cell = Cell(Measurement(1.0, "1,000"), verdict, f"1,000: **{verdict}**")  # type: ignore[arg-type]
        return Evidence(ledger, claim, {"live": cell, "standard": cell, "full": cell})
    cells = {"live": _LIVE, "standard": _NONE, "full": _NONE}
    if verdict != NO_EVIDENCE:
        m = Measurement(0.02, "12.0% vs. 10.0%", se=0.005, basis="b")
        cells[column] = Cell(m, verdict, f"12.0% vs. 10.0%: **{verdict}**")  # type: ignore[arg-type]
    return Evidence(ledger, claim, cells)


VERDICTS = {"held": "reproduced", "failed": "not reproduced", "opp": "opposite", "noise": "within noise",
            "inc": "inconclusive", "untest": "not testable here", "none": NO_EVIDENCE, "count": "reproduced"}
TILE_OF = {"held": "holds", "failed": "fails", "opp": "fails", "noise": "noise", "inc": "noise",
           "untest": "untestable", "none": "none", "count": "holds"}  # fmt: skip
KINDS = {"inc": "no_gain", "untest": "value", "count": "exact"}
A = Ledger("alexnet", "AlexNet", "alexnet-paper-vs-book", tuple(
    _claim(k, KINDS.get(k, "direction"), target=0.0875 if k == "untest" else 1.0 if k == "count" else None,
           where="Table 6" if k == "untest" else "Fig. 6") for k in VERDICTS))  # fmt: skip
# the same paper figure as A's "untest" (He et al., Table 6, 8.75%), and a claim of its own
B = Ledger("resnet", "ResNet", "resnet-paper-vs-book", (
    _claim("dup", "value", target=0.0875, where="Table 6"), _claim("own")))  # fmt: skip
NOTES = Ledger("seed", "the notes", "seed-notes",
               (_claim("note", "exact", target=1.0, paper="", where="notes"),))  # fmt: skip


def board(**verdicts: str) -> list[Evidence]:
    """The small board's evidence, with some verdicts changed (``held="opposite"``)."""
    v = {**VERDICTS, **verdicts}
    return [*(_ev(A, k, v[k]) for k in VERDICTS), _ev(B, "dup", v.get("dup", "not testable here")),
            _ev(B, "own", v.get("own", "reproduced")), _ev(NOTES, "note", "not reproduced")]  # fmt: skip


def test_one_tile_per_claim_in_its_chapters_row_with_its_verdicts_class() -> None:
    ev = board()
    page = scoreboard.grid(ev) + scoreboard.table(ev) + scoreboard.notes_table(ev)
    grid = parse_grid(page)
    assert [chapter for chapter, _ in grid.rows] == ["alexnet", "resnet", "seed"]
    tiles = dict(grid.rows)
    # A's eight claims, one tile each, coloured by verdict; B's duplicate of A's figure sits with A
    assert [(href, cls) for href, cls in tiles["alexnet"]] == [
        (f"#claim-alexnet-{k}", f"ecg-tile ecg-{TILE_OF[k]}") for k in VERDICTS]
    assert tiles["resnet"] == [("#claim-resnet-own", "ecg-tile ecg-holds")]
    assert tiles["seed"] == [("#claim-seed-note", "ecg-tile ecg-fails")]
    # every tile links to a row of the table that exists; the grid opens with the count
    assert grid_problems(page, ["alexnet", "resnet"]) == []
    assert scoreboard.count_line(ev) == (
        "9 claims of the papers: 3 hold, 2 fail, 2 within noise or inconclusive, 1 not testable here, "
        "1 without evidence yet.")  # fmt: skip
    assert page.index("ecg-count") < page.index("ecg-row")
    # colour is not the only cue: each tile carries its symbol, the legend names every kind
    assert '"#claim-alexnet-failed"' in page and re.search(r'href="#claim-alexnet-failed"[^>]*>✗</a>', page)
    for label in ("holds", "fails", "within noise or inconclusive", "not testable here", "no evidence yet"):
        assert f"</span>{label}</span>" in page
    # the shared figure's tile names both chapters
    assert "Claim untest is true (checked in AlexNet and ResNet): not testable here" in page


def test_the_check_finds_a_missing_row_a_dead_link_and_a_tile_below_the_screen() -> None:
    ev = board()
    page = scoreboard.grid(ev) + scoreboard.table(ev) + scoreboard.notes_table(ev)
    assert grid_problems(page, ["alexnet", "resnet", "vgg"]) == ["chapters without a row of tiles: vgg"]
    dead = page.replace('<span id="claim-alexnet-opp"></span>', "")
    assert grid_problems(dead, ["alexnet"]) == [
        "alexnet: tile links to '#claim-alexnet-opp', which no element of the page has"]
    no_count = page.replace("ecg-count", "ecg-other")
    assert grid_problems(no_count, ["alexnet"]) == ["no count (.ecg-count) in the page"]

    def box(top: float) -> dict[str, float]:
        return {"top": top, "bottom": top + 25, "left": 480, "right": 860}

    boxes = {"count": box(200), "rows": {
        "alexnet": {"row": box(270), "tiles": [box(270)]},
        "resnet": {"row": box(890), "tiles": [box(880), box(890)]}}}  # fmt: skip
    assert first_screen_problems(boxes, ["alexnet", "resnet"]) == [
        "resnet: its tiles reach y = 915, below the first screen (900 px)"]
    boxes["rows"]["resnet"] = {"row": box(300), "tiles": [box(300)]}
    assert first_screen_problems(boxes, ["alexnet", "resnet"]) == []
    assert first_screen_problems({"count": None, "rows": {}}, ["alexnet"]) == [
        "no count on the page", "alexnet: no tiles on the page"]
    assert intro_problems({"top": 270, "bottom": 800, "items": ["a"] * 5}) == []
    assert intro_problems({"top": 950, "bottom": 990, "items": ["a"] * 4}) == [
        "the first list has 4 points, not 5", "the five points start at y = 950, below the first screen"]
    assert intro_problems(None) == ["no list after the title: the five points are missing"]


def test_best_evidence_is_the_archive_then_the_live_run_then_none() -> None:
    full = _ev(A, "held", "opposite", column="full")
    both = Evidence(A, full.claim, {**full.cells, "standard": _ev(A, "held", "reproduced").cells["standard"]})
    assert best_cell(both)[0] == "archived full" and best_cell(both)[1].verdict == "opposite"
    live = Cell(Measurement(0.02, "x", se=0.005), "within noise", "x: **within noise**")
    quick = Evidence(A, full.claim, {"live": live, "standard": _NONE, "full": _NONE})
    assert best_cell(quick) == ("live", live)
    assert best_cell(_ev(A, "none", NO_EVIDENCE))[1].verdict == NO_EVIDENCE
    assert best_cell(_ev(A, "count", "reproduced"))[0] == "counted"


def test_checks_of_one_figure_merge_to_their_most_informative_verdict() -> None:
    assert merge_verdicts(["not testable here", NO_EVIDENCE]) == "not testable here"
    assert merge_verdicts(["within noise", "reproduced", "not testable here"]) == "reproduced"
    assert merge_verdicts(["reproduced", "opposite"]) == "inconclusive"  # shown both ways: unsettled
    assert merge_verdicts(["not reproduced", "opposite"]) == "not reproduced"
    assert merge_verdicts(["opposite", "opposite"]) == "opposite"
    assert merge_verdicts([NO_EVIDENCE, NO_EVIDENCE]) == NO_EVIDENCE
    # the count follows the merged figure: A's and B's 8.75% are one trained claim, not two
    t = tally(board(untest="reproduced"))  # one check shows it, the other cannot test it
    assert (t.trained, t.values, t.values_reproduced, t.not_testable) == (8, 1, 1, 0)  # 9 checks


def _every_claim() -> list[Evidence]:
    """Every ledger's claims with evidence-free cells (counts as holding): what figures() groups on."""
    out = []
    for ledger in [*(led for led, _ in scoreboard.ledgers()), scoreboard.SEED]:
        out += [_ev(ledger, c.key, "reproduced" if c.counted else NO_EVIDENCE) for c in ledger.claims]
    return out


def test_each_paper_figure_is_one_row_saying_which_chapters_check_it() -> None:
    ev = _every_claim()
    figs = figures(ev)
    by_key = {e.claim.key: f for f in figs for e in f.checks}
    # Table 6's 8.75% was three rows (ResNet's training, its reference weights, the comparison's race)
    assert [e.claim.key for e in by_key["table6_20"].checks] == ["table6_20", "reference_20", "race_resnet20"]
    assert by_key["table6_20"].chapters == ("ResNet", "Five networks side by side")
    assert [e.claim.key for e in by_key["table6_56"].checks] == ["table6_56", "reference_56"]
    assert [e.claim.key for e in by_key["nin_augmented"].checks] == ["nin_augmented", "race_nin_cifar"]
    values = [(f.claim.paper, f.claim.where, f.claim.target) for f in figs if f.claim.kind == "value"]
    assert len(values) == len(set(values))  # each paper value once
    assert all(len(f.checks) == 1 for f in figs if f.claim.counted)  # Table 2's three 133 M stay three
    table = scoreboard.table(ev)
    assert [line for line in table.splitlines() if "| 8.75%" in line] == [
        line for line in table.splitlines() if 'id="claim-resnet-table6_20"' in line]
    assert len([line for line in table.splitlines() if "| 8.75%" in line]) == 1
    assert 'id="claim-resnet-reference_20"' not in table
    assert 'id="claim-comparison-race_resnet20"' not in table
    assert "checked 3 ways" in table and 'listed under ResNet' in table
    # three columns in every fold, one fold per chapter, the notes apart
    assert table.count("| claim | paper | verdict |") == len(chapter_registry.names())
    assert table.count(":::{dropdown}") == len(chapter_registry.names())
    assert "claim-seed-" not in table and 'id="claim-seed-seed_1202"' in scoreboard.notes_table(ev)
    grid = parse_grid(scoreboard.grid(ev))
    assert [c for c, _ in grid.rows] == [*chapter_registry.names(), "seed"]
    assert sum(len(tiles) for _, tiles in grid.rows) == len(figs) < len(ev)


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
    assert "Of the notes' 3 numeric statements, checked the same way, none holds." in scoreboard.count_text(
        list(ev.values()))


# ----------------------------------------------------------------------------------------------------------
# The introduction's five points


def test_the_five_points_name_each_claim_and_chapter() -> None:
    points = intro.findings(board())
    assert len(points) == 5
    assert points[0] == (
        "The chapters check nine claims of the papers: 3 hold, 2 fail, 2 within noise or inconclusive, "
        "1 not testable here, 1 without evidence yet. The notes this book grew from made one numeric "
        "statement of their own, and none of them holds.")  # fmt: skip
    a, b = "{ref}`AlexNet <alexnet-paper-vs-book>`", "{ref}`ResNet <resnet-paper-vs-book>`"
    assert points[1] == (f"Two trained claims held on the archived runs: in {a}, “Claim held is true”; "
                         f"in {b}, “Claim own is true”.")  # fmt: skip
    assert points[2] == (
        f"One trained claim came out the opposite way: in {a}, “Claim opp is true”. One trained claim did "
        f"not reproduce: in {a}, “Claim failed is true”. Every count in the papers adds up.")  # fmt: skip
    assert points[3].startswith(
        "One absolute value cannot be tested at this scale, on a lossy copy of CIFAR-10 with runs a fraction "
        f"of the papers' length: in {a} and {b}, “Claim untest is true”. The runs could not settle two "
        "effects")  # fmt: skip
    assert points[4] == f"One claim has no evidence yet: in {a}, “Claim none is true”."
    # written as a person would: no parentheses, no empty list, every point a sentence
    for p in points:
        assert "(" not in p and "“”" not in p and ": ." not in p and p.endswith(".")
    md = intro.findings_markdown(board())
    assert md.splitlines()[0].startswith("- **The count.** The chapters check nine claims")
    assert len(md.splitlines()) == 5


def test_an_empty_group_is_said_in_words() -> None:
    calm = board(failed="reproduced", opp="reproduced", noise="reproduced", inc="reproduced",
                 untest="reproduced", dup="reproduced", none="reproduced")  # fmt: skip
    points = intro.findings(calm)
    assert points[2] == "No trained claim failed on an archived run. Every count in the papers adds up."
    assert points[3] == ("Every absolute value the chapters check could be tested at this scale. Every "
                         "effect the runs measured was large enough to settle.")  # fmt: skip
    assert points[4] == "Every claim has evidence."
    assert intro.findings(board(held="opposite", own="opposite"))[1] == (
        "No trained claim has held on an archived run yet.")


def _depth(plain20: float, plain56: float, n: int = 10_000) -> ExperimentResult:
    info = {"profile": "standard", "device": "cpu", "precision": "fp32", "torch": "2", "date": "2026-12-06",
            "wall_time_s": 1.0}  # fmt: skip
    errors = {"plain20": plain20, "plain56": plain56}
    return ExperimentResult("depth", "standard", metrics={"train_error": errors, "n": n}, run_info=info)


def _read(r: ExperimentResult) -> Measurement:
    e, n = r.metrics["train_error"], r.metrics["n"]
    text = f"{100 * e['plain56']:.1f}% vs. {100 * e['plain20']:.1f}%"
    return Measurement(e["plain56"] - e["plain20"], text, se=0.005, basis=f"binomial SE, {n} images")


def test_the_points_follow_a_ledgers_verdict(monkeypatch, tmp_path) -> None:
    """The five points are generated from the ledgers: an archive that turns a verdict turns the points."""
    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))
    claim = Claim("degradation", "he2016deep", "Fig. 6", "A deeper plain net has a higher training error",
                  "plain-56 above plain-20", "He et al. 2016", "training error", "depth", _read)  # fmt: skip
    ledger = Ledger("resnet", "ResNet", "resnet-paper-vs-book", (claim,))
    monkeypatch.setattr(scoreboard, "ledgers", lambda: [(ledger, dict)])
    monkeypatch.setattr(scoreboard, "SEED", Ledger("seed", "the notes", "seed-notes", ()))
    monkeypatch.setattr(scoreboard, "_seed_counts", dict)
    said = "in {ref}`ResNet <resnet-paper-vs-book>`, “A deeper plain net has a higher training error”"

    waiting = intro.findings()
    assert waiting[4] == f"One claim has no evidence yet: {said}."
    save_archive(_depth(0.30, 0.60), "resnet")
    held = intro.findings()
    assert held[1] == f"One trained claim held on the archived runs: {said}."
    assert held[4] == "Every claim has evidence."
    save_archive(_depth(0.60, 0.30), "resnet")  # the same archive, the other way round
    turned = intro.findings()
    assert turned[1] == "No trained claim has held on an archived run yet."
    assert turned[2].startswith(f"One trained claim came out the opposite way: {said}.")
    assert turned[0].startswith("The chapters check one claim of the papers: 1 fails.")


@pytest.mark.slow
def test_the_page_counts_every_claim_without_training(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))  # no archive: every trained claim awaits evidence
    ev = scoreboard.evidence()
    t = tally(ev)
    figs = figures(ev)
    assert t.trained == t.awaiting > 0 and t.reproduced == t.not_reproduced == 0
    assert t.notes == len(scoreboard.SEED.claims)
    assert t.counted + t.notes == sum(f.claim.counted for f in figs)
    assert t.counted + t.notes + t.trained == len(figs) < len(ev)  # each paper figure once
    table = scoreboard.table(ev)
    assert table.count('<span id="claim-') == len(figs) - t.notes
    # no failure to count, so none is named: "0 not reproduced" is no longer printed
    assert f"0 reproduced, {t.trained} awaiting evidence." in scoreboard.count_text(ev)
    assert scoreboard.count_line(ev).endswith(f"{t.trained} without evidence yet.")
