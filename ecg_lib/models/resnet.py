"""Residual networks (He, Zhang, Ren and Sun, CVPR 2016, "Deep Residual Learning for Image Recognition").

Two families from the paper:

* ImageNet nets of Table 1: ``resnet18/34`` (basic two-layer blocks) and ``resnet50/101/152``
  (bottleneck 1x1-3x3-1x1 blocks). Projection shortcuts (option B) only where the shape changes.
  The bottleneck downsamples in its first 1x1 convolution, as the paper's released models do
  ("downsampling is performed by conv3_1, conv4_1, and conv5_1 with a stride of 2"); torchvision's
  "V1.5" moves the stride to the 3x3 convolution, which costs more multiply-adds
  (``stride_on="3x3"`` builds that variant for comparison).
* CIFAR-10 nets of Section 4.2: 6n+2 layers, 16/32/64 filters on 32/16/8 maps, identity shortcuts
  with zero padding where the shape changes (option A, no extra parameters), and their "plain"
  counterparts with the same layers and no shortcuts.

Every network keeps its residual blocks in one flat ``model.blocks`` (an ``nn.Sequential``), so a
block can be addressed by index; :func:`drop_block` returns a copy with blocks bypassed, for the
lesion study of Veit, Wilber and Belongie (NeurIPS 2016).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ecg_lib.models._common import ModelSpec, check_input, init_weights

__all__ = [
    "CIFAR_DEPTHS",
    "IMAGENET_CONFIGS",
    "BasicBlock",
    "Bottleneck",
    "Bypass",
    "ResNet",
    "ZeroPadShortcut",
    "drop_block",
    "plain20",
    "plain32",
    "plain44",
    "plain56",
    "plain110",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet34",
    "resnet44",
    "resnet50",
    "resnet56",
    "resnet101",
    "resnet110",
    "resnet152",
    "resnet1202",
    "resnet_cifar",
    "resnet_imagenet",
]

BlockKind = Literal["basic", "bottleneck"]
Shortcut = Literal["A", "B", "C"]

# Table 1 of the paper: block type and number of blocks in conv2_x, conv3_x, conv4_x, conv5_x.
IMAGENET_CONFIGS: dict[int, tuple[BlockKind, tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
IMAGENET_WIDTHS = (64, 128, 256, 512)  # the 3x3 layers' filters per stage; a bottleneck outputs 4x
BOTTLENECK_EXPANSION = 4

# Section 4.2: depth 6n+2 with n blocks per stage; the paper trains these depths.
CIFAR_DEPTHS = (20, 32, 44, 56, 110, 1202)
CIFAR_WIDTHS = (16, 32, 64)


def _conv_bn(in_ch: int, out_ch: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    # No conv bias: the batch norm that follows has its own shift.
    return [nn.Conv2d(in_ch, out_ch, kernel, stride, padding=kernel // 2, bias=False), nn.BatchNorm2d(out_ch)]


class ZeroPadShortcut(nn.Module):
    """Option A shortcut: identity with stride-``s`` subsampling and zero channels appended."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"option A can only add channels ({in_channels} -> {out_channels}).")
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x[:, :, :: self.stride, :: self.stride]  # N x C_in x ceil(H/s) x ceil(W/s)
        return F.pad(x, (0, 0, 0, 0, 0, self.out_channels - self.in_channels))  # N x C_out x ...

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride}"


def _make_shortcut(in_ch: int, out_ch: int, stride: int, kind: Shortcut | None) -> nn.Module | None:
    """``None`` for a plain block; identity when the shape is kept; option A or B otherwise.
    Option C (Table 3) projects on every shortcut, the shape-keeping ones too."""
    if kind is None:
        return None
    if kind == "C":
        return nn.Sequential(*_conv_bn(in_ch, out_ch, 1, stride))
    if stride == 1 and in_ch == out_ch:
        return nn.Identity()
    if kind == "A":
        return ZeroPadShortcut(in_ch, out_ch, stride)
    if kind == "B":
        return nn.Sequential(*_conv_bn(in_ch, out_ch, 1, stride))
    raise ValueError(f"shortcut must be 'A', 'B', 'C' or None (plain), got {kind!r}.")


class _Block(nn.Module):
    """Shared bookkeeping: ``residual`` sums the shortcut, ``downsamples`` marks a shape change."""

    residual_branch: nn.Sequential
    shortcut: nn.Module | None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        shortcut: Shortcut | None,
        residual_branch: nn.Sequential,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        # Registered before the shortcut, so parameters come in torchvision's order.
        self.residual_branch = residual_branch
        self.shortcut = _make_shortcut(in_channels, out_channels, stride, shortcut)
        self.relu = nn.ReLU(inplace=True)

    @property
    def residual(self) -> bool:
        return self.shortcut is not None

    @property
    def downsamples(self) -> bool:
        return self.stride != 1 or self.in_channels != self.out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.residual_branch(x)  # N x C_out x H/s x W/s
        if self.shortcut is not None:
            out = out + self.shortcut(x)  # Eq. (1)/(2): F(x) + x, or F(x) + W_s x
        return self.relu(out)


