"""The numbers the GoogLeNet chapter prints, asserted against the library (no training, except a few
steps on random images to check the plumbing).

Expected values are worked out by hand from the paper's Table 1 channel counts: a k x k convolution from
C to n channels has k*k*C*n weights and, on an S x S map, k*k*C*n*S*S multiply-adds.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from book_fixtures import printed_text
from torch import nn

from ecg_lib import papers, profiles
from ecg_lib.chapters import common, explorers
from ecg_lib.chapters import googlenet as googlenet_page
from ecg_lib.counting import count_params
from ecg_lib.data import CIFAR10Data
from ecg_lib.experiments import CHAPTERS
from ecg_lib.experiments import googlenet as E
from ecg_lib.models import googlenet as G
from ecg_lib.train import TrainConfig, fit

ROW_3A = G.TABLE1[0]


def test_chapter_is_registered() -> None:
    assert CHAPTERS["googlenet"] == "ecg_lib.experiments.googlenet"
    assert set(E.EXPERIMENTS) == {"counts", "train", "train_seed1"}


def test_inception_inputs_are_table1_sizes() -> None:
    assert E.inception_inputs() == {
        "3a": (192, 28), "3b": (256, 28), "4a": (480, 14), "4b": (512, 14), "4c": (512, 14),
        "4d": (512, 14), "4e": (528, 14), "5a": (832, 7), "5b": (832, 7),
    }  # fmt: skip
    # The CIFAR net at width 0.25: 16x16 maps for Inception 3, 8x8 for 4, 4x4 for 5.
    cifar = E.inception_inputs(G.googlenet_cifar(width=0.25), input_side=32)
    assert cifar["3a"] == (48, 16) and cifar["4a"] == (120, 8) and cifar["5b"] == (208, 4)


def test_inception_3a_with_and_without_reductions() -> None:
    s = E.branch_savings("3a")
    assert (s.in_channels, s.side) == (192, 28)
    weights = 192 * 64 + 192 * 96 + 9 * 96 * 128 + 192 * 16 + 25 * 16 * 32 + 192 * 32
    assert s.reduced == E.Cost(weights, weights + 64 + 96 + 128 + 16 + 32 + 32, weights * 28 * 28)
    assert s.reduced == E.Cost(163_328, 163_696, 128_049_152)
    naive = 192 * (64 + 9 * 128 + 25 * 32)  # Fig. 2a: no reductions, no pool projection
    assert s.naive == E.Cost(naive, naive + 64 + 128 + 32, naive * 784)
    assert s.naive == E.Cost(387_072, 387_296, 303_464_448)
    proj = naive + 192 * 32
    assert s.naive_proj == E.Cost(proj, proj + 64 + 128 + 32 + 32, proj * 784)
    assert (s.reduced_out, s.naive_out) == (256, 64 + 128 + 32 + 192)
    # The ratios the chapter states to one decimal place.
    assert s.ratio("macs") == pytest.approx(303_464_448 / 128_049_152) and round(s.ratio("macs"), 1) == 2.4
    assert round(s.ratio("macs", proj=True), 1) == 2.4 and round(s.ratio("params"), 1) == 2.4
    assert round(s.ratio("params", proj=True), 1) == 2.4


def test_inception_3a_per_branch() -> None:
    by = {b.branch: b for b in E.branch_savings("3a").branches}
    assert by["5x5"].naive.weights == 25 * 192 * 32 == 153_600
    assert by["5x5"].reduced.weights == 192 * 16 + 25 * 16 * 32 == 15_872
    assert by["5x5"].naive.macs == 120_422_400 and by["5x5"].reduced.macs == 12_443_648
    assert round(by["5x5"].mac_ratio, 1) == 9.7  # the largest saving
    assert by["3x3"].naive.weights == 9 * 192 * 128 and by["3x3"].reduced.weights == 192 * 96 + 9 * 96 * 128
    assert round(by["3x3"].mac_ratio, 1) == 1.7
    assert by["1x1"].mac_ratio == by["pool"].mac_ratio == 1.0
    assert max(by.values(), key=lambda b: b.mac_ratio).branch == "5x5"


def test_break_even_widths() -> None:
    # r (C + k^2 n) = k^2 C n: 3a's 5x5 branch saves weights only while its reduction is below 154.8.
    assert E.break_even_width("3a", "5x5") == pytest.approx(25 * 192 * 32 / (192 + 25 * 32)) == pytest.approx(
        154.84, abs=0.01
    )
    assert E.break_even_width("3a", "3x3") == pytest.approx(9 * 192 * 128 / (192 + 9 * 128))
    five = E.reduction_sweep("3a", "5x5", [16, 150, 155, 165])
    assert five[0] == E.branch_savings("3a").branches[2].reduced  # the paper's width
    assert [c.weights for c in five] == [r * (192 + 25 * 32) for r in (16, 150, 155, 165)]
    naive_5x5 = E.branch_savings("3a").branches[2].naive.weights
    assert [c.weights < naive_5x5 for c in five] == [True, True, False, False]
    three = E.reduction_sweep("3a", "3x3", [96, 164, 165])
    assert three[0].macs == (192 * 96 + 9 * 96 * 128) * 784
    assert [c.weights < 9 * 192 * 128 for c in three] == [True, True, False]
    with pytest.raises(ValueError, match="'3x3' or '5x5'"):
        E.reduction_sweep("3a", "1x1", [8])


def test_every_row_against_table1() -> None:
    lines = {line.name: line for line in E.table1_comparison()}
    assert list(lines) == ["conv1", "conv2", *[r.name for r in G.TABLE1], "linear"]
    assert lines["conv2"].ours.weights == 64 * 64 + 9 * 64 * 192 == 112 * 1024  # the column's unit is 1024
    assert lines["linear"].ours == E.Cost(1_024_000, 1_025_000, 1_024_000)
    assert lines["conv1"].ours == E.Cost(9408, 9472, 9408 * 112 * 112)
    # Rows where the table agrees with its own channel counts, within one printed unit or 1%:
    agree = {n for n, line in lines.items() if line.note == "agrees (rounded)"}
    assert agree == {"conv2", "3a", "3b", "4a", "4b", "4e", "linear"}
    # 4c: params entry 463K against 497.5K, while the ops entry (100M) is right.
    assert lines["4c"].ours.params_k == 497.5 and lines["4c"].params_diff == pytest.approx(463 / 497.5 - 1)
    assert abs(lines["4c"].ops_diff) < 0.01 and lines["4c"].paper_self_consistency > 0.07
    # 5a: both entries ~5% high, consistent with each other.
    assert lines["5a"].params_diff == pytest.approx(1072 / 1018 - 1) and lines["5a"].ops_diff > 0.05
    assert abs(lines["5a"].paper_self_consistency) < 0.01
    assert lines["4d"].ours.params_k == 590.5 and lines["5b"].ours.params_k == 1409
    # conv1: 2.7K / 34M are a third of 7x7x3x64's 9.2K / 118M.
    assert lines["conv1"].params_diff < -0.7 and lines["conv1"].ops_diff < -0.7
    for name in ("3a", "4a", "5b"):  # every reduced module is cheaper than the same without reductions
        assert lines[name].naive is not None and lines[name].naive.macs > lines[name].ours.macs
    assert sum(papers.GOOGLENET_TABLE1[n][1] for n in lines) == 1502  # the ops column's total, in millions


def test_separable_conv1_reproduces_table1() -> None:
    sep = E.separable_conv1_cost()
    assert sep.weights == 7 * 7 * 3 * 8 + 24 * 64 == 2712
    assert sep.macs == 2712 * 112 * 112 and round(sep.ops_m) == 34  # Table 1: 34M
    assert round(sep.weights / 1000, 1) == 2.7  # Table 1: 2.7K


def test_naive_stacks() -> None:
    widths = [(name, c_in, c_out) for name, c_in, c_out, _ in E.naive_stack(pool_proj=False)]
    assert widths[0] == ("3a", 192, 416) and widths[-1] == ("5b", 4048, 4944)
    grow = E.naive_stack(pool_proj=False)
    keep = E.naive_stack(pool_proj=True)
    assert [c_out for _, _, c_out, _ in keep] == [r.out_channels for r in G.TABLE1]
    assert sum(c.macs for *_, c in grow) == 12_085_441_536
    assert sum(c.macs for *_, c in keep) == 3_947_847_680
    # The nine modules as built, from the table's channel counts alone.
    reduced, c_in = 0, 192
    for row in G.TABLE1:
        side = {"3": 28, "4": 14, "5": 7}[row.name[0]]
        weights = c_in * (row.n1x1 + row.n3x3red + row.n5x5red + row.pool_proj)
        weights += 9 * row.n3x3red * row.n3x3 + 25 * row.n5x5red * row.n5x5
        reduced += weights * side * side
        c_in = row.out_channels
    assert reduced == sum(line.ours.macs for line in E.table1_comparison() if line.naive is not None)
    assert reduced == 1_103_972_352 and round(sum(c.macs for *_, c in keep) / reduced, 1) == 3.6
    assert round(sum(c.macs for *_, c in grow) / reduced, 1) == 10.9


def test_network_facts() -> None:
    f = E.network_facts()
    assert (f.depth, f.depth_with_pools) == (22, 27)  # Sec. 5
    assert (f.params, f.weights, f.macs) == (6_998_552, 6_990_272, 1_582_671_872)
    assert f.aux_params == (3_188_840, 3_190_888)
    assert f.params_with_aux == 13_378_280
    assert f.alexnet_params == 60_965_224
    assert round(f.alexnet_ratio, 1) == 8.7  # not the paper's 12
    assert round(f.params_for_paper_ratio / 1e6, 2) == 5.08
    assert round(f.alexnet_params / f.params_with_aux, 1) == 4.6
    assert round(f.macs / f.alexnet_macs, 1) == 2.2
    # AlexNet's FC6-FC8: 9216 x 4096, 4096 x 4096, 4096 x 1000, with biases.
    assert f.alexnet_fc_params == 9216 * 4096 + 4096 * 4096 + 4096 * 1000 + 4096 + 4096 + 1000 == 58_631_144


def test_module_explorer_shows_the_chapters_counts() -> None:
    # The chapter's explorer is the kernel-free one (it recomputes in the static book); at (3a) it shows
    # the counts of the chapter's own inception_cost, with reductions and for both naive modules.
    n = explorers.inception_explorer("3a").numbers
    reduced = E.inception_cost(ROW_3A)
    assert (n["reduced.total.weights"], n["reduced.total.macs"]) == (reduced.weights, reduced.macs)
    assert n["reduced.total.weights"] == 163_328
    for key, pool_proj in (("naive", False), ("naive_proj", True)):
        naive = E.inception_cost(ROW_3A, reduce=False, pool_proj=pool_proj)
        assert (n[f"{key}.total.weights"], n[f"{key}.total.macs"]) == (naive.weights, naive.macs)


def test_counts_experiment_is_archivable() -> None:
    result = E.counts_experiment(profile="quick")
    d = json.loads(json.dumps(result.to_dict()))  # JSON-able, as `reproduce` writes it
    assert d["profile"] == d["run_info"]["profile"] == "quick"
    assert d["metrics"]["inception_3a"]["reduced"]["macs"] == 128_049_152
    assert round(d["metrics"]["inception_3a"]["mac_ratio"], 1) == 2.4
    assert d["metrics"]["network"]["params"] == 6_998_552
    assert [line["name"] for line in d["metrics"]["table1"]][2:11] == [r.name for r in G.TABLE1]


def test_cifar_settings() -> None:
    quick, full = E.SETTINGS["quick"], E.SETTINGS["full"]
    # the values the chapter was built with before the settings moved into one table
    assert quick.train == TrainConfig(epochs=6, batch_size=64, lr=0.05, weight_decay=5e-4, max_time_s=120,
                                      seed=0, quiet=True)  # fmt: skip
    assert (quick.width, quick.n_train_per_class, quick.n_test_per_class) == (0.25, 400, 100)
    assert quick.variants == ("aux",) and quick.aux_weight == G.AUX_LOSS_WEIGHT == papers.GOOGLENET_AUX_WEIGHT
    assert full.train == TrainConfig(epochs=40, batch_size=128, lr=0.05, weight_decay=5e-4, seed=0,
                                     quiet=True)  # fmt: skip
    assert full.n_train_per_class is None and set(full.variants) == {"aux", "no_aux"} and full.width == 1.0
    with pytest.raises(ValueError, match="'aux' or 'no_aux'"):
        dataclasses.replace(quick, variants=("aux", "both"))


def test_every_profile_has_settings() -> None:
    assert set(E.SETTINGS) == set(profiles.PROFILES)
    assert all(isinstance(s, E.Settings) for s in E.SETTINGS.values())


def test_experiments_reject_an_unknown_profile() -> None:
    with pytest.raises(profiles.UnknownProfileError, match="quick, standard, full"):
        E.cifar_experiment(_tiny_data(), profile="fast")
    with pytest.raises(profiles.UnknownProfileError, match="quick, standard, full"):
        E.cifar_experiment(_tiny_data(), profile="fast", settings=_tiny_settings())
    with pytest.raises(profiles.UnknownProfileError, match="quick, standard, full"):
        E.counts_experiment(profile="fast")
    with pytest.raises(TypeError):
        E.cifar_experiment(_tiny_data())  # the profile is required: resolved by the caller, never guessed


def _tiny_settings() -> E.Settings:
    train = E.SETTINGS["quick"].train.replace(epochs=1, lr=0.01, batch_size=10, max_time_s=None, device="cpu")
    return E.Settings(train=train, width=0.125, n_train_per_class=2, n_test_per_class=1,
                      variants=("aux", "no_aux"))  # fmt: skip


def test_cifar_experiment_plumbing() -> None:
    # A few steps on random images: the metrics the chapter reads exist and agree with the histories.
    result = E.cifar_experiment(_tiny_data(), profile="quick", settings=_tiny_settings())
    m = result.metrics
    assert set(result.histories) == {"aux", "no_aux"} and m["n_train"] == 20 and m["n_test"] == 10
    for variant, h in result.histories.items():
        assert h.config["aux_weight"] == (0.3 if variant == "aux" else None) and h.info["profile"] == "quick"
        assert m["test_error"][variant] == h.final_test_error and m["stopped"][variant] == "completed"
    assert m["params"] == count_params(G.googlenet_cifar(width=0.125)) and m["settings"]["width"] == 0.125
    assert result.run_info["profile"] == "quick"
    json.dumps(result.to_dict())

    # what the page prints and tabulates from it
    summary = googlenet_page.training_summary(result)
    assert f"aux: test error {common.pct(m['test_error']['aux'])} on 10 test images" in summary
    assert "googlenet_cifar at width 0.125" in summary
    assert "after 1 epoch on 20 training images" in summary  # no "1 epochs"
    assert "no_aux: mean training loss of steps 1-50" in summary
    text = googlenet_page.run_text(result)
    assert text.startswith("**Your small run (quick profile).** Its numbers come from minutes of training")
    assert "the archived run above does. It trained 1 epoch on 20 images at width 0.125" in text
    assert "mean training loss printed above" in text


def test_page_tables() -> None:
    lines = E.table1_comparison()
    table = googlenet_page.table1_table(lines)
    assert "| 4c | 497.5 | 463 | 99.9 | 100 | +7.6% |" in table
    totals = googlenet_page.table1_totals(lines)
    # one sum per clause
    assert totals == ("Table 1's params column sums to 6,797.7K; our weights sum to 6,826.4K. "
                      "Its ops column sums to 1,502M; our multiply-adds sum to 1,582.7M.")  # fmt: skip
    # 6,797.7K with K = 1024 is 6.96 million weights, not 6.8 million (issue 24)
    assert googlenet_page.table1_weights() == 6_960_845
    assert googlenet_page.ops_column_with_plain_conv1(lines) == (
        "Table 1 prints 34M for conv1; the plain 7x7 convolution costs 118M.\n"
        "With that entry, the ops column sums to 1,586M.")
    savings = googlenet_page.module_savings_table(lines)
    assert "| 3a | 128.0 | 308 | 2.4× |" in savings and "| 5a | 51.1 | 264 | 5.2× |" in savings
    s3a = E.branch_savings("3a")
    variants = googlenet_page.module_variants_table(s3a)
    assert "| with reductions (Fig. 2b) | 163,328 | 163,696 | 128,049,152 | 256 |" in variants
    branches = googlenet_page.branches_table(s3a)
    assert "| 5x5 | 15,872 | 153,600 | 12,443,648 | 120,422,400 | 9.7× |" in branches
    rows = googlenet_page.table1_rows_table()
    assert "| 3a | 64 | 96 → 128 | 16 → 32 | 32 | 256 |" in rows
    network = googlenet_page.network_table(E.network_facts())
    assert "| weight layers on the longest path | 22 (27 with pooling) | 22 (27 with pooling) |" in network
    assert "budget 1.5 billion (Sec. 1); Table 1 sums to 1,502M" in network
    # every table of the chapter fits the text column: at most six columns (issue 27)
    for text in (table, savings, variants, branches, rows, network):
        header = text.splitlines()[0]
        assert header.count(" | ") + 1 <= 6, header


def test_network_outline_is_traced_on_the_built_network() -> None:
    table = googlenet_page.network_outline()
    rows = [line.split(" | ") for line in table.splitlines()[2:]]
    assert table.splitlines()[0] == "| layer | output (C × H × W) | parameters |"
    names = [r[0].removeprefix("| ") for r in rows]
    assert names[0] == "conv 7×7/2" and names[-1] == "linear"
    assert names.count("max pool 3×3/2") == 4  # two in the stem, two between the stages
    assert [n for n in names if n.startswith("inception")] == [f"inception ({r.name})" for r in G.TABLE1]
    # every parameter of the network sits in one row
    assert sum(int(r[-1].removesuffix(" |").replace(",", "")) for r in rows) == E.network_facts().params
    assert "| inception (3a) | 256 × 28 × 28 | 163,696 |" in table and "| dropout 40% | 1024 | 0 |" in table
    # the CIFAR stem, traced the same way: a 3x3 convolution and 16x16 maps before (3a)
    cifar = googlenet_page.network_outline(G.googlenet_cifar(width=0.25), side=32)
    assert cifar.splitlines()[2].startswith("| conv 3×3 |") and "| inception (3a) | 64 × 16 × 16 |" in cifar


def test_savings_text_names_a_ratio_once_per_clause() -> None:
    s3a = E.branch_savings("3a")
    assert googlenet_page.savings_text(s3a) == (
        "Without the reductions, (3a) needs 2.4 times the multiply-adds. It needs 2.4 times the parameters. "
        "Keeping the pool projection in the naive module leaves both ratios unchanged.")
    # where the pool projection changes a ratio at one decimal, the sentence states the other ratios
    s5a = E.branch_savings("5a")
    assert f"{s5a.ratio('macs'):.1f}" != f"{s5a.ratio('macs', proj=True):.1f}"
    text = googlenet_page.savings_text(s5a)
    assert "With the pool projection kept, the naive module needs 5.2 times the multiply-adds." in text
    assert "(" not in text.replace("(5a)", "")


def test_summary_points_are_five_generated_findings(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ecg_lib.chapters import summary
    from ecg_lib.claim_ledgers import Cell
    from ecg_lib.claim_verdicts import cell_text

    ev = summary.evidence("googlenet")
    points = googlenet_page.summary_points(ev)
    assert len(points) == 5 and summary.five_points(points).startswith("1. The 1×1 reductions make")
    assert points[0] == ("The 1×1 reductions make inception (3a) 2.4 times cheaper in multiply-adds. The "
                         "\"about ten times\" often quoted is the saving of its 5×5 branch alone, 9.7 times.")
    assert points[1].startswith("GoogLeNet has 12 times fewer parameters than AlexNet (Sec. 1). Counted "
                                "from the definitions: 8.7×")
    assert "**not reproduced**" in points[1] and "**not reproduced**" in points[2]
    assert points[3].endswith("3 of its 12 params entries agree with the channel numbers.")
    assert "archived standard run" in points[4] and "**within noise**" in points[4]
    # a changed verdict changes the sentence: the aux claim's archived cell turned "opposite"
    aux = next(e for e in ev if e.claim.key == "aux_helps")
    m = aux.cells["standard"].measurement
    flipped = dataclasses.replace(aux, cells={**aux.cells, "standard": Cell(m, "opposite", cell_text(
        aux.claim, m, "opposite"))})  # fmt: skip
    other = googlenet_page.summary_points([flipped if e is aux else e for e in ev])
    assert "**opposite**" in other[4] and other[:4] == points[:4]
    # ... and without any archive the point says there is no evidence
    monkeypatch.setenv("ECG_RESULTS_DIR", str(tmp_path))
    bare = googlenet_page.summary_points(summary.evidence("googlenet"))
    assert "**within noise**" not in bare[4] and bare[4] != points[4]
    assert googlenet_page.data_note() == "**Data.** No archived run yet: the trained claim has no evidence."


def test_data_note_names_the_archived_data() -> None:
    note = googlenet_page.data_note()
    assert note.startswith("**Data.** The archived runs' CIFAR-10: ") and "lossy JPEG copy" in note


def test_page_plots() -> None:
    plt = pytest.importorskip("matplotlib.pyplot")
    fig, (a, b) = plt.subplots(1, 2)
    googlenet_page.draw_inception("3a", ax=a)
    assert "Inception (3a)" in a.get_title()
    googlenet_page.plot_reduction_sweep(E.branch_savings("3a"), b, widths=[16, 96])
    assert "the input has 192" in b.get_xlabel()
    plt.close(fig)


# --------------------------------------------------------------------------------------------------------
# Library fixes the chapter depends on


def test_googlenet_init_keeps_the_signal() -> None:
    # He et al. (2015) in fan-in mode: the output of every module has about the same spread at init.
    torch.manual_seed(0)
    model = G.googlenet_cifar(width=0.25).eval()
    rms = {}
    for name, module in model.inception.items():
        module.register_forward_hook(lambda m, i, o, n=name: rms.__setitem__(n, float(o.std())))
    with torch.no_grad():
        logits = model(torch.randn(8, 3, 32, 32))
    assert 0.5 < rms["5b"] / rms["3a"] < 2.0  # fan-out init: about 200
    assert float(logits.std()) < 3.0


def test_init_signal_growth() -> None:
    fan_in, fan_out = E.init_signal_growth("fan_in"), E.init_signal_growth("fan_out")
    assert list(fan_in) == [r.name for r in G.TABLE1] and fan_in["3a"] == fan_out["3a"] == 1.0
    assert max(fan_in.values()) < 2 and fan_out["5b"] > 100
    with pytest.raises(ValueError, match="fan_in"):
        E.init_signal_growth("uniform")


class _TwoHeads(nn.Module):
    """Returns (main, aux) logits in training mode, like GoogLeNet with aux_logits=True."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 8), nn.ReLU())
        self.main, self.aux = nn.Linear(8, 10), nn.Linear(8, 10)

    def forward(self, x: torch.Tensor):
        h = self.body(x)
        return (self.main(h), self.aux(h)) if self.training else self.main(h)


