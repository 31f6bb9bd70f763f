"""Plain and residual nets trained under one schedule (He et al., 2016, Fig. 6): the settings per profile,
:class:`DepthRun` (training, the gradient probes before and after, the lesion study of the trained nets)
and the experiments built on it, :func:`depth_experiment` (plain-20/56, ResNet-20/56) and
:func:`deeper_experiment` (ResNet-56 against ResNet-110); and the readers of their results. Training goes
through :func:`ecg_lib.train.fit`; the lesions through :mod:`ecg_lib.experiments.lesions`. Re-exported by
:mod:`ecg_lib.experiments.resnet`, the chapter's module.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ecg_lib.counting import count_params
from ecg_lib.data import CIFAR10Data, Normalizer
from ecg_lib.evidence import pack_correct
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments.lesions import Lesion, lesion_study
from ecg_lib.experiments.settings import ExperimentSettings, resolve
from ecg_lib.models import get_model
from ecg_lib.models import resnet as R
from ecg_lib.profiles import check_profile
from ecg_lib.train import RunContext, TrainConfig, apply_recipe, correct_per_image, fit, pick_device, run_info

__all__ = [
    "DEEPER_SETTINGS",
    "SETTINGS",
    "DeeperSettings",
    "DepthRun",
    "DepthSettings",
    "LayerGrad",
    "TwinNets",
    "deeper_experiment",
    "depth_data",
    "depth_experiment",
    "gradient_norms",
    "grads_of",
    "initial_model",
    "training_curve",
    "twin_nets",
]


@dataclass(frozen=True)
class DepthSettings(ExperimentSettings):
    """What one profile trains: the nets, the data, the schedule and the size of the probes."""

    nets: tuple[str, ...]
    warmup_only: tuple[str, ...] | None = None  # nets that get the warmup; None: every net
    # Both depths: in a short run plain-56 may barely leave chance level, leaving a lesion nothing to
    # destroy, while plain-20 has learned enough to show the collapse.
    lesion_nets: tuple[str, ...] = ("resnet20", "plain20", "resnet56", "plain56")
    grad_batch: int = 256  # training images for the gradient-norm probe

    @property
    def plain(self) -> tuple[str, ...]:
        return tuple(n for n in self.nets if n.startswith("plain"))

    @property
    def residual(self) -> tuple[str, ...]:
        return tuple(n for n in self.nets if n.startswith("resnet"))

    def config_for(self, name: str) -> TrainConfig:
        if self.warmup_only is None or name in self.warmup_only:
            return self.train
        return self.train.replace(warmup_epochs=0.0, warmup_factor=None)

    def describe(self) -> str:
        c = self.train
        n = "all" if self.n_train_per_class is None else f"{10 * self.n_train_per_class:,}"
        m = "all" if self.n_test_per_class is None else f"{10 * self.n_test_per_class:,}"
        warm = f"{c.warmup:g} epoch(s) of warmup"
        if self.warmup_only is not None:
            warm += f" for {', '.join(self.warmup_only)} only"
        return (f"{n} training / {m} test images, {c.epochs} epochs of batch {c.batch_size}, lr {c.lr:g} "
                f"({c.schedule}, {warm}), momentum {c.momentum:g}, weight decay {c.weight_decay:g}, "
                f"seed {self.seed}")  # fmt: skip


# Quick: 2,000 images x 3 epochs at batch 32 (189 steps per net): measured on two idle cores of the
# book's CPU, the four nets train in about 2 minutes and the lesions take half a minute. Small batches
# give more steps for the same compute; at lr 0.1 (batch 32) plain-56 stayed at chance level in a budget
# like this one, at 0.05 it trains, more slowly than plain-20, as in the paper.
_QUICK = DepthSettings(
    nets=("plain20", "plain56", "resnet20", "resnet56"),
    n_train_per_class=200, n_test_per_class=50, grad_batch=128,
    train=TrainConfig(
        epochs=3, batch_size=32, lr=0.05, momentum=0.9, weight_decay=1e-4, schedule="warmup_cosine",
        warmup_epochs=0.5, quiet=True, eval_every=3,
    ),
)  # fmt: skip

# Full: Sec. 4.2 on all 50k training images: 391 steps per epoch, so 32k, 48k and 64k iterations are
# epochs 81.8, 122.8 and 163.7. The paper warms up only its 110-layer net, at lr 0.01 for about
# 400 iterations (one epoch here).
_STEPS_PER_EPOCH = math.ceil(50_000 / 128)
_FULL = DepthSettings(
    nets=("plain20", "plain32", "plain44", "plain56",
          "resnet20", "resnet32", "resnet44", "resnet56", "resnet110"),
    n_train_per_class=None, n_test_per_class=None, warmup_only=("resnet110",),
    train=TrainConfig(
        epochs=round(64_000 / _STEPS_PER_EPOCH), batch_size=128, lr=0.1, momentum=0.9, weight_decay=1e-4,
        schedule="step", milestones=(32_000 / _STEPS_PER_EPOCH, 48_000 / _STEPS_PER_EPOCH),
        warmup_epochs=1.0, warmup_factor=0.1, quiet=True,
    ),
)  # fmt: skip

# Standard: the four nets of Fig. 6 (plain-20/56, ResNet-20/56) on all 50,000 training images for 5 epochs
# with the short-budget recipe (ecg_lib.train.config.recipe_fields: lr 0.2, Nesterov, linear warmup and
# decay, no augmentation), every net alike; test error on all 10,000 test images after every epoch. The
# paper trains 164 epochs with crops and flips, lr 0.1 and steps; what is kept is the comparison itself:
# the same schedule for all four, equal-depth nets from identical weights. Cost on one core of the 2-core
# machine (bf16, benchmarks/standard_cost.md): about 100 s per epoch for a 20-layer net, 260 s for a
# 56-layer one, so about an hour per seed with the lesions.
_STANDARD = DepthSettings(
    nets=("plain20", "plain56", "resnet20", "resnet56"),
    n_train_per_class=None, n_test_per_class=None, grad_batch=256,
    train=apply_recipe(TrainConfig(epochs=5, batch_size=128, weight_decay=5e-4, quiet=True), "fast"),
)  # fmt: skip

#: What each profile trains (one entry per profile of :data:`ecg_lib.profiles.PROFILES`).
SETTINGS: dict[str, DepthSettings] = {"quick": _QUICK, "standard": _STANDARD, "full": _FULL}


@dataclass(frozen=True)
class DeeperSettings(DepthSettings):
    """The settings of :func:`deeper_experiment`: a depth study of ResNet-56 against ResNet-110."""


def _deeper(base: DepthSettings, lesion_nets: tuple[str, ...] = ()) -> DeeperSettings:
    fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
    return DeeperSettings(**{**fields, "nets": ("resnet56", "resnet110"), "lesion_nets": lesion_nets})


#: ResNet-110 against ResNet-56: the row of Table 6 that "deeper is better" is quoted from (6.43% against
#: 6.97%), where the four-net study stops at 56 layers. Each profile trains the two nets as its depth study
#: trains its own: the standard one with the short-budget recipe, which warms every net up linearly from
#: zero over the first fifth of the run; the full one with Sec. 4.2's schedule and its warm-up of
#: ResNet-110 only (lr 0.01 for about 400 iterations). Lesions of ResNet-110 (Veit et al.'s own network)
#: only in the full profile: 54 deletions of a 110-layer net cost more than its training in a short run.
DEEPER_SETTINGS: dict[str, DeeperSettings] = {
    "quick": _deeper(_QUICK), "standard": _deeper(_STANDARD), "full": _deeper(_FULL, ("resnet110",)),
}  # fmt: skip


@dataclass(frozen=True)
class LayerGrad:
    """The gradient of the loss with respect to one convolution's weights."""

    index: int  # 0-based, in forward order (0 is the stem's convolution)
    name: str
    norm: float  # Frobenius norm of dL/dW
    rel: float  # norm / ||W||: the relative size of the update this gradient asks for


