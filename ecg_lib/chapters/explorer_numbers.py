"""The numbers behind the kernel-free explorers, computed by the library (the reference for the page).

Each function takes the explorer's control values by name, exactly as the page's controls hold them,
and returns ``{output key: value}`` with the keys of the matching formula in ``explorers.js``. The
formula explorers build the actual modules on PyTorch's meta device and count them with
:mod:`ecg_lib.counting`, so a test that compares these dictionaries with the JavaScript formulas
checks the page against the library, not against a second copy of the algebra.

Conventions, as in the library: *weights* are the convolution kernels (parameters with 2+ dimensions);
*params* are every trainable parameter (:func:`ecg_lib.counting.count_params`: biases, batch norm);
*MACs* are multiply-accumulates of one image (:func:`ecg_lib.counting.count_macs`: convolutions and
matrix products only; pooling, ReLU, normalisation and bias additions are not counted).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ecg_lib.counting import count_macs, count_params, receptive_field
from ecg_lib.models import googlenet as G
from ecg_lib.models import resnet as R
from ecg_lib.models._common import lrn

__all__ = [
    "MAX_EXACT",
    "REFERENCES",
    "Curve",
    "curve_points",
    "curves_numbers",
    "history_curves",
    "inception_inputs",
    "inception_numbers",
    "lesion_numbers",
    "lrn_numbers",
    "reference_numbers",
    "resnet_block_numbers",
    "vgg_stack_numbers",
]

# JavaScript numbers are doubles: integer counts are exact below 2^53, which every slider maximum respects.
MAX_EXACT = 2**53


def _meta(build: Any, *args: Any, **kwargs: Any) -> nn.Module:
    with torch.device("meta"):
        return build(*args, **kwargs)


def _weights(module: nn.Module) -> int:
    # Convolution and linear kernels have 2+ dimensions; biases and batch-norm parameters have one.
    return sum(p.numel() for p in module.parameters() if p.dim() > 1)


def _conv_stack(kernel: int, layers: int, channels: int) -> nn.Sequential:
    # VGG's layer (ecg_lib.models.vgg): convolution with bias, "same" padding, stride 1, then ReLU.
    mods: list[nn.Module] = []
    for _ in range(layers):
        mods += [nn.Conv2d(channels, channels, kernel, padding=kernel // 2), nn.ReLU(inplace=True)]
    return nn.Sequential(*mods)


def vgg_stack_numbers(k: int, channels: int, side: int) -> dict[str, Any]:
    """``k`` 3x3 layers against one (2k+1)x(2k+1) layer at ``channels`` channels on a ``side`` map
    (Simonyan & Zisserman, 2015, Sec. 2.3: three 3x3 layers have 27 C² weights, one 7x7 layer 49 C²)."""
    k, channels, side = int(k), int(channels), int(side)
    out: dict[str, Any] = {}
    for prefix, kernel, layers in (("stack", 3, k), ("single", 2 * k + 1, 1)):
        stack = _meta(_conv_stack, kernel, layers, channels)
        weights = _weights(stack)
        out |= {
            f"{prefix}.layers": sum(isinstance(m, nn.Conv2d) for m in stack),
            f"{prefix}.kernel": kernel,
            f"{prefix}.rf": receptive_field(stack).size,
            f"{prefix}.weights": weights,
            f"{prefix}.per_c2": weights // channels**2,
            f"{prefix}.params": count_params(stack),
            f"{prefix}.macs": count_macs(stack, (channels, side, side)),
            f"{prefix}.relus": sum(isinstance(m, nn.ReLU) for m in stack),
        }
    out["weight_ratio"] = out["stack.weights"] / out["single.weights"]
    return out


def inception_inputs() -> dict[str, tuple[int, int]]:
    """``{row: (input channels, map side)}`` of each Inception module of the ImageNet GoogLeNet at
    224 x 224, measured on the library's network (3a: 192 channels on 28 x 28)."""
    from ecg_lib.experiments.googlenet import inception_inputs as measured

    return measured()


_BRANCHES = {"1x1": "branch1", "3x3": "branch3", "5x5": "branch5", "pool": "branch_pool"}


