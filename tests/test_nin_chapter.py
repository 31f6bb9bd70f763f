"""The numbers the Network-in-Network chapter prints, asserted against the library; its settings per
profile; and its experiment and page functions on a few random images (seconds, no CIFAR-10)."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from book_fixtures import printed_text
from torch import nn

from ecg_lib import papers
from ecg_lib.chapters import nin as page
from ecg_lib.claims import verdict
from ecg_lib.counting import count_macs, count_params, summarize
from ecg_lib.data import CIFAR10Data
from ecg_lib.evidence import unpack_correct
from ecg_lib.experiments import CHAPTERS, chapter_module
from ecg_lib.experiments import nin as X
from ecg_lib.models import nin as N
from ecg_lib.papers import network
from ecg_lib.profiles import PROFILES, UnknownProfileError
from ecg_lib.train import TrainConfig


def test_mlpconv_equals_an_mlp_slid_over_unfolded_patches() -> None:
    check = X.mlpconv_check()
    assert check.output_shape == (2, 96, 32, 32)  # nin_cifar's mlpconv1: 5x5 -> 192, 1x1 -> 160, 1x1 -> 96
    assert (check.patches, check.patch_size) == (32 * 32, 3 * 5 * 5)
    assert check.max_abs_output > 0.1  # a real, non-trivial output ...
    assert check.max_abs_diff < 1e-12  # ... reproduced to float64 rounding


def test_mlpconv_check_on_a_strided_block_with_other_sizes() -> None:
    torch.manual_seed(1)
    block = N.nin().features.mlpconv1  # ImageNet NIN: 11x11 stride 4, then two 1x1 layers of 96
    check = X.mlpconv_check(block, input_shape=(1, 3, 67, 67))
    assert check.output_shape == (1, 96, 15, 15) and check.patch_size == 3 * 11 * 11
    assert check.max_abs_diff < 1e-12


def test_mlp_copy_rejects_other_layers() -> None:
    with pytest.raises(ValueError, match="convolutions and ReLUs"):
        X.mlpconv_as_mlp(nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(2)))


def test_a_1x1_output_map_is_a_weighted_sum_of_input_maps() -> None:
    torch.manual_seed(0)
    model = X.build_nin(0.25)
    mix = X.cross_channel_mix(model.features.mlpconv1, torch.randn(1, 3, 32, 32), out_map=3)
    assert mix["inputs"].shape == (48, 32, 32) and mix["weights"].shape == (48,)
    torch.testing.assert_close(mix["recomputed"], mix["output"], atol=1e-5, rtol=1e-5)


def test_head_parameters_and_shapes() -> None:
    heads = {h.name: h for h in X.head_facts()}
    assert heads["gap"].params == heads["avgpool 8x8"].params == 0
    assert heads["fc"].params == 10 * 8 * 8 * 10 + 10 == 6410  # 10 maps of 8x8 -> 10 scores
    assert heads["gap"].output_shape == {32: (10,), 64: (10,)}  # one score per class at any size
    assert heads["avgpool 8x8"].output_shape == {32: (10,), 64: (40,)}  # a 2x2 grid of scores at 64x64
    assert heads["fc"].output_shape[32] == (10,)
    assert str(heads["fc"].output_shape[64]).startswith("rejected")  # the FC layer fixes the input size


def test_nin_counts() -> None:
    assert X.nin_blocks(1.0) == N.NIN_CIFAR
    assert [b.cccp[-1] for b in X.nin_blocks(0.25)] == [24, 48, N.CLASSES]
    gap, fc = X.build_nin(1.0), X.build_nin(1.0, "fc")
    assert count_params(gap) == 966_986  # the authors' CIFAR-10 model: 0.97 M parameters
    assert count_params(fc) == 966_986 + 6410
    by_hand = (  # (in x out x k x k) x output positions, layer by layer
        (3 * 192 * 25 + 192 * 160 + 160 * 96) * 32 * 32
        + (96 * 192 * 25 + 192 * 192 + 192 * 192) * 16 * 16
        + (192 * 192 * 9 + 192 * 192 + 192 * 10) * 8 * 8
    )
    assert count_macs(gap, (3, 32, 32)) == by_hand == 222_486_528
    assert count_params(X.build_nin(0.25)) == 63_770
    assert count_params(X.build_nin(0.25, "fc")) == 63_770 + 6410


def test_dropout_option_changes_only_dropout() -> None:
    assert [b.dropout for b in X.nin_blocks(1.0)] == [0.5, 0.5, 0.0]  # the authors' table
    assert [b.dropout for b in X.nin_blocks(1.0, dropout=0.2)] == [0.2, 0.2, 0.0]
    no_drop = X.build_nin(0.25, dropout=0.0)
    assert not any(isinstance(m, nn.Dropout) for m in no_drop.modules())
    assert count_params(no_drop) == count_params(X.build_nin(0.25))  # dropout has no parameters
    with pytest.raises(ValueError, match="dropout"):
        X.nin_blocks(1.0, dropout=1.0)


def test_class_maps_average_to_the_scores() -> None:
    torch.manual_seed(0)
    model = X.build_nin(0.25)
    maps, scores = X.class_maps(model, torch.randn(3, 3, 32, 32))
    assert maps.shape == (3, 10, 8, 8)
    torch.testing.assert_close(maps.mean((2, 3)), scores)
    assert model.training  # mode restored
    with pytest.raises(ValueError, match="GAP head"):
        X.class_maps(X.build_nin(0.25, "fc"), torch.randn(1, 3, 32, 32))


def test_silent_class_maps_counts_switched_off_classes() -> None:
    torch.manual_seed(0)
    model = X.build_nin(0.25)
    last = model.features.mlpconv3.cccp2
    with torch.no_grad():  # switch class 7 off for every input: its pre-ReLU map is always negative
        last.weight[7].zero_()
        last.bias[7] = -1.0
    silent, predicted = X.silent_class_maps(model, torch.randn(6, 3, 32, 32), batch_size=4)
    assert silent.shape == predicted.shape == (10,)
    assert silent[7] == 1.0 and predicted.sum() == pytest.approx(1.0)
    assert predicted[7] == 0.0 or silent.min() == 1.0  # a silent class wins only if all are silent


def test_settings_and_paper_figures() -> None:
    quick, full = X.SETTINGS["quick"], X.SETTINGS["full"]
    assert quick.heads == full.heads == ("gap", "fc")
    # the 10.41% setting: the authors' network on all images, without augmentation
    assert full.width == 1.0 and full.n_train_per_class is None and not full.train.augment
    assert full.dropout is None and full.augmented_run  # the authors' dropout; Table 1's augmented run too
    paper = papers.NIN_CIFAR10
    assert paper["nin"] < paper["fc_dropout"] < paper["fc"]
    assert "10.41%" in network("nin_cifar").note and "8.81%" in network("nin_cifar").note
    assert f"{100 * paper['nin']:.2f}%" == "10.41%" and f"{100 * paper['nin_augmented']:.2f}%" == "8.81%"
    assert round(count_params(X.build_nin(1.0)), -4) == papers.NIN_CIFAR10_PARAMS


def test_schedules_per_profile() -> None:
    # quick: the short run's warmup and cosine decay; full: a 2-epoch warmup, then /10 at 1/2 and 3/4
    quick, full = X.SETTINGS["quick"].train, X.SETTINGS["full"].train
    assert (quick.schedule, quick.milestones, quick.warmup_epochs) == ("warmup_cosine", (), None)
    assert (full.schedule, full.milestones, full.warmup_epochs) == ("step", (60.0, 90.0), 2)
    assert full.milestones == (0.5 * full.epochs, 0.75 * full.epochs)
    assert quick.optimizer == full.optimizer == "adam"


def test_every_profile_has_settings() -> None:
    assert set(X.SETTINGS) == set(PROFILES)
    for s in X.SETTINGS.values():
        assert isinstance(s.train, TrainConfig)
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.width = 2.0


def test_train_heads_rejects_an_unknown_profile() -> None:
    with pytest.raises(UnknownProfileError, match="quick, standard, full"):
        X.train_heads(profile="slow")
    with pytest.raises(UnknownProfileError, match="quick, standard, full"):
        X.train_heads(profile="slow", settings=X.SETTINGS["quick"])


def test_chapter_is_registered() -> None:
    assert CHAPTERS["nin"] == "ecg_lib.experiments.nin"
    table = chapter_module("nin").EXPERIMENTS
    assert list(table) == ["train_heads", *(f"train_heads_seed{k}" for k in range(1, X.HEAD_SEEDS))]
    assert table["train_heads"] is X.train_heads and X.HEAD_SEEDS == 4


# ----------------------------------------------------------------------------------------------------------
# The experiment and the page on random images with tiny settings


@pytest.fixture(scope="module")
def tiny_run() -> tuple[X.ExperimentResult, dict]:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (60, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.arange(60) % 10
    data = CIFAR10Data(x[:40], y[:40], x[40:], y[40:], source="random")
    quick = X.SETTINGS["quick"]
    train = quick.train.replace(epochs=1, batch_size=10, device="cpu", precision="fp32")
    s = dataclasses.replace(quick, n_train_per_class=2, n_test_per_class=2, train=train)
    trained: dict = {}
    return X.train_heads(data, profile="quick", settings=s, keep=trained), trained


def test_tiny_run(tiny_run: tuple[X.ExperimentResult, dict]) -> None:
    result, trained = tiny_run
    assert set(result.histories) == {"gap", "fc"} and result.profile == result.run_info["profile"] == "quick"
    assert all(h.info["profile"] == "quick" and h.config["schedule"] == "warmup_cosine"
               for h in result.histories.values())  # fmt: skip
    assert result.metrics["settings"]["train"]["epochs"] == 1 and result.metrics["settings"]["width"] == 0.25
    assert result.metrics["gap"]["head_params"] == 0 and result.metrics["fc"]["head_params"] == 6410
    assert set(trained) == {"gap", "fc", "normalizer"}
    # one bit per test image, agreeing with the recorded test error
    n = result.run_info["n_test"]
    for head in ("gap", "fc"):
        correct = unpack_correct(result.metrics[head]["correct"], n)
        assert correct.shape == (n,)
        assert 1 - correct.mean() == pytest.approx(result.metrics[head]["test_error"])


def test_seeds_start_from_different_weights(monkeypatch) -> None:
    """Seed 1 once shared seed 0's initial weights (a fixed torch.manual_seed(0)), and the FC head's blocks
    started from other weights than the GAP head's; now each seed starts from its own weights and both
    heads of one seed from the same blocks."""
    built: list[tuple[int, str, torch.Tensor]] = []
    real_fit = X.fit

    def spy_fit(model, data, config, **kw):  # the weights as training starts
        built.append((config.seed, model.head_kind, model.features.mlpconv1.conv.weight.detach().clone()))
        return real_fit(model, data, config, **kw)

    monkeypatch.setattr(X, "fit", spy_fit)
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.arange(40) % 10
    data = CIFAR10Data(x[:20], y[:20], x[20:], y[20:], source="random")
    quick = X.SETTINGS["quick"]
    for seed in (0, 1):
        torch.manual_seed(12345)  # whatever the global generator holds before: the seed decides
        train = quick.train.replace(epochs=1, batch_size=10, device="cpu", precision="fp32", seed=seed)
        X.train_heads(data, profile="quick", settings=dataclasses.replace(
            quick, n_train_per_class=None, n_test_per_class=None, train=train))  # fmt: skip
    w = {(seed, head): t for seed, head, t in built}
    assert set(w) == {(0, "gap"), (0, "fc"), (1, "gap"), (1, "fc")}
    assert torch.equal(w[0, "gap"], w[0, "fc"]) and torch.equal(w[1, "gap"], w[1, "fc"])
    assert not torch.equal(w[0, "gap"], w[1, "gap"])


def test_page_tables_and_text(tiny_run: tuple[X.ExperimentResult, dict]) -> None:
    result, _ = tiny_run
    summary = summarize(X.build_nin(1.0), (3, 32, 32), name="nin_cifar")
    assert page.summary_table(summary).splitlines()[-1] == "| **total** | | 10 | **966,986** | **222.5 M** |"
    heads = X.head_facts()
    assert "| gap | 0 | 10 | 10 |" in page.heads_table(heads).splitlines()
    lines = page.run_lines(result).splitlines()
    assert lines[0].startswith("gap head:  63,770 parameters (0 in the head)")
    silent, predicted = torch.zeros(10), torch.full((10,), 0.1)
    text = page.heads_text(result, CIFAR10Data.classes, 20, silent, predicted)
    assert "1.18 points higher" in text  # the paper's order, whichever this run's is
    # one epoch is "1 epoch", and the run's sizes are phrases of their own
    assert "This run trained for 1 epoch, on 2 images per class, at width 0.25;" in text
    assert "zero everywhere" not in text and "never predicts" not in text  # nothing silent, all predicted
    full = page.describe_settings(X.SETTINGS["full"])
    assert "120 epochs of batch 128, adam at lr 0.001" in full and "milestones 60, 90" in full
    assert "plus the GAP network with augmentation" in full


def _heads_result(gap: float, fc: float) -> X.ExperimentResult:
    settings = {"n_train_per_class": 500, "width": 0.25, "train": {"epochs": 10}}
    metrics = {"gap": {"test_error": gap}, "fc": {"test_error": fc, "head_params": 6410},
               "settings": settings}  # fmt: skip
    return X.ExperimentResult("nin.train_heads", "quick", metrics=metrics)


def test_silent_maps_and_never_predicted_classes_are_two_lists_that_match_their_headings() -> None:
    """Issue 27: "zero everywhere on more than half of the test images (share in brackets): deer (100%) ...
    the network never predicts bird, deer" named a class (bird) the list before it did not hold."""
    classes = CIFAR10Data.classes  # airplane automobile bird cat deer dog frog horse ship truck
    silent = torch.zeros(10)
    silent[4], silent[6], silent[2] = 1.0, 0.6, 0.3  # deer off on every image, frog on 60%, bird on 30%
    predicted = torch.full((10,), 0.125)
    predicted[2] = predicted[4] = 0.0  # bird (its map mostly on) and deer (off) never win
    text = page.heads_text(_heads_result(gap=0.30, fc=0.25), classes, 1000, silent, predicted)
    assert ("The GAP network's class maps show one reason: the maps of deer and frog are zero everywhere on "
            "more than half of the test images.") in text  # bird (30%) is not among them
    # the classes never predicted follow the list they belong to, before the FC head is named
    assert ("Of these, the network never predicts deer. Nor does it predict bird, whose map is on for at "
            "least half of the test images but never the highest. The FC head reads") in text
    assert "The FC head reads all 640 values of the 10 maps" in text
    assert "%)" not in text and "brackets" not in text  # no shares in brackets
    assert "The FC head's error is 5.0 points lower: in this short run the order is the reverse" in text
    assert "The paper's GAP network reached 10.41%; this one is 19.6 points above it." in text
    # every switched-off class never predicted: named once, with "or"; one class: singular
    predicted[6] = 0.0
    predicted[2] = 0.125
    text = page.heads_text(_heads_result(gap=0.25, fc=0.30), classes, 1000, silent, predicted)
    assert "In the GAP network, the maps of deer and frog are zero everywhere" in text
    assert "The network never predicts deer or frog." in text and "Nor does" not in text
    assert "as in the paper, where it is 1.18 points higher" in text
    silent[6] = 0.0
    text = page.heads_text(_heads_result(gap=0.25, fc=0.30), classes, 1000, silent, predicted)
    assert "the map of deer is zero everywhere" in text and "switched it off" in text
    # nothing off, one class never predicted: said without "Nor"; a level race has no order
    text = page.heads_text(_heads_result(gap=0.25, fc=0.2501), classes, 1000, torch.zeros(10), predicted)
    assert "The GAP network never predicts deer or frog, whose maps are on for at least half" in text
    assert "The two are level; in the paper the FC head's error is 1.18 points higher." in text


