"""The arithmetic the AlexNet chapter prints, pinned against the library; its settings per profile; and
its experiments and page functions run end to end on a few random images (seconds, no CIFAR-10)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
from torch import nn

from ecg_lib import papers
from ecg_lib.chapters import alexnet as page
from ecg_lib.data import CIFAR10Data
from ecg_lib.experiments import alexnet as X
from ecg_lib.models import get_model
from ecg_lib.models._common import lrn
from ecg_lib.profiles import PROFILES, UnknownProfileError
from ecg_lib.train import TrainConfig


@pytest.fixture(scope="module")
def rows() -> list[X.TowerRow]:
    return X.tower_rows()


def test_tower_rows_match_figure_2(rows: list[X.TowerRow]) -> None:
    # Figure 2's kernel shapes: conv2 5x5x48, conv3 3x3x256, conv4 and conv5 3x3x192 (per GPU half).
    assert [(r.layer, r.kernels, r.kernel) for r in rows] == [
        ("conv1", 96, "11x11x3"), ("conv2", 256, "5x5x48"), ("conv3", 384, "3x3x256"),
        ("conv4", 384, "3x3x192"), ("conv5", 256, "3x3x192"), ("fc6", 4096, "9216"),
        ("fc7", 4096, "4096"), ("fc8", 1000, "4096"),
    ]  # fmt: skip
    assert [r.layer for r in rows if r.crosses] == ["conv3", "fc6", "fc7", "fc8"]
    assert [r.layer for r in rows if r.sees == "own tower"] == ["conv2", "conv4", "conv5"]


def test_split_saves_half_of_the_grouped_layers(rows: list[X.TowerRow]) -> None:
    for r in rows:
        if r.sees == "own tower":
            # two groups: each kernel reads half the maps, so weights and MACs halve; biases do not
            assert r.params_single - r.params_split == (r.params_single - r.kernels) // 2
            assert r.macs_single == 2 * r.macs_split
        else:
            assert (r.params_single, r.macs_single) == (r.params_split, r.macs_split)


def test_architecture_summary_numbers(rows: list[X.TowerRow]) -> None:
    s = X.architecture_summary(rows)
    with torch.device("meta"):
        assert s["params_split"] == 60_965_224 == sum(p.numel() for p in get_model("alexnet").parameters())
    assert s["params_single"] == 62_378_344
    assert s["params_saved"] == 1_413_120
    assert s["macs_split"] == 724_406_816
    assert s["macs_single"] == 1_135_256_096
    assert s["macs_saved_frac"] == pytest.approx(0.3619, abs=1e-4)
    assert s["fc6_params"] == 9216 * 4096 + 4096
    assert s["fc6_frac"] == pytest.approx(0.6193, abs=1e-4)
    assert s["fc_params_frac"] == pytest.approx(0.9617, abs=1e-4)
    # Sec. 3.5 lists 253,440-186,624-64,896-64,896-43,264-4096-4096-1000; all but the first agree.
    paper = papers.ALEXNET_CLAIMS["neurons_per_layer"]["value"]
    assert s["neurons_per_layer"][1:] == paper[1:]
    assert s["neurons_per_layer"][0] == 55 * 55 * 96 == 290_400 != paper[0]
    assert s["neurons"] == 659_272
    assert papers.ALEXNET_CLAIMS["input_dims"]["value"] == 224 * 224 * 3


def test_lrn_formula_matches_torch_with_alpha_times_n() -> None:
    torch.manual_seed(0)
    a = torch.randn(2, 12, 5, 5, dtype=torch.float64) * 40  # activities where the normalisation bites
    ours = X.lrn_formula(a)
    assert torch.allclose(lrn().double()(a), ours, rtol=1e-10, atol=1e-12)
    # torch.nn.LocalResponseNorm divides alpha by n: passing the paper's alpha unchanged is a different layer
    naive = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0).double()(a)
    assert (naive - ours).abs().max() > 1.0
    # at the ends the window is clipped: map 0 sums maps 0..2 only
    expect0 = a[:, 0] / (2 + 1e-4 * (a[:, :3] ** 2).sum(1)) ** 0.75
    assert torch.allclose(ours[:, 0], expect0)


@pytest.mark.parametrize("beta", [0.75, 0.5])
def test_channel_lrn_is_the_library_lrn(beta: float) -> None:
    torch.manual_seed(1)
    a = torch.relu(torch.randn(3, 7, 4, 4, dtype=torch.float64) * 80)
    fast = X.ChannelLRN(5, 1e-4, beta, 2.0)(a)
    assert torch.allclose(fast, lrn(5, 1e-4, beta, 2.0).double()(a), rtol=1e-10, atol=1e-12)
    assert torch.allclose(fast, X.lrn_formula(a, beta=beta), rtol=1e-10, atol=1e-12)
    # the gradient too: the experiments train through it
    a.requires_grad_(True)
    g_fast = torch.autograd.grad(X.ChannelLRN(5, 1e-4, beta)(a).pow(2).sum(), a)[0]
    g_ref = torch.autograd.grad(lrn(5, 1e-4, beta).double()(a).pow(2).sum(), a)[0]
    assert torch.allclose(g_fast, g_ref, rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="odd"):
        X.ChannelLRN(4)


def test_lrn_gain_is_a_constant_for_small_activities() -> None:
    g = X.lrn_gain(torch.tensor([1e-3, 1.0, math.sqrt(2 / 5e-4), 1000.0]))
    assert g[0] == pytest.approx(2**-0.75)  # 0.5946: a plain rescaling
    assert g[1] == pytest.approx(2**-0.75, rel=1e-3)
    assert g[2] == pytest.approx(4**-0.75)  # at sqrt(k / (alpha n)) = 63 the denominator has doubled
    assert g[3] < 0.01


def test_pooling_coverage_of_alexnet_pool1() -> None:
    torch.manual_seed(0)
    x = torch.rand(2, 4, 55, 55)
    over, plain = X.pooling_coverage(x, 3, 2), X.pooling_coverage(x, 2, 2)
    assert over["out"] == plain["out"] == 27  # same output size, so the paper could swap one for the other
    assert over["covered"] == 1.0
    assert plain["covered"] == pytest.approx(54 * 54 / 55**2)  # the last row and column are never read
    assert over["windows_per_input"] == pytest.approx(27 * 27 * 9 / 55**2)
    assert plain["winners"] == pytest.approx(27 * 27 / 55**2)  # disjoint windows: one winner each
    assert over["winners"] < plain["winners"]  # overlapping windows often share their maximum


def test_dropout_demo() -> None:
    d = X.dropout_demo(samples=500)
    assert d["zeroed"] == pytest.approx(0.5, abs=0.005)
    assert d["mean_vs_eval_rel_error"] < 0.05  # the test-time network is the average of the thinned ones
    assert d["two_passes_rel_difference"] > 0.3  # while any two training passes differ a lot


def test_recipes_build_the_networks_they_describe() -> None:
    paper = X.build_cifar_net("tanh", recipe="paper", seed=0)
    assert isinstance(paper, X.RawPixels) and paper.scale == 255.0
    net = X.cifar_net_of(paper)
    assert net.activation == "tanh"
    w = torch.cat([m.weight.flatten() for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear)])
    assert w.std().item() == pytest.approx(0.01, rel=0.05)  # N(0, 0.01)
    assert all(m.bias.abs().max() == 0 for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear))
    modern = X.build_cifar_net("relu", recipe="modern", lrn=True, seed=0)
    assert not isinstance(modern, X.RawPixels)
    norms = [m for m in modern.modules() if isinstance(m, X.ChannelLRN)]
    assert len(norms) == 2 and not any(isinstance(m, nn.LocalResponseNorm) for m in modern.modules())
    assert sum(p.numel() for p in modern.parameters()) == 89_578
    # same seed, same initial weights: every learning rate of a race starts from one network
    again = X.build_cifar_net("tanh", recipe="paper", seed=0)
    pairs = zip(paper.state_dict().values(), again.state_dict().values(), strict=True)
    assert all(torch.equal(a, b) for a, b in pairs)
    with pytest.raises(TypeError, match="AlexNetCifar"):
        X.cifar_net_of(nn.Linear(2, 2))


def test_profiles_keep_the_paper_target_in_full() -> None:
    full, quick = X.ACTIVATION_SETTINGS["full"], X.ACTIVATION_SETTINGS["quick"]
    assert full.target == papers.ALEXNET_CLAIMS["relu_speedup"]["target"] == 0.25
    assert full.n_train_per_class is None
    assert quick.target >= full.target
    for s in (full, quick):
        assert set(s.lrs) == set(X.RECIPES)
        assert all(len(rates) >= 3 for per_act in s.lrs.values() for rates in per_act.values())
        assert 1 <= s.sweep_epochs <= s.max_epochs == s.train.epochs
    assert X.LRN_SETTINGS["full"].n_train_per_class is None
    # Sec. 3.3 trains the paper recipe: raw pixels minus the mean image
    assert all(s.train.normalize == X.PAPER.normalize for s in X.LRN_SETTINGS.values())


@pytest.mark.parametrize("table", [X.ACTIVATION_SETTINGS, X.LRN_SETTINGS], ids=["relu_vs_tanh", "lrn"])
def test_every_profile_has_settings(table: dict) -> None:
    assert set(table) == set(PROFILES)
    for s in table.values():
        assert dataclasses.is_dataclass(s) and isinstance(s.train, TrainConfig)
        with pytest.raises(dataclasses.FrozenInstanceError):
            s.n_train_per_class = 1


@pytest.mark.parametrize("name", ["architecture", "relu_vs_tanh", "lrn"])
def test_experiments_reject_an_unknown_profile(name: str) -> None:
    with pytest.raises(UnknownProfileError, match="quick, standard, full"):
        X.EXPERIMENTS[name](profile="slow")


def test_recipe_config_applies_the_recipe() -> None:
    base = X.ACTIVATION_SETTINGS["quick"].train
    paper = X.recipe_config("paper", base, lr=0.02, epochs=2)
    modern = X.recipe_config(X.MODERN, base, lr=0.02)
    assert (paper.normalize, paper.lr, paper.epochs) == ("mean_image", 0.02, 2)
    assert (modern.normalize, modern.epochs) == ("channel", base.epochs)
    assert paper.weight_decay == modern.weight_decay == 0.0  # Figure 1: no regularisation of any kind
    # channels_last helps on GPUs only
    assert not X.ACTIVATION_SETTINGS["quick"].train.channels_last
    assert X.ACTIVATION_SETTINGS["full"].train.channels_last


def test_chapter_is_registered() -> None:
    from ecg_lib.experiments import CHAPTERS, chapter_module

    assert CHAPTERS["alexnet"] == "ecg_lib.experiments.alexnet"
    assert chapter_module("alexnet").EXPERIMENTS.keys() == {"architecture", "relu_vs_tanh", "lrn",
                                                            "relu_vs_tanh_seed1", "lrn_seed1",
                                                            "relu_vs_tanh_wide",
                                                            "relu_vs_tanh_wide_seed1"}  # fmt: skip
    wide = X.WIDE_ACTIVATION_SETTINGS["standard"]
    assert wide.extend_edges == 3 and wide.max_epochs == 90 and list(wide.lrs) == ["paper"]
    assert wide.lrs["paper"] == X.ACTIVATION_SETTINGS["standard"].lrs["paper"]


@pytest.mark.parametrize(("best", "extend", "tried", "interior"), [
    (0.02, 0, [0.02, 0.06, 0.2], False),  # as archived: the winner on the lowest rate, nothing added
    (0.02, 3, [0.00667, 0.02, 0.06, 0.2], True),  # one rate below; then 0.02 is interior
    (0.0001, 2, [0.00222, 0.00667, 0.02, 0.06, 0.2], False),  # the limit reached, still on the edge
    (0.06, 3, [0.02, 0.06, 0.2], True),  # interior from the start: nothing added
    (9.9, 1, [0.02, 0.06, 0.2, 0.667], False),  # the highest wins: one above, at the top spacing (3.33)
])  # fmt: skip
def test_a_race_adds_rates_beyond_an_edge_until_its_winner_is_interior(monkeypatch, best, extend, tried,
                                                                       interior) -> None:  # fmt: skip
    """The archived paper-like tanh races won at their lowest rate, 0.02: the best rate was never tried.
    A race may add the next rate out (the grid's spacing) while the sweep's best sits on an edge; here
    the sweep's training error is the distance of the rate from ``best`` on a log scale."""
    import math

    from ecg_lib.train import History

    def fake_fit(model, data, cfg, **kw):
        h = History()
        h.epoch_train_error = [0.3 + 0.05 * abs(math.log(cfg.lr / best))]
        return h

    from ecg_lib.experiments import alexnet_relu_tanh  # the module that runs the sweep: patch it there

    monkeypatch.setattr(alexnet_relu_tanh, "fit", fake_fit)
    monkeypatch.setattr(alexnet_relu_tanh, "build_cifar_net", lambda *a, **k: None)
    train = X.ACTIVATION_SETTINGS["quick"].train.replace(epochs=1)
    winner, entries = X.lr_sweep_to_target(_random_data(), "tanh", X.PAPER, (0.02, 0.06, 0.2), 0.25, 1,
                                           train, extend_edges=extend)  # fmt: skip
    rates = [e.lr for e in entries]
    assert rates == pytest.approx(tried, rel=1e-2) and rates == sorted(rates)
    assert (rates[0] < winner.lr < rates[-1]) is interior


def test_filter_stats_tell_learned_from_random() -> None:
    torch.manual_seed(0)
    random = X.filter_stats(torch.randn(256, 3, 5, 5))
    assert abs(random["smoothness"]) < 0.05
    assert random["luminance_share"] == pytest.approx(1 / 3, abs=0.02)
    g = torch.exp(-((torch.arange(5) - 2.0) ** 2) / 2)
    blob = (g[:, None] * g[None, :]).expand(3, 5, 5)[None]  # a grey Gaussian blob
    edge = torch.tensor([-1.0, -1.0, 0.0, 1.0, 1.0]).expand(3, 5, 5)[None]  # a grey vertical edge
    for kernel in (blob, edge):
        st = X.filter_stats(kernel)
        assert st["luminance_share"] == pytest.approx(1.0) and st["colour_agnostic"] == 1.0
        assert st["smoothness"] > 0.4
    red_green = torch.stack([blob[0, 0], -blob[0, 0], torch.zeros(5, 5)])[None]  # colour-opponent
    assert X.filter_stats(red_green)["luminance_share"] == pytest.approx(0.0, abs=1e-12)


def test_cpu_threads_restores_the_setting() -> None:
    before = torch.get_num_threads()
    with X.cpu_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with X.cpu_threads(None):
        assert torch.get_num_threads() == before
    assert X.ACTIVATION_SETTINGS["quick"].cpu_threads == X.LRN_SETTINGS["quick"].cpu_threads == 1
    assert X.ACTIVATION_SETTINGS["full"].cpu_threads is None


# ----------------------------------------------------------------------------------------------------------
# The experiments and the page, end to end on random images with tiny settings


def _random_data() -> CIFAR10Data:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (60, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.arange(60) % 10
    return CIFAR10Data(x[:40], y[:40], x[40:], y[40:], source="random")


def _tiny(s, **changes):  # s: ActivationSettings or LrnSettings
    return dataclasses.replace(s, train=s.train.replace(device="cpu", precision="fp32", batch_size=20),
                               **changes)  # fmt: skip


@pytest.fixture(scope="module")
def tiny_runs() -> dict[str, X.ExperimentResult]:
    data = _random_data()
    lrs = {"paper": {"relu": (0.002,), "tanh": (0.02,)}, "modern": {"relu": (0.01,), "tanh": (0.01,)}}
    act = _tiny(X.ACTIVATION_SETTINGS["quick"], n_train_per_class=2, target=0.95, sweep_epochs=1, lrs=lrs)
    act = dataclasses.replace(act, train=act.train.replace(epochs=2))
    lrn_s = _tiny(X.LRN_SETTINGS["quick"], n_train_per_class=2, n_test_per_class=2)
    lrn_s = dataclasses.replace(lrn_s, train=lrn_s.train.replace(epochs=2))
    return {
        "relu_vs_tanh": X.relu_vs_tanh_experiment(data, profile="quick", settings=act),
        "lrn": X.lrn_experiment(data, profile="quick", settings=lrn_s),
        "architecture": X.architecture_experiment(profile="quick"),
    }


def test_tiny_runs_record_their_profile_and_settings(tiny_runs: dict[str, X.ExperimentResult]) -> None:
    rt, lrn_result = tiny_runs["relu_vs_tanh"], tiny_runs["lrn"]
    assert {r.profile for r in tiny_runs.values()} == {"quick"}
    assert {r.run_info["profile"] for r in tiny_runs.values()} == {"quick"}
    assert rt.metrics["n_train"] == 20 and rt.metrics["max_epochs"] == 2
    assert set(rt.histories) == {"paper/relu/lr=0.002", "paper/tanh/lr=0.02", "modern/relu/lr=0.01",
                                 "modern/tanh/lr=0.01"}  # fmt: skip
    assert all(h.info["profile"] == "quick" for h in rt.histories.values())
    assert rt.histories["paper/relu/lr=0.002"].config["normalize"] == "mean_image"
    assert rt.histories["modern/relu/lr=0.01"].config["normalize"] == "channel"
    assert set(lrn_result.histories) == {"without", "with"}
    assert (lrn_result.metrics["n_train"], lrn_result.metrics["n_test"]) == (20, 20)
    assert lrn_result.metrics["settings"]["train"]["epochs"] == 2
    assert torch.tensor(lrn_result.metrics["conv1_filters"]).shape == (32, 3, 5, 5)


def test_sweep_explorer_shows_every_race_without_a_kernel(tiny_runs: dict[str, X.ExperimentResult],
                                                          monkeypatch, tmp_path) -> None:  # fmt: skip
    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))  # no archive: the live races only, and a note
    rt = tiny_runs["relu_vs_tanh"]
    x = page.sweep_explorer(rt)
    assert x.kind == "curves"  # explorers.curves_explorer: recomputes in the static book
    assert list(x.data["profiles"]) == ["paper recipe, relu", "paper recipe, tanh", "modern recipe, relu",
                                        "modern recipe, tanh"]  # fmt: skip
    ((name, curve),) = x.data["profiles"]["paper recipe, tanh"].items()
    outcome = rt.metrics["recipes"]["paper"]["tanh"]["entries"][0]["outcome"]
    assert name == f"lr 0.02 ({outcome})"
    errors = [e for e in rt.histories["paper/tanh/lr=0.02"].epoch_train_error if math.isfinite(e)]
    assert curve["y"] == errors and curve["x"] == list(range(1, len(errors) + 1))
    assert "No archived long run" in x.note and "until 95% training error" in x.note


