"""The ResNet chapter's teaching probes, each a measurement on a net at initialisation or on a small
module: batch normalisation and the forward signal, option A against option B trained on CIFAR-10, the
identity term of the gradient (He et al., 2016b, Eq. 5) and why a residual function has two layers.
Re-exported by :mod:`ecg_lib.experiments.resnet`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ecg_lib.counting import count_params
from ecg_lib.experiments.lesions import block_inputs, head
from ecg_lib.experiments.resnet_depth import DepthRun, LayerGrad, gradient_norms, initial_model
from ecg_lib.models import get_model
from ecg_lib.models import resnet as R
from ecg_lib.models._common import init_weights
from ecg_lib.train import fit

__all__ = [
    "BranchLinearity",
    "IdentityGrad",
    "ShortcutRun",
    "SignalProbe",
    "batchnorm_probe",
    "branch_linearity",
    "identity_gradient",
    "shortcut_run",
    "signal_probe",
    "without_batchnorm",
]


def without_batchnorm(model: nn.Module) -> nn.Module:
    """A deep copy of ``model`` with every ``BatchNorm2d`` replaced by the identity (same weights
    otherwise): the plain net as it would be without batch normalisation."""
    out = copy.deepcopy(model)
    for module in list(out.modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                setattr(module, child_name, nn.Identity())
    return out


@dataclass(frozen=True)
class SignalProbe:
    """One net at initialisation on one batch: the spread of every block's output and the gradient
    norms of its convolutions (:func:`gradient_norms`), and the loss."""

    label: str
    block_std: list[float]  # standard deviation of each block's output, in block order
    grads: list[LayerGrad]
    loss: float


def signal_probe(model: R.ResNet, x: Tensor, y: Tensor, label: str) -> SignalProbe:
    """Forward ``x`` through ``model`` in training mode (batch statistics, as in training), recording each
    block's output spread; then :func:`gradient_norms` on the same batch. ``model`` is left unchanged."""
    probe = copy.deepcopy(model).train()
    with torch.no_grad():
        inputs, h = block_inputs(probe, x)
        stds = [float(t.std()) for t in [*inputs[1:], h]]
        loss = float(F.cross_entropy(head(probe, h), y))
    return SignalProbe(label, stds, gradient_norms(model, x, y), loss)


def batchnorm_probe(x: Tensor, y: Tensor, *, depth: int = 56, seed: int = 0) -> list[SignalProbe]:
    """The plain net of ``depth`` layers at initialisation, three ways: as the paper builds it (BN after
    every convolution, He et al. 2015 initialisation), the same weights without BN, and without BN
    from PyTorch's default initialisation (uniform, variance 1/(3 fan-in)). ``x``: a normalised batch."""
    with_bn = initial_model(f"plain{depth}", seed)
    torch.manual_seed(seed)
    default_init = without_batchnorm(get_model(f"plain{depth}", init="default"))
    return [
        signal_probe(with_bn, x, y, "BN, He init (the paper)"),
        signal_probe(without_batchnorm(with_bn), x, y, "no BN, He init"),
        signal_probe(default_init, x, y, "no BN, PyTorch default init"),
    ]


@dataclass(frozen=True)
class ShortcutRun:
    """Option A against option B on CIFAR-10: the same net, data, schedule and initial weights (except
    the projections, which option A does not have)."""

    net: str
    n_test: int
    error_a: float
    error_b: float
    params_a: int
    params_b: int
    seconds_b: float

    @property
    def standard_error(self) -> float:
        """Standard error of the difference of two test errors on ``n_test`` images (binomial, both runs
        treated as independent samples of the same size)."""
        e = (self.error_a + self.error_b) / 2
        return math.sqrt(2 * e * (1 - e) / self.n_test)


def shortcut_run(run: DepthRun, net: str = "resnet20") -> ShortcutRun:
    """Train ``net`` with projection shortcuts (option B) exactly as ``run`` trained it with option A
    (same subset, schedule and seed; the layers both have start from the same weights) and compare the
    test errors. ``run`` must already have trained ``net``."""
    if net not in run.result.histories:
        raise ValueError(f"train {net} first: run.train({net!r}).")
    a = initial_model(net, run.settings.seed)
    torch.manual_seed(run.settings.seed)
    b = get_model(net, shortcut="B")
    missing, unexpected = b.load_state_dict(a.state_dict(), strict=False)
    assert not unexpected and all(".shortcut." in k for k in missing)  # only the projections are new
    history = fit(b, run.data, run.settings.config_for(net), profile=run.profile, context=run.context)
    return ShortcutRun(net, run.data.n_test, run.result.histories[net].final_test_error,
                       history.final_test_error, count_params(a), count_params(b),
                       round(history.train_time_s[-1], 1))  # fmt: skip


