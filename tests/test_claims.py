"""ecg_lib.claims: verdicts computed from numbers, sentences generated from them, errors never silent."""

import math
import statistics

import pytest

from ecg_lib.claims import (
    NO_EVIDENCE,
    Claim,
    ClaimError,
    Ledger,
    Measurement,
    binomial_se,
    cell_text,
    difference_se,
    measure,
    power_text,
    scoreboard_table,
    seed_siblings,
    seed_spread,
    seeds_gap,
    sentence,
    tally,
    tally_text,
    verdict,
)
from ecg_lib.experiments import ExperimentResult
from ecg_lib.results import ENV_VAR, ArchiveError, archive_path, save_archive


def depth_result(plain20: float, plain56: float, profile: str = "quick", n: int = 500) -> ExperimentResult:
    errors = {"plain20": plain20, "plain56": plain56}
    # what `reproduce` records about a run (results.REQUIRED_RUN_INFO), so the result can be archived
    info = {"profile": profile, "device": "cpu", "precision": "fp32", "torch": "2", "date": "2026-11-30",
            "wall_time_s": 1.0}  # fmt: skip
    return ExperimentResult("depth", profile, metrics={"train_error": errors, "n": n}, run_info=info)


def read_degradation(r: ExperimentResult) -> Measurement:
    e, n = r.metrics["train_error"], r.metrics["n"]
    text = f"{100 * e['plain56']:.1f}% vs. {100 * e['plain20']:.1f}%"
    return Measurement(e["plain56"] - e["plain20"], text,
                       se=difference_se(e["plain56"], n, e["plain20"], n), basis=f"binomial SE, {n} images")


DEGRADATION = Claim(
    key="degradation", paper="he2016deep", where="Fig. 6 left",
    statement="A deeper plain net has a higher training error", paper_value="plain-56 above plain-20",
    source="He et al. 2016, Fig. 6", method="training error after the same budget",
    experiment="depth", read=read_degradation,
)  # fmt: skip


def see(points: float) -> str:
    """A cell's power, as the table prints it."""
    return f"(it could see a difference of {points:.1f} points)"


def test_noise_formulas():
    assert binomial_se(0.1, 100) == pytest.approx(0.03)
    assert difference_se(0.1, 100, 0.1, 100) == pytest.approx(0.03 * math.sqrt(2))
    assert seed_spread([0.1, 0.3]) == pytest.approx(0.1)
    with pytest.raises(ValueError):
        seed_spread([0.1])
    with pytest.raises(ValueError):
        binomial_se(1.5, 10)


def test_changing_a_result_flips_the_verdict_and_the_sentence():
    """The same claim, three results: the verdict and the generated sentence follow the numbers."""
    cases = {(0.30, 0.60): "reproduced", (0.60, 0.30): "opposite", (0.40, 0.41): "within noise"}
    sentences = set()
    for (p20, p56), expected in cases.items():
        m = measure(DEGRADATION, depth_result(p20, p56))
        assert verdict(DEGRADATION, m) == expected
        text = sentence(DEGRADATION, m, "quick", data="lossy JPEG copy of CIFAR-10")
        assert f"{100 * p56:.1f}% vs. {100 * p20:.1f}%" in text and "lossy JPEG copy" in text
        sentences.add(text)
    assert len(sentences) == 3
    good, bad = (measure(DEGRADATION, depth_result(*e)) for e in ((0.3, 0.6), (0.6, 0.3)))
    assert "agrees with the paper" in sentence(DEGRADATION, good, "quick")
    assert "opposite" in sentence(DEGRADATION, bad, "quick")
    # more images shrink the noise: the same 1-point gap becomes an effect
    big = measure(DEGRADATION, depth_result(0.40, 0.41, n=10**6))
    assert verdict(DEGRADATION, big) == "reproduced"


def test_no_result_is_no_evidence():
    assert measure(DEGRADATION, None) is None and verdict(DEGRADATION, None) == NO_EVIDENCE
    assert "no standard-profile evidence yet" in sentence(DEGRADATION, None, "standard")


