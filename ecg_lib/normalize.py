"""Image statistics and input normalisation: the mean image, per-channel mean and standard deviation, and
:class:`Normalizer`, which turns uint8 batches into float32 network input with statistics of the training
images."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["Normalizer", "channel_stats", "mean_image"]


def mean_image(x: Tensor) -> Tensor:
    """The mean training image (``3 x H x W``, float32, [0, 1] units).

    AlexNet's only preprocessing: "subtracting the mean activity over the training set from each pixel"
    (Krizhevsky et al., 2012, Sec. 2)."""
    _check_images(x)
    # A chunk's float32 sum of integers is exact (2048 x 255 < 2**24) and the float copy stays small;
    # measured several times faster than one int64 reduction over the batch dimension.
    total = torch.zeros(x.shape[1:], dtype=torch.float64)
    for start in range(0, x.shape[0], 2048):
        total += x[start : start + 2048].to("cpu", torch.float32).sum(0)
    return (total / (255.0 * x.shape[0])).float()


def channel_stats(x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and standard deviation over all pixels (two float32 tensors of 3, [0, 1] units).

    Computed exactly from a 256-bin histogram per channel (cheaper than converting every pixel to float)."""
    _check_images(x)
    values = torch.arange(256, dtype=torch.float64)
    means, stds = [], []
    for c in range(x.shape[1]):
        hist = torch.bincount(x[:, c].reshape(-1).cpu(), minlength=256).double()
        n = hist.sum()
        mean = (hist * values).sum() / n
        var = (hist * values * values).sum() / n - mean**2
        means.append(mean / 255.0)
        stds.append(var.clamp_min(0).sqrt() / 255.0)
    return torch.stack(means).float(), torch.stack(stds).float()


def _check_images(x: Tensor) -> None:
    if x.dtype != torch.uint8 or x.dim() != 4:
        raise ValueError(f"expected uint8 images N x C x H x W, got {x.dtype} with shape {tuple(x.shape)}.")


@dataclass
class Normalizer:
    """uint8 images -> float32 network input: ``(x / 255 - mean) / std``.

    ``mode`` is ``"channel"`` (per-channel mean and std, the usual CIFAR preprocessing), ``"mean_image"``
    (subtract the mean image, no scaling; AlexNet) or ``"none"`` (only ``x / 255``). Statistics come
    from the training images and are applied unchanged to test images.
    """

    mode: str
    mean: Tensor  # 3 x 1 x 1 or 3 x H x W, [0, 1] units
    std: Tensor  # same broadcastable shape; ones for "mean_image" and "none"

    MODES = ("channel", "mean_image", "none")

    @classmethod
    def from_images(cls, x: Tensor, mode: str | None) -> Normalizer:
        mode = "none" if mode is None else mode
        if mode == "channel":
            mean, std = channel_stats(x)
            return cls(mode, mean.view(3, 1, 1), std.clamp_min(1e-6).view(3, 1, 1))
        if mode == "mean_image":
            return cls(mode, mean_image(x), torch.ones(3, 1, 1))
        if mode == "none":
            return cls(mode, torch.zeros(3, 1, 1), torch.ones(3, 1, 1))
        raise ValueError(f"normalize must be one of {cls.MODES} or None (got {mode!r}).")

    def __call__(self, x: Tensor) -> Tensor:
        """Normalize a uint8 batch (on any device) to float32."""
        if x.dtype != torch.uint8:
            raise ValueError(f"Normalizer expects uint8 images, got {x.dtype}.")
        scale = (1.0 / (255.0 * self.std)).to(x.device)
        shift = (-self.mean / self.std).to(x.device)
        return torch.addcmul(shift, x.float(), scale)  # one fused pass instead of three

    def to_dict(self) -> dict:
        return {"mode": self.mode, "mean_shape": list(self.mean.shape), "mean": self.mean.flatten().tolist(),
                "std_shape": list(self.std.shape), "std": self.std.flatten().tolist()}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> Normalizer:
        def tensor(key: str) -> Tensor:
            return torch.tensor(d[key], dtype=torch.float32).view(tuple(d[f"{key}_shape"]))

        return cls(d["mode"], tensor("mean"), tensor("std"))
