"""GoogLeNet (Szegedy et al., CVPR 2015, "Going Deeper with Convolutions").

The Inception rows of the paper's Table 1 are data (:data:`TABLE1`); :class:`Inception` builds one
module from a row, with or without the 1x1 dimension reductions (Fig. 2b versus the naive Fig. 2a),
so that their cost can be counted on the actual modules. ``model.inception["3a"]`` .. ``["5b"]``
address the nine modules of a built network.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch
from torch import nn

from ecg_lib.models._common import ModelSpec, SpatialOp, check_input, init_weights, lrn, valid_size_range

# Sec. 5: during training the auxiliary losses are added to the total loss with weight 0.3. The figure
# lives in ecg_lib.papers with every other paper figure; this name stays for the callers that import it.
from ecg_lib.papers import GOOGLENET_AUX_WEIGHT as AUX_LOSS_WEIGHT

__all__ = [
    "AUX_LOSS_WEIGHT",
    "TABLE1",
    "AuxClassifier",
    "GoogLeNet",
    "Inception",
    "InceptionRow",
    "googlenet",
    "googlenet_cifar",
]



@dataclass(frozen=True)
class InceptionRow:
    """One Inception row of Table 1: filters per branch (``n3x3red``/``n5x5red`` are the 1x1 reductions)."""

    name: str
    n1x1: int
    n3x3red: int
    n3x3: int
    n5x5red: int
    n5x5: int
    pool_proj: int

    @property
    def out_channels(self) -> int:
        return self.n1x1 + self.n3x3 + self.n5x5 + self.pool_proj

    def scaled(self, width: float) -> InceptionRow:
        """Every filter count times ``width`` (rounded, at least 1)."""
        counts = {f.name: _scale(getattr(self, f.name), width) for f in fields(self) if f.name != "name"}
        return replace(self, **counts)


# Table 1 of the paper: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
TABLE1: tuple[InceptionRow, ...] = (
    InceptionRow("3a", 64, 96, 128, 16, 32, 32),
    InceptionRow("3b", 128, 128, 192, 32, 96, 64),
    InceptionRow("4a", 192, 96, 208, 16, 48, 64),
    InceptionRow("4b", 160, 112, 224, 24, 64, 64),
    InceptionRow("4c", 128, 128, 256, 24, 64, 64),
    InceptionRow("4d", 112, 144, 288, 32, 64, 64),
    InceptionRow("4e", 256, 160, 320, 32, 128, 128),
    InceptionRow("5a", 256, 160, 320, 32, 128, 128),
    InceptionRow("5b", 384, 192, 384, 48, 128, 128),
)
STEM_CHANNELS = (64, 64, 192)  # conv 7x7/2, the 1x1 reduction of "conv 3x3", conv 3x3 (Table 1)
# The 3x3/2 max pools of Table 1 round up as in the Caffe reference (112 -> 56 -> 28 -> 14 -> 7).
STAGE_POOL = SpatialOp(3, 2, ceil_mode=True)
AUX_POOL = SpatialOp(5, 3)


def _scale(channels: int, width: float) -> int:
    return max(1, round(channels * width))


class ConvReLU(nn.Sequential):
    """Convolution with bias followed by ReLU: the paper uses ReLU after every convolution (Sec. 5)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> None:
        super().__init__(nn.Conv2d(in_ch, out_ch, kernel, stride, padding=kernel // 2), nn.ReLU(inplace=True))


def _lrn() -> nn.LocalResponseNorm:
    # The paper gives no LRN constants; these are the BVLC Caffe reference GoogLeNet's (size 5,
    # alpha 1e-4, beta 0.75, k 1). Caffe divides alpha by the size; lrn() takes the summed form.
    return lrn(size=5, alpha=1e-4 / 5, beta=0.75, k=1.0)


class Inception(nn.Module):
    """One Inception module (Fig. 2) built from a Table 1 row.

    ``reduce=True`` (the paper, Fig. 2b): 1x1; 1x1 -> 3x3; 1x1 -> 5x5; 3x3 max pool -> 1x1 projection.
    ``reduce=False`` (the naive module, Fig. 2a): the 3x3 and 5x5 convolutions read the input directly
    and, unless ``pool_proj=True``, the pool branch passes all input channels through, so the output
    is wider than the row's. The branches are concatenated along channels; spatial size is kept.
    """

    def __init__(
        self, in_channels: int, row: InceptionRow, *, reduce: bool = True, pool_proj: bool | None = None
    ):
        super().__init__()
        if pool_proj is None:
            pool_proj = reduce
        self.row, self.in_channels, self.reduce = row, in_channels, reduce
        self.branch1 = ConvReLU(in_channels, row.n1x1, 1)
        if reduce:
            self.branch3 = nn.Sequential(
                ConvReLU(in_channels, row.n3x3red, 1), ConvReLU(row.n3x3red, row.n3x3, 3)
            )
            self.branch5 = nn.Sequential(
                ConvReLU(in_channels, row.n5x5red, 1), ConvReLU(row.n5x5red, row.n5x5, 5)
            )
        else:
            self.branch3 = nn.Sequential(ConvReLU(in_channels, row.n3x3, 3))
            self.branch5 = nn.Sequential(ConvReLU(in_channels, row.n5x5, 5))
        pool = nn.MaxPool2d(3, stride=1, padding=1)
        if pool_proj:
            self.branch_pool = nn.Sequential(pool, ConvReLU(in_channels, row.pool_proj, 1))
        else:
            self.branch_pool = nn.Sequential(pool)
        self.out_channels = row.n1x1 + row.n3x3 + row.n5x5 + (row.pool_proj if pool_proj else in_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: N x C_in x H x W; each branch keeps H x W.
        branches = [self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)]
        return torch.cat(branches, 1)  # N x out_channels x H x W


class AuxClassifier(nn.Module):
    """Auxiliary classifier of Sec. 5, on the outputs of 4a and 4d (training only).

    5x5/3 average pool, 1x1 conv with 128 filters + ReLU, fully connected 1024 + ReLU, 70% dropout,
    linear classifier. ``grid`` is the pooled map's side (4 for a 14x14 map from a 224 input).
    """

    def __init__(self, in_channels: int, num_classes: int, grid: int = 4, width: float = 1.0) -> None:
        super().__init__()
        self.grid = grid
        proj, hidden = _scale(128, width), _scale(1024, width)
        self.pool = nn.AvgPool2d(5, stride=3)
        self.conv = ConvReLU(in_channels, proj, 1)
        self.fc1 = nn.Linear(proj * grid * grid, hidden)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.pool(x))  # ImageNet: N x 128 x 4 x 4 (from 14 x 14)
        x = self.dropout(self.relu(self.fc1(torch.flatten(x, 1))))  # N x 1024
        return self.fc2(x)  # N x num_classes


class GoogLeNet(nn.Module):
    """Stem, nine Inception modules with max pools between the stages, average pool, dropout, linear.

    In training mode with ``aux_logits=True``, ``forward`` returns ``(main, aux1, aux2)``; otherwise
    (eval mode, or no auxiliary heads) the main logits only. Weight the auxiliary losses by
    :data:`AUX_LOSS_WEIGHT`.
    """

    def __init__(
        self,
        name: str,
        stem: nn.Sequential,
        stem_ops: list[SpatialOp],
        stem_channels: int,
        num_classes: int,
        *,
        aux_logits: bool = False,
        aux_grid: int = 4,
        width: float = 1.0,
        dropout: float = 0.4,
        init: str = "kaiming",
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.name, self.in_channels = name, in_channels
        # Inception modules keep the map size, so only the stem and the two stage pools shrink it.
        self.min_input_size, self.max_input_size = valid_size_range([*stem_ops, STAGE_POOL, STAGE_POOL])
        # The auxiliary heads' first FC layer fixes their pooled map, hence the input size, in training.
        self.aux_input_range = valid_size_range([*stem_ops, STAGE_POOL, AUX_POOL], final=aux_grid)
        self.stem = stem
        self.inception = nn.ModuleDict()
        ch = stem_channels
        for row in TABLE1:
            module = Inception(ch, row.scaled(width) if width != 1.0 else row)
            self.inception[row.name] = module
            ch = module.out_channels
        self.pool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)  # STAGE_POOL
        self.pool4 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.aux1: AuxClassifier | None = None
        self.aux2: AuxClassifier | None = None
        if aux_logits:
            self.aux1 = AuxClassifier(self.inception["4a"].out_channels, num_classes, aux_grid, width)
            self.aux2 = AuxClassifier(self.inception["4d"].out_channels, num_classes, aux_grid, width)
        # Global average pooling: at 224 x 224 it is exactly Table 1's 7x7/1 average pool.
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(ch, num_classes)
        # The paper (trained with DistBelief) does not state its initialization. Without batch norm a
        # 22-layer ReLU net needs a variance-preserving start to train from scratch: He et al. (2015),
        # in fan-in mode. Fan-out would scale each branch's signal by about C_in / C_branch_out (> 1 in
        # every branch, e.g. 192 / 16 for 3a's 5x5 reduction), which compounds to a ~200x larger output
        # after nine modules and an immediately diverging loss.
        init_weights(self, init, mode="fan_in")

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        aux = self.aux1 is not None and self.training
        if aux:
            check_input(
                x,
                self.aux_input_range[0],
                self.name,
                channels=self.in_channels,
                max_size=self.aux_input_range[1],
                module=self,
            )
        else:
            check_input(x, self.min_input_size, self.name, channels=self.in_channels, module=self)
        inc = self.inception
        # Shapes for googlenet at 224 x 224 | googlenet_cifar at 32 x 32 (width 1).
        x = self.stem(x)  # N x 192 x 28 x 28 | N x 192 x 16 x 16
        x = inc["3b"](inc["3a"](x))  # N x 480 x 28 x 28 | 16 x 16
        x = self.pool3(x)  # N x 480 x 14 x 14 | 8 x 8
        x = inc["4a"](x)  # N x 512 x 14 x 14
        aux1 = self.aux1(x) if aux else None  # N x num_classes
        x = inc["4d"](inc["4c"](inc["4b"](x)))  # N x 528 x 14 x 14
        aux2 = self.aux2(x) if aux else None  # N x num_classes
        x = inc["4e"](x)  # N x 832 x 14 x 14
        x = self.pool4(x)  # N x 832 x 7 x 7 | 4 x 4
        x = inc["5b"](inc["5a"](x))  # N x 1024 x 7 x 7 | 4 x 4
        x = torch.flatten(self.avgpool(x), 1)  # N x 1024
        x = self.fc(self.dropout(x))  # N x num_classes
        if aux:
            return x, aux1, aux2
        return x


def googlenet(
    num_classes: int = 1000, *, aux_logits: bool = False, dropout: float = 0.4, init: str = "kaiming"
) -> GoogLeNet:
    """GoogLeNet as in Table 1 of Szegedy et al. (2015), for 224 x 224 inputs.

    Stem: conv 7x7/2 (64) + ReLU, max pool 3x3/2, LRN, conv 1x1 (64) + ReLU, conv 3x3 (192) + ReLU,
    LRN, max pool 3x3/2. Inception 3a-3b, max pool, 4a-4e, max pool, 5a-5b (rows of :data:`TABLE1`,
    with true 5x5 convolutions), 7x7 average pool, 40% dropout, linear. ``aux_logits=True`` adds the
    two auxiliary classifiers of Sec. 5 on 4a and 4d; they are off by default because they only
    exist for training, and parameter/MAC counts describe the inference network.

    Differences from the paper: the LRN constants are the Caffe reference model's (the paper gives
    none); weights start from He et al. (2015) initialization (the paper does not state its own;
    ``init`` picks another scheme of :func:`ecg_lib.models._common.init_weights`);
    the final average pool is global, which equals the paper's 7x7 pool at 224 x 224 and also
    accepts larger inputs. Unlike torchvision's ``googlenet`` there is no batch norm and the 5x5
    branch really is 5x5.
    """
    stem = nn.Sequential(
        ConvReLU(3, 64, 7, stride=2),  # N x 64 x 112 x 112
        nn.MaxPool2d(3, stride=2, ceil_mode=True),  # N x 64 x 56 x 56
        _lrn(),
        ConvReLU(64, 64, 1),
        ConvReLU(64, 192, 3),  # N x 192 x 56 x 56
        _lrn(),
        nn.MaxPool2d(3, stride=2, ceil_mode=True),  # N x 192 x 28 x 28
    )
    stem_ops = [SpatialOp(7, 2, 3), STAGE_POOL, SpatialOp(1), SpatialOp(3, 1, 1), STAGE_POOL]
    return GoogLeNet(
        "googlenet",
        stem,
        stem_ops,
        192,
        num_classes,
        aux_logits=aux_logits,
        aux_grid=4,
        dropout=dropout,
        init=init,
    )


def googlenet_cifar(
    num_classes: int = 10,
    *,
    width: float = 1.0,
    aux_logits: bool = False,
    dropout: float = 0.4,
    init: str = "kaiming",
) -> GoogLeNet:
    """GoogLeNet with its stem adapted to 32 x 32 CIFAR-10 images, and an optional width multiplier.

    Same nine Inception rows (:data:`TABLE1`), pools, dropout and optional auxiliary heads as
    :func:`googlenet` (Szegedy et al., 2015). The stem differs, because the ImageNet stem shrinks
    224 to 28 (8x) and would leave 4x4 maps for 3a and 1x1 for 5a: here conv 3x3/1 (64) replaces
    the 7x7/2 conv and only the first of the two stem max pools is kept, so Inception 3 sees
    16x16, Inception 4 8x8 and Inception 5 4x4 maps. The auxiliary heads keep the 5x5/3 average
    pool, which gives a 2x2 map (not 4x4) and a correspondingly smaller first FC layer.
    ``width`` multiplies every filter count (stem, Inception rows, auxiliary heads; rounded, at
    least 1) so a CPU can train the net: MACs fall roughly with ``width**2``.
    """
    if not width > 0:
        raise ValueError(f"width must be positive, got {width!r}.")
    c1, c2, c3 = (_scale(c, width) for c in STEM_CHANNELS)
    stem = nn.Sequential(
        ConvReLU(3, c1, 3),  # N x 64 x 32 x 32
        nn.MaxPool2d(3, stride=2, ceil_mode=True),  # N x 64 x 16 x 16
        _lrn(),
        ConvReLU(c1, c2, 1),
        ConvReLU(c2, c3, 3),  # N x 192 x 16 x 16
        _lrn(),
    )
    stem_ops = [SpatialOp(3, 1, 1), STAGE_POOL, SpatialOp(1), SpatialOp(3, 1, 1)]
    return GoogLeNet(
        "googlenet_cifar",
        stem,
        stem_ops,
        c3,
        num_classes,
        aux_logits=aux_logits,
        aux_grid=2,
        width=width,
        dropout=dropout,
        init=init,
    )


_PAPER = "szegedy2015going"
SPECS: list[ModelSpec] = [
    ModelSpec(
        "googlenet", "googlenet", googlenet, (3, 224, 224), 1000, _PAPER, "GoogLeNet, ImageNet (Table 1)"
    ),
    ModelSpec(
        "googlenet_cifar",
        "googlenet",
        googlenet_cifar,
        (3, 32, 32),
        10,
        _PAPER,
        "GoogLeNet with a 32x32 stem and a width multiplier",
    ),
]
