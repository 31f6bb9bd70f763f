"""The Network-in-Network chapter: the mlpconv layer as a per-patch MLP (and why it is a convolution
followed by 1x1 convolutions), 1x1 convolutions as cross-channel mixing, global average pooling
against other heads, CIFAR-10 training of NIN with a GAP and with an FC head, and class maps.

The networks are :class:`ecg_lib.models.nin.NetworkInNetwork` built from the authors' CIFAR-10 block
table :data:`~ecg_lib.models.nin.NIN_CIFAR`; the quick profile scales its channel counts with
:func:`nin_blocks` (the same layers, fewer maps), because the full network needs about 0.22 G
multiply-accumulates per image, too many to train in minutes on two CPU cores.

The training settings per profile are in :data:`SETTINGS`; the paper's figures the chapter quotes are in
:data:`ecg_lib.papers.NIN_CIFAR10`; what the page draws and tabulates is in :mod:`ecg_lib.chapters.nin`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ecg_lib.counting import count_macs, count_params
from ecg_lib.data import CIFAR10Data
from ecg_lib.evidence import pack_correct
from ecg_lib.experiments import ExperimentResult, seeded
from ecg_lib.experiments.settings import ExperimentSettings, resolve
from ecg_lib.models import nin as N
from ecg_lib.profiles import check_profile
from ecg_lib.train import RunContext, TrainConfig, correct_per_image, fit, run_info

__all__ = [
    "EXPERIMENTS",
    "SETTINGS",
    "HeadFacts",
    "MlpconvCheck",
    "Settings",
    "build_nin",
    "class_maps",
    "cross_channel_mix",
    "head_facts",
    "mlpconv_as_mlp",
    "mlpconv_check",
    "nin_blocks",
    "silent_class_maps",
    "train_heads",
]

def nin_blocks(
    width: float = 1.0, blocks: tuple[N.MlpConv, ...] = N.NIN_CIFAR, *, dropout: float | None = None
) -> tuple[N.MlpConv, ...]:
    """The block table with every channel count multiplied by ``width`` (the class-map layer keeps one map
    per class) and, if ``dropout`` is given, that dropout after every block that has one in the table.
    ``width=1`` and ``dropout=None`` return the authors' table unchanged."""
    if not width > 0:
        raise ValueError(f"width must be positive (got {width!r}).")
    if dropout is not None and not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1) (got {dropout!r}).")

    def scale(c: int) -> int:
        return c if c == N.CLASSES else max(1, round(c * width))

    def drop(b: N.MlpConv) -> float:
        return b.dropout if dropout is None or not b.dropout else dropout

    return tuple(
        replace(b, channels=scale(b.channels), cccp=tuple(scale(c) for c in b.cccp), dropout=drop(b))
        for b in blocks
    )


def build_nin(
    width: float = 1.0,
    head: str = "gap",
    num_classes: int = 10,
    *,
    dropout: float | None = None,
    **options: Any,
) -> nn.Module:
    """The CIFAR-10 NIN (``width=1``, ``head="gap"``, ``dropout=None``: exactly the registry's
    ``nin_cifar``) or a narrower one, with the GAP head or the FC head of the paper's Sec. 4.6, and
    optionally another dropout rate inside the network (see :func:`nin_blocks`)."""
    if width == 1.0 and dropout is None:
        return N.nin_cifar(num_classes, head=head, **options)
    name = f"nin_cifar(width={width:g}" + ("" if dropout is None else f", dropout={dropout:g}") + ")"
    return N.NetworkInNetwork(nin_blocks(width, dropout=dropout), num_classes, name=name, head=head,
                              image_size=32, **options)  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# mlpconv = a per-patch MLP = a k x k convolution followed by 1x1 convolutions


