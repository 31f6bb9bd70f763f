"""Everything :func:`~ecg_lib.train.fit` builds before its first step, in one place: device, precision,
seeding, normaliser, the loader, the optimiser, the scaler, the History's labels, and the checkpoint to
resume from. The library's only construction of an optimiser and of a training loader are here."""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ecg_lib import distributed
from ecg_lib.atomic import check_writable, remove_stale_temporaries
from ecg_lib.data import Normalizer
from ecg_lib.loader import DeviceLoader
from ecg_lib.train.checkpoint import (
    CheckpointError,
    _check_resumable,
    _set_rng_state,
    load_checkpoint,
    run_key,
)
from ecg_lib.train.config import TrainConfig
from ecg_lib.train.context import RunContext, auto_checkpoint_path
from ecg_lib.train.device import device_name, pick_device, pick_precision
from ecg_lib.train.evaluate import _check_head
from ecg_lib.train.history import History


@dataclass
class Trainer:
    """What one :func:`fit` trains with; ``clock`` is its training time so far (evaluation excluded)."""

    model: nn.Module
    train_model: nn.Module  # the model as stepped: wrapped for DDP and/or compiled
    cfg: TrainConfig
    device: torch.device
    world: distributed.DistInfo
    precision: str
    channels_last: bool
    normalizer: Normalizer
    loader: DeviceLoader
    test_x: Tensor
    test_y: Tensor
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler | None
    run: dict[str, Any]
    history: History
    clock: float = 0.0

    @property
    def steps_per_epoch(self) -> int:
        return len(self.loader)


def make_optimizer(params: Any, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser ``cfg`` names, at its base rate (the loop sets each step's rate)."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)  # fmt: skip
    cls = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
    return cls(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def checkpoint_files(model: nn.Module, data: Any, cfg: TrainConfig, checkpoint: str | os.PathLike | None,
                     resume: str | os.PathLike | None, context: RunContext,
                     **run: Any) -> tuple[Path | None, Path | None, dict[str, Any] | None]:  # fmt: skip
    """``(checkpoint, resume, loaded checkpoint)``: the files given, or under ``context.checkpoint_dir``
    the run's own file, resumed when it exists. Checked (and a bad file read) before any work."""
    folder = context.checkpoint_folder() if checkpoint is None and resume is None else None
    if folder is not None:
        checkpoint = auto_checkpoint_path(folder, model, data, cfg, **run)
        resume = checkpoint if checkpoint.is_file() else None
    if checkpoint is not None:
        check_writable(checkpoint, "checkpoint")
        remove_stale_temporaries(checkpoint)  # what a kill -9 during an earlier save left beside it
    try:
        ckpt = load_checkpoint(resume) if resume is not None else None  # a bad file fails before any work
    except CheckpointError:
        if folder is None:
            raise
        # a state file of `reproduce` torn by a kill would stop every rerun at this fit: set it aside (for
        # a look) and train the fit again, rather than stay stuck
        aside = Path(resume).with_name(Path(resume).name + ".corrupt")
        os.replace(resume, aside)
        print(f"ecg_lib: the state checkpoint {resume} is truncated or corrupt; it is moved to {aside} and "
              "this fit starts again from its first epoch.", file=sys.stderr)  # fmt: skip
        ckpt, resume = None, None
    return (Path(checkpoint) if checkpoint is not None else None,
            Path(resume) if resume is not None else None, ckpt)  # fmt: skip


def prepare(model: nn.Module, data: Any, cfg: TrainConfig, *, profile: str | None, model_name: str | None,
            model_options: Mapping[str, Any] | None, recipe: str | None) -> Trainer:  # fmt: skip
    """Device and precision, seeds, the normaliser (from the training images), the model on its device,
    the loader (this rank's shard of each epoch), optimiser and scaler, and an empty History."""
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
    train_model: nn.Module = model
    if world.enabled:
        train_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if cfg.compile:
        train_model = torch.compile(train_model)
    history = History(config=cfg.to_dict(), steps_per_epoch=len(loader), normalizer=normalizer,
                      stopped="running")  # fmt: skip
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
    optimizer = make_optimizer(model.parameters(), cfg)
    scaler = torch.amp.GradScaler(device.type) if precision == "fp16" else None
    test_x, test_y = data.test_x.to(device), data.test_y.to(device)
    return Trainer(model, train_model, cfg, device, world, precision, channels_last, normalizer, loader,
                   test_x, test_y, optimizer, scaler, run, history)  # fmt: skip


def resume_from(t: Trainer, ckpt: dict[str, Any], path: Path) -> tuple[int, float]:
    """Load ``ckpt`` (the same run, checked) into ``t``: weights, optimiser, scaler, RNG states and
    History; returns ``(epochs done, wall-clock seconds of the run so far)`` and sets ``t.clock``."""
    _check_resumable(ckpt["config"], t.cfg, path, t.run, ckpt["run"], done=int(ckpt["epoch"]))
    try:
        t.model.load_state_dict(ckpt["model"])
        t.optimizer.load_state_dict(ckpt["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:  # e.g. same printed layers, other buffers
        raise CheckpointError(f"Cannot resume from {path}: its weights do not fit this model's "
                              f"architecture ({str(exc).splitlines()[0]}).") from None  # fmt: skip
    if t.scaler is not None and ckpt.get("scaler"):
        t.scaler.load_state_dict(ckpt["scaler"])
    _set_rng_state(ckpt["rng"], path)
    saved = History.from_dict(ckpt["history"])
    saved.config, saved.normalizer, saved.stopped = t.cfg.to_dict(), t.normalizer, "running"
    saved.info = {**t.history.info, "resumed_from_epoch": ckpt["epoch"]}
    t.history = saved
    t.clock = saved.train_time_s[-1] if saved.train_time_s else 0.0
    return int(ckpt["epoch"]), saved.wall_time_s[-1] if saved.wall_time_s else 0.0