def gradient_norms(model: nn.Module, x: Tensor, y: Tensor) -> list[LayerGrad]:
    """Per-convolution gradient norms of the cross-entropy on one batch (``x`` normalised, float).

    The model runs in training mode (batch statistics, as when it is trained) on a deep copy, so the
    model's weights, gradients and batch-norm running statistics are left as they were."""
    probe = copy.deepcopy(model).train()
    probe.zero_grad(set_to_none=True)
    F.cross_entropy(probe(x), y).backward()
    convs = [(n, m) for n, m in probe.named_modules()
             if isinstance(m, nn.Conv2d) and m.weight.grad is not None]  # fmt: skip
    return [
        LayerGrad(i, n, float(m.weight.grad.norm()), float(m.weight.grad.norm() / m.weight.detach().norm()))
        for i, (n, m) in enumerate(convs)
    ]


def initial_model(name: str, seed: int = 0) -> R.ResNet:
    """The CIFAR net ``name`` (e.g. ``"plain56"``) with the weights it starts training from.

    Plain and residual nets of one depth have the same parameters in the same order, so with one seed
    they start from identical weights."""
    torch.manual_seed(seed)
    model = get_model(name)
    if not isinstance(model, R.ResNet):
        raise ValueError(f"{name!r} is not a CIFAR ResNet or plain net; pick e.g. resnet56 or plain56.")
    return model


