"""The lesion study of Veit, Wilber and Belongie (NeurIPS 2016), once for every network the book lesions:
the ResNet chapter's own plain and residual nets (:meth:`ecg_lib.experiments.resnet.DepthRun.lesions`)
and the trained reference ResNet-56 (:mod:`ecg_lib.experiments.reference`).

A deleted block keeps only what :func:`ecg_lib.models.resnet.drop_block` keeps: a residual block its
shortcut, ``relu(shortcut(x))``; a plain block becomes the identity, and a plain block that changes the
shape the parameter-free option A shortcut (nothing else fits in its place). A lesioned net is the intact
one up to its first deleted block, so every lesioned net starts from the intact net's block inputs
instead of from the image: on average half the cost of a whole pass. Errors are fractions.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ecg_lib.experiments import ExperimentResult
from ecg_lib.models.resnet import ZeroPadShortcut

__all__ = [
    "Lesion",
    "LesionSummary",
    "block_inputs",
    "contiguous_lesions",
    "head",
    "lesion_errors",
    "lesion_study",
    "lesions_of",
    "random_lesions",
    "single_lesions",
]


def head(model: nn.Module, h: Tensor) -> Tensor:
    """A CIFAR ResNet's classifier on the last block's output: global average pooling, then ``fc``."""
    return model.fc(torch.flatten(model.pool(h), 1))


def block_inputs(model: nn.Module, x: Tensor) -> tuple[list[Tensor], Tensor]:
    """Run the intact net once on ``x``: every block's input (the stem's output first) and the last
    block's output. A lesioned net is the intact one up to its first deleted block, so lesion studies
    start each lesioned net from these inputs instead of from the image."""
    h = model.stem(x)
    inputs = []
    for block in model.blocks:
        inputs.append(h)
        h = block(h)
    return inputs, h


def _bypass(block: nn.Module) -> nn.Module:
    """What is left of a deleted block before its ReLU (as in :func:`ecg_lib.models.resnet.drop_block`
    with ``allow_downsampling=True``)."""
    if block.shortcut is not None:
        return block.shortcut
    if not block.downsamples:
        return nn.Identity()
    return ZeroPadShortcut(block.in_channels, block.out_channels, block.stride)


def _run_blocks(model: nn.Module, bypass: dict[int, nn.Module], h: Tensor, start: int) -> Tensor:
    """Blocks ``start..`` on ``h``, those in ``bypass`` reduced to ``relu(bypass(h))``, then the head."""
    for i in range(start, len(model.blocks)):
        h = F.relu(bypass[i](h)) if i in bypass else model.blocks[i](h)
    return head(model, h)


@torch.no_grad()
def lesion_errors(
    model: nn.Module, x: Tensor, y: Tensor, deletions: Sequence[Sequence[int]], batch_size: int = 500
) -> list[float]:
    """Test error of ``model`` (a CIFAR ResNet or plain net) with each set of blocks in ``deletions``
    deleted; an empty set is the intact net. ``x`` is normalised float input on the model's device."""
    model.eval()
    n_blocks = len(model.blocks)
    sets = [frozenset(d) for d in deletions]
    for d in sets:
        if any(not 0 <= i < n_blocks for i in d):
            raise IndexError(f"block indices must be in 0..{n_blocks - 1}, got {sorted(d)}.")
    bypass = {i: _bypass(model.blocks[i]) for i in set().union(*sets)}
    # Counts stay on the device (no synchronisation per lesioned net on a GPU) and are integers, so the
    # errors are exact ratios of whole numbers whatever the batch size.
    wrong = torch.zeros(len(sets), dtype=torch.int64, device=x.device)
    for start in range(0, x.shape[0], batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        inputs, h = block_inputs(model, xb)
        intact_wrong = (head(model, h).argmax(1) != yb).sum()
        for j, d in enumerate(sets):
            if not d:
                wrong[j] += intact_wrong
                continue
            first = min(d)
            wrong[j] += (_run_blocks(model, {i: bypass[i] for i in d}, inputs[first], first).argmax(1)
                         != yb).sum()  # fmt: skip
    return [w / y.numel() for w in wrong.tolist()]


@dataclass(frozen=True)
class Lesion:
    """Test error with one block removed (``block == -1``: nothing removed, the intact net)."""

    block: int
    name: str
    downsampling: bool
    error: float


def lesion_study(model: nn.Module, x: Tensor, y: Tensor, *, batch_size: int = 250) -> list[Lesion]:
    """Test error of ``model`` with each single block deleted in turn (Veit et al., 2016, Sec. 4.1 and
    Fig. 3); the first entry is the intact network. ``x`` is normalised, on the model's device."""
    n = len(model.blocks)
    errors = lesion_errors(model, x, y, [(), *[(i,) for i in range(n)]], batch_size)
    out = [Lesion(-1, "none", False, errors[0])]
    out += [Lesion(i, getattr(b, "name", str(i)), bool(b.downsamples), errors[i + 1])
            for i, b in enumerate(model.blocks)]  # fmt: skip
    return out


def single_lesions(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 500) -> list[dict[str, Any]]:
    """:func:`lesion_study` as JSON rows (``block``, ``name``, ``downsampling``, ``error``), the form the
    reference lesions are archived in. ``downsampling`` marks the blocks that halve the map and widen it
    (their shortcut is the parameter-free option A, so deleting them leaves only the subsampled,
    zero-padded identity)."""
    return [asdict(les) for les in lesion_study(model, x, y, batch_size=batch_size)]


def lesions_of(result: ExperimentResult) -> dict[str, list[Lesion]]:
    """The lesion studies stored in ``result`` (live or archived), per net: the ResNet chapter's
    ``metrics["lesions"]`` (empty before :meth:`~ecg_lib.experiments.resnet.DepthRun.lesions`), or a
    reference lesion result's single deletions (``metrics["single"]``, under its ``net``)."""
    m = result.metrics
    if "single" in m:
        return {m["net"]: [Lesion(**row) for row in m["single"]]}
    return {k: [Lesion(**les) for les in v] for k, v in m.get("lesions", {}).items()}


def _median(values: Sequence[float]) -> float:
    # torch's median: the lower of the two middle values for an even count (the archived numbers)
    return float(torch.tensor(values, dtype=torch.float64).median()) if values else float("nan")


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


def _downsampling(model: nn.Module) -> list[bool]:
    return [bool(b.downsamples) for b in model.blocks]


def _spread(errors: Sequence[float]) -> dict[str, Any]:
    t = torch.tensor(list(errors), dtype=torch.float64)
    std = float(t.std()) if t.numel() > 1 else 0.0
    return {"errors": list(errors), "mean": float(t.mean()), "std": std, "min": float(t.min()),
            "max": float(t.max()), "n": t.numel()}  # fmt: skip


def _by_k(
    model: nn.Module, x: Tensor, y: Tensor, sets: dict[int, list[tuple[int, ...]]], batch_size: int
) -> dict[int, dict[str, Any]]:
    """The errors of every deleted set, in one pass over the images, with their spread per ``k``."""
    flat = [(k, s) for k, group in sets.items() for s in group]
    errors = lesion_errors(model, x, y, [s for _, s in flat], batch_size)
    return {k: _spread([e for (kk, _), e in zip(flat, errors, strict=True) if kk == k]) for k in sets}


def contiguous_lesions(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    lengths: Sequence[int],
    *,
    include_downsampling: bool = False,
    batch_size: int = 500,
) -> dict[int, dict[str, Any]]:
    """Every run of ``k`` consecutive blocks deleted, for each ``k`` in ``lengths``: per ``k`` the start
    blocks, the errors and their mean/std/min/max. Runs that contain a downsampling block are left out
    unless ``include_downsampling`` (so that ``k`` counts blocks of the ensemble, not the stage changes)."""
    down, n = _downsampling(model), len(model.blocks)
    runs: dict[int, list[int]] = {}
    for k in lengths:
        runs[k] = [s for s in range(n - k + 1) if include_downsampling or not any(down[s : s + k])]
        if not runs[k]:
            raise ValueError(f"no run of {k} consecutive blocks fits (the stages have {n // 3} blocks).")
    spread = _by_k(model, x, y, {k: [tuple(range(s, s + k)) for s in runs[k]] for k in lengths}, batch_size)
    return {k: {"starts": runs[k], **spread[k]} for k in lengths}


def random_lesions(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    ks: Sequence[int],
    repeats: int,
    *,
    seed: int = 0,
    include_downsampling: bool = False,
    batch_size: int = 500,
) -> dict[int, dict[str, Any]]:
    """Veit et al. (2016), Fig. 5a: ``k`` blocks chosen at random and deleted together, ``repeats`` times for
    each ``k`` in ``ks``; per ``k`` the deleted sets, the errors and their mean/std/min/max over repeats.
    A smooth rise of the error with ``k`` (rather than a collapse) is the ensemble-like behaviour. The
    downsampling blocks are left out of the draw unless ``include_downsampling``."""
    down = _downsampling(model)
    pool = [i for i, d in enumerate(down) if include_downsampling or not d]
    if any(k > len(pool) for k in ks):
        raise ValueError(f"cannot delete more than {len(pool)} blocks (got {max(ks)}).")
    rng = random.Random(seed)
    sets = {k: [tuple(sorted(rng.sample(pool, k))) for _ in range(repeats)] for k in ks}
    spread = _by_k(model, x, y, sets, batch_size)
    return {k: {"sets": [list(s) for s in sets[k]], **spread[k]} for k in ks}
