"""The comparison chapter: the five ImageNet networks side by side, and a CIFAR-10 race of their
CIFAR-sized versions under one training budget.

* :func:`landmarks` measures each ImageNet network of the papers from the library (depth, parameters,
  multiply-adds, receptive field of its last convolution) and pairs it with the paper's top-5 error.
* :func:`race` trains the CIFAR-sized network of each family with one recipe and one budget
  (:data:`SETTINGS`, one entry per profile): the same wall-clock time per network in the quick profile
  (a CPU), the same number of epochs on the whole of CIFAR-10 in the full profile (a GPU).
  ``race_seed0``, ``race_seed1`` and ``race_seed2`` are separate experiments so that each seed is
  archived on its own (a time-limited GPU session keeps what finished); the chapter runs ``race_seed0``
  live and :func:`race_summary` pools the archived seeds. The quick race plans each network's epochs from
  its throughput measured at run time, so its numbers depend on the machine and its load.

Depth and receptive field are measured on the network's computation itself (:func:`ecg_lib.tracing.trace`,
re-exported here), not read from a list of layers, so Inception branches and residual shortcuts count the
way the papers count them.
What the chapter shows is drawn by :mod:`ecg_lib.chapters.comparison`; the papers' CIFAR-10 figures are
in :mod:`ecg_lib.papers` (comparison section).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from ecg_lib import papers
from ecg_lib.counting import count_macs, count_params, layer_table
from ecg_lib.experiments import ExperimentResult
from ecg_lib.models import get_model, model_spec
from ecg_lib.profiles import check_profile, select
from ecg_lib.tracing import Trace, trace
from ecg_lib.train import History, NonFiniteLossError, TrainConfig, evaluate, fit, pick_device, run_info

if TYPE_CHECKING:
    from ecg_lib.data import CIFAR10Data

__all__ = [
    "EXPERIMENTS",
    "RACE_MODELS",
    "SETTINGS",
    "BatchNormRerun",
    "Landmark",
    "RaceModel",
    "RaceRow",
    "RaceSettings",
    "Trace",
    "conv_macs",
    "landmarks",
    "measure_throughput",
    "plan_budget",
    "race",
    "race_curve",
    "race_models",
    "race_summary",
    "reference_errors",
    "rerun_with_batch_norm",
    "trace",
]

# ----------------------------------------------------------------------------------------------------------
# The five ImageNet networks


@dataclass(frozen=True)
class Landmark:
    """One ImageNet network: the paper's facts next to what the library measures on its model."""

    name: str
    model: str  # registry name of the ImageNet model measured
    paper: str  # citation key
    year: int  # the ILSVRC it entered, else the paper's year
    paper_depth: int | None  # depth as the paper states it, for its ImageNet network (None: no such net)
    depth: int  # measured: weight layers on the longest path
    params: int
    macs: int  # at ``input_size``
    input_size: tuple[int, int, int]
    receptive_field: int  # of the last convolution, in input pixels
    single_model: papers.TopFive | None  # the paper's best single network (top-5 error)
    entry: papers.TopFive | None  # the team's ILSVRC entry (an ensemble)
    fc_params: int  # parameters of the fully connected layers
    trace: Trace  # kernels, activations, joins, head: what carried forward (see the chapter)

    @property
    def fc_share(self) -> float:
        """Fraction of the parameters in fully connected layers."""
        return self.fc_params / self.params


# NIN's paper has no ImageNet network; the library's `nin` is the authors' later Caffe Model Zoo model.
_LANDMARK_MODELS = {"NIN": "nin"}


def landmarks() -> list[Landmark]:
    """The networks of :data:`ecg_lib.papers.NETWORKS`, each measured at its native ImageNet input
    (224 x 224; 227 x 227 for AlexNet, whose conv1 arithmetic needs 227 although the paper says 224)."""
    rows = []
    for net in papers.NETWORKS:
        name = _LANDMARK_MODELS.get(net.name, net.model)
        spec = model_spec(name)
        with torch.device("meta"):
            model = get_model(name)
        t = trace(model, spec.input_size)
        rows.append(Landmark(
            name=net.name, model=name, paper=net.paper,
            year=net.ilsvrc_year or papers.PAPERS[net.paper].year,
            paper_depth=net.depth if name == net.model else None,
            depth=t.depth, params=count_params(model), macs=count_macs(model, spec.input_size),
            input_size=spec.input_size, receptive_field=t.receptive_field,
            single_model=net.single_model, entry=net.entry,
            fc_params=sum(count_params(m) for m in model.modules() if isinstance(m, nn.Linear)), trace=t,
        ))  # fmt: skip
    return rows


