"""One Inception module of GoogLeNet counted (Szegedy et al. 2015, Fig. 2 and Table 1): its cost with and
without the 1x1 reductions, branch by branch, as the reduction width varies, and the width at which a
reduction stops saving. The units are Table 1's (see :class:`Cost`); the whole network is counted in
:mod:`ecg_lib.experiments.googlenet_network`. Re-exported by :mod:`ecg_lib.experiments.googlenet`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from ecg_lib.counting import count_macs, count_params
from ecg_lib.models import googlenet as G

__all__ = [
    "BRANCHES", "ZERO", "BranchSaving", "Cost", "ModuleSaving", "branch_savings", "break_even_width",
    "inception_cost", "inception_inputs", "module_cost", "reduced_weight_share", "reduction_sweep",
    "table1_row",
]  # fmt: skip

BRANCHES: tuple[str, ...] = ("1x1", "3x3", "5x5", "pool")
_BRANCH_ATTR = {"1x1": "branch1", "3x3": "branch3", "5x5": "branch5", "pool": "branch_pool"}


@dataclass(frozen=True)
class Cost:
    """Weights (no biases), parameters (weights + biases) and MACs of one image through a module."""

    weights: int
    params: int
    macs: int

    @property
    def params_k(self) -> float:
        """Weights in Table 1's unit, K = 1024 weights."""
        return self.weights / 1024

    @property
    def ops_m(self) -> float:
        """MACs in Table 1's unit, millions."""
        return self.macs / 1e6

    def __add__(self, other: Cost) -> Cost:
        return Cost(self.weights + other.weights, self.params + other.params, self.macs + other.macs)


ZERO = Cost(0, 0, 0)


def _weights(module: nn.Module) -> int:
    # Conv and linear weights have 2+ dimensions; biases have one.
    return sum(p.numel() for p in module.parameters() if p.dim() > 1)


def module_cost(module: nn.Module, input_size: Sequence[int]) -> Cost:
    """:class:`Cost` of ``module`` for one input of ``input_size`` = (C, H, W)."""
    return Cost(_weights(module), count_params(module), count_macs(module, input_size))


