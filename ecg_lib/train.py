"""Training: :class:`TrainConfig`, :func:`fit` -> :class:`History`, :func:`evaluate`, profiles, the choice of
device and precision, checkpoints, and :func:`run_info` (what produced a chapter's numbers).

A minimal run::

    data = load_cifar10().subset(500, 200)
    model = get_model("resnet20")
    history = fit(model, data, TrainConfig(epochs=5, lr=0.1))
    print(history.test_error[-1], history.reach(0.5))

Errors are fractions in [0, 1]; they become percentages only when printed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import random
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ecg_lib import distributed
from ecg_lib.data import DeviceLoader, Normalizer

__all__ = [
    "SCHEDULES",
    "History",
    "NonFiniteLossError",
    "TrainConfig",
    "by_profile",
    "current_profile",
    "evaluate",
    "fit",
    "format_run_info",
    "load_checkpoint",
    "lr_at",
    "pick_device",
    "pick_precision",
    "resolve_profile",
    "run_info",
]

SCHEDULES = ("constant", "step", "warmup_cosine", "warmup_linear")
OPTIMIZERS = ("sgd", "adam", "adamw")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
PROFILES = ("quick", "full", "auto")
CHECKPOINT_FORMAT = "ecg_lib.checkpoint/1"

_IMPORTED_AT = time.perf_counter()
_FIT_SECONDS = 0.0  # all fit() calls of this process, for run_info()


# ----------------------------------------------------------------------------------------------------------
# Configuration


@dataclass
class TrainConfig:
    """Everything that defines a training run (serialised into every History and checkpoint).

    Schedules (``schedule``), all defined over the whole run of ``epochs`` so that a resumed run follows
    the same curve:

    - ``"constant"``: ``lr`` throughout;
    - ``"step"``: ``lr * gamma**k`` after the k-th of ``milestones`` (in epochs, may be fractional), the
      papers' "divide by 10" schedules (He et al. 2016: 0.1, /10 at 32k and 48k of 64k iterations);
    - ``"warmup_cosine"`` / ``"warmup_linear"``: warmup, then cosine or linear decay to zero; the short
      schedules of the quick profile.

    Warmup lasts ``warmup_epochs`` (``None``: 10% of the run for the ``warmup_*`` schedules, none for the
    others). It ramps linearly from 0 to ``lr``, or with ``warmup_factor`` set it holds ``lr *
    warmup_factor`` (He et al. 2016, Sec. 4.2, train ResNet-110 at 0.01 for the first ~400 iterations).

    ``precision``: ``"auto"`` (see :func:`pick_precision`), ``"fp32"``, ``"bf16"`` or ``"fp16"`` (CUDA
    only). ``normalize``: ``"channel"``, ``"mean_image"`` (AlexNet) or ``None``. ``max_time_s`` stops after
    the epoch in which the training time (evaluation excluded) reaches the budget. ``eval_every``: evaluate
    on the test set every that many epochs (and after the last one); 0 never. ``aux_weight``: for a model
    that returns ``(logits, *auxiliary logits)`` in training mode (GoogLeNet with ``aux_logits=True``),
    the weight of each auxiliary loss added to the main one (Szegedy et al. 2015, Sec. 5: 0.3); the
    recorded training loss and error stay the main classifier's.
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.1
    optimizer: str = "sgd"
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    schedule: str = "warmup_cosine"
    warmup_epochs: float | None = None
    warmup_factor: float | None = None
    milestones: tuple[float, ...] = ()
    gamma: float = 0.1
    label_smoothing: float = 0.0
    aux_weight: float | None = None
    seed: int = 0
    precision: str = "auto"
    channels_last: bool = True
    compile: bool = False
    augment: bool = True
    normalize: str | None = "channel"
    eval_every: int = 1
    eval_batch_size: int = 1000
    max_time_s: float | None = None
    device: str | None = None
    quiet: bool = False

    def __post_init__(self) -> None:
        self.milestones = tuple(float(m) for m in self.milestones)
        problems = []
        if self.epochs < 1:
            problems.append(f"epochs must be at least 1 (got {self.epochs})")
        if self.batch_size < 1:
            problems.append(f"batch_size must be at least 1 (got {self.batch_size})")
        if not self.lr > 0:
            problems.append(f"lr must be positive (got {self.lr})")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {SCHEDULES} (got {self.schedule!r})")
        if self.optimizer not in OPTIMIZERS:
            problems.append(f"optimizer must be one of {OPTIMIZERS} (got {self.optimizer!r})")
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {PRECISIONS} (got {self.precision!r})")
        if self.normalize not in (*Normalizer.MODES, None):
            problems.append(f"normalize must be one of {Normalizer.MODES} or None (got {self.normalize!r})")
        if self.aux_weight is not None and not self.aux_weight >= 0:
            problems.append(f"aux_weight must be None or non-negative (got {self.aux_weight})")
        if list(self.milestones) != sorted(self.milestones):
            problems.append(f"milestones must be increasing (got {self.milestones})")
        if self.schedule == "step" and not self.milestones:
            problems.append("schedule='step' needs milestones (epochs at which lr is multiplied by gamma)")
        if self.warmup_epochs is not None and not 0 <= self.warmup_epochs < self.epochs:
            problems.append(f"warmup_epochs must be in [0, epochs) (got {self.warmup_epochs})")
        if problems:
            raise ValueError("Invalid TrainConfig: " + "; ".join(problems) + ".")

    @property
    def warmup(self) -> float:
        """Warmup length in epochs, with ``None`` resolved."""
        if self.warmup_epochs is not None:
            return float(self.warmup_epochs)
        return 0.1 * self.epochs if self.schedule.startswith("warmup_") else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["milestones"] = list(self.milestones)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


