"""The training loop :func:`fit` and :func:`evaluate`."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ecg_lib import distributed
from ecg_lib.atomic import check_writable, remove_stale_temporaries
from ecg_lib.data import Normalizer
from ecg_lib.loader import DeviceLoader
from ecg_lib.profiles import check_profile
from ecg_lib.train import info as _info
from ecg_lib.train.checkpoint import (
    CheckpointError,
    _check_resumable,
    _rng_state,
    _set_rng_state,
    load_checkpoint,
    run_key,
    save_checkpoint,
)
from ecg_lib.train.config import TrainConfig, apply_recipe, lr_at
from ecg_lib.train.device import autocast, device_name, pick_device, pick_precision
from ecg_lib.train.history import History, NonFiniteLossError

__all__ = ["EpochCallback", "ProgressCallback", "auto_checkpoint_path", "backward_step", "checkpoint_dir",
           "current_checkpoint_dir", "epoch_line", "evaluate", "fit", "progress_hook",
           "set_default_progress"]  # fmt: skip

#: ``progress(event)`` after every epoch of every :func:`fit` inside :func:`progress_hook`; ``event`` holds
#: model, epoch, epochs, steps, steps_per_epoch, train_time_s, wall_time_s, train_error, test_error and
#: resumed (the epochs that came from a checkpoint rather than from training now).
ProgressCallback = Callable[[dict[str, Any]], None]
_CHECKPOINT_DIR: ContextVar[Path | None] = ContextVar("ecg_lib_checkpoint_dir", default=None)
_PROGRESS: ContextVar[ProgressCallback | None] = ContextVar("ecg_lib_progress", default=None)
# What a fit outside any progress_hook block reports to: a module global, not a ContextVar, because a
# notebook sets it in one cell and trains in later ones (set_default_progress).
_DEFAULT_PROGRESS: list[ProgressCallback | None] = [None]
# Config fields that do not change what is trained (the same as the resume check ignores).
_NOT_THE_RUN = ("quiet", "device", "eval_batch_size", "max_time_s", "eval_every")


@contextlib.contextmanager
def checkpoint_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Within the block, every :func:`fit` called without ``checkpoint=``/``resume=`` checkpoints each
    epoch to its own file in ``path`` (:func:`auto_checkpoint_path`) and resumes from it if it exists.

    This is how ``python -m ecg_lib reproduce`` survives a kill: an experiment that trains many networks
    one after another, run again, skips the finished fits (their checkpoints hold the final weights and
    History) and continues the interrupted one from its last epoch, without any experiment knowing."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    token = _CHECKPOINT_DIR.set(folder)
    try:
        yield folder
    finally:
        _CHECKPOINT_DIR.reset(token)


def current_checkpoint_dir() -> Path | None:
    """The folder of the enclosing :func:`checkpoint_dir` block, or None outside one. Code that manages
    its own checkpoints (e.g. a race that continues a run past its first schedule) keeps them there, so
    they survive a kill too."""
    return _CHECKPOINT_DIR.get()


@contextlib.contextmanager
def progress_hook(callback: ProgressCallback) -> Iterator[None]:
    """Within the block, every :func:`fit` reports each epoch to ``callback`` (see ProgressCallback)."""
    token = _PROGRESS.set(callback)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def set_default_progress(callback: ProgressCallback | None) -> None:
    """Every later :func:`fit` outside a :func:`progress_hook` block reports each epoch to ``callback``
    (None: to nothing). A chapter in the standard or full profile installs a printer of
    :func:`epoch_line` (:func:`ecg_lib.chapters.common.start_chapter`), so its long cells are not silent."""
    _DEFAULT_PROGRESS[0] = callback


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
    profile: str | None = None,
    model_name: str | None = None,
    model_options: Mapping[str, Any] | None = None,
    recipe: str | None = None,
) -> History:
    """Train ``model`` on ``data.train_x``/``train_y`` and evaluate on ``data.test_x``/``test_y``.

    ``data`` is a :class:`~ecg_lib.data.CIFAR10Data` (or anything with those four uint8/int64 tensors and
    optionally ``source``). The model moves to the chosen device (channels_last unless disabled) and is
    trained in place; the returned :class:`History` records the run.

    ``checkpoint``: a file rewritten atomically after every epoch (model, optimizer, schedule position,
    RNG states, history and :func:`~ecg_lib.train.checkpoint.run_key`: model, options, data, planned
    epochs). Its folder is checked for writing before training starts. ``resume``: a checkpoint to
    continue from; it must be the same run (the same model, ``model_name`` and ``model_options``, data,
    epochs and config except the time budget, device, evaluation and display settings), otherwise
    :class:`~ecg_lib.train.checkpoint.CheckpointError` names the difference before anything is trained or
    written. A checkpoint of a finished run resumes to its History without training. On the CPU a resumed
    run ends with exactly the weights of an uninterrupted one. ``on_epoch_end(epoch, model, history)``
    runs after each epoch (0-based ``epoch``; the last step's gradients are still in ``p.grad``);
    returning True stops training.

    Under ``torchrun`` the model is wrapped in DistributedDataParallel, each rank trains on its own
    shard of every epoch and ``config.batch_size`` is the global batch. A non-finite loss raises
    :class:`NonFiniteLossError` carrying the history so far.

    ``profile``: the profile the caller runs in (resolved at its entry point), recorded in
    ``history.info``; ``None`` records none (a run outside any profile, e.g. a plain ``fit`` call).
    ``model_name``/``model_options``: the registry name and builder options (``get_model(name,
    **options)``), recorded in ``history.info`` and the checkpoint; ``None``: the model's ``name``.

    ``recipe``: ``"fast"`` replaces the optimiser, rate, schedule and augmentation of ``config`` with the
    short-budget recipe (:func:`~ecg_lib.train.config.recipe_fields`), ``"paper"`` or ``None`` keeps it
    as given; recorded in ``history.info["recipe"]``.

    Before training, the model's output size is checked against the data's classes.
    """
    if profile is not None:
        check_profile(profile)
    cfg = config if config is not None else TrainConfig()
    if recipe is not None:
        cfg = apply_recipe(cfg, recipe)
    _check_data(data)
    auto_dir = _CHECKPOINT_DIR.get()
    auto = auto_dir is not None and checkpoint is None and resume is None
    if auto:
        checkpoint = auto_checkpoint_path(auto_dir, model, data, cfg, profile=profile, model_name=model_name,
                                          model_options=model_options)  # fmt: skip
        resume = checkpoint if checkpoint.is_file() else None
    if checkpoint is not None:
        check_writable(checkpoint, "checkpoint")
        remove_stale_temporaries(checkpoint)  # what a kill -9 during an earlier save left beside it
    try:
        ckpt = load_checkpoint(resume) if resume is not None else None  # a bad file fails before any work
    except CheckpointError:
        if not auto:
            raise
        # a state file of `reproduce` torn by a kill would stop every rerun at this fit: set it aside (for
        # a look) and train the fit again, rather than stay stuck
        aside = Path(resume).with_name(Path(resume).name + ".corrupt")
        os.replace(resume, aside)
        print(f"ecg_lib: the state checkpoint {resume} is truncated or corrupt; it is moved to {aside} and "
              "this fit starts again from its first epoch.", file=sys.stderr)  # fmt: skip
        ckpt, resume = None, None
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
    _check_head(model, data, normalizer, device, channels_last)
    run = run_key(model, data, cfg, model_name=model_name, model_options=dict(model_options or {}))
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
        "device": device.type, "device_name": device_name(device), "precision": precision,
        "channels_last": channels_last, "compile": cfg.compile, "world_size": world.world_size,
        "backend": world.backend, "n_train": int(data.train_y.numel()), "n_test": int(data.test_y.numel()),
        "data_source": getattr(data, "source", ""), "data_quality": getattr(data, "data_quality", None),
        "normalize": normalizer.mode, "torch": torch.__version__, "profile": profile,
        "model_name": run["model_name"], "model_options": run["model_options"], "recipe": recipe or "paper",
    }  # fmt: skip
    if world.enabled:  # record, and so prove, that the ranks' shards are disjoint and cover the epoch
        shards = distributed.all_gather_object(loader.indices(0).tolist())
        union = set().union(*map(set, shards))
        history.info["shards"] = {"sizes": [len(s) for s in shards], "union": len(union),
                                  "overlap": sum(len(s) for s in shards) - len(union)}  # fmt: skip

    start_epoch, time_offset, wall_offset = 0, 0.0, 0.0
    if ckpt is not None:
        _check_resumable(ckpt["config"], cfg, Path(resume), run, ckpt["run"], done=int(ckpt["epoch"]))
        try:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
        except (RuntimeError, ValueError, KeyError) as exc:  # e.g. same printed layers, other buffers
            raise CheckpointError(f"Cannot resume from {resume}: its weights do not fit this model's "
                                  f"architecture ({str(exc).splitlines()[0]}).") from None  # fmt: skip
        if scaler is not None and ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        _set_rng_state(ckpt["rng"], resume)
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
    live = _live_bar()
    from tqdm.auto import tqdm

    bar = tqdm(total=total_steps, initial=start_epoch * spe, disable=not (show and live), unit="step",
               leave=True, desc=f"epoch {start_epoch + 1}/{cfg.epochs}")  # fmt: skip
    train_clock = time_offset
    run_start = time.perf_counter() - wall_offset
    progress = _PROGRESS.get() or _DEFAULT_PROGRESS[0]
    if progress is not None and start_epoch >= cfg.epochs and world.is_main:  # finished in its checkpoint
        progress(_event(run, cfg, spe, start_epoch, start_epoch, history))
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
                with autocast(device, precision):
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
                backward_step(loss, optimizer, scaler)
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
            if stop:
                history.stopped = "callback"
            elif cfg.max_time_s is not None and train_clock >= cfg.max_time_s and epoch + 1 < cfg.epochs:
                history.stopped = "time_budget"
            # a checkpoint written mid-run says so; one of the last epoch says how the run ended
            elif epoch + 1 == cfg.epochs:
                history.stopped = "completed"
            if checkpoint is not None and world.is_main:
                save_checkpoint({
                    "epoch": epoch + 1, "step": (epoch + 1) * spe,
                    "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": {"schedule": cfg.schedule, "next_step": (epoch + 1) * spe},
                    "scaler": scaler.state_dict() if scaler is not None else None,
                    "rng": _rng_state(), "history": history.to_dict(), "config": cfg.to_dict(),
                    "run": run,
                }, checkpoint)  # fmt: skip
            if progress is not None and world.is_main:
                progress(_event(run, cfg, spe, epoch + 1, start_epoch, history))
            if show and not live:
                print(epoch_line(_event(run, cfg, spe, epoch + 1, start_epoch, history)), file=sys.stderr,
                      flush=True)  # fmt: skip
            if history.stopped in ("callback", "time_budget"):
                break
        if history.stopped == "running":  # resumed from the checkpoint of a finished run: nothing to train
            history.stopped = "completed"
    except KeyboardInterrupt:
        history.stopped = "interrupted"
        raise
    finally:
        bar.close()
        _info.FIT_SECONDS[0] += time.perf_counter() - t_start
    return history


def backward_step(loss: Tensor, optimizer: torch.optim.Optimizer,
                  scaler: torch.amp.GradScaler | None = None) -> None:  # fmt: skip
    """One optimisation step on ``loss``: clear the gradients, backpropagate (scaled for fp16 when a
    ``scaler`` is given) and step; shared by :func:`fit` and the comparison's time-budgeted loop."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()


def _event(run: dict[str, Any], cfg: TrainConfig, spe: int, epoch: int, resumed: int,
           history: History) -> dict[str, Any]:  # fmt: skip
    """What a :data:`ProgressCallback` receives after ``epoch`` (1-based) epochs."""
    def last(values: list) -> Any:
        return values[-1] if values else None

    return {"model": run["model_name"], "epoch": epoch, "epochs": cfg.epochs, "steps": spe * epoch,
            "steps_per_epoch": spe, "train_time_s": last(history.train_time_s) or 0.0,
            "wall_time_s": last(history.wall_time_s) or 0.0, "train_error": last(history.epoch_train_error),
            "test_error": last(history.test_error), "resumed": resumed}  # fmt: skip


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

