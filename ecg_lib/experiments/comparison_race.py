"""The comparison chapter's CIFAR-10 race: the CIFAR-sized network of each family trained with one recipe
and one budget (:data:`SETTINGS`, one entry per profile), the batch-norm rerun, the reference networks
scored on the race's images, and the pooling of seeds (:func:`race_summary`). Re-exported by
:mod:`ecg_lib.experiments.comparison`, whose docstring describes the chapter; the training itself is
:func:`ecg_lib.train.fit` (a time budget is ``Until(seconds=...)``)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ecg_lib.counting import count_macs, count_params
from ecg_lib.experiments import ExperimentResult, seeded
from ecg_lib.experiments.settings import ExperimentSettings, resolve
from ecg_lib.models import get_model, model_spec
from ecg_lib.profiles import check_profile
from ecg_lib.tracing import trace
from ecg_lib.train import History, NonFiniteLossError, RunContext, TrainConfig, Until, fit, run_info

if TYPE_CHECKING:
    from ecg_lib.data import CIFAR10Data

__all__ = [
    "EXPERIMENTS",
    "RACE_MODELS",
    "SETTINGS",
    "STANDARD_DEPARTURES",
    "BatchNormRerun",
    "RaceModel",
    "RaceRow",
    "RaceSettings",
    "race",
    "race_curve",
    "race_models",
    "race_summary",
    "reference_errors",
    "rerun_with_batch_norm",
    "train_for_time",
]

# ----------------------------------------------------------------------------------------------------------
# The CIFAR-10 race

#: The CIFAR-sized network of each family, registry defaults (see `python -m ecg_lib models`).
RACE_MODELS: tuple[str, ...] = ("alexnet_cifar", "vgg_cifar", "nin_cifar", "googlenet_cifar", "resnet20")


@dataclass(frozen=True)
class RaceModel:
    """A race network as the library builds it: family, measured depth, size, cost per 32 x 32 image,
    receptive field of its last convolution."""

    name: str
    family: str
    depth: int
    params: int
    macs: int
    receptive_field: int


def race_models(models: Sequence[str] = RACE_MODELS) -> list[RaceModel]:
    """:class:`RaceModel` facts of each race network (counted on the meta device, no weights)."""
    rows = []
    for name in models:
        spec = model_spec(name)
        with torch.device("meta"):
            model = get_model(name)
        t = trace(model, spec.input_size)
        macs = count_macs(model, spec.input_size)
        rows.append(RaceModel(name, spec.family, t.depth, count_params(model), macs, t.receptive_field))
    return rows


@dataclass(frozen=True)
class RaceSettings(ExperimentSettings):
    """One profile's race: the data, the shared recipe, and the budget per network.

    ``seconds_per_net`` set (quick profile): every network trains on the same ``n_train_per_class``
    subset for that many seconds of training, checked after every step (:func:`train_for_time`), for at
    most ``max_epochs`` passes; a network too slow for one pass sees part of the subset once.
    ``seconds_per_net`` None (full profile): every network trains ``max_epochs`` epochs. ``None`` sizes
    mean the whole split. ``train`` is the shared recipe; the race's seed replaces its ``seed`` (see
    :func:`race`).
    """

    seconds_per_net: float | None
    max_epochs: int


def _recipe(epochs: int, batch_size: int, seed: int = 0) -> TrainConfig:
    # One recipe for all five: SGD with Nesterov momentum, short warmup, cosine decay, crop-and-flip
    # augmentation, the usual CIFAR weight decay. None of the papers used it; the point is that every
    # network gets the same one. lr 0.05 rather than 0.1: four of the five nets have no batch norm.
    return TrainConfig(
        epochs=epochs, batch_size=batch_size, lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4,
        schedule="warmup_cosine", seed=seed, quiet=True,
    )  # fmt: skip


#: The race of each profile (one entry per profile of :data:`ecg_lib.profiles.PROFILES`).
SETTINGS: dict[str, RaceSettings] = {
    # A 2-core CPU: 20 s per network on up to 5,000 training images; 500 test images, scored once at
    # the end (scoring costs a third of a training pass per image, and GoogLeNet's is not cheap).
    "quick": RaceSettings(20.0, 20, n_train_per_class=500, n_test_per_class=50, train=_recipe(20, 64)),
    # Standard: the whole of CIFAR-10, 5 minutes of training per network (one core of the 2-core CPU: 25
    # minutes a race, three seeds; on a GPU the same budget buys many more epochs, so the archive names
    # its device), test on all 10,000 images.
    "standard": RaceSettings(300.0, 30, n_train_per_class=None, n_test_per_class=None,
                             train=_recipe(30, 128)),
    # A GPU: the whole of CIFAR-10, 30 epochs each.
    "full": RaceSettings(None, 30, n_train_per_class=None, n_test_per_class=None, train=_recipe(30, 128)),
}

#: How the standard-profile race departs from the papers, and why (printed under the archived run).
STANDARD_DEPARTURES: dict[str, str] = {
    "race": (
        "No paper ran this race: each paper trained its own network with its own recipe on ImageNet. Here "
        "the five CIFAR-sized networks get one recipe (SGD with Nesterov momentum, warmup and cosine "
        "decay, crops and flips, weight decay 5e-4) and the same 5 minutes of training on all of "
        "CIFAR-10 (at most 30 epochs), then are scored on all 10,000 test images, three seeds. An equal "
        "time budget favours networks that are cheap on the device that ran it, so the archive names "
        "the device and the ranking holds for it alone."
    ),
}


def _race_data(data: CIFAR10Data | None, settings: RaceSettings, seed: int) -> CIFAR10Data:
    """The race's images: ``settings``' class-balanced subset (drawn with ``seed``) of ``data`` (None: the
    whole of CIFAR-10, loaded). The batch-norm rerun and the reference scores use the same images."""
    return settings.data_from(data, seed=seed)


def train_for_time(
    model: nn.Module,
    data: Any,
    config: TrainConfig,
    *,
    seconds: float | None = None,
    lrs: Sequence[float] | None = None,
    max_epochs: int | None = None,
    profile: str | None = None,
    max_points: int = 2000,
    context: RunContext | None = None,
) -> History:
    """:func:`~ecg_lib.train.fit` for a budget of training time checked after every step
    (``Until(seconds=seconds, epochs=max_epochs)``), or replaying a timed run's rates (``lrs``), with a
    diverged network's History returned rather than raised: ``stopped == "non_finite"``, no test error,
    and the (1-based) step it happened at in ``extra["non_finite_at_step"]``.

    ``seconds``: the run ends at the first step whose training clock reaches it, or after ``max_epochs``
    passes (default ``config.epochs``); the schedule of ``config.epochs`` passes is stretched over the
    budget. The History has one entry per step (pooled in windows over ``max_points`` steps, the exact
    rates in ``extra["lr_steps"]``); see :func:`~ecg_lib.train.fit`. SGD only, as the race's recipe."""
    if (seconds is None) == (lrs is None):
        raise ValueError("train_for_time needs either seconds (a time budget) or lrs (a replay), not both.")
    if config.optimizer != "sgd":
        raise ValueError(f"train_for_time trains with SGD; the config asks for {config.optimizer!r}.")
    until = Until(epochs=max_epochs, seconds=seconds) if seconds is not None else None
    try:
        history = fit(model, data, config, until=until, lrs=lrs, profile=profile, max_points=max_points,
                      context=context)  # fmt: skip
    except NonFiniteLossError as exc:
        # the diverged step is neither taken nor recorded: a History (and an archive) holds finite
        # numbers only; the step it happened at is kept in extra
        history = exc.history
        history.extra["non_finite_at_step"] = exc.step + 1
    history.info["trainer"] = "train_for_time"
    return history


