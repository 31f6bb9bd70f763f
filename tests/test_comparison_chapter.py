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
    # each a seeded() variant of the race: its settings' seed is the race's
    assert [C.EXPERIMENTS[k].__name__ for k in C.EXPERIMENTS] == ["race_seed0", "race_seed1", "race_seed2"]
    assert all(C.EXPERIMENTS[k].settings_table is C.SETTINGS for k in C.EXPERIMENTS)


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
    assert page.top5(resnet.single_model) == "4.49% (val, dense, multi-scale)"
    assert page.top5(resnet.entry) == "3.57% (6 nets)"


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
    # the page's table says how many seeds diverged and were left out of the mean
    assert page.seeds_cell(a) == "3" and page.seeds_cell(b) == "3 (1 diverged, left out of the mean)"
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
    settings = C.RaceSettings(None, 1, n_train_per_class=2, n_test_per_class=2, train=C._recipe(1, 10))
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


def _within_one_step(history, budget: float) -> bool:
    """The run ended at the first step whose clock reached the budget: the one before had not."""
    times = history.train_time_s
    return times[-1] >= budget and (len(times) == 1 or times[-2] < budget)


def test_a_timed_race_stops_every_network_within_one_step_of_the_budget(cifar10) -> None:
    # 20 images per class, batches of 10: a pass is 20 steps; 60 passes allowed, far more than 1.5 s take
    budget = 1.5
    settings = C.RaceSettings(budget, 60, n_train_per_class=20, n_test_per_class=2, train=C._recipe(60, 10))
    race = C.race(cifar10, profile="quick", models=("alexnet_cifar", "resnet20"), settings=settings)
    for name, n in race.metrics["nets"].items():
        h = race.histories[name]
        assert n["stopped"] == h.stopped == "time_budget", name
        assert _within_one_step(h, budget), (name, h.train_time_s[-3:])
        step = h.train_time_s[-1] - (h.train_time_s[-2] if len(h.train_time_s) > 1 else 0.0)
        assert budget <= n["train_time_s"] <= budget + step
        assert n["budget_s"] == budget and n["steps"] == len(h.train_loss) == h.epochs_done
        # batches of 10 over 200 images: every step sees 10 images
        assert n["images_seen"] == 10 * n["steps"] and n["passes"] == pytest.approx(n["steps"] / 20)
        assert n["epochs"] == n["steps"] // 20
        assert n["test_error"] is not None and 0.0 <= n["test_error"] <= 1.0
        # the schedule runs over the budget's time: warmup from a small rate, then decay below the peak
        # (a machine under load may allow only a step or two in the budget)
        assert h.lr[0] == pytest.approx(0.05 / 120)  # the first of 120 warmup steps (10% of 60 passes)
        if len(h.lr) >= 3:
            assert h.lr[0] < max(h.lr) <= 0.05 and h.lr[-1] < max(h.lr)


