"""Counting: parameters, multiply-accumulates, per-layer tables and receptive fields.

Units. Everything here counts **MACs** (multiply-accumulates: one multiplication and one addition). The
papers' "FLOPs" (e.g. "VGG-19 (19.6 billion FLOPs)" in He et al., 2016) and torchvision's ``GFLOPS``
metadata are multiply-adds, i.e. MACs, too. Tools that count a multiplication and an addition as two
operations give twice the number; :func:`flops_from_macs` makes that conversion explicit.

MACs come from ``torch.utils.flop_counter.FlopCounterMode`` (its FLOPs are 2 per MAC), so they cover
convolutions and matrix products, which is also what the papers count; pooling, activations and
normalisation are not counted. Models are run on PyTorch's "meta" device (shapes only, no arithmetic),
so even VGG-E at 224x224 is counted in milliseconds and the model's own weights are never touched.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

import torch
from torch import nn
from torch.func import functional_call
from torch.utils.flop_counter import FlopCounterMode

__all__ = [
    "LayerStats",
    "ReceptiveField",
    "Summary",
    "count_macs",
    "count_params",
    "flops_from_macs",
    "format_count",
    "layer_table",
    "min_input_size",
    "parse_input_size",
    "positions_read",
    "receptive_field",
    "summarize",
    "window_centres",
]

InputSize = Sequence[int]


@dataclass(frozen=True)
class LayerStats:
    """One row of a per-layer table. ``output_shape`` is per sample (no batch dimension), ``None`` for a
    layer that did not run (e.g. an auxiliary head in eval mode); ``params`` counts the layer's own
    parameters; ``macs`` its multiply-accumulates for one sample."""

    name: str
    kind: str
    output_shape: tuple[int, ...] | None
    params: int
    macs: int


class ReceptiveField(NamedTuple):
    """Receptive field of one output unit of a conv/pool chain, in input pixels.

    ``size``: side of the input window that can influence one output unit. ``jump``: distance in input
    pixels between neighbouring output units (the product of the strides). ``start``: input coordinate of
    the centre of the first output unit's window (pixel centres at 0, 1, ...; negative when padding
    extends the window past the image edge)."""

    size: int
    jump: int
    start: float


@dataclass
class Summary:
    """Totals and per-layer rows for one model at one input size (C, H, W); batch size 1."""

    model: str
    input_size: tuple[int, int, int]
    params: int
    macs: int
    rows: list[LayerStats] = field(default_factory=list)

    @property
    def flops(self) -> int:
        """2 x MACs: the convention that counts a multiply and an add as two operations."""
        return flops_from_macs(self.macs)

    def to_dict(self) -> dict:
        return {
            "model": self.model,
            "input": list(self.input_size),
            "params": self.params,
            "macs": self.macs,
            "flops": self.flops,
            "units": {
                "macs": "multiply-accumulates per image (the papers' 'FLOPs', torchvision's 'GFLOPS')",
                "flops": "2 x macs (a multiply and an add counted separately)",
            },
            "layers": [
                {**asdict(r), "output_shape": None if r.output_shape is None else list(r.output_shape)}
                for r in self.rows
            ],
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_text(self) -> str:
        header = ("layer", "kind", "output (C x H x W)", "params", "MACs")
        lines = [
            (
                r.name,
                r.kind,
                "-" if r.output_shape is None else " x ".join(map(str, r.output_shape)),
                f"{r.params:,}",
                f"{r.macs:,}",
            )
            for r in self.rows
        ]
        widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(5)]
        fmt = "  ".join(f"{{:{'<' if i < 3 else '>'}{w}}}" for i, w in enumerate(widths))
        c, h, w = self.input_size
        out = [f"{self.model}, input {c} x {h} x {w}, batch 1", fmt.format(*header)]
        out.append("  ".join("-" * w for w in widths))
        out += [fmt.format(*row) for row in lines]
        out.append("")
        out.append(f"parameters: {self.params:,} ({format_count(self.params)})")
        out.append(
            f"MACs:       {self.macs:,} ({format_count(self.macs)} multiply-accumulates"
            f" = {format_count(self.flops)} FLOPs at 2 FLOPs per MAC)"
        )
        return "\n".join(out)

    def __str__(self) -> str:
        return self.to_text()


def flops_from_macs(macs: int) -> int:
    """FLOPs in the two-operations-per-MAC convention (multiply and add counted separately)."""
    return 2 * int(macs)


def format_count(n: float) -> str:
    """``60965224 -> '61.0 M'``, ``15470264320 -> '15.47 G'``: compact, for tables and prose."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            value = n / scale
            return f"{value:.2f} {unit}" if unit == "G" else f"{value:.1f} {unit}"
    return f"{n:g}"


