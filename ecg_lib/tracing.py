"""Depth and receptive field of a network, measured on its computation rather than read from a list of
layers: :func:`trace` follows every torch function of one forward pass, so the parallel branches of an
Inception module and the shortcuts of a residual block count the way the papers count them (longest
weight-layer path; widest field among joined branches). Used by the comparison chapter
(:mod:`ecg_lib.experiments.comparison`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

__all__ = ["Trace", "trace"]


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


_ACTIVATIONS = ("relu", "relu_", "tanh", "tanh_", "sigmoid", "gelu", "silu", "leaky_relu", "elu")
_ADDS = ("add", "add_", "__add__", "__iadd__", "__radd__")


@dataclass
class _Node:
    depth: int
    rf: int | None  # None once a global pool or a linear layer has mixed all positions
    jump: int


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


class _Tracer(TorchFunctionMode):
    """Follows every torch function the model calls and keeps, per tensor, the longest weight-layer path
    behind it and its receptive field. Ops with several inputs (``+`` of a shortcut, ``cat`` of Inception
    branches) take the longest path and the widest field among them."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: dict[int, _Node] = {}
        self.keep: list[Tensor] = []  # keeps traced tensors alive so their ids are never reused
        self.conv_fields: list[tuple[int, int]] = []
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
        if name == "conv2d":
            weight = _arg(args, kwargs, 1, "weight", None)
            k = _side(tuple(weight.shape[-2:]), "kernel_size")
            s = _side(_arg(args, kwargs, 3, "stride", 1), "stride")
            d = _side(_arg(args, kwargs, 5, "dilation", 1), "dilation")
            depth += 1
            self.kernels[k] += 1
            if rf is not None:
                rf, jump = rf + d * (k - 1) * jump, jump * s
                self.conv_fields.append((rf, jump))
        elif name in ("max_pool2d", "avg_pool2d"):
            k = _side(_arg(args, kwargs, 1, "kernel_size", 1), "kernel_size")
            s = _arg(args, kwargs, 2, "stride", None)
            s = k if s is None or s == [] or s == () else _side(s, "stride")
            d = _side(_arg(args, kwargs, 4, "dilation", 1), "dilation") if name == "max_pool2d" else 1
            if rf is not None:
                rf, jump = rf + d * (k - 1) * jump, jump * s
        elif name == "linear":
            depth, rf = depth + 1, None
            self.counts["linear"] += 1
        elif name.startswith("adaptive_"):
            rf = None  # a global (or coarse adaptive) pool: every position mixes
            self.counts["global_pool"] += 1
        for t in out if isinstance(out, tuple | list) else (out,):
            if isinstance(t, Tensor):
                self.mark(t, _Node(depth, rf, jump))
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
    rf, jump = max(tracer.conv_fields)
    return Trace(
        depth=final.depth, receptive_field=rf, jump=jump, input_size=(c, h, w),
        conv_kernels=dict(sorted(tracer.kernels.items())), activations=dict(tracer.activations),
        linear_layers=tracer.counts["linear"], global_pool=tracer.counts["global_pool"] > 0,
        shortcut_adds=tracer.counts["shortcut_adds"], concats=tracer.counts["concats"],
    )  # fmt: skip