def test_value_and_exact_claims():
    table6 = Claim("t6", "he2016deep", "Table 6", "ResNet-20 test error", "8.75%", "Table 6", "test error",
                   "depth", lambda r: Measurement(r.metrics["e"], "x", se=0.005, basis="b"),
                   kind="value", target=0.0875, tolerance=0.01)  # fmt: skip
    ok = ExperimentResult("depth", "full", metrics={"e": 0.09})
    far = ExperimentResult("depth", "full", metrics={"e": 0.20})
    assert verdict(table6, measure(table6, ok)) == "reproduced"
    assert verdict(table6, measure(table6, far)) == "not reproduced"
    params = Claim("p", "he2016deep", "Table 6", "params", "0.27M", "Table 6", "count", "depth",
                   lambda r: Measurement(r.metrics["p"], "x"), kind="exact", target=270_000, tolerance=0.01)
    assert verdict(params, measure(params, ExperimentResult("depth", "quick", metrics={"p": 269_722}))) == (
        "reproduced")
    assert verdict(params, measure(params, ExperimentResult("depth", "quick", metrics={"p": 290_000}))) == (
        "not reproduced")
    with pytest.raises(ValueError, match="needs the paper's target"):
        Claim("v", "k", "w", "s", "pv", "src", "m", "e", lambda r: None, kind="value")


def read_params(counts: dict) -> Measurement:
    return Measurement(counts["params"], f"{counts['params']:,}")


PARAMS = Claim(
    key="params", paper="he2016deep", where="Table 6", statement="ResNet-110 has 1.7M parameters",
    paper_value="1.7M", source="He et al. 2016, Table 6", method="counted", experiment="counts",
    read=read_params, kind="exact", target=1.7e6, tolerance=0.02,
)  # fmt: skip
LEDGER = Ledger("resnet", "ResNet", "resnet-paper-vs-book", (PARAMS, DEGRADATION))
COUNTS = {"counts": {"params": 1_730_714}}