def race(
    data: Any = None,
    *,
    profile: str,
    settings: RaceSettings | None = None,
    context: RunContext | None = None,
    seed: int | None = None,
    models: Sequence[str] = RACE_MODELS,
) -> ExperimentResult:
    """Train each of ``models`` on CIFAR-10 with the profile's :class:`RaceSettings` (or ``settings``).

    ``data`` is a :class:`~ecg_lib.data.CIFAR10Data` (None: :func:`~ecg_lib.data.load_cifar10`). ``seed``
    (None: ``settings.seed``, the recipe's) picks the training subset, the initial weights and the
    recipe's seed (it replaces ``settings.train``'s).

    With a time budget (``settings.seconds_per_net``) each network trains on the same images with
    :func:`train_for_time`: the clock is read after every optimisation step and the run ends at the first
    step that reaches the budget (or after ``settings.max_epochs`` passes). Without one, each trains
    ``settings.max_epochs`` epochs with :func:`~ecg_lib.train.fit`.

    Returns one History per network and, in ``metrics["nets"]``, per network: parameters, MACs, training
    images per class, complete passes (``epochs``) and ``passes`` (images seen over training images),
    ``steps``, ``images_seen``, realised training seconds (``train_time_s``) against ``budget_s``, the
    realised ``images_per_s``, final test error and how the run ended (``stopped``). A network whose loss
    becomes NaN is recorded as ``"non_finite"`` with no test error; the race goes on. ``context``: where
    the fits checkpoint (untimed races only), report progress and count their time
    (:class:`~ecg_lib.train.RunContext`).
    """
    check_profile(profile)
    settings = resolve(settings, SETTINGS, profile)
    seed = settings.seed if seed is None else seed
    data = _race_data(data, settings, seed)
    n_per_class = data.n_train // 10
    budget = settings.seconds_per_net
    histories: dict[str, History] = {}
    nets: dict[str, dict[str, Any]] = {}
    for name in models:
        cfg = settings.train.replace(seed=seed)
        train = data
        per_class, epochs = n_per_class, settings.max_epochs
        torch.manual_seed(seed)  # the same initial weights in every rerun
        model = get_model(name)
        if budget is not None:
            # the same images for every network; the clock, read after every step, ends the run
            history = train_for_time(model, train, cfg.replace(epochs=epochs), seconds=budget,
                                     max_epochs=settings.max_epochs, profile=profile,
                                     context=context)  # fmt: skip
            steps, images = history.extra["steps"], history.extra["images_seen"]
        else:
            try:
                history = fit(model, train, cfg.replace(epochs=epochs), profile=profile, context=context)
            except NonFiniteLossError as exc:
                history = exc.history
            steps = len(history.train_loss)
            images = history.epochs_done * per_class * 10
        error = history.final_test_error
        seconds = history.train_time_s[-1] if history.train_time_s else 0.0
        histories[name] = history
        nets[name] = {
            "params": count_params(model),
            "macs": count_macs(model, model_spec(name).input_size),
            "train_per_class": per_class,
            "epochs": images // (per_class * 10),  # complete passes over its training images
            "passes": images / (per_class * 10),
            "steps": steps,
            "images_seen": images,
            "train_time_s": seconds,
            "budget_s": budget,
            "images_per_s": images / seconds if seconds else None,
            "test_error": error,
            "stopped": history.stopped,
        }
        del model
    metrics = {
        "seed": seed,
        "models": list(models),
        "n_train": data.n_train,
        "n_test": data.n_test,
        "seconds_per_net": settings.seconds_per_net,
        "nets": nets,
    }
    return ExperimentResult(f"race_seed{seed}", profile, histories, metrics, run_info(data, profile=profile))