def test_page_tables_and_text(tiny_runs: dict[str, X.ExperimentResult], monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))  # no archive: the archived column says "—"
    rt, lrn_result = tiny_runs["relu_vs_tanh"], tiny_runs["lrn"]
    assert page.race_table(rt).splitlines()[1] == "|---|---|---|---|---|"
    lead = "**Your small run (quick profile).** Its numbers come from minutes of training and do not decide"
    assert page.figure1_text(rt).startswith(lead)
    assert "the archived run above does. To reach 95% training error" in page.figure1_text(rt)
    assert "rather than the paper's 25%" in page.figure1_text(rt)
    ratio = rt.metrics["recipes"]["paper"]["epoch_ratio"]
    expected = ("could not be measured" if ratio is None else "within 2 of the paper's six" if 4 <= ratio <= 8
                else "the paper's six by more than 2")  # fmt: skip
    assert expected in page.figure1_text(rt)
    assert "The paper reports 13% and 11%, a drop of 2 points." in page.lrn_text(lrn_result)
    rows = X.tower_rows()
    summary = X.architecture_summary(rows)
    # the tower table in two tables of at most six columns: the shapes, then the counts
    shapes, counts = page.tower_shapes(rows, summary), page.tower_counts(rows, summary)
    assert shapes.splitlines()[0] == "| layer | kernels | one kernel | reads | neurons |"
    assert shapes.splitlines()[-1] == "| **total** | | | | 659,272 |"
    assert "| conv2 | 256 | 5x5x48 | own GPU | 186,624 |" in shapes
    assert counts.splitlines()[0] == "| layer | parameters | one tower | MACs (M) | one tower (M) |"
    assert counts.splitlines()[-1] == "| **total** | **60,965,224** | 62,378,344 | **724** | 1135 |"
    assert all(line.count("|") <= 7 for line in (shapes + "\n" + counts).splitlines())
    assert page.tower_notes(summary) == (
        "The split saves 1,413,120 parameters, 2.3% of one tower's, and 411 M multiply-adds per image, 36% "
        "of them.\nFC6 alone holds 37,752,832 parameters, 62% of the network; FC6 to FC8 hold 96%, while "
        "the convolutions do 92% of the multiply-adds.")  # fmt: skip
    assert page.lrn_gain_text({"inhibited": 0.043, "constant_gain": 0.5946, "median_gain": 0.588}) == (
        "In the trained network, 4.3% of the active first-layer units are scaled down by more than 10% "
        "beyond the constant gain of 0.595. The median gain is 0.588.")  # fmt: skip
    assert "No archived standard- or full-profile run" in page.relu_archive_text()
    assert page.data_note() == (
        "**Data.** No archived run exists yet: the trained rows below have no evidence.")
    notes = page.run_notes("quick")
    assert notes["relu_vs_tanh"] == (
        "128 training images per class, target 50% training error, at most 40 epochs")
    assert notes["lrn"] == "128 training / 200 test images per class, 6 epochs"
    assert notes["training_threads"] == 1
    assert page.run_notes("full")["training_threads"] == "PyTorch's default"
    with pytest.raises(UnknownProfileError):
        page.run_notes("slow")