def lr_at(step: int, steps_per_epoch: int, config: TrainConfig) -> float:
    """The learning rate for optimisation step ``step`` (0-based) of a run of ``config.epochs`` epochs."""
    spe = max(1, steps_per_epoch)
    epoch = step / spe  # fractional epoch at the start of this step
    warm = config.warmup
    if warm > 0 and epoch < warm:
        if config.warmup_factor is not None:
            return config.lr * config.warmup_factor
        return config.lr * min(1.0, (step + 1) / (warm * spe))
    if config.schedule == "constant":
        factor = 1.0
    elif config.schedule == "step":
        factor = config.gamma ** sum(epoch >= m for m in config.milestones)
    else:
        progress = min(1.0, (epoch - warm) / max(1e-12, config.epochs - warm))
        if config.schedule == "warmup_cosine":
            factor = 0.5 * (1.0 + math.cos(math.pi * progress))
        else:  # warmup_linear
            factor = 1.0 - progress
    return config.lr * factor


# ----------------------------------------------------------------------------------------------------------
# Profiles, device and precision


def current_profile() -> str:
    """``"quick"`` or ``"full"`` from ``$ECG_PROFILE`` (``auto``, the default: ``full`` on a CUDA GPU)."""
    value = os.environ.get("ECG_PROFILE", "auto").strip().lower() or "auto"
    if value not in PROFILES:
        raise ValueError(f"ECG_PROFILE must be one of {', '.join(PROFILES)} (got {value!r}).")
    if value == "auto":
        return "full" if torch.cuda.is_available() else "quick"
    return value


def resolve_profile(profile: str | None) -> str:
    """``profile`` checked (``"quick"`` or ``"full"``); None: the current one (:func:`current_profile`)."""
    if profile is None:
        return current_profile()
    if profile not in ("quick", "full"):
        raise ValueError(f"profile must be 'quick' or 'full' (None: the current one); got {profile!r}.")
    return profile


T = TypeVar("T")


def by_profile(*, quick: T, full: T) -> T:
    """The setting for the current profile; experiments declare both so each is visible in the source."""
    return full if current_profile() == "full" else quick