def inception_numbers(
    in_channels: int, side: int, n1x1: int, n3x3red: int, n3x3: int, n5x5red: int, n5x5: int, pool_proj: int
) -> dict[str, Any]:
    """Weights, params (with biases) and MACs per branch and in total of the Inception module with these
    filter counts (:class:`ecg_lib.models.googlenet.Inception`), of the naive module without the 1x1
    reductions (Fig. 2a: the pool branch unprojected) and of the naive module with the pool projection."""
    c, s = int(in_channels), int(side)
    row = G.InceptionRow(
        "custom", int(n1x1), int(n3x3red), int(n3x3), int(n5x5red), int(n5x5), int(pool_proj)
    )
    size = (c, s, s)
    modules = {
        "reduced": _meta(G.Inception, c, row),
        "naive": _meta(G.Inception, c, row, reduce=False),
        "naive_proj": _meta(G.Inception, c, row, reduce=False, pool_proj=True),
    }
    out: dict[str, Any] = {}
    for prefix, module in modules.items():
        if prefix != "naive_proj":
            for branch, attr in _BRANCHES.items():
                part = getattr(module, attr)
                out[f"{prefix}.{branch}.weights"] = _weights(part)
                out[f"{prefix}.{branch}.params"] = count_params(part)
                out[f"{prefix}.{branch}.macs"] = count_macs(part, size)
        out[f"{prefix}.total.weights"] = _weights(module)
        out[f"{prefix}.total.params"] = count_params(module)
        out[f"{prefix}.total.macs"] = count_macs(module, size)
    out["reduced.out_channels"] = modules["reduced"].out_channels
    out["naive.out_channels"] = modules["naive"].out_channels
    out["share.macs"] = out["reduced.total.macs"] / out["naive.total.macs"]
    out["share.weights"] = out["reduced.total.weights"] / out["naive.total.weights"]
    out["share_proj.macs"] = out["reduced.total.macs"] / out["naive_proj.total.macs"]
    return out


def resnet_block_numbers(width: int, ratio: int, side: int) -> dict[str, Any]:
    """The library's :class:`~ecg_lib.models.resnet.Bottleneck` (1x1 to ``width``, 3x3, 1x1 to
    ``ratio * width``) against :class:`~ecg_lib.models.resnet.BasicBlock` at ``width`` and at
    ``ratio * width`` channels; stride 1, identity shortcuts, on a ``side`` x ``side`` map."""
    w, r, s = int(width), int(ratio), int(side)
    d = w * r
    blocks = {
        "bottleneck": (_meta(R.Bottleneck, d, w, 1, "B", expansion=r), d),
        "basic_narrow": (_meta(R.BasicBlock, w, w, 1, "B"), w),
        "basic_wide": (_meta(R.BasicBlock, d, d, 1, "B"), d),
    }
    out: dict[str, Any] = {}
    for name, (block, channels) in blocks.items():
        out[f"{name}.channels"] = block.out_channels
        out[f"{name}.weights"] = _weights(block)
        out[f"{name}.params"] = count_params(block)
        out[f"{name}.macs"] = count_macs(block, (channels, s, s))
    out["ratio.narrow"] = out["bottleneck.macs"] / out["basic_narrow.macs"]
    out["ratio.wide"] = out["bottleneck.macs"] / out["basic_wide.macs"]
    return out


