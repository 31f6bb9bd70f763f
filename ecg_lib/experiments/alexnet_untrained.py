"""The AlexNet chapter's computations that train nothing: the two-GPU architecture counted (parameters,
multiply-adds and neurons per layer, with and without the split), small measurements the chapter prints
next to the paper's claims (response normalisation written out, its gain, overlapping pooling, dropout),
and torchvision's AlexNet beside the 2012 network. Re-exported by :mod:`ecg_lib.experiments.alexnet`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ecg_lib.counting import layer_table
from ecg_lib.experiments import ExperimentResult, without_data
from ecg_lib.models import alexnet as A
from ecg_lib.profiles import check_profile
from ecg_lib.train import run_info

__all__ = [
    "TowerRow", "architecture_experiment", "architecture_summary", "dropout_demo", "lrn_formula", "lrn_gain",
    "pooling_coverage", "pooling_shift_change", "torchvision_alexnet", "tower_rows",
]  # fmt: skip

# ----------------------------------------------------------------------------------------------------------
# The two-GPU architecture: counting only (meta device, no weights allocated)


@dataclass(frozen=True)
class TowerRow:
    """One weight layer of AlexNet with the paper's two-GPU split and as a single tower of the same width.

    ``kernel`` is the shape of one kernel in the split net (``"5x5x48"``: 48 input maps, those of its own
    GPU); ``sees`` says which maps feed it; ``neurons`` counts its output units (both towers).
    """

    layer: str
    kernels: int
    kernel: str
    sees: str
    params_split: int
    params_single: int
    macs_split: int
    macs_single: int
    neurons: int

    @property
    def crosses(self) -> bool:
        """True where the two GPUs exchange activations (the layer reads the other tower's maps)."""
        return self.sees == "both towers"


def _meta_alexnet(grouped: bool) -> nn.Module:
    with torch.device("meta"):
        return A.alexnet(grouped=grouped)


def tower_rows() -> list[TowerRow]:
    """Per weight layer: kernel shape, connectivity, parameters, MACs and neurons, split vs. single tower."""
    nets = {g: _meta_alexnet(g) for g in (True, False)}
    tables = {g: {r.name: r for r in layer_table(nets[g], (3, 227, 227))} for g in (True, False)}
    groups = {c.name: c.groups for c in A.ALEXNET_CONVS}
    rows = []
    for name, module in nets[True].named_modules():
        if not isinstance(module, nn.Conv2d | nn.Linear):
            continue
        short = name.rsplit(".", 1)[-1]
        split, single = tables[True][name], tables[False][name]
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0]
            kernel = f"{k}x{k}x{module.in_channels // module.groups}"
            kernels = module.out_channels
            sees = "the image" if short == "conv1" else "own tower" if groups[short] > 1 else "both towers"
        else:
            kernel, kernels, sees = f"{module.in_features}", module.out_features, "both towers"
        assert split.output_shape is not None
        rows.append(TowerRow(short, kernels, kernel, sees, split.params, single.params, split.macs,
                             single.macs, math.prod(split.output_shape)))  # fmt: skip
    return rows


def architecture_summary(rows: list[TowerRow] | None = None) -> dict[str, Any]:
    """Totals the chapter prints: parameters and MACs with and without the split, FC6's share, neurons."""
    rows = tower_rows() if rows is None else rows
    p2, p1 = sum(r.params_split for r in rows), sum(r.params_single for r in rows)
    m2, m1 = sum(r.macs_split for r in rows), sum(r.macs_single for r in rows)
    by = {r.layer: r for r in rows}
    fc = sum(by[n].params_split for n in ("fc6", "fc7", "fc8"))
    return {
        "params_split": p2, "params_single": p1, "params_saved": p1 - p2, "params_saved_frac": (p1 - p2) / p1,
        "macs_split": m2, "macs_single": m1, "macs_saved": m1 - m2, "macs_saved_frac": (m1 - m2) / m1,
        "fc6_params": by["fc6"].params_split, "fc6_frac": by["fc6"].params_split / p2,
        "fc_params_frac": fc / p2, "conv_macs_frac": sum(r.macs_split for r in rows[:5]) / m2,
        "neurons_per_layer": [r.neurons for r in rows], "neurons": sum(r.neurons for r in rows),
        "crossing_layers": [r.layer for r in rows if r.crosses],
    }  # fmt: skip