@dataclass(frozen=True)
class IdentityGrad:
    """He et al. (2016b), Eq. 5, measured at the input of one block of a stage: the loss gradient there,
    g_l, against the gradient g_L at the stage's output."""

    block: str
    ratio: float  # ||g_l|| / ||g_L||
    cosine: float  # cos(g_l, g_L): 1 when g_l is g_L plus a small term, 0 when unrelated
    rest: float  # ||g_l - g_L|| / ||g_L||: the size of the term Eq. 5 adds to the identity


def identity_gradient(model: R.ResNet, x: Tensor, y: Tensor, *, stage: int = 3,
                      compose: str = "as built") -> list[IdentityGrad]:  # fmt: skip
    """Measure Eq. 5 of He et al. (2016b) on the shape-keeping blocks of ``stage`` (training mode, on a
    copy). ``compose="as built"`` runs the blocks as the network does (ReLU after the addition, the
    2016a design); ``"identity"`` runs those blocks as x + F(x), the pure identity path of 2016b's
    Eq. 3, with the same weights. A plain net has no shortcut; it is measured as built."""
    if compose not in ("as built", "identity"):
        raise ValueError(f"compose must be 'as built' or 'identity' (got {compose!r}).")
    probe = copy.deepcopy(model).train()
    probe.zero_grad(set_to_none=True)
    h = probe.stem(x)
    kept: list[tuple[str, Tensor]] = []
    for block in probe.blocks:
        in_stage = block.stage == stage and not block.downsamples
        if in_stage:
            h.retain_grad()
            kept.append((block.name, h))
        if in_stage and compose == "identity" and block.residual:
            h = h + block.residual_branch(h)
        else:
            h = block(h)
    if not kept:
        raise ValueError(f"stage {stage} has no shape-keeping block.")
    h.retain_grad()
    F.cross_entropy(head(probe, h), y).backward()
    g_top = h.grad.flatten()
    out = []
    for name, t in kept:
        g = t.grad.flatten()
        out.append(IdentityGrad(name, float(g.norm() / g_top.norm()), float(F.cosine_similarity(g, g_top, 0)),
                                float((g - g_top).norm() / g_top.norm())))  # fmt: skip
    return out


@dataclass(frozen=True)
class BranchLinearity:
    """A residual block with a one- or two-layer branch: how far from affine it is."""

    layers: int
    branch_unexplained: float  # variance share of F(x) that the best affine map of x misses
    sum_unexplained: float  # the same for x + F(x), the block before its last ReLU
    plain_difference: float | None  # one layer: max |block(x) - plain layer with weights W + I|


def _residual_branch(channels: int, layers: int) -> nn.Sequential:
    parts: list[nn.Module] = []
    for i in range(layers):
        parts += R._conv_bn(channels, channels, 3)
        if i < layers - 1:
            parts.append(nn.ReLU())
    return nn.Sequential(*parts)


def branch_linearity(*, channels: int = 8, side: int = 6, samples: int = 4096,
                     seed: int = 0) -> list[BranchLinearity]:  # fmt: skip
    """Sec. 3.2 of He et al. (2016): "if F has only a single layer, Eq. (1) is similar to a linear layer:
    y = W1 x + x". Residual branches of one and two 3x3 conv-BN layers (He init, BN in eval mode with
    statistics from the samples) on ``samples`` non-negative inputs (block inputs follow a ReLU); the
    best affine fit (least squares over all C x side x side outputs) measures how non-linear each is.
    For one layer, the whole block is also compared with one plain conv + ReLU whose weights are the
    branch's (BN folded in) plus the identity kernel."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.relu(torch.randn(samples, channels, side, side, generator=gen, dtype=torch.float64))
    design = torch.cat([x.flatten(1), torch.ones(samples, 1, dtype=torch.float64)], 1)

    def unexplained(target: Tensor) -> float:
        t = target.flatten(1)
        coef = torch.linalg.lstsq(design, t).solution
        resid = t - design @ coef
        return float(resid.pow(2).sum() / (t - t.mean(0)).pow(2).sum())

    out = []
    for layers in (1, 2):
        torch.manual_seed(seed)
        branch = _residual_branch(channels, layers).double()
        init_weights(branch, "kaiming")
        for m in branch.modules():  # running statistics from the samples themselves
            if isinstance(m, nn.BatchNorm2d):
                m.momentum = None
        with torch.no_grad():
            branch.train()(x)
            branch.eval()
            f = branch(x)
            diff = None
            if layers == 1:
                conv, bn = branch[0], branch[1]
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                w = conv.weight * scale[:, None, None, None]
                w[:, :, 1, 1] += torch.eye(channels, dtype=torch.float64)  # + x: the identity kernel
                b = bn.bias - bn.running_mean * scale
                plain = torch.relu(F.conv2d(x, w, b, padding=1))
                diff = float((plain - torch.relu(x + f)).abs().max())
        out.append(BranchLinearity(layers, unexplained(f), unexplained(x + f), diff))
    return out