@pytest.mark.book
def test_the_built_chapter_prints_the_library_numbers(executed_notebook) -> None:
    text = printed_text(executed_notebook("nin"))
    assert "75 numbers (3 channels x 5 x 5)" in text and "output (2, 96, 32, 32)" in text
    assert "**966,986**" in text and "**222.5 M**" in text  # the summary table's totals
    assert "| gap | 0 | 10 | 10 |" in text and "| avgpool 8x8 | 0 | 10 | 40 |" in text
    assert "| fc | 6,410 | 10 | rejected" in text
    assert "0 / 6,410" in text  # the closing table's head counts
    # the closing page: five points, the last the chapter's count; the archive's data above the table
    assert "1. An mlpconv layer is a k×k convolution" in text and "\n5. Of the chapter's 6 claims" in text
    assert "**Data.** The archived standard-profile run's CIFAR-10: lossy JPEG copy" in text
    assert "Chapter run time:" in text


def test_an_archive_fills_the_closing_page_and_flips_its_verdict(tiny_run, monkeypatch, tmp_path) -> None:
    """The closing page reads the archives: a standard-profile result (here the tiny run's metrics with
    the GAP and FC errors set) fills the verdict table and the five points, and other numbers flip the
    verdict and the sentence."""
    from ecg_lib.chapters import summary
    from ecg_lib.results import save_archive

    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))
    result, _ = tiny_run
    info = {**result.run_info, "profile": "standard", "device": "cpu", "precision": "fp32", "torch": "2",
            "date": "2026-11-30", "wall_time_s": 1.0, "n_test": 10_000,
            "data_quality": "lossy JPEG copy (quality 75) — x"}  # fmt: skip

    def archive(gap: float, fc: float) -> None:  # an archive without per-image bits (as before them)
        strip = {k: v for k, v in result.metrics["gap"].items() if k != "correct"}
        m = {**result.metrics, "gap": {**strip, "test_error": gap}, "fc": {**strip, "test_error": fc}}
        save_archive(X.ExperimentResult("nin.train_heads", "standard", metrics=m, run_info=info), "nin",
                     "train_heads")  # fmt: skip

    def gap_fc_row() -> str:
        table = summary.verdict_table(summary.evidence("nin"))
        return next(line for line in table.splitlines() if "GAP gives a lower test error" in line
                    and "claim-nin-" in line).split(" | ")[-1]  # fmt: skip

    assert gap_fc_row().startswith("**no evidence yet**")
    assert page.data_note() == "**Data.** No archived run yet."
    points = page.summary_points(summary.evidence("nin"))
    assert len(points) == 5 and "**no evidence yet**" in points[2]
    assert points[4] == ("Of the chapter's 6 claims from the paper, 3 hold, 3 without evidence yet.")
    archive(gap=0.11, fc=0.13)
    assert page.data_note() == ("**Data.** The archived standard-profile run's CIFAR-10: lossy JPEG copy "
                                "(quality 75).")
    assert gap_fc_row().startswith("13.0% (FC) vs. 11.0% (GAP): **reproduced** (it could see a difference "
                                   "of 0.9 points); archived standard run")
    points = page.summary_points(summary.evidence("nin"))
    assert points[2].startswith("GAP gives a lower test error than an FC head on the same mlpconvs "
                                "(Table 5). The archived standard run measured 13.0% (FC) vs. 11.0% (GAP). "
                                "Verdict: **reproduced**")
    assert points[4] == ("Of the chapter's 6 claims from the paper, 4 hold, 1 not testable here, 1 without "
                         "evidence yet.")
    archive(gap=0.13, fc=0.11)
    point = page.summary_points(summary.evidence("nin"))[2]
    assert "11.0% (FC) vs. 13.0% (GAP). Verdict: **opposite**" in point
    assert gap_fc_row().startswith("11.0% (FC) vs. 13.0% (GAP): **opposite**")
    archive(gap=0.26, fc=0.266)
    assert gap_fc_row().startswith("26.6% (FC) vs. 26.0% (GAP): **within noise** (it could see a difference "
                                   "of 1.2 points; the paper's effect (1.2 points) is smaller than that)")