def test_train_for_time_ends_at_the_pass_cap_or_replays_given_rates(cifar10) -> None:
    data = cifar10.subset(2, 2)  # 20 images: two steps of 10 per pass
    torch.manual_seed(0)
    h = C.train_for_time(get_model("alexnet_cifar"), data, C._recipe(3, 10), seconds=1e6)
    assert h.stopped == "completed" and h.extra["steps"] == 6 and h.extra["passes"] == 3.0
    assert h.steps_per_epoch == 1 and len(h.train_time_s) == 6 and h.test_error[-1] is not None
    # the pass cap ended the run, so the schedule ran over the passes: fit's rates, step by step
    from ecg_lib.train import lr_at

    assert h.lr == [lr_at(i, 2, C._recipe(3, 10)) for i in range(6)]
    torch.manual_seed(0)
    again = C.train_for_time(get_model("alexnet_cifar"), data, C._recipe(3, 10), lrs=h.lr[:5])
    assert again.lr == h.lr[:5] and again.extra["steps"] == 5 and again.stopped == "completed"
    # the same weights, batches and rates: the same losses (on the CPU, exactly)
    assert again.train_loss == h.train_loss[:5]
    # a long run is recorded in windows of steps (here 2 per entry), valid as an archive, exact rates kept
    torch.manual_seed(0)
    pooled = C.train_for_time(get_model("alexnet_cifar"), data, C._recipe(3, 10), seconds=1e6, max_points=4)
    from ecg_lib.results import validate_history

    validate_history(pooled.to_dict())
    assert pooled.extra["steps"] == 6 and pooled.extra["steps_per_entry"] == 2 and pooled.epochs_done == 3
    assert pooled.extra["lr_steps"] == h.lr  # the same schedule: 3 passes planned, run to the end
    assert pooled.lr == pytest.approx([(a + b) / 2 for a, b in zip(h.lr[::2], h.lr[1::2], strict=True)])
    assert pooled.test_error[:2] == [None, None] and pooled.test_error[-1] is not None
    with pytest.raises(ValueError, match="either seconds"):
        C.train_for_time(get_model("alexnet_cifar"), data, C._recipe(3, 10))
    with pytest.raises(ValueError, match="positive"):
        C.train_for_time(get_model("alexnet_cifar"), data, C._recipe(3, 10), seconds=0)


def test_batch_norm_rerun_of_a_timed_race_replays_its_steps(cifar10) -> None:
    settings = C.RaceSettings(0.3, 50, n_train_per_class=2, n_test_per_class=2, train=C._recipe(50, 10))
    race = C.race(cifar10, profile="quick", models=("vgg_cifar",), settings=settings)
    out = C.rerun_with_batch_norm(race, "vgg_cifar", cifar10, settings=settings)
    raced = race.histories["vgg_cifar"]
    assert out.history.lr == raced.lr and out.steps == race.metrics["nets"]["vgg_cifar"]["steps"]
    assert out.images_seen == race.metrics["nets"]["vgg_cifar"]["images_seen"]
    assert out.history.extra["budget_s"] is None  # no clock: the replay may take longer than the race


# --------------------------------------------------------------------------------------------------------
# The trained reference networks beside the race


def _race(errors: dict[str, float | None]) -> ExperimentResult:
    nets = {m: {"params": 1, "macs": 2, "epochs": 3, "train_per_class": 500, "images_seen": 15000,
                "train_time_s": 20.0, "test_error": e, "images_per_s": 750.0, "steps": 300,
                "passes": 3.0, "budget_s": 20.0, "stopped": "time_budget"}
            for m, e in errors.items()}  # fmt: skip
    return ExperimentResult("race_seed0", "quick", metrics={"models": list(errors), "nets": nets},
                            run_info={"data_quality": "lossy JPEG copy (quality 75) — not comparable"})


def _reference(e20: float, e56: float) -> ExperimentResult:
    errors = {"resnet20": {"correct": round(500 * (1 - e20)), "n": 500, "error": e20},
              "resnet56": {"correct": round(500 * (1 - e56)), "n": 500, "error": e56}}  # fmt: skip
    return ExperimentResult("comparison.reference", "quick", metrics={
        "errors": errors, "readme_error": {"resnet20": 8.27, "resnet56": 6.61},
        "best_prec1": {"resnet20": 91.78, "resnet56": 93.62},
        "data_quality": "lossy JPEG copy (quality 75) — not comparable", "seed": 0,
    })  # fmt: skip


def test_reference_errors_on_the_race_test_images(cifar10) -> None:
    # given models (no weights needed): a constant classifier is right on exactly one class in ten
    class Const(nn.Module):
        def forward(self, x):
            out = torch.zeros(x.shape[0], 10)
            out[:, 3] = 1
            return out

    settings = C.RaceSettings(None, 1, n_train_per_class=2, n_test_per_class=5, train=C._recipe(1, 10))
    models = {n: (Const(), lambda x: x.float()) for n in ("resnet20", "resnet56")}
    ref = C.reference_errors(cifar10, profile="quick", settings=settings, models=models)
    assert ref.metrics["errors"]["resnet20"] == {"correct": 5, "n": 50, "error": pytest.approx(0.9)}
    assert ref.metrics["best_prec1"] == {"resnet20": 91.78, "resnet56": 93.62}
    assert ref.metrics["readme_error"] == {"resnet20": 8.27, "resnet56": 6.61}
    assert ref.run_info["profile"] == "quick" and "data_quality" in ref.metrics
    with pytest.raises(UnknownProfileError):
        C.reference_errors(cifar10, profile="medium", models=models)