def lrn_numbers(k: float, n: int, log10_alpha: float, beta: float, log10_activity: float) -> dict[str, Any]:
    """Gain b / a of the library's response normalisation (:func:`ecg_lib.models._common.lrn`, the
    paper's summed form) when all ``n`` maps hold the activity a = 10**``log10_activity``: measured by
    running the layer on such an input (float64) and reading the centre map."""
    n = int(n)
    alpha, a = 10.0 ** float(log10_alpha), 10.0 ** float(log10_activity)
    layer = lrn(size=n, alpha=alpha, beta=float(beta), k=float(k))
    x = torch.full((1, n, 1, 1), a, dtype=torch.float64)
    b = float(layer(x)[0, n // 2, 0, 0])
    flat = float(k) ** -float(beta)
    return {
        "alpha": alpha,
        "activity": a,
        "gain": b / a,
        "output": b,
        "flat_gain": flat,
        "relative": (b / a) / flat,
        "onset": math.sqrt(float(k) / (alpha * n)),
    }


def lesion_numbers(deleted: Sequence[str], data: Mapping[str, Any]) -> dict[str, Any]:
    """The lesion explorer's readout for the blocks ``deleted``: the measured error when that set is among
    the precomputed ones (the intact net, each single block, ``data["combos"]``), otherwise the
    sum-of-effects estimate ``intact + sum(error_i - intact)`` clipped to [0, 1], marked as such."""
    chosen = set(deleted)
    names = [b["name"] for b in data["blocks"] if b["name"] in chosen]
    intact = data["intact"]
    measured = None
    if not names:
        measured = intact
    elif len(names) == 1:
        measured = next(b["error"] for b in data["blocks"] if b["name"] == names[0])
    for combo in data.get("combos") or []:
        if sorted(combo["deleted"]) == sorted(names):
            measured = combo["error"]
    out: dict[str, Any] = {"deleted": len(names)}
    if measured is not None:
        out |= {"error": measured, "measured": 1,
                "kind": "measured (intact network)" if not names else "measured"}  # fmt: skip
    else:
        est = intact
        for b in data["blocks"]:  # the page's order, so that the float sum is bit for bit the same
            if b["name"] in chosen:
                est += b["error"] - intact
        clipped = min(1.0, max(0.0, est))
        kind = "estimate: sum of the single-block effects, not measured"
        out |= {"error": clipped, "measured": 0,
                "kind": kind + (" (clipped to [0, 100%])" if clipped != est else "")}  # fmt: skip
    out["change"] = out["error"] - intact
    return out


def curves_numbers(profile: str, epoch: float, data: Mapping[str, Any]) -> dict[str, Any]:
    """The curves explorer's readout: for each curve of ``profile``, the point nearest to ``epoch`` (the
    first one on a tie)."""
    out: dict[str, Any] = {"cursor": epoch}
    for name, curve in data["profiles"].get(profile, {}).items():
        if curve["x"]:
            i = min(range(len(curve["x"])), key=lambda j: abs(curve["x"][j] - epoch))
            out[f"{name}.epoch"] = curve["x"][i]
            out[f"{name}.value"] = curve["y"][i]
    return out


Curve = Mapping[str, Sequence[float | None]] | Sequence[float | None]


def curve_points(c: Curve) -> dict[str, list[float]]:
    """``{"x": [...], "y": [...]}`` of one curve given as such a dict or as a list of values per epoch
    from 1; None (not evaluated) and non-finite points are left out."""
    if isinstance(c, Mapping):
        xs, ys = list(c["x"]), list(c["y"])
    else:
        ys = list(c)
        xs = list(range(1, len(ys) + 1))
    if len(xs) != len(ys):
        raise ValueError(f"a curve needs as many x as y values (got {len(xs)} and {len(ys)}).")
    pts = [(float(x), float(y)) for x, y in zip(xs, ys, strict=True)
           if y is not None and math.isfinite(float(y))]  # fmt: skip
    return {"x": [_int_if_whole(x) for x, _ in pts], "y": [y for _, y in pts]}


def _int_if_whole(x: float) -> float | int:
    return int(x) if x.is_integer() else x


def history_curves(histories: Mapping[str, Any], metric: str = "test_error") -> dict[str, dict[str, list]]:
    """``{name: {"x": epochs, "y": values}}`` from ``{name: History}`` (or ``History.to_dict()`` dicts):
    ``metric`` per epoch (``test_error``, ``epoch_train_error``, ``test_loss``, ...), epochs from 1,
    unevaluated epochs left out. The input of :func:`curves_explorer`."""
    out = {}
    for name, h in histories.items():
        values = h[metric] if isinstance(h, Mapping) else getattr(h, metric)
        out[name] = curve_points(list(values))
    return out


REFERENCES = {
    "vgg-stack": lambda p, _data: vgg_stack_numbers(p["k"], p["channels"], p["side"]),
    "inception": lambda p, _data: inception_numbers(**p),
    "resnet-blocks": lambda p, _data: resnet_block_numbers(p["width"], p["ratio"], p["side"]),
    "lrn": lambda p, _data: lrn_numbers(**p),
    "lesion": lambda p, data: lesion_numbers(p.get("deleted", []), data),
    "curves": lambda p, data: curves_numbers(p["profile"], p["epoch"], data),
}


def reference_numbers(kind: str, params: Mapping[str, Any], data: Any = None) -> dict[str, Any]:
    """The library's numbers for explorer ``kind`` at the control values ``params`` (as the page reads
    them) with the explorer's ``data``: what ``formulas[kind](params, data)`` in the page must give."""
    if kind not in REFERENCES:
        raise ValueError(f"No explorer kind {kind!r}; kinds are {', '.join(REFERENCES)}.")
    return REFERENCES[kind](dict(params), data)