@dataclass(frozen=True)
class BatchNormRerun:
    """One race network trained again with batch normalisation, under the race's conditions."""

    model: str
    epochs: int  # complete passes over its training images
    images_seen: int
    train_time_s: float
    test_error: float | None
    error_without: float | None  # the race's own result for the network
    history: History
    steps: int = 0


def rerun_with_batch_norm(race_result: ExperimentResult, name: str, data: CIFAR10Data | None = None, *,
                          settings: RaceSettings | None = None,
                          context: RunContext | None = None) -> BatchNormRerun:  # fmt: skip
    """Train ``name`` again exactly as in ``race_result`` (same images, steps, learning rates, recipe and
    seed) but with batch normalisation after every convolution, and no time budget.

    After a timed race the rerun replays the raced network's steps with the learning rates its History
    recorded (:func:`train_for_time` with ``lrs``), so both see the same batches in the same order; after
    an untimed race it trains the same epochs with :func:`~ecg_lib.train.fit`.

    This separates a network that ran out of budget from one that stalls: a network near chance after
    many passes over its images, that learns with batch normalisation in the same passes, has an
    optimisation problem rather than a compute problem. ``settings`` must be those the race ran with
    (default: the :data:`SETTINGS` of the race's profile); the seed is the race's."""
    nets = race_result.metrics["nets"]
    if name not in nets:
        raise ValueError(f"{name!r} is not in this race (it has {', '.join(nets)}).")
    seed = race_result.metrics["seed"]
    settings = resolve(settings, SETTINGS, race_result.profile)
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in get_model(name).modules()):
        raise ValueError(f"{name} already has batch norm; rerun a network without it, e.g. vgg_cifar.")
    torch.manual_seed(seed)
    try:
        model = get_model(name, batch_norm=True)
    except (TypeError, ValueError):  # the registry names an unknown option in a ValueError
        raise ValueError(f"{name} has no batch_norm option; vgg_cifar has one.") from None
    data = _race_data(data, settings, seed)
    ran = nets[name]
    train = data
    if ran["train_per_class"] < data.n_train // 10:  # the race's nested subset for a slow network
        train = data.subset(ran["train_per_class"], None, seed=seed)
    raced = race_result.histories.get(name)
    if ran.get("budget_s") is not None and raced is not None:
        config = settings.train.replace(seed=seed, max_time_s=None)
        rates = raced.extra.get("lr_steps", raced.lr)  # exact per-step rates of a pooled record
        history = train_for_time(model, train, config, lrs=rates, profile=race_result.profile,
                                 context=context)  # fmt: skip
        images, steps = history.extra["images_seen"], history.extra["steps"]
    else:
        epochs = ran["epochs"]
        config = settings.train.replace(seed=seed, epochs=epochs, eval_every=epochs, max_time_s=None)
        history = fit(model, train, config, profile=race_result.profile, context=context)
        images, steps = epochs * ran["train_per_class"] * 10, len(history.train_loss)
    return BatchNormRerun(name, images // (ran["train_per_class"] * 10), images, history.train_time_s[-1],
                          history.final_test_error, ran["test_error"], history, steps)  # fmt: skip


