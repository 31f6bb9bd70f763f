"""ecg_lib.chapters.reference: the tables and generated sentences of the ResNet chapter's section "Trained
networks", from made-up results. Each verdict is checked both ways: the sentence flips when the numbers do."""

from __future__ import annotations

import math

import pytest

from ecg_lib.chapters import reference as P
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments.lesions import Lesion, lesions_of

# ------------------------------------------------------------------------------------------------------
# Made-up results in the shape of ecg_lib.experiments.reference's


def _depth(errors=(0.18, 0.17, 0.15, 0.14), n=1000) -> ExperimentResult:
    names = ("resnet20", "resnet32", "resnet44", "resnet56")
    errs = {name: {"depth": int(name[6:]), "correct": round(n * (1 - e)), "n": n, "error": e}
            for name, e in zip(names, errors, strict=True)}  # fmt: skip
    best = {"resnet20": 91.78, "resnet32": 92.78, "resnet44": 93.14, "resnet56": 93.62}
    readme = {"resnet20": 8.27, "resnet32": 7.37, "resnet44": 6.90, "resnet56": 6.61}
    return ExperimentResult("reference.depth", "quick", metrics={
        "errors": errs, "readme_error": readme, "best_prec1": best,
        "data_quality": "lossy JPEG copy (quality 75) — x",
    })  # fmt: skip


DOWN = (3, 6)  # a 9-block net (ResNet-20 layout): blocks 3 and 6 downsample


def _lesions(single_change=0.01, random_means=(0.20, 0.25, 0.30), contiguous_mean=0.22, intact=0.15,
             n=200) -> ExperimentResult:  # fmt: skip
    single = [{"block": -1, "name": "none", "downsampling": False, "error": intact}]
    for i in range(9):
        down = i in DOWN
        single.append({"block": i, "name": f"stage{i // 3 + 1}.{i % 3 + 1}", "downsampling": down,
                       "error": intact + (0.3 if down else single_change)})  # fmt: skip
    rand = {}
    for k, mean in zip((2, 3, 4), random_means, strict=True):
        sets = [[0, 1, 2, 4][:k], [4, 5, 7, 8][:k]]
        rand[str(k)] = {"sets": sets, "errors": [mean - 0.01, mean + 0.01], "mean": mean, "std": 0.014,
                        "min": mean - 0.01, "max": mean + 0.01, "n": 2}  # fmt: skip
    contiguous = {"2": {"starts": [0, 1, 4, 7], "errors": [contiguous_mean] * 4, "mean": contiguous_mean,
                        "std": 0.0, "min": contiguous_mean, "max": contiguous_mean, "n": 4}}  # fmt: skip
    return ExperimentResult("reference.lesions", "quick", metrics={
        "net": "resnet56", "n_test": n, "intact_error": intact, "single": single, "contiguous": contiguous,
        "random": rand, "sampling_se": math.sqrt(intact * (1 - intact) / n),
    })  # fmt: skip


def _stats(ratio=0.3, out_grads=(0.01, 0.001)) -> ExperimentResult:
    rows = []
    for i in range(9):
        g = out_grads[0] + (out_grads[1] - out_grads[0]) * i / 8
        rows.append({"block": i, "name": f"stage{i // 3 + 1}.{i % 3 + 1}", "downsampling": i in DOWN,
                     "residual_std": 0.1, "residual_ratio": ratio + 0.01 * i, "out_mean": 0.5, "out_std": 1.0,
                     "out_zero_frac": 0.2, "grad_norm": 1.0 + i, "out_grad_norm": g})  # fmt: skip
    return ExperimentResult("reference.block_stats", "quick",
                            metrics={"net": "resnet56", "blocks": rows, "settings": {"probe_batch": 200}})


# ------------------------------------------------------------------------------------------------------
# Error against depth and the lossy-copy effect


def test_lossy_effect_is_measured_minus_either_published_error() -> None:
    # against the README table (the weights' own figure) and against the files' best epoch
    eff = P.lossy_effect(_depth())
    assert eff["resnet20"] == pytest.approx(0.18 - 0.0827)
    assert eff["resnet56"] == pytest.approx(0.14 - 0.0661)
    best = P.lossy_effect(_depth(), "best_epoch")
    assert best["resnet20"] == pytest.approx(0.18 - 0.0822)
    assert best["resnet56"] == pytest.approx(0.14 - 0.0638)


def test_an_archive_with_only_reported_accuracy_reads_it_as_best_prec1() -> None:
    # archives written before both figures were kept hold the files' best_prec1 as reported_accuracy
    new = _depth()
    old = ExperimentResult("reference.depth", "standard", metrics={
        "errors": new.metrics["errors"], "reported_accuracy": new.metrics["best_prec1"]})  # fmt: skip
    assert P.published_errors(old.metrics) == P.published_errors(new.metrics)
    expected = {"readme": 0.0827, "best_epoch": 0.0822}
    assert P.published_errors(old.metrics)["resnet20"] == pytest.approx(expected)


