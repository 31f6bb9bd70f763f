"""The ResNet chapter's arithmetic: the bottleneck block, Tables 1 and 6, the shortcut options of Table 3
and torchvision's ResNet-50, every network built on the meta device and counted by
:mod:`ecg_lib.counting` (no training, the same in every profile; the paper's figures from
:mod:`ecg_lib.papers`). Re-exported by :mod:`ecg_lib.experiments.resnet`, whose ``tables`` experiment is
:func:`tables_experiment`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ecg_lib import papers
from ecg_lib.counting import count_macs, count_params
from ecg_lib.experiments import ExperimentResult, without_data
from ecg_lib.models import get_model
from ecg_lib.models import resnet as R
from ecg_lib.profiles import check_profile
from ecg_lib.train import run_info

__all__ = [
    "BlockCost",
    "CifarRow",
    "ImageNetRow",
    "ShortcutOption",
    "bottleneck_comparison",
    "shortcut_options",
    "table1_rows",
    "table6_rows",
    "tables_experiment",
    "torchvision_resnet50",
    "vgg_macs",
]


def _meta(build, *args: Any, **kwargs: Any) -> nn.Module:
    with torch.device("meta"):
        return build(*args, **kwargs)


def _conv_weights(module: nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Conv2d))


@dataclass(frozen=True)
class BlockCost:
    """One building block: its layers in words, convolution weights, all parameters (with batch norm)
    and MACs of one image at ``side`` x ``side``."""

    label: str
    layers: str
    in_channels: int
    weights: int
    params: int
    macs: int
    side: int


def _block_cost(label: str, layers: str, block: nn.Module, in_channels: int, side: int) -> BlockCost:
    return BlockCost(
        label, layers, in_channels, _conv_weights(block), count_params(block),
        count_macs(block, (in_channels, side, side)), side,
    )  # fmt: skip


def bottleneck_comparison(side: int = 56) -> list[BlockCost]:
    """The three blocks of the bottleneck argument (He et al., 2016, Sec. 4.1 and Fig. 5), built as
    modules and counted at the conv2_x map size (56 x 56 by default):

    * the bottleneck on a 256-channel input: 1x1 to 64, 3x3 at 64, 1x1 back to 256;
    * two 3x3 layers at 64 channels (the basic block of ResNet-34's conv2_x, Fig. 5 left);
    * two 3x3 layers at 256 channels (a basic block as wide as the bottleneck's input and output).
    """
    return [
        _block_cost("bottleneck, 256-d", "1x1, 64 / 3x3, 64 / 1x1, 256",
                    _meta(R.Bottleneck, 256, 64, 1, "B"), 256, side),
        _block_cost("two 3x3, 64-d", "3x3, 64 / 3x3, 64", _meta(R.BasicBlock, 64, 64, 1, "B"), 64, side),
        _block_cost("two 3x3, 256-d", "3x3, 256 / 3x3, 256",
                    _meta(R.BasicBlock, 256, 256, 1, "B"), 256, side),
    ]  # fmt: skip


@dataclass(frozen=True)
class ImageNetRow:
    """One column of Table 1: our parameter and MAC counts at 224 x 224 against the paper's FLOPs.

    ``macs`` is the paper's network (stride 2 in the bottleneck's first 1x1); ``macs_v15`` moves the
    stride to the 3x3, as torchvision's ResNets do (the figure most model zoos quote)."""

    depth: int
    block: str
    params: int
    macs: int
    macs_v15: int
    paper_gmacs: float

    @property
    def rel_diff(self) -> float:
        """Our MACs relative to the paper's rounded figure (e.g. 0.015 is 1.5% above)."""
        return self.macs / (self.paper_gmacs * 1e9) - 1


def table1_rows() -> list[ImageNetRow]:
    """Parameters and MACs of the five ImageNet ResNets of Table 1, counted on the meta device."""
    rows = []
    for depth, (kind, _sizes) in R.IMAGENET_CONFIGS.items():
        model = _meta(R.resnet_imagenet, depth, init="default")
        macs = count_macs(model, (3, 224, 224))
        # Only a bottleneck has a 1x1 before its 3x3 to put the stride on; basic blocks are the same.
        v15 = count_macs(_meta(R.resnet_imagenet, depth, stride_on="3x3", init="default"), (3, 224, 224)) \
            if kind == "bottleneck" else macs  # fmt: skip
        paper = papers.RESNET_TABLE1_GMACS[depth]
        rows.append(ImageNetRow(depth, kind, count_params(model), macs, v15, paper))
    return rows


def vgg_macs() -> dict[int, int]:
    """MACs of one 224 x 224 image through VGG-16 and VGG-19 (configurations D and E), counted."""
    return {16: count_macs(_meta(get_model, "vgg_d"), (3, 224, 224)),
            19: count_macs(_meta(get_model, "vgg_e"), (3, 224, 224))}  # fmt: skip


@dataclass(frozen=True)
class CifarRow:
    """A CIFAR-10 ResNet of Table 6: our parameter count beside the paper's figures."""

    depth: int
    blocks: int
    params: int
    paper_params_m: float
    paper_error: float


def table6_rows() -> list[CifarRow]:
    """Exact parameter counts for every depth of Table 6, from the registry's nets."""
    rows = []
    for depth in R.CIFAR_DEPTHS:
        # Counting needs shapes only: PyTorch's default init is much faster than He init on the meta device.
        model = _meta(R.resnet_cifar, depth, init="default")
        params_m, error = papers.RESNET_TABLE6[depth]
        rows.append(CifarRow(depth, len(model.blocks), count_params(model), params_m, error))
    return rows


@without_data
def tables_experiment(data: None = None, *, profile: str, settings: None = None,
                      context: Any = None) -> ExperimentResult:
    """The chapter's arithmetic (no training, the same in every profile): the bottleneck comparison and
    Tables 1 and 6. ``profile`` is recorded (an unknown one raises
    :class:`~ecg_lib.profiles.UnknownProfileError`)."""
    check_profile(profile)
    return ExperimentResult(
        name="resnet.tables",
        profile=profile,
        metrics={
            "bottleneck": [vars(b) for b in bottleneck_comparison()],
            "table1": [vars(r) for r in table1_rows()],
            "table6": [vars(r) for r in table6_rows()],
            "vgg_macs": vgg_macs(),
        },
        run_info=run_info(profile=profile),
    )


@dataclass(frozen=True)
class ShortcutOption:
    """One shortcut option of Table 3 on ResNet-34, counted on the built network."""

    option: str
    params: int
    projections: int  # shortcuts that are 1x1 convolutions
    zero_pad: int  # option A shortcuts (no parameters)
    identities: int
    paper_top1: float  # Table 3, 10-crop ImageNet validation error
    paper_top5: float


def shortcut_options(depth: int = 34) -> list[ShortcutOption]:
    """ResNet-``depth`` (ImageNet, Table 1) with shortcut option A, B and C, built on the meta device and
    counted, beside Table 3's errors (:data:`ecg_lib.papers.RESNET_TABLE3`)."""
    out = []
    for option in ("A", "B", "C"):
        model = _meta(R.resnet_imagenet, depth, shortcut=option)
        kinds = [type(b.shortcut).__name__ for b in model.blocks]
        top1, top5 = papers.RESNET_TABLE3[f"ResNet-34 {option}"]
        counts = [kinds.count(k) for k in ("Sequential", "ZeroPadShortcut", "Identity")]
        out.append(ShortcutOption(option, count_params(model), *counts, top1, top5))
    return out

def torchvision_resnet50() -> dict[str, Any]:
    """Where torchvision's ResNet-50 (``weights=None``) puts the stride of a downsampling bottleneck, and
    its parameters and MACs at 224 x 224 beside the paper's network (stride on the first 1x1)."""
    import torchvision.models as tvm

    with torch.device("meta"):
        tv = tvm.resnet50(weights=None)
    ours = _meta(R.resnet_imagenet, 50)
    first = tv.layer2[0]
    ours_first = next(b for b in ours.blocks if b.name == "conv3_1")
    return {
        "tv_strides": [first.conv1.stride[0], first.conv2.stride[0], first.conv3.stride[0]],
        "paper_strides": [ours_first.residual_branch[i].stride[0] for i in (0, 3, 6)],
        "tv_params": count_params(tv),
        "paper_params": count_params(ours),
        "tv_macs": count_macs(tv, (3, 224, 224)),
        "paper_macs": count_macs(ours, (3, 224, 224)),
    }
