"""The ResNet chapter's counted sections on a page: the bottleneck block, Tables 1 and 6, and the teaching
sections (batch normalisation, the shortcut options of Table 3, the identity term of the gradient, why a
residual function has two layers), as tables and generated paragraphs from
:mod:`ecg_lib.experiments.resnet`'s counts and probes. Re-exported by :mod:`ecg_lib.chapters.resnet`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ecg_lib import papers
from ecg_lib.chapters import common
from ecg_lib.chapters.common import pct
from ecg_lib.experiments import ExperimentResult
from ecg_lib.experiments import resnet as experiment

__all__ = [
    "batchnorm_table",
    "batchnorm_text",
    "bottleneck_table",
    "bottleneck_text",
    "depth_cost_line",
    "identity_table",
    "identity_text",
    "linearity_table",
    "linearity_text",
    "shortcut_options_table",
    "shortcut_options_text",
    "shortcut_run_text",
    "table1_table",
    "table1_text",
    "table6_table",
]


# ----------------------------------------------------------------------------------------------------------
# 5. The bottleneck block and Table 1


def bottleneck_table(blocks: Sequence[experiment.BlockCost]) -> str:
    """The three blocks of :func:`~ecg_lib.experiments.resnet.bottleneck_comparison`."""
    return common.markdown_table(
        ("block", "layers", "weights", "with BN", "MACs at 56×56"),
        [(b.label, b.layers, f"{b.weights:,}", f"{b.params:,}", f"{b.macs / 1e6:.1f} M") for b in blocks],
    )


def _projection_weights(channels: int = 256) -> int:
    # a projection shortcut between the bottleneck's two 256-channel ends: one 1x1 convolution
    return torch.nn.Conv2d(channels, channels, 1, bias=False).weight.numel()


def bottleneck_text(blocks: Sequence[experiment.BlockCost]) -> str:
    """The bottleneck against two 3×3 layers, and what a projection shortcut would add to it."""
    bott, b64, b256 = blocks
    projection = _projection_weights()
    return (
        f"The bottleneck has slightly fewer weights ({bott.weights:,}) than two 3×3 layers at 64 channels "
        f"({b64.weights:,}), although its input and output are four times as wide, and "
        f"{b256.weights / bott.weights:.1f}× fewer than two 3×3 layers at 256 channels ({b256.weights:,}). "
        f"Its shortcut joins the two 256-channel ends: a projection there (a 1×1 convolution, {projection:,} "
        f"weights) would make the block {(bott.weights + projection) / bott.weights:.2f}× as large, which is "
        "the paper's reason for identity shortcuts in the bottleneck nets."
    )


def table1_table(rows: Sequence[experiment.ImageNetRow], vgg: dict[int, int]) -> str:
    """Table 1's nets (and VGG-16/19) counted against the paper's multiply-adds; the block type goes with
    the net's name, so that the table keeps to six columns."""
    body = [(f"ResNet-{r.depth}, {r.block}", f"{r.params / 1e6:.1f} M", f"{r.macs / 1e9:.2f} G",
             f"{r.paper_gmacs} G", f"{100 * r.rel_diff:+.1f}%", f"{r.macs_v15 / 1e9:.2f} G")
            for r in rows]  # fmt: skip
    for depth, macs in vgg.items():
        paper = papers.RESNET_VGG_GMACS[depth]
        body.append((f"VGG-{depth}", "—", f"{macs / 1e9:.2f} G", f"{paper} G (Sec. 4.1)",
                     f"{100 * (macs / (paper * 1e9) - 1):+.1f}%", "—"))  # fmt: skip
    return common.markdown_table(
        ("net, block", "parameters", "MACs (counted)", "paper (Table 1)", "difference",
         "MACs, stride on the 3×3"), body,
    )  # fmt: skip


def _by_depth(rows: Sequence[Any], depth: int) -> Any:
    return next(r for r in rows if r.depth == depth)


def table1_text(rows: Sequence[experiment.ImageNetRow], vgg: dict[int, int]) -> str:
    """ResNet-34 and ResNet-152 against VGG, as the paper compares them."""
    r34, r152 = _by_depth(rows, 34), _by_depth(rows, 152)
    return (
        f"Every count rounds to the paper's figure within 2%. ResNet-34 costs "
        f"{100 * r34.macs / vgg[19]:.1f}% of VGG-19 (the paper says 18%), and ResNet-152, at "
        f"{r152.macs / 1e9:.2f} G, costs less than VGG-16."
    )


# ----------------------------------------------------------------------------------------------------------
# 6. Table 6