def mlpconv_as_mlp(block: nn.Sequential) -> nn.Sequential:
    """The micro network of an mlpconv block written as an ordinary MLP on flattened patches.

    ``block`` is one ``mlpconv`` block of a :class:`~ecg_lib.models.nin.NetworkInNetwork` (a k x k
    convolution, then 1x1 convolutions, each with a ReLU). The first linear layer takes a patch of
    ``C_in * k * k`` numbers (in :func:`torch.nn.functional.unfold`'s order, which is the conv weight's
    own layout), the others map one pixel's channels to the next layer's; weights are copied, not shared.
    """
    layers: list[nn.Module] = []
    for m in block:
        if isinstance(m, nn.Conv2d):
            lin = nn.Linear(m.weight[0].numel(), m.out_channels, bias=m.bias is not None)
            with torch.no_grad():
                lin.weight.copy_(m.weight.reshape(m.out_channels, -1))
                if m.bias is not None:
                    lin.bias.copy_(m.bias)
            layers.append(lin.to(m.weight.dtype))
        elif isinstance(m, nn.ReLU):
            layers.append(nn.ReLU())
        else:
            raise ValueError(f"an mlpconv block holds convolutions and ReLUs only, not {type(m).__name__}.")
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class MlpconvCheck:
    """The same block applied two ways: as convolutions, and as an MLP slid over every unfolded patch."""

    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    patches: int  # patches per image = output positions
    patch_size: int  # numbers per patch = C_in * k * k
    max_abs_diff: float
    max_abs_output: float
    dtype: str


