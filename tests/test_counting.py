"""Counting: parameters, MACs (units!), layer tables, summaries, receptive fields."""

from __future__ import annotations

import json

import pytest
import torch
import torchvision
from torch import nn

from ecg_lib.counting import (
    LayerStats,
    ReceptiveField,
    count_macs,
    count_params,
    flops_from_macs,
    format_count,
    layer_table,
    min_input_size,
    parse_input_size,
    receptive_field,
    summarize,
)


def test_count_params_trainable_only() -> None:
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Linear(4, 2))
    assert count_params(model) == (3 * 9 * 8 + 8) + 16 + (8 + 2)
    model[0].weight.requires_grad_(False)
    assert count_params(model) == 8 + 16 + 10
    assert count_params(model, trainable_only=False) == 224 + 16 + 10


def test_shared_parameters_count_once() -> None:
    conv = nn.Conv2d(4, 4, 3, padding=1)
    assert count_params(nn.Sequential(conv, nn.ReLU(), conv)) == 4 * 4 * 9 + 4


@pytest.mark.parametrize(
    ("layer", "size", "macs"),
    [
        (nn.Conv2d(3, 16, 3, padding=1), (3, 10, 10), 16 * 10 * 10 * 3 * 9),
        (nn.Conv2d(3, 16, 5, stride=2), (3, 11, 11), 16 * 4 * 4 * 3 * 25),
        (nn.Conv2d(8, 16, 3, groups=4), (8, 5, 5), 16 * 3 * 3 * 2 * 9),  # each output sees 8/4 maps
        (nn.Conv2d(8, 16, 1, bias=False), (8, 7, 7), 16 * 7 * 7 * 8),
    ],
)
def test_conv_macs_are_output_values_times_dot_length(layer: nn.Module, size: tuple, macs: int) -> None:
    assert count_macs(layer, size) == macs


def test_linear_and_pointwise_layers() -> None:
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(3 * 4 * 4, 10), nn.ReLU(), nn.Dropout(), nn.Linear(10, 5), nn.Softmax(1)
    )
    assert count_macs(model, (3, 4, 4)) == 48 * 10 + 10 * 5  # activations, dropout, softmax: 0 MACs


def test_macs_are_torchvisions_gflops() -> None:
    # torchvision's `_ops` metadata ("GFLOPS") is multiply-adds: our MACs agree to its 3 decimals.
    for name, size in (("alexnet", 224), ("resnet18", 224), ("resnet50", 224)):
        with torch.device("meta"):
            model = torchvision.models.get_model(name, weights=None)
        weights = torchvision.models.get_model_weights(name).DEFAULT
        gmacs = round(count_macs(model, (3, size, size)) / 1e9, 3)
        assert gmacs == pytest.approx(weights.meta["_ops"], abs=1e-3)
        assert count_params(model) == weights.meta["num_params"]


def test_flops_from_macs_is_explicit() -> None:
    assert flops_from_macs(15_470_264_320) == 30_940_528_640
    s = summarize(nn.Conv2d(1, 1, 3), (1, 5, 5))
    assert s.macs == 9 * 9 and s.flops == 2 * 81


def test_counting_leaves_the_model_untouched() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Dropout())
    model.train()
    model[1].eval()  # a deliberately frozen BN must stay in eval mode
    before = {k: v.clone() for k, v in model.state_dict().items()}
    count_macs(model, (3, 8, 8))
    summarize(model, (3, 8, 8))
    assert model.training and not model[1].training and model[2].training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k  # BN running stats included
        assert v.device.type == "cpu"


def test_layer_table_rows() -> None:
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(128, 10)
    )
    rows = layer_table(model, (3, 8, 8))
    assert rows == [
        LayerStats("0", "Conv2d", (8, 8, 8), 224, 8 * 8 * 8 * 27),
        LayerStats("1", "ReLU", (8, 8, 8), 0, 0),
        LayerStats("2", "MaxPool2d", (8, 4, 4), 0, 0),
        LayerStats("3", "Flatten", (128,), 0, 0),
        LayerStats("4", "Linear", (10,), 1290, 1280),
    ]


def test_rows_add_up_to_the_totals_for_a_registered_model() -> None:
    from ecg_lib.models import get_model

    with torch.device("meta"):
        model = get_model("vgg_d")
    s = summarize(model, (3, 224, 224), name="vgg_d")
    assert s.params == sum(r.params for r in s.rows) == 138_357_544
    assert s.macs == sum(r.macs for r in s.rows) == 15_470_264_320


def test_summary_text_and_dict() -> None:
    from ecg_lib.models import get_model

    s = summarize(get_model("alexnet_cifar"), "3x32x32", name="alexnet_cifar")
    text = s.to_text()
    assert "alexnet_cifar, input 3 x 32 x 32" in text
    assert "89,578" in text and "12,298,240" in text and "multiply-accumulates" in text
    d = json.loads(s.to_json())
    assert (d["params"], d["macs"], d["flops"], d["input"]) == (89_578, 12_298_240, 24_596_480, [3, 32, 32])
    assert d["layers"][0] == {
        "name": "features.conv1", "kind": "Conv2d", "output_shape": [32, 32, 32], "params": 2432,
        "macs": 32 * 32 * 32 * 75,
    }  # fmt: skip