def test_the_heads_are_compared_paired_over_images(monkeypatch, tmp_path) -> None:
    """With per-image bits the difference is tested paired: two heads that agree on most images show a
    0.6-point difference that the unpaired test (1.2 points at 26% error) cannot see."""
    import numpy as np

    from ecg_lib.evidence import pack_correct

    n = 10_000
    gap, fc = np.ones(n, bool), np.ones(n, bool)
    gap[:2600] = False  # 26.0% wrong
    fc[:2500] = False
    fc[2600:2760] = False  # 26.6% wrong: 100 images only GAP gets wrong, 160 only FC
    info = {"n_test": n, "data_quality": "lossy JPEG copy — x"}
    r = X.ExperimentResult("nin.train_heads", "standard", run_info=info, metrics={
        "gap": {"test_error": 0.26, "correct": pack_correct(gap)},
        "fc": {"test_error": 0.266, "correct": pack_correct(fc)}})  # fmt: skip
    claim = page.LEDGER.claim("gap_beats_fc")
    m = claim.read(r)
    assert m.value == pytest.approx(0.006) and m.basis == "paired SE over 10,000 images"
    assert 2 * m.se == pytest.approx(2 * np.sqrt((260 / n - 0.006**2) * n / (n - 1) / n), rel=1e-6)
    assert verdict(claim, m) == "reproduced"  # 0.6 points against a 2-SE limit of 0.32