def test_filter_text_follows_the_kernels(tiny_runs: dict[str, X.ExperimentResult]) -> None:
    torch.manual_seed(0)
    random = torch.randn(32, 3, 5, 5)
    ramp = torch.linspace(-1, 1, 5)
    smooth_grey = (ramp[:, None] + ramp[None, :]).expand(32, 3, 5, 5) + 0.01 * random
    lrn_result = tiny_runs["lrn"]
    text = page.filter_text(random, smooth_grey, lrn_result)
    assert text.startswith("In this quick-profile run the kernels trained on 20 images: smoothness went from")
    assert text.endswith("towards smoother and more colourless kernels.")
    assert page.filter_text(smooth_grey, random, lrn_result).endswith(
        "they are no smoother and no more colourless than at the random start.")


def _race(relu: int | None, tanh: int | None, max_epochs: int = 30) -> X.ExperimentResult:
    ratio = None if relu is None or tanh is None else tanh / relu
    paper = {"relu": {"epochs": relu}, "tanh": {"epochs": tanh}, "epoch_ratio": ratio}
    return X.ExperimentResult("relu_vs_tanh", "standard", metrics={
        "target": 0.25, "max_epochs": max_epochs, "recipes": {"paper": paper}})  # fmt: skip


def test_the_speed_ratio_uses_the_bound_a_missed_target_gives() -> None:
    from ecg_lib.claims import NotMeasured, measure, verdict

    claim = page.LEDGER.claim("relu_speedup")
    assert verdict(claim, measure(claim, _race(5, 30))) == "reproduced"  # 6x
    # tanh missed 25% in 30 epochs, ReLU took 12: above 2.5x, which cannot test six within 2; the reason
    # carries no seed's own number, so that seeds pooled with the same reason say it once
    missed = ("tanh did not reach 25% in the 30 epochs allowed, so the run gives only a lower bound on the "
              "ratio, too low to test 6×")  # fmt: skip
    with pytest.raises(NotMeasured) as why:
        measure(claim, _race(12, None))
    assert str(why.value) == missed
    # ReLU took 3: above 10x, beyond six + 2 whatever tanh would have needed
    m = measure(claim, _race(3, None))
    assert m.value == 10.0 and verdict(claim, m) == "not reproduced"
    assert m.text == "above 10.0× (tanh did not reach 25% in the 30 epochs allowed)"
    # ReLU missed, tanh took 6: below 6 / 30 = 0.2x, short of six - 2
    m = measure(claim, _race(None, 6))
    assert m.value == pytest.approx(0.2) and "below 0.2×" in m.text and verdict(claim, m) == "not reproduced"
    with pytest.raises(NotMeasured, match="neither reached 25%"):
        measure(claim, _race(None, None))