def _columns(table: str) -> set[int]:
    """The number of columns of every Markdown table row in ``table``."""
    return {line.count(" | ") + 1 for line in table.splitlines() if line.startswith("| ")}


def test_race_table_and_text_with_the_references() -> None:
    race, ref = _race({"alexnet_cifar": 0.6, "resnet20": 0.5}), _reference(0.18, 0.16)
    spent, reached = page.race_table(race, ref).split("\n\n")
    # two tables of at most six columns, the numbers of the old eight-column one kept
    assert spent.splitlines()[0] == "| network | images/s | steps | passes | images seen | training time |"
    assert spent.splitlines()[2] == "| `alexnet_cifar` | 750 | 300 | 3.0 | 15,000 | 20.0 s |"
    assert reached.splitlines()[0] == "| network | training images | passes | test error |"
    assert reached.splitlines()[2] == "| `alexnet_cifar` | 5,000 | 3.0 | 60.0% |"
    assert reached.splitlines()[-1] == ("| ResNet-56, trained elsewhere on the original data (reference) | "
                                        "50,000 (original files) | 200 (third party's schedule) | 16.0% |")
    assert len(spent.splitlines()) == 2 + 2 and len(reached.splitlines()) == 2 + 2 + 2
    assert max(_columns(spent) | _columns(reached)) <= 6
    assert len(page.race_table(race).split("\n\n")[1].splitlines()) == 2 + 2  # no references, no rows
    text = page.reference_text(race, ref)
    assert "the trained references score ResNet-20 18.0% and ResNet-56 16.0%." in text
    assert "ResNet-20 +9.7 / +9.8, ResNet-56 +9.4 / +9.6 points" in text
    assert "not the paper's" in text and "README table / the files' best-epoch best_prec1" in text
    # the data's kind, without its details in parentheses inside the sentence's own
    assert "The data here is a lossy JPEG copy; on it their errors" in text and "((" not in text
    assert "resnet20, ends at 50.0%, +34.0 points from the better reference" in text
    assert "the same architecture as the reference ResNet-20, ends +32.0 points from it" in text
    better = page.reference_text(_race({"alexnet_cifar": 0.12}), ref)
    assert "alexnet_cifar, ends at 12.0%, -4.0 points" in better and "same architecture" not in better


def test_the_archived_references_are_the_resnet_chapters_scored_on_the_whole_test_set() -> None:
    ref = page.archived_reference()
    assert ref is not None and list(ref.metrics["errors"]) == ["resnet20", "resnet56"]
    assert {e["n"] for e in ref.metrics["errors"].values()} == {10_000}
    assert round(ref.metrics["errors"]["resnet56"]["error"], 4) == 0.168  # 8,320 of 10,000 right
    archived = page.archived_races()[0]
    text = page.archived_race_text(archived, ref, C.race_models())
    assert "**Measured.** On the race's own 10,000 test images, the trained references score " in text
    assert text.count("| network |") == 2 and "**Measured.** Budget 300 s per network" in text
    assert page.archived_race_text(None, ref, []).startswith("No archived long run exists")