class BasicBlock(_Block):
    """Two 3x3 convolutions (Fig. 5 left); the first one carries the stride."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, shortcut: Shortcut | None = "B"):
        branch = nn.Sequential(
            *_conv_bn(in_channels, out_channels, 3, stride),
            nn.ReLU(inplace=True),
            *_conv_bn(out_channels, out_channels, 3),
        )
        super().__init__(in_channels, out_channels, stride, shortcut, branch)


class Bottleneck(_Block):
    """1x1 reduce, 3x3, 1x1 expand (Fig. 5 right); ``stride_on`` says which conv downsamples.

    ``expansion``: output channels per 3x3 filter (the paper's 4); other values are for exploring the
    bottleneck's trade-off, the networks always use 4."""

    def __init__(
        self,
        in_channels: int,
        width: int,
        stride: int = 1,
        shortcut: Shortcut | None = "B",
        stride_on: Literal["1x1", "3x3"] = "1x1",
        expansion: int = BOTTLENECK_EXPANSION,
    ) -> None:
        if stride_on not in ("1x1", "3x3"):
            raise ValueError(
                f"stride_on must be '1x1' (the paper) or '3x3' (torchvision), got {stride_on!r}."
            )
        if not isinstance(expansion, int) or expansion < 1:
            raise ValueError(f"expansion must be a positive integer, got {expansion!r}.")
        out_channels = width * expansion
        s1, s3 = (stride, 1) if stride_on == "1x1" else (1, stride)
        branch = nn.Sequential(
            *_conv_bn(in_channels, width, 1, s1),
            nn.ReLU(inplace=True),
            *_conv_bn(width, width, 3, s3),
            nn.ReLU(inplace=True),
            *_conv_bn(width, out_channels, 1),
        )
        super().__init__(in_channels, out_channels, stride, shortcut, branch)


class Bypass(nn.Module):
    """A block with its residual branch removed: ``relu(shortcut(x))``, or ``x`` for a plain block.

    Built by :func:`drop_block`; ``original`` keeps the removed block so the copy can be inspected.
    """

    def __init__(self, block: _Block, shortcut: nn.Module) -> None:
        super().__init__()
        self.shortcut = shortcut
        self.relu = nn.ReLU(inplace=False)
        # Kept outside the module tree so that the bypassed copy has no dead parameters.
        self.__dict__["original"] = block
        self.in_channels, self.out_channels, self.stride = block.in_channels, block.out_channels, block.stride
        self.name, self.stage = block.name, block.stage

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.shortcut(x))  # what the block computes when F(x) = 0


class ResNet(nn.Module):
    """Stem, a flat sequence of blocks, global average pooling, one fully connected layer.

    ``blocks[i].stage`` (1-based) and ``blocks[i].name`` (the paper's layer name, e.g. ``conv3_1``
    for the ImageNet nets, ``stage2.1`` for the CIFAR nets) locate a block in the paper's tables.
    """

    def __init__(
        self,
        name: str,
        stem: nn.Module,
        blocks: list[_Block],
        num_classes: int,
        *,
        in_channels: int = 3,
        init: str = "kaiming",
    ) -> None:
        super().__init__()
        self.name, self.in_channels = name, in_channels
        # Every stride-2 layer pads, so any side >= 1 runs (the paper uses 224 and 32).
        self.min_input_size, self.max_input_size = 1, None
        self.stem = stem
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(blocks[-1].out_channels, num_classes)
        # He et al. (2015) init, which the paper uses (Sec. 3.4); BN starts as the identity.
        init_weights(self, init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.min_input_size, self.name, channels=self.in_channels, module=self)
        x = self.stem(x)  # ImageNet: N x 64 x 56 x 56 (from 224);  CIFAR: N x 16 x 32 x 32
        x = self.blocks(x)  # ImageNet: N x 512|2048 x 7 x 7;         CIFAR: N x 64 x 8 x 8
        x = torch.flatten(self.pool(x), 1)  # N x C
        return self.fc(x)  # N x num_classes


def _name_blocks(blocks: list[_Block], stage_sizes: Iterable[int], fmt: str, first_label: int = 1) -> None:
    i = 0
    for stage, size in enumerate(stage_sizes, start=1):
        for pos in range(1, size + 1):
            blocks[i].stage = stage
            blocks[i].name = fmt.format(label=stage - 1 + first_label, pos=pos)
            i += 1