def conv_macs(name: str) -> int:
    """Multiply-adds of the convolutions alone of registry model ``name`` at its native input (papers
    sometimes quote these without the fully connected layers)."""
    with torch.device("meta"):
        model = get_model(name)
    return sum(r.macs for r in layer_table(model, model_spec(name).input_size) if r.kind == "Conv2d")


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
class RaceSettings:
    """One profile's race: the data, the shared recipe, and the budget per network.

    ``seconds_per_net`` set (quick profile): every network trains for that long; a network gets as many
    epochs over the ``n_train_per_class`` subset as fit in the time (at least ``min_epochs``, at most
    ``max_epochs``), and one too slow for ``min_epochs`` over the whole subset trains on a smaller, nested
    part of it. ``seconds_per_net`` None (full profile): every network trains ``max_epochs`` epochs.
    ``None`` sizes mean the whole split. ``train`` is the shared recipe; the race's seed replaces its
    ``seed`` (see :func:`race`).
    """

    n_train_per_class: int | None
    n_test_per_class: int | None
    seconds_per_net: float | None
    min_epochs: int
    max_epochs: int
    train: TrainConfig


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
    "quick": RaceSettings(500, 50, 20.0, 1, 20, _recipe(20, 64)),
    # Standard: the whole of CIFAR-10, 8 minutes of training per network (one core of the 2-core CPU:
    # about 40 minutes a race; on a GPU the same budget buys many more epochs, so the archive names its
    # device), test on all 10,000 images.
    "standard": RaceSettings(None, None, 480.0, 1, 30, _recipe(30, 128)),
    # A GPU: the whole of CIFAR-10, 30 epochs each.
    "full": RaceSettings(None, None, None, 30, 30, _recipe(30, 128)),
}


