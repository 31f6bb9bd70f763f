"""The arithmetic the ResNet chapter prints, checked against the library and against hand counts; the
chapter's training settings; the lesion study's shortcut (running only from the deleted block on); the
page's tables (ecg_lib.chapters.resnet)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from book_fixtures import printed_text
from torch import nn

from ecg_lib import papers
from ecg_lib.chapters import resnet as page
from ecg_lib.experiments import CHAPTERS, ExperimentResult, chapter_module
from ecg_lib.experiments import resnet as E
from ecg_lib.models import resnet as R
from ecg_lib.papers import CIFAR_RESNET_1202
from ecg_lib.profiles import PROFILES, UnknownProfileError
from ecg_lib.train import lr_at

# ---------------------------------------------------------------------------------------------
# The bottleneck block (Sec. 4.1, Fig. 5)


def test_bottleneck_against_two_3x3_layers() -> None:
    bott, basic64, basic256 = E.bottleneck_comparison()
    # Weights by hand: 1x1 256->64, 3x3 64->64, 1x1 64->256; two 3x3 at 64; two 3x3 at 256.
    assert bott.weights == 256 * 64 + 9 * 64 * 64 + 64 * 256 == 69_632
    assert basic64.weights == 2 * 9 * 64 * 64 == 73_728
    assert basic256.weights == 2 * 9 * 256 * 256 == 1_179_648
    # With batch norm (scale and shift per channel): 64 + 64 + 256 channels; 64 + 64; 256 + 256.
    assert bott.params == 69_632 + 2 * (64 + 64 + 256)
    assert basic64.params == 73_728 + 2 * 128 and basic256.params == 1_179_648 + 2 * 512
    # At 56 x 56 every weight is used once per output position (stride 1, "same" padding).
    assert [b.macs for b in (bott, basic64, basic256)] == [w * 56 * 56 for w in (69_632, 73_728, 1_179_648)]
    assert bott.macs == 218_365_952
    # The bottleneck costs a little less than the 64-d basic block, and 1/16.9 of the 256-d one.
    assert basic64.weights / bott.weights == pytest.approx(1.0588, abs=1e-4)
    assert basic256.weights / bott.weights == pytest.approx(16.941, abs=1e-3)


def test_bottleneck_cost_scales_with_the_map() -> None:
    small = E.bottleneck_comparison(side=14)
    assert [b.macs for b in small] == [b.weights * 14 * 14 for b in small]


# ---------------------------------------------------------------------------------------------
# Table 1 (ImageNet) and Table 6 (CIFAR-10)

TORCHVISION_PARAMS = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808}


@pytest.fixture(scope="module")
def table1() -> dict[int, E.ImageNetRow]:
    return {r.depth: r for r in E.table1_rows()}


def test_table1_rows(table1: dict[int, E.ImageNetRow]) -> None:
    rows = table1
    assert sorted(rows) == [18, 34, 50, 101, 152]
    assert {d: r.params for d, r in rows.items()} == TORCHVISION_PARAMS
    assert {d: r.macs for d, r in rows.items()} == {
        18: 1_814_073_344, 34: 3_663_761_408, 50: 3_857_973_248, 101: 7_570_194_432, 152: 11_282_415_616,
    }  # fmt: skip
    # Every count rounds to the paper's figure within 2% (34 layers: 3.66 printed as 3.6).
    assert all(abs(r.rel_diff) < 0.02 for r in rows.values())
    assert [round(r.macs / 1e9, 1) for r in rows.values()] == [1.8, 3.7, 3.9, 7.6, 11.3]
    # Basic blocks have no 1x1 to move the stride to; for the bottleneck nets the 3x3 stride (the
    # torchvision variant) adds the same 231,211,008 MACs at every depth.
    assert rows[18].macs_v15 == rows[18].macs and rows[34].macs_v15 == rows[34].macs
    extra = {d: rows[d].macs_v15 - rows[d].macs for d in (50, 101, 152)}
    assert extra == dict.fromkeys((50, 101, 152), 231_211_008)
    assert round(rows[50].macs_v15 / 1e9, 2) == 4.09


def test_table1_against_torchvision_metadata(table1: dict[int, E.ImageNetRow]) -> None:
    # torchvision documents its ResNet-50 as 4.089 "GFLOPS": the stride-on-3x3 variant, not the paper's.
    tv = pytest.importorskip("torchvision.models")
    row = table1[50]
    assert tv.ResNet50_Weights.IMAGENET1K_V1.meta["_ops"] == round(row.macs_v15 / 1e9, 3) == 4.089


def test_vgg_comparison_quoted_by_the_resnet_paper(table1: dict[int, E.ImageNetRow]) -> None:
    vgg = E.vgg_macs()
    assert vgg == {16: 15_470_264_320, 19: 19_632_062_464}
    assert round(vgg[19] / 1e9, 1) == papers.RESNET_VGG_GMACS[19]
    assert vgg[16] / 1e9 == pytest.approx(papers.RESNET_VGG_GMACS[16], rel=0.015)
    rows = table1
    # Sec. 3.3: the 34-layer net has "18%" of VGG-19's FLOPs; counted, it is 18.7%.
    assert round(100 * rows[34].macs / vgg[19], 1) == 18.7
    assert rows[152].macs < vgg[16] < vgg[19]


def test_table6_rows() -> None:
    rows = {r.depth: r for r in E.table6_rows()}
    assert sorted(rows) == list(R.CIFAR_DEPTHS)
    assert {d: r.params for d, r in rows.items()} == {
        20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962, 1202: 19_421_274,
    }  # fmt: skip
    for d, r in rows.items():
        assert round(r.params / 1e6, 1 if d >= 110 else 2) == r.paper_params_m == papers.RESNET_TABLE6[d][0]
        assert r.blocks == 3 * (d - 2) // 6
    # The paper's errors: best at 110 layers, worse again at 1202.
    errors = {d: r.paper_error for d, r in rows.items()}
    assert min(errors, key=errors.get) == 110 and errors[1202] > errors[110]
    assert errors == {20: 0.0875, 32: 0.0751, 44: 0.0717, 56: 0.0697, 110: 0.0643, 1202: 0.0793}


def test_table6_agrees_with_the_papers_module() -> None:
    for rec in CIFAR_RESNET_1202:
        assert papers.RESNET_TABLE6[rec.depth] == (rec.params, rec.error)


# ---------------------------------------------------------------------------------------------
# Training settings and the probes (no training here)


def test_every_profile_has_settings() -> None:
    assert set(E.SETTINGS) == set(PROFILES)
    assert all(isinstance(s, E.DepthSettings) for s in E.SETTINGS.values())


def test_quick_settings() -> None:
    s = E.SETTINGS["quick"]
    assert s.nets == ("plain20", "plain56", "resnet20", "resnet56")
    assert s.plain == ("plain20", "plain56") and s.residual == ("resnet20", "resnet56")
    assert all(s.config_for(n) == s.train for n in s.nets)  # one schedule for all four
    assert s.train.weight_decay == 1e-4 and s.train.momentum == 0.9  # Sec. 4.2
    assert s.lesion_nets == ("resnet20", "plain20", "resnet56", "plain56")
    assert (s.n_train_per_class, s.n_test_per_class, s.train.epochs, s.train.batch_size) == (200, 50, 3, 32)
    assert math.ceil(10 * s.n_train_per_class / s.train.batch_size) * s.train.epochs == 189  # steps per net


def test_full_settings_follow_section_4_2() -> None:
    s = E.SETTINGS["full"]
    assert s.n_train_per_class is None and s.n_test_per_class is None
    assert s.nets == ("plain20", "plain32", "plain44", "plain56",
                      "resnet20", "resnet32", "resnet44", "resnet56", "resnet110")  # fmt: skip
    c = s.config_for("resnet56")
    spe = math.ceil(50_000 / c.batch_size)
    assert (c.batch_size, spe, c.epochs) == (128, 391, 164)
    assert spe * c.epochs == pytest.approx(64_000, rel=0.002)
    assert [round(m * spe) for m in c.milestones] == [32_000, 48_000]
    assert lr_at(0, spe, c) == pytest.approx(0.1)  # no warmup for the nets up to 56 layers
    assert lr_at(40_000, spe, c) == pytest.approx(0.01) and lr_at(50_000, spe, c) == pytest.approx(0.001)
    warm = s.config_for("resnet110")  # 0.01 for about 400 iterations, then 0.1
    assert lr_at(0, spe, warm) == pytest.approx(0.01) and lr_at(390, spe, warm) == pytest.approx(0.01)
    assert lr_at(391, spe, warm) == pytest.approx(0.1)
    assert s.config_for("resnet56").warmup == 0


def test_unknown_profile_is_rejected_before_any_work() -> None:
    # no data is loaded and nothing trains: the profile is checked first
    for call in (lambda: E.depth_experiment(profile="medium"), lambda: E.tables_experiment(profile="medium"),
                 lambda: E.DepthRun(profile="medium", settings=E.SETTINGS["quick"])):  # fmt: skip
        with pytest.raises(UnknownProfileError, match="quick, standard, full"):
            call()


def test_depth_run_records_the_profile_it_is_given(cifar10) -> None:
    # A tiny run with explicit settings: 2 images per class, one epoch of plain-20 and ResNet-20.
    quick = E.SETTINGS["quick"]
    tiny = dataclasses.replace(
        quick, nets=("plain20", "resnet20"), n_train_per_class=2, n_test_per_class=2,
        lesion_nets=("resnet20",), grad_batch=8, train=quick.train.replace(epochs=1, batch_size=10),
    )  # fmt: skip
    run = E.DepthRun(cifar10, profile="full", settings=tiny)  # the profile is recorded; the settings are tiny
    run.train(*tiny.nets)
    lesions = run.lesions()
    assert run.result.profile == "full" and run.result.run_info["profile"] == "full"
    assert all(h.info["profile"] == "full" and h.steps_per_epoch == 2 for h in run.result.histories.values())
    assert set(run.result.metrics["final_train_error"]) == {"plain20", "resnet20"}
    assert list(lesions) == ["resnet20"] and len(lesions["resnet20"]) == 1 + 9
    assert len(E.grads_of(run.result, "plain20", "trained")) == 19


def test_plain_and_residual_nets_start_from_the_same_weights() -> None:
    plain, res = E.initial_model("plain20"), E.initial_model("resnet20")
    a, b = plain.state_dict(), res.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    other_seed = E.initial_model("plain20", seed=1).state_dict()
    assert not torch.equal(a["stem.0.weight"], other_seed["stem.0.weight"])
    with pytest.raises(ValueError, match="plain56"):
        E.initial_model("alexnet_cifar")


def test_gradient_norms_one_per_conv_and_model_untouched() -> None:
    torch.manual_seed(0)
    model = E.initial_model("resnet20")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    grads = E.gradient_norms(model, x, y)
    assert len(grads) == 1 + 18  # the stem and two per block; option A shortcuts have no conv
    assert [g.index for g in grads] == list(range(19)) and grads[0].name == "stem.0"
    assert all(g.norm > 0 and math.isfinite(g.norm) for g in grads)
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(g.rel == pytest.approx(g.norm / float(w.detach().norm()), rel=1e-5)
               for g, w in zip(grads, weights, strict=True))  # fmt: skip
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN running statistics too
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("residual", [True, False], ids=["resnet14", "plain14"])
def test_lesion_study_matches_whole_lesioned_nets(residual: bool) -> None:
    # Small and fast: 14 layers (2 blocks per stage) on 8 x 8 inputs; the nets take any input side.
    torch.manual_seed(0)
    model = R.resnet_cifar(14, residual=residual)
    with torch.no_grad():  # forward passes in training mode give BN running statistics of their own
        for _ in range(3):
            model(torch.randn(16, 3, 8, 8))
    model.eval()
    x, y = torch.randn(24, 3, 8, 8), torch.randint(0, 10, (24,))
    lesions = E.lesion_study(model, x, y, batch_size=10)  # batches of 10, 10, 4
    assert len(lesions) == 1 + 6 and lesions[0].block == -1
    assert [les.block for les in lesions[1:] if les.downsampling] == [2, 4]  # first block of stages 2, 3
    assert [les.name for les in lesions[1:]] == ["stage1.1", "stage1.2", "stage2.1", "stage2.2",
                                                 "stage3.1", "stage3.2"]  # fmt: skip
    with torch.no_grad():
        assert lesions[0].error == pytest.approx(float((model(x).argmax(1) != y).float().mean()))
        changed = 0
        for les in lesions[1:]:
            whole = R.drop_block(model, les.block, allow_downsampling=True).eval()
            out = whole(x)
            assert les.error == pytest.approx(float((out.argmax(1) != y).float().mean())), les
            changed += not torch.allclose(out, model(x))
    assert changed == 6  # every deletion changes the output: the comparison above is not vacuous


def test_lesion_summary() -> None:
    les = [E.Lesion(-1, "none", False, 0.30), E.Lesion(0, "stage1.1", False, 0.60),
           E.Lesion(1, "stage2.1", True, 0.40), E.Lesion(2, "stage2.2", False, 0.32),
           E.Lesion(3, "stage3.1", True, 0.90)]  # fmt: skip
    s = E.LesionSummary.of(les)
    assert s.intact == 0.30
    # torch's median of an even count is the lower middle value: of (+0.30, +0.02) it is +0.02
    assert s.median_change == pytest.approx(0.02) and s.max_change == pytest.approx(0.30)
    assert s.downsampling_change == pytest.approx(0.60)
    # shares of the way to chance (0.9): 0.5, 1/6, 1/30, 1 -> lower middle 1/6
    assert s.toward_chance == pytest.approx(1 / 6)
    at_chance = E.LesionSummary.of([E.Lesion(-1, "none", False, 0.92), E.Lesion(0, "stage1.1", False, 0.9)])
    assert math.isnan(at_chance.toward_chance)  # no way left to chance: undefined, not a huge number
    with pytest.raises(ValueError, match="intact net first"):
        E.LesionSummary.of(les[1:])


def test_the_wide_tables_keep_to_six_columns() -> None:
    # issue 27: at most six columns in the text column; the numbers stay, the shape changes
    def columns(table: str) -> set[int]:
        return {line.count(" | ") + 1 for line in table.splitlines() if line.startswith("| ")}

    rows = E.table1_rows()
    t1 = page.table1_table(rows, E.vgg_macs())
    assert columns(t1) == {6}
    assert "| ResNet-50, bottleneck | 25.6 M | 3.86 G | 3.8 G | +1.5% | 4.09 G |" in t1
    assert "| VGG-19 | — | 19.63 G | 19.6 G (Sec. 4.1) | +0.2% | — |" in t1
    options = E.shortcut_options(34)
    so = page.shortcut_options_table(options)  # transposed: one column per option
    assert columns(so) == {4} and so.splitlines()[0] == "| option | A | B | C |"
    assert "| parameters added to A | +0 | +173,824 | +1,092,992 |" in so
    assert "| top-1 error (Table 3) | 25.03% | 24.52% | 24.19% |" in so
    archived = ExperimentResult("resnet.depth", "standard", metrics={
        "final_test_error": {"resnet20": 0.192, "resnet56": 0.1791}})  # fmt: skip
    t6 = page.table6_table(E.table6_rows(), archived)
    assert columns(t6) == {5} and "| 56 | 853,018 | 0.85 M | 6.97% | 17.91% |" in t6
    assert t6.splitlines()[0].endswith("| test error, standard profile (archived) |")
    assert "| 110 | 1,727,962 | 1.7 M | 6.43% | — |" in page.table6_table(E.table6_rows(), None)
    grads = [E.LayerGrad(0, "c0", 77.0, 0.1), E.LayerGrad(1, "c1", 0.034, 0.1)]
    probes = [E.SignalProbe(label, [0.5 + k / 10 for k in range(27)], grads, 2.3 + i / 1000)
              for i, label in enumerate(("BN", "no BN", "default"))]  # fmt: skip
    bn = page.batchnorm_table(probes)  # transposed: one column per variant
    assert columns(bn) == {4} and bn.splitlines()[0] == "| quantity | BN | no BN | default |"
    assert "| output std, block 27 | 3.1 | 3.1 | 3.1 |" in bn and "| loss | 2.300 | 2.301 | 2.302 |" in bn
    ident = {k: [E.IdentityGrad(f"stage3.{i}", 1.0 + i, 0.5, 0.1) for i in range(1, 9)]
             for k in ("plain-56", "ResNet-56", "ResNet-56, x + F(x)")}  # fmt: skip
    it = page.identity_table(ident)  # two tables: direction, then size
    assert columns(it) == {4}
    assert it.count("| block | plain-56 | ResNet-56 | ResNet-56, x + F(x) |") == 2
    assert "| stage3.8 | 0.50 | 0.50 | 0.50 |" in it and "| stage3.8 | 9.00 | 9.00 | 9.00 |" in it


def test_the_batchnorm_sentence_has_no_degenerate_range() -> None:
    grads = [E.LayerGrad(0, "c0", 77.0, 0.1), E.LayerGrad(1, "c1", 0.034, 0.1)]
    flat = E.SignalProbe("BN", [0.6] * 27, grads, 2.3)
    fading = E.SignalProbe("no BN", [0.4 / (k + 1) for k in range(27)], grads, 2.303)
    text = page.batchnorm_text([flat, fading, fading])
    assert "its standard deviation is 0.60 in every block" in text and "0.60 to 0.60" not in text
    spread = E.SignalProbe("BN", [0.57, 0.66] + [0.6] * 25, grads, 2.3)
    assert "its standard deviation is between 0.57 and 0.66" in page.batchnorm_text([spread, fading, fading])


def test_the_page_tables() -> None:
    twins = [E.twin_nets(d) for d in (20, 56)]
    assert page.twins_table(twins).splitlines() == [
        "| depth | blocks | parameters (plain) | parameters (residual) | same initial weights |",
        "|---|---|---|---|---|",
        "| 20 | 9 | 269,722 | 269,722 | True |",
        "| 56 | 27 | 853,018 | 853,018 | True |",
    ]
    assert page.depth_cost_line(E.table6_rows()) == (
        "ResNet-1202 / ResNet-110: 11.1x the blocks, 11.2x the parameters"
    )


def _row(table: str, start: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(f"| {start}"))


def _quick_result(train_error: dict[str, float] | None = None, profile: str = "quick") -> ExperimentResult:
    """A made-up depth result: training errors, one test error for all, gradient probes and lesions."""
    nets = ("plain20", "plain56", "resnet20", "resnet56")
    grads = {n: {w: [vars(E.LayerGrad(i, f"c{i}", 2.0 - i / 60, 0.1)) for i in range(55)]
                 for w in ("init", "trained")} for n in nets}  # fmt: skip
    lesions = {n: [vars(E.Lesion(-1, "none", False, 0.5))]
               + [vars(E.Lesion(i, f"b{i}", i == 3, 0.6 if n.startswith("res") else 0.85)) for i in range(9)]
               for n in nets}  # fmt: skip
    train_error = train_error or {"plain20": 0.30, "plain56": 0.45, "resnet20": 0.25, "resnet56": 0.20}
    info = {"n_train": 2000, "n_test": 500}
    if profile != "quick":  # what an archive records besides the sizes
        info.update(profile=profile, device="cpu", precision="fp32", torch="2", date="2026-12-06",
                    wall_time_s=1.0, data_quality="lossy JPEG copy (quality 75) — x")  # fmt: skip
    return ExperimentResult("resnet.depth", profile, metrics={
        "final_train_error": train_error, "final_test_error": dict.fromkeys(nets, 0.55),
        "grad_norms": grads, "lesions": lesions,
    }, run_info=info)  # fmt: skip


def test_the_ledger_reads_every_claim_and_no_evidence_without_archives(monkeypatch, tmp_path) -> None:
    # A made-up quick result (no archive exists under tmp_path): every claim gets a row, the archived
    # columns say there is no evidence yet.
    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))
    result = _quick_result()
    live = {"depth": result, "depth110": None, "reference_depth": None, "reference_lesions": None,
            **page.counted()}
    table = page.LEDGER.table(live, "quick")
    body = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| claim")]
    assert len(body) == len(page.LEDGER.claims)
    none = "no archive: no evidence yet"
    assert (f"| 45.0% (plain-56) vs. 30.0% (plain-20): **reproduced** (it could see a difference of 3.0 "
            f"points) | {none} | {none} |") in _row(table, "A deeper plain net has a higher training error")
    # a quick run cannot reach Table 6's value: not testable here, never "not reproduced"
    assert "| 55.0%: **not testable here** (a quick-profile run" in _row(table, "ResNet-20 reaches 8.75%")
    assert "| 3.86 G: **reproduced** | same (counted) |" in _row(table, "ResNet-50 needs 3.8 billion")
    assert "| 69,632 vs. 73,728: **reproduced** |" in _row(table, "A bottleneck block costs")
    assert "+10.0 points (ResNet-56): **not reproduced**" in _row(table, "Deleting one block barely")
    # a sign claim: one seed cannot decide it
    assert ("| 87% vs. 25% of the way to chance: **inconclusive** (1 of 1 seed in the paper's direction) |"
            in _row(table, "Deleting one block hurts"))  # fmt: skip
    # without the trained references, their rows say they were not run
    assert "| not run in the quick profile |" in _row(table, "A trained ResNet-20 tests at 8.75%")
    # the generated sentences follow the verdicts
    text = page.profile_text(result)
    assert "measured 45.0% (plain-56) vs. 30.0% (plain-20), which agrees with the paper" in text
    assert "measured 25.0% (ResNet-20) vs. 20.0% (ResNet-56), which agrees with the paper" in text
    worse = _quick_result({**result.metrics["final_train_error"], "resnet56": 0.35})
    opposite = ("measured 25.0% (ResNet-20) vs. 35.0% (ResNet-56), which is the opposite of what the paper "
                "reports")
    assert opposite in page.profile_text(worse)
    # With the trained references: their rows measured
    depth_ref = ExperimentResult("reference.depth", "quick", metrics={
        "errors": {n: {"correct": 850, "n": 1000, "error": 0.15} for n in ("resnet20", "resnet56")},
        "reported_accuracy": {"resnet20": 91.78, "resnet56": 93.62}, "data_quality": "lossy JPEG copy — x",
    })  # fmt: skip
    single = [{"block": -1, "name": "none", "downsampling": False, "error": 0.15}]
    single += [{"block": i, "name": f"b{i}", "downsampling": i == 3, "error": 0.17} for i in range(9)]
    lesions_ref = ExperimentResult("reference.lesions", "quick", metrics={
        "intact_error": 0.15, "sampling_se": 0.025, "n_test": 200, "single": single, "contiguous": {},
        "random": {"4": {"sets": [[0, 1, 2, 4]], "errors": [0.4], "mean": 0.4, "std": 0.0, "min": 0.4,
                         "max": 0.4, "n": 1}},
    })  # fmt: skip
    table = page.LEDGER.table({**live, "reference_depth": depth_ref, "reference_lesions": lesions_ref},
                              "quick")  # fmt: skip
    # the reference weights scored on the lossy copy: out of reach of Table 6 by construction
    reference = _row(table, "A trained ResNet-20 tests at 8.75%")
    assert ("| 15.0% (on the original: 8.27% in the publisher's README, 8.22% at the best epoch): "
            "**not testable here** (the data is a lossy JPEG copy") in reference
    assert "| +2.0 points: **reproduced** (it could see a difference of 5.0 points) |" in _row(
        table, "Deleting one block of a trained ResNet-56")
    assert "sampling SE, 200 images" in _row(table, "Deleting one block of a trained ResNet-56")


def test_the_closing_page_reads_the_archives_and_flips_with_them(monkeypatch, tmp_path) -> None:
    """The closing page (notebooks/resnet_summary.md) needs no live run: its five points and its data
    note come from the archives, and another archived result changes the sentence."""
    from ecg_lib.chapters import summary
    from ecg_lib.results import save_archive

    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))
    assert page.data_note() == "**Data.** No archived evaluation of the trained reference networks yet."
    points = page.summary_points(summary.evidence("resnet"))
    assert len(points) == 5 and all("**no evidence yet**" in p for p in points[:4])
    # 16 claims, 13 figures: Table 6's 8.75% and 6.97% are each one figure checked by two claims
    assert points[4] == ("Of the chapter's 13 claims from the papers, 4 hold, 9 without evidence yet.")
    save_archive(_quick_result(profile="standard"), "resnet", "depth")
    points = page.summary_points(summary.evidence("resnet"))
    assert points[0] == ("A deeper plain net has a higher training error (Fig. 6 left). The archived "
                         "standard run measured 45.0% (plain-56) vs. 30.0% (plain-20). Verdict: "
                         "**reproduced**; it could see a difference of 3.0 points.")
    assert points[1].startswith("Shortcuts remove the degradation (Fig. 6 middle). The archived standard run "
                                "measured 45.0% (plain-56) vs. 20.0% (ResNet-56). Verdict: **reproduced**")
    save_archive(_quick_result({"plain20": 0.45, "plain56": 0.30, "resnet20": 0.25, "resnet56": 0.20},
                               profile="standard"), "resnet", "depth")  # fmt: skip
    flipped = page.summary_points(summary.evidence("resnet"))
    assert flipped[0].startswith("A deeper plain net has a higher training error (Fig. 6 left). The archived "
                                 "standard run measured 30.0% (plain-56) vs. 45.0% (plain-20). Verdict: "
                                 "**opposite**")
    assert flipped[4] != points[4]
    depth_ref = ExperimentResult("reference.depth", "standard", metrics={
        "errors": {n: {"correct": 850, "n": 1000, "error": 0.15} for n in ("resnet20", "resnet56")},
        "reported_accuracy": {"resnet20": 91.78, "resnet56": 93.62}, "data_quality": "lossy JPEG copy — x",
    }, run_info={"profile": "standard", "device": "cpu", "precision": "fp32", "torch": "2",
                 "date": "2026-12-06", "wall_time_s": 1.0})  # fmt: skip
    save_archive(depth_ref, "resnet", "reference_depth")
    note = page.data_note()
    # an archive written before both figures were kept (reported_accuracy = the files' best_prec1)
    assert note.startswith("**Data.** The archived standard-profile run's CIFAR-10: lossy JPEG copy — x. "
                           "Measured on the trained reference networks (1,000 test images)")
    assert "ResNet-20 +6.7 / +6.8, ResNet-56 +8.4 / +8.6 points (against their README table" in note


def test_the_archive_note_follows_the_archives(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))
    assert page.archive_note().startswith("No archived standard- or full-profile run")


def test_chapter_is_registered() -> None:
    assert CHAPTERS["resnet"] == "ecg_lib.experiments.resnet"
    module = chapter_module("resnet")
    # the trained reference networks are the chapter's too: `reproduce resnet` runs them
    assert set(module.EXPERIMENTS) == {"tables", "depth", "depth_seed1", "depth110", "depth110_seed1",
                                       "reference_depth", "reference_lesions",
                                       "reference_block_stats"}  # fmt: skip
    # ResNet-110 against ResNet-56 in every profile, lesions of ResNet-110 only in the full one
    deeper = E.DEEPER_SETTINGS
    assert {p: s.nets for p, s in deeper.items()} == dict.fromkeys(PROFILES, ("resnet56", "resnet110"))
    assert deeper["full"].lesion_nets == ("resnet110",) and not deeper["standard"].lesion_nets
    assert E.DEEPER_SETTINGS["standard"].train == E.SETTINGS["standard"].train


def test_rows_are_json_clean(table1: dict[int, E.ImageNetRow]) -> None:
    # tables_experiment() archives these rows as JSON through vars().
    import json

    assert json.loads(json.dumps(vars(table1[50])))["macs"] == 3_857_973_248
    assert json.loads(json.dumps(vars(E.bottleneck_comparison()[0])))["weights"] == 69_632


# --------------------------------------------------------------------------------------------------------
# The built chapter (one shared book build; see tests/book_fixtures.py). Training numbers vary with the
# machine's float arithmetic, so only the arithmetic the chapter prints is pinned here.


@pytest.mark.book
def test_the_built_chapter_prints_the_library_numbers(executed_notebook) -> None:
    text = printed_text(executed_notebook("resnet"))
    assert "| 20 | 9 | 269,722 | 269,722 | True |" in text
    assert "| 56 | 27 | 853,018 | 853,018 | True |" in text
    assert "| bottleneck, 256-d | 1x1, 64 / 3x3, 64 / 1x1, 256 | 69,632 | 70,400 | 218.4 M |" in text
    assert "16.9× fewer than two 3×3 layers at 256 channels (1,179,648)" in text
    assert "| ResNet-50, bottleneck | 25.6 M | 3.86 G | 3.8 G | +1.5% | 4.09 G |" in text
    assert "| ResNet-152, bottleneck | 60.2 M | 11.28 G | 11.3 G | -0.2% | 11.51 G |" in text
    assert "ResNet-34 costs 18.7% of VGG-19" in text
    assert "| 110 | 1,727,962 | 1.7 M | 6.43% |" in text and "| 1202 | 19,421,274 | 19.4 M | 7.93% |" in text
    # The measured paragraphs are there, whichever way this machine's run came out.
    small = "do not decide the claim; the archived run above does."  # the reader's own run, folded
    # the reader's gradients and deletions stay on the first page, with the nets it trained; the
    # archived run that decides those claims is on the next page
    later = "do not decide the claim; the archived run on the next page does."
    for start in (f"{small} At the end of training", f"{small} With the same 56 layers",
                  f"{later} At initialisation", f"{later} Deleting one block",
                  "**Measured.** This chapter's data: lossy JPEG copy",
                  "**Measured.** On 200 test images (sampling standard error",
                  "**Measured.** On 200 test images, the residual F(x)"):
        assert start in text
    # section 7: the four trained networks beside Table 6, the lesion curve, the data note
    # Table 6, the publisher's README figure, the files' best-epoch figure
    assert "| ResNet-20 | 8.75% | 8.27% | 8.22% |" in text and "| ResNet-56 | 6.97% | 6.61% | 6.38% |" in text
    assert "| 12 | random: 3 |" in text and "ensemble-like behaviour" in text
    # the closing page: five points, the data note from the archived references, the verdict table
    assert "**Data.** The archived standard-profile run's CIFAR-10: lossy JPEG copy (quality 75" in text
    assert "1. A deeper plain net has a higher training error (Fig. 6 left)" in text
    assert "| claim | paper | verdict |" in text
    assert "Chapter run time:" in text and "quick profile" in text


def _depth110_archive(gained: int, lost: int) -> ExperimentResult:
    """A made-up archived depth110 run on 10,000 images: ResNet-56 right on the first 8,200; ResNet-110
    right on those except ``lost`` of them, and on ``gained`` more."""
    from ecg_lib.evidence import pack_correct

    n = 10_000
    r56 = [i < 8_200 for i in range(n)]
    r110 = [(i < 8_200 and i >= lost) or 8_200 <= i < 8_200 + gained for i in range(n)]
    errors = {"resnet56": 1 - sum(r56) / n, "resnet110": 1 - sum(r110) / n}
    return ExperimentResult("resnet.depth110", "standard", metrics={
        "final_test_error": errors,
        "correct": {"resnet56": pack_correct(r56), "resnet110": pack_correct(r110)},
    }, run_info={"n_train": 50_000, "n_test": n, "profile": "standard", "device": "cpu", "precision": "fp32",
                 "torch": "2", "date": "2026-12-07", "wall_time_s": 1.0,
                 "data_quality": "lossy JPEG copy (quality 75) — x"})  # fmt: skip


@pytest.mark.parametrize(("gained", "lost", "verdict"), [
    (150, 0, "reproduced"),  # 1.5 points better, every disagreement in ResNet-110's favour
    (0, 150, "opposite"),
    (60, 50, "within noise"),  # 0.1 points: far inside the paired noise
])  # fmt: skip
def test_the_resnet110_row_reads_the_archive_paired_and_flips_with_it(monkeypatch, tmp_path, gained, lost,
                                                                     verdict) -> None:  # fmt: skip
    from ecg_lib.results import save_archive

    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))
    from ecg_lib.chapters import common

    missing = common.archive_summary("resnet", "depth110", page.LEDGER, ["deeper_110"], missing="none.")
    assert "none." in missing and "--experiments depth110" in missing
    save_archive(_depth110_archive(gained, lost), "resnet", "depth110")
    common_text = common.archive_summary("resnet", "depth110", page.LEDGER, ["deeper_110"], missing="x")
    e110 = 100 * (1800 - gained + lost) / 10_000
    assert f"{e110:.1f}% (ResNet-110)" in common_text or f"{e110:.2f}% (ResNet-110)" in common_text
    words = {"reproduced": "which agrees with the paper",
             "opposite": "which is the opposite of what the paper reports",
             "within noise": "a difference within the noise of this measurement"}[verdict]
    assert words in common_text and "paired SE over 10,000 images" in common_text
    # 2 paired SE, stated whatever the verdict
    assert "it could see a difference of 0.2 points" in common_text
    table = page.LEDGER.table({"depth": None, "depth110": None, "reference_depth": None,
                               "reference_lesions": None, **page.counted()}, "quick")  # fmt: skip
    assert f"**{verdict}**" in _row(table, "ResNet-110 reaches a lower test error")