def table6_table(t6: Sequence[experiment.CifarRow], archived: ExperimentResult | None) -> str:
    """Table 6's depths: counted parameters, the paper's figures and the archived run's test errors
    (``archived``: the run the chapter quotes, full profile over standard; None: no archive, a dash)."""
    errors = archived.metrics["final_test_error"] if archived is not None else {}
    rows = [(r.depth, f"{r.params:,}", f"{r.paper_params_m} M", f"{100 * r.paper_error:.2f}%",
             pct(errors.get(f"resnet{r.depth}"), 2)) for r in t6]  # fmt: skip
    column = f"{archived.profile} profile (archived)" if archived is not None else "archived run"
    return common.markdown_table(
        ("depth", "parameters (counted)", "paper", "test error, paper", f"test error, {column}"), rows,
    )  # fmt: skip


def depth_cost_line(t6: Sequence[experiment.CifarRow]) -> str:
    """How much larger ResNet-1202 is than ResNet-110."""
    a, b = _by_depth(t6, 1202), _by_depth(t6, 110)
    return (f"ResNet-1202 / ResNet-110: {a.blocks / b.blocks:.1f}x the blocks, "
            f"{a.params / b.params:.1f}x the parameters")


# ----------------------------------------------------------------------------------------------------------
# Teaching sections: batch normalisation, shortcut options (Table 3), the identity term of the gradient,
# and why the residual function has two layers


def batchnorm_table(probes: Sequence[experiment.SignalProbe], every: int = 4) -> str:
    """One column per variant, one row per quantity: the spread of every ``every``-th block's output
    (and the last block's), the gradient norms of the first and last convolutions, and the loss."""
    n = len(probes[0].block_std)
    picks = sorted({*range(0, n, every), n - 1})
    rows = [[f"output std, block {i + 1}", *(f"{p.block_std[i]:.3g}" for p in probes)] for i in picks]
    rows.append(["‖∂L/∂W‖, first conv", *(f"{p.grads[0].norm:.2g}" for p in probes)])
    rows.append(["‖∂L/∂W‖, last conv", *(f"{p.grads[-1].norm:.2g}" for p in probes)])
    rows.append(["loss", *(f"{p.loss:.3f}" for p in probes)])
    return common.markdown_table(["quantity", *(p.label for p in probes)], rows)


def batchnorm_text(probes: Sequence[experiment.SignalProbe]) -> str:
    """What the probe shows, from its numbers."""
    bn, he, default = probes
    n = len(bn.block_std)
    lo, hi = f"{min(bn.block_std):.2f}", f"{max(bn.block_std):.2f}"
    spread = f"{lo} in every block" if lo == hi else f"between {lo} and {hi}"
    grad_ratio = bn.grads[0].norm / bn.grads[-1].norm
    return (
        f"With batch normalisation every one of the {n} blocks outputs a signal of about the same spread: "
        f"its standard deviation is {spread}, as the normalisation guarantees. Without it the same "
        f"weights let the signal shrink from {he.block_std[0]:.3g} after the first block to "
        f"{he.block_std[-1]:.2g} after the last, and from PyTorch's default initialisation to "
        f"{default.block_std[-1]:.1e}. What reaches the classifier is then almost nothing: the losses are "
        f"{he.loss:.3f} and {default.loss:.3f}, a uniform guess's ln 10 = 2.303. Note what BN does *not* "
        f"do: at initialisation the gradient of the first "
        f"convolution of the BN net is {grad_ratio:,.0f} times that of the last. BN fixes the forward "
        "signal, not every backward one."
    )


def shortcut_options_table(options: Sequence[experiment.ShortcutOption]) -> str:
    """Table 3's three options at 34 layers, one column each: counted shortcuts and parameters, and the
    paper's errors (transposed, so that it keeps to the text column)."""
    base = options[0].params
    rows = [
        ["identity shortcuts", *(o.identities for o in options)],
        ["zero-padding shortcuts", *(o.zero_pad for o in options)],
        ["projection shortcuts", *(o.projections for o in options)],
        ["parameters", *(f"{o.params:,}" for o in options)],
        ["parameters added to A", *(f"+{o.params - base:,}" for o in options)],
        ["top-1 error (Table 3)", *(pct(o.paper_top1, 2) for o in options)],
        ["top-5 error (Table 3)", *(pct(o.paper_top5, 2) for o in options)],
    ]
    return common.markdown_table(["option", *(o.option for o in options)], rows)