def test_the_wide_tables_have_at_most_six_columns(landmarks) -> None:
    marks = list(landmarks.values())
    measured, errors = page.landmarks_table(marks), page.errors_table(marks)
    assert _columns(measured) == {6} and _columns(errors) == {3}
    assert measured.splitlines()[-1] == ("| ResNet-152 {cite}`he2016deep` | 2015 | 152 | 60.2 M | "
                                         "11.28 G (224²) | 1507 px |")  # fmt: skip
    assert errors.splitlines()[-1] == "| ResNet-152 | 4.49% (val, dense, multi-scale) | 3.57% (6 nets) |"
    carried = page.carried_forward_table(marks).splitlines()
    # transposed: a column per network (VGG-19 left out), a row per feature
    assert carried[0] == "|  | AlexNet | NIN | VGG-16 | GoogLeNet | ResNet-152 |"
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in carried[2:]}
    assert rows["1×1 convs"] == "| 1×1 convs | 0 | 8 | 0 | 37 | 104 |"
    fc = rows["FC layers (share of parameters)"]
    assert fc.endswith("| 3 (96%) | 0 (0%) | 3 (89%) | 1 (15%) | 1 (3%) |")
    assert rows["paths joined"] == "| paths joined | — | — | — | 9 concatenations | 50 shortcut additions |"
    assert len(rows) == 7


# --------------------------------------------------------------------------------------------------------
# The closing page: five points from the claims' best evidence, the counts and the archives


def _standard(seed: int, errors: dict[str, float | None]) -> ExperimentResult:
    nets = {m: {"params": 1, "macs": 2, "epochs": 3, "train_per_class": 5000, "train_time_s": 300.0,
                "test_error": e} for m, e in errors.items()}  # fmt: skip
    return ExperimentResult(f"race_seed{seed}", "standard",
                            metrics={"models": list(errors), "nets": nets, "seconds_per_net": 300.0})


def test_the_race_point_is_generated_from_the_archives() -> None:
    races = [_standard(0, {"a": 0.40, "b": 0.90, "c": 0.95}), _standard(1, {"a": 0.50, "b": 0.88, "c": 0.30})]
    assert page.race_point(races) == (
        "In the archived standard race (300 s of training per network, 2 seeds), a ends lowest, at a mean "
        "test error of 45.0%; b stays within five points of chance (90%): a result about this budget on the "
        "archive's device, not about the designs.")  # fmt: skip
    lower = page.race_point([_standard(0, {"a": 0.40, "b": 0.50})])
    assert "(300 s of training per network, 1 seed)" in lower and "chance" not in lower
    assert page.race_point([]).startswith("No archived race exists yet")


def test_summary_points_follow_the_verdicts(landmarks) -> None:
    from dataclasses import replace

    from ecg_lib.chapters import summary

    ev = summary.evidence("comparison")
    marks, races = list(landmarks.values()), page.archived_races()
    points = page.summary_points(ev, marks=marks, archives=races)
    assert len(points) == 5 and summary.five_points(points).count("\n") == 4
    assert points[0].endswith("Counted from the definitions: 8, 16, 19, 22, 152. Verdict: **reproduced**.")
    assert points[1].endswith("ResNet-152 needs 11.28 billion, 73% of VGG-16's.")
    assert points[2] == ("Global average pooling shrank the fully connected layers from 96% of AlexNet's "
                         "parameters to 3% of ResNet-152's. In ResNet-152, 104 1×1 convolutions wrap 50 3×3 "
                         "ones.")  # fmt: skip
    assert points[3] == page.race_point(races)
    assert points[4].startswith("The papers' CIFAR-10 errors, checked on the race's networks: alexnet_cifar, "
                                "nin_cifar and resnet20: **not testable here**.")  # fmt: skip
    # another verdict, another sentence: resnet20's figure reproduced in a (made-up) full run
    flipped = []
    for e in ev:
        if e.claim.key == "race_resnet20":
            cell = replace(e.cells["standard"], verdict="reproduced")
            e = replace(e, cells={**e.cells, "full": cell})
        flipped.append(e)
    changed = page.summary_points(flipped, marks=marks, archives=races)[4]
    assert ("alexnet_cifar and nin_cifar: **not testable here**; resnet20: **reproduced**." in changed)


# --------------------------------------------------------------------------------------------------------
# Sentences about a race: generated from its numbers, so other numbers give other sentences


