"""AlexNet (Krizhevsky et al., 2012) and its Figure 1 CIFAR-10 network, pinned with numbers."""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from ecg_lib.counting import count_macs, count_params, layer_table, receptive_field
from ecg_lib.models import get_model
from ecg_lib.models._common import lrn
from ecg_lib.models.alexnet import ALEXNET_CONVS

# (out_channels, in_channels per group, kernel) per conv layer, from Sec. 3.5 of the paper:
# "The second convolutional layer ... 256 kernels of size 5 x 5 x 48", etc.
PAPER_CONVS = [(96, 3, 11), (256, 48, 5), (384, 256, 3), (384, 192, 3), (256, 192, 3)]
PAPER_FCS = [(256 * 6 * 6, 4096), (4096, 4096), (4096, 1000)]
PAPER_MAPS = [55, 27, 13, 13, 13]  # conv output sides (Figure 2)


def _meta(name: str, **kw) -> nn.Module:
    with torch.device("meta"):
        return get_model(name, **kw)


def test_parameter_count_is_the_papers_architecture() -> None:
    expected = sum(o * i * k * k + o for o, i, k in PAPER_CONVS) + sum(i * o + o for i, o in PAPER_FCS)
    assert expected == 60_965_224
    assert count_params(_meta("alexnet")) == expected
    # The paper says "60 million parameters" (Sec. 1): the exact count rounds to that.
    assert round(expected / 1e6) == 61 and abs(expected - 60e6) / 60e6 < 0.02


def test_per_layer_parameters_and_map_sizes() -> None:
    rows = {r.name: r for r in layer_table(_meta("alexnet"), (3, 227, 227))}
    for i, ((o, c, k), side) in enumerate(zip(PAPER_CONVS, PAPER_MAPS, strict=True), start=1):
        row = rows[f"features.conv{i}"]
        assert row.params == o * c * k * k + o
        assert row.output_shape == (o, side, side)
        # MACs of a convolution: every output value is a dot product of c * k * k terms.
        assert row.macs == o * side * side * c * k * k
    assert rows["features.pool5"].output_shape == (256, 6, 6)
    assert rows["classifier.fc8"].output_shape == (1000,)


def test_two_gpu_split_is_grouped_convolution() -> None:
    model = _meta("alexnet")
    groups = [getattr(model.features, c.name).groups for c in ALEXNET_CONVS]
    # conv2, conv4, conv5 see only their own GPU's maps; conv3 and the FC layers see both (Sec. 3.5).
    assert groups == [1, 2, 1, 2, 2]
    single = _meta("alexnet", grouped=False)
    assert count_params(single) == 62_378_344  # conv2/4/5 then take all input maps


def test_torchvision_alexnet_is_a_different_network() -> None:
    # torchvision follows the one-tower "one weird trick" variant (Krizhevsky, 2014): 64-192-384-256-256
    # channels, padded conv1, no LRN. Same idea, different numbers.
    with torch.device("meta"):
        tv = torchvision.models.alexnet(weights=None)
    assert count_params(tv) == 61_100_840
    assert count_params(_meta("alexnet")) - count_params(tv) == -135_616
    assert [m.out_channels for m in tv.features if isinstance(m, nn.Conv2d)] == [64, 192, 384, 256, 256]
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in tv.modules())
    assert count_macs(tv, (3, 224, 224)) == 714_188_480
    assert count_macs(_meta("alexnet"), (3, 227, 227)) == 724_406_816


def test_architecture_details() -> None:
    model = _meta("alexnet")
    norms = [m for m in model.modules() if isinstance(m, nn.LocalResponseNorm)]
    assert len(norms) == 2  # after conv1 and conv2 (Sec. 3.3)
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    assert [(p.kernel_size, p.stride) for p in pools] == [(3, 2)] * 3  # overlapping, z=3 s=2 (Sec. 3.4)
    drops = [m.p for m in model.modules() if isinstance(m, nn.Dropout)]
    assert drops == [0.5, 0.5]  # FC6 and FC7 (Sec. 4.2)
    names = list(dict(model.features.named_children()))
    assert names[:4] == ["conv1", "act1", "norm1", "pool1"]  # ReLU, then LRN, then pooling


