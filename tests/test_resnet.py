"""ResNets of He et al. (2016): counts from the paper's tables, torchvision parity, shortcuts, lesions."""

from __future__ import annotations

import functools
import math

import pytest
import torch
import torchvision
from torch import nn

from ecg_lib.counting import count_macs, count_params
from ecg_lib.models import get_model, list_models, model_spec
from ecg_lib.models import resnet as R

pytestmark = pytest.mark.usefixtures("one_thread")


def macs_meta(build, size: tuple[int, int, int]) -> int:
    """MACs of one image of a model built on the meta device (shapes only, no arithmetic: fast)."""
    with torch.device("meta"):
        model = build()
    return count_macs(model, size)


# ---------------------------------------------------------------------------------------------
# ImageNet nets (Table 1)


@functools.cache
def imagenet_macs(depth: int, stride_on: str = "1x1") -> int:
    return macs_meta(lambda: R.resnet_imagenet(depth, stride_on=stride_on), (3, 224, 224))


def table1_counts(depth: int, stride_on: str = "1x1") -> tuple[int, int]:
    """Parameters and MACs of a Table 1 net at 224x224, from the table alone.

    Convolutions have no bias and are each followed by BN (2 parameters per channel, no MACs counted);
    projection shortcuts (1x1 conv + BN) only where the shape changes; FC 1000 with bias.
    """
    kind, sizes = R.IMAGENET_CONFIGS[depth]
    params = macs = 0

    def conv(c_in: int, c_out: int, k: int, side_out: int) -> None:
        nonlocal params, macs
        params += k * k * c_in * c_out + 2 * c_out
        macs += k * k * c_in * c_out * side_out * side_out

    conv(3, 64, 7, 112)  # conv1, then 3x3/2 max pool -> 56
    ch, side = 64, 56
    for stage, (n, width) in enumerate(zip(sizes, (64, 128, 256, 512), strict=True)):
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            out_side = side // stride
            if kind == "basic":
                out = width
                conv(ch, width, 3, out_side)
                conv(width, width, 3, out_side)
            else:
                out = 4 * width
                # v1: the first 1x1 is strided, so it runs at the output size; V1.5: at the input size.
                conv(ch, width, 1, out_side if stride_on == "1x1" else side)
                conv(width, width, 3, out_side)
                conv(width, out, 1, out_side)
            if stride != 1 or ch != out:
                conv(ch, out, 1, out_side)  # projection shortcut (option B)
            ch, side = out, out_side
    params += ch * 1000 + 1000
    macs += ch * 1000
    return params, macs


# torchvision's documented parameter counts; the stride position does not change them.
TORCHVISION_PARAMS = {18: 11_689_512, 34: 21_797_672, 50: 25_557_032, 101: 44_549_160, 152: 60_192_808}
# Table 1, last row: FLOPs (multiply-adds) of each net.
PAPER_GMACS = {18: 1.8, 34: 3.6, 50: 3.8, 101: 7.6, 152: 11.3}
# Our exact counts: 18/34 equal torchvision's 1.81/3.66 G; 50/101/152 lie below torchvision's V1.5.
EXACT_MACS = {
    18: 1_814_073_344,
    34: 3_663_761_408,
    50: 3_857_973_248,
    101: 7_570_194_432,
    152: 11_282_415_616,
}


@pytest.mark.parametrize("depth", sorted(R.IMAGENET_CONFIGS))
def test_imagenet_params_equal_table1_and_torchvision(depth: int) -> None:
    with torch.device("meta"):
        ours = R.resnet_imagenet(depth)
        theirs = getattr(torchvision.models, f"resnet{depth}")()
    assert count_params(ours) == table1_counts(depth)[0] == TORCHVISION_PARAMS[depth] == count_params(theirs)
    # Same tensors, same order: the architectures differ at most in where a stride sits.
    assert [p.shape for p in ours.parameters()] == [p.shape for p in theirs.parameters()]


@pytest.mark.parametrize("depth", sorted(R.IMAGENET_CONFIGS))
def test_imagenet_macs_match_table1(depth: int) -> None:
    macs = imagenet_macs(depth)
    assert macs == table1_counts(depth)[1] == EXACT_MACS[depth]
    # The paper prints two significant figures, and rounds 3.66 (34-layer) down to 3.6: within 2%.
    assert macs / 1e9 == pytest.approx(PAPER_GMACS[depth], rel=0.02)