def _tiny_data() -> CIFAR10Data:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (40, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.arange(40) % 10
    return CIFAR10Data(x, y, x[:20], y[:20], source="random")


@pytest.mark.parametrize("weight", [0.0, 0.3])
def test_fit_adds_weighted_auxiliary_losses(weight: float) -> None:
    torch.manual_seed(0)
    model = _TwoHeads()
    before = model.aux.weight.detach().clone()
    cfg = TrainConfig(epochs=1, batch_size=20, lr=0.1, weight_decay=0.0, aux_weight=weight, quiet=True,
                      device="cpu", precision="fp32", augment=False)  # fmt: skip
    history = fit(model, _tiny_data(), cfg)
    moved = float((model.aux.weight.detach() - before).abs().max())
    assert (moved > 0) == (weight > 0)  # the auxiliary head learns only from its weighted loss
    assert history.epochs_done == 1 and history.test_error[-1] is not None


def test_fit_asks_for_aux_weight() -> None:
    cfg = TrainConfig(epochs=1, batch_size=20, quiet=True, device="cpu", precision="fp32")
    with pytest.raises(ValueError, match="aux_weight"):
        fit(_TwoHeads(), _tiny_data(), cfg)
    with pytest.raises(ValueError, match="aux_weight must be"):
        TrainConfig(aux_weight=-1.0)


# --------------------------------------------------------------------------------------------------------
# The built chapter (one shared book build; see tests/book_fixtures.py)




@pytest.mark.book
def test_the_built_chapter_prints_the_library_numbers(executed_notebook) -> None:
    text = printed_text(executed_notebook("googlenet"))  # every page of the chapter, in reading order
    assert "Without the reductions, (3a) needs 2.4 times the multiply-adds." in text
    assert "| with reductions (Fig. 2b) | 163,328 | 163,696 | 128,049,152 | 256 |" in text
    assert "| 5x5 | 15,872 | 153,600 | 12,443,648 | 120,422,400 | 9.7× |" in text
    assert "| 3x3 | 129,024 | 221,184 | 101,154,816 | 173,408,256 | 1.7× |" in text
    assert "| 4c | 497.5 | 463 | 99.9 | 100 | +7.6% |" in text
    assert "| 3a | 128.0 | 308 | 2.4× |" in text
    assert "2,712 weights = 2.7K, 34.0M multiply-adds" in text
    assert "= 8.7x fewer parameters" in text and "5,080,435 parameters" in text
    assert "| weight layers on the longest path | 22 (27 with pooling) | 22 (27 with pooling) |" in text
    assert "| inception (5b) | 1024 × 7 × 7 | 1,444,080 |" in text
    assert "1. The 1×1 reductions make inception (3a) 2.4 times cheaper" in text
    assert "| claim | paper | verdict |" in text and "lossy JPEG copy" in text
    assert "Chapter run time:" in text


def test_table1_agreement_is_counted_not_typed() -> None:
    import dataclasses

    from ecg_lib.chapters import googlenet as page
    from ecg_lib.experiments import googlenet as G

    assert page.rounding_agrees(159, 159.5) and page.rounding_agrees(360, 359.66)  # truncated, rounded
    assert page.rounding_agrees(2.7, 2.74) and not page.rounding_agrees(364, 366.75)
    lines = G.table1_comparison()
    text = page.table1_agreement_text(lines)
    assert "3 of the 12 params entries agree with the channel numbers: conv2, 3a and linear." in text
    assert "10 of the 12 ops entries agree" in text and "4a 364K against 366.8K (-0.7%)" in text
    assert "The largest gap is conv1's, -70.6%." in text
    # other numbers, another sentence: a corrected (4a) entry joins the agreeing rows
    fixed = [dataclasses.replace(x, paper_params_k=366) if x.name == "4a" else x for x in lines]
    assert "4 of the 12 params entries agree with the channel numbers: conv2, 3a, 4a and linear." in (
        page.table1_agreement_text(fixed))
    # no degenerate lists: every entry agreeing, or none
    exact = [dataclasses.replace(x, paper_params_k=round(x.ours.params_k, 1)) for x in lines]
    assert "All 12 params entries agree with the channel numbers." in page.table1_agreement_text(exact)
    assert "The other params entries" not in page.table1_agreement_text(exact)
    wrong = [dataclasses.replace(x, paper_params_k=2 * x.ours.params_k + 7) for x in lines]
    assert "None of the 12 params entries agrees" in page.table1_agreement_text(wrong)