def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters (shared ones once); only those with ``requires_grad`` unless told otherwise."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def parse_input_size(value: str | int | Sequence[int]) -> tuple[int, int, int]:
    """``"3x224x224"``, ``"224"`` (3 channels, square), ``224`` or ``(3, 224, 224)`` -> ``(3, 224, 224)``."""
    if isinstance(value, str):
        parts = value.lower().replace("×", "x").split("x")
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            nums = []
    elif isinstance(value, int):
        nums = [value]
    else:
        nums = [int(v) for v in value]
    if len(nums) == 1:
        nums = [3, nums[0], nums[0]]
    # two numbers are ambiguous ("3x32": 3 channels of 32x32, or a 3x32 image?); they are refused
    if len(nums) != 3 or min(nums) <= 0:
        raise ValueError(
            f"Input size must be C x H x W with positive integers, e.g. '3x224x224' or 224 (got {value!r})."
        )
    return nums[0], nums[1], nums[2]


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    # Restore each module's own flag: a model may deliberately keep some layers (e.g. BN) in eval mode.
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, mode in modes:
            m.training = mode


def _run(model: nn.Module, input_size: InputSize, counter: FlopCounterMode | None = None) -> None:
    """One forward pass of a batch of 1 in eval mode without gradients, on the meta device when possible
    (the model's own tensors are replaced by shape-only copies for the call, never modified)."""
    size = parse_input_size(input_size)
    state = {
        name: torch.empty_like(t, device="meta")
        for name, t in itertools.chain(
            model.named_parameters(remove_duplicate=False), model.named_buffers(remove_duplicate=False)
        )
    }
    x = torch.zeros((1, *size), device="meta")
    with _eval_mode(model), torch.no_grad():
        try:
            with counter if counter is not None else _null():
                functional_call(model, state, (x,), tie_weights=True, strict=False)
            return
        except (NotImplementedError, RuntimeError):
            # An operator without a meta implementation: count on the model's own device instead.
            if counter is not None:
                counter.flop_counts.clear()
        device = next(itertools.chain(model.parameters(), model.buffers()), torch.zeros(0)).device
        with counter if counter is not None else _null():
            model(torch.zeros((1, *size), device=device))


@contextmanager
def _null() -> Iterator[None]:
    yield


def count_macs(model: nn.Module, input_size: InputSize) -> int:
    """Multiply-accumulates of one forward pass of one image of ``input_size`` = (C, H, W)."""
    counter = FlopCounterMode(display=False)
    _run(model, input_size, counter)
    return counter.get_total_flops() // 2


def _rows_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    # Leaves, plus any container that owns parameters directly, so that the rows add up to the total.
    return [
        (name, m)
        for name, m in model.named_modules()
        if name and (not any(True for _ in m.children()) or any(True for _ in m.parameters(recurse=False)))
    ]


