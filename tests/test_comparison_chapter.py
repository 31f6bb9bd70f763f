"""The arithmetic the comparison chapter prints, checked against the library (no training)."""

from __future__ import annotations

import pytest
import torch
from book_fixtures import printed_text
from torch import nn

from ecg_lib import papers
from ecg_lib.chapters import comparison as page
from ecg_lib.counting import count_macs, count_params, receptive_field
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments import comparison as C
from ecg_lib.models import get_model, model_spec
from ecg_lib.profiles import PROFILES, UnknownProfileError


def _meta(name: str) -> nn.Module:
    with torch.device("meta"):
        return get_model(name)


@pytest.fixture(scope="module")
def landmarks() -> dict[str, C.Landmark]:
    return {lm.name: lm for lm in C.landmarks()}


def test_landmarks_are_the_papers_networks_measured(landmarks: dict[str, C.Landmark]) -> None:
    assert list(landmarks) == [n.name for n in papers.NETWORKS]
    expected = {  # name: (params, MACs at the native input, receptive field of the last conv, depth)
        "AlexNet": (60_965_224, 724_406_816, 163, 8),
        "NIN": (7_595_176, 1_100_188_800, 195, 12),
        "VGG-16": (138_357_544, 15_470_264_320, 196, 16),
        "VGG-19": (143_667_240, 19_632_062_464, 252, 19),
        "GoogLeNet": (6_998_552, 1_582_671_872, 715, 22),
        "ResNet-152": (60_192_808, 11_282_415_616, 1507, 152),
    }
    for name, lm in landmarks.items():
        assert (lm.params, lm.macs, lm.receptive_field, lm.depth) == expected[name], name
        model = _meta(lm.model)
        assert lm.params == count_params(model)
        assert lm.macs == count_macs(model, model_spec(lm.model).input_size)
    # depth measured on the computation equals the depth each paper states for its ImageNet network
    for lm in landmarks.values():
        if lm.paper_depth is not None:
            assert lm.depth == lm.paper_depth, lm.name
    assert landmarks["NIN"].paper_depth is None and landmarks["NIN"].single_model is None
    assert landmarks["AlexNet"].input_size == (3, 227, 227)
    # global average pooling empties the classifier: from most of AlexNet's and VGG's parameters to none
    shares = {name: round(100 * lm.fc_share, 1) for name, lm in landmarks.items()}
    assert shares == {"AlexNet": 96.2, "NIN": 0.0, "VGG-16": 89.4, "VGG-19": 86.1, "GoogLeNet": 14.6,
                      "ResNet-152": 3.4}  # fmt: skip


def test_trace_agrees_with_the_chain_formula_on_single_path_networks() -> None:
    # AlexNet and VGG are one chain of convs and pools: counting.receptive_field over the feature layers
    # up to the last conv must give what trace() finds by following the computation.
    for name, expected in (("alexnet", 163), ("vgg_d", 196), ("vgg_e", 252), ("alexnet_cifar", 35)):
        model = _meta(name)
        spatial = nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d
        layers = [m for m in model.features.modules() if isinstance(m, spatial)]
        last_conv = max(i for i, m in enumerate(layers) if isinstance(m, nn.Conv2d))
        chain = receptive_field(layers[: last_conv + 1]).size
        assert chain == expected == C.trace(model, model_spec(name).input_size).receptive_field, name


def test_trace_takes_the_longest_branch_and_counts_joins() -> None:
    class Branches(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 4, 1)
            self.b = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 4, 5, padding=2))
            self.c = nn.Conv2d(8, 8, 3, stride=2, padding=1)
            self.fc = nn.Linear(8, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.relu(torch.cat([self.a(x), self.b(x)], 1))
            y = self.c(y) + self.c(y)  # a join of two traced paths
            return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(y, 1), 1))

    t = C.trace(Branches(), (3, 16, 16))
    # longest path: b (2 convs) -> c -> fc = 4 weight layers; field 1 + 2 + 4 = 7, then c's 3x3: 9
    assert (t.depth, t.receptive_field, t.jump) == (4, 9, 2)
    assert t.conv_kernels == {1: 1, 3: 3, 5: 1}
    assert (t.concats, t.shortcut_adds, t.linear_layers, t.global_pool) == (1, 1, 1, True)
    assert t.activations == {"relu": 1}


