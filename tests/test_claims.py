"""ecg_lib.claims: verdicts computed from numbers, sentences generated from them, errors never silent."""

import math

import pytest

from ecg_lib.claims import (
    NO_EVIDENCE,
    Claim,
    ClaimError,
    Measurement,
    binomial_se,
    difference_se,
    ledger_table,
    measure,
    seed_spread,
    sentence,
    verdict,
)
from ecg_lib.experiments import ExperimentResult


def depth_result(plain20: float, plain56: float, profile: str = "quick", n: int = 500) -> ExperimentResult:
    errors = {"plain20": plain20, "plain56": plain56}
    return ExperimentResult("depth", profile, metrics={"train_error": errors, "n": n})


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


def test_a_typo_is_an_error_not_a_dash():
    typo = Claim("typo", "he2016deep", "Fig. 6", "s", "pv", "src", "m", "depth",
                 lambda r: Measurement(r.metrics["trian_error"], "x"))  # fmt: skip
    with pytest.raises(ClaimError, match=r"'typo' cannot read experiment 'depth'.*KeyError"):
        measure(typo, depth_result(0.3, 0.6))
    with pytest.raises(ClaimError, match="lacks"):
        ledger_table([DEGRADATION], {"this run": {"other": depth_result(0.3, 0.6)}})
    with pytest.raises(ValueError, match="finite"):
        Measurement(float("nan"), "x")


def test_ledger_table_has_a_column_per_run_and_the_best_evidence():
    table = ledger_table([DEGRADATION], {
        "this run (quick)": {"depth": depth_result(0.40, 0.41)},
        "standard (archived)": {"depth": depth_result(0.30, 0.60, "standard", n=50_000)},
        "full (archived)": None,
    })  # fmt: skip
    header, _sep, row = table.splitlines()
    assert header.count("|") == 7 and "standard (archived)" in header
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "41.0% vs. 40.0% (within noise)"
    assert cells[3] == "60.0% vs. 30.0% (reproduced)"
    assert cells[4] == "—"
    assert cells[5] == "reproduced (binomial SE, 50000 images)"  # the archived standard run decides
    assert "{cite}`he2016deep`" in cells[1]
