"""Checkpoints written by :func:`~ecg_lib.train.fit` after every epoch, and the checks made on resuming."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import zlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ecg_lib.atomic import atomic_torch_save
from ecg_lib.train.config import CHECKPOINT_FORMAT, TrainConfig

__all__ = ["CheckpointError", "load_checkpoint", "run_key", "save_checkpoint"]


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint of this library, or a checkpoint of another run."""


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write ``state`` (tagged with the checkpoint format) atomically: an interrupted save never leaves a
    torn file."""
    return atomic_torch_save({"format": CHECKPOINT_FORMAT, **state}, path)


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a checkpoint written by :func:`fit` with ``weights_only=True`` (tensors and plain data only).

    Keys: ``format``, ``epoch`` (epochs completed), ``step``, ``model``, ``optimizer``, ``scheduler``,
    ``scaler``, ``rng``, ``history``, ``config`` and ``run`` (:func:`run_key`: what was trained).
    A missing file raises ``FileNotFoundError``; anything else that is not such a checkpoint (a directory,
    a truncated file, a History JSON, a file of another version) raises :class:`CheckpointError`."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a directory, not a checkpoint file.")
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at {path}.")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # RuntimeError, EOFError, UnpicklingError, ...: depends on the damage
        with open(path, "rb") as f:
            torch_file = f.read(4) == b"PK\x03\x04"  # torch.save writes a zip archive
        if torch_file:
            raise CheckpointError(
                f"The checkpoint {path} is truncated or corrupt ({type(exc).__name__}); it cannot be "
                "resumed. Start the run again without --resume (or from an intact copy)."
            ) from None
        raise CheckpointError(
            f"{path} is not an ecg_lib checkpoint (not a file written by torch.save); "
            "--resume takes the file given to --checkpoint."
        ) from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        found = ckpt.get("format") if isinstance(ckpt, dict) else None
        extra = f" (format {found!r}, written by another version; start the run again)" if found else ""
        raise CheckpointError(
            f"{path} is not an ecg_lib checkpoint of format {CHECKPOINT_FORMAT!r}{extra}."
        )
    # a file of the right format with parts missing or of the wrong kind (edited, or written by a bug) is
    # refused here, naming the part, not with a KeyError in the middle of resuming
    missing = [k for k, kind in _REQUIRED.items() if not isinstance(ckpt.get(k), kind)]
    if missing:
        parts = ", ".join(repr(k) for k in missing)
        raise CheckpointError(f"The checkpoint {path} lacks a valid {parts}: it is damaged and cannot be "
                              "resumed. Start the run again (or from an intact copy).")  # fmt: skip
    return ckpt


_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "epoch": int, "model": dict, "optimizer": dict, "rng": dict, "history": dict, "config": dict,
    "run": dict,
}  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# What a checkpoint belongs to. A resumed run must be the same run: the same network (by registry name and
# options when the caller knows them, and by its printed layer structure always), the same images, the same
# settings and the same planned length, since the learning-rate schedule spans the whole run.

_TIMING_NOTE = re.compile(r" \(decoded[^()]*\)")


def _fingerprint(*tensors: torch.Tensor) -> str:
    """CRC-32 of the tensors' bytes: ~0.1 s for all of CIFAR-10, and any change of image or label shows."""
    crc = 0
    for t in tensors:
        t = t.detach().contiguous().cpu()
        crc = zlib.crc32(t.view(torch.uint8).numpy() if t.numel() else b"", crc)
    return f"{crc:08x}"


def data_identity(data: Any) -> dict[str, Any]:
    """Sizes, a content fingerprint, and the source in words (subset sizes and seed included, load timings
    left out). Only sizes and fingerprint decide; the words say how two data sets differ."""
    return {
        "n_train": int(data.train_y.numel()), "n_test": int(data.test_y.numel()),
        "fingerprint": _fingerprint(data.train_x, data.train_y, data.test_x, data.test_y),
        "source": _TIMING_NOTE.sub("", str(getattr(data, "source", ""))),
    }  # fmt: skip


