"""Scoring a network: :func:`evaluate`, :func:`correct_per_image`, and the checks :func:`~ecg_lib.train.fit`
makes on its data and model before training (labels in range, one output per class)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ecg_lib.data import Normalizer
from ecg_lib.train.device import autocast, pick_precision

__all__ = ["correct_per_image", "evaluate"]


@torch.no_grad()
def _eval_sums(model: nn.Module, x: Tensor, y: Tensor, normalizer: Normalizer | None, batch_size: int,
               device: torch.device, precision: str, channels_last: bool,
               correct: list[Tensor] | None = None) -> Tensor:  # fmt: skip
    """``[sum of losses, number wrong, count]`` as a float64 tensor on ``device``; with ``correct`` a list,
    each batch's per-image correctness (bool, on the CPU) is appended to it."""
    sums = torch.zeros(3, dtype=torch.float64, device=device)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        # 0 would fail inside range(); a negative step would skip every batch and return NaN
        raise ValueError(f"batch_size must be a positive integer (got {batch_size!r}).")
    for start in range(0, x.shape[0], batch_size):
        xb = x[start : start + batch_size].to(device, non_blocking=True)
        yb = y[start : start + batch_size].to(device, non_blocking=True)
        if xb.dtype == torch.uint8:
            if normalizer is None:
                raise ValueError(
                    "uint8 images need normalizer= (use history.normalizer, the statistics the model "
                    "was trained with) or pass float images that are already normalized."
                )
            xb = normalizer(xb)
        if channels_last and xb.dim() == 4:
            xb = xb.contiguous(memory_format=torch.channels_last)
        with autocast(device, precision):
            logits = model(xb)
        logits = logits.float()
        if start == 0:
            _check_labels(y, logits.shape[-1], "evaluate()")
        sums[0] += F.cross_entropy(logits, yb, reduction="sum").double()
        wrong = logits.argmax(1) != yb
        sums[1] += wrong.sum().double()
        sums[2] += yb.numel()
        if correct is not None:
            correct.append((~wrong).cpu())
    return sums


def evaluate(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    *,
    normalizer: Normalizer | None = None,
    batch_size: int = 1000,
    device: torch.device | str | None = None,
    precision: str = "auto",
    channels_last: bool | None = None,
    per_image: list[Tensor] | None = None,
) -> tuple[float, float]:
    """Mean cross-entropy and error (a fraction) of ``model`` on ``x``, ``y``, in eval mode.

    ``per_image``: a list that receives each batch's per-image correctness (see :func:`correct_per_image`).

    ``x`` is float (already normalized) or uint8 with ``normalizer`` (e.g. ``history.normalizer``).
    ``device`` defaults to the model's; the model's train/eval mode is restored afterwards.
    """
    if x.shape[0] == 0:
        raise ValueError("evaluate() got no examples.")
    if device is None:
        p = next(model.parameters(), None)
        device = p.device if p is not None else torch.device("cpu")
    device = torch.device(device)
    precision = pick_precision(device, precision)
    if channels_last is None:
        channels_last = device.type != "mps"
    was_training = model.training
    model.eval()
    try:
        s = _eval_sums(model, x, y, normalizer, batch_size, device, precision, channels_last, per_image)
    finally:
        model.train(was_training)
    return float(s[0] / s[2]), float(s[1] / s[2])


def correct_per_image(model: nn.Module, x: Tensor, y: Tensor, **kwargs: Any) -> Tensor:
    """Which images of ``x`` the model classifies correctly: a bool tensor of ``len(x)`` on the CPU, from
    the same pass as :func:`evaluate` (same keyword arguments). Two networks scored on the same images are
    compared paired with it (:mod:`ecg_lib.evidence`), which is far tighter than comparing two error rates."""
    per_image: list[Tensor] = []
    evaluate(model, x, y, per_image=per_image, **kwargs)
    return torch.cat(per_image)


def _check_labels(y: Tensor, n_classes: int | None, where: str) -> None:
    """Labels must be class indices: -100 would be silently ignored by the loss (its ``ignore_index``),
    and other values outside the classes fail deep inside it."""
    if y.numel() == 0:
        return
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or (n_classes is not None and hi >= n_classes):
        bad = lo if lo < 0 else hi
        top = f"0..{n_classes - 1}" if n_classes is not None else "0 and up"
        raise ValueError(f"{where}: labels must be class indices in {top} (found {bad}).")


def _check_data(data: Any) -> None:
    """What :func:`fit` needs of ``data``, checked before anything is built or written: uint8 images
    N x 3 x H x W (the Normalizer's statistics are per RGB channel), int64 labels, one per image, in the
    classes' range."""
    classes = getattr(data, "classes", None)
    n_classes = len(classes) if classes else None
    for split in ("train", "test"):
        x, y = getattr(data, f"{split}_x"), getattr(data, f"{split}_y")
        if not isinstance(x, Tensor) or x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
            got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"fit(): {split}_x must be uint8 images N x 3 channels x H x W, got {got}.")
        if not isinstance(y, Tensor) or y.dtype != torch.int64 or y.shape != (x.shape[0],):
            got = f"{y.dtype} {tuple(y.shape)}" if isinstance(y, Tensor) else type(y).__name__
            raise ValueError(f"fit(): {split}_y must be int64 labels, one per image ({x.shape[0]}), got "
                             f"{got}.")  # fmt: skip
        _check_labels(y, n_classes, f"fit(): {split}_y")


@torch.no_grad()
def _check_head(model: nn.Module, data: Any, normalizer: Normalizer, device: torch.device,
                channels_last: bool) -> None:  # fmt: skip
    """Refuse a model whose output does not give one score per class of ``data`` before training: a head of
    5 outputs on 10 labels would otherwise end in an IndexError deep inside the loss. Costs one forward
    pass of two images in eval mode (no randomness used, no statistics updated)."""
    classes = getattr(data, "classes", None)
    labels = torch.cat([data.train_y.flatten(), data.test_y.flatten()])
    n = len(classes) if classes else int(labels.max()) + 1
    if data.train_y.numel() == 0:
        return
    was_training = model.training
    model.eval()
    try:
        xb = normalizer(data.train_x[:2].to(device))
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        out = model(xb)
    finally:
        model.train(was_training)
    logits = out[0] if isinstance(out, tuple) else out
    if logits.dim() != 2 or logits.shape[1] != n:
        got = f"shape {tuple(logits.shape)}"
        if logits.dim() == 2:
            got = f"{logits.shape[1]} class scores per image"
        raise ValueError(
            f"The model outputs {got}, but the data has {n} classes: build it with num_classes={n} "
            f"(get_model(name, num_classes={n}); on the command line drop --option num_classes)."
        )
