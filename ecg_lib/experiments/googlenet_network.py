"""The whole GoogLeNet counted: every layer with weights next to the paper's Table 1, the naive stack of
modules without reductions, depth, parameters and multiply-adds against AlexNet's, torchvision's
GoogLeNet beside the paper's, and the chapter's ``counts`` experiment (no training). Per-module costs come
from :mod:`ecg_lib.experiments.googlenet_inception`. Re-exported by :mod:`ecg_lib.experiments.googlenet`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from ecg_lib import papers
from ecg_lib.counting import count_macs, count_params
from ecg_lib.experiments import ExperimentResult, without_data
from ecg_lib.experiments.googlenet_inception import (
    _BRANCH_ATTR,
    Cost,
    _meta,
    _weights,
    branch_savings,
    inception_cost,
    inception_inputs,
    module_cost,
    table1_row,
)
from ecg_lib.models import get_model, model_spec
from ecg_lib.models import googlenet as G
from ecg_lib.profiles import check_profile
from ecg_lib.train import run_info

__all__ = [
    "NetworkFacts", "Table1Line", "counts_experiment", "naive_stack", "network_facts", "separable_conv1_cost",
    "table1_comparison", "torchvision_googlenet",
]  # fmt: skip

@dataclass(frozen=True)
class Table1Line:
    """One layer of Table 1: our count from the built module next to the paper's two columns."""

    name: str
    in_channels: int
    side: int  # output map side of the layer at 224 x 224
    ours: Cost
    naive: Cost | None  # Inception rows only: the same module without reductions (pool proj kept)
    paper_params_k: float
    paper_ops_m: float

    @property
    def params_diff(self) -> float:
        """Paper's params entry relative to ours, minus 1 (negative: the paper's is lower)."""
        return self.paper_params_k / self.ours.params_k - 1

    @property
    def ops_diff(self) -> float:
        return self.paper_ops_m / self.ours.ops_m - 1

    @property
    def paper_self_consistency(self) -> float:
        """The paper's ops entry over what its own params entry implies (params x map area), minus 1.
        Zero when the two columns agree with each other, whatever the channel counts say."""
        return self.paper_ops_m * 1e6 / (self.paper_params_k * 1024 * self.side**2) - 1

    @property
    def params_agree(self) -> bool:
        return _agrees(self.ours.params_k, self.paper_params_k)

    @property
    def ops_agree(self) -> bool:
        return _agrees(self.ours.ops_m, self.paper_ops_m)

    @property
    def note(self) -> str:
        p, o, s = self.params_diff, self.ops_diff, self.paper_self_consistency
        if self.params_agree and self.ops_agree:
            return "agrees (rounded)"
        if self.ops_agree:
            return f"params {p:+.1%}, ops agree: the columns disagree"
        if abs(s) <= 0.02:
            return f"both off ({p:+.1%}, {o:+.1%}), consistently"
        return f"params {p:+.1%}, ops {o:+.1%}"


def _agrees(ours: float, paper: float) -> bool:
    # Table 1 prints whole units (K, M) and truncates as often as it rounds (3a's 159.5K is printed as
    # 159, 4a's 73.6M as 73, the classifier's 1.02M as 1): within one unit or 1% counts as agreement.
    return abs(ours - paper) < 1 or abs(paper / ours - 1) <= 0.01


def table1_comparison() -> list[Table1Line]:
    """Every layer with weights in Table 1 (stem convs, nine Inception rows, linear), counted on the
    ImageNet GoogLeNet, next to the paper's params and ops entries."""
    model = _meta(G.googlenet)
    paper = papers.GOOGLENET_TABLE1
    conv1, conv2a, conv2b = [m for m in model.stem.modules() if isinstance(m, nn.Conv2d)]
    # Table 1's "convolution 3x3/1" row covers the 1x1 reduction (64) and the 3x3 (192).
    conv2 = module_cost(nn.Sequential(conv2a, conv2b), (64, 56, 56))
    lines = [
        Table1Line("conv1", 3, 112, module_cost(conv1, (3, 224, 224)), None, *paper["conv1"]),
        Table1Line("conv2", 64, 56, conv2, None, *paper["conv2"]),
    ]
    for name, (c, s) in inception_inputs(model).items():
        row = table1_row(name)
        naive = inception_cost(row, c, s, reduce=False, pool_proj=True)
        lines.append(Table1Line(name, c, s, inception_cost(row, c, s), naive, *paper[name]))
    # The classifier reads the 1024 x 1 x 1 output of the average pool.
    linear = module_cost(nn.Sequential(nn.Flatten(), model.fc), (1024, 1, 1))
    lines.append(Table1Line("linear", 1024, 1, linear, None, *paper["linear"]))
    return lines