def run_key(model: nn.Module, data: Any, config: TrainConfig, *, model_name: str | None = None,
            model_options: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    """What a checkpoint belongs to: registry name (default: the model's ``name`` attribute, else its class),
    builder options, architecture (a hash of the printed module tree), data identity and planned epochs."""
    name = model_name or getattr(model, "name", None) or type(model).__name__
    return {
        "model_name": str(name),
        "model_options": json.loads(json.dumps(model_options or {}, default=repr)),
        "architecture": hashlib.sha1(repr(model).encode()).hexdigest()[:16],
        "data": data_identity(data),
        "epochs": config.epochs,
    }


def _describe_data(d: dict[str, Any]) -> str:
    return f"{d['n_train']} train / {d['n_test']} test images from {d['source'] or 'an unnamed source'}"


def _check_same_run(saved: dict[str, Any], now: dict[str, Any], path: Path) -> None:
    diff = []
    if saved["model_name"] != now["model_name"]:
        diff.append(f"model (checkpoint {saved['model_name']!r}, now {now['model_name']!r})")
    if saved["model_options"] != now["model_options"]:
        diff.append(f"model options (checkpoint {saved['model_options']}, now {now['model_options']})")
    if not diff and saved["architecture"] != now["architecture"]:
        diff.append("model architecture (the layers differ, e.g. in width or activation)")
    a, b = saved["data"], now["data"]
    if (a["n_train"], a["n_test"], a["fingerprint"]) != (b["n_train"], b["n_test"], b["fingerprint"]):
        diff.append(f"data (checkpoint: {_describe_data(a)}; now: {_describe_data(b)})")
    if diff:
        raise CheckpointError(
            f"Cannot resume from {path}: it is a checkpoint of another run; it differs in "
            + "; ".join(diff)
            + ". Resume with the checkpoint's model, options and data, or start a new run with another "
            "checkpoint path (this one is left as it is)."
        )


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any], path: str | os.PathLike = "the checkpoint") -> None:
    try:
        torch.set_rng_state(state["torch"])
        py = state["python"]
        random.setstate((py[0], tuple(py[1]), py[2]))
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise CheckpointError(f"The random-number state ('rng') in {path} is damaged ({type(exc).__name__}: "
                              f"{detail}); the run cannot be resumed exactly. Start it again (or from an "
                              "intact copy).") from None  # fmt: skip


# settings that may change between an interrupted run and its resumption without changing the result.
# `epochs` is one of them only where the schedule does not depend on the run's length (see _length_free).
_RESUME_FREE = {"quiet", "max_time_s", "device", "compile", "eval_every", "eval_batch_size"}


def _length_free(config: dict[str, Any]) -> bool:
    """Whether the learning rate at every step is the same whatever the planned number of epochs: true for
    "constant" and "step" (milestones and an explicit warmup are in epochs), false for the warmup_* decays
    (their decay, and by default their warmup, span the run). Such a run can be extended on resuming: the
    first epochs of a longer run are exactly the shorter run."""
    return config.get("schedule") in ("constant", "step")


def _check_resumable(saved: dict[str, Any], config: TrainConfig, path: Path,
                     run: dict[str, Any] | None = None, saved_run: dict[str, Any] | None = None,
                     *, done: int | None = None) -> None:  # fmt: skip
    """Refuse to resume ``path`` into another run: another model, options, data (:func:`run_key`), or
    configuration (anything but the settings in ``_RESUME_FREE``; also the length, except that a run whose
    schedule does not depend on its length may be continued to at least the ``done`` epochs it has),
    naming each difference."""
    if run is not None and saved_run is not None:
        _check_same_run(saved_run, run, path)
    now = config.to_dict()
    free = set(_RESUME_FREE)
    if _length_free(saved) and _length_free(now) and (done is None or config.epochs >= done):
        free.add("epochs")
    diff = {k: (saved.get(k), v) for k, v in now.items() if k not in free and saved.get(k) != v}
    if diff:
        raise CheckpointError(
            f"Cannot resume from {path}: the configuration differs in "
            + ", ".join(f"{k} (checkpoint {a!r}, now {b!r})" for k, (a, b) in diff.items())
            + ". Resume with the checkpoint's settings (only the time budget, device, evaluation and "
            "display settings may change; the length only under a constant or step schedule, whose "
            "learning rates do not depend on it, and never below the epochs already done)."
        )