def _entries(lrs: tuple[float, ...], winner: float) -> dict:
    return {"lr": winner, "epochs": None,
            "entries": [{"lr": lr, "outcome": "winner" if lr == winner else "swept"} for lr in lrs]}


def test_a_winning_rate_at_the_edge_of_its_grid_is_reported(monkeypatch, tmp_path) -> None:
    r = X.ExperimentResult("relu_vs_tanh", "standard", metrics={"recipes": {
        "paper": {"relu": _entries((0.002, 0.006, 0.02), 0.006), "tanh": _entries((0.02, 0.06, 0.2), 0.02)},
        "modern": {"relu": _entries((0.01, 0.03, 0.1), 0.1), "tanh": _entries((0.01, 0.03, 0.1), 0.03)},
    }})  # fmt: skip
    assert page.grid_edges(r) == [
        "tanh under the paper-like recipe did best at 0.02, the lowest of the three rates tried",
        "ReLU under the modern recipe did best at 0.1, the highest of the three rates tried"]  # fmt: skip
    inside = X.ExperimentResult("relu_vs_tanh", "standard", metrics={"recipes": {
        "paper": {"relu": _entries((0.002, 0.006, 0.02), 0.006), "tanh": _entries((0.02, 0.06, 0.2), 0.06)}}})
    assert page.grid_edges(inside) == []
    # the archived sentence adds the edges of every archived seed, and says what they mean
    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))
    assert "edge" not in page.relu_archive_text()
    from ecg_lib.chapters import alexnet_races  # where the sentence reads the archives: patch it there

    monkeypatch.setattr(alexnet_races, "_archived_races",
                        lambda experiment: [("standard", 0, r)] if experiment == "relu_vs_tanh_wide" else [])
    text = page.relu_archive_text()
    assert (" In two races the best rate lay at the edge of the grid tried, so a rate beyond it might have "
            "trained faster: in the standard run with seed 0, tanh under the paper-like recipe did best at "
            "0.02, the lowest of the three rates tried; in the standard run with seed 0, ReLU under the "
            "modern recipe did best at 0.1, the highest of the three rates tried.") in text  # fmt: skip


