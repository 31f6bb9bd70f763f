"""VGG (Simonyan and Zisserman, 2015): the six ConvNet configurations of Table 1, as data.

:data:`CONFIGS` holds Table 1's columns in the paper's own notation ("conv3-64" is a 3x3 convolution with
64 output channels, "conv1-256" a 1x1 one, "maxpool" a 2x2 stride-2 max-pooling, "LRN" the AlexNet
response normalisation). Every convolution is followed by a ReLU (omitted in the table, as in the paper),
and 3x3 convolutions are padded by 1 so that only the pooling layers change the spatial size.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import partial

import torch
from torch import nn

from ecg_lib.models._common import ModelSpec, SpatialOp, check_input, init_weights, lrn, valid_size_range

# Table 2's parameter counts live in ecg_lib.papers with every other paper figure; this name stays for
# the callers that import it from here.
from ecg_lib.papers import VGG_TABLE2_PARAMS_MILLIONS as TABLE2_PARAMS_MILLIONS  # noqa: F401

__all__ = ["CONFIGS", "SPECS", "VGG", "vgg", "vgg_cifar"]

PAPER = "simonyan2015very"

# Simonyan & Zisserman (2015), Table 1 (ConvNet configurations, one column each).
_BLOCK5_D = ("conv3-512", "conv3-512", "conv3-512", "maxpool")
CONFIGS: dict[str, tuple[str, ...]] = {
    "A": (
        "conv3-64", "maxpool",
        "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
    ),
    "A-LRN": (
        "conv3-64", "LRN", "maxpool",
        "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
    ),
    "B": (
        "conv3-64", "conv3-64", "maxpool",
        "conv3-128", "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
        "conv3-512", "conv3-512", "maxpool",
    ),
    "C": (
        "conv3-64", "conv3-64", "maxpool",
        "conv3-128", "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "conv1-256", "maxpool",
        "conv3-512", "conv3-512", "conv1-512", "maxpool",
        "conv3-512", "conv3-512", "conv1-512", "maxpool",
    ),
    "D": (
        "conv3-64", "conv3-64", "maxpool",
        "conv3-128", "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "conv3-256", "maxpool",
        *_BLOCK5_D,
        *_BLOCK5_D,
    ),
    "E": (
        "conv3-64", "conv3-64", "maxpool",
        "conv3-128", "conv3-128", "maxpool",
        "conv3-256", "conv3-256", "conv3-256", "conv3-256", "maxpool",
        "conv3-512", "conv3-512", "conv3-512", "conv3-512", "maxpool",
        "conv3-512", "conv3-512", "conv3-512", "conv3-512", "maxpool",
    ),
}  # fmt: skip
FC_WIDTH = 4096  # FC-4096, FC-4096, FC-1000 (soft-max) under every column
POOL = SpatialOp(2, 2)


def _parse(layer: str) -> tuple[int, int]:
    """``"conv3-64"`` -> (kernel 3, 64 channels)."""
    kind, channels = layer.split("-")
    return int(kind.removeprefix("conv")), int(channels)


class VGG(nn.Module):
    """A VGG network built from one column of Table 1 (Simonyan & Zisserman, 2015).

    With the defaults (``width=1``, ``fc_width=4096``, ``image_size=224``) this is the paper's network:
    parameter counts equal torchvision's ``vgg11/13/16/19`` (configurations A/B/D/E) exactly.
    Differences from the paper, all optional: ``batch_norm=True`` adds BN after every convolution
    (post-2015, torchvision's ``*_bn``); ``width`` scales every convolution's channels and ``fc_width``
    the hidden FC layers, and ``image_size`` sets the input the head is sized for (``224 // 32 = 7``
    -> a 7x7x512 map before FC6), which is how the CIFAR-sized variant is made.
    The paper evaluates densely by turning the FC layers into convolutions; this module keeps them
    as FC layers, so the input side must give the head's map size (224-255 at ``image_size=224``).
    ``init``: ``"kaiming"`` (default), ``"glorot"`` (which the paper found, after submission, trains the
    deep configurations from scratch) or ``"paper"``: N(0, variance 1e-2) weights, zero biases, which the
    paper used for configuration A and initialised the deeper nets from A's trained layers.
    """

    def __init__(
        self,
        config: str = "D",
        num_classes: int = 1000,
        *,
        batch_norm: bool = False,
        width: float = 1.0,
        fc_width: int = FC_WIDTH,
        image_size: int = 224,
        dropout: float = 0.5,
        init: str = "kaiming",
    ) -> None:
        super().__init__()
        if config not in CONFIGS:
            raise ValueError(f"Unknown VGG configuration {config!r}; Table 1 has {', '.join(CONFIGS)}.")
        if not width > 0 or not fc_width > 0:
            raise ValueError(f"width and fc_width must be positive (got {width!r}, {fc_width!r}).")
        self.config = config
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        in_ch, block, index = 3, 1, 1
        for layer in CONFIGS[config]:
            if layer == "maxpool":
                layers[f"pool{block}"] = nn.MaxPool2d(POOL.kernel, POOL.stride)
                block, index = block + 1, 1
            elif layer == "LRN":
                layers[f"norm{block}"] = lrn()  # Sec. 2.1: the parameters of Krizhevsky et al. (2012)
            else:
                kernel, channels = _parse(layer)
                out_ch = max(1, round(channels * width))
                name = f"{block}_{index}"
                layers[f"conv{name}"] = nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2)
                if batch_norm:
                    layers[f"bn{name}"] = nn.BatchNorm2d(out_ch)
                layers[f"relu{name}"] = nn.ReLU(inplace=True)
                in_ch, index = out_ch, index + 1
        self.features = nn.Sequential(layers)
        pools = [POOL] * CONFIGS[config].count("maxpool")
        self.map_size = image_size // 2 ** len(pools)
        if self.map_size < 1:
            raise ValueError(f"image_size must be at least {2 ** len(pools)} for VGG (got {image_size}).")
        self.min_input_size, self.max_input_size = valid_size_range(pools, self.map_size)
        self.classifier = nn.Sequential(
            OrderedDict(
                fc6=nn.Linear(in_ch * self.map_size**2, fc_width),
                relu6=nn.ReLU(inplace=True),
                drop6=nn.Dropout(dropout),
                fc7=nn.Linear(fc_width, fc_width),
                relu7=nn.ReLU(inplace=True),
                drop7=nn.Dropout(dropout),
                fc8=nn.Linear(fc_width, num_classes),
            )
        )
        # variance 1e-2 in the paper's words (Sec. 3.1), i.e. standard deviation 0.1
        init_weights(self, init, std=0.1 if init == "paper" else 0.01)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.min_input_size, f"VGG-{self.config}", max_size=self.max_input_size, module=self)
        x = self.features(x)  # N x 3 x 224 x 224 -> N x 64 x 112 x 112 -> ... -> N x 512 x 7 x 7
        x = torch.flatten(x, 1)  # N x 25088
        return self.classifier(x)  # N x 4096 -> N x 4096 -> N x num_classes


def vgg(config: str, num_classes: int = 1000, **options) -> VGG:
    """A Table 1 column at ImageNet size (``config`` in A, A-LRN, B, C, D, E); option ``batch_norm``."""
    return VGG(config, num_classes, **options)


def vgg_cifar(
    num_classes: int = 10, *, config: str = "A", width: float = 0.25, fc_width: int | None = None, **options
) -> VGG:
    """A CIFAR-sized VGG for CPU training: a Table 1 column with channels scaled by ``width`` (0.25 ->
    16 ... 128 channels), 32x32 input (five pools -> a 1x1 map) and hidden FC layers of
    ``fc_width`` units (default: the last conv's width, 512 * ``width``). Options as :class:`VGG`.
    """
    if fc_width is None:
        fc_width = max(1, round(512 * width))
    return VGG(config, num_classes, width=width, fc_width=fc_width, image_size=32, **options)


_NAMES = {"A": "vgg_a", "A-LRN": "vgg_a_lrn", "B": "vgg_b", "C": "vgg_c", "D": "vgg_d", "E": "vgg_e"}
_DEPTH = {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16, "E": 19}

SPECS: list[ModelSpec] = [
    *(
        ModelSpec(
            name, "vgg", partial(vgg, config), (3, 224, 224), 1000, PAPER,
            f"Table 1 column {config} ({_DEPTH[config]} weight layers)",
        )
        for config, name in _NAMES.items()
    ),
    ModelSpec(
        "vgg_cifar", "vgg", vgg_cifar, (3, 32, 32), 10, PAPER,
        "Table 1 column (option config) at CIFAR size with a width multiplier",
    ),
]  # fmt: skip