def test_depth_table_rows() -> None:
    lines = P.depth_table(_depth()).splitlines()
    assert len(lines) == 2 + 4
    # Table 6, the README table, the files' best epoch, measured, and measured minus each of the two
    assert lines[2] == ("| ResNet-20 | 8.75% | 8.27% | 8.22% | 18.00% ± 1.2 (820 of 1,000) | "
                        "+9.7 / +9.8 points |")
    assert lines[5] == ("| ResNet-56 | 6.97% | 6.61% | 6.38% | 14.00% ± 1.1 (860 of 1,000) | "
                        "+7.4 / +7.6 points |")


def test_depth_text_flips_with_the_numbers() -> None:
    falls = P.depth_text(_depth())
    assert "falls with every step in depth" in falls and "+7.4 to +9.8 points" in falls
    assert "README table gives 8.27%, 7.37%, 6.90%, 6.61%" in falls and "6.38% as errors" in falls
    # the data's description is not put in a second pair of brackets
    assert falls.startswith("**Measured.** This chapter's data: lossy JPEG copy (quality 75). On 1,000 of "
                            "its test images the four") and "— x" not in falls
    flat = P.depth_text(_depth((0.16, 0.17, 0.15, 0.16)))
    assert "does not fall measurably with depth" in flat
    overall = P.depth_text(_depth((0.20, 0.14, 0.15, 0.13)))
    assert "though not at every step" in overall


def test_data_note_with_and_without_the_references() -> None:
    assert P.data_note(None, "original CIFAR-10 batches (lossless)") == (
        "**Data.** This run's CIFAR-10: original CIFAR-10 batches (lossless)."
    )
    assert P.data_note(None, "x", whose="The archived standard-profile run's") == (
        "**Data.** The archived standard-profile run's CIFAR-10: x.")
    note = P.data_note(_depth())
    assert ("ResNet-20 +9.7 / +9.8, ResNet-32 +9.6 / +9.8, ResNet-44 +8.1 / +8.1, ResNet-56 +7.4 / +7.6 "
            "points (against their README table / against the files' best-epoch best_prec1)") in note


# ------------------------------------------------------------------------------------------------------
# Lesions


def test_single_summary_and_additive_estimate() -> None:
    les = _lesions()
    s = P.single_summary(les)
    assert s["n"] == 7 and s["median"] == pytest.approx(0.01) and s["downsampling"] == pytest.approx(0.3)
    assert P.additive_estimate(les, [0, 1, 2]) == pytest.approx(0.15 + 3 * 0.01)
    assert P.additive_estimate(les, [3, 6, 0]) == pytest.approx(0.15 + 0.3 + 0.3 + 0.01)
    assert P.additive_estimate(_lesions(single_change=0.2), [3, 6, 0]) == P.CHANCE  # capped at chance


def test_k_rows_and_table() -> None:
    les = _lesions()
    rows = P.k_rows(les)
    assert [(r["k"], r["kind"]) for r in rows] == [
        (0, "intact"), (1, "each ordinary block"), (2, "random"), (3, "random"), (4, "random"),
        (2, "contiguous"),
    ]  # fmt: skip
    assert rows[2]["additive"] == pytest.approx(0.17)  # two ordinary blocks, +1 point each
    table = P.lesion_k_table(les).splitlines()
    # six columns: which blocks and how many sets share one
    assert table[0] == ("| blocks deleted | which: sets | test error, mean ± sd | min – max | share of the "
                        "way to chance | if the effects added up |")
    assert table[2] == "| 0 | intact: 1 | 15.0% ± 0.0 | 15.0% – 15.0% | 0% | 15.0% |"
    assert len(table) == 2 + 6


def test_lesion_verdict_flips_with_the_numbers() -> None:
    steep = P.lesion_text(_lesions(random_means=(0.40, 0.70, 0.88)))
    assert "within two sampling standard errors" in steep
    assert "the damage compounds" in steep and "shows only in part" in steep
    gradual = P.lesion_text(_lesions(random_means=(0.17, 0.18, 0.19)))
    assert "the ensemble-like behaviour shows here" in gradual and "about what the single" in gradual
    fragile = P.lesion_text(_lesions(single_change=0.2, random_means=(0.5, 0.6, 0.7)))
    assert "more than two sampling standard errors" in fragile and "does not show here" in fragile
    assert "less than the" in fragile  # the additive estimate (capped at chance) is above the measurement


