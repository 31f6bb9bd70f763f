"""AlexNet (Krizhevsky, Sutskever and Hinton, 2012) and the small CIFAR-10 network of its Figure 1.

Architecture as data: :data:`ALEXNET_CONVS` is Section 3.5 / Figure 2 of the paper, one row per
convolutional layer, and :data:`CIFAR_CONVS` the four-layer CIFAR-10 network.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ecg_lib.models._common import ModelSpec, SpatialOp, check_input, init_weights, lrn, valid_size_range

__all__ = [
    "ALEXNET_CONVS", "CIFAR_CONVS", "SPECS", "AlexNet", "AlexNetCifar", "ChannelLRN", "RawPixels", "alexnet",
    "alexnet_cifar",
]  # fmt: skip

PAPER = "krizhevsky2012imagenet"


@dataclass(frozen=True)
class ConvLayer:
    """One convolutional layer of a table-driven network (ReLU/tanh follows every one)."""

    name: str
    out_channels: int
    kernel: int
    stride: int = 1
    padding: int = 0
    groups: int = 1  # 2 = the paper's two GPUs, each seeing only its own half of the previous maps
    lrn: bool = False  # response normalisation after the activation
    pool: str | None = None  # "max" or "avg" pooling after it (after LRN when both are present)
    bias: float = 0.0  # the paper's initial bias (Sec. 5), used by init="paper"


# Krizhevsky et al. (2012), Sec. 3.5 and Figure 2. conv2, conv4 and conv5 see only the maps on their own
# GPU (groups=2); conv3 and the fully connected layers see both GPUs. Padding is not printed in the paper;
# these are the paddings that give Figure 2's 55 -> 27 -> 13 -> 6 maps from a 227x227 input.
ALEXNET_CONVS: tuple[ConvLayer, ...] = (
    ConvLayer("conv1", 96, 11, stride=4, lrn=True, pool="max"),
    ConvLayer("conv2", 256, 5, padding=2, groups=2, lrn=True, pool="max", bias=1.0),
    ConvLayer("conv3", 384, 3, padding=1),
    ConvLayer("conv4", 384, 3, padding=1, groups=2, bias=1.0),
    ConvLayer("conv5", 256, 3, padding=1, groups=2, pool="max", bias=1.0),
)
ALEXNET_FC: tuple[int, ...] = (4096, 4096)  # FC6, FC7 (dropout 0.5 on their outputs); FC8 = num_classes
ALEXNET_POOL = SpatialOp(3, 2)  # overlapping pooling, z=3, s=2 (Sec. 3.4)

# The Figure 1 network: the paper gives no layer sizes, so this is the four-layer (3 conv + 1 FC) CIFAR-10
# net of Krizhevsky's cuda-convnet example `layers-18pct.cfg` (the same as Caffe's `cifar10_full`):
# 5x5 convolutions with 32, 32, 64 maps, 3x3/2 pooling (max, then average) and a 10-way linear layer.
CIFAR_CONVS: tuple[ConvLayer, ...] = (
    ConvLayer("conv1", 32, 5, padding=2, lrn=True, pool="max"),
    ConvLayer("conv2", 32, 5, padding=2, lrn=True, pool="avg"),
    ConvLayer("conv3", 64, 5, padding=2, pool="avg"),
)
CIFAR_POOL = SpatialOp(3, 2, ceil_mode=True)  # cuda-convnet/Caffe round up: 32 -> 16 -> 8 -> 4


def _size_ops(convs: tuple[ConvLayer, ...], pool: SpatialOp) -> list[SpatialOp]:
    ops: list[SpatialOp] = []
    for c in convs:
        ops.append(SpatialOp(c.kernel, c.stride, c.padding))
        if c.pool:
            ops.append(pool)
    return ops


def _conv_stack(
    convs: tuple[ConvLayer, ...],
    pool: SpatialOp,
    *,
    activation: type[nn.Module],
    use_lrn: bool,
    grouped: bool = True,
    in_channels: int = 3,
) -> nn.Sequential:
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    for c in convs:
        i = c.name.removeprefix("conv")
        groups = c.groups if grouped else 1
        layers[c.name] = nn.Conv2d(in_channels, c.out_channels, c.kernel, c.stride, c.padding, groups=groups)
        layers[f"act{i}"] = activation()
        if c.lrn and use_lrn:
            layers[f"norm{i}"] = lrn()
        if c.pool:
            cls = nn.MaxPool2d if c.pool == "max" else nn.AvgPool2d
            layers[f"pool{i}"] = cls(pool.kernel, pool.stride, ceil_mode=pool.ceil_mode)
        in_channels = c.out_channels
    return nn.Sequential(layers)


class AlexNet(nn.Module):
    """The 2012 ImageNet network: 5 conv + 3 FC layers, 60,965,224 parameters with the two-GPU grouping.

    Input is 227x227, not the 224x224 printed in the paper: an unpadded 11x11 stride-4 convolution
    gives the paper's 55x55 first-layer maps only for 227-230 pixels ((227 - 11) / 4 + 1 = 55), while
    224 gives 54 and a 5x5 map before FC6, which the paper's 6x6x256 -> 4096 layer cannot take. The
    Caffe reference model (``bvlc_alexnet``) also crops 227x227.

    Differences from the paper: none in the architecture. The two GPUs are expressed as grouped
    convolutions (``groups=2``) in conv2, conv4 and conv5, which is the same connectivity in one
    device. ``grouped=False`` gives the single-tower variant (62,378,344 parameters) instead.
    Initialisation: ``init="paper"`` is the paper's N(0, 0.01) weights with biases 1 in conv2, conv4,
    conv5, FC6 and FC7; the default ``"kaiming"`` trains more reliably from scratch.
    """

    def __init__(
        self,
        num_classes: int = 1000,
        *,
        grouped: bool = True,
        lrn: bool = True,
        dropout: float = 0.5,
        init: str = "kaiming",
    ) -> None:
        super().__init__()
        self.features = _conv_stack(
            ALEXNET_CONVS, ALEXNET_POOL, activation=nn.ReLU, use_lrn=lrn, grouped=grouped
        )
        c = ALEXNET_CONVS[-1].out_channels
        # FC6 needs exactly the paper's 6x6 maps, so the valid input sides form a small interval.
        self.min_input_size, self.max_input_size = valid_size_range(_size_ops(ALEXNET_CONVS, ALEXNET_POOL), 6)
        fc6, fc7 = ALEXNET_FC
        self.classifier = nn.Sequential(
            OrderedDict(
                fc6=nn.Linear(c * 6 * 6, fc6),
                act6=nn.ReLU(),
                drop6=nn.Dropout(dropout),
                fc7=nn.Linear(fc6, fc7),
                act7=nn.ReLU(),
                drop7=nn.Dropout(dropout),
                fc8=nn.Linear(fc7, num_classes),
            )
        )
        init_weights(self, init)
        if init == "paper":  # Sec. 5: biases 1 where ReLUs would otherwise start inactive
            with torch.no_grad():
                for layer in ALEXNET_CONVS:
                    getattr(self.features, layer.name).bias.fill_(layer.bias)
                self.classifier.fc6.bias.fill_(1.0)
                self.classifier.fc7.bias.fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.min_input_size, "alexnet", max_size=self.max_input_size, module=self)
        # N x 3 x 227 x 227 -> N x 96 x 55 x 55 -> (pool) N x 96 x 27 x 27 -> N x 256 x 27 x 27
        # -> (pool) N x 256 x 13 x 13 -> N x 384 x 13 x 13 (x2) -> N x 256 x 13 x 13 -> (pool) N x 256 x 6 x 6
        x = self.features(x)
        x = torch.flatten(x, 1)  # N x 9216
        return self.classifier(x)  # N x 4096 -> N x 4096 -> N x num_classes


class AlexNetCifar(nn.Module):
    """The four-layer CIFAR-10 network of Krizhevsky et al. (2012), Figure 1 and Sec. 3.3.

    The paper uses it for two claims: ReLUs reach 25% training error six times faster than tanh
    (Figure 1), and response normalisation lowers test error from 13% to 11% (Sec. 3.3). The paper gives
    no layer sizes; this is the 3-conv + 1-FC network of cuda-convnet's ``layers-18pct.cfg`` (see
    :data:`CIFAR_CONVS`), with the AlexNet LRN (k=2, n=5, alpha=1e-4, beta=0.75) after the first two
    activations (before pooling, as in AlexNet) when ``lrn=True``; cuda-convnet's own normalisation layers
    use other constants and positions.
    ``init="paper"`` draws every weight from N(0, 0.01) with zero biases; ``"default"`` keeps PyTorch's.
    """

    def __init__(
        self,
        num_classes: int = 10,
        *,
        activation: str = "relu",
        lrn: bool = False,
        init: str = "default",
    ) -> None:
        super().__init__()
        acts = {"relu": nn.ReLU, "tanh": nn.Tanh}
        if activation not in acts:
            raise ValueError(f"activation must be 'relu' or 'tanh' (got {activation!r}).")
        self.activation = activation
        self.features = _conv_stack(CIFAR_CONVS, CIFAR_POOL, activation=acts[activation], use_lrn=lrn)
        ops = _size_ops(CIFAR_CONVS, CIFAR_POOL)
        self.min_input_size, self.max_input_size = valid_size_range(ops, 4)
        self.classifier = nn.Linear(CIFAR_CONVS[-1].out_channels * 4 * 4, num_classes)
        init_weights(self, init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.min_input_size, "alexnet_cifar", max_size=self.max_input_size, module=self)
        x = self.features(x)  # N x 3 x 32 x 32 -> N x 32 x 16 x 16 -> N x 32 x 8 x 8 -> N x 64 x 4 x 4
        return self.classifier(torch.flatten(x, 1))  # N x 1024 -> N x num_classes


# ----------------------------------------------------------------------------------------------------------
# Pieces of the AlexNet chapter's CIFAR-10 runs (ecg_lib.experiments.alexnet): the same LRN function,
# computed faster on a CPU, and the paper's raw 0-255 pixel input


class ChannelLRN(nn.Module):
    """The paper's response normalisation, computing the same function as the library's ``lrn()`` (which is
    ``nn.LocalResponseNorm`` with ``alpha * size``), for odd ``size``.

    Only the arithmetic differs: the sum over neighbouring maps is ``size`` shifted slices of the squared
    input, and ``d ** -0.75`` is ``rsqrt(d) * rsqrt(sqrt(d))``. PyTorch's layer sums with a 3-D average
    pooling whose CPU forward and backward, together with ``pow``, made a training step of the CIFAR-10
    net about three times slower than without normalisation; with this layer it is about 1.8 times.
    """

    def __init__(self, size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0) -> None:
        super().__init__()
        if size <= 0 or size % 2 == 0:
            raise ValueError(f"LRN size must be a positive odd number of maps (got {size}).")
        self.size, self.alpha, self.beta, self.k = size, alpha, beta, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half, maps = self.size // 2, x.shape[1]
        padded = F.pad(x * x, (0, 0, 0, 0, half, half))  # zero maps beyond both ends clip the window
        total = padded[:, :maps]
        for i in range(1, self.size):
            total = total + padded[:, i : i + maps]
        d = self.k + self.alpha * total
        scale = torch.rsqrt(d) * torch.rsqrt(torch.sqrt(d)) if self.beta == 0.75 else d.pow(-self.beta)
        return x * scale

    def extra_repr(self) -> str:
        return f"size={self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class RawPixels(nn.Module):
    """Feeds ``net`` pixel values in 0..255 units: ``fit`` centres the images with the mean image in
    [0, 1] units, and this multiplies by 255, giving the paper's "(centred) raw RGB values" (Sec. 2).

    The unit matters twice: the paper's N(0, 0.01) initial weights were chosen for inputs of this size,
    and the response normalisation's ``k = 2`` and ``alpha = 1e-4`` only inhibit activities of the order
    of tens (see :func:`ecg_lib.experiments.alexnet.lrn_gain`); on [0, 1] inputs the layer would be a
    constant rescaling.
    """

    def __init__(self, net: nn.Module, scale: float = 255.0) -> None:
        super().__init__()
        self.net = net
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * self.scale)


def alexnet(num_classes: int = 1000, **options) -> AlexNet:
    """AlexNet as published (two-GPU grouping, LRN, overlapping pooling, dropout); see :class:`AlexNet`."""
    return AlexNet(num_classes, **options)


def alexnet_cifar(num_classes: int = 10, **options) -> AlexNetCifar:
    """The Figure 1 CIFAR-10 network; options ``activation``, ``lrn``, ``init``; see :class:`AlexNetCifar`."""
    return AlexNetCifar(num_classes, **options)


SPECS: list[ModelSpec] = [
    ModelSpec(
        "alexnet", "alexnet", alexnet, (3, 227, 227), 1000, PAPER, "5 conv + 3 FC, two-GPU grouping, LRN"
    ),
    ModelSpec(
        "alexnet_cifar", "alexnet", alexnet_cifar, (3, 32, 32), 10, PAPER,
        "four-layer CIFAR-10 net of Figure 1 (ReLU/tanh, optional LRN)",
    ),
]