def resnet_imagenet(
    depth: int,
    num_classes: int = 1000,
    *,
    stride_on: Literal["1x1", "3x3"] = "1x1",
    shortcut: Shortcut = "B",
    in_channels: int = 3,
    init: str = "kaiming",
) -> ResNet:
    """An ImageNet ResNet of Table 1 (He et al., 2016) by depth: 18, 34, 50, 101 or 152.

    Stem: 7x7/2 conv with 64 filters, BN, ReLU, 3x3/2 max pool. Then conv2_x..conv5_x with 64..512
    filters; the first block of conv3_x..conv5_x has stride 2. Shortcuts: identity, or a 1x1
    projection with BN where the shape changes (option B of Sec. 3.3; it is also used for the
    64->256 change at the start of conv2_x of the bottleneck nets). BN after every convolution.

    Weights: He et al. (2015) initialization as in the paper (``init`` picks another scheme of
    :func:`ecg_lib.models._common.init_weights`).

    Differences from the paper: none in the architecture. ``stride_on="3x3"`` is *not* the paper:
    it builds torchvision's "ResNet V1.5" bottleneck for comparison (same parameters, more MACs).
    ``shortcut="A"`` gives the zero-padding shortcuts of the paper's Table 2 ResNet-18/34 and
    ``shortcut="C"`` projections on every shortcut (Table 3 compares the options; option B is what
    the deeper nets and torchvision use).
    """
    if depth not in IMAGENET_CONFIGS:
        raise ValueError(f"ImageNet ResNet depth must be one of {sorted(IMAGENET_CONFIGS)}, got {depth!r}.")
    kind, stage_sizes = IMAGENET_CONFIGS[depth]
    stem = nn.Sequential(
        *_conv_bn(in_channels, 64, 7, 2),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )
    blocks: list[_Block] = []
    ch = 64
    for stage, (size, width) in enumerate(zip(stage_sizes, IMAGENET_WIDTHS, strict=True)):
        for pos in range(size):
            stride = 2 if stage > 0 and pos == 0 else 1
            if kind == "basic":
                block: _Block = BasicBlock(ch, width, stride, shortcut)
            else:
                block = Bottleneck(ch, width, stride, shortcut, stride_on=stride_on)
            blocks.append(block)
            ch = block.out_channels
    # Table 1 calls the stages conv2_x .. conv5_x (conv1 is the stem).
    _name_blocks(blocks, stage_sizes, "conv{label}_{pos}", first_label=2)
    return ResNet(f"resnet{depth}", stem, blocks, num_classes, in_channels=in_channels, init=init)


def resnet_cifar(
    depth: int,
    num_classes: int = 10,
    *,
    residual: bool = True,
    shortcut: Shortcut = "A",
    in_channels: int = 3,
    init: str = "kaiming",
) -> ResNet:
    """A CIFAR-10 network of Sec. 4.2 (He et al., 2016): 6n+2 layers, residual or plain.

    3x3 conv with 16 filters, BN, ReLU on the 32x32 input; three stages of n two-layer blocks with
    16, 32, 64 filters on 32x32, 16x16, 8x8 maps (the first block of stages 2 and 3 has stride 2);
    global average pooling; a 10-way fully connected layer. Shortcuts are identities, and where
    the shape changes option A: stride-2 subsampling plus zero-padded channels (no parameters), so
    the residual net has exactly the parameters of its plain counterpart (``residual=False``).

    Weights: He et al. (2015) initialization as in the paper (``init`` picks another scheme).

    Differences from the paper: none in the architecture. Any depth 6n+2 is accepted;
    ``shortcut="B"`` (projections) is an option the paper uses only on ImageNet.
    """
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise ValueError(
            f"CIFAR ResNet depth must be 6n+2 with n >= 1 (20, 32, 44, 56, 110, 1202), got {depth!r}."
        )
    n = (depth - 2) // 6
    stem = nn.Sequential(*_conv_bn(in_channels, CIFAR_WIDTHS[0], 3), nn.ReLU(inplace=True))
    blocks: list[_Block] = []
    ch = CIFAR_WIDTHS[0]
    for stage, width in enumerate(CIFAR_WIDTHS):
        for pos in range(n):
            stride = 2 if stage > 0 and pos == 0 else 1
            blocks.append(BasicBlock(ch, width, stride, shortcut if residual else None))
            ch = width
    _name_blocks(blocks, [n] * len(CIFAR_WIDTHS), "stage{label}.{pos}")
    name = f"{'resnet' if residual else 'plain'}{depth}"
    return ResNet(name, stem, blocks, num_classes, in_channels=in_channels, init=init)


