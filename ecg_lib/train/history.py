"""What a training run recorded: :class:`History`, and :class:`NonFiniteLossError`, which carries one."""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecg_lib.atomic import atomic_write_text
from ecg_lib.data import Normalizer

__all__ = ["History", "NonFiniteLossError", "pool_per_step"]


@dataclass
class History:
    """What a run recorded. Per step: ``train_loss``, ``train_error`` (on the augmented batch, training
    mode) and ``lr``. Per epoch: ``epoch_train_loss``/``epoch_train_error`` (means over the epoch's steps),
    ``test_loss``/``test_error`` (``None`` where not evaluated), cumulative ``train_time_s`` (training only)
    and ``wall_time_s`` (with evaluation), and ``images_per_s``. ``info`` holds device, precision, data and
    model facts; ``extra`` is free for callbacks (e.g. gradient norms); ``stopped`` says how it ended.
    """

    config: dict[str, Any] = field(default_factory=dict)
    steps_per_epoch: int = 0
    train_loss: list[float] = field(default_factory=list)
    train_error: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    epoch_train_loss: list[float] = field(default_factory=list)
    epoch_train_error: list[float] = field(default_factory=list)
    test_loss: list[float | None] = field(default_factory=list)
    test_error: list[float | None] = field(default_factory=list)
    train_time_s: list[float] = field(default_factory=list)
    wall_time_s: list[float] = field(default_factory=list)
    images_per_s: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    stopped: str = "not started"
    normalizer: Normalizer | None = field(default=None, repr=False, compare=False)

    @property
    def epochs_done(self) -> int:
        return len(self.epoch_train_loss)

    @property
    def final_test_error(self) -> float | None:
        """The last evaluated test error (None if never evaluated)."""
        return next((e for e in reversed(self.test_error) if e is not None), None)

    @property
    def total_time_s(self) -> float:
        return self.wall_time_s[-1] if self.wall_time_s else 0.0

    def reach(self, target: float, metric: str = "train_error") -> tuple[int, float] | None:
        """``(epochs, seconds)`` at the end of the first epoch whose ``metric`` (``"train_error"``, the
        epoch mean as in AlexNet's Figure 1, or ``"test_error"``) is at or below ``target`` (a fraction);
        seconds count training time only. ``None`` if the run never got there."""
        values = {"train_error": self.epoch_train_error, "test_error": self.test_error}.get(metric)
        if values is None:
            raise ValueError(f"metric must be 'train_error' or 'test_error' (got {metric!r}).")
        for i, v in enumerate(values):
            if v is not None and v <= target:
                return i + 1, self.train_time_s[i]
        return None

    def epochs_to(self, target: float, metric: str = "train_error") -> int | None:
        hit = self.reach(target, metric)
        return None if hit is None else hit[0]

    def time_to(self, target: float, metric: str = "train_error") -> float | None:
        hit = self.reach(target, metric)
        return None if hit is None else hit[1]

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "normalizer"}
        d["normalizer"] = self.normalizer.to_dict() if self.normalizer is not None else None
        return json.loads(json.dumps(d))  # a deep, JSON-clean copy

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        d = dict(d)
        norm = d.pop("normalizer", None)
        names = {f.name for f in dataclasses.fields(cls)}
        h = cls(**{k: v for k, v in d.items() if k in names})
        h.normalizer = Normalizer.from_dict(norm) if norm else None
        return h

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str) -> History:
        return cls.from_dict(json.loads(text))

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_text(path, self.to_json(indent=1))

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        """Read a History JSON (what :meth:`save` and ``train --out`` write). A file that is not one (not
        UTF-8, not JSON, not an object with a History's fields) raises ``ValueError`` naming it."""
        try:
            d = json.loads(Path(path).read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise ValueError(f"{path} is not a History JSON file ({type(exc).__name__}: {exc}).") from None
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            raise ValueError(f"{path} is not a History JSON file ({exc}).") from None
        if not isinstance(d, dict) or not {"config", "train_loss", "stopped"} <= d.keys():
            raise ValueError(f"{path} is not a History JSON file (a {type(d).__name__} without a History's "
                             "config, train_loss and stopped).")  # fmt: skip
        try:
            return cls.from_dict(d)
        except (TypeError, ValueError, KeyError, RuntimeError) as exc:
            raise ValueError(f"{path} is not a History JSON file ({type(exc).__name__}: {exc}).") from None

    def summary(self) -> str:
        """One line: final test error, epochs and time, throughput."""
        err = self.final_test_error
        acc = "not evaluated"
        if err is not None:
            acc = f"test error {100 * err:.2f}% (accuracy {100 * (1 - err):.2f}%)"
        ips = self.images_per_s[-1] if self.images_per_s else float("nan")
        return (f"{acc} after {self.epochs_done} epochs in {self.total_time_s:.1f} s "
                f"(training {self.train_time_s[-1] if self.train_time_s else 0:.1f} s, {ips:.0f} images/s, "
                f"{self.info.get('device', '?')}, {self.info.get('precision', '?')})")  # fmt: skip


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or infinite. ``history`` holds everything up to the last finite step."""

    def __init__(self, step: int, epoch: int, lr: float, value: float, history: History) -> None:
        self.step, self.epoch, self.lr, self.value, self.history = step, epoch, lr, value, history
        super().__init__(
            f"Training diverged: the loss was {value} at step {step} (epoch {epoch + 1}, "
            f"learning rate {lr:g}). "
            "Lower the learning rate or add warmup (TrainConfig.warmup_epochs); "
            f"the history up to step {step - 1} is in this error's .history."
        )


def pool_per_step(history: History, k: int) -> None:
    """Record a per-step History (``steps_per_epoch == 1``) in windows of ``k`` steps, in place: means of
    loss, error and rate, the clocks at each window's end, images per second over the window; the exact
    rates go to ``extra["lr_steps"]``. Keeps archives of long timed runs small."""
    n = len(history.train_loss)
    starts = range(0, n, k)

    def mean(values: list[float]) -> list[float]:
        return [statistics.fmean(values[i : i + k]) for i in starts]

    def last(values: list[Any]) -> list[Any]:
        return [values[min(i + k, n) - 1] for i in starts]

    clock = [0.0, *history.train_time_s]
    rate = [sum(history.images_per_s[j] * (clock[j + 1] - clock[j]) for j in range(i, min(i + k, n)))
            / max(clock[min(i + k, n)] - clock[i], 1e-9) for i in starts]  # fmt: skip
    history.extra["lr_steps"] = list(history.lr)
    history.extra["steps_per_entry"] = k
    history.train_loss, history.train_error, history.lr = (
        mean(history.train_loss), mean(history.train_error), mean(history.lr))
    history.epoch_train_loss, history.epoch_train_error = list(history.train_loss), list(history.train_error)
    history.test_loss, history.test_error = last(history.test_loss), last(history.test_error)
    history.train_time_s, history.wall_time_s = last(history.train_time_s), last(history.wall_time_s)
    history.images_per_s = rate
