"""The trained reference networks (:mod:`ecg_lib.pretrained`): what ResNets trained to paper accuracy do.

For the ResNet chapter's section on trained networks, evaluation only (no training, no plotting):

* :func:`error_vs_depth_experiment`: test error of ResNet-20/32/44/56 on the data the chapter runs on,
  beside He et al. (2016), Table 6 (not :func:`ecg_lib.experiments.resnet.depth_experiment`, which trains
  plain and residual nets of two depths).
* :func:`lesion_experiment`: the lesion study of Veit, Wilber and Belongie (NeurIPS 2016) on the trained
  ResNet-56: every block deleted alone (their Fig. 3), contiguous runs of ``k`` blocks, and ``k`` blocks
  chosen at random, repeated, with the spread over repeats (their Fig. 5a). A deleted block keeps its
  shortcut: it computes ``relu(shortcut(x))`` as :func:`ecg_lib.models.resnet.drop_block` does. The study
  itself is :mod:`ecg_lib.experiments.lesions`, the same one the chapter's own nets go through.
* :func:`block_stats_experiment`: per block of the trained ResNet-56, the gradient norms and the statistics
  of the activations, including the size of the residual ``F(x)`` against its input ``x`` (He et al.,
  2016, Fig. 7 show that trained residual functions are small).

Sizes come from :data:`SETTINGS` (``select(SETTINGS, profile)``); the building blocks take them as
arguments. Errors are fractions.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ecg_lib.data import CIFAR10Data, Normalizer
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments.lesions import (
    block_inputs,
    contiguous_lesions,
    head,
    lesion_errors,
    random_lesions,
    single_lesions,
)
from ecg_lib.experiments.settings import resolve
from ecg_lib.train import RunContext

__all__ = [
    "EXPERIMENTS",
    "NAMES",
    "SETTINGS",
    "Settings",
    "block_inputs",
    "block_statistics",
    "block_stats_experiment",
    "contiguous_lesions",
    "count_correct",
    "error_vs_depth_experiment",
    "eval_images",
    "head",
    "lesion_errors",
    "lesion_experiment",
    "random_lesions",
    "single_lesions",
]

NAMES = ("resnet20", "resnet32", "resnet44", "resnet56")
LESION_NET = "resnet56"

#: Trained networks that replace :func:`~ecg_lib.pretrained.load_pretrained` (tests, benchmarks).
Models = Mapping[str, tuple[nn.Module, Normalizer]]


@dataclass(frozen=True)
class Settings:
    """How many images and repeats each part uses.

    ``n_test``: test images for the error against depth (``None``: all); ``lesion_n_test``: test images for
    the lesions; ``contiguous_lengths``/``random_ks``: numbers of deleted blocks; ``repeats``: random sets
    per ``k``; ``probe_batch``: images for gradients and activation statistics. Subsets are
    class-balanced and seeded.
    """

    n_test: int | None
    lesion_n_test: int | None
    contiguous_lengths: tuple[int, ...]
    random_ks: tuple[int, ...]
    repeats: int
    probe_batch: int
    seed: int = 0
    batch_size: int = 500


SETTINGS: dict[str, Settings] = {
    # Sized on the 2-core machine (benchmarks/report.md, "Trained reference networks"): one fp32 pass of
    # ResNet-56 over 1,000 images takes about 5.5 s on one core there (more under load), so about 2.8 s on
    # two. These sizes cost about 10,000 image-passes of ResNet-56 (depth 2,700, lesions 7,000, gradients
    # 600): about 30 s on the idle machine. 200 images give the lesion errors a standard error of about
    # 2.5 points: enough for the downsampling blocks (+20-30 points) and for the rise with k, not for the
    # differences between single ordinary blocks (the full profile uses all 10,000 images).
    "quick": Settings(
        n_test=1000,
        lesion_n_test=200,
        contiguous_lengths=(4,),
        random_ks=(2, 4, 8, 12),
        repeats=3,
        probe_batch=200,
    ),
    # All 10,000 test images for the error against depth; the lesions on 2,000 (a standard error of about
    # 1 point at 10% error, enough for single ordinary blocks) over most of Veit et al.'s range of k with
    # 5 repeats: about 300,000 image-passes of ResNet-56, some 15 minutes on one core of the 2-core CPU.
    "standard": Settings(
        n_test=None,
        lesion_n_test=2000,
        contiguous_lengths=(1, 2, 4, 8),
        random_ks=(1, 2, 4, 8, 12, 16, 20),
        repeats=5,
        probe_batch=500,
    ),
    # All 10,000 test images, Veit et al.'s range of k with 20 repeats: about 4 million image-passes,
    # minutes on a GPU, hours on the 2-core CPU.
    "full": Settings(
        n_test=None,
        lesion_n_test=None,
        contiguous_lengths=tuple(range(1, 9)),
        random_ks=tuple(range(1, 21)),
        repeats=20,
        probe_batch=1000,
    ),
}

#: How each standard-profile experiment departs from the paper, and why (printed under the archived run).
STANDARD_DEPARTURES: dict[str, str] = {
    "reference_depth": (
        "No training: the third party's ResNet-20/32/44/56, trained on the original CIFAR-10 with their "
        "own schedule (200 epochs, learning rate divided at epochs 100 and 150, ImageNet mean/std "
        "normalisation, no 45k/5k split; the paper: 64k iterations, about 164 epochs, divided at 32k and "
        "48k), are scored on all 10,000 test images of the lossy JPEG copy. Their errors "
        "on this copy are not comparable with Table 6's; the order by depth is what can be compared."
    ),
    "reference_lesions": (
        "Veit et al. (2016) delete blocks from residual networks they trained and score them on the whole "
        "test set. Here the third party's ResNet-56 on 2,000 class-balanced test images of the lossy copy "
        "(a standard error under 1 point at 10% error), runs of 1, 2, 4 and 8 consecutive blocks, and 1, "
        "2, 4, 8, 12, 16 and 20 blocks drawn at random, 5 draws each, instead of every count up to 20 "
        "with 20 draws."
    ),
    "reference_block_stats": (
        "Statistics of each residual block of the third party's ResNet-56 on 500 test images of the lossy "
        "copy, rather than on the whole test set."
    ),
}


# ----------------------------------------------------------------------------------------------------------
# Building blocks


def eval_images(data: CIFAR10Data, n: int | None, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` class-balanced test images (uint8) and labels; ``None``: all of them."""
    if n is None or n >= data.n_test:
        return data.test_x, data.test_y
    if n < 10 or n % 10:
        raise ValueError(f"the number of test images must be a multiple of 10 (class-balanced), got {n}.")
    sub = data.subset(None, n // 10, seed=seed)
    return sub.test_x, sub.test_y


@torch.no_grad()
def count_correct(
    model: nn.Module, normalizer: Normalizer, x: Tensor, y: Tensor, batch_size: int = 500
) -> int:
    """How many of ``x`` (uint8) ``model`` classifies correctly (eval mode, fp32, on the CPU)."""
    model.eval()
    correct = 0
    for start in range(0, x.shape[0], batch_size):
        logits = model(normalizer(x[start : start + batch_size]))
        correct += int((logits.argmax(1) == y[start : start + batch_size]).sum())
    return correct


def block_statistics(model: nn.Module, x: Tensor, y: Tensor) -> list[dict[str, Any]]:
    """Per block of a trained net on one batch (``x`` normalised), in eval mode (the running batch-norm
    statistics the trained net is used with):

    - ``grad_norm``: norm of the loss gradient over the block's parameters;
    - ``out_grad_norm``: mean over images of the norm of the gradient at the block's output;
    - ``out_mean``, ``out_std``, ``out_zero_frac``: statistics of the block's output (after its ReLU);
    - ``residual_std``: std of the residual branch's output (after its last batch norm, before the sum),
      He et al. (2016), Fig. 7;
    - ``residual_ratio``: mean over images of ``||F(x)|| / ||shortcut(x)||``: how much the block changes
      what passes through it.

    The model is left as it was (gradients are taken on a copy)."""
    import copy

    probe = copy.deepcopy(model).eval()
    probe.zero_grad(set_to_none=True)
    outs: list[Tensor] = []
    rows: list[dict[str, Any]] = []
    h = probe.stem(x)
    for i, block in enumerate(probe.blocks):
        res = block.residual_branch(h)
        short = block.shortcut(h) if block.shortcut is not None else torch.zeros_like(res)
        out = F.relu(res + short)
        out.retain_grad()
        outs.append(out)
        r, o = res.detach(), out.detach()
        ratio = r.flatten(1).norm(dim=1) / short.detach().flatten(1).norm(dim=1).clamp_min(1e-12)
        rows.append({"block": i, "name": getattr(block, "name", str(i)),
                     "downsampling": bool(block.downsamples),
                     "residual_std": float(r.std()), "residual_ratio": float(ratio.mean()),
                     "out_mean": float(o.mean()), "out_std": float(o.std()),
                     "out_zero_frac": float((o == 0).float().mean())})  # fmt: skip
        h = out
    F.cross_entropy(head(probe, h), y).backward()
    for row, block, out in zip(rows, probe.blocks, outs, strict=True):
        grads = [p.grad.flatten() for p in block.parameters() if p.grad is not None]
        row["grad_norm"] = float(torch.cat(grads).norm()) if grads else 0.0
        row["out_grad_norm"] = float(out.grad.flatten(1).norm(dim=1).mean())
    return rows


# ----------------------------------------------------------------------------------------------------------
# The experiments (data and profile by name, as `reproduce` passes them)


def _data(data: CIFAR10Data | None) -> CIFAR10Data:
    """``data``, or CIFAR-10 loaded when None (the signature every experiment shares; ``context`` is
    accepted for it too and unused: these experiments train nothing)."""
    if data is not None:
        return data
    from ecg_lib.data import load_cifar10

    return load_cifar10()


def _load(name: str, models: Models | None) -> tuple[nn.Module, Normalizer]:
    if models is not None and name in models:
        return models[name]
    from ecg_lib.pretrained import load_pretrained

    return load_pretrained(name)


def _result(
    name: str, profile: str, data: CIFAR10Data, settings: Settings, metrics: dict[str, Any], t0: float
) -> ExperimentResult:
    metrics = {"settings": asdict(settings), "data_source": data.source,
               "data_quality": getattr(data, "data_quality", None), **metrics,
               "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
    return ExperimentResult(name=name, profile=profile, metrics=metrics)


def error_vs_depth_experiment(
    data: CIFAR10Data | None = None, *, profile: str, settings: Settings | None = None,
    context: RunContext | None = None, models: Models | None = None,
) -> ExperimentResult:
    """Test error against depth of the four trained networks on ``data``'s test images.

    ``metrics["errors"][name]``: ``correct``, ``n``, ``error``; the publisher's two figures on the original
    test set (:class:`~ecg_lib.pretrained.PretrainedSpec`): ``readme_error`` (percent error, README table)
    and ``best_prec1`` (percent accuracy of the best epoch, stored in the file; archives written before
    both were kept call it ``reported_accuracy``). ``models`` replaces :func:`load_pretrained`,
    ``settings`` the profile's (tests, benchmarks)."""
    from ecg_lib.pretrained import PRETRAINED

    t0, s, data = time.perf_counter(), resolve(settings, SETTINGS, profile), _data(data)
    x, y = eval_images(data, s.n_test, s.seed)
    errors = {}
    for name in NAMES:
        model, norm = _load(name, models)
        correct = count_correct(model, norm, x, y, s.batch_size)
        errors[name] = {"depth": int(name.removeprefix("resnet")), "correct": correct, "n": int(y.numel()),
                        "error": 1 - correct / y.numel()}  # fmt: skip
    published = {"readme_error": {n: PRETRAINED[n].readme_error for n in NAMES},
                 "best_prec1": {n: PRETRAINED[n].best_prec1 for n in NAMES}}  # fmt: skip
    return _result("reference.depth", profile, data, s, {"errors": errors, **published}, t0)


def lesion_experiment(
    data: CIFAR10Data | None = None, *, profile: str, settings: Settings | None = None,
    context: RunContext | None = None, models: Models | None = None,
) -> ExperimentResult:
    """Veit et al.'s lesions of the trained ResNet-56 (``models``, ``settings``: as in
    :func:`error_vs_depth_experiment`): ``metrics["single"]`` (rows of
    :func:`single_lesions`), ``metrics["contiguous"][k]`` and ``metrics["random"][k]`` (errors with their
    spread), all on the same ``lesion_n_test`` class-balanced test images."""
    t0, s, data = time.perf_counter(), resolve(settings, SETTINGS, profile), _data(data)
    model, norm = _load(LESION_NET, models)
    x, y = eval_images(data, s.lesion_n_test, s.seed)
    xf = norm(x)
    single = single_lesions(model, xf, y, s.batch_size)
    contiguous = contiguous_lesions(model, xf, y, s.contiguous_lengths, batch_size=s.batch_size)
    rand = random_lesions(model, xf, y, s.random_ks, s.repeats, seed=s.seed, batch_size=s.batch_size)
    metrics = {"net": LESION_NET, "n_test": int(y.numel()), "intact_error": single[0]["error"],
               "single": single, "contiguous": {str(k): v for k, v in contiguous.items()},
               "random": {str(k): v for k, v in rand.items()}}  # fmt: skip
    # the binomial standard error of one error estimate on these images, to read the spreads against
    e = single[0]["error"]
    metrics["sampling_se"] = math.sqrt(max(e * (1 - e), 1e-12) / y.numel())
    return _result("reference.lesions", profile, data, s, metrics, t0)


def block_stats_experiment(
    data: CIFAR10Data | None = None, *, profile: str, settings: Settings | None = None,
    context: RunContext | None = None, models: Models | None = None,
) -> ExperimentResult:
    """:func:`block_statistics` of the trained ResNet-56 on ``probe_batch`` class-balanced test images."""
    t0, s, data = time.perf_counter(), resolve(settings, SETTINGS, profile), _data(data)
    model, norm = _load(LESION_NET, models)
    x, y = eval_images(data, s.probe_batch, s.seed)
    rows = block_statistics(model, norm(x), y)
    return _result("reference.block_stats", profile, data, s, {"net": LESION_NET, "blocks": rows}, t0)


EXPERIMENTS = {
    "depth": error_vs_depth_experiment, "lesions": lesion_experiment, "block_stats": block_stats_experiment,
}  # fmt: skip