def separable_conv1_cost(multiplier: int = 8) -> Cost:
    """Cost at 224 x 224 of conv1 as a depthwise-separable 7x7/2 convolution: 3 x ``multiplier``
    depthwise 7x7 filters, then a 1x1 convolution to 64 channels. Ioffe & Szegedy (2015) use this
    first layer (depth multiplier 8) in their Inception variant; Chollet (2017) states that Inception
    V1 used one too. It reproduces Table 1's conv1 entries, which a full 7x7x3x64 convolution does not.
    """
    sep = _meta(
        nn.Sequential,
        nn.Conv2d(3, 3 * multiplier, 7, stride=2, padding=3, groups=3),
        nn.Conv2d(3 * multiplier, 64, 1),
    )
    return module_cost(sep, (3, 224, 224))


def naive_stack(pool_proj: bool) -> list[tuple[str, int, int, Cost]]:
    """The nine Inception modules all built without reductions, each fed by the previous one, on the
    ImageNet map sizes: ``(name, in_channels, out_channels, cost)``. Without the pool projection the
    pool branch passes every input channel on, so the width grows from module to module (Sec. 4)."""
    sides = {name: s for name, (_, s) in inception_inputs().items()}
    out, ch = [], G.STEM_CHANNELS[-1]
    for row in G.TABLE1:
        module = _meta(G.Inception, ch, row, reduce=False, pool_proj=pool_proj)
        s = sides[row.name]
        out.append((row.name, ch, module.out_channels, module_cost(module, (ch, s, s))))
        ch = module.out_channels
    return out


@dataclass(frozen=True)
class NetworkFacts:
    """Whole-network numbers of the ImageNet GoogLeNet, measured on the built models."""

    depth: int  # weight layers on the longest input-output path
    depth_with_pools: int
    params: int
    weights: int
    macs: int
    aux_params: tuple[int, int]  # each auxiliary classifier's parameters
    aux_macs: tuple[int, int]
    alexnet_params: int
    alexnet_macs: int
    alexnet_fc_params: int  # AlexNet's three fully connected layers

    @property
    def params_with_aux(self) -> int:
        return self.params + sum(self.aux_params)

    @property
    def alexnet_ratio(self) -> float:
        """AlexNet's parameters over GoogLeNet's (the paper's "12x")."""
        return self.alexnet_params / self.params

    @property
    def params_for_paper_ratio(self) -> float:
        """How many parameters GoogLeNet would need for AlexNet / GoogLeNet to be the paper's 12."""
        return self.alexnet_params / papers.GOOGLENET_PARAM_RATIO


def _path_depth(module: nn.Module, kinds: tuple[type, ...]) -> int:
    """Layers of ``kinds`` on the longest path through ``module``: an Inception module counts its
    deepest branch, any other container the sum of its children."""
    if isinstance(module, kinds):
        return 1
    if isinstance(module, G.Inception):
        return max(_path_depth(getattr(module, a), kinds) for a in _BRANCH_ATTR.values())
    return sum(_path_depth(m, kinds) for m in module.children())


def network_facts() -> NetworkFacts:
    """Depth, parameters, MACs and auxiliary heads of GoogLeNet (224 x 224), and AlexNet's totals."""
    model = _meta(G.googlenet)
    with_aux = _meta(G.googlenet, aux_logits=True)
    alexnet = _meta(get_model, "alexnet")
    main_path = [model.stem, *model.inception.values(), model.fc]
    weight_layers = (nn.Conv2d, nn.Linear)
    depth = sum(_path_depth(m, weight_layers) for m in main_path)
    # Pools on the main path: the stem's two, the two between stages and the final average pool. An
    # Inception module's pool branch is parallel to its convolutions, so it adds no depth.
    pools = sum(isinstance(m, nn.MaxPool2d) for m in model.stem) + 3
    inputs = inception_inputs(model)
    aux_params, aux_macs = [], []
    for head, at in ((with_aux.aux1, "4a"), (with_aux.aux2, "4d")):
        c, s = inputs[at]
        after = model.inception[at].out_channels
        aux_params.append(count_params(head))
        aux_macs.append(count_macs(head, (after, s, s)))
    del c
    return NetworkFacts(
        depth=depth,
        depth_with_pools=depth + pools,
        params=count_params(model),
        weights=_weights(model),
        macs=count_macs(model, (3, 224, 224)),
        aux_params=(aux_params[0], aux_params[1]),
        aux_macs=(aux_macs[0], aux_macs[1]),
        alexnet_params=count_params(alexnet),
        alexnet_macs=count_macs(alexnet, model_spec("alexnet").input_size),
        alexnet_fc_params=sum(count_params(m) for m in alexnet.modules() if isinstance(m, nn.Linear)),
    )


