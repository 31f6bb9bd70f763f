"""VGG (Simonyan & Zisserman, 2015): Table 1 columns, Table 2 parameter counts, MACs, options."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from ecg_lib.counting import count_macs, count_params, receptive_field
from ecg_lib.models import get_model
from ecg_lib.models.vgg import CONFIGS
from ecg_lib.papers import VGG_TABLE2_PARAMS_MILLIONS

NAMES = {"A": "vgg_a", "A-LRN": "vgg_a_lrn", "B": "vgg_b", "C": "vgg_c", "D": "vgg_d", "E": "vgg_e"}
TORCHVISION = {"A": "vgg11", "B": "vgg13", "D": "vgg16", "E": "vgg19"}
# Exact counts of the Table 1 architectures, computed by _expected_params below from the table alone.
EXACT = {
    "A": 132_863_336, "A-LRN": 132_863_336, "B": 133_047_848,
    "C": 133_638_952, "D": 138_357_544, "E": 143_667_240,
}  # fmt: skip


def _meta(name: str, **kw) -> nn.Module:
    with torch.device("meta"):
        return get_model(name, **kw)


def _expected_params(
    config: str, width: float = 1.0, fc: int = 4096, side: int = 7, classes: int = 1000
) -> int:
    """Parameters from Table 1's notation alone: convK-C layers, then three FC layers."""
    total, c_in = 0, 3
    for layer in CONFIGS[config]:
        if layer.startswith("conv"):
            k, c = int(layer[4]), max(1, round(int(layer.split("-")[1]) * width))
            total += k * k * c_in * c + c
            c_in = c
    return total + (c_in * side * side * fc + fc) + (fc * fc + fc) + (fc * classes + classes)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_parameters_match_the_table(config: str) -> None:
    model = _meta(NAMES[config])
    assert count_params(model) == _expected_params(config) == EXACT[config]
    # Table 2 gives millions rounded to the nearest integer: 133, 133, 133, 134, 138, 144.
    assert round(EXACT[config] / 1e6) == VGG_TABLE2_PARAMS_MILLIONS[config]


@pytest.mark.parametrize("config", list(TORCHVISION))
@pytest.mark.parametrize("batch_norm", [False, True])
def test_parameters_equal_torchvision(config: str, batch_norm: bool) -> None:
    name = TORCHVISION[config] + ("_bn" if batch_norm else "")
    with torch.device("meta"):
        tv = getattr(torchvision.models, name)(weights=None)
    ours = _meta(NAMES[config], batch_norm=batch_norm)
    assert count_params(ours) == count_params(tv)
    if batch_norm:  # BN adds a scale and a shift per conv channel
        extra = 2 * sum(int(l.split("-")[1]) for l in CONFIGS[config] if l.startswith("conv"))
        assert count_params(ours) == EXACT[config] + extra


