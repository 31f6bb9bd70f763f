"""The VGG chapter's pitfall box: torchvision's VGG head against the paper's (an adaptive pool lets a small
image reach FC6). Re-exported by :mod:`ecg_lib.experiments.vgg`.
"""

from __future__ import annotations

from typing import Any

import torch

from ecg_lib.counting import count_params
from ecg_lib.models import vgg as V

__all__ = ["torchvision_vgg_head"]


def torchvision_vgg_head(side: int = 32) -> dict[str, Any]:
    """torchvision's ``vgg11(weights=None)`` (configuration A) on a ``side`` x ``side`` image: its
    adaptive 7x7 average pool sits between the convolutions and FC6, so a small image still reaches
    the classifier; the pooled map is the last conv map copied. Measured on the convolutions (random
    weights) and the pool; the parameter counts on the meta device. The library's VGG refuses the size."""
    import torchvision.models as tvm

    with torch.device("meta"):
        tv_meta = tvm.vgg11(weights=None)
        ours = V.vgg("A")
    from torchvision.models import vgg as tv_vgg

    torch.manual_seed(0)
    features = tv_vgg.make_layers(tv_vgg.cfgs["A"])  # vgg11's convolutions only
    with torch.no_grad():
        conv_map = features(torch.randn(1, 3, side, side))
        pooled = type(tv_meta.avgpool)(tv_meta.avgpool.output_size)(conv_map)  # its pool, on the CPU
    distinct = pooled.flatten(2).unique(dim=2).shape[-1]  # distinct 7x7 positions per channel vector
    try:
        ours(torch.zeros(1, 3, side, side, device="meta"))
        refused = ""
    except ValueError as exc:
        refused = str(exc).split(";")[0]
    return {
        "side": side,
        "tv_pool": type(tv_meta.avgpool).__name__,
        "conv_map": list(conv_map.shape[1:]),
        "pooled": list(pooled.shape[1:]),
        "distinct_positions": distinct,
        "fc6_inputs": tv_meta.classifier[0].in_features,
        "tv_params": count_params(tv_meta),
        "paper_params": count_params(ours),
        "ours_refuses": refused,
        "tv_lrn_variant": any("lrn" in n for n in tvm.list_models(module=tvm)),
    }