@without_data
def counts_experiment(data: None = None, *, profile: str, settings: None = None,
                      context: Any = None) -> ExperimentResult:
    """The chapter's arithmetic as one result (identical in every profile; ``profile`` is recorded):
    inception (3a) with and without reductions, every Table 1 row, the naive stacks and the
    whole-network facts."""
    check_profile(profile)
    s3a = branch_savings("3a")
    facts = network_facts()
    metrics: dict[str, Any] = {
        "inception_3a": {
            "reduced": asdict(s3a.reduced),
            "naive": asdict(s3a.naive),
            "naive_proj": asdict(s3a.naive_proj),
            "mac_ratio": s3a.ratio("macs"),
            "mac_ratio_proj": s3a.ratio("macs", proj=True),
            "branches": {
                b.branch: {"reduced": asdict(b.reduced), "naive": asdict(b.naive)} for b in s3a.branches
            },
        },
        "table1": [
            {
                "name": line.name,
                "ours": asdict(line.ours),
                "naive": None if line.naive is None else asdict(line.naive),
                "paper_params_k": line.paper_params_k,
                "paper_ops_m": line.paper_ops_m,
                "note": line.note,
            }
            for line in table1_comparison()
        ],
        "naive_stack_macs": {
            "no_pool_proj": sum(c.macs for *_, c in naive_stack(False)),
            "pool_proj": sum(c.macs for *_, c in naive_stack(True)),
        },
        "network": {**asdict(facts), "alexnet_ratio": facts.alexnet_ratio},
    }
    return ExperimentResult("counts", profile, metrics=metrics, run_info=run_info(profile=profile))


# ----------------------------------------------------------------------------------------------------------
# The reference implementation's pitfalls: torchvision's GoogLeNet


def torchvision_googlenet() -> dict[str, Any]:
    """torchvision's ``googlenet(weights=None)`` beside the library's (meta device): the kernel of the
    branch Table 1 calls "5x5" in inception (3a), batch-norm layers, and parameters with and without
    the auxiliary classifiers."""
    import torchvision.models as tvm

    with torch.device("meta"):
        tv_default = tvm.googlenet(weights=None, init_weights=True)  # what a plain call builds
        tv = tvm.googlenet(weights=None, aux_logits=False, init_weights=True)
        ours, ours_aux = G.googlenet(), G.googlenet(aux_logits=True)
    tv_5x5 = [m for m in tv.inception3a.branch3.modules() if isinstance(m, nn.Conv2d)][-1]
    our_5x5 = [m for m in ours.inception["3a"].branch5.modules() if isinstance(m, nn.Conv2d)][-1]
    return {
        "tv_5x5_kernel": tv_5x5.kernel_size[0],
        "paper_5x5_kernel": our_5x5.kernel_size[0],
        "tv_default_has_aux": tv_default.aux1 is not None,
        "tv_params_aux": count_params(tv_default),
        "tv_params": count_params(tv),
        "paper_params_aux": count_params(ours_aux),
        "paper_params": count_params(ours),
        # counted on both builds: the auxiliary heads add two batch-norm layers (their 1x1 convolutions)
        "tv_batchnorm_aux": sum(isinstance(m, nn.BatchNorm2d) for m in tv_default.modules()),
        "tv_batchnorm": sum(isinstance(m, nn.BatchNorm2d) for m in tv.modules()),
        "paper_batchnorm": sum(isinstance(m, nn.BatchNorm2d) for m in ours.modules()),
    }
