"""Checkpoints written by :func:`~ecg_lib.train.fit` after every epoch, and the checks made on resuming."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import torch

from ecg_lib.atomic import atomic_torch_save
from ecg_lib.train.config import CHECKPOINT_FORMAT, TrainConfig

__all__ = ["load_checkpoint", "save_checkpoint"]


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` (tagged with the checkpoint format) atomically: an interrupted save never leaves a
    torn file."""
    return atomic_torch_save({"format": CHECKPOINT_FORMAT, **state}, path)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`fit` with ``weights_only=True`` (tensors and plain data only).

    Keys: ``format``, ``epoch`` (epochs completed), ``step``, ``model``, ``optimizer``, ``scheduler``,
    ``scaler``, ``rng``, ``history``, ``config``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not an ecg_lib checkpoint (expected format {CHECKPOINT_FORMAT!r}).")
    return ckpt


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# settings that may change between an interrupted run and its resumption without changing the result
_RESUME_FREE = {"epochs", "quiet", "max_time_s", "device", "compile", "eval_every", "eval_batch_size"}


def _check_resumable(saved: dict[str, Any], config: TrainConfig, path: Path) -> None:
    now = config.to_dict()
    diff = {k: (saved.get(k), v) for k, v in now.items() if k not in _RESUME_FREE and saved.get(k) != v}
    if diff:
        raise ValueError(
            f"Cannot resume from {path}: the configuration differs in "
            + ", ".join(f"{k} (checkpoint {a!r}, now {b!r})" for k, (a, b) in diff.items())
            + ". Resume with the checkpoint's settings (only epochs and time budget may change)."
        )