def test_contiguous_runs_against_random_sets() -> None:
    assert "cost more than 2 random ones" in P.lesion_text(_lesions(contiguous_mean=0.40))
    assert "cost about as much as 2 random ones" in P.lesion_text(_lesions(contiguous_mean=0.20))
    assert "cost less than 2 random ones" in P.lesion_text(_lesions(contiguous_mean=0.10))
    # a "run" of one block is a single deletion, already stated: no "Runs of 1 consecutive blocks"
    one = _lesions()
    one.metrics["random"]["1"] = {**one.metrics["random"]["2"], "sets": [[0], [4]]}
    one.metrics["contiguous"]["1"] = {**one.metrics["contiguous"]["2"], "starts": [0, 1]}
    assert "Runs of 1 " not in P.lesion_text(one) and "Runs of 2 consecutive blocks" in P.lesion_text(one)


def test_lesion_text_compares_with_the_quick_net() -> None:
    # rows as archived (metrics["lesions"]["resnet56"]); lesion_study's Lesion records are read alike
    quick = [{"block": -1, "name": "none", "downsampling": False, "error": 0.5}]
    quick += [{"block": i, "name": f"b{i}", "downsampling": i in DOWN, "error": 0.5 + 0.2} for i in range(9)]
    text = P.lesion_text(_lesions(), quick)
    assert "(section 4) is at 50.0% intact. It loses a median +20.0 points" in text and "more fragile" in text
    assert P.lesion_text(_lesions(), [Lesion(**r) for r in quick]) == text
    robust = [{**r, "error": 0.5 + (0.001 if r["block"] >= 0 else 0)} for r in quick]
    assert "less fragile" in P.lesion_text(_lesions(), robust)
    # a quick net near chance has little left to lose: no verdict on fragility, a caveat instead
    near = [{**r, "error": 0.72} for r in quick]
    text = P.lesion_text(_lesions(), near)
    assert "only 18.0 points from chance" in text and "fragile" not in text


def test_lesion_explorer_holds_every_measured_set() -> None:
    ex = P.lesion_explorer(_lesions())
    assert ex.kind == "lesion" and len(ex.data["blocks"]) == 9
    combos = {tuple(c["deleted"]) for c in ex.data["combos"]}
    assert ("stage1.1", "stage1.2") in combos  # a contiguous run
    assert ("stage2.2", "stage2.3", "stage3.2") in combos  # a random set (blocks 4, 5, 7)


# ------------------------------------------------------------------------------------------------------
# Block statistics


def test_block_stats_sentence_flips() -> None:
    small = P.block_stats_text(_stats())
    assert "in line with He et al.'s Fig. 7" in small and "grows from the last block" in small
    big = P.block_stats_text(_stats(ratio=1.5, out_grads=(0.001, 0.01)))
    assert "unlike He et al.'s Fig. 7" in big and "shrinks from the last block" in big
    table = P.block_stats_table(_stats()).splitlines()
    # six columns: the stage's number of blocks goes with its name
    assert len(table) == 2 + 3 and table[2].startswith("| stage1, 3 blocks | ")
    assert {line.count(" | ") + 1 for line in table if line.startswith("| ")} == {6}


def test_a_reference_lesion_result_reads_as_the_chapter_nets_records() -> None:
    # one record type for both lesion studies: the reference's archived rows under its net's name
    (name, records), = lesions_of(_lesions()).items()
    assert name == "resnet56" and records[0] == Lesion(-1, "none", False, _lesions().metrics["intact_error"])
    assert [r.block for r in records] == list(range(-1, 9))
    assert [r.block for r in records if r.downsampling] == sorted(DOWN)


def test_plot_lesions_draws_the_trained_and_the_quick_net() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    quick = [Lesion(-1, "none", False, 0.5)] + [Lesion(i, f"b{i}", i in DOWN, 0.7) for i in range(9)]
    fig, (a, b) = plt.subplots(1, 2)
    P.plot_lesions(_lesions(), a, b, quick)
    lines = {line.get_label(): line for line in a.get_lines()}
    trained, mine = lines["trained ResNet-56"], lines["ResNet-56 trained in this chapter"]
    singles = [r for r in _lesions().metrics["single"] if r["block"] >= 0]
    assert list(trained.get_xdata()) == [r["block"] + 1 for r in singles]
    assert list(trained.get_ydata()) == pytest.approx([100 * r["error"] for r in singles])
    assert trained.get_marker() == "o" and mine.get_marker() in ("None", None) and mine.get_linewidth() == 1
    (rings,) = a.collections  # the downsampling blocks of the trained net only
    assert [x for x, _ in rings.get_offsets()] == [b + 1 for b in sorted(DOWN)]
    dotted = sorted(line.get_ydata()[0] for line in a.get_lines() if line.get_linestyle() == ":")
    assert dotted == pytest.approx(sorted([50.0, 100 * _lesions().metrics["intact_error"]]))
    plt.close(fig)