def _timed(nets: dict[str, tuple[float, int, float | None, str]], budget: float = 20.0) -> ExperimentResult:
    """A timed race: per network (realised seconds, images seen, test error, how it stopped); each History
    records the clock after its last two steps (0.3 s apart)."""
    from ecg_lib.train import History

    metrics = {"models": list(nets), "seconds_per_net": budget, "nets": {
        m: {"params": 1, "macs": 2, "train_per_class": 500, "epochs": seen // 5000, "passes": seen / 5000,
            "steps": seen // 64, "images_seen": seen, "train_time_s": t, "budget_s": budget, "test_error": e,
            "stopped": stop, "images_per_s": seen / t}
        for m, (t, seen, e, stop) in nets.items()}}  # fmt: skip
    histories = {m: History(steps_per_epoch=1, train_time_s=[t - 0.3, t]) for m, (t, *_rest) in nets.items()}
    return ExperimentResult("race_seed0", "quick", histories, metrics)


def test_race_time_sentence_follows_the_realised_times() -> None:
    ok = _timed({"vgg_cifar": (20.1, 60_000, 0.5, "time_budget"),
                 "nin_cifar": (20.25, 2_500, 0.8, "time_budget")})  # fmt: skip
    text = page.race_time_text(ok)
    assert "Budget 20 s per network; training times ran from 20.1 s (vgg_cifar) to 20.2 s (nin_cifar)." in (
        text)
    assert "Every network stopped at the first step that reached the budget" in text
    assert "The largest overrun is nin_cifar's, 0.25 s, within its last step, which took 0.30 s." in text
    # the old race: budget checked between epochs only, 53 s against 20 s
    late = _timed({"alexnet_cifar": (53.0, 60_000, 0.5, "time_budget"),
                   "resnet20": (11.0, 2_000, 0.7, "completed")})  # fmt: skip
    text = page.race_time_text(late)
    assert "from 11.0 s (resnet20) to 53.0 s (alexnet_cifar)" in text and "Every network" not in text
    assert text.endswith("No network stopped at the first step that reached it; not so: alexnet_cifar "
                         "(more than one step over, 53.0 s), resnet20 (finished its passes first, 11.0 s).")
    untimed = ExperimentResult("race_seed0", "full", metrics={"models": ["a", "b"], "seconds_per_net": None,
                               "nets": {"a": {"train_time_s": 60.0, "epochs": 30},
                                        "b": {"train_time_s": 300.0, "epochs": 30}}})  # fmt: skip
    assert page.race_time_text(untimed) == ("**Measured.** No time budget in this profile: every network "
                                            "trained 30 epochs; training times ran from 60.0 s (a) to "
                                            "300.0 s (b).")  # fmt: skip


def test_equal_training_times_are_stated_once() -> None:
    # issue 27: "realised training times ran from 20.0 s ( alexnet_cifar ) to 20.0 s ( resnet20 )"
    same = _timed({"alexnet_cifar": (20.01, 60_000, 0.5, "time_budget"),
                   "resnet20": (20.04, 2_000, 0.7, "time_budget")})  # fmt: skip
    text = page.race_time_text(same)
    assert text.startswith("**Measured.** Budget 20 s per network; each network trained for 20.0 s. ")
    assert "from 20.0 s" not in text and "(`" not in text
    assert page.time_span({"a": 20.0, "b": 20.04}) == "each network trained for 20.0 s"
    assert page.time_span({"a": 20.0, "b": 20.06}) == "training times ran from 20.0 s (a) to 20.1 s (b)"