@dataclass(frozen=True)
class TwinNets:
    """The plain and the residual net of one depth as they start training: blocks, parameters, and
    whether their initial weights are identical."""

    depth: int
    blocks: int
    plain_params: int
    residual_params: int
    same_weights: bool


def twin_nets(depth: int, seed: int = 0) -> TwinNets:
    """Build ``plain{depth}`` and ``resnet{depth}`` with :func:`initial_model` and compare them."""
    plain, res = initial_model(f"plain{depth}", seed), initial_model(f"resnet{depth}", seed)
    a, b = plain.state_dict(), res.state_dict()
    same = list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    return TwinNets(depth, len(plain.blocks), count_params(plain), count_params(res), same)


def depth_data(data: CIFAR10Data, settings: DepthSettings) -> CIFAR10Data:
    """The images ``settings`` trains and tests on: a class-balanced subset, or all of ``data``."""
    return settings.data_from(data, seed=settings.seed)


class DepthRun:
    """Plain and residual nets trained under one schedule (He et al., 2016, Fig. 6), one call per group.

    ``run = DepthRun(data, profile="quick")`` fixes the profile's settings (or ``settings``), the training
    subset, the normaliser and a fixed batch of training images for gradient probes;
    ``run.train("plain20", "plain56")`` trains nets
    and can be called again for more. Nets of equal depth start from identical weights (same seed, same
    parameter shapes and order), so plain-56 and ResNet-56 differ only by their shortcuts. Each net's
    per-convolution gradient norms are measured on the probe batch before and after training.
    ``run.result`` collects histories and metrics; ``run.models`` holds the trained nets (on the CPU).
    """

    def __init__(self, data: CIFAR10Data | None = None, *, profile: str,
                 settings: DepthSettings | None = None,
                 context: RunContext | None = None) -> None:  # fmt: skip
        """``profile``: the resolved profile (recorded; its :data:`SETTINGS` entry unless ``settings``
        replaces it, as benchmarks/resnet_gpu_check.py does). ``context``: passed to every fit."""
        self.profile = check_profile(profile)
        self.context = context
        self.settings = resolve(settings, SETTINGS, profile)
        if data is None:
            from ecg_lib.data import load_cifar10

            data = load_cifar10()
        self.data = depth_data(data, self.settings)
        self.normalizer = Normalizer.from_images(self.data.train_x, self.settings.train.normalize)
        gen = torch.Generator().manual_seed(self.settings.seed)
        idx = torch.randperm(self.data.train_y.numel(), generator=gen)[: self.settings.grad_batch]
        self.probe_x, self.probe_y = self.normalizer(self.data.train_x[idx]), self.data.train_y[idx]
        self.models: dict[str, R.ResNet] = {}
        self.result = ExperimentResult(
            name="resnet.depth", profile=self.profile,
            metrics={"settings": self.settings.describe(), "grad_norms": {}},
        )  # fmt: skip

    def train(self, *names: str) -> DepthRun:
        """Train each of ``names`` (e.g. ``"plain56"``) and record it; returns ``self``."""
        if not names:
            raise ValueError(f"Name the nets to train, e.g. run.train{self.settings.plain}.")
        for name in names:
            model = initial_model(name, self.settings.seed)
            at_init = gradient_norms(model, self.probe_x, self.probe_y)
            history = fit(model, self.data, self.settings.config_for(name), profile=self.profile,
                          context=self.context)  # fmt: skip
            # one bit per test image: two nets scored on the same images are compared paired
            correct = correct_per_image(model, self.data.test_x, self.data.test_y,
                                        normalizer=history.normalizer)
            self.result.metrics.setdefault("correct", {})[name] = pack_correct(correct.numpy())
            model.cpu().to(memory_format=torch.contiguous_format).eval()
            trained = gradient_norms(model, self.probe_x, self.probe_y)
            self.result.metrics["grad_norms"][name] = {
                "init": [vars(g) for g in at_init], "trained": [vars(g) for g in trained],
            }  # fmt: skip
            self.result.histories[name] = history
            self.models[name] = model
        hs = self.result.histories
        self.result.metrics.update(
            final_train_error={n: h.epoch_train_error[-1] for n, h in hs.items()},
            final_test_error={n: h.final_test_error for n, h in hs.items()},
            train_time_s={n: round(h.train_time_s[-1], 1) for n, h in hs.items()},
        )
        self.result.run_info = run_info(self.data, profile=self.profile)
        return self

    def lesions(self) -> dict[str, list[Lesion]]:
        """:func:`lesion_study` of the settings' lesion nets (those trained) on the run's test images;
        also stored in ``result.metrics["lesions"]``."""
        # On the training device: a full-profile study (10,000 images, 4 nets, up to 27 deletions each)
        # is hundreds of forward passes of the test set, minutes on a CPU, seconds on a GPU.
        device = pick_device(self.settings.train.device)
        x, y = self.normalizer(self.data.test_x).to(device), self.data.test_y.to(device)
        out = {}
        for name in self.settings.lesion_nets:
            if name in self.models:
                out[name] = lesion_study(self.models[name].to(device), x, y)
                self.models[name].cpu()
        self.result.metrics["lesions"] = {k: [vars(les) for les in v] for k, v in out.items()}
        return out