@pytest.fixture
def archive_root(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    return tmp_path


def test_a_typo_is_an_error_not_a_dash(archive_root):
    typo = Claim("typo", "he2016deep", "Fig. 6", "s", "pv", "src", "m", "depth",
                 lambda r: Measurement(r.metrics["trian_error"], "x"))  # fmt: skip
    with pytest.raises(ClaimError, match=r"'typo' cannot read experiment 'depth'.*KeyError"):
        measure(typo, depth_result(0.3, 0.6))
    # the chapter forgot to pass an experiment: an error, not an empty cell
    with pytest.raises(ClaimError, match="needs 'depth', which this run lacks"):
        LEDGER.evidence({**COUNTS, "other": depth_result(0.3, 0.6)}, "quick")
    with pytest.raises(ClaimError, match="no claim 'degradaton'"):
        LEDGER.claim("degradaton")
    with pytest.raises(ValueError, match="finite"):
        Measurement(float("nan"), "x")
    with pytest.raises(ValueError, match="'statement' must not be empty"):
        Claim("k", "p", "w", " ", "pv", "src", "m", "e", read_params)
    with pytest.raises(ValueError, match="used twice"):
        Ledger("resnet", "ResNet", "l", (PARAMS, PARAMS))
    # an archive that lacks what the claim reads (an older experiment) is an error too
    stale = ExperimentResult("depth", "standard", metrics={"n": 5},
                             run_info=depth_result(0, 0, "standard").run_info)  # fmt: skip
    save_archive(stale, "resnet")
    with pytest.raises(ClaimError, match="standard-profile result"):
        LEDGER.evidence({**COUNTS, "depth": None}, "quick")
    # and a malformed archive file is refused by the archive reader, never shown as "no evidence"
    archive_path("resnet", "depth").write_text("{not json")
    with pytest.raises(ArchiveError):
        LEDGER.evidence({**COUNTS, "depth": None}, "quick")


def test_no_gain_claims_are_equivalence_tests():
    """Not detecting a gain is not showing its absence: "reproduced" needs the 2-SE interval of the gain
    below the margin; a run too noisy for that is inconclusive (issue 23: a quick run in which LRN could
    lower the error by 4 points once read "agrees with the paper")."""

    def lrn(se: float, margin: float = 0.01) -> Claim:
        return Claim("lrn", "simonyan2015very", "Table 3", "LRN does not improve A", "10.5% vs 10.4%",
                     "Table 3", "test error", "train",
                     lambda r: Measurement(r["gain"], "20.0% vs. 19.9%", se=se, basis="b"), kind="no_gain",
                     margin=margin)  # fmt: skip

    noisy, tight = lrn(0.02), lrn(0.002)
    assert verdict(noisy, measure(noisy, {"gain": 0.001})) == "inconclusive"  # could hide a 4-point gain
    assert verdict(tight, measure(tight, {"gain": 0.001})) == "reproduced"  # 0.1 +- 0.4 points < 1
    assert verdict(tight, measure(tight, {"gain": 0.007})) == "inconclusive"  # 0.7 + 0.4 reaches past 1
    assert verdict(tight, measure(tight, {"gain": -0.05})) == "reproduced"  # LRN hurts: still no gain
    assert verdict(tight, measure(tight, {"gain": 0.05})) == "not reproduced"  # a gain beyond the margin
    assert verdict(noisy, measure(noisy, {"gain": 0.045})) == "inconclusive"  # 4.5 - 4 points is not > 1
    wide = lrn(0.02, margin=0.05)
    assert verdict(wide, measure(wide, {"gain": 0.001})) == "reproduced"  # a 5-point margin it can show
    said = sentence(noisy, measure(noisy, {"gain": 0.001}), "standard")
    assert "cannot decide the claim" in said and "no gain larger than 4.1 points" in said
    assert "margin of 1.0 points" in said
    with pytest.raises(ValueError, match="margin"):
        lrn(0.01, margin=0.0)


def test_value_claims_a_run_cannot_reach_are_not_testable_here():
    """Table 6's 8.75% on a lossy copy after 5 epochs is out of reach by construction: "not testable
    here" with the reason, never "not reproduced"; a run that can reach it is judged as before."""
    from ecg_lib.chapters.reach import out_of_reach

    table6 = Claim("t6", "he2016deep", "Table 6", "ResNet-20 reaches 8.75%", "8.75%", "Table 6", "test error",
                   "depth", lambda r: Measurement(r.metrics["e"], f"{100 * r.metrics['e']:.1f}%", se=0.004,
                                                  basis="b"),
                   kind="value", target=0.0875, tolerance=0.01,
                   reach=out_of_reach("64k iterations"))  # fmt: skip
    lossy = "lossy JPEG copy (quality 75, chroma subsampled 4:2:0) — absolute errors are not comparable"
    lossless = "the original lossless CIFAR-10 batches"

    def run(profile: str, quality: str, e: float = 0.19) -> ExperimentResult:
        return ExperimentResult("depth", profile, metrics={"e": e}, run_info={"data_quality": quality})

    m = measure(table6, run("standard", lossy))
    assert verdict(table6, m) == "not testable here"
    assert "lossy JPEG copy" in m.untestable and "standard-profile run" in m.untestable
    assert "64k iterations" in m.untestable
    assert "cannot test this value" in sentence(table6, m, "standard")
    # the paper's schedule on lossy data: still out of reach; on lossless data a standard run too
    assert "lossy" in measure(table6, run("full", lossy)).untestable
    assert "standard-profile" in measure(table6, run("standard", lossless)).untestable
    # the paper's schedule on the original data can test it, either way
    assert verdict(table6, measure(table6, run("full", lossless, 0.19))) == "not reproduced"
    assert verdict(table6, measure(table6, run("full", lossless, 0.09))) == "reproduced"
    with pytest.raises(ValueError, match="only a 'value' claim"):
        Claim("x", "p", "w", "s", "v", "src", "m", "e", lambda r: None, reach=out_of_reach(None))


def test_sign_claims_count_seeds_never_an_se_of_zero(archive_root):
    """Epochs to a target: each seed gives a sign. Two +1 seeds once pooled into "spread SE 0.0"."""
    claim = Claim("first", "he2016deep", "Fig. 1", "A reaches the target first", "A", "src", "m", "depth",
                  lambda r: Measurement(r.metrics["train_error"]["plain56"] - 0.5, "x",
                                        basis="one seed: the sign"), kind="sign")  # fmt: skip
    ledger = Ledger("resnet", "ResNet", "resnet-paper-vs-book", (claim,))
    one = measure(claim, depth_result(0.3, 0.6))
    assert verdict(claim, one) == "inconclusive"  # one seed cannot decide a sign
    save_archive(depth_result(0.3, 0.6, "standard"), "resnet")
    save_archive(depth_result(0.3, 0.7, "standard"), "resnet", "depth_seed1")
    cell = ledger.evidence({"depth": None}, "quick")[0].cells["standard"]
    assert cell.verdict == "reproduced" and cell.measurement.se is None
    assert cell.text.endswith("**reproduced** (2 of 2 seeds in the paper's direction)")
    save_archive(depth_result(0.3, 0.4, "standard"), "resnet", "depth_seed1")
    cell = ledger.evidence({"depth": None}, "quick")[0].cells["standard"]
    assert cell.verdict == "inconclusive" and "1 of 2 seeds" in cell.text
    save_archive(depth_result(0.3, 0.4, "standard"), "resnet")
    assert ledger.evidence({"depth": None}, "quick")[0].cells["standard"].verdict == "opposite"


def test_every_trained_cell_states_its_power():
    """The smallest difference the run could have seen, and whether the paper's effect was larger."""
    nin = Claim("gap", "lin2014network", "Table 5", "GAP beats FC", "10.41% vs 11.59%", "Table 5", "m", "e",
                lambda r: Measurement(r, "26.3% (FC) vs. 26.1% (GAP)", se=0.009, basis="b"),
                paper_effect=0.0118)  # fmt: skip
    m = measure(nin, 0.002)
    assert verdict(nin, m) == "within noise"
    assert power_text(nin, m) == ("it could see a difference of 1.8 points; the paper's effect (1.2 points) "
                                  "is smaller than that")  # fmt: skip
    m = measure(nin, 0.001)
    tight = Measurement(0.001, m.text, se=0.004, basis="b")
    assert power_text(nin, tight).endswith("the paper's effect (1.2 points) is larger than that")
    shown = Measurement(0.03, m.text, se=0.004, basis="b")
    assert power_text(nin, shown) == "it could see a difference of 0.8 points"
    # a run without a standard error says so, and what decides its verdict instead
    ratio = Claim("speed", "k", "Fig. 1", "six times", "6×", "Fig. 1", "m", "e",
                  lambda r: Measurement(r, f"{r:.1f}×", basis="one seed"), kind="value", target=6.0,
                  tolerance=2.0, noise="one seed, and a ratio within ±2 of six counts")  # fmt: skip
    assert cell_text(ratio, measure(ratio, 5.0)) == (
        "5.0×: **reproduced** (it measured no noise: one seed, and a ratio within ±2 of six counts)")


def test_without_archives_every_archived_column_is_no_evidence(archive_root):
    ev = LEDGER.evidence({**COUNTS, "depth": depth_result(0.40, 0.41)}, "quick")
    counted, trained = ev
    assert counted.cells["live"].verdict == "reproduced"
    assert counted.cells["standard"].text == "same (counted)"
    assert trained.cells["live"].text == f"41.0% vs. 40.0%: **within noise** {see(6.2)}"
    assert [trained.cells[c].verdict for c in ("standard", "full")] == [NO_EVIDENCE, NO_EVIDENCE]
    assert trained.archived_verdict == NO_EVIDENCE
    t = tally(ev)
    assert (t.counted, t.counted_reproduced, t.trained, t.awaiting, t.reproduced) == (1, 1, 1, 1, 0)
    assert tally_text(t) == ("1 arithmetic claim of the papers checked: 1 hold exactly or within their "
                             "stated tolerance. 1 trained claim, judged on the archived standard or full "
                             "runs: 0 reproduced, 1 awaiting evidence. Of the 1 claim about the direction of "
                             "an effect, 0 are reproduced.")  # fmt: skip
    assert "No archived standard- or full-profile run" in LEDGER.archived_sentence("degradation")
    assert "`python -m ecg_lib reproduce resnet --profile standard --experiments depth`" in (
        LEDGER.archived_sentence("degradation"))
    # a live experiment that did not run in this profile is no evidence, said so
    ev = LEDGER.evidence({**COUNTS, "depth": None}, "quick")
    assert ev[1].cells["live"].text == "not run in the quick profile"


def test_an_archived_result_flips_the_verdict_the_sentence_and_the_count(archive_root):
    """The table, the generated sentence and the scoreboard's count follow whatever the archive says."""
    live = {**COUNTS, "depth": depth_result(0.40, 0.41)}
    save_archive(depth_result(0.30, 0.60, "standard", n=10_000), "resnet")
    ev = LEDGER.evidence(live, "quick")
    assert ev[1].cells["standard"].text == f"60.0% vs. 30.0%: **reproduced** {see(1.3)}"
    assert ev[1].archived_verdict == "reproduced" and tally(ev).reproduced == 1
    said = LEDGER.archived_sentence("degradation")
    assert "archived standard-profile run measured 60.0% vs. 30.0%, which agrees with the paper" in said

    save_archive(depth_result(0.60, 0.30, "standard", n=10_000), "resnet")  # the same file, other numbers
    ev = LEDGER.evidence(live, "quick")
    assert ev[1].cells["standard"].text == f"30.0% vs. 60.0%: **opposite** {see(1.3)}"
    t = tally(ev)
    assert (t.reproduced, t.not_reproduced, t.opposite, t.awaiting) == (0, 1, 1, 0)
    assert "runs: 0 reproduced, 1 the opposite way. Of the 1 claim" in tally_text(t)  # nothing awaits
    assert "opposite of what the paper reports" in LEDGER.archived_sentence("degradation")

    # the full archive outranks the standard one
    save_archive(depth_result(0.30, 0.31, "full", n=5_000), "resnet")
    ev = LEDGER.evidence(live, "quick")
    assert ev[1].archived_verdict == "within noise"
    assert "archived full-profile run" in LEDGER.archived_sentence("degradation")

    table = LEDGER.table(live, "quick")
    header = next(line for line in table.splitlines() if line.startswith("| claim"))
    assert header.count("|") == 7 and "standard (archived)" in header and "this run (quick)" in header
    row = next(line for line in table.splitlines() if line.startswith("| A deeper plain net"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:5] == [f"41.0% vs. 40.0%: **within noise** {see(6.2)}",
                          f"30.0% vs. 60.0%: **opposite** {see(1.3)}",
                          f"31.0% vs. 30.0%: **within noise** {see(1.8)}"]  # fmt: skip
    assert "binomial SE, 10000 images" in cells[5] and "binomial SE, 5000 images" in cells[5]
    assert "{cite}`he2016deep`" in cells[1]


def test_counted_claims_are_checked_exactly_or_within_their_tolerance(archive_root):
    off = LEDGER.evidence({"counts": {"params": 1_800_000}, "depth": None}, "quick")[0]
    assert off.cells["live"].verdict == off.archived_verdict == "not reproduced"
    assert off.basis == "within 2%"
    board = scoreboard_table(LEDGER.evidence(COUNTS, "quick", retrained=False))
    assert board.splitlines()[0] == ":::{dropdown} ResNet: 2 claims, 1 holds, 1 without evidence yet"
    rows = [line for line in board.splitlines() if line.startswith("| <span")]
    assert rows[0].endswith("| 1,730,714: **reproduced**; counted from the definitions |")  # its count
    assert "{ref}`ResNet <resnet-paper-vs-book>`" in rows[1]
    assert rows[1].endswith("| **no evidence yet**: no archive |")  # the scoreboard trains nothing


def test_seeds_gap_combines_the_test_set_and_the_seeds():
    """The spread of two seeds alone once gave VGG's LRN row a 0.18-point threshold where the test set's
    binomial noise alone is about 0.8 points: the test-set part never shrinks with seeds."""
    one = seeds_gap([0.3], [0.2], 1000)
    assert one.basis == "binomial SE, 1,000 images" and one.value == pytest.approx(0.1)
    many = seeds_gap([0.30, 0.32, 0.34], [0.20, 0.21, 0.22], 1000)
    assert many.basis.startswith("binomial SE combined with the spread over 3 seeds")
    test = math.sqrt(sum(difference_se(a, 1000, b, 1000) ** 2 for a, b in
                         [(0.30, 0.20), (0.32, 0.21), (0.34, 0.22)]) / 3)  # fmt: skip
    spread = statistics.stdev([0.10, 0.11, 0.12]) / math.sqrt(3)
    assert many.se == pytest.approx(math.hypot(test, spread))
    # VGG's archived LRN row: 2 seeds on 10,000 images, equal gaps: the test set's part remains
    vgg = seeds_gap([0.195, 0.195], [0.193, 0.193], 10_000)
    assert 2 * vgg.se == pytest.approx(2 * difference_se(0.195, 10_000, 0.193, 10_000)) and 2 * vgg.se > 0.011
    with pytest.raises(ValueError, match="same seeds"):
        seeds_gap([0.3, 0.4], [0.2], 1000)


def test_archived_seeds_are_pooled_with_their_spread(archive_root):
    """Two archived seeds of one experiment: the archived cell is their mean, its noise the larger of the
    seeds' spread and the binomial SE, and a disagreement between seeds turns a verdict into noise."""
    assert seed_siblings("resnet", "depth") == [(0, "depth"), (1, "depth_seed1")]
    assert seed_siblings("resnet", "reference_depth") == [(0, "reference_depth")]
    live = {**COUNTS, "depth": None}
    save_archive(depth_result(0.30, 0.60, "standard", n=10_000), "resnet")
    seed1 = depth_result(0.30, 0.62, "standard", n=10_000)
    save_archive(seed1, "resnet", "depth_seed1")
    cell = LEDGER.evidence(live, "quick")[1].cells["standard"]
    assert cell.text == ("seed 0: 60.0% vs. 30.0%; seed 1: 62.0% vs. 30.0%: **reproduced** (it could see a "
                         "difference of 2.4 points)")  # fmt: skip
    assert cell.measurement.value == pytest.approx(0.31)
    assert cell.measurement.basis.startswith("binomial SE combined with the spread over 2 seeds: test-set SE "
                                             "0.7 points, seed spread SE 1.0 points")  # fmt: skip
    # the seeds disagree in sign: the pooled gap is within its spread
    save_archive(depth_result(0.62, 0.30, "standard", n=10_000), "resnet", "depth_seed1")
    assert LEDGER.evidence(live, "quick")[1].cells["standard"].verdict == "within noise"


def test_an_archive_that_cannot_measure_a_claim_says_why_not_that_none_exists(archive_root):
    # AlexNet's ratio of epochs: when tanh misses the target within the run's cap there is no ratio. The
    # archive exists, so the sentence must give the reason, not claim that no run was archived.
    from ecg_lib.claims import NotMeasured

    def ratio(r: ExperimentResult) -> Measurement:
        e = r.metrics["train_error"]["plain56"]
        if e > 0.5:
            raise NotMeasured(f"plain-56 missed the target within 30 epochs (at {e:.0%}): the ratio is "
                              "above 2.5×")  # fmt: skip
        return Measurement(2.0, "2.0×")

    claim = Claim("ratio", "he2016deep", "Fig. 6", "A ratio", "6×", "src", "m", "depth", ratio,
                  kind="value", target=6.0, tolerance=2.0)  # fmt: skip
    ledger = Ledger("resnet", "ResNet", "resnet-paper-vs-book", (claim,))
    assert "No archived standard- or full-profile run" in ledger.archived_sentence("ratio")
    save_archive(depth_result(0.3, 0.6, "standard"), "resnet")
    said = ledger.archived_sentence("ratio")
    assert "No archived" not in said
    assert "archived standard-profile run could not measure" in said and "above 2.5×" in said
    assert "A ratio (Fig. 6; paper: 6×)" in said
    # a second seed with another reason: each seed's; with the same reason: said once
    save_archive(depth_result(0.3, 0.7, "standard"), "resnet", "depth_seed1")
    said = ledger.archived_sentence("ratio")
    assert "seed 0: plain-56 missed the target within 30 epochs (at 60%)" in said
    assert "seed 1: plain-56 missed the target within 30 epochs (at 70%)" in said
    save_archive(depth_result(0.3, 0.6, "standard"), "resnet", "depth_seed1")
    said = ledger.archived_sentence("ratio")
    assert said.count("plain-56 missed the target") == 1 and "seed 0" not in said


def test_the_paper_cell_never_nests_parentheses() -> None:
    from ecg_lib.claim_ledgers import _paper_cell

    def claim(value: str, source: str) -> Claim:
        return Claim("v", "k", "w", "s", value, source, "m", "e", lambda r: None, kind="value", target=1.0)

    plain = claim("8.75%", "He et al. 2016, Table 6")
    nested = claim("10.41% (without augmentation)", "Lin et al. 2014, Table 1")
    assert _paper_cell(plain).startswith("8.75% (He et al. 2016, Table 6)")
    assert _paper_cell(nested).startswith("10.41% (without augmentation); Lin et al. 2014, Table 1")
