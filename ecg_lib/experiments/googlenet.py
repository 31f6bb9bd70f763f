"""The GoogLeNet chapter: the cost of Inception modules with and without their 1x1 reductions, the
network's totals against the paper's Table 1, and CIFAR-10 training of the CIFAR-sized GoogLeNet.

Every count here comes from modules built by :mod:`ecg_lib.models.googlenet` and counted by
:mod:`ecg_lib.counting` on the meta device (shapes only, so counting is instant and allocates nothing).
Units as in the paper: Table 1's ``params`` column counts weights without biases in units of 1024
(conv2: 64 x 64 + 9 x 64 x 192 = 114,688 = 112 x 1024), its ``ops`` column multiply-adds (MACs) in
millions. :class:`Cost` keeps weights, parameters (weights and biases) and MACs apart.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch
from torch import nn

from ecg_lib import papers
from ecg_lib.counting import count_macs, count_params
from ecg_lib.data import CIFAR10Data, load_cifar10
from ecg_lib.experiments import ExperimentResult, seeded
from ecg_lib.models import get_model, model_spec
from ecg_lib.models import googlenet as G
from ecg_lib.profiles import check_profile, select
from ecg_lib.train import NonFiniteLossError, RunContext, TrainConfig, fit, run_info

__all__ = [
    "BRANCHES",
    "EXPERIMENTS",
    "SETTINGS",
    "BranchSaving",
    "Cost",
    "ModuleSaving",
    "NetworkFacts",
    "Settings",
    "Table1Line",
    "branch_savings",
    "break_even_width",
    "cifar_experiment",
    "counts_experiment",
    "inception_cost",
    "inception_inputs",
    "init_signal_growth",
    "module_cost",
    "naive_stack",
    "network_facts",
    "reduction_sweep",
    "separable_conv1_cost",
    "table1_comparison",
    "table1_row",
]

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


def init_signal_growth(mode: str, width: float = 0.25, batch: int = 8, seed: int = 0) -> dict[str, float]:
    """Standard deviation of each Inception module's output at initialisation, relative to (3a)'s,
    for ``googlenet_cifar`` with its convolutions drawn from He et al.'s normal init in ``mode``
    (``"fan_in"``, the library's choice, or ``"fan_out"``), on a batch of standard-normal images."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out' (got {mode!r}).")
    torch.manual_seed(seed)
    model = G.googlenet_cifar(width=width).eval()
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode=mode, nonlinearity="relu")
    spread: dict[str, float] = {}
    hooks = [
        module.register_forward_hook(lambda _m, _i, out, n=name: spread.__setitem__(n, float(out.std())))
        for name, module in model.inception.items()
    ]
    with torch.no_grad():
        model(torch.randn(batch, 3, 32, 32))
    for h in hooks:
        h.remove()
    return {name: v / spread["3a"] for name, v in spread.items()}


# --------------------------------------------------------------------------------------------------------
# Experiments: the counts (no training) and CIFAR-10 training of the CIFAR-sized GoogLeNet


def counts_experiment(*, profile: str) -> ExperimentResult:
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


@dataclass(frozen=True)
class Settings:
    """One profile's CIFAR-10 run of ``googlenet_cifar``.

    ``train``: the :class:`~ecg_lib.train.TrainConfig` of every variant; its ``seed`` also seeds the
    model's initial weights and the choice of the subset, and its ``max_time_s`` is the training-time
    budget per variant (a run stops after the epoch that reaches it). ``variants``: ``"aux"`` trains
    with the two auxiliary classifiers, their losses weighted by ``aux_weight`` (the paper's 0.3,
    Sec. 5); ``"no_aux"`` without them. Both are evaluated on the main classifier only.
    """

    train: TrainConfig
    width: float
    n_train_per_class: int | None  # None: all 5,000 per class
    n_test_per_class: int | None  # None: all 1,000 per class
    variants: tuple[str, ...] = ("aux",)
    aux_weight: float = G.AUX_LOSS_WEIGHT

    def __post_init__(self) -> None:
        unknown = [v for v in self.variants if v not in ("aux", "no_aux")]
        if unknown:
            raise ValueError(f"unknown variant(s) {', '.join(map(repr, unknown))}: use 'aux' or 'no_aux'.")

    @property
    def seed(self) -> int:
        return self.train.seed

    def to_dict(self) -> dict[str, Any]:
        """JSON-able record of the settings (stored in the result's metrics)."""
        return {"width": self.width, "n_train_per_class": self.n_train_per_class,
                "n_test_per_class": self.n_test_per_class, "variants": list(self.variants),
                "aux_weight": self.aux_weight, "train": self.train.to_dict()}  # fmt: skip


