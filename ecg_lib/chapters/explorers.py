"""Explorers that compute in the page: sliders and numbers that work in the static book, with no kernel.

An ipywidgets explorer needs a running kernel: in the built book its slider moves and nothing changes.
These explorers are plain HTML with a small inlined JavaScript file (``explorers.js`` beside this
module, no library, no network): every input event recomputes the numbers in the page. How an
explorer is embedded (:class:`Explorer`, the script, sliders and outputs) is
:mod:`ecg_lib.chapters.explorer_html`'s; this module holds each explorer's controls, numbers and text.
A notebook cell ends with one call, e.g. ``vgg_stack_explorer()``; the returned :class:`Explorer` has
``_repr_html_``, so the same output works in the static book, in Jupyter and in Colab.

Formula explorers (the page computes the formula; :mod:`ecg_lib.chapters.explorer_numbers` computes
the same numbers by counting the library's modules, and ``tests/test_explorers.py`` compares the two on
a grid of settings and in a browser):

* :func:`vgg_stack_explorer`: k stacked 3x3 layers against one (2k+1)x(2k+1) layer;
* :func:`inception_explorer`: an Inception module's six filter counts;
* :func:`bottleneck_explorer`: ResNet's bottleneck block against two 3x3 layers;
* :func:`lrn_explorer`: AlexNet's response normalisation over k, n, alpha, beta and the activity.

Precomputed-state explorers (the page only looks up what Python passed in as JSON):

* :func:`lesion_explorer`: tick blocks to delete, read the error (measured, or an estimate, labelled);
* :func:`curves_explorer`: training curves with a profile switch and a hover/slider readout.

Every control carries ``data-control``, every number ``data-output`` (its exact value in ``data-value``),
the root ``data-explorer``; ids are unique per displayed instance, so several explorers share a page.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ecg_lib.chapters.explorer_html import Explorer, Slider, controls, explorer_js, output, table
from ecg_lib.chapters.explorer_numbers import (
    Curve,
    curve_points,
    curves_numbers,
    history_curves,
    inception_inputs,
    inception_numbers,
    lesion_numbers,
    lrn_numbers,
    reference_numbers,
    resnet_block_numbers,
    vgg_stack_numbers,
)
from ecg_lib.models import googlenet as G

__all__ = [
    "Explorer",
    "bottleneck_explorer",
    "curves_explorer",
    "curves_numbers",
    "explorer_js",
    "history_curves",
    "inception_explorer",
    "inception_numbers",
    "lesion_explorer",
    "lesion_explorer_from_study",
    "lesion_numbers",
    "lrn_explorer",
    "lrn_numbers",
    "reference_numbers",
    "resnet_block_numbers",
    "vgg_stack_explorer",
    "vgg_stack_numbers",
]


_COUNTING_NOTE = (
    "Weights: convolution kernels, no biases. Parameters: every trainable parameter ({extra}), as "
    "<code>ecg_lib.counting.count_params</code> counts them. MACs: multiply-accumulates for one image, "
    "as <code>ecg_lib.counting.count_macs</code> counts them (convolutions only; {skipped} are not counted)."
)


# ----------------------------------------------------------------------------------------------------------
# Formula explorers


def vgg_stack_explorer(layers: int = 3, channels: int = 256, side: int = 56) -> Explorer:
    """A stack of ``layers`` 3x3 convolutions against one (2k+1)x(2k+1) convolution with the same receptive
    field, at ``channels`` channels in and out on a ``side`` x ``side`` map (Simonyan & Zisserman,
    2015, Sec. 2.3). Sliders: k (1-5), channels (8-1024), map side (1-224)."""
    params = {"k": int(layers), "channels": int(channels), "side": int(side)}
    n = vgg_stack_numbers(**params)
    sliders = [
        Slider("k", "3x3 layers k", 1, 5, 1, params["k"]),
        Slider("channels", "channels C", 8, 1024, 1, params["channels"]),
        Slider("side", "map side", 1, 224, 1, params["side"]),
    ]
    rows = [
        ("convolution layers", output(n, "stack.layers", "int"), output(n, "single.layers", "int")),
        ("kernel side", output(n, "stack.kernel", "int"), output(n, "single.kernel", "int")),
        ("receptive field (side, pixels)", output(n, "stack.rf", "int"), output(n, "single.rf", "int")),
        ("weights", output(n, "stack.weights"), output(n, "single.weights")),
        ("weights / C²", output(n, "stack.per_c2", "int"), output(n, "single.per_c2", "int")),
        ("parameters (with biases)", output(n, "stack.params"), output(n, "single.params")),
        ("MACs per image", output(n, "stack.macs"), output(n, "single.macs")),
        ("non-linearities (ReLU)", output(n, "stack.relus", "int"), output(n, "single.relus", "int")),
    ]
    body = (
        controls(sliders)
        + table(("same padding, stride 1", "stack of 3x3", "one large filter"), rows)
        + f'<p class="ecgx-readout">The stack has {output(n, "weight_ratio", "ratio", "b")} the weights of '
        "the single filter, and one ReLU per layer instead of one in all.</p>"
    )
    note = _COUNTING_NOTE.format(extra="here the biases", skipped="ReLU and bias additions")
    return Explorer("vgg-stack", "VGG: a stack of 3x3 layers against one large filter", body, note, None,
                    params, n)  # fmt: skip


_INCEPTION_LABELS = {
    "n1x1": "#1x1",
    "n3x3red": "#3x3 reduce",
    "n3x3": "#3x3",
    "n5x5red": "#5x5 reduce",
    "n5x5": "#5x5",
    "pool_proj": "pool proj",
}


def inception_explorer(row: str | G.InceptionRow = "3a") -> Explorer:
    """An Inception module of Table 1 (Szegedy et al., 2015) with sliders for its six filter counts and
    for its input (channels, map side; by default its place in the ImageNet GoogLeNet: 192 x 28 x 28 for
    3a): weights, parameters and MACs per branch and in total, and the share of the naive module."""
    if isinstance(row, str):
        rows = {r.name: r for r in G.TABLE1}
        if row not in rows:
            raise ValueError(f"No Inception row {row!r} in Table 1; rows are {', '.join(rows)}.")
        row = rows[row]
    in_channels, side = inception_inputs().get(row.name, (192, 28))
    params = {"in_channels": in_channels, "side": side} | {f: getattr(row, f) for f in _INCEPTION_LABELS}
    n = inception_numbers(**params)
    sliders = [Slider("in_channels", "input channels", 8, 1024, 1, in_channels),
               Slider("side", "map side", 1, 56, 1, side)]  # fmt: skip
    sliders += [Slider(f, label, 1, 512, 1, params[f]) for f, label in _INCEPTION_LABELS.items()]
    labels = {
        "1x1": "1x1",
        "3x3": "1x1 reduce → 3x3",
        "5x5": "1x1 reduce → 5x5",
        "pool": "3x3 max pool → 1x1 proj",
    }
    rows_html = [
        (label, *(output(n, f"reduced.{b}.{m}", "int") for m in ("weights", "params", "macs")),
         *(output(n, f"naive.{b}.{m}", "int") for m in ("weights", "macs")))
        for b, label in labels.items()
    ]  # fmt: skip
    rows_html.append(
        ("<b>module</b>",
         *(output(n, f"reduced.total.{m}", "int", "b") for m in ("weights", "params", "macs")),
         *(output(n, f"naive.total.{m}", "int", "b") for m in ("weights", "macs")))
    )  # fmt: skip
    header = ("branch", "weights", "parameters", "MACs", "naive: weights", "naive: MACs")
    body = (
        controls(sliders)
        + table(header, rows_html)
        # every branch runs on the same map, so the share of MACs always equals the share of weights
        + '<p class="ecgx-readout">With the 1x1 reductions the module keeps '
        f"{output(n, 'share.weights', 'pct', 'b')} of the naive module's weights, and the same share of "
        "its MACs, since every branch works on the same map. Against a naive module that keeps the pool "
        f"projection, it keeps {output(n, 'share_proj.macs', 'pct', 'b')} of the MACs. The module outputs "
        f"{output(n, 'reduced.out_channels', 'int', 'b')} channels; the naive module outputs "
        f"{output(n, 'naive.out_channels', 'int', 'b')}.</p>"
    )
    note = (
        "Naive module: Fig. 2a, the 3x3 and 5x5 convolutions read the input directly and the pool branch "
        "passes the input channels through unprojected. Counted as on <code>ecg_lib.models.googlenet."
        "Inception</code>: " + _COUNTING_NOTE.format(extra="here the biases; every convolution has one",
                                                     skipped="max pooling, ReLU and bias additions")
    )  # fmt: skip
    return Explorer(
        "inception", f"GoogLeNet: the widths of Inception ({row.name})", body, note, None, params, n
    )


def bottleneck_explorer(width: int = 64, ratio: int = 4, side: int = 56) -> Explorer:
    """ResNet's bottleneck block (1x1 to ``width``, 3x3 at ``width``, 1x1 back to ``ratio * width``)
    against two 3x3 layers at ``width`` and at ``ratio * width`` channels, on a ``side`` x ``side`` map
    (He et al., 2016, Sec. 4.1 and Fig. 5: 256-d bottleneck vs 64-d basic block)."""
    params = {"width": int(width), "ratio": int(ratio), "side": int(side)}
    n = resnet_block_numbers(**params)
    sliders = [
        Slider("width", "3x3 width w", 8, 512, 1, params["width"]),
        Slider("ratio", "expansion d / w", 1, 8, 1, params["ratio"]),
        Slider("side", "map side", 1, 112, 1, params["side"]),
    ]
    d, w = output(n, "bottleneck.channels", "int"), output(n, "basic_narrow.channels", "int")
    header = ("", f"bottleneck: 1x1, {w} / 3x3, {w} / 1x1, {d}", f"two 3x3 at {w}",
              f"two 3x3 at {output(n, 'basic_wide.channels', 'int')}")  # fmt: skip
    blocks = ("bottleneck", "basic_narrow", "basic_wide")
    rows = [
        ("weights", *(output(n, f"{b}.weights") for b in blocks)),
        ("parameters (with batch norm)", *(output(n, f"{b}.params") for b in blocks)),
        ("MACs per image", *(output(n, f"{b}.macs") for b in blocks)),
    ]
    body = (
        controls(sliders)
        + table(header, rows)
        + '<p class="ecgx-readout">The bottleneck costs '
        f"{output(n, 'ratio.narrow', 'ratio', 'b')} the MACs of two 3x3 layers at its inner width and "
        f"{output(n, 'ratio.wide', 'ratio', 'b')} those of two 3x3 "
        "layers as wide as its input and output.</p>"
    )
    note = (
        "Stride 1, identity shortcuts. Counted as on <code>ecg_lib.models.resnet.Bottleneck</code> and "
        "<code>BasicBlock</code>: "
        + _COUNTING_NOTE.format(extra="here batch norm's scale and shift; the convolutions have no biases",
                                skipped="batch norm, ReLU and the shortcut addition")
    )  # fmt: skip
    return Explorer("resnet-blocks", "ResNet: bottleneck against basic block", body, note, None, params, n)


def lrn_explorer(k: float = 2.0, n: int = 5, alpha: float = 1e-4, beta: float = 0.75,
                 activity: float = 10.0) -> Explorer:  # fmt: skip
    """AlexNet's local response normalisation (Krizhevsky et al., 2012, Sec. 3.3; defaults: the paper's
    k = 2, n = 5, alpha = 1e-4, beta = 0.75): the gain b/a when all n neighbouring maps hold the same
    ``activity``, and a curve of the gain against the activity (log scales for alpha and the activity;
    the activity starts at the slider step nearest to ``activity``, within 6%)."""
    # Log scales start on their sliders' steps (0.1 and 0.05): a browser snaps a range input's value to its
    # step, and the numbers filled in here must be those of the value the page then holds.
    params = {"k": float(k), "n": int(n), "log10_alpha": round(math.log10(alpha), 1), "beta": float(beta),
              "log10_activity": round(round(math.log10(activity) / 0.05) * 0.05, 2)}  # fmt: skip
    nums = lrn_numbers(**params)
    sliders = [
        Slider("k", "k", 0.25, 4, 0.25, params["k"], "float"),
        Slider("n", "n (maps)", 1, 9, 2, params["n"]),
        Slider("log10_alpha", "α (log scale)", -6, -2, 0.1, params["log10_alpha"], "float", "pow10"),
        Slider("beta", "β", 0.25, 1, 0.05, params["beta"], "float"),
        Slider("log10_activity", "activity a (log scale)", -1, 3.5, 0.05, params["log10_activity"], "float",
                "pow10"),
    ]  # fmt: skip
    rows = [
        ("activity a in each of the n maps", output(nums, "activity", "g4")),
        ("α", output(nums, "alpha", "g4")),
        ("gain b / a = (k + α n a²)<sup>−β</sup>", output(nums, "gain", "g4")),
        ("output b", output(nums, "output", "g4")),
        ("gain at low activity, k<sup>−β</sup>", output(nums, "flat_gain", "g4")),
        ("gain relative to the low-activity gain", output(nums, "relative", "g4")),
        ("inhibition sets in near a = (k / (α n))<sup>1/2</sup>", output(nums, "onset", "g4")),
    ]
    body = (
        controls(sliders)
        + table(("", "value"), rows)
        + '<svg data-output-chart="gain" viewBox="0 0 520 240" role="img" '
        'aria-label="gain against activity, log scale"></svg>'
    )
    note = (
        "b = a / (k + α Σ a²)<sup>β</sup>, the sum over n maps centred on the current one. Same numbers as "
        "the library's layer (<code>ecg_lib.models._common.lrn</code>, the paper's summed α) run on such "
        "an input. Curve: the gain against the activity (dashed: the onset; dot: the chosen activity)."
    )
    return Explorer("lrn", "AlexNet: local response normalisation", body, note, None, params, nums)


# ----------------------------------------------------------------------------------------------------------
# Precomputed-state explorers


def lesion_explorer(
    errors: Mapping[str, float],
    intact: float,
    *,
    combos: Mapping[Iterable[str], float] | None = None,
    downsampling: Iterable[str] = (),
    title: str = "Lesion study: delete blocks, read the test error",
    source: str = "",
) -> Explorer:
    """Tick blocks to delete and read the error. ``errors``: ``{block name: error with that block deleted}``
    (fractions, in block order); ``intact``: the error of the whole network; ``combos``: errors measured
    for sets of several deleted blocks (``{("b1", "b2"): error}``); ``downsampling``: blocks marked as
    changing the shape. A set that was measured shows its measured error; any other set shows the
    sum-of-effects estimate, labelled as an estimate. ``source`` says where the numbers come from."""
    blocks = [{"name": str(name), "error": float(e)} for name, e in errors.items()]
    data = {
        "intact": float(intact),
        "blocks": blocks,
        "combos": [
            {"deleted": sorted(str(b) for b in k), "error": float(v)} for k, v in (combos or {}).items()
        ],
    }
    down = {str(b) for b in downsampling}
    n = lesion_numbers([], data)
    checks = "".join(
        f'<label><input type="checkbox" data-control="deleted" data-block="{html.escape(b["name"])}"> '
        f"{html.escape(b['name'])}{' ↓' if b['name'] in down else ''}</label>"
        for b in blocks
    )
    body = (
        f'<div class="ecgx-checks">{checks}</div>'
        f'<p class="ecgx-readout">Deleted blocks: {output(n, "deleted", "int", "b")}. Error: '
        f"{output(n, 'error', 'pct', 'b')} ({output(n, 'change', 'spct')} against the intact network, "
        f"{_pct(intact)}); {output(n, 'kind', 'text')}.</p>"
    )
    note = (
        "Measured: the intact network, each single deletion"
        + (" and the listed combinations" if combos else "")
        + ". Any other set: the estimate intact + Σ (error with block i deleted − intact), which assumes the "
        "blocks' effects add up; it is not a measurement."
        + (" ↓ marks blocks that change the shape." if down else "")
        + (f" {html.escape(source)}" if source else "")
    )
    return Explorer("lesion", title, body, note, data, {"deleted": []}, n)


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def lesion_explorer_from_study(lesions: Sequence[Any], **kwargs: Any) -> Explorer:
    """:func:`lesion_explorer` from the ResNet chapter's ``lesion_study`` output: records (objects or
    dicts) with ``block`` (-1 for the intact net), ``name``, ``downsampling`` and ``error``."""

    def get(r: Any, key: str) -> Any:
        return r[key] if isinstance(r, Mapping) else getattr(r, key)

    intact = [get(r, "error") for r in lesions if get(r, "block") == -1]
    if len(intact) != 1:
        raise ValueError("expected exactly one intact-network record (block == -1) in the lesion study.")
    single = [r for r in lesions if get(r, "block") != -1]
    errors = {get(r, "name"): get(r, "error") for r in single}
    down = [get(r, "name") for r in single if get(r, "downsampling")]
    return lesion_explorer(errors, intact[0], downsampling=down, **kwargs)


def curves_explorer(
    series: Mapping[str, Mapping[str, Curve]],
    *,
    profile: str | None = None,
    ylabel: str = "test error",
    xlabel: str = "epoch",
    percent: bool = True,
    ymin: float | None = None,
    ymax: float | None = None,
    title: str = "Training curves",
    note: str = "",
) -> Explorer:
    """Training curves with a profile switch and a readout. ``series``: ``{profile label: {curve name:
    curve}}``, e.g. ``{"live quick run": history_curves(live), "archived": history_curves(archived)}``;
    a curve is ``{"x": [...], "y": [...]}`` or a list of per-epoch values. ``profile``: the one shown
    first (default: the first). Hovering the chart or moving the epoch slider reads every curve at the
    nearest recorded epoch. ``percent``: values are fractions shown as percentages."""
    profiles = {
        str(p): {str(name): curve_points(c) for name, c in curves.items()} for p, curves in series.items()
    }
    if not profiles:
        raise ValueError("curves_explorer needs at least one profile of curves.")
    first = str(profile) if profile is not None else next(iter(profiles))
    if first not in profiles:
        raise ValueError(f"profile {first!r} is not among {', '.join(profiles)}.")
    data = {"profiles": profiles, "format": "pct" if percent else "g4", "xlabel": xlabel, "ylabel": ylabel,
            "ymin": ymin, "ymax": ymax}  # fmt: skip
    xs = [x for c in profiles[first].values() for x in c["x"]] or [0]
    whole = all(isinstance(x, int) for x in xs)
    epoch = max(xs)
    nums = curves_numbers(first, epoch, data)
    options = "".join(
        f'<option value="{html.escape(p)}"{" selected" if p == first else ""}>{html.escape(p)}</option>'
        for p in profiles
    )
    rows = "".join(
        f'<tr data-curve="{html.escape(name)}"><td>{html.escape(name)}</td>'
        f"<td>{output(nums, f'{name}.epoch', 'auto', 'span')}</td>"
        f"<td>{output(nums, f'{name}.value', data['format'], 'span')}</td></tr>"
        for name in profiles[first]
        if f"{name}.epoch" in nums
    )
    # The readout's tbody has data-profile="": the script rebuilds its rows (with colour swatches) when it
    # mounts; the rows written here are what a reader sees where scripts do not run.
    body = (
        '<div class="ecgx-controls"><label class="ecgx-control"><span>run</span>'
        f'<select data-control="profile" data-type="text">{options}</select></label>'
        + Slider("epoch", xlabel, min(xs), epoch, 1 if whole else "any", epoch, "float").html()
        + "</div>"
        + '<svg data-output-chart="curves" data-hover="epoch" viewBox="0 0 520 240" role="img" '
        f'aria-label="{html.escape(ylabel)} against {html.escape(xlabel)}"></svg>'
        + f'<p class="ecgx-readout">{html.escape(xlabel)} under the cursor: '
        f"{output(nums, 'cursor', 'auto', 'b')}</p>"
        + '<table class="ecgx-table"><thead><tr><th>curve</th><th>nearest recorded '
        f"{html.escape(xlabel)}</th><th>{html.escape(ylabel)}</th></tr></thead>"
        f'<tbody data-readout data-profile="">{rows}</tbody></table>'
    )
    note = note or "Precomputed: the page only draws and reads the recorded values."
    return Explorer("curves", title, body, note, data, {"profile": first, "epoch": epoch}, nums)