def _meta(build, *args, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return build(*args, **kwargs)


def table1_row(name: str) -> G.InceptionRow:
    """The Inception row of Table 1 named ``name`` (``"3a"`` ... ``"5b"``)."""
    for row in G.TABLE1:
        if row.name == name:
            return row
    raise ValueError(f"No Inception row {name!r} in Table 1; rows are {', '.join(r.name for r in G.TABLE1)}.")


def inception_inputs(model: G.GoogLeNet | None = None, input_side: int = 224) -> dict[str, tuple[int, int]]:
    """``{row name: (input channels, map side)}`` of every Inception module, measured by running
    ``model`` (default: the ImageNet GoogLeNet) on a meta-device image of side ``input_side``."""
    if model is None:
        return dict(_imagenet_inputs(input_side))
    seen: dict[str, tuple[int, int]] = {}
    hooks = [
        m.register_forward_pre_hook(lambda _m, args, n=name: seen.__setitem__(n, tuple(args[0].shape[1:3])))
        for name, m in model.inception.items()
    ]
    try:
        with torch.no_grad():
            device = next(model.parameters()).device  # meta for the default model: shapes only
            model.eval()(torch.zeros(1, model.in_channels, input_side, input_side, device=device))
    finally:
        for h in hooks:
            h.remove()
    return seen


@functools.lru_cache(maxsize=4)
def _imagenet_inputs(input_side: int) -> tuple[tuple[str, tuple[int, int]], ...]:
    # Building the network is the slow part; the sizes never change, so measure them once.
    return tuple(inception_inputs(_meta(G.googlenet), input_side).items())


def inception_cost(
    row: G.InceptionRow | str,
    in_channels: int | None = None,
    side: int | None = None,
    *,
    reduce: bool = True,
    pool_proj: bool | None = None,
) -> Cost:
    """Cost of one Inception module built from ``row`` (a :class:`InceptionRow` or a Table 1 name).

    ``in_channels`` and ``side`` default to the module's place in the ImageNet GoogLeNet (a name is
    needed then). ``reduce=False`` drops the 1x1 reductions before the 3x3 and 5x5 convolutions
    (Fig. 2a); ``pool_proj`` keeps or drops the pool branch's 1x1 projection (default: as ``reduce``).
    """
    row = table1_row(row) if isinstance(row, str) else row
    if in_channels is None or side is None:
        c, s = inception_inputs()[row.name]
        in_channels = c if in_channels is None else in_channels
        side = s if side is None else side
    module = _meta(G.Inception, in_channels, row, reduce=reduce, pool_proj=pool_proj)
    return module_cost(module, (in_channels, side, side))


def _branch_costs(module: G.Inception, side: int) -> dict[str, Cost]:
    size = (module.in_channels, side, side)
    return {b: module_cost(getattr(module, _BRANCH_ATTR[b]), size) for b in BRANCHES}


@dataclass(frozen=True)
class BranchSaving:
    """One branch of a module with (``reduced``) and without (``naive``) its 1x1 reduction."""

    branch: str
    reduced: Cost
    naive: Cost

    @property
    def weight_ratio(self) -> float:
        return self.naive.weights / self.reduced.weights if self.reduced.weights else float("nan")

    @property
    def mac_ratio(self) -> float:
        return self.naive.macs / self.reduced.macs if self.reduced.macs else float("nan")


@dataclass(frozen=True)
class ModuleSaving:
    """A module as in the paper (Fig. 2b) against the naive module (Fig. 2a) on the same input.

    ``naive``: no reductions and no pool projection, so its output is wider (``naive_out``).
    ``naive_proj``: no reductions but with the pool projection, so the same output width as the paper's.
    """

    row: G.InceptionRow
    in_channels: int
    side: int
    reduced: Cost
    naive: Cost
    naive_proj: Cost
    reduced_out: int
    naive_out: int
    branches: list[BranchSaving] = field(default_factory=list)

    def ratio(self, what: str = "macs", proj: bool = False) -> float:
        """Naive cost over the paper's cost, for ``what`` in weights, params, macs."""
        naive = self.naive_proj if proj else self.naive
        return getattr(naive, what) / getattr(self.reduced, what)


def branch_savings(
    row: G.InceptionRow | str, in_channels: int | None = None, side: int | None = None
) -> ModuleSaving:
    """The module of ``row`` with and without its reductions, in total and branch by branch."""
    row = table1_row(row) if isinstance(row, str) else row
    if in_channels is None or side is None:
        in_channels, side = inception_inputs()[row.name]
    size = (in_channels, side, side)
    reduced = _meta(G.Inception, in_channels, row)
    naive = _meta(G.Inception, in_channels, row, reduce=False)
    naive_proj = _meta(G.Inception, in_channels, row, reduce=False, pool_proj=True)
    rb, nb = _branch_costs(reduced, side), _branch_costs(naive_proj, side)
    return ModuleSaving(
        row=row,
        in_channels=in_channels,
        side=side,
        reduced=module_cost(reduced, size),
        naive=module_cost(naive, size),
        naive_proj=module_cost(naive_proj, size),
        reduced_out=reduced.out_channels,
        naive_out=naive.out_channels,
        branches=[BranchSaving(b, rb[b], nb[b]) for b in BRANCHES],
    )


def reduction_sweep(
    row: G.InceptionRow | str,
    branch: str,
    widths: Iterable[int],
    in_channels: int | None = None,
    side: int | None = None,
) -> list[Cost]:
    """Cost of ``branch`` (``"3x3"`` or ``"5x5"``: its 1x1 reduction and the convolution it feeds) when
    the reduction has each of ``widths`` channels, counted on the module built with that width."""
    field_name = {"3x3": "n3x3red", "5x5": "n5x5red"}.get(branch)
    if field_name is None:
        raise ValueError(f"branch must be '3x3' or '5x5' (the branches with a reduction), got {branch!r}.")
    row = table1_row(row) if isinstance(row, str) else row
    if in_channels is None or side is None:
        in_channels, side = inception_inputs()[row.name]
    costs = []
    for w in widths:
        module = _meta(G.Inception, in_channels, replace(row, **{field_name: w}))
        costs.append(_branch_costs(module, side)[branch])
    return costs


def break_even_width(row: G.InceptionRow | str, branch: str, in_channels: int | None = None) -> float:
    """Reduction width at which the reduced ``branch`` has as many weights as the unreduced one.

    With C input channels, k x k kernels and n outputs, the reduced branch has r (C + k^2 n) weights
    (plus r + n biases), the naive one k^2 C n: a reduction saves weights (and MACs, which are weights
    times the map area) while r < k^2 C n / (C + k^2 n).
    """
    row = table1_row(row) if isinstance(row, str) else row
    if in_channels is None:
        in_channels = inception_inputs()[row.name][0]
    k, n = {"3x3": (3, row.n3x3), "5x5": (5, row.n5x5)}[branch]
    return k * k * in_channels * n / (in_channels + k * k * n)


def reduced_weight_share(n3x3red: int, n5x5red: int, row: str = "3a") -> float:
    """Weights of ``row``'s module with the given reductions over those of the naive module with the pool
    projection (Fig. 2a, same output width), at the module's place in GoogLeNet (an exercise's check)."""
    base = table1_row(row)
    for name, value in (("n3x3red", n3x3red), ("n5x5red", n5x5red)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer (got {value!r}).")
    reduced = inception_cost(replace(base, n3x3red=n3x3red, n5x5red=n5x5red), *inception_inputs()[row])
    naive = inception_cost(base, reduce=False, pool_proj=True)
    return reduced.weights / naive.weights