def test_what_carried_forward_is_visible_in_the_models() -> None:
    traces = {n: C.trace(_meta(n), model_spec(n).input_size) for n in ("alexnet", "nin", "vgg_d", "googlenet",
                                                                       "resnet152")}  # fmt: skip
    assert traces["alexnet"].conv_kernels == {3: 3, 5: 1, 11: 1} and traces["alexnet"].linear_layers == 3
    assert traces["vgg_d"].conv_kernels == {3: 13}
    nin = traces["nin"]
    assert nin.conv_kernels[1] == 8 and nin.global_pool and nin.linear_layers == 0
    # GoogLeNet: 4 one-by-one convs per Inception module (9 of them) plus conv2's reduction
    assert traces["googlenet"].conv_kernels[1] == 37 and traces["googlenet"].concats == 9
    # ResNet-152: 50 bottleneck blocks, each two 1x1 convs around a 3x3, plus 4 projection shortcuts
    assert traces["resnet152"].conv_kernels == {1: 104, 3: 50, 7: 1}
    assert traces["resnet152"].shortcut_adds == 50
    assert all(set(t.activations) == {"relu"} for t in traces.values())


def test_resnet152_is_cheaper_than_vgg(landmarks: dict[str, C.Landmark]) -> None:
    # He et al. 2016, Sec. 3.3/4.1: 11.3 billion FLOPs (multiply-adds) for ResNet-152 against 15.3 and
    # 19.6 billion for VGG-16 and VGG-19.
    assert round(landmarks["ResNet-152"].macs / 1e9, 1) == 11.3
    assert landmarks["ResNet-152"].macs < landmarks["VGG-16"].macs < landmarks["VGG-19"].macs
    assert round(landmarks["VGG-19"].macs / 1e9, 1) == 19.6
    assert round(C.conv_macs("vgg_d") / 1e9, 2) == 15.35  # the paper's 15.3: convolutions only


def test_plan_budget() -> None:
    # 100 images/s for 24 s = 2,400 images: over a 500-image subset, 4 epochs
    assert C.plan_budget(100, 24, 50, 2, 20) == (50, 4)
    # too slow for 2 passes over 5,000 images: 2 passes over the largest part that fits
    assert C.plan_budget(100, 24, 500, 2, 20) == (120, 2)
    assert C.plan_budget(1e6, 24, 500, 2, 20) == (500, 20)  # capped at max_epochs
    assert C.plan_budget(0.1, 10, 500, 2, 20) == (1, 2)  # at least one image per class
    with pytest.raises(ValueError, match="positive"):
        C.plan_budget(0, 24, 500, 2, 20)


def test_race_settings() -> None:
    assert set(C.SETTINGS) == set(PROFILES)  # every profile has a race
    quick, full = C.SETTINGS["quick"], C.SETTINGS["full"]
    assert (quick.n_train_per_class, quick.n_test_per_class, quick.seconds_per_net) == (500, 50, 20.0)
    assert (full.n_train_per_class, full.seconds_per_net, full.max_epochs) == (None, None, 30)
    assert full.train.epochs == 30
    assert quick.train.seed == full.train.seed == 0  # the race's seed replaces it
    # one recipe for every network of a profile
    assert quick.train.replace(epochs=30, batch_size=128) == full.train
    assert list(C.EXPERIMENTS) == ["race_seed0", "race_seed1", "race_seed2"]
    assert [C.EXPERIMENTS[k].keywords["seed"] for k in C.EXPERIMENTS] == [0, 1, 2]


def test_unknown_profile_is_rejected_before_any_work() -> None:
    with pytest.raises(UnknownProfileError, match="quick, standard, full"):
        C.race(profile="medium")  # before loading data or measuring anything
    with pytest.raises(UnknownProfileError, match="quick, standard, full"):
        C.EXPERIMENTS["race_seed1"](profile="medium")
    bogus = ExperimentResult("race_seed0", "medium", metrics={"seed": 0, "nets": {"vgg_cifar": {}}})
    with pytest.raises(UnknownProfileError, match="quick, standard, full"):
        C.rerun_with_batch_norm(bogus, "vgg_cifar")


def test_page_helpers() -> None:
    assert page.race_budget(C.SETTINGS["quick"]) == (
        "20 s of training per network, seed 0 (the full profile archives seeds 0, 1, 2)")
    assert page.race_budget(C.SETTINGS["full"]).startswith("30 epochs per network, seed 0")
    assert page.top5(None) == "—"
    resnet = papers.network("ResNet-152")
    assert page.top5(resnet.single_model) == "4.49% (val)" and page.top5(resnet.entry) == "3.57% (6 nets)"


def test_race_summary_pools_seeds() -> None:
    def result(seed: int, errors: dict[str, float | None]) -> ExperimentResult:
        nets = {m: {"params": 1, "macs": 2, "epochs": 30, "train_per_class": 5000, "train_time_s": 9.0,
                    "test_error": e} for m, e in errors.items()}  # fmt: skip
        return ExperimentResult(f"race_seed{seed}", "full", metrics={"models": list(errors), "nets": nets})

    rows = C.race_summary([result(0, {"a": 0.10, "b": None}), result(1, {"a": 0.12, "b": 0.2}),
                           result(2, {"a": 0.14, "b": 0.3})])  # fmt: skip
    a, b = rows
    assert (a.model, a.seeds, a.errors) == ("a", 3, (0.10, 0.12, 0.14))
    assert a.error_mean == pytest.approx(0.12) and a.error_std == pytest.approx(0.02)
    assert b.errors == (0.2, 0.3) and b.error_mean == pytest.approx(0.25)  # a diverged seed has no error
    with pytest.raises(ValueError, match="one profile at a time"):
        C.race_summary([result(0, {"a": 0.1}), ExperimentResult("race_seed1", "quick", metrics={})])


