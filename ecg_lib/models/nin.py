"""Network in Network (Lin, Chen and Yan, 2014): stacked mlpconv blocks and global average pooling.

The paper describes the architecture (Sec. 3, Figure 2: three mlpconv layers, each a convolution followed
by two 1x1 convolutions, the "cascaded cross channel parametric pooling", then global average pooling)
but prints no layer sizes. The sizes here are the authors' released models, written as data:
:data:`NIN_CIFAR` is the CIFAR-10 model (Caffe Model Zoo "NIN-CIFAR10", and ``NIN/`` in the first author's
cuda-convnet fork) and :data:`NIN_IMAGENET` the 4-mlpconv ImageNet model (Caffe Model Zoo "NIN-Imagenet").
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from ecg_lib.models._common import (
    ModelSpec,
    SpatialOp,
    check_input,
    init_weights,
    output_size,
    valid_size_range,
)

__all__ = ["NIN_CIFAR", "NIN_IMAGENET", "SPECS", "MlpConv", "NetworkInNetwork", "nin", "nin_cifar"]

PAPER = "lin2014network"
CLASSES = 0  # placeholder channel count in the tables: "as many maps as classes"


@dataclass(frozen=True)
class MlpConv:
    """One mlpconv block: a ``kernel`` x ``kernel`` convolution, then 1x1 convolutions with ``cccp``
    output channels, each followed by a ReLU; then optional pooling and dropout."""

    kernel: int
    channels: int
    cccp: tuple[int, ...]
    stride: int = 1
    padding: int = 0
    pool: str | None = None  # "max" or "avg", 3x3 stride 2, rounded up as Caffe does
    dropout: float = 0.0


POOL = SpatialOp(3, 2, ceil_mode=True)

# NIN-CIFAR10 (Caffe Model Zoo, gist mavenlin/e56253735ef32c3c296d): 0.97 M parameters.
NIN_CIFAR: tuple[MlpConv, ...] = (
    MlpConv(5, 192, (160, 96), padding=2, pool="max", dropout=0.5),
    MlpConv(5, 192, (192, 192), padding=2, pool="avg", dropout=0.5),
    MlpConv(3, 192, (192, CLASSES), padding=1),
)
# NIN-Imagenet (Caffe Model Zoo, gist mavenlin/d802a5849de39225bcc6): 7.6 M parameters, 224x224 crops.
NIN_IMAGENET: tuple[MlpConv, ...] = (
    MlpConv(11, 96, (96, 96), stride=4, pool="max"),
    MlpConv(5, 256, (256, 256), padding=2, pool="max"),
    MlpConv(3, 384, (384, 384), padding=1, pool="max", dropout=0.5),
    MlpConv(3, 1024, (1024, CLASSES), padding=1),
)


class NetworkInNetwork(nn.Module):
    """A stack of mlpconv blocks whose last 1x1 layer has one map per class, then global average pooling.

    As in the released Caffe models, the last 1x1 convolution is followed by a ReLU before the pooling
    (so the class scores are non-negative), and pooling windows are rounded up (Caffe's rule), which the
    sizes 32 -> 16 -> 8 (CIFAR) and 224 -> 54 -> 27 -> 13 -> 6 (ImageNet) rely on. The models' final
    fixed 8x8 / 6x6 average pooling is written as global average pooling, identical at the native size.

    ``head="fc"`` replaces global average pooling by a fully connected layer on the flattened last
    mlpconv output, the rest unchanged, with optional dropout ``head_dropout`` before it: the comparison
    of the paper's Sec. 4.6 / Table 5 (CIFAR-10 test error: 11.59% FC, 10.88% FC + dropout, 10.41% GAP).
    The FC head fixes the input size to the one in ``image_size``.
    """

    def __init__(
        self,
        blocks: tuple[MlpConv, ...],
        num_classes: int,
        *,
        name: str = "nin",
        head: str = "gap",
        head_dropout: float = 0.0,
        image_size: int = 32,
        init: str = "kaiming",
    ) -> None:
        super().__init__()
        if head not in ("gap", "fc"):
            raise ValueError(f"head must be 'gap' (global average pooling) or 'fc' (got {head!r}).")
        if head_dropout and head != "fc":
            raise ValueError("head_dropout applies to head='fc' only (the paper's FC + dropout variant).")
        self.name, self.head_kind = name, head
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        ops: list[SpatialOp] = []
        in_ch = 3
        for i, b in enumerate(blocks, start=1):
            block: OrderedDict[str, nn.Module] = OrderedDict()
            block["conv"] = nn.Conv2d(in_ch, b.channels, b.kernel, b.stride, b.padding)
            block["relu"] = nn.ReLU(inplace=True)
            in_ch = b.channels
            for j, c in enumerate(b.cccp, start=1):
                out = num_classes if c == CLASSES else c
                block[f"cccp{j}"] = nn.Conv2d(in_ch, out, 1)  # 1x1 conv = the micro-MLP's layer j
                block[f"relu_cccp{j}"] = nn.ReLU(inplace=True)
                in_ch = out
            layers[f"mlpconv{i}"] = nn.Sequential(block)
            ops.append(SpatialOp(b.kernel, b.stride, b.padding))
            if b.pool:
                cls = nn.MaxPool2d if b.pool == "max" else nn.AvgPool2d
                layers[f"pool{i}"] = cls(POOL.kernel, POOL.stride, ceil_mode=True)
                ops.append(POOL)
            if b.dropout:
                layers[f"drop{i}"] = nn.Dropout(b.dropout)
        self.features = nn.Sequential(layers)
        if head == "gap":
            self.min_input_size, self.max_input_size = valid_size_range(ops)
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        else:
            side = output_size(image_size, ops)
            self.min_input_size, self.max_input_size = valid_size_range(ops, side)
            self.head = nn.Sequential(
                nn.Flatten(), nn.Dropout(head_dropout), nn.Linear(in_ch * side * side, num_classes)
            )
        init_weights(self, init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.min_input_size, self.name, max_size=self.max_input_size, module=self)
        # CIFAR: N x 3 x 32 x 32 -> N x 96 x 16 x 16 -> N x 192 x 8 x 8 -> N x num_classes x 8 x 8
        x = self.features(x)
        return self.head(x)  # N x num_classes (the mean of each class map, or the FC layer's output)


def nin_cifar(num_classes: int = 10, **options) -> NetworkInNetwork:
    """The CIFAR-10 NIN (three mlpconv blocks, GAP); options ``head``, ``head_dropout``, ``init``."""
    return NetworkInNetwork(NIN_CIFAR, num_classes, name="nin_cifar", image_size=32, **options)


def nin(num_classes: int = 1000, **options) -> NetworkInNetwork:
    """The ImageNet NIN (four mlpconv blocks, GAP, 224x224 input); options as :func:`nin_cifar`."""
    return NetworkInNetwork(NIN_IMAGENET, num_classes, name="nin", image_size=224, **options)


SPECS: list[ModelSpec] = [
    ModelSpec("nin", "nin", nin, (3, 224, 224), 1000, PAPER, "4 mlpconv blocks + GAP (Caffe Model Zoo)"),
    ModelSpec("nin_cifar", "nin", nin_cifar, (3, 32, 32), 10, PAPER, "3 mlpconv blocks + GAP, CIFAR-10"),
]