@pytest.mark.parametrize("depth", [50, 101, 152])
def test_v1_versus_torchvision_v15_differs_only_by_the_stride_position(depth: int) -> None:
    v1 = imagenet_macs(depth)
    tv = macs_meta(lambda: getattr(torchvision.models, f"resnet{depth}")(), (3, 224, 224))
    assert tv == table1_counts(depth, stride_on="3x3")[1]
    if depth == 50:  # our stride_on="3x3" option builds exactly torchvision's V1.5 (once is enough)
        assert imagenet_macs(depth, "3x3") == tv
    # Moving the stride from the 3x3 to the first 1x1 of conv3_1, conv4_1, conv5_1 runs that 1x1 on
    # a quarter of the positions: it saves 3/4 of c_in * width * side^2 in each of the three blocks.
    saved = sum(
        3 * c_in * w * side * side // 4 for c_in, w, side in ((256, 128, 56), (512, 256, 28), (1024, 512, 14))
    )
    assert saved == 231_211_008
    assert tv - v1 == saved
    assert {50: 4.09, 101: 7.80, 152: 11.51}[depth] == round(tv / 1e9, 2)


def test_option_a_on_imagenet_drops_only_the_projections() -> None:
    # ResNet-34 of Table 2 uses option A; its three projections (option B) hold 1x1 conv + BN weights.
    projections = sum(c_in * c_out + 2 * c_out for c_in, c_out in ((64, 128), (128, 256), (256, 512)))
    with torch.device("meta"):
        model = R.resnet34(shortcut="A")
    assert count_params(model) == TORCHVISION_PARAMS[34] - projections == 21_623_848
    assert sum(isinstance(b.shortcut, R.ZeroPadShortcut) for b in model.blocks) == 3


def test_v1_bottleneck_strides_its_first_1x1() -> None:
    with torch.device("meta"):
        block = R.resnet50().blocks[3]  # conv3_1
    assert block.name == "conv3_1" and block.downsamples
    convs = [m for m in block.residual_branch if isinstance(m, nn.Conv2d)]
    assert [(c.kernel_size[0], c.stride[0]) for c in convs] == [(1, 2), (3, 1), (1, 1)]
    assert isinstance(block.shortcut, nn.Sequential)  # projection: 1x1 conv stride 2 + BN
    assert block.shortcut[0].stride == (2, 2) and isinstance(block.shortcut[1], nn.BatchNorm2d)


def test_imagenet_block_names_and_feature_sizes() -> None:
    with torch.device("meta"):
        model = R.resnet34().eval()
        x = torch.zeros(2, 3, 224, 224)
    sides = {}
    for block in model.blocks:
        block.register_forward_hook(lambda m, i, o: sides.__setitem__(m.name, tuple(o.shape[1:])))
    assert model(x).shape == (2, 1000)
    # Table 1's output sizes: 56, 28, 14, 7 for conv2_x..conv5_x.
    assert sides["conv2_3"] == (64, 56, 56) and sides["conv3_1"] == (128, 28, 28)
    assert sides["conv4_6"] == (256, 14, 14) and sides["conv5_3"] == (512, 7, 7)
    assert len(model.blocks) == 3 + 4 + 6 + 3


# ---------------------------------------------------------------------------------------------
# CIFAR-10 nets (Sec. 4.2, Table 6)


def cifar_params_by_hand(depth: int) -> int:
    """6n+2 layers: conv 3x3 16 + BN, 3 stages of n blocks (two 3x3 convs + BN each), FC 10."""
    n = (depth - 2) // 6
    total = 3 * 9 * 16 + 2 * 16  # conv1 432 + BN 32
    ch = 16
    for width in (16, 32, 64):
        first = 9 * ch * width + 2 * width + 9 * width * width + 2 * width  # may widen: 16 -> 32 -> 64
        others = 2 * (9 * width * width + 2 * width)
        total += first + (n - 1) * others  # option A shortcuts have no parameters
        ch = width
    return total + 64 * 10 + 10


# Table 6 "# params"; the paper rounds to two or three significant figures.
TABLE6 = {20: 0.27, 32: 0.46, 44: 0.66, 56: 0.85, 110: 1.7, 1202: 19.4}
EXACT = {20: 269_722, 32: 464_154, 44: 658_586, 56: 853_018, 110: 1_727_962, 1202: 19_421_274}


@pytest.mark.parametrize("depth", R.CIFAR_DEPTHS[:-1])
def test_cifar_params_equal_hand_count_and_table6(depth: int) -> None:
    count = count_params(R.resnet_cifar(depth))
    check_against_table6(depth, count)