def pick_device(preference: str | torch.device | None = None) -> torch.device:
    """``preference`` if given (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``), else CUDA, MPS or CPU."""
    if preference not in (None, "auto"):
        device = torch.device(preference)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' was asked for, but PyTorch sees no CUDA GPU; use 'cpu' or None.")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("device='mps' was asked for, but MPS is not available; use 'cpu' or None.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _cpu_has_native_bf16() -> bool:
    """bf16 instructions (AVX512-BF16 or AMX). Without them oneDNN emulates bf16: measured on an AVX2-only
    EPYC, a bf16 training step was 20-30x slower than fp32, so "auto" must not choose it there."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # older or non-x86 builds: stay with fp32
        return False


def pick_precision(device: torch.device | str, preference: str = "auto") -> str:
    """Resolve ``"auto"``: bf16 on CUDA GPUs that support it (fp16 with loss scaling on older ones) and on
    CPUs with native bf16; fp32 on MPS and on other CPUs. Explicit choices are checked."""
    device = torch.device(device)
    if preference not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS} (got {preference!r}).")
    if preference == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if device.type == "cpu" and _cpu_has_native_bf16():
            return "bf16"
        return "fp32"
    if preference == "fp16" and device.type != "cuda":
        raise ValueError("precision='fp16' needs a CUDA GPU; on the CPU use 'bf16' or 'fp32'.")
    if preference == "bf16" and device.type == "cpu" and not _cpu_has_native_bf16():
        warnings.warn("This CPU has no native bf16 (AVX512-BF16/AMX): bf16 runs emulated, typically many "
                      "times slower than fp32.", stacklevel=2)  # fmt: skip
    return preference


def _autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple GPU (MPS), {platform.machine()}"
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    threads = torch.get_num_threads()
    return f"{name}, {threads} thread{'s' if threads != 1 else ''}"


# ----------------------------------------------------------------------------------------------------------
# History


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
        _atomic_write_text(Path(path), self.to_json(indent=1))

    @classmethod
    def load(cls, path: str | os.PathLike) -> History:
        return cls.from_json(Path(path).read_text())

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


# ----------------------------------------------------------------------------------------------------------
# Evaluation


@torch.no_grad()
def _eval_sums(model: nn.Module, x: Tensor, y: Tensor, normalizer: Normalizer | None, batch_size: int,
               device: torch.device, precision: str, channels_last: bool) -> Tensor:  # fmt: skip
    """``[sum of losses, number wrong, count]`` as a float64 tensor on ``device``."""
    sums = torch.zeros(3, dtype=torch.float64, device=device)
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
        with _autocast(device, precision):
            logits = model(xb)
        logits = logits.float()
        sums[0] += F.cross_entropy(logits, yb, reduction="sum").double()
        sums[1] += (logits.argmax(1) != yb).sum().double()
        sums[2] += yb.numel()
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
) -> tuple[float, float]:
    """Mean cross-entropy and error (a fraction) of ``model`` on ``x``, ``y``, in eval mode.

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
        s = _eval_sums(model, x, y, normalizer, batch_size, device, precision, channels_last)
    finally:
        model.train(was_training)
    return float(s[0] / s[2]), float(s[1] / s[2])


