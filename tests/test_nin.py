"""Network in Network (Lin et al., 2014): the released CIFAR-10 and ImageNet models, GAP vs FC head."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ecg_lib.counting import count_macs, count_params, layer_table, receptive_field
from ecg_lib.models import get_model

# (kernel, out_channels) of every convolution, in order, from the Caffe Model Zoo definitions.
CIFAR_CONVS = [(5, 192), (1, 160), (1, 96), (5, 192), (1, 192), (1, 192), (3, 192), (1, 192), (1, 10)]
IMAGENET_CONVS = [
    (11, 96), (1, 96), (1, 96), (5, 256), (1, 256), (1, 256),
    (3, 384), (1, 384), (1, 384), (3, 1024), (1, 1024), (1, 1000),
]  # fmt: skip


def _expected(convs: list[tuple[int, int]]) -> int:
    total, c_in = 0, 3
    for k, c in convs:
        total += k * k * c_in * c + c
        c_in = c
    return total


def _meta(name: str, **kw) -> nn.Module:
    with torch.device("meta"):
        return get_model(name, **kw)


@pytest.mark.parametrize(
    ("name", "convs", "count"), [("nin_cifar", CIFAR_CONVS, 966_986), ("nin", IMAGENET_CONVS, 7_595_176)]
)
def test_layers_and_parameter_counts(name: str, convs: list[tuple[int, int]], count: int) -> None:
    model = _meta(name)
    got = [(m.kernel_size[0], m.out_channels) for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert got == convs
    assert count_params(model) == _expected(convs) == count
    assert not any(isinstance(m, nn.Linear) for m in model.modules())  # no fully connected layer at all


def test_cifar_map_sizes_and_macs() -> None:
    rows = {r.name: r for r in layer_table(_meta("nin_cifar"), (3, 32, 32))}
    # pooling rounds up like Caffe: 32 -> 16 -> 8
    assert rows["features.pool1"].output_shape == (96, 16, 16)
    assert rows["features.pool2"].output_shape == (192, 8, 8)
    assert rows["features.mlpconv3.cccp2"].output_shape == (10, 8, 8)
    sides = [32] * 3 + [16] * 3 + [8] * 3
    c_in, expected = 3, 0
    for (k, c), side in zip(CIFAR_CONVS, sides, strict=True):
        expected += side * side * c * k * k * c_in
        c_in = c
    assert count_macs(_meta("nin_cifar"), (3, 32, 32)) == expected == 222_486_528


def test_imagenet_map_sizes() -> None:
    rows = {r.name: r for r in layer_table(_meta("nin"), (3, 224, 224))}
    assert rows["features.mlpconv1.conv"].output_shape == (96, 54, 54)
    assert [rows[f"features.pool{i}"].output_shape[1] for i in (1, 2, 3)] == [27, 13, 6]
    assert rows["features.mlpconv4.cccp2"].output_shape == (1000, 6, 6)
    assert count_macs(_meta("nin"), (3, 224, 224)) == 1_100_188_800


def test_dropout_placement() -> None:
    cifar = [n for n, m in _meta("nin_cifar").named_modules() if isinstance(m, nn.Dropout)]
    assert cifar == ["features.drop1", "features.drop2"]  # after the first two mlpconv blocks
    assert [n for n, m in _meta("nin").named_modules() if isinstance(m, nn.Dropout)] == ["features.drop3"]


def test_gap_output_is_the_mean_of_each_class_map() -> None:
    torch.manual_seed(0)
    model = get_model("nin_cifar").eval()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        maps = model.features(x)
        out = model(x)
    assert maps.shape == (3, 10, 8, 8)
    torch.testing.assert_close(out, maps.mean(dim=(2, 3)))
    assert (out >= 0).all()  # the released models keep the ReLU on the class maps


def test_gap_accepts_other_sizes_down_to_its_minimum() -> None:
    model = _meta("nin_cifar")
    assert model.min_input_size == 4 and model.max_input_size is None
    for side in (4, 48, 96):
        assert tuple(model(torch.zeros(1, 3, side, side, device="meta")).shape) == (1, 10)
    with pytest.raises(ValueError, match="H, W >= 4"):
        model(torch.zeros(1, 3, 3, 3, device="meta"))


def test_fc_head() -> None:
    gap, fc = _meta("nin_cifar"), _meta("nin_cifar", head="fc")
    # Same network, with a 10 x 8 x 8 -> 10 linear layer in place of the parameter-free average
    assert count_params(fc) - count_params(gap) == 640 * 10 + 10
    assert tuple(fc(torch.zeros(2, 3, 32, 32, device="meta")).shape) == (2, 10)
    with pytest.raises(ValueError, match="32 <= H, W <= 35"):
        fc(torch.zeros(2, 3, 48, 48, device="meta"))
    drop = _meta("nin_cifar", head="fc", head_dropout=0.5)
    assert [m.p for m in drop.head if isinstance(m, nn.Dropout)] == [0.5]
    with pytest.raises(ValueError, match="head='fc' only"):
        get_model("nin_cifar", head_dropout=0.5)
    with pytest.raises(ValueError, match="'gap'"):
        get_model("nin_cifar", head="mean")


def test_receptive_field_of_an_mlpconv_is_its_first_convolution() -> None:
    block = _meta("nin_cifar").features.mlpconv1
    # 1x1 layers add depth, not spatial extent: the micro-MLP sees a 5x5 patch
    assert receptive_field(block) == (5, 1, 0.0)