def _first_tensor(out: object) -> torch.Tensor | None:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, list | tuple):
        for o in out:
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def _table(model: nn.Module, input_size: InputSize) -> tuple[list[LayerStats], int]:
    modules = _rows_modules(model)
    shapes: dict[str, tuple[int, ...]] = {}

    def hook(name: str):
        def record(_module: nn.Module, _inputs: object, output: object) -> None:
            t = _first_tensor(output)
            if t is not None and name not in shapes:  # a module reused in one pass keeps its first shape
                shapes[name] = tuple(t.shape[1:])

        return record

    handles = [m.register_forward_hook(hook(name)) for name, m in modules]
    counter = FlopCounterMode(display=False)
    try:
        _run(model, input_size, counter)
    finally:
        for h in handles:
            h.remove()
    per_module = counter.get_flop_counts()
    root = type(model).__name__
    rows = []
    for name, m in modules:
        flops = sum(per_module.get(f"{root}.{name}", {}).values())
        params = sum(p.numel() for p in m.parameters(recurse=False))
        rows.append(LayerStats(name, type(m).__name__, shapes.get(name), params, int(flops) // 2))
    return rows, counter.get_total_flops() // 2


def layer_table(model: nn.Module, input_size: InputSize) -> list[LayerStats]:
    """One :class:`LayerStats` per leaf module (and per container that owns parameters itself), in
    registration order, for one image of ``input_size`` = (C, H, W)."""
    return _table(model, input_size)[0]


def summarize(model: nn.Module, input_size: InputSize, name: str | None = None) -> Summary:
    """Parameters, MACs and the per-layer table of ``model`` for one image of ``input_size``.

    ``macs`` is the whole forward pass (it also includes products computed outside leaf modules, which
    no row shows); ``params`` counts every parameter, trainable or not."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"summarize() takes a torch.nn.Module (e.g. get_model(name)), got "
                        f"{type(model).__name__}.")  # fmt: skip
    size = parse_input_size(input_size)
    rows, macs = _table(model, size)
    return Summary(
        model=name or type(model).__name__,
        input_size=size,
        params=count_params(model, trainable_only=False),
        macs=macs,
        rows=rows,
    )


def min_input_size(model: nn.Module, channels: int = 3, limit: int = 1024) -> int:
    """Smallest square input side the model accepts: its ``min_input_size`` attribute (set by every model
    in :mod:`ecg_lib.models`), otherwise found by trying sizes 1, 2, ... on the meta device."""
    declared = getattr(model, "min_input_size", None)
    if isinstance(declared, int):
        return declared
    for side in range(1, limit + 1):
        try:
            _run(model, (channels, side, side))
            return side
        except (ValueError, RuntimeError):
            continue
    raise ValueError(f"{type(model).__name__} accepts no square input up to {limit}x{limit}.")


# Layers that act on each position separately (or only across channels): no effect on receptive fields.
_POINTWISE = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid,
    nn.LocalResponseNorm, nn.BatchNorm2d, nn.GroupNorm, nn.Dropout, nn.Dropout2d, nn.Identity,
)  # fmt: skip


def _square(value: int | tuple[int, ...], what: str, layer: nn.Module) -> int:
    if isinstance(value, int):
        return value
    if len(set(value)) != 1:
        raise ValueError(f"receptive_field handles square layers only; {layer} has {what}={value}.")
    return int(value[0])


def _leaves(layers: nn.Module | Iterable[nn.Module]) -> Iterator[nn.Module]:
    items = [layers] if isinstance(layers, nn.Module) else list(layers)
    for item in items:
        # _modules, unlike children(), keeps a layer that a Sequential repeats (the same module twice)
        children = [m for m in item._modules.values() if m is not None]
        if children and not isinstance(item, nn.Sequential):
            raise ValueError(
                f"receptive_field needs a plain chain of layers; {type(item).__name__} has branches or "
                "its own forward. Pass the conv/pool layers of the path you mean, in order."
            )
        yield from _leaves(children) if children else [item]


def receptive_field(layers: nn.Module | Iterable[nn.Module]) -> ReceptiveField:
    """Exact receptive field of a chain of ``Conv2d``/``MaxPool2d``/``AvgPool2d`` layers (nested
    ``nn.Sequential`` allowed; pointwise layers such as ReLU, LRN, BN, dropout are skipped).

    Recurrence, per layer with kernel k, stride s, padding p, dilation d (k' = d (k - 1) + 1):
    ``size += (k' - 1) * jump``, ``start += ((k' - 1) / 2 - p) * jump``, ``jump *= s``.
    """
    size, jump, start = 1, 1, 0.0
    for layer in _leaves(layers):
        if isinstance(layer, _POINTWISE):
            continue
        if isinstance(layer, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
            k = _square(layer.kernel_size, "kernel_size", layer)
            s = _square(layer.stride, "stride", layer)
            p = _square(layer.padding, "padding", layer)
            d = _square(getattr(layer, "dilation", 1), "dilation", layer)
        else:
            raise ValueError(
                f"receptive_field handles Conv2d, MaxPool2d, AvgPool2d and pointwise layers; "
                f"{type(layer).__name__} is none of them (a global pool or linear layer sees the whole "
                "input: stop the chain before it)."
            )
        span = d * (k - 1)
        size += span * jump
        start += (span / 2 - p) * jump
        jump *= s
    return ReceptiveField(size=size, jump=jump, start=start)


def window_centres(layers: nn.Module | Iterable[nn.Module], side: int) -> torch.Tensor:
    """Which positions of a ``side`` x ``side`` input are the centre of some output unit's window.

    Traced on the chain itself (as :func:`receptive_field`, whose ``start`` and ``jump`` place unit ``i``'s
    centre at ``start + i * jump``), with the output side read from running the chain on the meta
    device. Returns a ``side`` x ``side`` bool map, in two dimensions: a position is a centre when both
    its row and its column are. Windows of even side have no centre pixel, so none is marked."""
    chain = list(_leaves(layers))
    rf, n = receptive_field(chain), _output_side(chain, side)
    line = torch.zeros(side, dtype=torch.bool)
    for i in range(n):
        c = rf.start + i * rf.jump
        if c == int(c) and 0 <= c < side:
            line[int(c)] = True
    return line[:, None] & line[None, :]


def positions_read(layers: nn.Module | Iterable[nn.Module], side: int) -> torch.Tensor:
    """Which positions of a ``side`` x ``side`` input lie inside at least one output unit's window (the
    rest never reach the output). Traced like :func:`window_centres`; a ``side`` x ``side`` bool map."""
    chain = list(_leaves(layers))
    rf, n = receptive_field(chain), _output_side(chain, side)
    line = torch.zeros(side, dtype=torch.bool)
    for i in range(n):
        lo = round(rf.start + i * rf.jump - (rf.size - 1) / 2)  # a whole number: the padding's offset
        line[max(0, lo) : max(0, min(side, lo + rf.size))] = True
    return line[:, None] & line[None, :]


def _output_side(chain: Sequence[nn.Module], side: int) -> int:
    """Output side of a conv/pool chain on a ``side`` x ``side`` input, run on the meta device."""
    x = torch.empty(1, 1, side, side, device="meta")  # one channel: only the map's side matters here
    for layer in chain:
        if isinstance(layer, nn.Conv2d):
            weight = torch.empty(1, 1, *layer.kernel_size, device="meta")
            x = nn.functional.conv2d(x, weight, None, layer.stride, layer.padding, layer.dilation)
        elif isinstance(layer, nn.MaxPool2d | nn.AvgPool2d):
            x = layer(x)
    return int(x.shape[-1])