# ----------------------------------------------------------------------------------------------------------
# Checkpoints


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _atomic_torch_save(obj: Any, path: Path) -> None:
    """Write to a temporary file beside ``path`` and rename: an interrupted save never leaves a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


# ----------------------------------------------------------------------------------------------------------
# fit


def _make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)  # fmt: skip
    cls = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
    return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


EpochCallback = Callable[[int, nn.Module, History], "bool | None"]


def fit(
    model: nn.Module,
    data: Any,
    config: TrainConfig | None = None,
    *,
    checkpoint: str | os.PathLike | None = None,
    resume: str | os.PathLike | None = None,
    on_epoch_end: EpochCallback | None = None,
) -> History:
    """Train ``model`` on ``data.train_x``/``train_y`` and evaluate on ``data.test_x``/``test_y``.

    ``data`` is a :class:`~ecg_lib.data.CIFAR10Data` (or anything with those four uint8/int64 tensors and
    optionally ``source``). The model moves to the chosen device (channels_last unless disabled) and is
    trained in place; the returned :class:`History` records the run.

    ``checkpoint``: a file rewritten atomically after every epoch (model, optimizer, schedule position,
    RNG states, history). ``resume``: a checkpoint to continue from (it must come from the same config,
    except ``epochs`` and the time budget); on the CPU a resumed run ends with exactly the weights of an
    uninterrupted one. ``on_epoch_end(epoch, model, history)`` runs after each epoch (0-based ``epoch``;
    the last step's gradients are still in ``p.grad``); returning True stops training.

    Under ``torchrun`` the model is wrapped in DistributedDataParallel, each rank trains on its own
    shard of every epoch and ``config.batch_size`` is the global batch. A non-finite loss raises
    :class:`NonFiniteLossError` carrying the history so far.
    """
    global _FIT_SECONDS
    cfg = config if config is not None else TrainConfig()
    t_start = time.perf_counter()
    device = pick_device(cfg.device)
    world = distributed.setup(device.type)
    if world.enabled and device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
    precision = pick_precision(device, cfg.precision)
    if cfg.batch_size % world.world_size:
        raise ValueError(f"batch_size {cfg.batch_size} (the global batch) must be divisible by the "
                         f"{world.world_size} processes.")  # fmt: skip
    torch.manual_seed(cfg.seed)  # dropout and any other randomness inside the model
    random.seed(cfg.seed)

    normalizer = Normalizer.from_images(data.train_x, cfg.normalize)
    channels_last = cfg.channels_last and device.type != "mps"
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    loader = DeviceLoader(
        data.train_x, data.train_y, cfg.batch_size // world.world_size, device=device, augment=cfg.augment,
        normalizer=normalizer, channels_last=channels_last, seed=cfg.seed, rank=world.rank,
        world_size=world.world_size,
    )  # fmt: skip
    test_x, test_y = data.test_x.to(device), data.test_y.to(device)
    spe = len(loader)
    total_steps = spe * cfg.epochs

    train_model: nn.Module = model
    if world.enabled:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if cfg.compile:
        train_model = torch.compile(train_model)
    optimizer = _make_optimizer(model.parameters(), cfg)
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None

    history = History(config=cfg.to_dict(), steps_per_epoch=spe, normalizer=normalizer, stopped="running")
    history.info = {
        "model": type(model).__name__, "params": sum(p.numel() for p in model.parameters()),
        "device": device.type, "device_name": _device_name(device), "precision": precision,
        "channels_last": channels_last, "compile": cfg.compile, "world_size": world.world_size,
        "backend": world.backend, "n_train": int(data.train_y.numel()), "n_test": int(data.test_y.numel()),
        "data_source": getattr(data, "source", ""), "normalize": normalizer.mode,
        "torch": torch.__version__, "profile": current_profile(),
    }  # fmt: skip
    if world.enabled:  # record, and so prove, that the ranks' shards are disjoint and cover the epoch
        shards = distributed.all_gather_object(loader.indices(0).tolist())
        union = set().union(*map(set, shards))
        history.info["shards"] = {"sizes": [len(s) for s in shards], "union": len(union),
                                  "overlap": sum(len(s) for s in shards) - len(union)}  # fmt: skip

    start_epoch, time_offset, wall_offset = 0, 0.0, 0.0
    if resume is not None:
        ckpt = load_checkpoint(resume)
        _check_resumable(ckpt["config"], cfg, Path(resume))
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scaler is not None and ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        _set_rng_state(ckpt["rng"])
        saved = History.from_dict(ckpt["history"])
        saved.config, saved.normalizer, saved.stopped = cfg.to_dict(), normalizer, "running"
        saved.info = {**history.info, "resumed_from_epoch": ckpt["epoch"]}
        history = saved
        start_epoch = int(ckpt["epoch"])
        time_offset = history.train_time_s[-1] if history.train_time_s else 0.0
        wall_offset = history.wall_time_s[-1] if history.wall_time_s else 0.0

    # On the CPU a per-step check costs nothing and stops before a bad update; on a GPU it would
    # stall the pipeline, so the check runs every `sync_every` steps instead.
    sync_every = 1 if device.type == "cpu" else 50
    show = not cfg.quiet and world.is_main
    from tqdm.auto import tqdm

    bar = tqdm(total=total_steps, initial=start_epoch * spe, disable=not show, unit="step", leave=True,
               desc=f"epoch {start_epoch + 1}/{cfg.epochs}")  # fmt: skip
    train_clock = time_offset
    run_start = time.perf_counter() - wall_offset
    history.stopped = "completed"
    try:
        for epoch in range(start_epoch, cfg.epochs):
            model.train()
            loader.set_epoch(epoch)
            bar.set_description(f"epoch {epoch + 1}/{cfg.epochs}")
            losses = torch.zeros(spe, device=device)
            errors = torch.zeros(spe, device=device)
            lrs = [lr_at(epoch * spe + i, spe, cfg) for i in range(spe)]
            checked = 0
            t0 = time.perf_counter()
            for i, (xb, yb) in enumerate(loader):
                for group in optimizer.param_groups:
                    group["lr"] = lrs[i]
                with _autocast(device, precision):
                    logits = train_model(xb)
                aux: tuple[Tensor, ...] = ()
                if isinstance(logits, tuple):  # (main, *auxiliary) logits, e.g. GoogLeNet in training
                    logits, aux = logits[0], tuple(logits[1:])
                    if cfg.aux_weight is None:
                        raise ValueError(
                            f"The model returned {len(aux)} auxiliary outputs besides its logits: set "
                            "TrainConfig(aux_weight=...) (GoogLeNet: 0.3), or build it without auxiliary "
                            "heads."
                        )
                loss = F.cross_entropy(logits.float(), yb, label_smoothing=cfg.label_smoothing)
                losses[i] = loss.detach()  # the main classifier's loss: curves stay comparable
                for a in aux:
                    aux_loss = F.cross_entropy(a.float(), yb, label_smoothing=cfg.label_smoothing)
                    loss = loss + cfg.aux_weight * aux_loss
                errors[i] = (logits.detach().argmax(1) != yb).float().mean()
                if sync_every == 1:
                    _guard(losses, errors, i, i + 1, epoch, spe, lrs, history, device)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
                if sync_every > 1 and ((i + 1) % sync_every == 0 or i + 1 == spe):
                    _guard(losses, errors, checked, i + 1, epoch, spe, lrs, history, device)
                    checked = i + 1
                bar.update(1)
                if show and (i % 10 == 0 or i + 1 == spe) and (sync_every == 1 or i + 1 == checked):
                    loss_so_far, err_so_far = float(losses[: i + 1].mean()), float(errors[: i + 1].mean())
                    bar.set_postfix(loss=f"{loss_so_far:.3f}", err=f"{100 * err_so_far:.1f}%", refresh=False)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            epoch_time = time.perf_counter() - t0
            train_clock += epoch_time
            # every rank's per-step numbers are averaged (one collective per epoch, not per step)
            losses = distributed.all_reduce(losses, "sum") / world.world_size
            errors = distributed.all_reduce(errors, "sum") / world.world_size
            history.train_loss += losses.tolist()
            history.train_error += errors.tolist()
            history.lr += lrs
            history.epoch_train_loss.append(float(losses.mean()))
            history.epoch_train_error.append(float(errors.mean()))
            history.images_per_s.append(loader.shard_size * world.world_size / epoch_time)
            history.train_time_s.append(train_clock)

            last = epoch + 1 == cfg.epochs
            if cfg.eval_every > 0 and ((epoch + 1) % cfg.eval_every == 0 or last) and test_y.numel():
                model.eval()
                part = slice(world.rank, None, world.world_size)
                sums = _eval_sums(model, test_x[part], test_y[part], normalizer, cfg.eval_batch_size, device,
                                  precision, channels_last)  # fmt: skip
                sums = distributed.all_reduce(sums, "sum")
                history.test_loss.append(float(sums[0] / sums[2]))
                history.test_error.append(float(sums[1] / sums[2]))
                bar.set_postfix(loss=f"{history.epoch_train_loss[-1]:.3f}",
                                err=f"{100 * history.epoch_train_error[-1]:.1f}%",
                                test_err=f"{100 * history.test_error[-1]:.1f}%")  # fmt: skip
            else:
                history.test_loss.append(None)
                history.test_error.append(None)
            history.wall_time_s.append(time.perf_counter() - run_start)

            stop = bool(on_epoch_end(epoch, model, history)) if on_epoch_end is not None else False
            if checkpoint is not None and world.is_main:
                _atomic_torch_save({
                    "format": CHECKPOINT_FORMAT, "epoch": epoch + 1, "step": (epoch + 1) * spe,
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": {"schedule": cfg.schedule, "next_step": (epoch + 1) * spe},
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "rng": _rng_state(), "history": history.to_dict(), "config": cfg.to_dict(),
                }, Path(checkpoint))  # fmt: skip
            if stop:
                history.stopped = "callback"
                break
            if cfg.max_time_s is not None and train_clock >= cfg.max_time_s and epoch + 1 < cfg.epochs:
                history.stopped = "time_budget"
                break
    except KeyboardInterrupt:
        history.stopped = "interrupted"
        raise
    finally:
        bar.close()
        elapsed = time.perf_counter() - t_start
        _FIT_SECONDS += elapsed
    return history


def _guard(losses: Tensor, errors: Tensor, lo: int, hi: int, epoch: int, spe: int, lrs: Sequence[float],
           history: History, device: torch.device) -> None:  # fmt: skip
    """Raise NonFiniteLossError if any loss in ``losses[lo:hi]`` (on any rank) is NaN or infinite."""
    finite = torch.isfinite(losses[lo:hi])
    ok = finite.all().to(torch.int32).reshape(1)
    if int(distributed.all_reduce(ok, "min")) == 1:
        return
    bad = lo + int(torch.nonzero(~finite)[0]) if not bool(finite.all()) else lo
    history.train_loss += losses[:bad].tolist()
    history.train_error += errors[:bad].tolist()
    history.lr += list(lrs[:bad])
    history.stopped = "non_finite"
    raise NonFiniteLossError(epoch * spe + bad, epoch, lrs[bad], float(losses[bad]), history)


# ----------------------------------------------------------------------------------------------------------
# run_info


def run_info(data: Any = None, **extra: Any) -> dict[str, Any]:
    """What produces the numbers of a chapter: profile, device, precision, versions, data, time so far.

    ``data`` (a CIFAR10Data) adds its source and sizes; ``extra`` items are added as given.
    ``fit_time_s`` sums every :func:`fit` of this process, ``elapsed_s`` counts from the import of
    this module. Print it with :func:`format_run_info`.
    """
    device = pick_device()
    info: dict[str, Any] = {
        "profile": current_profile(),
        "device": f"{device.type}: {_device_name(device)}",
        "precision": pick_precision(device, "auto"),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if data is not None:
        info["data"] = getattr(data, "source", "")
        info["n_train"] = int(data.train_y.numel())
        info["n_test"] = int(data.test_y.numel())
    info["fit_time_s"] = round(_FIT_SECONDS, 1)
    info["elapsed_s"] = round(time.perf_counter() - _IMPORTED_AT, 1)
    info.update(extra)
    return info


def format_run_info(info: dict[str, Any] | None = None) -> str:
    """``run_info()`` as aligned ``key: value`` lines."""
    info = run_info() if info is None else info
    width = max(len(k) for k in info)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in info.items())