def mlpconv_check(
    block: nn.Sequential | None = None, input_shape: tuple[int, int, int, int] = (2, 3, 32, 32), seed: int = 0
) -> MlpconvCheck:
    """Apply ``block`` (default: the first mlpconv of a freshly initialised ``nin_cifar``: 5x5 conv with 192
    maps, then 1x1 convs with 160 and 96) to a random input, once as convolutions and once as
    :func:`mlpconv_as_mlp` on the ``unfold`` patches, in float64, and report the largest difference."""
    gen = torch.Generator().manual_seed(seed)
    if block is None:
        torch.manual_seed(seed)
        block = N.nin_cifar().features.mlpconv1
    block = block.double()
    conv = next(m for m in block if isinstance(m, nn.Conv2d))
    k, stride, pad = conv.kernel_size, conv.stride, conv.padding
    x = torch.randn(*input_shape, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        as_conv = block(x)
        patches = F.unfold(x, k, padding=pad, stride=stride)  # N x (C_in k k) x L
        n, size, count = patches.shape
        per_patch = mlpconv_as_mlp(block)(patches.transpose(1, 2).reshape(n * count, size))  # (N L) x C_out
        h, w = as_conv.shape[-2:]
        as_mlp = per_patch.reshape(n, count, -1).transpose(1, 2).reshape(n, -1, h, w)
    return MlpconvCheck(
        input_shape=tuple(x.shape),
        output_shape=tuple(as_conv.shape),
        patches=count,
        patch_size=size,
        max_abs_diff=float((as_conv - as_mlp).abs().max()),
        max_abs_output=float(as_conv.abs().max()),
        dtype=str(x.dtype).removeprefix("torch."),
    )


# ----------------------------------------------------------------------------------------------------------
# A 1x1 convolution mixes channels


def cross_channel_mix(
    block: nn.Sequential, x: Tensor, out_map: int = 0, layer: str = "cccp1"
) -> dict[str, Any]:
    """What one 1x1 layer of an mlpconv block computes for output map ``out_map``: the weighted sum of its
    input maps plus a bias, pixel by pixel, before the ReLU.

    ``x``: a normalised batch for the block's input. Returns the input maps (``inputs``, C x H x W of the
    first image), the weights (C), the bias, the layer's own output map (``output``) and the same map
    recomputed as ``sum_c w_c * input_c + b`` (``recomputed``)."""
    conv = getattr(block, layer)
    names = list(dict(block.named_children()))
    before = nn.Sequential(*[getattr(block, n) for n in names[: names.index(layer)]])
    with torch.no_grad():
        inputs = before(x)[0]
        output = conv(inputs.unsqueeze(0))[0, out_map]
        weights = conv.weight[out_map, :, 0, 0]
        bias = conv.bias[out_map] if conv.bias is not None else torch.zeros(())
        recomputed = torch.einsum("c,chw->hw", weights, inputs) + bias
    return {"inputs": inputs, "weights": weights, "bias": float(bias.detach()), "output": output,
            "recomputed": recomputed}  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# Heads: global average pooling, a fixed average pooling, a fully connected layer


@dataclass(frozen=True)
class HeadFacts:
    """One head on top of the last mlpconv block (``maps`` class maps of ``side`` x ``side``)."""

    name: str
    params: int
    output_shape: dict[int, tuple[int, ...] | str]  # input side -> output shape per image (or why none)


def head_facts(width: float = 1.0, sides: tuple[int, ...] = (32, 64)) -> list[HeadFacts]:
    """Parameters and output shapes of three heads of the CIFAR-10 NIN, at several input sides.

    ``gap``: global average pooling (the paper). ``avgpool 8x8``: the released Caffe model's fixed
    8x8 average pooling, the same as GAP at 32x32 but a grid of scores on larger inputs. ``fc``: a fully
    connected layer from the flattened class maps (Sec. 4.6)."""
    out = []
    for head in ("gap", "avgpool 8x8", "fc"):
        with torch.device("meta"):
            model = build_nin(width, "fc" if head == "fc" else "gap")
            if head == "avgpool 8x8":
                model.head = nn.Sequential(nn.AvgPool2d(8), nn.Flatten())
        shapes: dict[int, tuple[int, ...] | str] = {}
        for side in sides:
            try:
                with torch.no_grad():
                    y = model.eval()(torch.zeros(1, 3, side, side, device="meta"))
                shapes[side] = tuple(y.shape[1:])
            except ValueError as exc:
                shapes[side] = f"rejected: {str(exc).split(';')[0]}"
        out.append(HeadFacts(head, count_params(model.head), shapes))
    return out


# ----------------------------------------------------------------------------------------------------------
# Training: GAP head against FC head (the GAP run is also the chapter's nin_cifar result)


@dataclass(frozen=True)
class Settings(ExperimentSettings):
    """The training budget shared by both heads in :func:`train_heads`, in one profile.

    ``train``: the configuration of every run (the GAP and FC networks train with ``train.augment``; the
    optional augmented run with augmentation on). ``width``: channel multiplier of the network (see
    :func:`nin_blocks`); ``dropout``: the rate inside the network (None: the authors' 0.5 after the first
    two blocks).
    """

    width: float
    dropout: float | None = None
    heads: tuple[str, ...] = ("gap", "fc")
    augmented_run: bool = False  # also train the GAP network with crops and flips (Table 1's 8.81%)


#: Quick: a quarter-width NIN without dropout, trained with Adam on a class-balanced subset for a few epochs
#: on 2 CPU cores, with a short warmup and cosine decay. The first trial runs chose Adam at 0.002 on test
#: error; benchmarks/nin_recipe_pilot.py re-checks it on training error (2,000 training images after
#: holding out 5,000, 5 epochs, both widths): Adam at 0.002 trains best, SGD at 0.05 behind it, SGD at 0.1
#: stays at chance (the ReLU before global average pooling can switch every class map off for good); the
#: numbers are in benchmarks/report.md. Full: the authors'
#: network (dropout 0.5) on all of CIFAR-10 without augmentation, the setting of the paper's 10.41%, with a
#: 2-epoch warmup and the rate divided by 10 at half and three quarters of the run, plus one run with
#: augmentation, on a GPU.
SETTINGS: dict[str, Settings] = {
    "quick": Settings(
        train=TrainConfig(epochs=5, batch_size=64, optimizer="adam", lr=2e-3, weight_decay=1e-4,
                          augment=False, schedule="warmup_cosine", quiet=True),
        n_train_per_class=250, n_test_per_class=100, width=0.25, dropout=0.0),
    # Standard: half width (a quarter of the full network's cost) with the authors' dropout on all of
    # CIFAR-10 without augmentation, the quick recipe (Adam, warmup and cosine decay) for 8 epochs: about
    # 100 s per epoch on one core of the 2-core CPU, so under half an hour for both heads.
    "standard": Settings(
        train=TrainConfig(epochs=8, batch_size=128, optimizer="adam", lr=2e-3, weight_decay=1e-4,
                          augment=False, schedule="warmup_cosine", quiet=True),
        n_train_per_class=None, n_test_per_class=None, width=0.5),
    "full": Settings(
        train=TrainConfig(epochs=120, batch_size=128, optimizer="adam", lr=1e-3, weight_decay=1e-4,
                          augment=False, schedule="step", milestones=(60, 90), warmup_epochs=2, quiet=True),
        n_train_per_class=None, n_test_per_class=None, width=1.0, augmented_run=True),
}  # fmt: skip

#: How the standard-profile experiment departs from the paper, and why (printed under the archived run).
STANDARD_DEPARTURES: dict[str, str] = {
    "train_heads": (
        "The paper trains its full CIFAR-10 network (three mlpconv blocks, dropout between them) until "
        "its error stops improving: 10.41% test error without augmentation (Table 1), and compares the "
        "global-average-pooling head with fully connected ones in Table 5. Here the same blocks and "
        "dropout at half the widths (about a quarter of the cost), no augmentation as in that row, and "
        "8 epochs of Adam with warmup and cosine decay instead of the paper's long SGD schedule, up to "
        "four seeds, both heads of a seed from the same blocks and compared image by image: far from "
        "convergence, where Table 5's point (GAP regularises where an FC head overfits) may not show "
        "yet, so the absolute errors are not comparable with the paper's and the heads' difference is "
        "what is compared."
    ),
}


def train_heads(
    data: CIFAR10Data | None = None,
    *,
    profile: str,
    settings: Settings | None = None,
    context: RunContext | None = None,
    keep: dict[str, Any] | None = None,
) -> ExperimentResult:
    """Train the NIN with each head of ``settings.heads`` with the same budget and seed.

    ``data``: a :class:`~ecg_lib.data.CIFAR10Data` (loaded when None); the settings' subset is taken
    from it. ``settings``: None means ``SETTINGS[profile]``. ``keep``: a dict that receives the trained
    models (eval mode) and, under ``"normalizer"``, the input normalisation they were trained with.
    Metrics per head: final test error, last-epoch training error, parameters, MACs per image, training
    seconds; with ``settings.augmented_run`` also for ``"gap_augmented"``, the GAP network trained with
    random crops and flips.
    """
    check_profile(profile)
    s = resolve(settings, SETTINGS, profile)
    data = s.data_from(data)  # the subset is drawn with seed 0 whatever the run's seed (as always here)
    result = ExperimentResult(name="nin.train_heads", profile=profile)
    result.metrics["settings"] = {**dataclasses.asdict(s), "heads": list(s.heads), "train": s.train.to_dict()}
    runs = [(head, head, s.train.augment) for head in s.heads]
    if s.augmented_run:
        runs.append(("gap_augmented", "gap", True))
    features: dict[str, Tensor] | None = None
    for label, head, augment in runs:
        # Each seed starts from its own weights (seeds 0 and 1 once shared theirs: a fixed manual_seed(0)
        # understated the training noise), and every head of one seed from the same mlpconv weights: the
        # FC head's layer draws from the generator before the blocks are initialised, so the blocks are
        # copied from the first head's network rather than left to the generator.
        torch.manual_seed(s.train.seed)
        model = build_nin(s.width, head, dropout=s.dropout)
        if features is None:
            features = {k: v.clone() for k, v in model.features.state_dict().items()}
        else:
            model.features.load_state_dict(features)
        t0 = time.perf_counter()
        history = fit(model, data, s.train.replace(augment=augment), profile=profile, context=context)
        result.histories[label] = history
        # one bit per test image: the heads are compared paired, image by image (ecg_lib.evidence)
        correct = correct_per_image(model, data.test_x, data.test_y, normalizer=history.normalizer)
        result.metrics[label] = {
            "correct": pack_correct(correct.numpy()),
            "test_error": history.final_test_error,
            "train_error": history.epoch_train_error[-1],
            "params": count_params(model),
            "head_params": count_params(model.head),
            "macs": count_macs(model, (3, 32, 32)),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        if keep is not None:
            keep[label] = model.eval()
            keep["normalizer"] = history.normalizer
    result.run_info = run_info(data, profile=profile)
    return result


@torch.no_grad()
def class_maps(model: nn.Module, x: Tensor) -> tuple[Tensor, Tensor]:
    """The last mlpconv block's maps (N x classes x H x W, one per class) of a GAP network for the
    normalised batch ``x``, and the class scores (their spatial means, which is all GAP does)."""
    if getattr(model, "head_kind", "gap") != "gap":
        raise ValueError("class maps need the GAP head: with an FC head the maps are not per-class scores.")
    was = model.training
    model.eval()
    try:
        maps = model.features(x)
        scores = model(x)
    finally:
        model.train(was)
    return maps, scores


@torch.no_grad()
def silent_class_maps(model: nn.Module, x: Tensor, batch_size: int = 500) -> tuple[Tensor, Tensor]:
    """For each class, the fraction of the normalised images ``x`` whose class map is zero everywhere
    (the ReLU in front of GAP switched it off, so the class scores exactly 0), and how often the class
    is predicted. Two float tensors of ``num_classes``; a class that is silent on every image can
    only win when all others are silent too."""
    silent, predicted = None, None
    for start in range(0, x.shape[0], batch_size):
        maps, scores = class_maps(model, x[start : start + batch_size])
        off = (maps.flatten(2).amax(2) <= 0).sum(0).double()
        hits = torch.bincount(scores.argmax(1), minlength=maps.shape[1]).double()
        silent = off if silent is None else silent + off
        predicted = hits if predicted is None else predicted + hits
    if silent is None or predicted is None:
        raise ValueError("silent_class_maps() got no images.")
    return silent / x.shape[0], predicted / x.shape[0]


#: Seeds of the GAP-FC difference. Unpaired, one seed at the archived 26% error on 10,000 images can only
#: see a difference of about 1.2 points (2 SE), the size of the paper's own effect (1.18 points) and no
#: number of seeds lowers that test-set part; paired over images and over four seeds it can see less
#: (ecg_lib.evidence). The power each run reached is printed in its row.
HEAD_SEEDS = 4
EXPERIMENTS = {"train_heads": train_heads,
               **{f"train_heads_seed{k}": seeded(train_heads, SETTINGS, k) for k in range(1, HEAD_SEEDS)}}


# ----------------------------------------------------------------------------------------------------------
# Porting the reference (Caffe) model: pooling that rounds up


def pooling_rounding(side: int = 32) -> dict[str, Any]:
    """The map sides of the CIFAR-10 NIN at each stage with Caffe's pooling (windows rounded up, as the
    released model and the library do) and with PyTorch's default (rounded down), and the class-map
    cells that global average pooling then averages. torchvision has no NIN, so re-implementations
    port the Caffe model, and the rounding is where a port silently differs."""
    from ecg_lib.models._common import SpatialOp, output_size

    def sides(ceil: bool) -> list[int]:
        out, size = [side], side
        for b in N.NIN_CIFAR:
            size = output_size(size, [SpatialOp(b.kernel, b.stride, b.padding)])
            if b.pool:
                size = output_size(size, [dataclasses.replace(N.POOL, ceil_mode=ceil)])
                out.append(size)
        return out

    model = N.nin_cifar()
    floor_model = N.nin_cifar()
    for m in floor_model.modules():
        if isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
            m.ceil_mode = False
    x = torch.zeros(1, 3, side, side)
    with torch.no_grad():
        caffe_map, floor_map = model.features(x).shape[-1], floor_model.features(x).shape[-1]
    import torchvision.models as tvm

    return {"caffe_sides": sides(True), "floor_sides": sides(False), "caffe_map": caffe_map,
            "floor_map": floor_map, "caffe_cells": caffe_map**2, "floor_cells": floor_map**2,
            "torchvision_nin": [n for n in tvm.list_models() if n.startswith("nin")]}  # fmt: skip
