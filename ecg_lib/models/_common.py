"""Pieces shared by the model modules: the registry entry type, the input check and the AlexNet LRN."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

__all__ = [
    "ALEXNET_LRN",
    "ModelSpec",
    "SpatialOp",
    "check_input",
    "init_weights",
    "lrn",
    "output_size",
    "valid_size_range",
]


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
    module: nn.Module | None = None,
) -> None:
    """Raise a ``ValueError`` that says what is valid unless ``x`` is an ``N x channels x H x W`` batch
    with ``min_size <= H, W`` (and ``H, W <= max_size`` when the network's head fixes the map size) of
    floating-point values (of the dtype of ``module``'s weights, when given).

    Models call this first in ``forward`` (passing ``module=self``) and store ``min_size`` as
    ``self.min_input_size`` (and ``max_size`` as ``self.max_input_size``) so that tools can find the
    smallest valid input.
    """
    _check_dtype(x, name, module)
    valid = f"{name} expects a batch of shape N x {channels} x H x W with "
    valid += f"{min_size} <= H, W <= {max_size}" if max_size is not None else f"H, W >= {min_size}"
    if x.dim() != 4:
        hint = " (add a batch dimension with x.unsqueeze(0))" if x.dim() == 3 else ""
        raise ValueError(f"{valid}; got a {x.dim()}-dimensional tensor of shape {tuple(x.shape)}{hint}.")
    if x.shape[1] != channels:
        raise ValueError(f"{valid}; got {x.shape[1]} channels (input shape {tuple(x.shape)}).")
    h, w = x.shape[-2:]
    if max_size is not None and not (min_size <= min(h, w) and max(h, w) <= max_size):
        raise ValueError(
            f"{valid}; got {h}x{w}. Its fully connected head is sized for the paper's input, so resize or "
            f"crop to a side between {min_size} and {max_size} (e.g. {min_size}x{min_size})."
        )
    if min(h, w) < min_size:
        raise ValueError(
            f"{valid}; got {h}x{w}, which is too small: the feature maps would vanish before the "
            f"classifier. Resize or pad the input to at least {min_size}x{min_size}."
        )


def _check_dtype(x: torch.Tensor, name: str, module: nn.Module | None) -> None:
    """Raw images (uint8) or float64 arrays reach a model easily (``model(data.test_x[:4])``) and would fail
    deep inside the first convolution with a dtype message that does not say what to do."""
    use = ("normalise uint8 images with ecg_lib.data.Normalizer first, e.g. Normalizer.from_images("
           "data.train_x, 'channel')(x), or history.normalizer(x) for a trained model")  # fmt: skip
    if not x.is_floating_point():
        raise ValueError(f"{name} takes float images, got {x.dtype}: {use}.")
    if module is None:
        return
    weight = next((p for p in module.parameters() if p.is_floating_point()), None)
    if weight is not None and x.dtype != weight.dtype and not _autocast(x):
        raise ValueError(f"{name}'s weights are {weight.dtype} but the input is {x.dtype}: pass "
                         f"x.to({weight.dtype}) ({use}).")  # fmt: skip


def _autocast(x: torch.Tensor) -> bool:
    """Whether autocast is on for ``x``'s device: then mixed dtypes are expected (meta tensors: never)."""
    try:
        return torch.is_autocast_enabled(x.device.type)
    except RuntimeError:  # a device type autocast does not know, e.g. meta
        return False


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


@dataclass(frozen=True)
class SpatialOp:
    """The size arithmetic of one conv or pooling layer (square kernels), as PyTorch computes it."""

    kernel: int
    stride: int = 1
    padding: int = 0
    ceil_mode: bool = False
    dilation: int = 1

    def out(self, size: int) -> int:
        """Output side length for an input side ``size``; 0 or less means the layer cannot run."""
        span = size + 2 * self.padding - self.dilation * (self.kernel - 1) - 1
        if span < 0 and not self.ceil_mode:
            return 0
        if not self.ceil_mode:
            return span // self.stride + 1
        n = math.ceil(span / self.stride) + 1
        # PyTorch (like Caffe) drops a last window that would start in the right padding.
        if (n - 1) * self.stride >= size + self.padding:
            n -= 1
        return n if span > -self.stride else 0


def output_size(size: int, ops: Sequence[SpatialOp]) -> int:
    """Side length after ``ops``; 0 if some layer would get a map smaller than it can process."""
    for op in ops:
        size = op.out(size)
        if size < 1:
            return 0
    return size


def valid_size_range(
    ops: Sequence[SpatialOp], final: int | None = None, limit: int = 4096
) -> tuple[int, int | None]:
    """Smallest (and, when a fully connected head fixes the final map to ``final`` pixels, largest)
    input side for which ``ops`` run. Output size is non-decreasing in input size, so the valid
    sizes form one interval."""
    sizes = [(n, output_size(n, ops)) for n in range(1, limit + 1)]
    ok = [n for n, out in sizes if (out >= 1 if final is None else out == final)]
    if not ok:
        raise ValueError(f"No input side up to {limit} gives a valid output for these layers.")
    return ok[0], (None if final is None else ok[-1])


def init_weights(
    model: nn.Module, scheme: str = "kaiming", std: float = 0.01, *, mode: str = "fan_out"
) -> None:
    """Initialise conv/linear/BN layers in place.

    ``"kaiming"``: He et al. (2015) normal init (``mode`` fan-out or fan-in, ReLU gain) for convolutions,
    because it keeps activations from shrinking or exploding in deep ReLU stacks (fan-in preserves the
    forward signal, fan-out the gradients); N(0, ``std``) for linear layers; zero
    biases; BN weight 1, bias 0. ``"paper"``: N(0, ``std``) for every conv/linear weight, zero biases
    (the 2012-2014 papers' Gaussian init). ``"glorot"``: Glorot & Bengio (2010) uniform init for
    conv/linear weights, zero biases. ``"default"``: leave PyTorch's own init.
    """
    if scheme == "default":
        return
    if scheme not in ("kaiming", "paper", "glorot"):
        raise ValueError(f"Unknown init scheme {scheme!r}; use 'kaiming', 'paper', 'glorot' or 'default'.")
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            if scheme == "glorot":
                nn.init.xavier_uniform_(m.weight)
            elif scheme == "kaiming" and isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
            else:
                nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