def shortcut_options_text(options: Sequence[experiment.ShortcutOption]) -> str:
    a, b, c = options
    extra = c.projections - b.projections
    return (
        f"B adds {b.params - a.params:,} parameters to A ({100 * (b.params / a.params - 1):.1f}%), all in "
        f"its {b.projections} projections; C adds {c.params - b.params:,} more "
        f"({100 * (c.params / b.params - 1):.1f}%) in {extra} further projections "
        f"({papers.RESNET_TABLE3_EXTRA_PROJECTIONS} in the paper, which calls them \"many\"). "
        f"Table 3's gains are "
        f"{100 * (a.paper_top1 - b.paper_top1):.2f} points of top-1 error from A to B and "
        f"{100 * (b.paper_top1 - c.paper_top1):.2f} from B to C: small against the "
        f"{100 * (papers.RESNET_TABLE3['plain-34'][0] - a.paper_top1):.2f} points between plain-34 and A. "
        "The shortcuts, not their projections, remove the degradation."
    )


def shortcut_run_text(run: experiment.ShortcutRun) -> str:
    diff = run.error_b - run.error_a
    noise = 2 * run.standard_error
    verdict = (
        f"within the noise of {run.n_test:,} test images (two standard errors: ±{100 * noise:.1f} points)"
        if abs(diff) <= noise
        else f"larger than two standard errors (±{100 * noise:.1f} points) on {run.n_test:,} test images"
    )
    return (
        f"{run.net} with option A: {pct(run.error_a)} test error; with option B "
        f"({run.params_b - run.params_a:,} more parameters, trained in {run.seconds_b:.0f} s): "
        f"{pct(run.error_b)}. The difference, {100 * diff:+.1f} points, is {verdict}."
    )


def identity_table(rows: dict[str, Sequence[experiment.IdentityGrad]]) -> str:
    """Two tables with one column per network/composition: cos(g_l, g_L) per block, then
    ||g_l|| / ||g_L|| per block (one table of both would be seven columns wide)."""
    labels = list(rows)
    blocks = [r.block for r in rows[labels[0]]]

    def table(title: str, value: Any) -> str:
        body = [[name, *(value(rows[k][i]) for k in labels)] for i, name in enumerate(blocks)]
        return f"{title}\n\n" + common.markdown_table(["block", *labels], body)

    return "\n\n".join([
        table("**Direction**: cos(g_l, g_L) at the input of each block.", lambda r: f"{r.cosine:.2f}"),
        table("**Size**: ‖g_l‖ / ‖g_L‖ at the input of each block.", lambda r: f"{r.ratio:.2f}"),
    ])  # fmt: skip


def identity_text(rows: dict[str, Sequence[experiment.IdentityGrad]]) -> str:
    plain, built, ident = (rows[k] for k in rows)
    top = max(abs(r.cosine) for r in plain)
    return (
        f"In the plain net the gradient at a block's input is unrelated to the gradient at the top of the "
        f"stage (|cos| at most {top:.2f}), and its size changes by a factor of {plain[0].ratio:.1f} over "
        f"{len(plain)} blocks. In the residual net, composed as pure identities, the cosine is "
        f"{ident[-1].cosine:.2f} one block below the top and still {ident[0].cosine:.2f} {len(ident)} blocks "
        f"below: Eq. 5's identity term carries ∂E/∂x_L down unchanged, and what the residual functions add "
        f"on top grows block by block. As built (ReLU after the addition) the cosines are "
        f"{built[-1].cosine:.2f} to {built[0].cosine:.2f}: the ReLU on the path removes part of the "
        "identity term, which is why He et al. (2016b) move it into the residual branch."
    )


def _share(value: float) -> str:
    """A variance share in percent; below 1e-12 it is rounding error, shown as 0."""
    return "0% (rounding)" if value < 1e-12 else f"{100 * value:.3g}%"


def linearity_table(rows: Sequence[experiment.BranchLinearity]) -> str:
    body = [
        [f"{r.layers} layer{'s' if r.layers > 1 else ''}", _share(r.branch_unexplained),
         _share(r.sum_unexplained),
         "—" if r.plain_difference is None else f"{r.plain_difference:.1e}"]
        for r in rows
    ]  # fmt: skip
    header = ["residual branch", "F(x) not affine", "x + F(x) not affine",
              "block vs. one plain layer (max diff)"]  # fmt: skip
    return common.markdown_table(header, body)


def linearity_text(rows: Sequence[experiment.BranchLinearity]) -> str:
    one, two = rows
    return (
        f"With one layer, the best affine map of x leaves {_share(one.sum_unexplained)} of x + F(x): the "
        f"block is ReLU(W′x + b), exactly one plain convolution with the weights W + I (largest difference "
        f"{one.plain_difference:.0e}, rounding). The shortcut only reparametrises the layer. With two layers "
        f"{100 * two.branch_unexplained:.0f}% of F(x) is beyond any affine map, and the block computes "
        "something no single layer can."
    )