def test_the_archived_ratio_sentence_gives_each_seeds_bound(monkeypatch) -> None:
    # each seed of the best archived profile whose ratio is only a bound gets one clause with its bound
    from ecg_lib.chapters import alexnet_races

    races = [("standard", 0, _race(12, None)), ("standard", 1, _race(8, None)), ("standard", 2, _race(5, 30))]
    assert alexnet_races._bound_sentence(races) == (
        " In the standard run with seed 0, ReLU took 12 epochs, so the ratio is above 2.5×; with seed 1, "
        "ReLU took 8 epochs, so the ratio is above 3.8×.")  # fmt: skip
    # a full-profile run speaks for the claim: the standard seeds' bounds are not repeated
    assert alexnet_races._bound_sentence([("full", 0, _race(5, 30)), *races]) == ""
    assert alexnet_races._bound_sentence([]) == ""
    for _, _, r in races:  # the grids the page sentence also reads: winners inside them
        for act, lrs in (("relu", (0.002, 0.006, 0.02)), ("tanh", (0.02, 0.06, 0.2))):
            r.metrics["recipes"]["paper"][act].update(lr=lrs[1], entries=_entries(lrs, lrs[1])["entries"])
    monkeypatch.setattr(alexnet_races, "_archived_races",
                        lambda experiment: races[:2] if experiment == "relu_vs_tanh_wide" else [])
    assert "with seed 1, ReLU took 8 epochs, so the ratio is above 3.8×." in page.relu_archive_text()


