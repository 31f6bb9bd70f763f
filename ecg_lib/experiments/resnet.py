"""The ResNet chapter: the degradation problem and residual learning on CIFAR-10 (He et al., 2016,
Figure 6), gradient norms of plain and residual nets, the lesion study of Veit et al. (2016), and the
arithmetic of the bottleneck block and of the paper's Tables 1 and 6.

Counts come from modules built by :mod:`ecg_lib.models.resnet` and counted by :mod:`ecg_lib.counting`
on the meta device. Training goes through :func:`ecg_lib.train.fit`; every setting is declared per profile
in :data:`SETTINGS` (the caller passes the resolved profile, see :mod:`ecg_lib.profiles`):

* quick (a 2-core CPU, under 4 minutes for the whole chapter): 2,000 training and 500 test images,
  189 optimisation steps, a short linear warmup and cosine decay; enough to see plain-56 train worse
  than plain-20 and the shortcuts remove most of that gap, not enough to see ResNet-56 overtake
  ResNet-20;
* full (a GPU): all of CIFAR-10 and the paper's schedule (Sec. 4.2: batch 128, learning rate 0.1 divided
  by 10 at 32k and 48k iterations, 64k iterations, weight decay 1e-4, momentum 0.9), for the depths of
  Figure 6.

What the chapter shows (plots, tables, paragraphs) is drawn by :mod:`ecg_lib.chapters.resnet`; the paper's
figures are in :mod:`ecg_lib.papers` (ResNet section).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ecg_lib import papers
from ecg_lib.counting import count_macs, count_params
from ecg_lib.data import CIFAR10Data, Normalizer
from ecg_lib.evidence import pack_correct
from ecg_lib.experiments import ExperimentResult, reference, seeded
from ecg_lib.models import get_model
from ecg_lib.models import resnet as R
from ecg_lib.models._common import init_weights
from ecg_lib.profiles import check_profile, select
from ecg_lib.train import RunContext, TrainConfig, apply_recipe, correct_per_image, fit, pick_device, run_info

__all__ = [
    "DEEPER_SETTINGS",
    "EXPERIMENTS",
    "SETTINGS",
    "BlockCost",
    "CifarRow",
    "DeeperSettings",
    "DepthRun",
    "DepthSettings",
    "ImageNetRow",
    "LayerGrad",
    "Lesion",
    "LesionSummary",
    "TwinNets",
    "bottleneck_comparison",
    "deeper_experiment",
    "depth_data",
    "depth_experiment",
    "gradient_norms",
    "grads_of",
    "initial_model",
    "lesion_study",
    "lesions_of",
    "table1_rows",
    "table6_rows",
    "tables_experiment",
    "training_curve",
    "twin_nets",
    "vgg_macs",
]


# ----------------------------------------------------------------------------------------------------------
# Counting: the bottleneck block and Tables 1 and 6


def _meta(build, *args: Any, **kwargs: Any) -> nn.Module:
    with torch.device("meta"):
        return build(*args, **kwargs)


def _conv_weights(module: nn.Module) -> int:
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, nn.Conv2d))


@dataclass(frozen=True)
class BlockCost:
    """One building block: its layers in words, convolution weights, all parameters (with batch norm)
    and MACs of one image at ``side`` x ``side``."""

    label: str
    layers: str
    in_channels: int
    weights: int
    params: int
    macs: int
    side: int


def _block_cost(label: str, layers: str, block: nn.Module, in_channels: int, side: int) -> BlockCost:
    return BlockCost(
        label, layers, in_channels, _conv_weights(block), count_params(block),
        count_macs(block, (in_channels, side, side)), side,
    )  # fmt: skip


def bottleneck_comparison(side: int = 56) -> list[BlockCost]:
    """The three blocks of the bottleneck argument (He et al., 2016, Sec. 4.1 and Fig. 5), built as
    modules and counted at the conv2_x map size (56 x 56 by default):

    * the bottleneck on a 256-channel input: 1x1 to 64, 3x3 at 64, 1x1 back to 256;
    * two 3x3 layers at 64 channels (the basic block of ResNet-34's conv2_x, Fig. 5 left);
    * two 3x3 layers at 256 channels (a basic block as wide as the bottleneck's input and output).
    """
    return [
        _block_cost("bottleneck, 256-d", "1x1, 64 / 3x3, 64 / 1x1, 256",
                    _meta(R.Bottleneck, 256, 64, 1, "B"), 256, side),
        _block_cost("two 3x3, 64-d", "3x3, 64 / 3x3, 64", _meta(R.BasicBlock, 64, 64, 1, "B"), 64, side),
        _block_cost("two 3x3, 256-d", "3x3, 256 / 3x3, 256",
                    _meta(R.BasicBlock, 256, 256, 1, "B"), 256, side),
    ]  # fmt: skip


@dataclass(frozen=True)
class ImageNetRow:
    """One column of Table 1: our parameter and MAC counts at 224 x 224 against the paper's FLOPs.

    ``macs`` is the paper's network (stride 2 in the bottleneck's first 1x1); ``macs_v15`` moves the
    stride to the 3x3, as torchvision's ResNets do (the figure most model zoos quote)."""

    depth: int
    block: str
    params: int
    macs: int
    macs_v15: int
    paper_gmacs: float

    @property
    def rel_diff(self) -> float:
        """Our MACs relative to the paper's rounded figure (e.g. 0.015 is 1.5% above)."""
        return self.macs / (self.paper_gmacs * 1e9) - 1


def table1_rows() -> list[ImageNetRow]:
    """Parameters and MACs of the five ImageNet ResNets of Table 1, counted on the meta device."""
    rows = []
    for depth, (kind, _sizes) in R.IMAGENET_CONFIGS.items():
        model = _meta(R.resnet_imagenet, depth, init="default")
        macs = count_macs(model, (3, 224, 224))
        # Only a bottleneck has a 1x1 before its 3x3 to put the stride on; basic blocks are the same.
        v15 = count_macs(_meta(R.resnet_imagenet, depth, stride_on="3x3", init="default"), (3, 224, 224)) \
            if kind == "bottleneck" else macs  # fmt: skip
        paper = papers.RESNET_TABLE1_GMACS[depth]
        rows.append(ImageNetRow(depth, kind, count_params(model), macs, v15, paper))
    return rows


def vgg_macs() -> dict[int, int]:
    """MACs of one 224 x 224 image through VGG-16 and VGG-19 (configurations D and E), counted."""
    return {16: count_macs(_meta(get_model, "vgg_d"), (3, 224, 224)),
            19: count_macs(_meta(get_model, "vgg_e"), (3, 224, 224))}  # fmt: skip


@dataclass(frozen=True)
class CifarRow:
    """A CIFAR-10 ResNet of Table 6: our parameter count beside the paper's figures."""

    depth: int
    blocks: int
    params: int
    paper_params_m: float
    paper_error: float


def table6_rows() -> list[CifarRow]:
    """Exact parameter counts for every depth of Table 6, from the registry's nets."""
    rows = []
    for depth in R.CIFAR_DEPTHS:
        # Counting needs shapes only: PyTorch's default init is much faster than He init on the meta device.
        model = _meta(R.resnet_cifar, depth, init="default")
        params_m, error = papers.RESNET_TABLE6[depth]
        rows.append(CifarRow(depth, len(model.blocks), count_params(model), params_m, error))
    return rows


def tables_experiment(*, profile: str) -> ExperimentResult:
    """The chapter's arithmetic (no training, the same in every profile): the bottleneck comparison and
    Tables 1 and 6. ``profile`` is recorded (an unknown one raises
    :class:`~ecg_lib.profiles.UnknownProfileError`)."""
    check_profile(profile)
    return ExperimentResult(
        name="resnet.tables",
        profile=profile,
        metrics={
            "bottleneck": [vars(b) for b in bottleneck_comparison()],
            "table1": [vars(r) for r in table1_rows()],
            "table6": [vars(r) for r in table6_rows()],
            "vgg_macs": vgg_macs(),
        },
        run_info=run_info(profile=profile),
    )


# ----------------------------------------------------------------------------------------------------------
# Training plain and residual nets of two or more depths


@dataclass(frozen=True)
class DepthSettings:
    """What one profile trains: the nets, the data, the schedule and the size of the probes."""

    nets: tuple[str, ...]
    n_train_per_class: int | None  # None: all 5,000
    n_test_per_class: int | None  # None: all 1,000
    train: TrainConfig
    warmup_only: tuple[str, ...] | None = None  # nets that get the warmup; None: every net
    # Both depths: in a short run plain-56 may barely leave chance level, leaving a lesion nothing to
    # destroy, while plain-20 has learned enough to show the collapse.
    lesion_nets: tuple[str, ...] = ("resnet20", "plain20", "resnet56", "plain56")
    grad_batch: int = 256  # training images for the gradient-norm probe
    seed: int = 0

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

#: How each standard-profile experiment departs from the paper, and why (printed under the archived run;
#: the reference networks' entries come from :mod:`ecg_lib.experiments.reference`).
STANDARD_DEPARTURES: dict[str, str] = {
    "depth": (
        "Figure 6 trains each net for 164 epochs with crops and flips, lr 0.1 divided by 10 twice and "
        "weight decay 1e-4 (Sec. 4.2). Here the four nets that carry its two claims (plain-20/56, "
        "ResNet-20/56) train for 5 epochs on all of CIFAR-10 with the short-budget recipe (lr 0.2, "
        "Nesterov momentum, linear warmup and decay, weight decay 5e-4, no augmentation), all four alike "
        "and two seeds each. What is kept is the comparison itself: the same schedule for all four and "
        "equal depths with and without shortcuts. Five epochs is far from the paper's final errors; the "
        "claims tested are the order of the four curves, which a short run can show or fail to show."
    ),
    "depth110": (
        "Table 6 trains ResNet-56 and ResNet-110 for 164 epochs with crops and flips and warms ResNet-110 "
        "up at lr 0.01 for about 400 iterations (Sec. 4.2). Here both train for 5 epochs on all of "
        "CIFAR-10 with the depth study's short-budget recipe (lr 0.2, Nesterov momentum, a linear warmup "
        "over the first fifth of the run for both, weight decay 5e-4, no augmentation), two seeds. The "
        "paper's difference (0.54 points of test error) is below what two error rates on 10,000 images "
        "can show (about 1.1 points at 2 SE), so each net's per-image correctness is kept and the two are "
        "compared paired, image by image."
    ),
    **reference.STANDARD_DEPARTURES,
}


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
    if settings.n_train_per_class is None and settings.n_test_per_class is None:
        return data
    return data.subset(settings.n_train_per_class, settings.n_test_per_class, seed=settings.seed)


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
        self.settings = select(SETTINGS, profile) if settings is None else settings
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


# ----------------------------------------------------------------------------------------------------------
# The lesion study


@dataclass(frozen=True)
class Lesion:
    """Test error with one block removed (``block == -1``: nothing removed, the intact net)."""

    block: int
    name: str
    downsampling: bool
    error: float


def _without(model: R.ResNet, index: int) -> R.ResNet:
    # A plain downsampling block cannot become an identity; option A is the parameter-free stand-in.
    return R.drop_block(model, index, allow_downsampling=True)


@torch.no_grad()
def lesion_study(model: R.ResNet, x: Tensor, y: Tensor, *, batch_size: int = 250) -> list[Lesion]:
    """Test error of ``model`` with each single block deleted in turn (Veit et al., 2016, Sec. 4.1).

    A deleted residual block keeps its shortcut (:func:`ecg_lib.models.resnet.drop_block`); a deleted
    plain block becomes the identity, and a plain block that changes the shape becomes the
    parameter-free option A shortcut (nothing else fits in its place). ``x`` is normalised. The blocks
    before a deleted one compute what they computed before, so their outputs are computed once and each
    lesioned net runs only from the deleted block on: half the cost on average. The first entry is the
    intact network.
    """
    model = model.eval()
    n = len(model.blocks)
    lesioned = [_without(model, i) for i in range(n)]
    wrong = torch.zeros(n + 1, dtype=torch.float64, device=x.device)
    for start in range(0, x.shape[0], batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        inputs, h = reference.block_inputs(model, xb)
        wrong[0] += (reference.head(model, h).argmax(1) != yb).sum()
        for i, net in enumerate(lesioned):
            wrong[i + 1] += (reference.head(net, net.blocks[i:](inputs[i])).argmax(1) != yb).sum()
    errors = (wrong / y.numel()).tolist()
    out = [Lesion(-1, "none", False, errors[0])]
    out += [Lesion(i, b.name, b.downsamples, errors[i + 1]) for i, b in enumerate(model.blocks)]
    return out


@dataclass(frozen=True)
class LesionSummary:
    """A lesion study in five numbers; changes are in error (fractions), against the intact net."""

    intact: float  # test error of the intact net
    median_change: float  # median over the deletions of blocks that keep the shape
    max_change: float  # largest of those
    downsampling_change: float  # largest change from deleting a downsampling block
    toward_chance: float  # median of (error - intact) / (chance - intact): 1 means a deletion leaves chance

    @classmethod
    def of(cls, lesions: Sequence[Lesion], chance: float = 0.9) -> LesionSummary:
        if len(lesions) < 2 or lesions[0].block != -1:
            raise ValueError("expected lesion_study()'s output: the intact net first, then the deletions.")
        intact = lesions[0].error
        same = [b.error - intact for b in lesions[1:] if not b.downsampling]
        down = [b.error - intact for b in lesions[1:] if b.downsampling]
        room = chance - intact  # an intact net at chance has no way left to go: the share is undefined
        toward = [(b.error - intact) / room for b in lesions[1:]] if room > 0 else []
        return cls(intact, _median(same), max(same), max(down) if down else float("nan"), _median(toward))


def _median(values: Sequence[float]) -> float:
    return float(torch.tensor(values, dtype=torch.float64).median()) if values else float("nan")


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
    check_profile(profile)
    return depth_experiment(data, profile=profile, context=context,
                            settings=settings if settings is not None else select(DEEPER_SETTINGS, profile))


# The trained reference networks (ecg_lib.experiments.reference) are registered here, not as a chapter of
# their own: the ResNet chapter is the page that shows them, so `reproduce resnet` regenerates everything
# it shows and their archives sit in results/resnet/, where the chapter looks for them.
EXPERIMENTS: dict[str, Callable[..., ExperimentResult]] = {
    "tables": tables_experiment,
    "depth": depth_experiment,
    # the second seed of the depth comparison (issue 13: at least 2 seeds per difference)
    "depth_seed1": seeded(depth_experiment, SETTINGS, 1),
    # ResNet-110 against ResNet-56, the deciding run of "deeper is better" (issue 23), two seeds
    "depth110": deeper_experiment,
    "depth110_seed1": seeded(deeper_experiment, DEEPER_SETTINGS, 1),
    "reference_depth": reference.depth_experiment,
    "reference_lesions": reference.lesion_experiment,
    "reference_block_stats": reference.block_stats_experiment,
}


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


def lesions_of(result: ExperimentResult) -> dict[str, list[Lesion]]:
    """The lesion study stored in ``result`` (live or archived); empty before :meth:`DepthRun.lesions`."""
    return {k: [Lesion(**les) for les in v] for k, v in result.metrics.get("lesions", {}).items()}


# ----------------------------------------------------------------------------------------------------------
# Teaching sections: batch normalisation, the shortcut options of Table 3, the identity term of the
# gradient (He et al., 2016b) and why a residual function has two layers


def without_batchnorm(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every ``BatchNorm2d`` replaced by the identity (same weights
    otherwise): the plain net as it would be without batch normalisation."""
    out = copy.deepcopy(model)
    for module in list(out.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                setattr(module, child_name, nn.Identity())
    return out


@dataclass(frozen=True)
class SignalProbe:
    """One net at initialisation on one batch: the spread of every block's output and the gradient
    norms of its convolutions (:func:`gradient_norms`), and the loss."""

    label: str
    block_std: list[float]  # standard deviation of each block's output, in block order
    grads: list[LayerGrad]
    loss: float


def signal_probe(model: R.ResNet, x: Tensor, y: Tensor, label: str) -> SignalProbe:
    """Forward ``x`` through ``model`` in training mode (batch statistics, as in training), recording each
    block's output spread; then :func:`gradient_norms` on the same batch. ``model`` is left unchanged."""
    probe = copy.deepcopy(model).train()
    with torch.no_grad():
        inputs, h = reference.block_inputs(probe, x)
        stds = [float(t.std()) for t in [*inputs[1:], h]]
        loss = float(F.cross_entropy(reference.head(probe, h), y))
    return SignalProbe(label, stds, gradient_norms(model, x, y), loss)


def batchnorm_probe(x: Tensor, y: Tensor, *, depth: int = 56, seed: int = 0) -> list[SignalProbe]:
    """The plain net of ``depth`` layers at initialisation, three ways: as the paper builds it (BN after
    every convolution, He et al. 2015 initialisation), the same weights without BN, and without BN
    from PyTorch's default initialisation (uniform, variance 1/(3 fan-in)). ``x``: a normalised batch."""
    with_bn = initial_model(f"plain{depth}", seed)
    torch.manual_seed(seed)
    default_init = without_batchnorm(get_model(f"plain{depth}", init="default"))
    return [
        signal_probe(with_bn, x, y, "BN, He init (the paper)"),
        signal_probe(without_batchnorm(with_bn), x, y, "no BN, He init"),
        signal_probe(default_init, x, y, "no BN, PyTorch default init"),
    ]


@dataclass(frozen=True)
class ShortcutOption:
    """One shortcut option of Table 3 on ResNet-34, counted on the built network."""

    option: str
    params: int
    projections: int  # shortcuts that are 1x1 convolutions
    zero_pad: int  # option A shortcuts (no parameters)
    identities: int
    paper_top1: float  # Table 3, 10-crop ImageNet validation error
    paper_top5: float


def shortcut_options(depth: int = 34) -> list[ShortcutOption]:
    """ResNet-``depth`` (ImageNet, Table 1) with shortcut option A, B and C, built on the meta device and
    counted, beside Table 3's errors (:data:`ecg_lib.papers.RESNET_TABLE3`)."""
    out = []
    for option in ("A", "B", "C"):
        model = _meta(R.resnet_imagenet, depth, shortcut=option)
        kinds = [type(b.shortcut).__name__ for b in model.blocks]
        top1, top5 = papers.RESNET_TABLE3[f"ResNet-34 {option}"]
        counts = [kinds.count(k) for k in ("Sequential", "ZeroPadShortcut", "Identity")]
        out.append(ShortcutOption(option, count_params(model), *counts, top1, top5))
    return out


@dataclass(frozen=True)
class ShortcutRun:
    """Option A against option B on CIFAR-10: the same net, data, schedule and initial weights (except
    the projections, which option A does not have)."""

    net: str
    n_test: int
    error_a: float
    error_b: float
    params_a: int
    params_b: int
    seconds_b: float

    @property
    def standard_error(self) -> float:
        """Standard error of the difference of two test errors on ``n_test`` images (binomial, both runs
        treated as independent samples of the same size)."""
        e = (self.error_a + self.error_b) / 2
        return math.sqrt(2 * e * (1 - e) / self.n_test)


def shortcut_run(run: DepthRun, net: str = "resnet20") -> ShortcutRun:
    """Train ``net`` with projection shortcuts (option B) exactly as ``run`` trained it with option A
    (same subset, schedule and seed; the layers both have start from the same weights) and compare the
    test errors. ``run`` must already have trained ``net``."""
    if net not in run.result.histories:
        raise ValueError(f"train {net} first: run.train({net!r}).")
    a = initial_model(net, run.settings.seed)
    torch.manual_seed(run.settings.seed)
    b = get_model(net, shortcut="B")
    missing, unexpected = b.load_state_dict(a.state_dict(), strict=False)
    assert not unexpected and all(".shortcut." in k for k in missing)  # only the projections are new
    history = fit(b, run.data, run.settings.config_for(net), profile=run.profile, context=run.context)
    return ShortcutRun(net, run.data.n_test, run.result.histories[net].final_test_error,
                       history.final_test_error, count_params(a), count_params(b),
                       round(history.train_time_s[-1], 1))  # fmt: skip


@dataclass(frozen=True)
class IdentityGrad:
    """He et al. (2016b), Eq. 5, measured at the input of one block of a stage: the loss gradient there,
    g_l, against the gradient g_L at the stage's output."""

    block: str
    ratio: float  # ||g_l|| / ||g_L||
    cosine: float  # cos(g_l, g_L): 1 when g_l is g_L plus a small term, 0 when unrelated
    rest: float  # ||g_l - g_L|| / ||g_L||: the size of the term Eq. 5 adds to the identity


def identity_gradient(model: R.ResNet, x: Tensor, y: Tensor, *, stage: int = 3,
                      compose: str = "as built") -> list[IdentityGrad]:  # fmt: skip
    """Measure Eq. 5 of He et al. (2016b) on the shape-keeping blocks of ``stage`` (training mode, on a
    copy). ``compose="as built"`` runs the blocks as the network does (ReLU after the addition, the
    2016a design); ``"identity"`` runs those blocks as x + F(x), the pure identity path of 2016b's
    Eq. 3, with the same weights. A plain net has no shortcut; it is measured as built."""
    if compose not in ("as built", "identity"):
        raise ValueError(f"compose must be 'as built' or 'identity' (got {compose!r}).")
    probe = copy.deepcopy(model).train()
    probe.zero_grad(set_to_none=True)
    h = probe.stem(x)
    kept: list[tuple[str, Tensor]] = []
    for block in probe.blocks:
        in_stage = block.stage == stage and not block.downsamples
        if in_stage:
            h.retain_grad()
            kept.append((block.name, h))
        if in_stage and compose == "identity" and block.residual:
            h = h + block.residual_branch(h)
        else:
            h = block(h)
    if not kept:
        raise ValueError(f"stage {stage} has no shape-keeping block.")
    h.retain_grad()
    F.cross_entropy(reference.head(probe, h), y).backward()
    g_top = h.grad.flatten()
    out = []
    for name, t in kept:
        g = t.grad.flatten()
        out.append(IdentityGrad(name, float(g.norm() / g_top.norm()), float(F.cosine_similarity(g, g_top, 0)),
                                float((g - g_top).norm() / g_top.norm())))  # fmt: skip
    return out


@dataclass(frozen=True)
class BranchLinearity:
    """A residual block with a one- or two-layer branch: how far from affine it is."""

    layers: int
    branch_unexplained: float  # variance share of F(x) that the best affine map of x misses
    sum_unexplained: float  # the same for x + F(x), the block before its last ReLU
    plain_difference: float | None  # one layer: max |block(x) - plain layer with weights W + I|


def _residual_branch(channels: int, layers: int) -> nn.Sequential:
    parts: list[nn.Module] = []
    for i in range(layers):
        parts += R._conv_bn(channels, channels, 3)
        if i < layers - 1:
            parts.append(nn.ReLU())
    return nn.Sequential(*parts)


def branch_linearity(*, channels: int = 8, side: int = 6, samples: int = 4096,
                     seed: int = 0) -> list[BranchLinearity]:  # fmt: skip
    """Sec. 3.2 of He et al. (2016): "if F has only a single layer, Eq. (1) is similar to a linear layer:
    y = W1 x + x". Residual branches of one and two 3x3 conv-BN layers (He init, BN in eval mode with
    statistics from the samples) on ``samples`` non-negative inputs (block inputs follow a ReLU); the
    best affine fit (least squares over all C x side x side outputs) measures how non-linear each is.
    For one layer, the whole block is also compared with one plain conv + ReLU whose weights are the
    branch's (BN folded in) plus the identity kernel."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.relu(torch.randn(samples, channels, side, side, generator=gen, dtype=torch.float64))
    design = torch.cat([x.flatten(1), torch.ones(samples, 1, dtype=torch.float64)], 1)

    def unexplained(target: Tensor) -> float:
        t = target.flatten(1)
        coef = torch.linalg.lstsq(design, t).solution
        resid = t - design @ coef
        return float(resid.pow(2).sum() / (t - t.mean(0)).pow(2).sum())

    out = []
    for layers in (1, 2):
        torch.manual_seed(seed)
        branch = _residual_branch(channels, layers).double()
        init_weights(branch, "kaiming")
        for m in branch.modules():  # running statistics from the samples themselves
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = None
        with torch.no_grad():
            branch.train()(x)
            branch.eval()
            f = branch(x)
            diff = None
            if layers == 1:
                conv, bn = branch[0], branch[1]
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                w = conv.weight * scale[:, None, None, None]
                w[:, :, 1, 1] += torch.eye(channels, dtype=torch.float64)  # + x: the identity kernel
                b = bn.bias - bn.running_mean * scale
                plain = torch.relu(F.conv2d(x, w, b, padding=1))
                diff = float((plain - torch.relu(x + f)).abs().max())
        out.append(BranchLinearity(layers, unexplained(f), unexplained(x + f), diff))
    return out


def torchvision_resnet50() -> dict[str, Any]:
    """Where torchvision's ResNet-50 (``weights=None``) puts the stride of a downsampling bottleneck, and
    its parameters and MACs at 224 x 224 beside the paper's network (stride on the first 1x1)."""
    import torchvision.models as tvm

    with torch.device("meta"):
        tv = tvm.resnet50(weights=None)
    ours = _meta(R.resnet_imagenet, 50)
    first = tv.layer2[0]
    ours_first = next(b for b in ours.blocks if b.name == "conv3_1")
    return {
        "tv_strides": [first.conv1.stride[0], first.conv2.stride[0], first.conv3.stride[0]],
        "paper_strides": [ours_first.residual_branch[i].stride[0] for i in (0, 3, 6)],
        "tv_params": count_params(tv),
        "paper_params": count_params(ours),
        "tv_macs": count_macs(tv, (3, 224, 224)),
        "paper_macs": count_macs(ours, (3, 224, 224)),
    }