def test_race_cost_and_passes_sentences_follow_the_result() -> None:
    facts = [C.RaceModel("vgg_cifar", "vgg", 11, 1, 9_913_600, 1),
             C.RaceModel("nin_cifar", "nin", 9, 1, 222_486_528, 1),
             C.RaceModel("googlenet_cifar", "googlenet", 22, 1, 391_620_608, 1)]  # fmt: skip
    race = _timed({"vgg_cifar": (20.0, 40_000, 0.9, "time_budget"),
                   "nin_cifar": (20.0, 2_520, 0.6, "time_budget"),
                   "googlenet_cifar": (20.0, 1_320, 0.7, "time_budget")})  # fmt: skip
    text = page.race_cost_text(race, facts)
    assert "nin_cifar, at 222.5 M multiply-adds per image, saw 2,520 images (0.5 passes)" in text
    assert "The cheaper the network per image, the more images it saw, without exception." in text
    assert "The lowest test error here is nin_cifar's, 60.0%." in text
    # the papers' lowest is ResNet-20's 8.75% (Table 6), 51.2 points lower
    assert "for these families is resnet20's, 8.75%, 51.2 points lower." in text
    swapped = _timed({"vgg_cifar": (20.0, 40_000, 0.9, "time_budget"),
                      "nin_cifar": (20.0, 1_000, 0.6, "time_budget"),
                      "googlenet_cifar": (20.0, 1_320, 0.7, "time_budget")})  # fmt: skip
    assert "two of the three networks sit at another place" in page.race_cost_text(swapped, facts)
    intro = page.bn_intro_text(race, facts)
    assert intro.startswith("`vgg_cifar` is the cheapest of the three per image and made 8.0 passes over "
                            "its 5,000 training images, the most of the three; it ends at 90.0% test error")
    assert "Cost cannot explain" in intro
    fewer = _timed({"vgg_cifar": (20.0, 1_000, 0.4, "time_budget"),
                    "nin_cifar": (20.0, 2_520, 0.6, "time_budget"),
                    "googlenet_cifar": (20.0, 1_320, 0.7, "time_budget")})  # fmt: skip
    intro = page.bn_intro_text(fewer, facts)
    assert "0.2 passes" in intro and "the third most of the three" in intro and "Cost cannot" not in intro
    # near chance after a fifth of a pass: too little training to blame the design
    unseen = _timed({"vgg_cifar": (20.0, 1_000, 0.9, "time_budget"),
                     "nin_cifar": (20.0, 2_520, 0.6, "time_budget")})  # fmt: skip
    intro = page.bn_intro_text(unseen, facts)
    assert intro.endswith("it ends at 90.0% test error, within five points of chance (90%), before it has "
                          "seen each image once.")  # fmt: skip


def test_batch_norm_sentence_is_true_for_equal_close_and_far_errors() -> None:
    from ecg_lib.train import History

    def bn(without: float | None, with_bn: float | None, n_test: int = 500) -> str:
        h = History(info={"n_test": n_test})
        return page.bn_rerun_text(C.BatchNormRerun("vgg_cifar", 3, 15_000, 30.0, with_bn, without, h, 240))

    assert bn(0.9, 0.9) == ("**Measured.** Batch normalisation leaves `vgg_cifar`'s test error where it was, "
                            "90.0%, in the same steps.")  # fmt: skip
    assert "from 90.0% to 90.0%" not in bn(0.9, 0.9004)
    stalled = bn(0.9, 0.45)
    assert "stays near chance (90.0%), and the same network with batch normalisation reaches 45.0%" in stalled
    close = bn(0.50, 0.47)  # 3 points; two standard errors on 500 images are 6.3 points
    assert "differ by 3.0 points, within two standard errors (6.3 points on 500 test images)" in close
    assert "lowers `vgg_cifar`'s test error from 50.0% to 47.0%" in bn(0.50, 0.47, n_test=10_000)
    assert "raises `vgg_cifar`'s test error from 40.0% to 60.0%" in bn(0.40, 0.60)
    assert "No test error for the rerun" in bn(0.9, None)


def test_race_setup_text_is_generated_from_the_settings() -> None:
    text = page.race_setup_text(C.SETTINGS)
    quick = next(line for line in text.splitlines() if line.startswith("- **quick profile**"))
    assert "the same *training time* for every network, 20 s" in quick
    assert "20 s, on the same images, a 5,000-image subset of the training images" in quick
    assert "or it stops after 20 passes" in quick
    assert "scored once, at the end, on 500 test images" in quick
    full = next(line for line in text.splitlines() if line.startswith("- **full profile**"))
    assert "the same *number of epochs*, 30, for every network, on all 50,000 training images" in full
    assert "one race per seed (0, 1, 2)" in full
    tiny = C.RaceSettings(7.5, 9, n_train_per_class=100, n_test_per_class=20, train=C._recipe(9, 32))
    other = page.race_setup_text({"x": tiny})
    assert "7.5 s" in other and "1,000-image subset" in other and "9 passes" in other and "200 test" in other