def test_lrn_is_the_papers_formula() -> None:
    layer = lrn()
    # large activations so that the alpha term matters (|a| ~ 100 -> alpha * sum(a^2) ~ 5)
    a = torch.randn(2, 8, 3, 3, dtype=torch.float64) * 100
    b = torch.empty_like(a)
    n, k, alpha, beta = 5, 2.0, 1e-4, 0.75
    for i in range(a.shape[1]):
        lo, hi = max(0, i - n // 2), min(a.shape[1] - 1, i + n // 2)
        b[:, i] = a[:, i] / (k + alpha * a[:, lo : hi + 1].square().sum(1)) ** beta
    torch.testing.assert_close(layer(a), b)
    # torch's own constants would divide alpha by n: the two differ visibly at this scale
    plain = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0)(a)
    assert (plain - b).abs().max() > 1.0


@pytest.mark.parametrize(("side", "ok"), [(226, False), (227, True), (258, True), (259, False), (224, False)])
def test_input_side_range(side: int, ok: bool) -> None:
    model = _meta("alexnet")
    x = torch.zeros(1, 3, side, side, device="meta")
    if ok:
        assert tuple(model(x).shape) == (1, 1000)
    else:
        with pytest.raises(ValueError, match="227 <= H, W <= 258"):
            model(x)


@torch.no_grad()
def test_paper_initialisation() -> None:
    torch.manual_seed(0)
    model = get_model("alexnet", init="paper")
    f, c = model.features, model.classifier
    # Sec. 5: biases 1 in conv2, conv4, conv5 and the hidden FC layers, 0 elsewhere; weights N(0, 0.01).
    assert [float(getattr(f, f"conv{i}").bias.mean()) for i in range(1, 6)] == [0.0, 1.0, 0.0, 1.0, 1.0]
    assert float(c.fc6.bias.mean()) == 1.0 and float(c.fc7.bias.mean()) == 1.0
    assert float(c.fc8.bias.abs().max()) == 0.0
    assert abs(float(c.fc6.weight.std()) - 0.01) < 1e-4
    assert abs(float(f.conv1.weight.std()) - 0.01) < 1e-3


def test_receptive_field_of_conv1_and_pool5() -> None:
    model = _meta("alexnet")
    assert receptive_field(model.features.conv1) == (11, 4, 5.0)
    rf = receptive_field(model.features)
    assert (rf.size, rf.jump) == (195, 32)


def test_cifar_net_shapes_parameters_and_macs() -> None:
    model = get_model("alexnet_cifar")
    rows = {r.name: r for r in layer_table(model, (3, 32, 32))}
    pooled = [rows[f"features.pool{i}"].output_shape for i in (1, 2, 3)]
    assert pooled == [(32, 16, 16), (32, 8, 8), (64, 4, 4)]  # pooling rounds up, as in cuda-convnet
    convs = [(32, 3), (32, 32), (64, 32)]
    expected = sum(o * i * 25 + o for o, i in convs) + 64 * 4 * 4 * 10 + 10
    assert count_params(model) == expected == 89_578
    assert count_macs(model, (3, 32, 32)) == 32 * 32 * 32 * 75 + 32 * 16 * 16 * 800 + 64 * 8 * 8 * 800 + 10240
    assert tuple(model(torch.randn(4, 3, 32, 32)).shape) == (4, 10)


def test_cifar_net_options() -> None:
    relu = get_model("alexnet_cifar")
    tanh = get_model("alexnet_cifar", activation="tanh", lrn=True)
    assert sum(isinstance(m, nn.ReLU) for m in relu.modules()) == 3
    assert sum(isinstance(m, nn.Tanh) for m in tanh.modules()) == 3
    assert not any(isinstance(m, nn.ReLU) for m in tanh.modules())
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in tanh.modules()) == 2
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in relu.modules())
    assert count_params(relu) == count_params(tanh)  # both claims compare equal networks
    with pytest.raises(ValueError, match="'relu' or 'tanh'"):
        get_model("alexnet_cifar", activation="sigmoid")


@torch.no_grad()
def test_cifar_net_paper_init_differs_from_default() -> None:
    torch.manual_seed(0)
    paper = get_model("alexnet_cifar", init="paper")
    default = get_model("alexnet_cifar")
    w = paper.features.conv2.weight
    assert abs(float(w.std()) - 0.01) < 1e-3 and float(paper.features.conv2.bias.abs().max()) == 0.0
    # PyTorch's default is uniform with bound 1/sqrt(fan_in): std = 1/sqrt(3 * 800) ~ 0.0204 for conv2
    assert abs(float(default.features.conv2.weight.std()) - 1 / (3 * 800) ** 0.5) < 2e-3
    with pytest.raises(ValueError, match="init scheme"):
        get_model("alexnet_cifar", init="orthogonal")