def check_against_table6(depth: int, count: int) -> None:
    assert count == cifar_params_by_hand(depth) == EXACT[depth]
    digits = 1 if depth >= 110 else 2
    assert round(count / 1e6, digits) == TABLE6[depth]


def test_resnet20_hand_count_breakdown() -> None:
    # conv1 432 + BN 32; stage 1: 3 x 2 x (2304 + 32); stage 2: (4608+64) + (9216+64) + 2 x 2 x (9216+64);
    # stage 3: (18432+128) + (36864+128) + 2 x 2 x (36864+128); FC 650.
    assert 464 + 14_016 + 51_072 + 203_520 + 650 == 269_722 == count_params(R.resnet20())


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_plain_nets_have_the_same_layers_and_parameters(depth: int) -> None:
    res, plain = R.resnet_cifar(depth), R.resnet_cifar(depth, residual=False)
    assert count_params(plain) == count_params(res)
    assert all(b.shortcut is None for b in plain.blocks)
    assert all(b.shortcut is not None for b in res.blocks)
    assert [p.shape for p in plain.parameters()] == [p.shape for p in res.parameters()]


def test_plain_and_residual_differ_only_by_the_shortcuts() -> None:
    torch.manual_seed(0)
    res, plain = R.resnet20().eval(), R.plain20().eval()
    plain.load_state_dict(res.state_dict())  # strict: identical parameter and buffer names
    x = torch.randn(2, 3, 32, 32)
    assert not torch.allclose(res(x), plain(x))
    # With every residual branch zeroed, the residual net is its shortcuts: stem -> pool -> FC.
    for block in res.blocks:
        nn.init.zeros_(block.residual_branch[-1].weight)  # last BN gamma = 0 -> F(x) = 0
    feats = res.stem(x)
    padded = torch.nn.functional.pad(feats[:, :, ::4, ::4], (0, 0, 0, 0, 0, 48))  # two option A steps
    assert torch.allclose(res(x), res.fc(padded.mean((2, 3))), atol=1e-5)


def test_option_a_shortcut_subsamples_and_zero_pads() -> None:
    shortcut = R.ZeroPadShortcut(16, 32, 2)
    x = torch.arange(2 * 16 * 4 * 4, dtype=torch.float32).reshape(2, 16, 4, 4)
    y = shortcut(x)
    assert y.shape == (2, 32, 2, 2)
    assert torch.equal(y[:, :16], x[:, :, ::2, ::2]) and not y[:, 16:].any()
    with pytest.raises(ValueError, match="only add channels"):
        R.ZeroPadShortcut(32, 16, 2)


def test_cifar_shapes_and_block_layout() -> None:
    model = R.resnet56()
    assert len(model.blocks) == 27 and model.blocks[9].name == "stage2.1"
    assert [i for i, b in enumerate(model.blocks) if b.downsamples] == [9, 18]
    # 2 layers per block + first conv + FC = 6n + 2.
    n_conv = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    n_fc = sum(isinstance(m, nn.Linear) for m in model.modules())
    assert n_conv + n_fc == 56
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_resnet1202_params_and_forward() -> None:
    model = R.resnet1202().eval()
    assert len(model.blocks) == 600
    check_against_table6(1202, count_params(model))
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_cifar_macs() -> None:
    # Not in the paper; pinned so that a change to the layers shows. conv1 + 3 stages + FC at 32/16/8.
    def by_hand(n: int) -> int:
        total = 3 * 16 * 9 * 32 * 32
        for width, side, c_in in ((16, 32, 16), (32, 16, 16), (64, 8, 32)):
            total += (9 * c_in * width + (2 * n - 1) * 9 * width * width) * side * side
        return total + 64 * 10

    assert macs_meta(R.resnet20, (3, 32, 32)) == by_hand(3) == 40_551_040
    assert macs_meta(R.resnet110, (3, 32, 32)) == by_hand(18) == 252_887_680


def test_he_initialization() -> None:
    torch.manual_seed(0)
    model = R.resnet20()
    conv = model.blocks[8].residual_branch[0]  # 64 x 64 x 3 x 3: 36,864 weights
    fan_out = conv.out_channels * 9
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_out), rel=0.03)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(bool((b.weight == 1).all() and (b.bias == 0).all()) for b in bns)


@pytest.mark.parametrize("depth", [7, 21, 0])
def test_bad_depths_are_refused(depth: int) -> None:
    with pytest.raises(ValueError, match="6n\\+2"):
        R.resnet_cifar(depth)
    with pytest.raises(ValueError, match="18, 34, 50, 101, 152"):
        R.resnet_imagenet(depth)