def depth_experiment(data: CIFAR10Data | None = None, *, profile: str, settings: DepthSettings | None = None,
                     context: RunContext | None = None) -> ExperimentResult:  # fmt: skip
    """Everything the chapter trains, in one result: every net of :class:`DepthRun` and the lesions."""
    t0 = time.perf_counter()
    run = DepthRun(data, profile=profile, settings=settings, context=context)
    run.train(*run.settings.nets)
    run.lesions()
    run.result.metrics["seconds"] = round(time.perf_counter() - t0, 1)
    return run.result


def deeper_experiment(data: CIFAR10Data | None = None, *, profile: str,
                      settings: DeeperSettings | None = None,
                      context: RunContext | None = None) -> ExperimentResult:  # fmt: skip
    """ResNet-56 against ResNet-110 (:data:`DEEPER_SETTINGS`): the deciding row of "deeper is better"."""
    return depth_experiment(data, profile=profile, context=context,
                            settings=resolve(settings, DEEPER_SETTINGS, profile))



# ----------------------------------------------------------------------------------------------------------
# Reading a result (live or archived) back into records


def training_curve(history: Any, points: int = 30) -> tuple[list[float], list[float]]:
    """(iterations, training error) of one run: per-epoch means for long runs; for short runs the
    per-step errors averaged over about ``points`` equal windows, so a few epochs still draw a curve."""
    spe = history.steps_per_epoch
    if history.epochs_done >= points // 2:
        return [spe * (i + 1) for i in range(history.epochs_done)], list(history.epoch_train_error)
    err = torch.tensor(history.train_error)
    w = max(1, err.numel() // points)
    k = err.numel() // w
    means = err[: k * w].view(k, w).mean(1)
    return [w * (i + 1) for i in range(k)], means.tolist()


def grads_of(result: ExperimentResult, name: str, when: str = "init") -> list[LayerGrad]:
    """The gradient probe of ``name`` in ``result`` (live or archived) at ``"init"`` or ``"trained"``."""
    if when not in ("init", "trained"):
        raise ValueError(f"when must be 'init' or 'trained' (got {when!r}).")
    return [LayerGrad(**g) for g in result.metrics["grad_norms"][name][when]]