@without_data
def architecture_experiment(data: None = None, *, profile: str, settings: None = None,
                            context: Any = None) -> ExperimentResult:
    """:func:`tower_rows` and :func:`architecture_summary` as a result (no training; the same in every
    profile)."""
    check_profile(profile)
    rows = tower_rows()
    return ExperimentResult(
        "architecture", profile,
        metrics={"rows": [asdict(r) for r in rows], "summary": architecture_summary(rows)},
        run_info=run_info(profile=profile),
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# Local response normalisation, overlapping pooling and dropout: small measurements


def lrn_formula(a: Tensor, k: float = 2.0, n: int = 5, alpha: float = 1e-4, beta: float = 0.75) -> Tensor:
    """Sec. 3.3 written out, one map at a time (slow; for checking):

    ``b[i] = a[i] / (k + alpha * sum_{j = max(0, i - n//2)}^{min(N - 1, i + n//2)} a[j]**2) ** beta``

    for an ``N x C x H x W`` batch ``a`` of ``C = N`` maps. The sum runs over the ``n`` maps centred on
    ``i`` (fewer at the ends), at the same position.
    """
    if a.dim() != 4:
        raise ValueError(f"lrn_formula expects N x C x H x W activations, got shape {tuple(a.shape)}.")
    maps = a.shape[1]
    out = torch.empty_like(a)
    for i in range(maps):
        lo, hi = max(0, i - n // 2), min(maps - 1, i + n // 2)
        out[:, i] = a[:, i] / (k + alpha * (a[:, lo : hi + 1] ** 2).sum(1)) ** beta
    return out


def lrn_gain(activity: Tensor | float, k: float = 2.0, n: int = 5, alpha: float = 1e-4,
             beta: float = 0.75) -> Tensor:  # fmt: skip
    """Output / input of the normalisation when all ``n`` neighbouring maps hold the value ``activity``:
    ``(k + alpha * n * activity**2) ** -beta``. Flat at ``k**-beta`` for small activities, so the layer
    only rescales; it starts to inhibit around ``activity = sqrt(k / (alpha * n))``."""
    a = torch.as_tensor(activity, dtype=torch.float64)
    return (k + alpha * n * a**2) ** -beta


def pooling_coverage(x: Tensor, kernel: int, stride: int) -> dict[str, float]:
    """What max pooling of ``x`` (``N x C x H x W``) with ``kernel``/``stride`` does, measured:

    ``out``: output side; ``covered``: fraction of input positions inside at least one window;
    ``windows_per_input``: mean number of windows that read an input position; ``winners``: fraction
    of input units that are the maximum of at least one window (the only ones that get a gradient).
    """
    x = x.detach().float().clone().requires_grad_(True)
    y = F.max_pool2d(x, kernel, stride)
    y.sum().backward()
    assert x.grad is not None
    winners = float((x.grad != 0).float().mean())
    ones = torch.ones(1, 1, *x.shape[-2:])
    window = torch.ones(1, 1, kernel, kernel)
    counts = F.conv_transpose2d(torch.ones(1, 1, *y.shape[-2:]), window, stride=stride)
    counts = F.pad(counts, (0, x.shape[-1] - counts.shape[-1], 0, x.shape[-2] - counts.shape[-2]))
    return {
        "kernel": kernel, "stride": stride, "out": int(y.shape[-1]),
        "covered": float((counts > 0).float().mean()), "windows_per_input": float((counts * ones).mean()),
        "winners": winners,
    }  # fmt: skip


def pooling_shift_change(maps: Tensor, shifted: Tensor, kernel: int, stride: int) -> float:
    """Relative change ``|P(maps) - P(shifted)| / |P(maps)|`` of max pooling ``P`` when the image under
    the feature maps moves by a pixel: how much a small translation disturbs what the next layer sees."""
    p, q = F.max_pool2d(maps, kernel, stride), F.max_pool2d(shifted, kernel, stride)
    return float((p - q).norm() / p.norm())


def dropout_demo(p: float = 0.5, width: int = 4096, samples: int = 2000, seed: int = 0) -> dict[str, float]:
    """Dropout as the paper uses it after FC6 and FC7 (Sec. 4.2), measured on one random layer input.

    PyTorch's ``nn.Dropout`` zeroes each unit with probability ``p`` and scales the survivors by
    ``1 / (1 - p)`` during training, so that nothing changes at test time; the paper instead keeps the
    training outputs as they are and multiplies by ``1 - p`` = 0.5 at test time. Both give test-time
    outputs equal to the training-time expectation; this measures it. Returns the fraction of units
    zeroed, the relative error between the mean of ``samples`` training-mode outputs of a linear layer
    after dropout and its eval-mode output, and how far two training-mode passes differ (each pass is
    a different "thinned" network).
    """
    gen = torch.Generator().manual_seed(seed)
    h = torch.rand(width, generator=gen)  # ReLU outputs are non-negative
    w = torch.randn(10, width, generator=gen) / math.sqrt(width)
    drop = nn.Dropout(p)
    torch.manual_seed(seed)
    masks = torch.stack([drop(h) for _ in range(samples)])  # training mode (a fresh module trains)
    zeroed = float((masks == 0).float().mean())
    train_out = masks @ w.T
    drop.eval()
    test_out = w @ drop(h)
    rel = float((train_out.mean(0) - test_out).norm() / test_out.norm())
    spread = float((train_out[0] - train_out[1]).norm() / test_out.norm())
    return {
        "p": p, "zeroed": zeroed, "mean_vs_eval_rel_error": rel, "two_passes_rel_difference": spread,
    }  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# The reference implementation's pitfall: torchvision's AlexNet is not the 2012 network


def torchvision_alexnet() -> dict[str, Any]:
    """torchvision's ``alexnet(weights=None)`` beside the library's, both built on the meta device:
    parameters, the convolutions' widths and groups, and how many LRN layers each has. torchvision
    follows Krizhevsky's 2014 "One weird trick" single-tower variant, not the 2012 paper."""
    import torchvision.models as tvm

    with torch.device("meta"):
        tv = tvm.alexnet(weights=None)
        ours = A.alexnet()
    from ecg_lib.counting import count_params

    def convs(model: nn.Module) -> list[nn.Conv2d]:
        return [m for m in model.modules() if isinstance(m, nn.Conv2d)]

    return {
        "tv_params": count_params(tv),
        "paper_params": count_params(ours),
        "single_tower_params": count_params(_meta_alexnet(False)),
        "tv_widths": [c.out_channels for c in convs(tv)],
        "paper_widths": [c.out_channels for c in convs(ours)],
        "tv_groups": [c.groups for c in convs(tv)],
        "paper_groups": [c.groups for c in convs(ours)],
        "tv_lrn": sum(isinstance(m, nn.LocalResponseNorm) for m in tv.modules()),
        "paper_lrn": sum(isinstance(m, nn.LocalResponseNorm) for m in ours.modules()),
        "tv_conv1_padding": convs(tv)[0].padding[0],
        "paper_conv1_padding": convs(ours)[0].padding[0],
    }