def test_layers_that_do_not_run_have_no_shape() -> None:
    class WithAux(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body, self.aux = nn.Conv2d(1, 2, 3), nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x)

    rows = layer_table(WithAux(), (1, 5, 5))
    assert rows[1] == LayerStats("aux", "Linear", None, 6, 0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("3x224x224", (3, 224, 224)), ("224", (3, 224, 224)), (32, (3, 32, 32)), ((1, 28, 28), (1, 28, 28))],
)
def test_parse_input_size(value: object, expected: tuple[int, int, int]) -> None:
    assert parse_input_size(value) == expected


@pytest.mark.parametrize("value", ["3x224", "axbxc", "0x32x32", "3x32x32x2"])
def test_parse_input_size_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="3x224x224"):
        parse_input_size(value if value != "3x224" else "3x224x224x1")


def test_min_input_size_declared_or_searched() -> None:
    from ecg_lib.models import get_model

    assert min_input_size(get_model("nin_cifar")) == 4
    # No declared attribute: found by trying sizes (conv 5x5 then a 3x3/2 pool need 7 pixels).
    plain = nn.Sequential(nn.Conv2d(3, 4, 5), nn.MaxPool2d(3, 2), nn.Flatten())
    assert min_input_size(plain) == 7


def test_format_count() -> None:
    assert format_count(60_965_224) == "61.0 M"
    assert format_count(15_470_264_320) == "15.47 G"
    assert format_count(89_578) == "89.6 k"
    assert format_count(640) == "640"


class TestReceptiveField:
    def test_stacks_of_3x3(self) -> None:
        conv = nn.Conv2d(1, 1, 3, padding=1)
        assert receptive_field([conv]) == ReceptiveField(3, 1, 0.0)
        assert receptive_field([conv, nn.ReLU(), conv]) == (5, 1, 0.0)  # Simonyan & Zisserman, Sec. 2.3
        assert receptive_field(nn.Sequential(conv, conv, conv)) == (7, 1, 0.0)  # one module, used 3 times

    def test_alexnet_conv1(self) -> None:
        # 11x11 windows every 4 pixels; the first is centred on pixel 5 (no padding)
        assert receptive_field(nn.Conv2d(3, 96, 11, stride=4)) == (11, 4, 5.0)

    def test_strides_padding_dilation(self) -> None:
        layers = [nn.Conv2d(1, 1, 7, stride=2, padding=3), nn.MaxPool2d(3, 2, padding=1)]
        # ResNet stem: 7 + 2 * 2 = 11 pixels, jump 4, first centre at pixel 0 (padding balances the kernel)
        assert receptive_field(layers) == (11, 4, 0.0)
        assert receptive_field(nn.Conv2d(1, 1, 3, dilation=2)) == (5, 1, 2.0)
        assert receptive_field([nn.Conv2d(1, 1, 3, stride=2), nn.Conv2d(1, 1, 3)]) == (7, 2, 3.0)

    def test_matches_the_gradient_footprint(self) -> None:
        # The receptive field is exactly the set of input pixels an output unit depends on. Average
        # pooling (same window as max pooling) passes gradient to every pixel of its window.
        layers = nn.Sequential(
            nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.AvgPool2d(3, 2), nn.Conv2d(1, 1, 5)
        )
        nn.init.constant_(layers[0].weight, 1.0)
        nn.init.constant_(layers[2].weight, 1.0)
        rf = receptive_field(layers)
        assert rf == (3 + 2 * 2 + 4 * 4, 4, 10.0)  # sizes 3 -> 7 -> 23, jumps 2 -> 4
        x = torch.rand(1, 1, 64, 64, requires_grad=True)
        i = 5  # an output unit away from the edges
        layers(x)[0, 0, i, i].backward()
        rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
        first = rf.start + i * rf.jump - (rf.size - 1) / 2
        assert (int(rows.min()), int(rows.max())) == (first, first + rf.size - 1) == (19, 41)
        assert (int(cols.min()), int(cols.max())) == (19, 41)
        assert len(rows) == rf.size**2

    def test_rejects_what_has_no_local_window(self) -> None:
        with pytest.raises(ValueError, match="Linear"):
            receptive_field([nn.Conv2d(1, 1, 3), nn.Linear(2, 2)])
        with pytest.raises(ValueError, match="square"):
            receptive_field([nn.Conv2d(1, 1, (1, 3))])
        with pytest.raises(ValueError, match="plain chain"):
            receptive_field(torchvision.models.resnet18().layer1)  # residual blocks are not a chain