def drop_block(model: ResNet, index: int | Iterable[int], *, allow_downsampling: bool = False) -> ResNet:
    """A deep copy of ``model`` in which block ``index`` (or each of several) is bypassed.

    The lesion of Veit et al. (2016): a residual block keeps its shortcut and loses its residual
    branch, so it computes ``relu(shortcut(x))`` (``x`` itself for an identity shortcut). A plain
    block has no shortcut: it becomes the identity. A plain block that changes the shape cannot be
    bypassed by an identity, so it is refused unless ``allow_downsampling=True``, which puts the
    parameter-free option A shortcut (subsample, zero-pad) in its place. The original model is left
    untouched; ``model.blocks[i]`` indexes blocks in order (``len(model.blocks)`` of them).
    """
    if not isinstance(model, ResNet):
        raise TypeError(
            f"drop_block expects a ResNet from ecg_lib.models.resnet, got {type(model).__name__}."
        )
    indices = [index] if isinstance(index, int) else list(index)
    count = len(model.blocks)
    out = copy.deepcopy(model)
    for i in indices:
        if not isinstance(i, int) or not -count <= i < count:
            raise IndexError(
                f"block index {i!r} out of range: this network has {count} blocks (0..{count - 1})."
            )
        block = out.blocks[i]
        if isinstance(block, Bypass):
            raise ValueError(f"block {i} ({block.original.name}) is already bypassed.")
        if block.shortcut is not None:
            bypass = Bypass(block, block.shortcut)
        elif not block.downsamples:
            bypass = Bypass(block, nn.Identity())
        elif allow_downsampling:
            bypass = Bypass(block, ZeroPadShortcut(block.in_channels, block.out_channels, block.stride))
        else:
            raise ValueError(
                f"block {i} ({block.name}) of this plain network changes the shape "
                f"({block.in_channels} -> {block.out_channels} channels, stride {block.stride}), so an "
                "identity cannot replace it. Pass allow_downsampling=True to use a zero-padding "
                "shortcut (option A) instead."
            )
        out.blocks[i] = bypass
    return out


def _imagenet_builder(depth: int):
    def build(num_classes: int = 1000, **options) -> ResNet:
        return resnet_imagenet(depth, num_classes, **options)

    build.__name__ = build.__qualname__ = f"resnet{depth}"
    build.__doc__ = f"ResNet-{depth} of Table 1 (He et al., 2016); see :func:`resnet_imagenet`."
    return build


def _cifar_builder(depth: int, residual: bool):
    def build(num_classes: int = 10, **options) -> ResNet:
        return resnet_cifar(depth, num_classes, residual=residual, **options)

    kind = "resnet" if residual else "plain"
    build.__name__ = build.__qualname__ = f"{kind}{depth}"
    build.__doc__ = (
        f"The {depth}-layer {'residual' if residual else 'plain'} CIFAR-10 net of Sec. 4.2 "
        "(He et al., 2016); see :func:`resnet_cifar`."
    )
    return build


resnet18 = _imagenet_builder(18)
resnet34 = _imagenet_builder(34)
resnet50 = _imagenet_builder(50)
resnet101 = _imagenet_builder(101)
resnet152 = _imagenet_builder(152)
resnet20 = _cifar_builder(20, True)
resnet32 = _cifar_builder(32, True)
resnet44 = _cifar_builder(44, True)
resnet56 = _cifar_builder(56, True)
resnet110 = _cifar_builder(110, True)
resnet1202 = _cifar_builder(1202, True)
plain20 = _cifar_builder(20, False)
plain32 = _cifar_builder(32, False)
plain44 = _cifar_builder(44, False)
plain56 = _cifar_builder(56, False)
plain110 = _cifar_builder(110, False)

_PAPER = "he2016deep"
SPECS: list[ModelSpec] = [
    *(
        ModelSpec(f"resnet{d}", "resnet", b, (3, 224, 224), 1000, _PAPER, f"ResNet-{d}, ImageNet (Table 1)")
        for d, b in ((18, resnet18), (34, resnet34), (50, resnet50), (101, resnet101), (152, resnet152))
    ),
    *(
        ModelSpec(f"resnet{d}", "resnet", b, (3, 32, 32), 10, _PAPER, f"ResNet-{d}, CIFAR-10 (Sec. 4.2)")
        for d, b in (
            (20, resnet20),
            (32, resnet32),
            (44, resnet44),
            (56, resnet56),
            (110, resnet110),
            (1202, resnet1202),
        )
    ),
    *(
        ModelSpec(
            f"plain{d}", "resnet", b, (3, 32, 32), 10, _PAPER, f"plain {d}-layer net, CIFAR-10 (Sec. 4.2)"
        )
        for d, b in ((20, plain20), (32, plain32), (44, plain44), (56, plain56), (110, plain110))
    ),
]