def test_input_checks() -> None:
    model = R.resnet20()
    with pytest.raises(ValueError, match="N x 3 x H x W"):
        model(torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match="1 channels"):
        model(torch.zeros(2, 1, 32, 32))
    assert model(torch.zeros(2, 3, 1, 1)).shape == (2, 10)  # every stride pads: any side >= 1 runs


# ---------------------------------------------------------------------------------------------
# drop_block (lesion study of Veit et al., 2016)


def _forward_skipping(model: R.ResNet, x: torch.Tensor, skip: int) -> torch.Tensor:
    x = model.stem(x)
    for i, block in enumerate(model.blocks):
        if i != skip:
            x = block(x)
    return model.fc(model.pool(x).flatten(1))


def test_drop_identity_block_skips_it() -> None:
    torch.manual_seed(0)
    model = R.resnet20().eval()
    x = torch.randn(4, 3, 32, 32)
    before = model(x)
    lesioned = R.drop_block(model, 4).eval()
    assert isinstance(lesioned.blocks[4], R.Bypass) and lesioned.blocks[4].original.name == "stage2.2"
    assert (lesioned.blocks[4].name, lesioned.blocks[4].stage) == ("stage2.2", 2)
    assert torch.allclose(lesioned(x), _forward_skipping(model, x, 4), atol=1e-6)
    assert not torch.allclose(lesioned(x), before)
    assert torch.equal(model(x), before)  # the original is untouched
    assert count_params(lesioned) == count_params(model) - count_params(model.blocks[4])


def test_drop_downsampling_residual_block_keeps_its_shortcut() -> None:
    torch.manual_seed(0)
    model = R.resnet20().eval()
    lesioned = R.drop_block(model, 3).eval()  # stage2.1: 16 -> 32 channels, stride 2
    assert isinstance(lesioned.blocks[3].shortcut, R.ZeroPadShortcut)
    assert count_params(lesioned) == 269_722 - 13_952
    x = torch.randn(2, 3, 32, 32)
    assert lesioned(x).shape == (2, 10)
    # A projection shortcut (ImageNet nets) survives with its parameters.
    with torch.device("meta"):
        r50 = R.resnet50()
    kept = R.drop_block(r50, 3)
    assert count_params(kept) == count_params(r50) - count_params(r50.blocks[3].residual_branch)


def test_drop_block_on_plain_nets() -> None:
    torch.manual_seed(0)
    plain = R.plain20().eval()
    x = torch.randn(2, 3, 32, 32)
    lesioned = R.drop_block(plain, [1, 7]).eval()  # two shape-keeping blocks become identities
    feats = torch.rand(2, 16, 32, 32)  # block inputs follow a ReLU, so they are non-negative
    assert torch.equal(lesioned.blocks[1](feats), feats)
    assert torch.allclose(lesioned(x), _forward_skipping(R.drop_block(plain, 7), x, 1), atol=1e-6)
    with pytest.raises(ValueError, match="allow_downsampling=True"):
        R.drop_block(plain, 3)
    forced = R.drop_block(plain, 3, allow_downsampling=True)
    assert isinstance(forced.blocks[3].shortcut, R.ZeroPadShortcut) and forced(x).shape == (2, 10)


def test_drop_block_errors() -> None:
    model = R.resnet20()
    with pytest.raises(IndexError, match="9 blocks"):
        R.drop_block(model, 9)
    with pytest.raises(ValueError, match="already bypassed"):
        R.drop_block(R.drop_block(model, 0), 0)
    with pytest.raises(TypeError):
        R.drop_block(nn.Linear(2, 2), 0)
    assert isinstance(R.drop_block(model, -1).blocks[8], R.Bypass)


# ---------------------------------------------------------------------------------------------
# Registry


def test_registry_entries() -> None:
    names = list_models("resnet")
    assert names == [
        *(f"resnet{d}" for d in (18, 34, 50, 101, 152)),
        *(f"resnet{d}" for d in R.CIFAR_DEPTHS),
        *(f"plain{d}" for d in (20, 32, 44, 56, 110)),
    ]
    assert model_spec("resnet50").input_size == (3, 224, 224) and model_spec("plain56").num_classes == 10
    assert model_spec("resnet110").paper == "he2016deep"
    model = get_model("plain32", num_classes=100)
    assert model.fc.out_features == 100 and all(b.shortcut is None for b in model.blocks)
    assert get_model("resnet18", stride_on="3x3").fc.out_features == 1000
