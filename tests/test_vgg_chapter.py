"""The numbers the VGG chapter prints, asserted against the library (no training here, except a few
steps on random images to check the plumbing)."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from book_fixtures import printed_text
from torch import nn

from ecg_lib import papers, profiles
from ecg_lib.chapters import vgg as vgg_page
from ecg_lib.counting import count_macs, count_params, receptive_field
from ecg_lib.data import CIFAR10Data
from ecg_lib.experiments import CHAPTERS, ExperimentResult, chapter_module
from ecg_lib.experiments import vgg as X
from ecg_lib.models import vgg as V
from ecg_lib.train import TrainConfig


@pytest.mark.parametrize("channels", [64, 256, 512])
def test_three_3x3_layers_have_27c2_weights_and_one_7x7_has_49c2(channels: int) -> None:
    three, one = X.stack_stats(3, 3, channels), X.stack_stats(7, 1, channels)
    assert three.weights == 27 * channels**2 and three.weights_per_c2 == 27
    assert one.weights == 49 * channels**2 and one.weights_per_c2 == 49
    assert three.params == three.weights + 3 * channels  # one bias per output map per layer
    assert one.params == one.weights + channels


def test_the_81_percent_and_the_45_percent_saving() -> None:
    three, one = X.stack_stats(3, 3, 256), X.stack_stats(7, 1, 256)
    extra = one.weights / three.weights - 1  # how much more the 7x7 layer needs
    saving = 1 - three.weights / one.weights  # how much the stack saves
    assert extra == pytest.approx(22 / 27) and round(100 * extra) == round(100 * papers.VGG_STACK_EXTRA) == 81
    assert saving == pytest.approx(22 / 49) and round(100 * saving) == 45
    # the two statements are not the same number: "81% more" is not "81% fewer"
    assert saving < papers.VGG_STACK_EXTRA
    # MACs scale exactly like weights here (same map size, stride 1)
    assert one.macs / three.macs == pytest.approx(49 / 27)
    assert three.macs == 27 * 256**2 * 56 * 56


def test_stacks_add_nonlinearities_and_grow_the_receptive_field() -> None:
    sizes = {(k, n): X.stack_stats(k, n, 8, side=16) for k, n in X.STACK_PAIRS}
    assert [(s.label, s.receptive_field, s.relus) for s in sizes.values()] == [
        ("2 x 3x3", 5, 2), ("1 x 5x5", 5, 1), ("3 x 3x3", 7, 3), ("1 x 7x7", 7, 1),
        ("5 x 3x3", 11, 5), ("1 x 11x11", 11, 1),
    ]  # fmt: skip
    two, five = X.stack_stats(3, 2, 256), X.stack_stats(5, 1, 256)
    assert (two.weights, five.weights) == (18 * 256**2, 25 * 256**2)
    assert [s.kernel for s in X.stack_table(channels=8, side=16)] == [3, 5, 3, 7, 3, 11]


def test_conv_stack_rejects_even_kernels() -> None:
    with pytest.raises(ValueError, match="odd"):
        X.conv_stack(4, 2, 8)
    with pytest.raises(ValueError, match="positive"):
        X.conv_stack(3, 0, 8)


@pytest.mark.parametrize(
    "layers, size, centre",
    [([(3, 1)], 3, 1), ([(3, 1)] * 2, 5, 9), ([(3, 1)] * 3, 7, 49), ([(7, 1)], 7, 1), ([(11, 4)], 11, 1)],
)
def test_footprint_covers_exactly_the_receptive_field(layers, size: int, centre: int) -> None:
    fp = X.footprint(layers, 31)
    rows, cols = torch.nonzero(fp, as_tuple=True)
    assert int(rows.max() - rows.min() + 1) == int(cols.max() - cols.min() + 1) == size
    assert int((fp > 0).sum()) == size * size
    chain = [nn.Conv2d(1, 1, k, stride=s, padding=k // 2) for k, s in layers]
    assert receptive_field(chain).size == size
    # paths into the centre pixel: 7 x 7 = 49 for three 3x3 layers (1 for a corner pixel)
    assert fp.max() == centre and fp[rows.min(), cols.min()] == 1


TABLE2_EXACT = {  # our counts; torchvision's vgg11/13/16/19 have the same for A, B, D, E
    "A": 132_863_336, "A-LRN": 132_863_336, "B": 133_047_848,
    "C": 133_638_952, "D": 138_357_544, "E": 143_667_240,
}  # fmt: skip


def test_config_table_matches_table2_and_table1() -> None:
    rows = {r.config: r for r in X.config_table()}
    assert list(rows) == ["A", "A-LRN", "B", "C", "D", "E"]
    for config, row in rows.items():
        assert row.params == TABLE2_EXACT[config]
        assert round(row.params_m) == V.TABLE2_PARAMS_MILLIONS[config] == row.paper_params_m
    assert {c: r.weight_layers for c, r in rows.items()} == {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16,
                                                              "E": 19}  # fmt: skip
    assert (rows["C"].conv3, rows["C"].conv1) == (10, 3)
    assert {c: r.receptive_field for c, r in rows.items()} == {"A": 150, "A-LRN": 150, "B": 156, "C": 156,
                                                                "D": 212, "E": 268}  # fmt: skip


def test_macs_and_where_the_parameters_sit() -> None:
    rows = {r.config: r for r in X.config_table()}
    assert rows["A"].macs == 7_609_090_048
    assert rows["D"].macs == 15_470_264_320  # torchvision lists VGG-16 at 15.47 "GFLOPS"
    assert rows["E"].macs == 19_632_062_464
    # He et al. 2016: VGG-19 has 19.6 billion multiply-adds
    assert rows["E"].macs == pytest.approx(papers.RESNET_VGG_GMACS[19] * 1e9, rel=0.002)
    # the three FC layers hold 86-93% of every configuration's parameters; FC6 alone 102.8 M
    assert all(0.86 < r.fc_share < 0.94 for r in rows.values())
    assert rows["A"].fc_params == (25088 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert rows["A"].fc_share == pytest.approx(0.9306, abs=1e-4)
    assert rows["E"].fc_share == pytest.approx(0.8606, abs=1e-4)
    # ... but do under 2% of the multiply-accumulates: one MAC per FC weight and image
    assert rows["A"].fc_macs == 25088 * 4096 + 4096 * 4096 + 4096 * 1000 == 123_633_664
    assert all(r.fc_mac_share < 0.02 for r in rows.values())


def test_the_1x1_layers_of_c_keep_receptive_field_and_shape_but_add_depth() -> None:
    b, c = X.layer_trace("B"), X.layer_trace("C")
    ones = [i for i, t in enumerate(c) if t.kind == "conv1"]
    assert [c[i].name for i in ones] == ["conv3_3", "conv4_3", "conv5_3"]
    for i in ones:
        before, after = c[i - 1], c[i]
        assert after.receptive_field == before.receptive_field
        assert after.output_shape == before.output_shape
        assert after.depth == before.depth + 1
    assert [t.receptive_field for t in c if t.kind != "conv1"] == [t.receptive_field for t in b]
    assert [t.output_shape for t in c if t.kind != "conv1"] == [t.output_shape for t in b]
    assert (b[-1].depth, c[-1].depth) == (10, 13)
    assert [c[i].receptive_field for i in ones] == [32, 68, 140]


def test_the_trained_cifar_configurations_count_asprinted_text() -> None:
    s = X.SETTINGS["quick"]
    assert s.configs == ("A", "A-LRN", "D")  # a shallow one, its LRN twin, a deep one
    counts, macs = {}, {}
    for config in s.configs:
        with torch.device("meta"):
            model = V.vgg_cifar(config=config, **s.model_options())
        counts[config], macs[config] = count_params(model), count_macs(model, (3, 32, 32))
    # LRN has no parameters; BN adds 2 per channel (A: 688 channels -> 1,376) to the 611,434 weights/biases
    assert counts["A"] == counts["A-LRN"] == 611_434 + 2 * 688 == 612_810
    assert counts["D"] == 957_210
    assert macs["A"] == macs["A-LRN"] == 9_913_600 and macs["D"] == 19_940_608  # D: about twice A's compute
    full = X.SETTINGS["full"]
    assert full.configs == tuple(V.CONFIGS) and full.n_train_per_class is None and full.width == 1.0
    assert full.dropout == 0.5  # the paper's dropout in FC6 and FC7 (Sec. 3.1)


def test_settings_are_the_chapters_budgets() -> None:
    # the values the chapter was built with before the settings moved into one table
    quick, full = X.SETTINGS["quick"], X.SETTINGS["full"]
    assert quick.train == TrainConfig(epochs=3, batch_size=64, lr=0.05, seed=0, quiet=True,
                                      schedule="warmup_cosine", milestones=(),
                                      warmup_epochs=None)  # fmt: skip
    assert (quick.width, quick.n_train_per_class, quick.n_test_per_class) == (0.25, 200, 100)
    assert (quick.batch_norm, quick.init, quick.dropout, quick.seeds) == (True, "glorot", 0.0, (0,))
    # full: step schedule, lr / 10 at 50% and 75% of the run, one warmup epoch
    assert full.train == TrainConfig(epochs=60, batch_size=128, lr=0.05, seed=0, quiet=True, schedule="step",
                                     milestones=(30, 45), warmup_epochs=1)  # fmt: skip
    json.dumps(full.to_dict())


def test_every_profile_has_settings() -> None:
    assert set(X.SETTINGS) == set(profiles.PROFILES)
    assert all(isinstance(s, X.Settings) for s in X.SETTINGS.values())
    with pytest.raises(dataclasses.FrozenInstanceError):
        X.SETTINGS["quick"].width = 1.0  # type: ignore[misc]


def test_train_configs_rejects_an_unknown_profile() -> None:
    with pytest.raises(profiles.UnknownProfileError, match="quick, standard, full"):
        X.train_configs(_tiny_data(), profile="fast")
    with pytest.raises(profiles.UnknownProfileError, match="quick, standard, full"):
        X.train_configs(_tiny_data(), profile="fast", settings=_tiny_settings())
    with pytest.raises(TypeError):
        X.train_configs(_tiny_data())  # the profile is required: resolved by the caller, never guessed


def _tiny_data() -> CIFAR10Data:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.arange(40) % 10
    return CIFAR10Data(x, y, x[:20], y[:20], source="random")


def _tiny_settings() -> X.Settings:
    s = X.SETTINGS["quick"]
    return dataclasses.replace(s, configs=("A", "A-LRN"), width=0.125, n_train_per_class=2,
                               n_test_per_class=1,
                               train=s.train.replace(epochs=1, batch_size=10, device="cpu"))  # fmt: skip


@pytest.mark.usefixtures("one_thread")
def test_train_configs_plumbing_and_the_pages_text(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))  # no archive: the archived column shows "—"
    settings = _tiny_settings()
    keep: dict[str, nn.Module] = {}
    result = X.train_configs(_tiny_data(), profile="quick", settings=settings, keep=keep)
    assert set(result.histories) == set(keep) == {"A", "A-LRN"} and result.profile == "quick"
    for config, h in result.histories.items():
        assert h.info["profile"] == "quick" and h.config["epochs"] == 1 and h.info["n_train"] == 20
        assert result.metrics[config]["test_error"] == h.final_test_error
    assert result.metrics["settings"]["n_train_per_class"] == 2 and result.run_info["profile"] == "quick"
    json.dumps(result.to_dict())

    text = vgg_page.run_paragraph(result, settings)
    assert text.startswith("**Your small run (quick profile).**")
    assert "In the paper, LRN moved A's ImageNet top-5 error from 10.4% to 10.5%." in text
    assert "These runs see 2 images per class for 1 epoch, with one seed" in text
    assert "scored on 10 test images" in text
    # the ledger on this run (the scoreboard's view of a live run; the closing table reads the archives)
    # (the runs without batch normalisation are archived only: no live result for them)
    live = {"train_configs": result, "train_configs_nobn": None, **vgg_page.counted()}
    table = vgg_page.LEDGER.table(live, result.profile)
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in table.splitlines()}
    two = rows["Two stacked 3×3 layers see a 5×5 window (Sec. 2.3)"]
    assert "| 5 px: **reproduced** | same (counted) |" in two
    assert "49C² vs 27C²: 81.5% more: **reproduced**" in table
    assert "132,863,336: **reproduced**" in rows["Configuration A has 133 million parameters (Table 2)"]
    assert "19.63 G: **reproduced**" in table
    # C's last conv sees what B's does; the 1x1 layers add depth, not reach
    assert "140 px (C) vs 140 px (B): **reproduced**" in table
    lrn = rows["Local response normalisation does not improve configuration A (Sec. 4.1, Table 3)"]
    a, a_lrn = result.metrics["A"]["test_error"], result.metrics["A-LRN"]["test_error"]
    assert f"{100 * a:.1f}% (A) vs. {100 * a_lrn:.1f}% (A-LRN)" in lrn and "paired SE over 10 images" in lrn
    assert lrn.count("no archive: no evidence yet") == 2
    # D is not trained by these settings: no measurement, said so
    deeper = rows["The deeper configuration D has a lower error than A (Sec. 4.1, Table 3)"]
    assert "| D not trained in the quick profile |" in deeper
    assert "3 epochs" in vgg_page.describe_settings(X.SETTINGS["quick"])


def test_page_tables() -> None:
    rows = X.config_table()
    structure = vgg_page.config_structure_markdown(rows)
    cost = vgg_page.config_cost_markdown(rows)
    # Table 1 counted, in two tables of at most six columns (issue 27): what each network is, what it costs
    assert structure.splitlines()[0] == "| config | weight layers | 3×3 convs | 1×1 convs | receptive field |"
    assert "| C | 16 | 10 | 3 | 156 px |" in structure and "| E | 19 | 16 | 0 | 268 px |" in structure
    assert cost.splitlines()[0] == ("| config | parameters | Table 2 | MACs per image | params in FC6-8 | "
                                    "MACs in FC6-8 |")
    assert "| E | 143,667,240 (143.7 M) | 144 M | 19.63 G | 86.1% | 0.6% |" in cost
    assert "| A | 132,863,336 (132.9 M) | 133 M | 7.61 G | 93.1% | 1.6% |" in cost
    stacks = vgg_page.stack_table_markdown(X.stack_table(channels=256, side=56))
    assert stacks.splitlines()[0].startswith("| stack (C = 256, 56×56 maps) |")
    assert "| 3 x 3x3 | 7×7 | 1,769,472 | 27 | 5.55 G | 3 |" in stacks
    for table in (structure, cost, stacks):
        assert all(line.count("|") - 1 <= 6 for line in table.splitlines())


def test_the_cost_sentence_is_generated_from_the_counted_rows() -> None:
    rows = X.config_table()
    text = vgg_page.cost_text(rows)
    assert "going from 11 to 19 weight layers adds 8.1% to the parameters." in text
    assert "FC6 alone maps the 25,088 numbers of the last feature map to 4,096 units, with 102.8 million" in (
        text)
    assert "The FC layers hold 86.1% to 93.1% of the parameters, yet do at most 1.6% of the" in text
    # one configuration: no range from a value to itself
    assert "hold 93.1% of the parameters" in vgg_page.cost_text(rows[:1])


def test_the_paper_values_of_the_trained_claims_hold_no_parentheses() -> None:
    # they are quoted inside "(Sec. 4.1, Table 3; paper: ...)": parentheses there would nest (issue 27)
    claims = {c.key: c for c in vgg_page.LEDGER.claims}
    assert claims["deeper"].paper_value == "D 8.8% vs. A 10.4% top-5, ImageNet"
    assert claims["lrn"].paper_value == "A-LRN 10.5% vs. A 10.4% top-5, ImageNet"
    assert not any("(" in c.paper_value for c in claims.values())


def test_the_data_note_reads_the_archives(tmp_path) -> None:
    from ecg_lib.results import find_archives

    found = find_archives("vgg", "train_configs")
    if "standard" in found:
        assert vgg_page.data_note().startswith("**Data.** The archived standard run's CIFAR-10: ")
        assert str(found["standard"].run_info["data_quality"]) in vgg_page.data_note()
    none = "**Data.** No archived run yet: the trained claims have no evidence."
    assert vgg_page.data_note(tmp_path) == none


def test_the_five_points_are_generated_and_follow_the_verdicts() -> None:
    from ecg_lib.chapters import summary

    ev = summary.evidence("vgg")
    points = vgg_page.summary_points(ev)
    assert len(points) == 5 and summary.five_points(points).startswith("1. Stacked 3×3 layers")
    stacks, counts, ones, deeper, lrn = points
    assert "two see a 5×5 window, three a 7×7 one (both **reproduced**, counted)" in stacks
    assert "81.5% more weights than three 3×3 layers, against the paper's 81% (**reproduced**)" in stacks
    assert "the stack saves 44.9% of the weights" in stacks
    assert "Table 2's parameter counts (all six **reproduced**)" in counts
    assert "19.63 billion multiply-accumulates per image, against the 19.6 billion" in counts
    assert "from 11 to 19 weight layers adds 8.1%" in counts and "86.1% to 93.1%" in counts
    assert ones.startswith("Configuration C's three 1×1 layers") and "beats C: 8.8% against 9.4%" in ones
    by_key = {e.claim.key: e for e in ev}
    # each trained claim with its twin without batch normalisation
    for point, key in ((deeper, "deeper"), (lrn, "lrn")):
        assert point == (f"{summary.finding(by_key[key])} Without batch normalisation: "
                         f"{summary.finding(by_key[key + '_nobn'])}")  # fmt: skip
    # a changed verdict changes the sentence: one parameter count failing names its claim
    changed = [dataclasses.replace(e, cells={**e.cells, "live": dataclasses.replace(
        e.cells["live"], verdict="not reproduced")}) if e.claim.key == "params_D" else e for e in ev]
    counts2 = vgg_page.summary_points(changed)[1]
    assert "all six" not in counts2
    assert "Configuration D has 138 million parameters: **not reproduced**" in counts2
    # and one stack figure failing
    changed = [dataclasses.replace(e, cells={**e.cells, "live": dataclasses.replace(
        e.cells["live"], verdict="not reproduced")}) if e.claim.key == "rf3" else e for e in ev]
    stacks2 = vgg_page.summary_points(changed)[0]
    assert "both" not in stacks2
    assert "Three stacked 3×3 layers see a 7×7 window: **not reproduced**" in stacks2


def test_chapter_is_registered() -> None:
    assert CHAPTERS["vgg"] == "ecg_lib.experiments.vgg"
    assert chapter_module("vgg").EXPERIMENTS["train_configs"] is X.train_configs
    assert set(papers.VGG_TABLE3) == set(V.CONFIGS)
    assert papers.VGG_TABLE3["A-LRN"][1] > papers.VGG_TABLE3["A"][1]  # LRN did not help in the paper


@pytest.mark.book
def test_the_built_chapter_prints_the_library_numbers(executed_notebook) -> None:
    text = printed_text(executed_notebook("vgg"))
    three, seven = X.stack_stats(3, 3, 256), X.stack_stats(7, 1, 256)
    assert f"weights {three.weights:>9,} = 27 C^2" in text and f"weights {seven.weights:>9,} = 49 C^2" in text
    assert "needs 81.5% more weights than the stack" in text and "the stack saves 44.9%" in text
    for config, count in TABLE2_EXACT.items():
        assert f"| {config} | " in text and f"{count:,}" in text
    assert "every count rounds to Table 2: True" in text
    assert "conv3_3 (1x1): receptive field 32 -> 32 px" in text
    assert ("last convolution: B's conv5_2 is its convolution number 10, C's conv5_3 its number 13; "
            "receptive field 140 px in B and 140 px in C") in text
    assert "Chapter run time:" in text


def test_the_1x1_row_reads_the_last_convolution_not_pool5() -> None:
    from ecg_lib.chapters import vgg as page
    from ecg_lib.experiments import vgg as V

    trace_c = V.layer_trace("C")
    assert trace_c[-1].kind == "maxpool" and trace_c[-1].receptive_field == 156  # pool5, not a conv
    # what the ledger's 1x1 row reads (the scoreboard's counted objects): the last convolution's field
    counts = page.counted()["counts"]
    assert counts["rf_b"] == counts["rf_c"] == 140


def test_the_loss_figure_draws_a_half_epoch_moving_average() -> None:
    # the one smoothed-loss plot (chapters.plots), drawn by the VGG and NIN pages
    from types import SimpleNamespace

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecg_lib.experiments import ExperimentResult

    h = SimpleNamespace(train_loss=[4.0, 2.0, 0.0, 2.0, 4.0, 6.0], steps_per_epoch=4)  # window: 2 steps
    result = ExperimentResult("vgg.train_configs", "quick", histories={"A": h},
                              metrics={"A": {"weight_layers": 11}})  # fmt: skip
    fig = vgg_page.loss_figure(result, "quick")
    (line,) = fig.axes[0].get_lines()
    assert line.get_label() == "A (11 weight layers)"
    assert list(line.get_xdata()) == pytest.approx([0.5, 0.75, 1.0, 1.25, 1.5])
    assert list(line.get_ydata()) == pytest.approx([3.0, 1.0, 1.0, 3.0, 5.0])
    assert fig.axes[0].get_title() == "Training loss, your run (quick profile)"
    plt.close(fig)


def _run(errors: dict[str, float]) -> ExperimentResult:
    from types import SimpleNamespace

    info = SimpleNamespace(info={"n_test": 1000})
    metrics: dict = {c: {"test_error": e, "train_error": 0.6, "seconds": 10.0,
                         "macs": 2 * 9_913_600 if c == "D" else 9_913_600,
                         "weight_layers": 16 if c == "D" else 11} for c, e in errors.items()}
    metrics["settings"] = {"n_train_per_class": 200}
    histories = dict.fromkeys(errors, info)
    return ExperimentResult("vgg.train_configs", "quick", histories=histories, metrics=metrics)


def test_the_run_paragraph_says_one_number_per_clause_and_no_zero_difference() -> None:
    settings = X.SETTINGS["quick"]
    text = vgg_page.run_paragraph(_run({"A": 0.696, "A-LRN": 0.706, "D": 0.815}), settings)
    assert "configuration D ended at 81.5% test error and the 11-layer A at 69.6%: D 11.9 points higher." in (
        text)
    assert "D costs 2.0 times A's compute per image." in text
    assert "Adding LRN to A changed the test error by +1.0 points and cost 1.0 times A's training time." in (
        text)
    # equal errors: said in words, not as "0.0 points higher" or "+0.0 points"
    level = vgg_page.run_paragraph(_run({"A": 0.696, "A-LRN": 0.696, "D": 0.696}), settings)
    assert "A at 69.6%: no difference at this precision." in level
    assert "Adding LRN to A left the test error where it was" in level
    assert "on its own training images D ended level with A." in level
    assert "0.0 points" not in level


def _archive(root, name: str, rows: dict[str, tuple[float, float]], seeds=(0,), epochs: int = 10) -> None:
    from ecg_lib.results import save_archive

    layers = {"A": 11, "A-LRN": 11, "B": 13, "D": 16}
    # as train_configs labels them: by config alone for one seed, "<config>/seed<k>" for several
    metrics: dict = {c if len(seeds) == 1 else f"{c}/seed{s}": {"test_error": te, "train_error": tr,
                                                                "weight_layers": layers[c]}
                     for c, (te, tr) in rows.items() for s in seeds}  # fmt: skip
    metrics["settings"] = {"train": {"epochs": epochs}}
    info = {"profile": "standard", "device": "cpu", "precision": "fp32", "torch": "2", "date": "2026-12-06",
            "wall_time_s": 1.0}  # fmt: skip
    save_archive(ExperimentResult(name, "standard", metrics=metrics, run_info=info), "vgg", root=root)


def test_the_table_with_and_without_batch_norm_reads_both_archives(tmp_path) -> None:
    assert vgg_page.bn_table(tmp_path) == ""
    assert vgg_page.bn_sentence(tmp_path) == ""
    with_bn = {"A": (0.1944, 0.1930), "A-LRN": (0.1941, 0.1951), "D": (0.1853, 0.1891)}
    _archive(tmp_path, "train_configs", with_bn, seeds=(0, 1))
    without = {"A": (0.301, 0.252), "A-LRN": (0.312, 0.263), "B": (0.35, 0.30), "D": (0.900, 0.8991)}
    _archive(tmp_path, "train_configs_nobn", without)
    assert vgg_page.bn_table(tmp_path) == (
        "| configuration | weight layers | with BN: test / training error "
        "| without BN: test / training error |\n"
        "|---|---|---|---|\n"
        "| A | 11 | 19.4% / 19.3% (2 seeds) | 30.1% / 25.2% |\n"
        "| A-LRN | 11 | 19.4% / 19.5% (2 seeds) | 31.2% / 26.3% |\n"
        "| B | 13 | not trained | 35.0% / 30.0% |\n"
        "| D | 16 | 18.5% / 18.9% (2 seeds) | 90.0% / 89.9% |")  # fmt: skip
    assert vgg_page.bn_sentence(tmp_path) == (
        "Without batch normalisation D did not train in 10 epochs: its training error in the last epoch was "
        "89.9%, within 5 points of chance (90%). A, A-LRN and B trained (training error 25.2% to 30.0%).")
    _archive(tmp_path, "train_configs_nobn", {"A": (0.301, 0.252), "D": (0.45, 0.40)})
    assert vgg_page.bn_sentence(tmp_path) == (
        "Without batch normalisation every configuration trained in 10 epochs: the last epoch's training "
        "error was 25.2% (A) and 40.0% (D). D's training error is higher than A's too, so in 10 epochs the "
        "deeper network fits the training images less well: its higher test error comes with a slower fit.")
    # a deeper net that fits as well or better and still tests worse gets no such clause
    _archive(tmp_path, "train_configs_nobn", {"A": (0.301, 0.252), "D": (0.45, 0.20)})
    assert vgg_page.bn_sentence(tmp_path).endswith("20.0% (D).")