# Quick: a quarter of the widths (24.8M instead of 392M multiply-adds per image), 4,000 training images
# and 1,000 test images, 6 short epochs (about 375 steps): the whole chapter in 4 minutes on 2 CPU
# cores. Without batch normalisation this network sits near chance for its first ~100 steps, so fewer
# steps would show nothing. The time budget guards slower machines; short epochs let it stop close to
# the budget. Full: full width, all of CIFAR-10, with and without the auxiliary classifiers. Both: SGD
# with momentum 0.9 and weight decay 5e-4, warmup-cosine schedule.
SETTINGS: dict[str, Settings] = {
    "quick": Settings(
        train=TrainConfig(epochs=6, batch_size=64, lr=0.05, weight_decay=5e-4, max_time_s=120, seed=0,
                          quiet=True),
        width=0.25, n_train_per_class=400, n_test_per_class=100,
    ),
    # Standard: half the widths (about a quarter of the cost) on all of CIFAR-10, with and without the
    # auxiliary classifiers, 4 epochs, no time budget: about 240 s per epoch on one core of the 2-core CPU,
    # so about half an hour for both.
    "standard": Settings(
        train=TrainConfig(epochs=4, batch_size=128, lr=0.05, weight_decay=5e-4, seed=0, quiet=True),
        width=0.5, n_train_per_class=None, n_test_per_class=None, variants=("aux", "no_aux"),
    ),
    "full": Settings(
        train=TrainConfig(epochs=40, batch_size=128, lr=0.05, weight_decay=5e-4, seed=0, quiet=True),
        width=1.0, n_train_per_class=None, n_test_per_class=None, variants=("aux", "no_aux"),
    ),
}  # fmt: skip

#: How the standard-profile experiment departs from the paper, and why (printed under the archived run).
STANDARD_DEPARTURES: dict[str, str] = {
    "train": (
        "The paper has no CIFAR-10 experiment: it trains on ImageNet at 224x224 with asynchronous SGD, "
        "momentum 0.9 and the rate lowered by 4% every 8 epochs (Sec. 6), adding the auxiliary "
        "classifiers' losses with weight 0.3 (Sec. 5). Here the book's CIFAR-sized GoogLeNet (the nine "
        "inception modules after a stem for 32x32 inputs) at half the widths, on all of CIFAR-10 for 4 "
        "epochs of SGD (lr 0.05, weight decay 5e-4), with the auxiliary heads at weight 0.3 and without "
        "them, two seeds each: to see whether the network trains and to measure the heads' effect on a "
        "short run. The paper adds the heads to strengthen the gradient that reaches the lower layers "
        "and as a regulariser (Sec. 5)."
    ),
}


def cifar_experiment(
    data: CIFAR10Data | None = None, *, profile: str, settings: Settings | None = None,
    context: RunContext | None = None,
) -> ExperimentResult:
    """Train ``googlenet_cifar`` on CIFAR-10 with ``settings`` (default ``SETTINGS[profile]``); test
    error of every variant. ``profile``: the resolved profile, recorded in the result.

    The paper trains GoogLeNet with asynchronous SGD, momentum 0.9 and a learning rate cut by 4% every 8
    epochs on ImageNet; here it is synchronous SGD with momentum 0.9, weight decay and the library's
    warmup-cosine schedule, which reaches a usable network in the few epochs a CPU can afford.
    """
    check_profile(profile)
    s = select(SETTINGS, profile) if settings is None else settings
    data = data if data is not None else load_cifar10()
    if s.n_train_per_class is not None or s.n_test_per_class is not None:
        data = data.subset(s.n_train_per_class, s.n_test_per_class, seed=s.seed)
    histories = {}
    for variant in s.variants:
        aux = variant == "aux"
        torch.manual_seed(s.seed)
        model = get_model("googlenet_cifar", width=s.width, aux_logits=aux)
        cfg = replace(s.train, aux_weight=s.aux_weight if aux else None)
        try:
            histories[variant] = fit(model, data, cfg, profile=profile, context=context)
        except NonFiniteLossError as exc:  # keep the curve up to the divergence; its test error is None
            histories[variant] = exc.history
    inference = _meta(get_model, "googlenet_cifar", width=s.width)
    metrics = {
        "settings": s.to_dict(),
        "test_error": {
            v: None if h.stopped == "non_finite" else h.final_test_error for v, h in histories.items()
        },
        "stopped": {v: h.stopped for v, h in histories.items()},
        "params": count_params(inference),
        "macs": count_macs(inference, (3, 32, 32)),
        "n_train": data.n_train,
        "n_test": data.n_test,
    }
    return ExperimentResult("train", profile, histories=histories, metrics=metrics,
                            run_info=run_info(data, profile=profile))  # fmt: skip


# train_seed1: the second seed of the aux/no-aux difference (issue 13: at least 2 seeds per difference)
EXPERIMENTS = {"counts": counts_experiment, "train": cifar_experiment,
               "train_seed1": seeded(cifar_experiment, SETTINGS, 1)}  # fmt: skip


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