# --------------------------------------------------------------------------------------------------------
# The built chapter (one shared book build; see tests/book_fixtures.py); race numbers vary by machine.


@pytest.mark.book
def test_the_built_chapter_prints_the_library_numbers(executed_notebook) -> None:
    text = printed_text(executed_notebook("comparison"))
    assert "| 152 | 60.2 M | 11.28 G (224²) | 1507 px |" in text
    assert "| ResNet-152 | 4.49% (val, dense, multi-scale) | 3.57% (6 nets) |" in text
    assert "ResNet-152: 11.28 G; 73% of VGG-16's, 57% of VGG-19's" in text
    assert "| 1×1 convs | 0 | 8 | 0 | 37 | 104 |" in text
    assert "vgg_cifar, as raced:" in text and "vgg_cifar with batch norm:" in text
    # the trained references beside the race, and the data note above the closing table
    assert "| ResNet-20, trained elsewhere on the original data (reference) |" in text
    assert "**Measured.** On the race's own 500 test images, the trained references score" in text
    # the archived race first, with the references the ResNet chapter archived on the whole test set
    assert "**Measured.** On the race's own 10,000 test images, the trained references score" in text
    assert "**Your small run (quick profile).**" in text
    assert "## What this chapter found" not in text and "In the archived standard race" in text
    assert "Chapter run time:" in text and "quick profile" in text


class _Diverges(nn.Module):
    """A linear classifier whose output turns NaN from its fourth training step: a diverging network (fit's
    check of the output size before training is a forward pass in eval mode, not counted)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3 * 32 * 32, 10)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += self.training
        out = self.fc(x.flatten(1))
        return out * float("nan") if self.calls > 3 else out


def test_a_diverging_race_network_stops_with_finite_records(cifar10) -> None:
    # The standard race's NIN diverged at its 52nd step on the CPU, and the NaN it recorded made the whole
    # race's archive invalid: 27 minutes lost. The diverged step is now neither taken nor recorded.
    from ecg_lib.results import validate_history

    h = C.train_for_time(_Diverges(), cifar10.subset(2, 2), C._recipe(3, 10), seconds=1e6)
    assert h.stopped == "non_finite" and h.extra["non_finite_at_step"] == 4
    assert h.extra["steps"] == 3 == len(h.train_loss) == len(h.train_time_s)
    assert h.test_error[-1] is None  # no evaluation of a diverged network
    validate_history(h.to_dict())


def test_race_findings_name_what_they_list_and_no_empty_list() -> None:
    facts = [C.RaceModel("vgg_cifar", "vgg", 11, 1, 9_913_600, 1),
             C.RaceModel("nin_cifar", "nin", 9, 1, 222_486_528, 1)]  # fmt: skip
    learnt = _timed({"vgg_cifar": (20.0, 4_000, 0.4, "time_budget"),
                     "nin_cifar": (20.0, 1_000, 0.6, "time_budget")})  # fmt: skip
    lines = page.race_findings(learnt, facts).splitlines()
    assert lines == ["Lowest test error: vgg_cifar (40.0%); cheapest per image: vgg_cifar.",
                     "Images seen ranged from 1,000 (nin_cifar) to 4,000 (vgg_cifar), a factor of 4.",
                     "No network ended within 5 points of chance (90%)."]  # fmt: skip
    same = _timed({"vgg_cifar": (20.0, 640, 0.9, "time_budget"),
                   "nin_cifar": (20.0, 640, 0.95, "time_budget")})  # fmt: skip
    lines = page.race_findings(same, facts).splitlines()
    assert lines[1:] == ["Every network saw 640 images.",
                         "Within 5 points of chance (90%): vgg_cifar, nin_cifar."]