def test_race_models_and_paper_figures() -> None:
    assert C.RACE_MODELS == ("alexnet_cifar", "vgg_cifar", "nin_cifar", "googlenet_cifar", "resnet20")
    assert {m: model_spec(m).family for m in C.RACE_MODELS} == {
        "alexnet_cifar": "alexnet", "vgg_cifar": "vgg", "nin_cifar": "nin", "googlenet_cifar": "googlenet",
        "resnet20": "resnet",
    }  # fmt: skip
    assert {m: f.error for m, f in papers.COMPARISON_CIFAR.items()} == {
        "alexnet_cifar": 0.13, "nin_cifar": 0.0881, "resnet20": 0.0875}  # fmt: skip
    assert papers.COMPARISON_CIFAR["resnet20"].error == papers.RESNET_TABLE6[20][1]


def test_race_models_are_counted_like_the_registry() -> None:
    facts = {r.name: r for r in C.race_models()}
    assert {n: (r.family, r.depth, r.params, r.macs, r.receptive_field) for n, r in facts.items()} == {
        "alexnet_cifar": ("alexnet", 4, 89_578, 12_298_240, 35),
        "vgg_cifar": ("vgg", 11, 611_434, 9_913_600, 134),
        "nin_cifar": ("nin", 9, 966_986, 222_486_528, 27),
        "googlenet_cifar": ("googlenet", 22, 5_976_122, 391_620_608, 181),
        "resnet20": ("resnet", 20, 269_722, 40_551_040, 81),
    }


def test_rerun_with_batch_norm_repeats_the_race_conditions(cifar10) -> None:
    # A tiny race on real images (no time budget: the epochs are fixed), then vgg_cifar again with BN.
    settings = C.RaceSettings(2, 2, None, 1, 1, C._recipe(1, 10))
    race = C.race(cifar10, profile="quick", models=("vgg_cifar",), settings=settings)
    assert race.profile == race.run_info["profile"] == "quick"
    assert race.histories["vgg_cifar"].info["profile"] == "quick"
    out = C.rerun_with_batch_norm(race, "vgg_cifar", cifar10, settings=settings)
    ran = race.metrics["nets"]["vgg_cifar"]
    assert (out.epochs, out.images_seen) == (ran["epochs"], ran["images_seen"]) == (1, 20)
    assert out.history.steps_per_epoch == 2  # the same 20 training images in batches of 10
    assert 0.0 <= out.test_error <= 1.0 and out.train_time_s > 0
    assert out.error_without == ran["test_error"]
    with pytest.raises(ValueError, match="not in this race"):
        C.rerun_with_batch_norm(race, "resnet20", cifar10, settings=settings)
    with pytest.raises(ValueError, match="already has batch norm"):
        C.rerun_with_batch_norm(C.race(cifar10, profile="quick", models=("resnet20",), settings=settings),
                                "resnet20", cifar10, settings=settings)  # fmt: skip
    with pytest.raises(ValueError, match="no batch_norm option"):
        small = C.race(cifar10, profile="quick", models=("alexnet_cifar",), settings=settings)
        C.rerun_with_batch_norm(small, "alexnet_cifar", cifar10, settings=settings)


# --------------------------------------------------------------------------------------------------------
# The trained reference networks beside the race


def _race(errors: dict[str, float | None]) -> ExperimentResult:
    nets = {m: {"params": 1, "macs": 2, "epochs": 3, "train_per_class": 500, "images_seen": 15000,
                "train_time_s": 20.0, "test_error": e, "measured_images_per_s": 100.0}
            for m, e in errors.items()}  # fmt: skip
    return ExperimentResult("race_seed0", "quick", metrics={"models": list(errors), "nets": nets},
                            run_info={"data_quality": "lossy JPEG copy (quality 75) — not comparable"})


def _reference(e20: float, e56: float) -> ExperimentResult:
    errors = {"resnet20": {"correct": round(500 * (1 - e20)), "n": 500, "error": e20},
              "resnet56": {"correct": round(500 * (1 - e56)), "n": 500, "error": e56}}  # fmt: skip
    return ExperimentResult("comparison.reference", "quick", metrics={
        "errors": errors, "reported_accuracy": {"resnet20": 91.78, "resnet56": 93.62},
        "data_quality": "lossy JPEG copy (quality 75) — not comparable", "seed": 0,
    })  # fmt: skip


