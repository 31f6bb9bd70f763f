"""What a caller tells :func:`~ecg_lib.train.fit` besides the model, data and config: when to stop
(:class:`Until`) and where the run belongs (:class:`RunContext`: the folder to checkpoint in, whom to report
progress to, who counts the time spent fitting). Both are plain values passed as arguments: no global or
context variable switches checkpointing or progress on behind a caller's back."""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import nn

from ecg_lib.train.checkpoint import run_key
from ecg_lib.train.config import TrainConfig

if TYPE_CHECKING:
    from ecg_lib.train.history import History

__all__ = ["EpochCallback", "ProgressCallback", "RunContext", "Until", "auto_checkpoint_path", "epoch_line"]

#: ``progress(event)`` after every epoch of a :func:`fit` given a :class:`RunContext` with it; ``event``
#: holds model, epoch, epochs, steps, steps_per_epoch, train_time_s, wall_time_s, train_error, test_error
#: and resumed (the epochs that came from a checkpoint rather than from training now).
ProgressCallback = Callable[[dict[str, Any]], None]
#: ``on_epoch_end(epoch, model, history)``, 0-based ``epoch``; returning True stops training.
EpochCallback = Callable[[int, nn.Module, "History"], "bool | None"]
# Config fields that do not change what is trained (the same as the resume check ignores).
_NOT_THE_RUN = ("quiet", "device", "eval_batch_size", "max_time_s", "eval_every")


@dataclass(frozen=True)
class RunContext:
    """Where a run belongs, handed by the caller to an experiment and on to every :func:`fit` it makes.

    ``checkpoint_dir``: every fit called without ``checkpoint=``/``resume=`` checkpoints each epoch to its
    own file there (:func:`auto_checkpoint_path`) and resumes from it if it exists. This is how ``python -m
    ecg_lib reproduce`` survives a kill: an experiment that trains many networks one after another, run
    again, skips the finished fits (their checkpoints hold the final weights and History) and continues
    the interrupted one from its last epoch. Code that manages its own checkpoints (AlexNet's learning-rate
    race) keeps them there too. ``progress``: receives each epoch's event (:data:`ProgressCallback`).
    ``on_fit_end``: receives each fit's History when the fit returns or raises (its
    ``info["fit_time_s"]`` is the time that call took), e.g. to total a chapter's training time.
    """

    checkpoint_dir: Path | None = None
    progress: ProgressCallback | None = None
    on_fit_end: Callable[[History], None] | None = None

    def checkpoint_folder(self) -> Path | None:
        """``checkpoint_dir``, created if missing (None without one)."""
        if self.checkpoint_dir is None:
            return None
        folder = Path(self.checkpoint_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return folder


#: No checkpoints, no progress, nobody counting: a plain :func:`fit` call.
NO_CONTEXT = RunContext()


@dataclass(frozen=True)
class Until:
    """When :func:`fit` stops, besides the config's ``epochs`` (the schedule's length).

    ``epochs``: at most this many passes over the training data (default: the config's). ``seconds``: a
    training-time budget read after every optimisation step; the run ends at the first step that reaches
    it (``stopped == "time_budget"``), and the learning-rate schedule is stretched over the budget (a step
    that starts when a fraction ``f`` of it is spent gets the schedule's rate at ``f``, or at the fraction
    of the passes done if larger), so warmup and decay complete whatever the network's speed.
    ``train_error``: stop after the first epoch whose mean training error is at or below it
    (``"target"``). ``callback``: ``callback(epoch, model, history)`` after each epoch; True stops
    (``"callback"``)."""

    epochs: int | None = None
    seconds: float | None = None
    train_error: float | None = None
    callback: EpochCallback | None = None

    def __post_init__(self) -> None:
        if self.seconds is not None and not (math.isfinite(self.seconds) and self.seconds > 0):
            raise ValueError(f"seconds must be a positive number (got {self.seconds}).")
        if self.epochs is not None and self.epochs < 1:
            raise ValueError(f"epochs must be at least 1 (got {self.epochs}).")


def epoch_line(event: dict[str, Any]) -> str:
    """One progress line for a :data:`ProgressCallback` event: ``resnet20 epoch 3/10 · 12 s/epoch · ETA 1 min
    · train error 45.0% · test error 40.2%``."""
    epoch, epochs = event["epoch"], event["epochs"]
    parts = [f"{event['model']} epoch {epoch}/{epochs}"]
    if epoch <= event["resumed"]:
        parts.append("finished in its checkpoint, not retrained")
    elif epoch:
        per_epoch = event["wall_time_s"] / epoch
        parts += [f"{per_epoch:.1f} s/epoch", f"ETA {per_epoch * (epochs - epoch) / 60:.0f} min"]
    for key in ("train_error", "test_error"):
        if event[key] is not None:
            parts.append(f"{key.replace('_', ' ')} {100 * event[key]:.1f}%")
    return " · ".join(parts)


def _event(run: dict[str, Any], epochs: int, spe: int, epoch: int, resumed: int,
           history: History) -> dict[str, Any]:  # fmt: skip
    """What a :data:`ProgressCallback` receives after ``epoch`` (1-based) epochs."""
    def last(values: list) -> Any:
        return values[-1] if values else None

    return {"model": run["model_name"], "epoch": epoch, "epochs": epochs, "steps": spe * epoch,
            "steps_per_epoch": spe, "train_time_s": last(history.train_time_s) or 0.0,
            "wall_time_s": last(history.wall_time_s) or 0.0, "train_error": last(history.epoch_train_error),
            "test_error": last(history.test_error), "resumed": resumed}  # fmt: skip


def _live_bar() -> bool:
    """Whether a redrawn progress bar reads well: on a terminal, or in a Jupyter kernel (where tqdm.auto
    draws a widget). Elsewhere (``2> log``, CI) every redraw would add a carriage-return line to the file,
    so :func:`fit` prints one :func:`epoch_line` per epoch instead."""
    return sys.stderr.isatty() or "ipykernel" in sys.modules


def auto_checkpoint_path(folder: str | os.PathLike, model: nn.Module, data: Any, config: TrainConfig, *,
                         profile: str | None = None, model_name: str | None = None,
                         model_options: Mapping[str, Any] | None = None) -> Path:  # fmt: skip
    """``<folder>/<model>-<hash>.pt``: one file per run, the hash over what defines the run (model name,
    options and architecture, data identity, profile, and the config without display and budget
    fields), so two different fits never share a file and the same fit always finds its own."""
    run = run_key(model, data, config, model_name=model_name, model_options=dict(model_options or {}))
    cfg = {k: v for k, v in config.to_dict().items() if k not in _NOT_THE_RUN}
    blob = json.dumps({"run": run, "config": cfg, "profile": profile}, sort_keys=True, default=repr)
    digest = hashlib.sha1(blob.encode()).hexdigest()[:16]
    safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in run["model_name"])
    return Path(folder) / f"{safe}-{digest}.pt"
