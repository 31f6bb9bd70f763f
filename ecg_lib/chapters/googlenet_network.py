"""The GoogLeNet chapter's overview of the whole network: one row per layer of the stem, per Inception
module and per layer of the classifier, each with the shape it outputs for one image and its parameters,
traced on the built network (:func:`ecg_lib.chapters.source.shape_walk`), never typed."""

from __future__ import annotations

import torch
from torch import nn

from ecg_lib.chapters.common import markdown_table
from ecg_lib.chapters.source import shape_walk
from ecg_lib.models import googlenet as googlenet_models

__all__ = ["layer_name", "network_outline"]


def _window(value: int | tuple[int, ...]) -> int:
    return value if isinstance(value, int) else value[0]


def layer_name(module: nn.Module, path: str) -> str:
    """A layer as the paper's Table 1 names it ("conv 7×7/2", "max pool 3×3/2", "inception (3a)"), from
    the module itself; ``path`` (its name in the network) names an Inception module."""
    if isinstance(module, googlenet_models.Inception):
        return f"inception ({path.rsplit('.', 1)[-1]})"
    if isinstance(module, nn.Sequential) and isinstance(module[0], nn.Conv2d):  # ConvReLU
        module = module[0]
    if isinstance(module, nn.Conv2d | nn.MaxPool2d):
        k, s = _window(module.kernel_size), _window(module.stride)
        kind = "conv" if isinstance(module, nn.Conv2d) else "max pool"
        return f"{kind} {k}×{k}" + (f"/{s}" if s > 1 else "")
    if isinstance(module, nn.LocalResponseNorm):
        return "local response normalisation"
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return "global average pool"
    if isinstance(module, nn.Dropout):
        return f"dropout {module.p:.0%}"
    if isinstance(module, nn.Linear):
        return "linear"
    return type(module).__name__


def network_outline(model: nn.Module | None = None, side: int = 224) -> str:
    """The network ``model`` (default: the ImageNet GoogLeNet of Table 1) as a three-column Markdown
    table: each layer of the stem, each Inception module and each layer after them, with the shape it
    outputs for one ``side`` x ``side`` image and its parameters."""
    model = googlenet_models.googlenet() if model is None else model
    modules = dict(model.named_modules())
    x = torch.randn(1, getattr(model, "in_channels", 3), side, side)
    # the stem's layers and the Inception modules sit two levels down, the classifier's one level
    steps = [s for s in shape_walk(model, x, max_depth=2) if s.name not in ("", "stem")]
    rows = [[layer_name(modules[s.name], s.name), " × ".join(map(str, s.output_shape[1:])), f"{s.params:,}"]
            for s in steps]  # fmt: skip
    return markdown_table(["layer", "output (C × H × W)", "parameters"], rows)