def plan_budget(images_per_s: float, seconds: float, n_per_class: int, min_epochs: int, max_epochs: int,
                classes: int = 10) -> tuple[int, int]:  # fmt: skip
    """``(images per class, epochs)`` for a network that trains ``images_per_s`` for ``seconds``.

    The network sees ``images_per_s * seconds`` images. If that covers ``min_epochs`` passes over the
    ``n_per_class`` subset, it takes the whole subset for as many epochs as fit (up to ``max_epochs``);
    otherwise it gets ``min_epochs`` passes over the largest class-balanced part that fits (at least one
    image per class).
    """
    if images_per_s <= 0 or seconds <= 0:
        raise ValueError(f"images_per_s and seconds must be positive (got {images_per_s}, {seconds}).")
    if not 1 <= min_epochs <= max_epochs:
        raise ValueError(f"need 1 <= min_epochs <= max_epochs (got {min_epochs}, {max_epochs}).")
    images = images_per_s * seconds
    full = n_per_class * classes
    if images >= min_epochs * full:
        return n_per_class, max(min_epochs, min(max_epochs, int(images // full)))
    return max(1, int(images // (min_epochs * classes))), min_epochs


def measure_throughput(name: str, batch_size: int = 32, device: torch.device | str | None = None,
                       min_seconds: float = 1.0, max_steps: int = 8) -> float:  # fmt: skip
    """Training images per second of a fresh ``name`` model on batches of random 32 x 32 images: one
    untimed step, then timed SGD steps until ``min_seconds`` have passed or ``max_steps`` were taken
    (the model is thrown away). On a CPU one GoogLeNet step already takes seconds; a small network
    needs several steps for a stable figure."""
    device = pick_device(device)
    model = get_model(name).to(device, memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    x = torch.randn(batch_size, 3, 32, 32, device=device).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch_size,), device=device)
    elapsed, steps = 0.0, 0
    while steps <= max_steps and (steps <= 1 or elapsed < min_seconds):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if steps:  # the first step pays for memory allocation and kernel selection
            elapsed += time.perf_counter() - t0
        steps += 1
    return (steps - 1) * batch_size / elapsed


def _race_data(data: CIFAR10Data | None, settings: RaceSettings, seed: int) -> CIFAR10Data:
    """The race's images: ``settings``' class-balanced subset (drawn with ``seed``) of ``data`` (None: the
    whole of CIFAR-10, loaded). The batch-norm rerun and the reference scores use the same images."""
    if data is None:
        from ecg_lib.data import load_cifar10

        data = load_cifar10()
    if settings.n_train_per_class is not None or settings.n_test_per_class is not None:
        data = data.subset(settings.n_train_per_class, settings.n_test_per_class, seed=seed)
    return data


def race(
    data: Any = None,
    *,
    profile: str,
    settings: RaceSettings | None = None,
    seed: int = 0,
    models: Sequence[str] = RACE_MODELS,
) -> ExperimentResult:
    """Train each of ``models`` on CIFAR-10 with the profile's :class:`RaceSettings` (or ``settings``).

    ``data`` is a :class:`~ecg_lib.data.CIFAR10Data` (None: :func:`~ecg_lib.data.load_cifar10`). ``seed``
    picks the training subset, the initial weights and the recipe's seed (it replaces ``settings.train``'s).
    Returns
    one History per network and, in ``metrics["nets"]``, per network: parameters, MACs, images per class
    and epochs trained, images seen, training seconds, final test error, how the run ended. A network
    whose loss becomes NaN is recorded as ``"non_finite"`` with no test error; the race goes on.
    """
    check_profile(profile)
    settings = select(SETTINGS, profile) if settings is None else settings
    data = _race_data(data, settings, seed)
    n_per_class = data.n_train // 10
    histories: dict[str, History] = {}
    nets: dict[str, dict[str, Any]] = {}
    for name in models:
        cfg = settings.train.replace(seed=seed)
        train = data
        per_class, epochs, ips = n_per_class, settings.max_epochs, None
        if settings.seconds_per_net is not None:
            ips = measure_throughput(name, cfg.batch_size, cfg.device)  # the batch it will train with
            per_class, epochs = plan_budget(ips, settings.seconds_per_net, n_per_class,
                                            settings.min_epochs, settings.max_epochs)  # fmt: skip
            if per_class < n_per_class:
                train = data.subset(per_class, None, seed=seed)  # nested in the subset above
            # stop at the budget even if the machine slows down after the throughput was measured
            cfg = cfg.replace(epochs=epochs, max_time_s=settings.seconds_per_net, eval_every=epochs)
        else:
            cfg = cfg.replace(epochs=epochs)
        torch.manual_seed(seed)  # the same initial weights in every rerun
        model = get_model(name)
        try:
            history = fit(model, train, cfg, profile=profile)
        except NonFiniteLossError as exc:
            history = exc.history
        error = history.final_test_error
        if error is None and history.stopped == "time_budget":
            # stopped before the scheduled last epoch, whose evaluation it skipped: score it now
            _, error = evaluate(model, data.test_x, data.test_y, normalizer=history.normalizer,
                                precision=cfg.precision)  # fmt: skip
            history.extra["final_test_error"] = error
        histories[name] = history
        nets[name] = {
            "params": count_params(model),
            "macs": count_macs(model, model_spec(name).input_size),
            "train_per_class": per_class,
            "epochs": history.epochs_done,
            "images_seen": history.epochs_done * per_class * 10,
            "train_time_s": history.train_time_s[-1] if history.train_time_s else 0.0,
            "test_error": error,
            "stopped": history.stopped,
            "measured_images_per_s": ips,
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
    epochs: int
    images_seen: int
    train_time_s: float
    test_error: float | None
    error_without: float | None  # the race's own result for the network
    history: History


def rerun_with_batch_norm(race_result: ExperimentResult, name: str, data: CIFAR10Data | None = None, *,
                          settings: RaceSettings | None = None) -> BatchNormRerun:  # fmt: skip
    """Train ``name`` again exactly as in ``race_result`` (same images, epochs, recipe and seed) but with
    batch normalisation after every convolution, and no time budget.

    This separates a network that ran out of budget from one that stalls: a network near chance after
    many passes over its images, that learns with batch normalisation in the same passes, has an
    optimisation problem rather than a compute problem. ``settings`` must be those the race ran with
    (default: the :data:`SETTINGS` of the race's profile); the seed is the race's."""
    nets = race_result.metrics["nets"]
    if name not in nets:
        raise ValueError(f"{name!r} is not in this race (it has {', '.join(nets)}).")
    seed = race_result.metrics["seed"]
    settings = select(SETTINGS, race_result.profile) if settings is None else settings
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
    epochs = ran["epochs"]
    config = settings.train.replace(seed=seed, epochs=epochs, eval_every=epochs, max_time_s=None)
    history = fit(model, train, config, profile=race_result.profile)
    return BatchNormRerun(name, epochs, epochs * ran["train_per_class"] * 10, history.train_time_s[-1],
                          history.final_test_error, ran["test_error"], history)  # fmt: skip


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
    ``reported_accuracy``: the publisher's, on the original test set (percent). ``models`` replaces
    ``load_pretrained`` (tests). Evaluation only: seconds on a CPU."""
    from ecg_lib.experiments.reference import count_correct
    from ecg_lib.pretrained import PRETRAINED, load_pretrained

    check_profile(profile)
    settings = select(SETTINGS, profile) if settings is None else settings
    data = _race_data(data, settings, seed)
    errors = {}
    for name in names:
        model, norm = models[name] if models is not None else load_pretrained(name)
        correct = count_correct(model, norm, data.test_x, data.test_y)
        errors[name] = {"correct": correct, "n": data.n_test, "error": 1 - correct / data.n_test}
    metrics = {"errors": errors, "reported_accuracy": {n: PRETRAINED[n].reported_accuracy for n in names},
               "data_quality": data.data_quality, "seed": seed}  # fmt: skip
    info = run_info(data, profile=profile)
    return ExperimentResult("comparison.reference", profile, metrics=metrics, run_info=info)


EXPERIMENTS: dict[str, Callable[..., ExperimentResult]] = {
    f"race_seed{s}": partial(race, seed=s) for s in (0, 1, 2)
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
