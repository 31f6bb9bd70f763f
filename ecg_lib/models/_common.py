"""Pieces shared by the model modules: the registry entry type, the input check and the AlexNet LRN."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["ALEXNET_LRN", "ModelSpec", "check_input", "lrn"]


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry.

    ``input_size`` is the native (C, H, W) the paper uses; ``num_classes`` the default head size;
    ``paper`` the citation key in ``references.bib``.
    """

    name: str
    family: str
    builder: Callable[..., nn.Module]
    input_size: tuple[int, int, int]
    num_classes: int
    paper: str
    description: str = ""


def check_input(
    x: torch.Tensor,
    min_size: int,
    name: str,
    *,
    channels: int = 3,
    max_size: int | None = None,
) -> None:
    """Raise a ``ValueError`` that says what is valid unless ``x`` is an ``N x channels x H x W`` batch
    with ``min_size <= H, W`` (and ``H, W <= max_size`` when the network's head fixes the map size).

    Models call this first in ``forward`` and store ``min_size`` as ``self.min_input_size`` (and
    ``max_size`` as ``self.max_input_size``) so that tools can find the smallest valid input.
    """
    valid = f"{name} expects a batch of shape N x {channels} x H x W with "
    valid += f"{min_size} <= H, W <= {max_size}" if max_size is not None else f"H, W >= {min_size}"
    if x.dim() != 4:
        hint = " (add a batch dimension with x.unsqueeze(0))" if x.dim() == 3 else ""
        raise ValueError(f"{valid}; got a {x.dim()}-dimensional tensor of shape {tuple(x.shape)}{hint}.")
    if x.shape[1] != channels:
        raise ValueError(f"{valid}; got {x.shape[1]} channels (input shape {tuple(x.shape)}).")
    h, w = x.shape[-2:]
    if min(h, w) < min_size:
        raise ValueError(
            f"{valid}; got {h}x{w}, which is too small: the feature maps would vanish before the "
            f"classifier. Resize or pad the input to at least {min_size}x{min_size}."
        )
    if max_size is not None and max(h, w) > max_size:
        raise ValueError(
            f"{valid}; got {h}x{w}. Its fully connected head is sized for the paper's input, so crop or "
            f"resize to between {min_size}x{min_size} and {max_size}x{max_size}."
        )


# Krizhevsky et al. (2012), Sec. 3.3: b = a / (k + alpha * sum_{n neighbouring maps} a^2) ** beta.
ALEXNET_LRN: dict[str, float] = {"size": 5, "alpha": 1e-4, "beta": 0.75, "k": 2.0}


def lrn(size: int = 5, alpha: float = 1e-4, beta: float = 0.75, k: float = 2.0) -> nn.LocalResponseNorm:
    """Cross-channel local response normalisation with the paper's formula (AlexNet constants by default).

    ``torch.nn.LocalResponseNorm`` divides ``alpha`` by ``size`` (it averages the squares instead of
    summing them), so the paper's ``alpha`` is multiplied by ``size`` here to give the paper's
    ``k + alpha * sum(a^2)``. Both sum over ``size`` maps centred on the current one, clipped at the
    ends, which is the paper's window for odd ``size``.
    """
    if size <= 0 or size % 2 == 0:
        raise ValueError(f"LRN size must be a positive odd number of maps (got {size}).")
    return nn.LocalResponseNorm(size=size, alpha=alpha * size, beta=beta, k=k)