@pytest.mark.parametrize(
    ("config", "weight_layers"), [("A", 11), ("A-LRN", 11), ("B", 13), ("C", 16), ("D", 16), ("E", 19)]
)
def test_depth_is_the_tables_column_header(config: str, weight_layers: int) -> None:
    model = _meta(NAMES[config])
    layers = [m for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    assert len(layers) == weight_layers
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 5


def test_config_c_has_1x1_convolutions_and_a_lrn_has_one_lrn() -> None:
    c = _meta("vgg_c")
    kernels = [m.kernel_size[0] for m in c.modules() if isinstance(m, nn.Conv2d)]
    assert kernels == [3, 3, 3, 3, 3, 3, 1, 3, 3, 1, 3, 3, 1]
    lrn = [m for m in _meta("vgg_a_lrn").modules() if isinstance(m, nn.LocalResponseNorm)]
    assert len(lrn) == 1
    # Sec. 2.1: Krizhevsky et al.'s parameters; torch's alpha is the paper's alpha times n
    assert (lrn[0].size, lrn[0].alpha, lrn[0].beta, lrn[0].k) == (5, 5e-4, 0.75, 2.0)


def test_macs_match_the_resnet_papers_figures() -> None:
    # He et al. (2016), Sec. 4.1: "VGG-16/19 nets (15.3/19.6 billion FLOPs)", FLOPs meaning multiply-adds.
    # The architectures give 15.47 G and 19.63 G MACs (convolutions 15.35 G / 19.51 G, FC layers 0.12 G);
    # the ResNet paper's 15.3 for VGG-16 is 1.1% lower, and it does not say how it counted.
    d, e = count_macs(_meta("vgg_d"), (3, 224, 224)), count_macs(_meta("vgg_e"), (3, 224, 224))
    assert d == 15_470_264_320 and e == 19_632_062_464
    assert abs(d / 15.3e9 - 1) < 0.015
    assert abs(e / 19.6e9 - 1) < 0.005


@pytest.mark.parametrize("config", list(TORCHVISION))
def test_macs_equal_torchvision_metadata(config: str) -> None:
    # torchvision's "GFLOPS" metadata is MACs too: ours agree to its 3 decimals.
    weights = torchvision.models.get_model_weights(TORCHVISION[config]).IMAGENET1K_V1
    macs = count_macs(_meta(NAMES[config]), (3, 224, 224))
    assert round(macs / 1e9, 3) == pytest.approx(weights.meta["_ops"], abs=1e-3)


@pytest.mark.parametrize(("side", "ok"), [(223, False), (224, True), (255, True), (256, False)])
def test_input_side_range(side: int, ok: bool) -> None:
    model = _meta("vgg_d")
    x = torch.zeros(1, 3, side, side, device="meta")
    if ok:
        assert tuple(model(x).shape) == (1, 1000)
    else:
        with pytest.raises(ValueError, match="224 <= H, W <= 255"):
            model(x)


def test_receptive_field_of_stacked_3x3_convs() -> None:
    model = _meta("vgg_d")
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    # Sec. 2.3: two 3x3 layers see 5x5, three see 7x7.
    assert receptive_field(convs[:2]).size == 5
    assert receptive_field([nn.Conv2d(1, 1, 3, padding=1)] * 3).size == 7
    # VGG-16 pool5: 212-pixel windows, 32 pixels apart, the first centred on pixel 15.5 (the middle of
    # the first 32-pixel block; only the 2x2 pools shift the centre, the padded 3x3 convs do not).
    assert receptive_field(model.features) == (212, 32, 15.5)


def test_cifar_variant() -> None:
    model = get_model("vgg_cifar", config="D", width=0.25)
    assert count_params(model) == _expected_params("D", width=0.25, fc=128, side=1, classes=10) == 955_098
    widths = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert widths[::3] == [16, 32, 64, 128, 128]
    assert tuple(model(torch.randn(2, 3, 32, 32)).shape) == (2, 10)
    bn = get_model("vgg_cifar", config="E", width=0.5, batch_norm=True, num_classes=100)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in bn.modules()) == 16
    bn_params = 2 * sum(round(int(l.split("-")[1]) * 0.5) for l in CONFIGS["E"] if l.startswith("conv"))
    assert count_params(bn) == _expected_params("E", 0.5, 256, 1, 100) + bn_params
    with pytest.raises(ValueError, match="H, W <= 63"):
        model(torch.randn(1, 3, 64, 64))


def test_bad_options() -> None:
    with pytest.raises(ValueError, match="Table 1 has A, A-LRN, B, C, D, E"):
        get_model("vgg_cifar", config="F")
    with pytest.raises(ValueError, match="positive"):
        get_model("vgg_cifar", width=0)


@torch.no_grad()
def test_initialisations() -> None:
    torch.manual_seed(0)
    kaiming = get_model("vgg_cifar", config="A", width=1.0)
    conv = kaiming.features.conv3_1  # 3x3, 128 -> 256: He init, fan-out = 9 * 256
    assert abs(float(conv.weight.std()) - (2 / (9 * 256)) ** 0.5) < 2e-3
    assert float(conv.bias.abs().max()) == 0.0
    paper = get_model("vgg_cifar", config="A", width=1.0, init="paper")
    assert abs(float(paper.features.conv3_1.weight.std()) - 0.1) < 2e-3  # "10^-2 variance" (Sec. 3.1)
