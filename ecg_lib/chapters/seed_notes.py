"""The notes this book grew from, where they were wrong or loose: five statements, each quoted (in
translation) in a box on the page where it belongs, next to the figure the library computes and what
the papers say.

Every box is one call in a chapter cell (``common.display_markdown(seed_notes.<name>_box(...))``); the
figures in it are computed from the library's models and counts or taken from :mod:`ecg_lib.papers`
with their source, never typed here. :data:`SEED_NOTES` lists the five statements (for the scoreboard).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecg_lib import papers
from ecg_lib.chapters.myst import admonition

if TYPE_CHECKING:
    from ecg_lib.experiments.googlenet import ModuleSaving

__all__ = [
    "SEED_NOTES",
    "SeedNote",
    "box",
    "depth_1202_box",
    "ensemble_box",
    "lrn_box",
    "reduction_share_box",
    "relu_linearity_box",
]


@dataclass(frozen=True)
class SeedNote:
    """One statement of the notes: where the book confronts it, the words (translated), and what is
    right instead, in one sentence."""

    key: str
    chapter: str  # the page that confronts it (notebooks/<chapter>.md)
    section: str  # the section of that page
    said: str  # the notes' words, in translation
    correction: str


SEED_NOTES: dict[str, SeedNote] = {n.key: n for n in (
    SeedNote("inception_one_third", "googlenet", "2. What the 1×1 reductions save: inception (3a)",
             "the 1×1 reductions of inception (3a) cut the parameters to about one third",
             "the reductions leave about two fifths of the weights, by the notes' own formula or with the "
             "pool projection"),
    SeedNote("resnet1202_same", "resnet", "6. Depth on CIFAR-10: Table 6",
             "the 1202-layer ResNet was about the same as the 110-layer one",
             "it was worse on CIFAR-10 (Table 6), and the ImageNet networks had at most 152 layers"),
    SeedNote("residual_dropout", "resnet", "4. The ensemble view: deleting blocks",
             "a residual network is like dropout, an ensemble regulariser",
             "He et al. introduce shortcuts to ease optimisation and train without dropout; the ensemble "
             "reading is Veit et al.'s analysis of trained networks, not a regulariser"),
    SeedNote("lrn_unbounded", "alexnet", "3. Local response normalisation",
             "LRN is there because ReLU outputs are unbounded, so they must be normalised",
             "the paper says ReLUs need no input normalisation to keep learning, and that LRN still aided "
             "generalisation (Sec. 3.3)"),
    SeedNote("relu_linear", "alexnet", "2. ReLU versus tanh (Figure 1)", "ReLU is a linear activation",
             "ReLU is piecewise linear, not linear: it is neither additive nor odd"),
)}  # fmt: skip


def box(key: str, body: str) -> str:
    """The box of statement ``key``: a MyST admonition titled with the notes' words, holding ``body``
    (the computed figure and what the papers say). The same look on every page."""
    note = SEED_NOTES[key]
    return admonition(f"The notes said: \u201c{note.said}\u201d",
                      f"*Quoted in translation from the notes this book grew from.* {body}",
                      "warning seed-note")


def reduction_share_box(saving: ModuleSaving) -> str:
    """Inception (3a)'s weights with reductions as a share of those without, counted by the library:
    without the pool projection (the notes' formula has none) and with it on both sides."""
    pool = next(b for b in saving.branches if b.branch == "pool").reduced.weights
    shares = [
        ("by the notes' own formula, which has no pool projection", saving.reduced.weights - pool,
         saving.naive.weights),
        ("with the pool projection in both modules", saving.reduced.weights, saving.naive_proj.weights),
    ]  # fmt: skip
    lines = "; ".join(f"{label}, {a:,} / {b:,} = {100 * a / b:.1f}%" for label, a, b in shares)
    values = [a / b for _, a, b in shares]
    if any(abs(v - 1 / 3) < 0.03 for v in values):
        verdict = "about one third, as the notes say"
    else:
        verdict = f"{100 * min(values):.1f} to {100 * max(values):.1f}% of the weights, not one third"
    return box("inception_one_third", (
        f"Counted on the library's modules (weights without biases, as Table 1 counts them), the module "
        f"with its reductions keeps this share of the weights of the module without them: {lines}. "
        f"That is {verdict}. The multiply-adds fall in about the same proportion (section 2's table)."
    ))  # fmt: skip


def depth_1202_box() -> str:
    """ResNet-1202 against ResNet-110 on CIFAR-10 (Table 6), and the deepest ImageNet ResNet (Table 1),
    with the parameters counted on the library's models."""
    import torch

    from ecg_lib.counting import count_params
    from ecg_lib.models import get_model

    r110, r1202 = papers.RESNET_TABLE6[110], papers.RESNET_TABLE6[1202]
    with torch.device("meta"):
        counted = {d: count_params(get_model(f"resnet{d}")) for d in (110, 1202)}
    deepest = max(papers.RESNET_TABLE1_GMACS)
    worse = r1202[1] > r110[1]
    return box("resnet1202_same", (
        f"Table 6 of {{cite}}`he2016deep` gives {100 * r1202[1]:.2f}% CIFAR-10 test error for the "
        f"1202-layer network against {100 * r110[1]:.2f}% for the 110-layer one (best of five runs): "
        f"{'worse' if worse else 'not worse'} by {100 * abs(r1202[1] - r110[1]):.2f} points, although it "
        f"trains to under {100 * papers.RESNET_1202_TRAIN_ERROR_BELOW:g}% training error; the authors "
        "attribute the gap to overfitting a network that "
        f"is too large for the data (Sec. 4.2). The library's models have {counted[1202] / 1e6:.1f} M and "
        f"{counted[110] / 1e6:.1f} M parameters (the paper: {r1202[0]} M and {r110[0]} M). Both are "
        f"CIFAR-10 networks; the deepest ImageNet ResNet of the paper has {deepest} layers (Table 1)."
    ))  # fmt: skip


def ensemble_box() -> str:
    """What He et al. say residual learning is for, and what Veit et al.'s ensemble view claims and
    measures (cited), pointing to this chapter's lesion measurement."""
    return box("residual_dropout", (
        "{cite:t}`he2016deep` introduce the shortcut to ease *optimisation*: the degradation it removes "
        "is a rise of the *training* error with depth, \u201cnot caused by overfitting\u201d (Sec. 1 and "
        "4.1), and they train their networks without dropout (Sec. 3.4 and 4.2). Dropout "
        "{cite}`srivastava2014dropout` is a regulariser applied during training: it drops random units "
        "at every step. The ensemble view is {cite:t}`veit2016residual`'s reading of *trained* residual "
        "networks: unrolled, they are many paths of different lengths, and deleting one block at test time "
        "barely changes the error, as if the paths formed an ensemble; nothing is dropped while training. "
        "The lesion study of this section measures that claim on the networks trained here, and section 7 "
        "on a fully trained ResNet-56."
    ))  # fmt: skip


def lrn_box() -> str:
    """AlexNet Sec. 3.3's own reason for LRN, with its reported gains from :mod:`ecg_lib.papers`, and the
    slope of ReLU against tanh at large inputs, computed."""
    import torch

    x = torch.tensor([1.0, 10.0, 100.0], requires_grad=True)
    relu_slope = torch.autograd.grad(torch.relu(x).sum(), x)[0]
    tanh_slope = torch.autograd.grad(torch.tanh(x).sum(), x)[0]
    slopes = "; ".join(f"x = {v:g}: ReLU {r:g}, tanh {t:.2g}" for v, r, t in
                       zip(x.tolist(), relu_slope.tolist(), tanh_slope.tolist(), strict=True))  # fmt: skip
    gain, cifar = papers.ALEXNET_CLAIMS["lrn_imagenet_gain"], papers.ALEXNET_CLAIMS["lrn_cifar_test_error"]
    return box("lrn_unbounded", (
        "Section 3.3 of {cite}`krizhevsky2012imagenet` says the opposite about the need: \u201cReLUs have "
        "the desirable property that they do not require input normalization to prevent them from "
        "saturating. If at least some training examples produce a positive input to a ReLU, learning will "
        "happen in that neuron. However, we still find that the following local normalization scheme aids "
        f"generalization.\u201d The slope, computed with autograd in float32 ({slopes}), shows what "
        "saturation means: tanh's gradient vanishes for large inputs, ReLU's stays 1. The paper's case for "
        f"LRN is the generalisation it measured: {100 * gain['top1']:.1f} and {100 * gain['top5']:.1f} "
        f"points lower top-1 and top-5 error on ImageNet, and {100 * cifar['without']:.0f}% against "
        f"{100 * cifar['with']:.0f}% CIFAR-10 test error ({gain['source']})."
    ))  # fmt: skip


def relu_linearity_box(a: float = 2.0, b: float = -3.0) -> str:
    """ReLU fails both tests of linearity, computed on ``a`` and ``b``: additivity and oddness."""
    import torch

    ta, tb = torch.tensor(a), torch.tensor(b)
    f = torch.relu
    add_lhs, add_rhs = float(f(ta + tb)), float(f(ta) + f(tb))
    odd_lhs, odd_rhs = float(f(-ta)), float(-f(ta))
    return box("relu_linear", (
        f"A linear function f has f(a + b) = f(a) + f(b) and f(\u2212a) = \u2212f(a). For ReLU, "
        f"computed with `torch.relu` at a = {a:g}, b = {b:g}: f(a + b) = {add_lhs:g} but f(a) + f(b) = "
        f"{add_rhs:g}; f(\u2212a) = {odd_lhs:g} but \u2212f(a) = {odd_rhs:g}. "
        f"{'Both equalities fail' if add_lhs != add_rhs and odd_lhs != odd_rhs else 'An equality holds here'}"
        ": ReLU is *piecewise* linear (the identity above zero, zero below), and that kink is all the "
        "non-linearity a ReLU network has. Stacked linear layers without it would collapse into one linear "
        "map; {cite:t}`krizhevsky2012imagenet` (Sec. 3.1) call it a non-saturating *nonlinearity*."
    ))  # fmt: skip