def test_the_speed_ratio_is_judged_on_the_widened_race(monkeypatch, tmp_path) -> None:
    # issue 23: the races on the standard grid could not test six times (tanh's best rate was the lowest
    # tried and it missed 25% in 30 epochs), so the claim reads the widened race; until that is archived
    # the page says so and gives what the standard grid's races bound
    from ecg_lib.chapters import alexnet_races

    assert page.LEDGER.claim("relu_speedup").experiment == "relu_vs_tanh_wide"
    assert page.LEDGER.claim("relu_faster").experiment == "relu_vs_tanh"
    narrow = [("standard", 0, _race(12, None)), ("standard", 1, _race(8, None))]
    wide = [("standard", 0, _race(10, 55, max_epochs=90))]
    for _, _, r in narrow + wide:
        for act, lrs in (("relu", (0.002, 0.006, 0.02)), ("tanh", (0.02, 0.06, 0.2))):
            r.metrics["recipes"]["paper"][act].update(lr=lrs[1], entries=_entries(lrs, lrs[1])["entries"])
    archived = {"relu_vs_tanh": narrow, "relu_vs_tanh_wide": []}
    monkeypatch.setattr(alexnet_races, "_archived_races", lambda experiment: archived[experiment])
    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))  # an empty archive: the wide race is not in it
    text = page.relu_archive_text()
    assert text.startswith("No archived standard- or full-profile run of this experiment exists yet")
    assert text.endswith(
        " The races on the standard grid (three rates each, at most 30 epochs) give only bounds: in the "
        "standard run with seed 0, ReLU took 12 epochs, so the ratio is above 2.5×; with seed 1, ReLU took "
        "8 epochs, so the ratio is above 3.8×.")  # fmt: skip
    # once the widened race is archived, it alone speaks: its ratio and verdict, no older races
    from ecg_lib.results import save_archive

    assert page.wide_race_text() == page.relu_archive_text()  # nothing archived: no "how it was made"
    info = {"profile": "standard", "device": "cpu", "precision": "fp32", "torch": "2",
            "date": "2026-12-06", "wall_time_s": 1.0}  # fmt: skip
    metrics = wide[0][2].metrics
    wide_result = X.ExperimentResult("relu_vs_tanh_wide", "standard", metrics=metrics, run_info=info)
    save_archive(wide_result, "alexnet", root=tmp_path)
    archived["relu_vs_tanh_wide"] = wide
    text = page.relu_archive_text()
    assert page.wide_race_text() == f"{page.common.archive_summary('alexnet', 'relu_vs_tanh_wide')}\n\n{text}"
    assert page.wide_race_text().startswith("**Archived standard run**")
    assert text.startswith("ReLU is about six times faster than tanh (Sec. 3.1, Fig. 1; paper: 6×).")
    assert "5.5× at 25%" in text and "standard grid" not in text and "bound" not in text


