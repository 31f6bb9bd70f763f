"""The teaching sections' measurements (issue 15): the reference implementations' pitfalls, the ResNet
chapter's batch-norm, shortcut-option, identity-gradient and branch-linearity cells, and the exercises'
checks. Numbers are pinned by hand counts where a hand count exists."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from ecg_lib import papers
from ecg_lib.chapters import exercises as X
from ecg_lib.experiments import alexnet as EA
from ecg_lib.experiments import googlenet as EG
from ecg_lib.experiments import nin as EN
from ecg_lib.experiments import resnet as E
from ecg_lib.experiments import vgg as EV
from ecg_lib.models import resnet as R

# ---------------------------------------------------------------------------------------------
# Pitfalls of the reference implementations


def test_torchvision_alexnet_is_the_one_tower_variant() -> None:
    m = EA.torchvision_alexnet()
    assert m["tv_params"] == 61_100_840 and m["paper_params"] == 60_965_224
    assert m["single_tower_params"] == 62_378_344
    assert m["tv_widths"] == [64, 192, 384, 256, 256] and m["paper_widths"] == [96, 256, 384, 384, 256]
    assert m["tv_groups"] == [1] * 5 and m["paper_groups"] == [1, 2, 1, 2, 2]
    assert (m["tv_lrn"], m["paper_lrn"]) == (0, 2)
    assert (m["tv_conv1_padding"], m["paper_conv1_padding"]) == (2, 0)


def test_torchvision_googlenet_has_a_3x3_where_the_paper_has_5x5() -> None:
    m = EG.torchvision_googlenet()
    assert (m["tv_5x5_kernel"], m["paper_5x5_kernel"]) == (3, 5)
    assert m["tv_default_has_aux"] and m["tv_params_aux"] == 13_004_888 and m["tv_params"] == 6_624_904
    assert m["paper_params"] == 6_998_552 and m["paper_params_aux"] > m["paper_params"]
    # counted with torchvision 0.29: 59 as googlenet(weights=None) builds it (with the heads), 57 without
    assert m["tv_batchnorm_aux"] == 59 and m["tv_batchnorm"] == 57 and m["paper_batchnorm"] == 0


def test_torchvision_resnet50_is_v1_5() -> None:
    m = E.torchvision_resnet50()
    assert m["tv_strides"] == [1, 2, 1] and m["paper_strides"] == [2, 1, 1]
    assert m["tv_params"] == m["paper_params"] == 25_557_032
    assert m["tv_macs"] == 4_089_184_256 and m["paper_macs"] == 3_857_973_248


def test_torchvision_vgg_copies_a_small_map_into_the_head() -> None:
    m = EV.torchvision_vgg_head(32)
    assert m["conv_map"] == [512, 1, 1] and m["pooled"] == [512, 7, 7]
    assert m["distinct_positions"] == 1  # the 49 positions FC6 reads are one value copied
    assert m["fc6_inputs"] == 512 * 7 * 7 and m["tv_params"] == m["paper_params"] == 132_863_336
    assert m["ours_refuses"].startswith("VGG-A expects") and not m["tv_lrn_variant"]
    assert EV.torchvision_vgg_head(224)["distinct_positions"] == 49


def test_nin_pooling_rounding() -> None:
    m = EN.pooling_rounding(32)
    assert m["caffe_sides"] == [32, 16, 8] and m["floor_sides"] == [32, 15, 7]
    assert (m["caffe_map"], m["floor_map"], m["caffe_cells"], m["floor_cells"]) == (8, 7, 64, 49)


# ---------------------------------------------------------------------------------------------
# ResNet: shortcut options (Table 3)


def test_shortcut_options_counted_at_34_layers() -> None:
    a, b, c = E.shortcut_options(34)
    assert (a.params, b.params, c.params) == (21_623_848, 21_797_672, 22_716_840)
    # B - A: three 1x1 projections with BN, 64->128, 128->256, 256->512
    assert b.params - a.params == sum(i * o + 2 * o for i, o in ((64, 128), (128, 256), (256, 512)))
    # C - B: thirteen more, on the shape-keeping blocks (3, 3, 5, 2 per stage)
    assert c.params - b.params == sum(n * (w * w + 2 * w) for n, w in ((3, 64), (3, 128), (5, 256), (2, 512)))
    assert (a.zero_pad, a.projections, b.projections, c.projections) == (3, 0, 3, 16)
    assert c.projections - b.projections == papers.RESNET_TABLE3_EXTRA_PROJECTIONS == 13
    assert (a.paper_top1, b.paper_top1, c.paper_top1) == (0.2503, 0.2452, 0.2419)


def test_option_c_projects_every_shortcut() -> None:
    model = R.resnet_cifar(20, shortcut="C")
    assert all(isinstance(b.shortcut, nn.Sequential) for b in model.blocks)
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="'A', 'B', 'C' or None"):
        R.BasicBlock(16, 32, 2, shortcut="D")  # type: ignore[arg-type]


def test_shortcut_run_trains_option_b_from_option_a_weights(cifar10) -> None:
    tiny = dataclasses.replace(
        E.SETTINGS["quick"], nets=("resnet20",), n_train_per_class=4, n_test_per_class=2, grad_batch=8,
        train=E.SETTINGS["quick"].train.replace(epochs=1, batch_size=20),
    )  # fmt: skip
    run = E.DepthRun(cifar10, profile="quick", settings=tiny)
    with pytest.raises(ValueError, match="train resnet20 first"):
        E.shortcut_run(run)
    run.train("resnet20")
    r = E.shortcut_run(run)
    assert r.n_test == 20 and r.params_b - r.params_a == 16 * 32 + 64 + 32 * 64 + 128
    assert r.error_a == run.result.histories["resnet20"].final_test_error
    assert 0 <= r.error_b <= 1 and r.standard_error > 0


# ---------------------------------------------------------------------------------------------
# ResNet: batch normalisation, the identity term, one-layer branches


@pytest.fixture(scope="module")
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return torch.randn(32, 3, 32, 32, generator=gen), torch.randint(0, 10, (32,), generator=gen)


def test_without_batchnorm_keeps_the_weights() -> None:
    model = E.initial_model("plain20")
    bare = E.without_batchnorm(model)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in bare.modules())
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())  # the original is untouched
    assert torch.equal(bare.stem[0].weight, model.stem[0].weight)


def test_batchnorm_probe_shows_the_signal_vanish_without_bn(batch) -> None:
    bn, no_bn, default = E.batchnorm_probe(*batch, depth=20)
    assert len(bn.block_std) == len(bn.grads) // 2 == 9  # 9 blocks, 19 convolutions
    assert min(bn.block_std) > 0.3 and max(bn.block_std) < 1.5  # BN keeps every block's output in scale
    assert default.block_std[-1] < 1e-2 * default.block_std[0]  # default init, no BN: it vanishes
    assert no_bn.block_std[-1] < no_bn.block_std[0]


def test_identity_gradient_is_exact_when_the_branches_are_zero(batch) -> None:
    model = E.initial_model("resnet20")
    for block in model.blocks:
        nn.init.zeros_(block.residual_branch[-1].weight)  # F(x) = 0: Eq. 5 leaves only the identity term
    rows = E.identity_gradient(model, *batch, compose="identity")
    assert [r.block for r in rows] == ["stage3.2", "stage3.3"]
    for r in rows:
        assert r.ratio == pytest.approx(1, abs=1e-6) and r.cosine == pytest.approx(1, abs=1e-4)
        assert r.rest < 1e-6
    with pytest.raises(ValueError, match="compose must be"):
        E.identity_gradient(model, *batch, compose="pre-activation")


def test_identity_gradient_plain_versus_residual(batch) -> None:
    plain = E.identity_gradient(E.initial_model("plain20"), *batch)
    res = E.identity_gradient(E.initial_model("resnet20"), *batch, compose="identity")
    assert all(abs(r.cosine) < 0.2 for r in plain)  # no term carries the top gradient down unchanged
    assert all(r.cosine > 0.3 for r in res)


def test_a_one_layer_branch_is_affine_and_a_plain_layer() -> None:
    one, two = E.branch_linearity(samples=1024)
    assert one.layers == 1 and one.branch_unexplained < 1e-20 and one.sum_unexplained < 1e-20
    assert one.plain_difference is not None and one.plain_difference < 1e-12
    assert two.branch_unexplained > 0.05 and two.plain_difference is None


# ---------------------------------------------------------------------------------------------
# Exercises


EXPECTED = {
    "alexnet.conv2_params": 2 * (128 * 48 * 25) + 256,
    "alexnet.grouping_saving": 62_378_344 - 60_965_224,
    "alexnet.min_input": 227,
    "vgg.three_3x3_weights": 3 * 9 * 256 * 256,
    "vgg.receptive_field_4": 9,
    "vgg.c_minus_b": (256 * 256 + 256) + 2 * (512 * 512 + 512),
    "nin.mlpconv1_params": (3 * 25 * 192 + 192) + (192 * 160 + 160) + (160 * 96 + 96),
    "nin.fc_head_params": 10 * 8 * 8 * 10 + 10,
    "nin.cccp1_macs": 192 * 160 * 32 * 32,
    "nin.floor_side": 7,
    "googlenet.4e_out": 256 + 320 + 128 + 128,
    "resnet.option_c_extra": 919_168,
    "resnet.blocks_110": 54,
    "resnet.bottleneck_params": 256 * 64 + 9 * 64 * 64 + 64 * 256 + 2 * (64 + 64 + 256),
}


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_exercise_answers(key: str) -> None:
    truth = EXPECTED[key]
    assert X.check(key, truth).correct
    wrong = X.check(key, truth + 1)
    assert wrong.answered and not wrong.correct and "too high" in wrong.message
    assert "too low" in X.check(key, truth - 1).message
    assert str(truth) not in wrong._repr_markdown_()  # the check never gives the answer away


def test_float_exercises_and_bad_answers() -> None:
    # LRN: k + n alpha a^2 = 2^(1/beta) k  ->  a = sqrt(k (2^(4/3) - 1) / (n alpha))
    a = (2 * (2 ** (4 / 3) - 1) / 5e-4) ** 0.5
    assert X.check("alexnet.lrn_half_gain", a).correct and not X.check("alexnet.lrn_half_gain", a + 2).correct
    assert X.check("vgg.fc6_share", 102_764_544 / 138_357_544).correct
    not_yet = X.check("vgg.fc6_share", None)
    assert not not_yet.answered and "a fraction between 0 and 1" in not_yet.message
    assert not X.check("vgg.c_minus_b", "591104").correct  # a string is not a number
    with pytest.raises(KeyError, match=r"known: vgg\.three_3x3_weights"):
        X.check("vgg.nope", 1)


def test_resnet_depth_over_a_million() -> None:
    from ecg_lib.counting import count_params

    assert X.check("resnet.depth_over_1m", 68).correct
    assert count_params(R.resnet_cifar(62)) <= 1_000_000 < count_params(R.resnet_cifar(68))


def test_the_3a_reductions_exercise() -> None:
    assert X.check("googlenet.3a_reductions", (64, 13)).correct  # 29.8% of the naive weights
    paper = X.check("googlenet.3a_reductions", (96, 16))
    assert not paper.correct and "41.5%" in paper.message and "fewer" in paper.message
    assert "more" in X.check("googlenet.3a_reductions", (16, 4)).message
    assert "positive integer" in X.check("googlenet.3a_reductions", (0, 4)).message
    assert "two integers" in X.check("googlenet.3a_reductions", 64).message
    assert EG.reduced_weight_share(96, 16) == pytest.approx(1 / 2.4076, rel=1e-3)


def test_every_chapter_has_three_to_five_exercises() -> None:
    for chapter in ("alexnet", "vgg", "nin", "googlenet", "resnet"):
        assert 3 <= len(X.exercise_keys(chapter)) <= 5


# ---------------------------------------------------------------------------------------------
# The pages' boxes and sentences are written from the measurements


def test_pitfall_boxes_state_the_measured_numbers() -> None:
    from ecg_lib.chapters import pitfalls

    box = pitfalls.alexnet_box(EA.torchvision_alexnet())
    assert box.startswith("~~~{admonition}") and ":class: warning" in box and box.endswith("~~~")
    assert "61,100,840" in box and "64-192-384-256-256" in box
    g = pitfalls.googlenet_box(EG.torchvision_googlenet())
    assert "**3×3**" in g and "13.0 M" in g and "with the two auxiliary" in g
    assert "Built that way it has 59 batch-normalisation layers (57 without the auxiliary classifiers)" in g
    assert "**3×3** convolution" in pitfalls.resnet_box(E.torchvision_resnet50())
    v = pitfalls.vgg_box(EV.torchvision_vgg_head(32))
    assert "one value copied 49 times" in v and "512×1×1" in v
    n = pitfalls.nin_box(EN.pooling_rounding(32))
    assert "32 → 16 → 8" in n and "32 → 15 → 7" in n and "no `nin*`" in n


def test_resnet_teaching_sentences() -> None:
    from ecg_lib.chapters import resnet as page

    options = E.shortcut_options()
    text = page.shortcut_options_text(options)
    assert "173,824" in text and "919,168" in text and "0.51 points" in text and "3.51 points" in text
    assert "+1,092,992" in page.shortcut_options_table(options)
    run = E.ShortcutRun("resnet20", 500, 0.50, 0.48, 272_474, 278_000, 12.3)
    assert "within the noise" in page.shortcut_run_text(run)
    far = dataclasses.replace(run, error_b=0.30)
    assert "larger than two standard errors" in page.shortcut_run_text(far)
    one, two = E.branch_linearity(samples=512)
    lin = page.linearity_text([one, two])
    assert "0% (rounding)" in lin and "W + I" in lin