def test_reference_errors_on_the_race_test_images(cifar10) -> None:
    # given models (no weights needed): a constant classifier is right on exactly one class in ten
    class Const(nn.Module):
        def forward(self, x):
            out = torch.zeros(x.shape[0], 10)
            out[:, 3] = 1
            return out

    settings = C.RaceSettings(2, 5, None, 1, 1, C._recipe(1, 10))
    models = {n: (Const(), lambda x: x.float()) for n in ("resnet20", "resnet56")}
    ref = C.reference_errors(cifar10, profile="quick", settings=settings, models=models)
    assert ref.metrics["errors"]["resnet20"] == {"correct": 5, "n": 50, "error": pytest.approx(0.9)}
    assert ref.metrics["reported_accuracy"] == {"resnet20": 91.78, "resnet56": 93.62}
    assert ref.run_info["profile"] == "quick" and "data_quality" in ref.metrics
    with pytest.raises(UnknownProfileError):
        C.reference_errors(cifar10, profile="medium", models=models)


def test_race_table_and_text_with_the_references() -> None:
    race, ref = _race({"alexnet_cifar": 0.6, "resnet20": 0.5}), _reference(0.18, 0.16)
    lines = page.race_table(race, ref).splitlines()
    assert len(lines) == 2 + 2 + 2
    assert lines[-1] == ("| ResNet-56, trained elsewhere on the original data (reference) | — | "
                         "50,000 (original files) | paper's schedule | — | — | 16.0% |")  # fmt: skip
    assert len(page.race_table(race).splitlines()) == 2 + 2
    text = page.reference_text(race, ref)
    assert "ResNet-20 18.0%, ResNet-56 16.0%" in text and "ResNet-20 +9.8, ResNet-56 +9.6 points" in text
    assert "resnet20, ends at 50.0%, +34.0 points from the better reference" in text
    assert "the same architecture as the reference ResNet-20, ends +32.0 points from it" in text
    better = page.reference_text(_race({"alexnet_cifar": 0.12}), ref)
    assert "alexnet_cifar, ends at 12.0%, -4.0 points" in better and "same architecture" not in better


def test_paper_vs_book_notes_the_data_and_its_effect(landmarks, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))
    marks = list(landmarks.values())
    race = _race(dict.fromkeys(C.RACE_MODELS, 0.5))
    race.metrics["n_test"] = 1000
    plain = page.paper_vs_book(marks, race)
    assert plain.startswith("**Data.** This run's CIFAR-10: lossy JPEG copy (quality 75).\n\nEach verdict")
    with_ref = page.paper_vs_book(marks, race, _reference(0.18, 0.16))
    assert "ResNet-20 +9.8, ResNet-56 +9.6 points" in with_ref.split("\n")[0]
    assert "costs the trained" not in plain
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in plain.splitlines()}
    resnet20 = rows["`resnet20` reaches 8.75% CIFAR-10 test error (Table 6)"]
    assert "| 50.0%: **not reproduced** | no archive: no evidence yet |" in resnet20
    assert "binomial SE, 1,000 images (seed 0)" in resnet20
    depths = next(line for line in plain.splitlines() if line.startswith("| AlexNet, VGG-16, VGG-19"))
    assert "| 8, 16, 19, 22, 152: **reproduced** | same (counted) |" in depths
    # every network the papers give a CIFAR-10 figure for has a row, and only those
    assert sum(line.startswith("| `") for line in plain.splitlines()) == len(papers.COMPARISON_CIFAR)


# --------------------------------------------------------------------------------------------------------
# The built chapter (one shared book build; see tests/book_fixtures.py); race numbers vary by machine.


@pytest.mark.book
def test_the_built_chapter_prints_the_library_numbers(executed_notebook) -> None:
    text = printed_text(executed_notebook("comparison"))
    assert "| 152 | 60.2 M | 11.28 G (224²) | 1507 px | 4.49% (val) | 3.57% (6 nets) |" in text
    assert "ResNet-152: 11.28 G; 73% of VGG-16's, 57% of VGG-19's" in text
    assert "| ResNet-152 | 151 relu | 50 | 104 | 1 | 1 (3%) | yes | 50 shortcut additions |" in text
    assert "vgg_cifar, as raced:" in text and "vgg_cifar with batch norm:" in text
    # the trained references beside the race, and the data note above the closing table
    assert "| ResNet-20, trained elsewhere on the original data (reference) |" in text
    assert "**Measured.** On the race's own 500 test images, the trained references score" in text
    assert "**Data.** This run's CIFAR-10: lossy JPEG copy (quality 75" in text
    assert "Chapter run time:" in text and "quick profile" in text