def test_the_sign_claim_says_who_reached_the_target() -> None:
    from ecg_lib.claims import measure

    claim = page.LEDGER.claim("relu_faster")
    assert measure(claim, _race(12, None)).text == "ReLU reached 25% in 12 epochs, tanh not within 30"
    assert measure(claim, _race(8, 20)).text == "ReLU reached 25% in 8 epochs, tanh in 20"
    assert measure(claim, _race(None, 20)).text == "tanh reached 25% in 20 epochs, ReLU not within 30"


def test_the_five_points_follow_the_evidence() -> None:
    import dataclasses as dc

    from ecg_lib.chapters import summary

    ev = summary.evidence("alexnet")
    points = page.summary_points(ev)
    assert len(points) == 5 and summary.five_points(points).startswith("1. Under the paper-like recipe")
    assert "Counted from the definitions: 60,965,224. Verdict: **reproduced**." in points[3]
    assert "659,272. Verdict: **reproduced**" in points[4]
    assert "290,400. Verdict: **not reproduced**" in points[4]
    # a changed verdict changes the sentence: the parameter count's cell read as not reproduced
    params = next(i for i, e in enumerate(ev) if e.claim.key == "params")
    cells = dict(ev[params].cells)
    source = next(k for k, c in cells.items() if c.verdict == "reproduced")
    cells[source] = dc.replace(cells[source], verdict="not reproduced",
                               text=cells[source].text.replace("reproduced", "not reproduced"))  # fmt: skip
    flipped = [*ev[:params], dc.replace(ev[params], cells=cells), *ev[params + 1:]]
    assert "60,965,224. Verdict: **not reproduced**" in page.summary_points(flipped)[3]
