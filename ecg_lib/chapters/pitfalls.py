"""One "pitfalls of the reference implementation" box per chapter, written from measurements.

Each function takes what the chapter's experiment module measured (``torchvision_alexnet()``,
``torchvision_googlenet()``, ``torchvision_resnet50()``, ``torchvision_vgg_head()``,
``pooling_rounding()``) and returns a MyST ``warning`` admonition; every number in it comes from that
measurement. Display it with ``common.display_markdown``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ecg_lib.chapters.myst import admonition

__all__ = ["alexnet_box", "googlenet_box", "nin_box", "resnet_box", "vgg_box"]


def _box(title: str, items: Sequence[str]) -> str:
    return admonition(title, "\n".join(f"- {item}" for item in items))


def _list(values: Sequence[int]) -> str:
    return "-".join(str(v) for v in values)


def alexnet_box(m: Mapping[str, Any]) -> str:
    """torchvision's AlexNet against the paper's (``experiments.alexnet.torchvision_alexnet()``)."""
    return _box("Pitfall: torchvision's `alexnet` is not the 2012 network", [
        f"`torchvision.models.alexnet(weights=None)` has **{m['tv_params']:,}** parameters; the paper's "
        f"two-tower network, as built here, {m['paper_params']:,} (one tower of the paper's widths: "
        f"{m['single_tower_params']:,}). torchvision documents its model as the architecture of "
        "Krizhevsky's 2014 report *One weird trick for parallelizing convolutional neural networks* "
        "(arXiv:1404.5997), not the 2012 paper.",
        f"Convolution widths {_list(m['tv_widths'])} against the paper's {_list(m['paper_widths'])}; "
        f"groups {_list(m['tv_groups'])} against {_list(m['paper_groups'])} (no two-GPU split); "
        f"{m['tv_lrn']} response-normalisation layers against {m['paper_lrn']}.",
        f"conv1 is padded by {m['tv_conv1_padding']} pixels (the paper's layer: {m['paper_conv1_padding']}), "
        "which is how torchvision's 224×224 input reaches 55×55 maps; the paper's layer needs 227.",
        "Numbers quoted from torchvision's model (parameters, pretrained accuracy) describe that variant.",
    ])  # fmt: skip


def googlenet_box(m: Mapping[str, Any]) -> str:
    """torchvision's GoogLeNet against the paper's (``experiments.googlenet.torchvision_googlenet()``)."""
    aux = "with" if m["tv_default_has_aux"] else "without"
    return _box("Pitfall: torchvision's `googlenet` differs from Table 1", [
        f"The branch Table 1 calls \"5×5\" is a **{m['tv_5x5_kernel']}×{m['tv_5x5_kernel']}** convolution in "
        f"torchvision (here: {m['paper_5x5_kernel']}×{m['paper_5x5_kernel']}); torchvision's source calls "
        "it a known bug (issue pytorch/vision#906).",
        f"`googlenet(weights=None)` builds the network {aux} the two auxiliary classifiers: "
        f"**{m['tv_params_aux'] / 1e6:.1f} M** parameters ({m['tv_params'] / 1e6:.1f} M without them; "
        f"the library's Table 1 network: {m['paper_params'] / 1e6:.1f} M, "
        f"{m['paper_params_aux'] / 1e6:.1f} M with its auxiliary heads).",
        f"Built that way it has {m['tv_batchnorm_aux']} batch-normalisation layers "
        f"({m['tv_batchnorm']} without the auxiliary classifiers); the 2014 network has "
        f"{m['paper_batchnorm']} (batch normalisation was published in 2015).",
    ])  # fmt: skip


def resnet_box(m: Mapping[str, Any]) -> str:
    """torchvision's ResNet-50 against the paper's (``experiments.resnet.torchvision_resnet50()``)."""
    names = ("first 1×1", "3×3", "last 1×1")
    tv = names[m["tv_strides"].index(2)]
    paper = names[m["paper_strides"].index(2)]
    same = "the same" if m["tv_params"] == m["paper_params"] else "different"
    return _box("Pitfall: torchvision's `resnet50` is \"ResNet v1.5\"", [
        f"In the first block of conv3_x, torchvision puts the stride 2 on the **{tv}** convolution "
        f"(strides {_list(m['tv_strides'])}); the paper's released models on the {paper} "
        f"(strides {_list(m['paper_strides'])}).",
        f"Parameters are {same} ({m['tv_params']:,}), but the cost is not: {m['tv_macs'] / 1e9:.2f} G "
        f"multiply-adds against {m['paper_macs'] / 1e9:.2f} G at 224×224 (counted in section 5).",
        "Accuracies of torchvision's ResNet-50 are those of v1.5 trained with its own recipe, not Table 3/4.",
    ])  # fmt: skip


def vgg_box(m: Mapping[str, Any]) -> str:
    """torchvision's VGG head (``experiments.vgg.torchvision_vgg_head()``)."""
    c, h, w = m["conv_map"]
    cells = m["pooled"][1] * m["pooled"][2]
    n = m["distinct_positions"]
    copies = f"one value copied {cells} times" if n == 1 else f"{n} distinct values in {cells} positions"
    same = "equal" if m["tv_params"] == m["paper_params"] else "not equal"
    return _box("Pitfall: torchvision's VGG accepts any image size, silently", [
        f"torchvision puts an `{m['tv_pool']}` to 7×7 between the last pool and FC6. On a "
        f"{m['side']}×{m['side']} image the convolutions end in a {c}×{h}×{w} map, which the pool copies "
        f"into {'×'.join(map(str, m['pooled']))}: of the {m['fc6_inputs']:,} numbers FC6 reads, each "
        f"channel holds {copies}. "
        "The network runs and trains, but its head is not the paper's 7×7×512 → 4096 layer on real 7×7 maps.",
        f"The library's VGG refuses the size instead: \"{m['ours_refuses']}\". The paper evaluates other "
        "sizes densely, by turning the FC layers into convolutions (Sec. 3.2).",
        f"Parameter counts are {same} ({m['tv_params']:,} for configuration A); torchvision has "
        f"{'a' if m['tv_lrn_variant'] else 'no'} A-LRN configuration, and its `*_bn` models add batch "
        "normalisation, which the paper does not have.",
    ])  # fmt: skip


def nin_box(m: Mapping[str, Any]) -> str:
    """Porting the released Caffe NIN (``experiments.nin.pooling_rounding()``)."""
    return _box("Pitfall: there is no torchvision NIN, and ports round the pooling differently", [
        ("torchvision ships no Network in Network (`torchvision.models.list_models()` has no `nin*` "
         "entry), so every PyTorch NIN is a port of the authors' Caffe model, and ports differ in one "
         "detail that changes every map size." if not m["torchvision_nin"] else
         f"torchvision lists {', '.join(m['torchvision_nin'])}; check it against the Caffe model below."),
        f"Caffe rounds the 3×3/2 pooling windows up: {' → '.join(map(str, m['caffe_sides']))} pixels, so "
        f"global average pooling averages {m['caffe_cells']} cells per class map (the released model's "
        f"fixed {m['caffe_map']}×{m['caffe_map']} pool). PyTorch rounds down by default: "
        f"{' → '.join(map(str, m['floor_sides']))}, and {m['floor_cells']} cells.",
        "With GAP the network still runs either way, so the difference goes unnoticed; a fixed-size "
        "average pool or an FC head copied from the Caffe model would not fit.",
    ])  # fmt: skip
