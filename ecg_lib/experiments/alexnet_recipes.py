"""How the AlexNet chapter's four-layer CIFAR-10 net is built, fed and run in both trained experiments
(the ReLU/tanh races of :mod:`ecg_lib.experiments.alexnet_relu_tanh` and the response-normalisation pair
of :mod:`ecg_lib.experiments.alexnet_lrn`): the two recipes (paper-like and modern), the network built
from a recipe, its input as the network sees it, per-layer activation statistics, the CPU thread count
and the subset a run trains on. Re-exported by :mod:`ecg_lib.experiments.alexnet`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ecg_lib.data import Normalizer
from ecg_lib.models import alexnet as A
from ecg_lib.models import get_model
from ecg_lib.models._common import ALEXNET_LRN
from ecg_lib.models.alexnet import ChannelLRN, RawPixels
from ecg_lib.train import TrainConfig

__all__ = [
    "MODERN", "PAPER", "RECIPES", "Recipe", "activation_stats", "build_cifar_net", "cifar_net_of",
    "cpu_threads", "recipe_config", "recipe_input",
]  # fmt: skip

# ----------------------------------------------------------------------------------------------------------
# Training recipes for the four-layer CIFAR-10 net (its layers ChannelLRN and RawPixels are in
# ecg_lib.models.alexnet and re-exported by ecg_lib.experiments.alexnet)


@dataclass(frozen=True)
class Recipe:
    """How the CIFAR-10 net is initialised, fed and optimised in one of the chapter's two settings."""

    name: str
    description: str
    init: str  # AlexNetCifar init: "paper" (N(0, 0.01), zero biases) or "default" (PyTorch's)
    normalize: str  # fit()'s input normalisation
    raw_pixels: bool  # multiply the centred [0, 1] input by 255 (RawPixels)
    momentum: float


PAPER = Recipe(
    "paper",
    "N(0, 0.01) weights, zero biases, raw RGB minus the mean image, SGD with momentum 0.9 (Sec. 5), "
    "no regularisation",
    init="paper", normalize="mean_image", raw_pixels=True, momentum=0.9,
)  # fmt: skip
MODERN = Recipe(
    "modern",
    "PyTorch's default initialisation, per-channel standardised input, SGD with momentum 0.9",
    init="default", normalize="channel", raw_pixels=False, momentum=0.9,
)  # fmt: skip
RECIPES: dict[str, Recipe] = {r.name: r for r in (PAPER, MODERN)}


def build_cifar_net(activation: str = "relu", *, lrn: bool = False, recipe: Recipe | str = PAPER,
                    seed: int = 0) -> nn.Module:  # fmt: skip
    """The Figure 1 network (``alexnet_cifar``) initialised by ``recipe`` from ``seed``, wrapped in
    :class:`RawPixels` when the recipe feeds raw pixel values; with ``lrn``, its normalisation layers
    are :class:`ChannelLRN`."""
    recipe = RECIPES[recipe] if isinstance(recipe, str) else recipe
    torch.manual_seed(seed)  # same initial weights for every learning rate of a race
    net = get_model("alexnet_cifar", activation=activation, lrn=lrn, init=recipe.init)
    for name, module in list(net.features.named_children()):
        if isinstance(module, nn.LocalResponseNorm):  # same function, faster on a CPU (see ChannelLRN)
            setattr(net.features, name, ChannelLRN(**ALEXNET_LRN))
    return RawPixels(net) if recipe.raw_pixels else net


def cifar_net_of(model: nn.Module) -> A.AlexNetCifar:
    """The AlexNetCifar inside ``model`` (unwraps :class:`RawPixels`)."""
    net = model.net if isinstance(model, RawPixels) else model
    if not isinstance(net, A.AlexNetCifar):
        raise TypeError(f"expected an AlexNetCifar (optionally in RawPixels), got {type(net).__name__}.")
    return net


def recipe_input(recipe: Recipe | str, stats: Tensor | Normalizer, x: Tensor) -> Tensor:
    """uint8 images ``x`` as the recipe's network receives them, including the factor 255 of
    :class:`RawPixels`, so activations can be inspected layer by layer. ``stats`` is the normalizer a run
    used (``history.normalizer``) or the uint8 training images to compute the recipe's statistics from."""
    recipe = RECIPES[recipe] if isinstance(recipe, str) else recipe
    norm = stats if isinstance(stats, Normalizer) else Normalizer.from_images(stats, recipe.normalize)
    if norm.mode != recipe.normalize:
        raise ValueError(f"the {recipe.name} recipe normalizes with {recipe.normalize!r}, not {norm.mode!r}.")
    out = norm(x)
    return out * 255.0 if recipe.raw_pixels else out


@torch.no_grad()
def activation_stats(net: A.AlexNetCifar, x: Tensor) -> list[dict[str, float]]:
    """Per convolutional layer of ``net`` on the network input ``x`` (see :func:`recipe_input`): the
    standard deviation of the pre-activations, the mean slope of the activation function there
    (``1 - tanh(z)**2`` or ``1[z > 0]``) and, for tanh, the fraction of saturated units (``|tanh z| > 0.9``,
    where the slope is below 0.19). Slopes multiply every gradient that flows back through the layer."""
    rows = []
    for name, module in net.features.named_children():
        z = x
        x = module(x)
        if not name.startswith("act"):
            continue
        if net.activation == "tanh":
            slope = 1 - x.pow(2)
            saturated = float((x.abs() > 0.9).float().mean())
        else:
            slope = (z > 0).float()
            saturated = 0.0
        rows.append({"layer": "conv" + name.removeprefix("act"), "pre_std": float(z.std()),
                     "mean_slope": float(slope.mean()), "saturated": saturated})  # fmt: skip
    return rows


def recipe_config(recipe: Recipe | str, train: TrainConfig, **changes: Any) -> TrainConfig:
    """``train`` with the recipe's momentum and input normalisation, and ``changes`` (e.g. ``lr``)."""
    recipe = RECIPES[recipe] if isinstance(recipe, str) else recipe
    return train.replace(momentum=recipe.momentum, normalize=recipe.normalize, **changes)


@contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` intra-op CPU threads (None: leave PyTorch's setting), then restore it.

    The quick profile trains with one thread: on a 2-core machine that other processes share, two
    threads were 2-5 times slower per step than one (each waits for the other at every operation),
    and this chapter took 313 s with two threads against 184 s with one at a load of about 3.
    """
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)

