"""The library's one training loop, :func:`fit`: every experiment trains through it, the comparison's
time-budgeted race included (:class:`~ecg_lib.train.context.Until` with ``seconds``, or a replay with
``lrs``). Setup lives in :mod:`~ecg_lib.train.setup`, scoring in :mod:`~ecg_lib.train.evaluate`, the stop
conditions and the run context in :mod:`~ecg_lib.train.context`."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ecg_lib import distributed
from ecg_lib.profiles import check_profile
from ecg_lib.train.checkpoint import _rng_state, save_checkpoint
from ecg_lib.train.config import TrainConfig, apply_recipe, lr_at
from ecg_lib.train.context import (
    NO_CONTEXT,
    EpochCallback,
    ProgressCallback,
    RunContext,
    Until,
    _event,
    _live_bar,
    auto_checkpoint_path,
    epoch_line,
)
from ecg_lib.train.device import autocast
from ecg_lib.train.evaluate import _check_data, _eval_sums, correct_per_image, evaluate
from ecg_lib.train.history import History, NonFiniteLossError, pool_per_step
from ecg_lib.train.setup import Trainer, checkpoint_files, prepare, resume_from

__all__ = ["MAX_STEP_POINTS", "EpochCallback", "ProgressCallback", "RunContext", "Until",
           "auto_checkpoint_path", "backward_step", "correct_per_image", "epoch_line", "evaluate",
           "fit"]  # fmt: skip

#: Per-step points a time-budgeted History keeps (longer runs are pooled, see :func:`fit`).
MAX_STEP_POINTS = 2000


def fit(model: nn.Module, data: Any, config: TrainConfig | None = None, *, until: Until | None = None,
        lrs: Sequence[float] | None = None, context: RunContext | None = None,
        checkpoint: str | os.PathLike | None = None, resume: str | os.PathLike | None = None,
        on_epoch_end: EpochCallback | None = None, profile: str | None = None, model_name: str | None = None,
        model_options: Mapping[str, Any] | None = None, recipe: str | None = None,
        max_points: int = MAX_STEP_POINTS) -> History:  # fmt: skip
    """Train ``model`` on ``data.train_x``/``train_y`` and evaluate on ``data.test_x``/``test_y``.

    ``data`` is a :class:`~ecg_lib.data.CIFAR10Data` (or anything with those four uint8/int64 tensors and
    optionally ``source``); its output size is checked against the data's classes first. The model moves
    to the chosen device (channels_last unless disabled) and is trained in place; the returned
    :class:`History` records the run, ``info["fit_time_s"]`` the seconds this call took.

    ``until`` (:class:`Until`): when to stop besides ``config.epochs`` (the schedule's length): a pass cap,
    a target training error, a callback (``on_epoch_end=f`` is ``Until(callback=f)``), or a training-time
    budget checked after every step. ``lrs``: take exactly ``len(lrs)`` steps with these rates (a replay
    of a timed run: the same batches, in the same order). A budgeted run or a replay may end mid-epoch, so
    its History has one entry per *step* (``steps_per_epoch == 1``, the clock after each), a test score
    after the last step only, and ``extra`` ``budget_s``, ``steps``, ``images_seen``, ``steps_per_pass``
    and ``passes``; over ``max_points`` steps it is pooled (:func:`~ecg_lib.train.history.pool_per_step`).

    ``context`` (:class:`RunContext`): the folder where each epoch is checkpointed and resumed from (per
    epoch runs only), whom to report each epoch to, who learns the History at the end. ``checkpoint``: a
    file rewritten atomically after every epoch; ``resume``: one to continue from, which must be the same
    run (model, ``model_name``/``model_options``, data, epochs, config except budget, device, evaluation
    and display), else :class:`~ecg_lib.train.checkpoint.CheckpointError` before anything is trained. A
    finished run's checkpoint resumes to its History; on the CPU a resumed run ends with exactly the
    weights of an uninterrupted one.

    Under ``torchrun`` each rank trains on its own shard (``config.batch_size`` is the global batch). A
    non-finite loss raises :class:`NonFiniteLossError` carrying the history so far (the bad step is not
    taken on the CPU, nor in a budgeted run). ``profile``: recorded in ``history.info`` (None: none).
    ``recipe``: ``"fast"`` swaps in the short-budget recipe (:func:`~ecg_lib.train.config.recipe_fields`).
    """
    cfg, until, context = _arguments(config, recipe, profile, until, on_epoch_end, lrs, context)
    _check_data(data)
    per_step = until.seconds is not None or lrs is not None
    if per_step and (checkpoint is not None or resume is not None):
        raise ValueError("a run that may end mid-epoch (seconds or lrs) cannot be checkpointed per epoch.")
    t_start = time.perf_counter()
    checkpoint, resume, ckpt = checkpoint_files(model, data, cfg, checkpoint, resume, NO_CONTEXT if per_step
                                                else context, profile=profile, model_name=model_name,
                                                model_options=model_options)  # fmt: skip
    t = prepare(model, data, cfg, profile=profile, model_name=model_name, model_options=model_options,
                recipe=recipe)  # fmt: skip
    start_epoch, wall_offset = resume_from(t, ckpt, resume) if ckpt is not None else (0, 0.0)
    passes = math.ceil(len(lrs) / t.steps_per_epoch) if lrs is not None else until.epochs or cfg.epochs
    if per_step:
        t.history.steps_per_epoch = 1
        t.history.extra.update(budget_s=until.seconds, steps=0, images_seen=0,
                               steps_per_pass=t.steps_per_epoch)  # fmt: skip
    progress = context.progress if t.world.is_main and not per_step else None
    bar = _bar(t, start_epoch, passes)
    run_start = time.perf_counter() - wall_offset
    if progress is not None and start_epoch >= passes:  # finished in its checkpoint
        progress(_event(t.run, passes, t.steps_per_epoch, start_epoch, start_epoch, t.history))
    try:
        for epoch in range(start_epoch, passes):
            bar.set_description(f"epoch {epoch + 1}/{passes}")
            _train_epoch(t, epoch, _rates(t, until, lrs, passes), until, lrs, bar, per_step)
            if not per_step:
                _evaluate_epoch(t, epoch + 1 == passes, bar)
                t.history.wall_time_s.append(time.perf_counter() - run_start)
                t.history.stopped = _stop_reason(t, until, epoch, passes)
                _after_epoch(t, epoch, start_epoch, passes, checkpoint, progress, bar)
            if t.history.stopped not in ("running", "completed"):
                break
        if t.history.stopped == "running":  # a pass cap or replay ended it, or a finished checkpoint
            t.history.stopped = "completed"
        if per_step:
            _end_steps(t, run_start, max_points)
    except NonFiniteLossError:
        if per_step:  # pooled like any long record, and not scored
            _end_steps(t, run_start, max_points)
        raise
    except KeyboardInterrupt:
        t.history.stopped = "interrupted"
        raise
    finally:
        bar.close()
        t.history.info["fit_time_s"] = time.perf_counter() - t_start
        if context.on_fit_end is not None:
            context.on_fit_end(t.history)
    return t.history


def _arguments(config: TrainConfig | None, recipe: str | None, profile: str | None, until: Until | None,
               on_epoch_end: EpochCallback | None, lrs: Sequence[float] | None,
               context: RunContext | None) -> tuple[TrainConfig, Until, RunContext]:  # fmt: skip
    """fit's arguments checked and defaulted: the config with its recipe, one :class:`Until`, a context."""
    if profile is not None:
        check_profile(profile)
    cfg = config if config is not None else TrainConfig()
    if recipe is not None:
        cfg = apply_recipe(cfg, recipe)
    until = until if until is not None else Until()
    if on_epoch_end is not None:
        if until.callback is not None:
            raise ValueError("give the callback once: on_epoch_end= or Until(callback=), not both.")
        until = Until(until.epochs, until.seconds, until.train_error, on_epoch_end)
    if until.seconds is not None and lrs is not None:
        raise ValueError("fit takes a time budget (Until(seconds=...)) or a replay (lrs=), not both.")
    if (until.seconds is not None or lrs is not None) and (until.callback or until.train_error is not None):
        raise ValueError("a callback or target error stops at an epoch's end; a run that may end mid-epoch "
                         "(seconds or lrs) takes neither.")  # fmt: skip
    if lrs is not None and not lrs:
        raise ValueError("lrs= names no step.")
    return cfg, until, context if context is not None else NO_CONTEXT


def _rates(t: Trainer, until: Until, lrs: Sequence[float] | None, passes: int) -> Callable[[int], float]:
    """The learning rate of global step ``i``: the schedule's; a replay's given rate; or, under a time
    budget, the schedule's at the larger of the budget's fraction spent (``t.clock``) and the passes' done."""
    spe, cfg = t.steps_per_epoch, t.cfg
    if lrs is not None:
        return lambda i: lrs[i]
    if until.seconds is None:
        return lambda i: lr_at(i, spe, cfg)
    planned, seconds = cfg.epochs * spe, until.seconds
    return lambda i: lr_at(min(planned - 1, int(max(t.clock / seconds, i / (passes * spe)) * planned)), spe,
                           cfg)  # fmt: skip


def _train_epoch(t: Trainer, epoch: int, rate: Callable[[int], float], until: Until,
                 lrs: Sequence[float] | None, bar: Any, per_step: bool) -> None:  # fmt: skip
    """One pass over the loader (or until the budget or replay ends it), recorded in ``t.history``: per
    epoch (means, rates, clock) or, ``per_step``, after every step."""
    t.model.train()
    t.loader.set_epoch(epoch)
    spe, device = t.steps_per_epoch, t.device
    losses, errors = torch.zeros(spe, device=device), torch.zeros(spe, device=device)
    rates: list[float] = []
    # On the CPU a per-step check costs nothing and stops before a bad update; on a GPU it would stall
    # the pipeline, so it runs every `sync_every` steps, except where the clock syncs every step anyway.
    sync_every = 1 if per_step or device.type == "cpu" else 50
    checked, t0, clock0 = 0, time.perf_counter(), t.clock
    for i, (xb, yb) in enumerate(t.loader):
        rates.append(rate(epoch * spe + i))
        for group in t.optimizer.param_groups:
            group["lr"] = rates[-1]
        loss, losses[i], errors[i] = _loss(t, xb, yb)
        if sync_every == 1:
            _guard(t, losses, errors, i, i + 1, epoch, rates, per_step)
        backward_step(loss, t.optimizer, t.scaler)
        if sync_every > 1 and ((i + 1) % sync_every == 0 or i + 1 == spe):
            _guard(t, losses, errors, checked, i + 1, epoch, rates, per_step)
            checked = i + 1
        bar.update(1)
        if not bar.disable and (i % 10 == 0 or i + 1 == spe) and (sync_every == 1 or i + 1 == checked):
            bar.set_postfix(loss=f"{float(losses[: i + 1].mean()):.3f}",
                            err=f"{100 * float(errors[: i + 1].mean()):.1f}%", refresh=False)  # fmt: skip
        if per_step:
            if device.type == "cuda":
                torch.cuda.synchronize(device)  # the clock must include the step's GPU work
            before, t.clock = t.clock, clock0 + time.perf_counter() - t0
            _record_step(t, float(losses[i]), float(errors[i]), rates[-1], t.clock - before, int(yb.numel()))
            if until.seconds is not None and t.clock >= until.seconds:
                t.history.stopped = "time_budget"
                return
            if lrs is not None and len(t.history.train_loss) == len(lrs):
                return
    if not per_step:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        _record_epoch(t, losses, errors, rates, time.perf_counter() - t0)


def _loss(t: Trainer, xb: Tensor, yb: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(loss to step on, main classifier's loss, batch error)``; auxiliary heads weighted by
    ``aux_weight`` in the first only, so curves stay comparable."""
    cfg = t.cfg
    with autocast(t.device, t.precision):
        logits = t.train_model(xb)
    aux: tuple[Tensor, ...] = ()
    if isinstance(logits, tuple):  # (main, *auxiliary) logits, e.g. GoogLeNet in training
        logits, aux = logits[0], tuple(logits[1:])
        if cfg.aux_weight is None:
            raise ValueError(f"The model returned {len(aux)} auxiliary outputs besides its logits: set "
                             "TrainConfig(aux_weight=...) (GoogLeNet: 0.3), or build it without auxiliary "
                             "heads.")  # fmt: skip
    loss = F.cross_entropy(logits.float(), yb, label_smoothing=cfg.label_smoothing)
    main = loss.detach()
    for a in aux:
        loss = loss + cfg.aux_weight * F.cross_entropy(a.float(), yb, label_smoothing=cfg.label_smoothing)
    return loss, main, (logits.detach().argmax(1) != yb).float().mean()


def _record_step(t: Trainer, loss: float, error: float, lr: float, seconds: float, images: int) -> None:
    """One step of a budgeted run or replay as one History entry."""
    h = t.history
    h.train_loss.append(loss)
    h.train_error.append(error)
    h.lr.append(lr)
    h.epoch_train_loss.append(loss)
    h.epoch_train_error.append(error)
    h.test_loss.append(None)
    h.test_error.append(None)
    h.train_time_s.append(t.clock)
    h.wall_time_s.append(t.clock)
    h.images_per_s.append(images / max(seconds, 1e-9))
    h.extra["steps"] += 1
    h.extra["images_seen"] += images
    h.extra["passes"] = h.extra["images_seen"] / max(1, h.info["n_train"])


def _record_epoch(t: Trainer, losses: Tensor, errors: Tensor, rates: list[float], seconds: float) -> None:
    """One epoch's per-step numbers (every rank's averaged: one collective per epoch) and its means."""
    h, ws = t.history, t.world.world_size
    t.clock += seconds
    losses = distributed.all_reduce(losses, "sum") / ws
    errors = distributed.all_reduce(errors, "sum") / ws
    h.train_loss += losses.tolist()
    h.train_error += errors.tolist()
    h.lr += rates
    h.epoch_train_loss.append(float(losses.mean()))
    h.epoch_train_error.append(float(errors.mean()))
    h.images_per_s.append(t.loader.shard_size * ws / seconds)
    h.train_time_s.append(t.clock)


def _score(t: Trainer) -> tuple[float, float]:
    """Test loss and error of ``t``'s model (each rank scores its share), leaving it in eval mode."""
    t.model.eval()
    part = slice(t.world.rank, None, t.world.world_size)
    sums = _eval_sums(t.model, t.test_x[part], t.test_y[part], t.normalizer, t.cfg.eval_batch_size, t.device,
                      t.precision, t.channels_last)  # fmt: skip
    sums = distributed.all_reduce(sums, "sum")
    return float(sums[0] / sums[2]), float(sums[1] / sums[2])


def _evaluate_epoch(t: Trainer, last: bool, bar: Any) -> None:
    """Score after the epoch every ``eval_every`` epochs and after the last; record None otherwise."""
    h, every = t.history, t.cfg.eval_every
    if every > 0 and (h.epochs_done % every == 0 or last) and t.test_y.numel():
        loss, error = _score(t)
        h.test_loss.append(loss)
        h.test_error.append(error)
        bar.set_postfix(loss=f"{h.epoch_train_loss[-1]:.3f}", err=f"{100 * h.epoch_train_error[-1]:.1f}%",
                        test_err=f"{100 * error:.1f}%")  # fmt: skip
    else:
        h.test_loss.append(None)
        h.test_error.append(None)


def _stop_reason(t: Trainer, until: Until, epoch: int, passes: int) -> str:
    """How the run stands after ``epoch``: a checkpoint written mid-run says "running", one of the last
    epoch says how the run ended."""
    h, cfg = t.history, t.cfg
    if until.callback is not None and until.callback(epoch, t.model, h):
        return "callback"
    if until.train_error is not None and h.epoch_train_error[-1] <= until.train_error:
        return "target"
    if cfg.max_time_s is not None and t.clock >= cfg.max_time_s and epoch + 1 < passes:
        return "time_budget"
    return "completed" if epoch + 1 == passes else "running"


def _after_epoch(t: Trainer, epoch: int, resumed: int, passes: int, checkpoint: Path | None,
                 progress: ProgressCallback | None, bar: Any) -> None:  # fmt: skip
    """Checkpoint the epoch (main rank), report it to ``progress``, and print its line where no bar is
    drawn."""
    spe = t.steps_per_epoch
    if checkpoint is not None and t.world.is_main:
        save_checkpoint({
            "epoch": epoch + 1, "step": (epoch + 1) * spe,
            "model": t.model.state_dict(), "optimizer": t.optimizer.state_dict(),
            "scheduler": {"schedule": t.cfg.schedule, "next_step": (epoch + 1) * spe},
            "scaler": t.scaler.state_dict() if t.scaler is not None else None,
            "rng": _rng_state(), "history": t.history.to_dict(), "config": t.cfg.to_dict(), "run": t.run,
        }, checkpoint)  # fmt: skip
    event = _event(t.run, passes, spe, epoch + 1, resumed, t.history)
    if progress is not None:
        progress(event)
    if not t.cfg.quiet and t.world.is_main and bar.disable:
        print(epoch_line(event), file=sys.stderr, flush=True)


def _end_steps(t: Trainer, run_start: float, max_points: int) -> None:
    """A budgeted run or replay: scored once, after its last step; pooled when long."""
    h = t.history
    if h.stopped != "non_finite" and h.train_loss and t.test_y.numel():
        h.test_loss[-1], h.test_error[-1] = _score(t)
        h.wall_time_s[-1] = time.perf_counter() - run_start
    if len(h.train_loss) > max_points:
        pool_per_step(h, math.ceil(len(h.train_loss) / max_points))


def _bar(t: Trainer, start_epoch: int, passes: int) -> Any:
    """tqdm's bar where a redrawn bar reads well (a terminal, a notebook), else a disabled one."""
    from tqdm.auto import tqdm

    show = not t.cfg.quiet and t.world.is_main
    spe = t.steps_per_epoch
    return tqdm(total=passes * spe, initial=start_epoch * spe, disable=not (show and _live_bar()),
                unit="step", leave=True, desc=f"epoch {start_epoch + 1}/{passes}")  # fmt: skip


def backward_step(loss: Tensor, optimizer: torch.optim.Optimizer,
                  scaler: torch.amp.GradScaler | None = None) -> None:  # fmt: skip
    """One optimisation step on ``loss``: clear the gradients, backpropagate (scaled for fp16 when a
    ``scaler`` is given) and step."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is not None:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
    else:
        loss.backward()
        optimizer.step()


def _guard(t: Trainer, losses: Tensor, errors: Tensor, lo: int, hi: int, epoch: int, lrs: Sequence[float],
           per_step: bool) -> None:  # fmt: skip
    """Raise NonFiniteLossError if any loss in ``losses[lo:hi]`` (on any rank) is NaN or infinite; the
    History keeps the finite steps before it (a per-step record has them already)."""
    finite = torch.isfinite(losses[lo:hi])
    ok = finite.all().to(torch.int32).reshape(1)
    if int(distributed.all_reduce(ok, "min")) == 1:
        return
    bad = lo + int(torch.nonzero(~finite)[0]) if not bool(finite.all()) else lo
    h = t.history
    if not per_step:
        h.train_loss += losses[:bad].tolist()
        h.train_error += errors[:bad].tolist()
        h.lr += list(lrs[:bad])
    h.stopped = "non_finite"
    raise NonFiniteLossError(epoch * t.steps_per_epoch + bad, epoch, lrs[bad], float(losses[bad]), h)