def reference_errors(
    data: CIFAR10Data | None = None,
    *,
    profile: str,
    settings: RaceSettings | None = None,
    seed: int = 0,
    names: Sequence[str] = ("resnet20", "resnet56"),
    models: dict[str, tuple[nn.Module, Any]] | None = None,
) -> ExperimentResult:
    """The trained reference networks (:func:`ecg_lib.pretrained.load_pretrained`: trained elsewhere, on the
    original CIFAR-10) scored on the race's own test images (the subset :func:`race` tests on with the same
    ``settings`` and ``seed``). ``metrics["errors"][name]``: ``correct``, ``n``, ``error``;
    ``readme_error`` and ``best_prec1``: the publisher's two figures on the original test set (percent
    error in their README table; percent accuracy of the best epoch, stored in the file). ``models`` replaces
    ``load_pretrained`` (tests). Evaluation only: seconds on a CPU."""
    from ecg_lib.experiments.reference import count_correct
    from ecg_lib.pretrained import PRETRAINED, load_pretrained

    check_profile(profile)
    settings = resolve(settings, SETTINGS, profile)
    data = _race_data(data, settings, seed)
    errors = {}
    for name in names:
        model, norm = models[name] if models is not None else load_pretrained(name)
        correct = count_correct(model, norm, data.test_x, data.test_y)
        errors[name] = {"correct": correct, "n": data.n_test, "error": 1 - correct / data.n_test}
    metrics = {"errors": errors, "readme_error": {n: PRETRAINED[n].readme_error for n in names},
               "best_prec1": {n: PRETRAINED[n].best_prec1 for n in names},
               "data_quality": data.data_quality, "seed": seed}  # fmt: skip
    info = run_info(data, profile=profile)
    return ExperimentResult("comparison.reference", profile, metrics=metrics, run_info=info)


EXPERIMENTS: dict[str, Callable[..., ExperimentResult]] = {
    f"race_seed{s}": seeded(race, SETTINGS, s) for s in (0, 1, 2)
}


def race_curve(history: History, points: int = 40) -> tuple[list[float], list[float]]:
    """``(seconds, training error %)`` of one race network: the per-step training error, averaged over
    about ``len(steps) / points`` steps, against training time (steps spread evenly over their epoch,
    whose end times the History records)."""
    spe = max(1, history.steps_per_epoch)
    times = []
    for i in range(len(history.train_error)):
        epoch, within = divmod(i, spe)
        if epoch >= len(history.train_time_s):
            break
        start = history.train_time_s[epoch - 1] if epoch else 0.0
        times.append(start + (within + 1) / spe * (history.train_time_s[epoch] - start))
    errors = history.train_error[: len(times)]
    window = max(1, len(times) // points)
    xs = [times[min(i + window, len(times)) - 1] for i in range(0, len(times), window)]
    ys = [100 * statistics.fmean(errors[i : i + window]) for i in range(0, len(times), window)]
    return xs, ys


@dataclass(frozen=True)
class RaceRow:
    """One network over the seeds of one profile: mean and spread (sample standard deviation; 0 for a
    single seed) of the test error; parameters, MACs, epochs and training time of the first seed."""

    model: str
    params: int
    macs: int
    epochs: int
    train_per_class: int
    train_time_s: float
    seeds: int
    error_mean: float | None
    error_std: float | None
    errors: tuple[float, ...]


def race_summary(results: Sequence[ExperimentResult]) -> list[RaceRow]:
    """Pool :func:`race` results of several seeds (one profile) into one row per network."""
    if not results:
        raise ValueError("race_summary needs at least one race result.")
    profiles = {r.profile for r in results}
    if len(profiles) > 1:
        raise ValueError(f"race_summary pools one profile at a time; got {sorted(profiles)}.")
    rows = []
    for name in results[0].metrics["models"]:
        runs = [r.metrics["nets"][name] for r in results if name in r.metrics["nets"]]
        errors = tuple(x["test_error"] for x in runs if x["test_error"] is not None)
        finite = [e for e in errors if math.isfinite(e)]
        first = runs[0]
        rows.append(RaceRow(
            model=name, params=first["params"], macs=first["macs"], epochs=first["epochs"],
            train_per_class=first["train_per_class"], train_time_s=first["train_time_s"], seeds=len(runs),
            error_mean=statistics.fmean(finite) if finite else None,
            error_std=statistics.stdev(finite) if len(finite) > 1 else (0.0 if finite else None),
            errors=errors,
        ))  # fmt: skip
    return rows
