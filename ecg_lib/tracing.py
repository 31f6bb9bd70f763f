"""Depth and receptive field of a network, measured on its computation rather than read from a list of
layers: :func:`trace` follows every torch function of one forward pass, so the parallel branches of an
Inception module and the shortcuts of a residual block count the way the papers count them (longest
weight-layer path; widest field among joined branches). Used by the comparison chapter
(:mod:`ecg_lib.experiments.comparison`). :class:`Coverage` says where the windows of that convolution's
units fall on the image: which units see all of it, and how much of it a corner unit sees.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

__all__ = ["Coverage", "Trace", "coverage", "trace"]


@dataclass(frozen=True)
class Coverage:
    """Where the windows of one layer's units fall on a square image of side ``image``, traced from the
    kernels, strides and paddings of the forward pass (not from the field's size alone).

    Unit ``i`` (along one side) reads input pixels ``first + i * jump`` to ``first + i * jump + size - 1``;
    ``first`` is negative where the padding puts the window's start outside the image. The layer has
    ``units`` units per side. Windows are square and the image is square, so a unit covers the whole
    image exactly when its row window and its column window both span the side: the 2-D shares below are
    products of the 1-D ones, which :meth:`covers` enumerates."""

    image: int  # input side, pixels
    units: int  # units per side of the layer's map
    size: int  # receptive field side, pixels
    jump: int  # distance between neighbouring units, input pixels
    first: int  # input coordinate of the first pixel of unit 0's window

    def window(self, i: int) -> tuple[int, int]:
        """First and last input coordinate of unit ``i``'s window along one side (may lie outside)."""
        lo = self.first + i * self.jump
        return lo, lo + self.size - 1

    def seen(self, i: int) -> int:
        """How many pixels of the image unit ``i``'s window holds along one side."""
        lo, hi = self.window(i)
        return max(0, min(hi, self.image - 1) - max(lo, 0) + 1)

    def covers(self) -> list[bool]:
        """Per unit along one side: does its window span the whole side of the image?"""
        return [self.seen(i) == self.image for i in range(self.units)]

    @property
    def full_units(self) -> int:
        """Units of the 2-D map whose window holds the whole image."""
        return sum(self.covers()) ** 2

    @property
    def full_share(self) -> float:
        """Share of the layer's units (2-D) whose window holds the whole image."""
        return self.full_units / self.units**2

    @property
    def corner_seen(self) -> float:
        """Share of the image (2-D) inside the window of a corner unit (unit 0, 0)."""
        return (self.seen(0) / self.image) ** 2

    @property
    def corner_inside(self) -> float:
        """Share of a corner unit's window (2-D) that lies on the image; the rest is padding."""
        return (self.seen(0) / self.size) ** 2


@dataclass(frozen=True)
class Trace:
    """What :func:`trace` measured. ``depth``: weight layers (conv and linear) on the longest path from
    input to output. ``receptive_field``: side, in input pixels, of the window seen by one unit of the
    last convolution (the widest branch where branches run side by side); ``jump``: that layer's stride
    in input pixels. ``input_size``: the (C, H, W) it was measured at."""

    depth: int
    receptive_field: int
    jump: int
    input_size: tuple[int, int, int]
    conv_kernels: dict[int, int] = field(default_factory=dict)  # kernel side -> convolutions called
    activations: dict[str, int] = field(default_factory=dict)  # "relu", "tanh", ... -> calls
    linear_layers: int = 0  # fully connected layers called
    global_pool: bool = False  # an adaptive (global) pool before the classifier
    shortcut_adds: int = 0  # additions that join two paths from the input (residual shortcuts)
    concats: int = 0  # concatenations that join paths (Inception modules)
    coverage: Coverage | None = None  # where that convolution's windows fall on the image


_ACTIVATIONS = ("relu", "relu_", "tanh", "tanh_", "sigmoid", "gelu", "silu", "leaky_relu", "elu")
_ADDS = ("add", "add_", "__add__", "__iadd__", "__radd__")


@dataclass
class _Node:
    depth: int
    rf: int | None  # None once a global pool or a linear layer has mixed all positions
    jump: int
    first: int = 0  # input coordinate of the first pixel of unit 0's window (negative: in the padding)


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _side(value: Any, what: str) -> int:
    """One side of a square kernel/stride/padding given as an int or a pair."""
    if isinstance(value, int):
        return value
    values = set(value)
    if len(values) != 1:
        raise ValueError(f"trace() handles square windows only; got {what}={tuple(value)}.")
    return int(values.pop())


def _padding(value: Any, kernel_span: int) -> int:
    """One side of a conv/pool padding given as an int, a pair, or conv2d's "same"/"valid"."""
    if value == "valid":
        return 0
    if value == "same":
        return kernel_span // 2  # PyTorch pads the odd pixel after: the window's start moves by the floor
    return _side(value, "padding")


class _Tracer(TorchFunctionMode):
    """Follows every torch function the model calls and keeps, per tensor, the longest weight-layer path
    behind it and its receptive field. Ops with several inputs (``+`` of a shortcut, ``cat`` of Inception
    branches) take the longest path and the widest field among them."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: dict[int, _Node] = {}
        self.keep: list[Tensor] = []  # keeps traced tensors alive so their ids are never reused
        self.conv_fields: list[tuple[int, int, int, int]] = []  # (rf, jump, first, units per side)
        self.kernels: Counter[int] = Counter()
        self.activations: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()

    def mark(self, t: Tensor, node: _Node) -> None:
        self.nodes[id(t)] = node
        self.keep.append(t)

    def _inputs(self, obj: Any) -> list[_Node]:
        if isinstance(obj, Tensor):
            node = self.nodes.get(id(obj))
            return [node] if node is not None else []
        if isinstance(obj, list | tuple):
            return [n for item in obj for n in self._inputs(item)]
        if isinstance(obj, dict):
            return [n for item in obj.values() for n in self._inputs(item)]
        return []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        first = args[0] if args else None
        if name in ("conv2d", "linear", "max_pool2d", "avg_pool2d"):
            parents = self._inputs(first)  # the weights and biases are not on the data path
        else:
            parents = self._inputs((args, kwargs))
        if not parents:
            return out
        if name in _ACTIVATIONS:
            self.activations[name.rstrip("_")] += 1
        elif name in _ADDS and len(parents) > 1:
            self.counts["shortcut_adds"] += 1
        elif name == "cat" and len(parents) > 1:
            self.counts["concats"] += 1
        depth = max(p.depth for p in parents)
        fields = [p for p in parents if p.rf is not None]
        widest = max(fields, key=lambda p: p.rf) if fields else None
        rf, jump = (widest.rf, widest.jump) if widest is not None else (None, 1)
        # joined branches: unit 0 reads the union of its branches' windows (same padding keeps them centred)
        first = min(p.first for p in fields) if fields else 0
        if name == "conv2d":
            weight = _arg(args, kwargs, 1, "weight", None)
            k = _side(tuple(weight.shape[-2:]), "kernel_size")
            s = _side(_arg(args, kwargs, 3, "stride", 1), "stride")
            d = _side(_arg(args, kwargs, 5, "dilation", 1), "dilation")
            p = _padding(_arg(args, kwargs, 4, "padding", 0), d * (k - 1))
            depth += 1
            self.kernels[k] += 1
            if rf is not None:
                rf, first, jump = rf + d * (k - 1) * jump, first - p * jump, jump * s
                self.conv_fields.append((rf, jump, first, int(out.shape[-1])))
        elif name in ("max_pool2d", "avg_pool2d"):
            k = _side(_arg(args, kwargs, 1, "kernel_size", 1), "kernel_size")
            s = _arg(args, kwargs, 2, "stride", None)
            s = k if s is None or s == [] or s == () else _side(s, "stride")
            p = _side(_arg(args, kwargs, 3, "padding", 0), "padding")
            d = _side(_arg(args, kwargs, 4, "dilation", 1), "dilation") if name == "max_pool2d" else 1
            if rf is not None:
                rf, first, jump = rf + d * (k - 1) * jump, first - p * jump, jump * s
        elif name == "pad" and rf is not None:
            # an explicit pad (Conv2d's non-zero padding modes call it) moves unit 0's window left by the
            # width padded before the first column; a pad of the channels only (option A) moves nothing
            pads = tuple(_arg(args, kwargs, 1, "pad", ()))
            first -= (pads[0] if len(pads) >= 2 else 0) * jump
        elif name == "linear":
            depth, rf = depth + 1, None
            self.counts["linear"] += 1
        elif name.startswith("adaptive_"):
            rf = None  # a global (or coarse adaptive) pool: every position mixes
            self.counts["global_pool"] += 1
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, Tensor):
                self.mark(t, _Node(depth, rf, jump, first))
        return out


def trace(model: nn.Module, input_size: Sequence[int]) -> Trace:
    """Depth and last-convolution receptive field of ``model`` for one input of ``input_size``.

    Runs one forward pass in eval mode on the model's device. Build the model on the meta device
    (``with torch.device("meta"):``) and the pass computes shapes only, instantly even for ResNet-152.
    """
    c, h, w = (int(v) for v in input_size)
    if h != w:
        raise ValueError(f"trace() needs a square input; got {h}x{w}.")
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("meta")
    was_training = model.training
    model.eval()
    tracer = _Tracer()
    x = torch.zeros(1, c, h, w, device=device)
    try:
        with torch.no_grad(), tracer:
            tracer.mark(x, _Node(0, 1, 1))
            out = model(x)
    finally:
        model.train(was_training)
    final = tracer.nodes.get(id(out))
    if final is None or not tracer.conv_fields:
        raise ValueError(f"{type(model).__name__}: no convolution on the path from input to output.")
    rf, jump, first, units = max(tracer.conv_fields)
    return Trace(
        depth=final.depth, receptive_field=rf, jump=jump, input_size=(c, h, w),
        conv_kernels=dict(sorted(tracer.kernels.items())), activations=dict(tracer.activations),
        linear_layers=tracer.counts["linear"], global_pool=tracer.counts["global_pool"] > 0,
        shortcut_adds=tracer.counts["shortcut_adds"], concats=tracer.counts["concats"],
        coverage=Coverage(image=h, units=units, size=rf, jump=jump, first=first),
    )  # fmt: skip


def coverage(model: nn.Module, input_size: Sequence[int]) -> Coverage:
    """:class:`Coverage` of the last convolution of ``model`` (the one :func:`trace` reports) on an
    input of ``input_size``: which of its units see the whole image, and how much a corner unit sees."""
    result = trace(model, input_size).coverage
    assert result is not None  # trace() always sets it
    return result
