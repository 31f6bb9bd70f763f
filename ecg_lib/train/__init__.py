"""Training: :class:`TrainConfig`, :func:`fit` -> :class:`History`, :func:`evaluate`, the choice of device and
precision, checkpoints, and :func:`run_info` (what produced a chapter's numbers).

A minimal run::

    data = load_cifar10().subset(500, 200)
    model = get_model("resnet20")
    history = fit(model, data, TrainConfig(epochs=5, lr=0.1))
    print(history.test_error[-1], history.reach(0.5))

Errors are fractions in [0, 1]; they become percentages only when printed.

The package is split by concern: :mod:`~ecg_lib.train.config` (TrainConfig, schedules),
:mod:`~ecg_lib.train.device` (device and precision), :mod:`~ecg_lib.train.history` (History),
:mod:`~ecg_lib.train.checkpoint`, :mod:`~ecg_lib.train.context` (when to stop: Until; where a run
belongs: RunContext), :mod:`~ecg_lib.train.setup` (what fit builds before its first step),
:mod:`~ecg_lib.train.loop` (fit, the one training loop), :mod:`~ecg_lib.train.evaluate` and
:mod:`~ecg_lib.train.info` (run_info). Everything public is re-exported here. Profiles live in
:mod:`ecg_lib.profiles`.
"""

from ecg_lib.train.checkpoint import CheckpointError, load_checkpoint, run_key, save_checkpoint
from ecg_lib.train.config import (
    CHECKPOINT_FORMAT,
    OPTIMIZERS,
    PRECISIONS,
    RECIPES,
    SCHEDULES,
    TrainConfig,
    apply_recipe,
    lr_at,
    recipe_fields,
)
from ecg_lib.train.context import (
    EpochCallback,
    ProgressCallback,
    RunContext,
    Until,
    auto_checkpoint_path,
    epoch_line,
)
from ecg_lib.train.device import pick_device, pick_precision
from ecg_lib.train.evaluate import correct_per_image, evaluate
from ecg_lib.train.history import History, NonFiniteLossError
from ecg_lib.train.info import format_run_info, run_info
from ecg_lib.train.loop import backward_step, fit

__all__ = [
    "CHECKPOINT_FORMAT",
    "OPTIMIZERS",
    "PRECISIONS",
    "RECIPES",
    "SCHEDULES",
    "CheckpointError",
    "EpochCallback",
    "History",
    "NonFiniteLossError",
    "ProgressCallback",
    "RunContext",
    "TrainConfig",
    "Until",
    "apply_recipe",
    "auto_checkpoint_path",
    "backward_step",
    "correct_per_image",
    "epoch_line",
    "evaluate",
    "fit",
    "format_run_info",
    "load_checkpoint",
    "lr_at",
    "pick_device",
    "pick_precision",
    "recipe_fields",
    "run_info",
    "run_key",
    "save_checkpoint",
]

