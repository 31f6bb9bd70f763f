"""What the VGG chapter shows: receptive-field footprints, the cost bars of Table 1's configurations,
the tables (among them the static one beside the kernel-free stack explorer of
:mod:`ecg_lib.chapters.explorers`), the trained run's loss curves and paragraph, and the closing "Paper
vs. this book" table. The numbers come from :mod:`ecg_lib.experiments.vgg`; the paper's from
:mod:`ecg_lib.papers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ecg_lib import papers
from ecg_lib.chapters import common, plots
from ecg_lib.chapters.vgg_summary import _pct_range, bn_sentence, bn_table, data_note, summary_points
from ecg_lib.claims import Claim, Ledger, Measurement, NotMeasured, paired_gap, seeds_gap
from ecg_lib.counting import window_centres
from ecg_lib.evidence import paired_difference, unpack_correct
from ecg_lib.experiments import ExperimentResult, vgg
from ecg_lib.models.vgg import TABLE2_PARAMS_MILLIONS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FOOTPRINT_PANELS",
    "LEDGER",
    "bn_sentence",
    "bn_table",
    "config_cost_markdown",
    "config_structure_markdown",
    "cost_figure",
    "cost_text",
    "counted",
    "data_note",
    "describe_settings",
    "footprint_figure",
    "footprint_text",
    "loss_figure",
    "run_paragraph",
    "stack_table_markdown",
    "stride_centres_text",
    "summary_points",
]

# The chains of the footprint figure: (title, [(kernel, stride), ...]).
FOOTPRINT_PANELS: tuple[tuple[str, list[tuple[int, int]]], ...] = (
    ("1 x 3x3", [(3, 1)]), ("2 x 3x3", [(3, 1)] * 2), ("3 x 3x3", [(3, 1)] * 3),
    ("1 x 7x7", [(7, 1)]), ("1 x 11x11, stride 4", [(11, 4)]),
)  # fmt: skip


def _share_words(share: float) -> str:
    """``0.0625`` -> "1 in 16"; a share that is not one over a whole number as a percentage."""
    if share > 0 and abs(1 / share - round(1 / share)) < 1e-9:
        return f"1 in {round(1 / share)}"
    return f"{100 * share:.1f}%"


def stride_centres_text(side: int = 224) -> str:
    """Which positions of a ``side`` x ``side`` image are window centres: of a stride-1 3x3 stack and of
    AlexNet's 11x11 stride-4 first layer, traced in two dimensions by :func:`ecg_lib.counting.window_centres`
    (the 1-D share, along one row, is given for contrast)."""
    from torch import nn

    k, s = papers.VGG_EARLIER_FIRST_LAYERS["AlexNet conv1"]
    stack = window_centres(vgg.conv_stack(3, 3, 1), side)
    alex = window_centres(nn.Conv2d(1, 1, k, stride=s, padding=k // 2), side)
    share, row = float(alex.float().mean()), float(alex.any(0).float().mean())
    every = "every" if bool(stack.all()) else _share_words(float(stack.float().mean()))
    return (
        f"On a {side}×{side} image a stride-1 3×3 stack centres a unit on {every} position, while "
        f"AlexNet's first layer, with units {s} pixels apart, centres one on {_share_words(share)} "
        f"positions ({int(alex.sum()):,} of {side * side:,}): the other {100 * (1 - share):.2f}% are never "
        f"the centre of an {k}×{k} window. Along one row the share would be {_share_words(row)}; the "
        "stride applies in both directions."
    )


def footprint_text(side: int = 15) -> str:
    """How unevenly three stacked 3x3 layers and one 7x7 layer weigh their 7x7 window: paths from the
    window's centre pixel and from its corner to the centre unit
    (:func:`ecg_lib.experiments.vgg.footprint`)."""
    stack, single = vgg.footprint([(3, 1)] * 3, side), vgg.footprint([(7, 1)], side)
    rows = stack.nonzero()[:, 0]
    c, corner = side // 2, (int(rows.min()), int(rows.min()))
    n_stack = int(np.count_nonzero(stack.sum(0).numpy()))
    n_single = int(np.count_nonzero(single.sum(0).numpy()))
    paths = (int(stack[c, c]), int(stack[corner]), int(single[c, c]), int(single[corner]))
    window = (f"the same {n_stack}×{n_stack} window" if n_stack == n_single
              else f"different windows, {n_stack}×{n_stack} and {n_single}×{n_single} pixels")  # fmt: skip
    # the single layer: one figure when every pixel of its window has as many paths, else centre and corner
    one = "path" if paths[2] == 1 else "paths"
    single_paths = f"each of its {n_single * n_single} pixels through {paths[2]} {one}"
    if paths[2] != paths[3]:
        single_paths = f"its centre pixel through {paths[2]} {one} and a corner pixel through {paths[3]}"
    return (
        f"Three stacked 3×3 layers and one 7×7 layer see {window}, but not equally. In the stack the "
        f"centre pixel reaches the output through {paths[0]} paths, and a corner pixel of the window "
        f"through {paths[1]}. The single 7×7 layer connects {single_paths}, and weighs them alike until it "
        "learns otherwise."
    )


def footprint_figure(
    panels: Sequence[tuple[str, list[tuple[int, int]]]] = FOOTPRINT_PANELS, side: int = 15
) -> Figure:
    """One panel per chain: which input pixels reach the centre output unit, and through how many paths
    (:func:`ecg_lib.experiments.vgg.footprint` on a ``side`` x ``side`` input). Two panels a row, the
    text column's width; built without pyplot, so the notebook displays the returned Figure once."""
    from matplotlib.figure import Figure

    rows = (len(panels) + 1) // 2
    fig = Figure(figsize=(common.FIGURE_WIDTH, 3.0 * rows), layout="constrained")
    grid = fig.subplots(rows, 2, squeeze=False)
    axes = list(grid.flat)
    for extra in axes[len(panels) :]:
        extra.set_axis_off()
    half = side / 2
    for ax, (title, layers) in zip(axes[: len(panels)], panels, strict=True):
        fp = vgg.footprint(layers, side).numpy()
        size = int(np.count_nonzero(fp.sum(0)))
        im = ax.imshow(fp, cmap="viridis", extent=(-half, half, half, -half))
        ax.set_title(f"{title}\nsees {size}x{size} pixels", fontsize=10)
        ax.set_xlabel("input x (pixels from centre)", fontsize=9)
        ax.set_ylabel("input y (pixels)", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046, label="paths to the unit")
    return fig


def config_structure_markdown(rows: Sequence[vgg.ConfigRow]) -> str:
    """Table 1's configurations as built: weight layers, convolutions by kernel, and the receptive field
    of the last convolution's units (the first half of the counted table; the cost is the second)."""
    return common.markdown_table(
        ["config", "weight layers", "3×3 convs", "1×1 convs", "receptive field"],
        [[r.config, r.weight_layers, r.conv3, r.conv1, f"{r.receptive_field} px"] for r in rows],
    )


def config_cost_markdown(rows: Sequence[vgg.ConfigRow]) -> str:
    """Table 1's configurations as counted: parameters against Table 2, MACs per 224x224 image, and the
    shares of both in FC6-FC8."""
    return common.markdown_table(
        ["config", "parameters", "Table 2", "MACs per image", "params in FC6-8", "MACs in FC6-8"],
        [[r.config, f"{r.params:,} ({r.params_m:.1f} M)", f"{r.paper_params_m} M", f"{r.macs / 1e9:.2f} G",
          f"{100 * r.fc_share:.1f}%", f"{100 * r.fc_mac_share:.1f}%"] for r in rows],
    )  # fmt: skip


def cost_text(rows: Sequence[vgg.ConfigRow]) -> str:
    """Where Table 1's parameters and arithmetic sit, from the counted rows: what depth adds to the
    parameters from the shallowest to the deepest configuration, FC6's weights, and the FC layers' shares
    of parameters and MACs."""
    from torch import device

    from ecg_lib.models import vgg as vgg_models

    shallow = min(rows, key=lambda r: r.weight_layers)
    deep = max(rows, key=lambda r: r.weight_layers)
    growth = deep.params / shallow.params - 1
    with device("meta"):
        fc6 = vgg_models.vgg(shallow.config).classifier.fc6
    return (
        f"Two things stand out. Depth is cheap in parameters: going from {shallow.weight_layers} to "
        f"{deep.weight_layers} weight layers adds {100 * growth:.1f}% to the parameters. The 3×3 layers are "
        f"small next to the first fully connected layer: FC6 alone maps the {fc6.in_features:,} numbers of "
        f"the last feature map to {fc6.out_features:,} units, with {fc6.weight.numel() / 1e6:.1f} million "
        f"weights. And the cost sits in two different places. The FC layers hold "
        f"{_pct_range([r.fc_share for r in rows])} of the parameters, yet do at most "
        f"{100 * max(r.fc_mac_share for r in rows):.1f}% of the multiply-accumulates; the convolutions do "
        "the rest."
    )


def cost_figure(rows: Sequence[vgg.ConfigRow]) -> Figure:
    """Parameters and MACs per configuration, each split into convolutions and FC6-FC8. Built without
    pyplot: the notebook displays the returned Figure once."""
    from matplotlib.figure import Figure

    names = [r.config for r in rows]
    fig = Figure(figsize=(common.FIGURE_WIDTH, 3.4), layout="constrained")
    ax_p, ax_m = fig.subplots(1, 2)
    conv_p = [(r.params - r.fc_params) / 1e6 for r in rows]
    ax_p.bar(names, conv_p, label="convolutions")
    ax_p.bar(names, [r.fc_params / 1e6 for r in rows], bottom=conv_p, label="FC6-FC8")
    ax_p.set_ylabel("parameters (millions)")
    ax_p.set_title("Parameters per configuration", fontsize=10)
    conv_m = [(r.macs - r.fc_macs) / 1e9 for r in rows]
    ax_m.bar(names, conv_m, label="convolutions")
    ax_m.bar(names, [r.fc_macs / 1e9 for r in rows], bottom=conv_m, label="FC6-FC8")
    ax_m.set_ylabel("MACs per 224x224 image (billions)")
    ax_m.set_title("Compute per configuration", fontsize=10)
    for ax in (ax_p, ax_m):
        ax.set_xlabel("configuration (Table 1)")
        ax.set_ylim(0, 1.3 * ax.get_ylim()[1])  # headroom for the legend above the bars
        ax.legend(loc="upper left", fontsize=9, ncol=2)
    return fig


def describe_settings(s: vgg.Settings) -> str:
    """The training budget of :func:`ecg_lib.experiments.vgg.train_configs` in one paragraph."""
    t = s.train
    milestones = ", ".join(f"{m:g}" for m in t.milestones)
    schedule = t.schedule + (f", lr x {t.gamma:g} at epochs {milestones}" if milestones else "")
    per_class = f"{s.n_train_per_class or 'all'} train / {s.n_test_per_class or 'all'} test images per class"
    return (f"configurations {', '.join(s.configs)}; width {s.width}; {per_class}; {t.epochs} epochs, "
            f"batch {t.batch_size}, lr {t.lr} ({schedule}); batch_norm={s.batch_norm}, init={s.init!r}, "
            f"dropout={s.dropout}; seeds {', '.join(map(str, s.seeds))}")  # fmt: skip


def loss_figure(result: ExperimentResult, profile: str) -> Figure:
    """Training loss (moving average over half an epoch) of every configuration against epochs."""
    labels = {c: f"{c} ({result.metrics[c]['weight_layers']} weight layers)" for c in result.histories}
    return plots.smoothed_loss_figure(result.histories, labels, profile)


def _epochs(n: int) -> str:
    return f"{n} epoch{'' if n == 1 else 's'}"


def run_paragraph(result: ExperimentResult, settings: vgg.Settings) -> str:
    """The paragraph "What this run shows" (Markdown): the deep against the shallow configuration,
    A-LRN against A, and how much a difference of a few points means on this many test images."""
    m = result.metrics
    shallow, deep = settings.configs[0], settings.configs[-1]
    d_err = 100 * (m[deep]["test_error"] - m[shallow]["test_error"])
    d_train = 100 * (m[deep]["train_error"] - m[shallow]["train_error"])
    lrn_err = 100 * (m["A-LRN"]["test_error"] - m["A"]["test_error"])
    n_per_class = m["settings"]["n_train_per_class"] or 5000
    n_test = result.histories[shallow].info["n_test"]
    p = m[shallow]["test_error"]
    se = 100 * (p * (1 - p) / n_test) ** 0.5  # binomial standard error of an error rate
    top5 = {c: 100 * papers.VGG_TABLE3[c][1] for c in ("A", "A-LRN")}
    # one number per clause; a difference that rounds to zero is said in words, not as "0.0 points higher"
    gap = ("no difference at this precision" if abs(d_err) < 0.05
           else f"{deep} {abs(d_err):.1f} points {'lower' if d_err < 0 else 'higher'}")  # fmt: skip
    text = (
        f"{common.small_run_lead(result)} "
        f"With the same budget, the {m[deep]['weight_layers']}-layer configuration {deep} ended at "
        f"{100 * m[deep]['test_error']:.1f}% test error and the {m[shallow]['weight_layers']}-layer "
        f"{shallow} at {100 * m[shallow]['test_error']:.1f}%: {gap}. {deep} costs "
        f"{m[deep]['macs'] / m[shallow]['macs']:.1f} times {shallow}'s compute per image. "
    )
    if d_err >= 0:
        # what the training errors say depends on their sign: slower to fit, or fitting and not generalising
        why = ("so in this budget the deeper network is the slower one to fit, not the one that overfits"
               if d_train >= 0 else "so the deeper network fit its training images better and generalised "
               "worse")  # fmt: skip
        fit = (f"on its own training images {deep} ended level with {shallow}" if abs(d_train) < 0.05
               else f"{deep} ended {abs(d_train):.1f} points {'higher' if d_train >= 0 else 'lower'} on its "
               f"own training images, {why}")  # fmt: skip
        text += (
            f"Depth did not pay in this budget: {fit}. "
            "The paper's comparison is between networks trained to convergence (74 epochs on 1.3 million "
            "images); the full profile trains all six configurations on all of CIFAR-10 to test it. "
        )
    lrn_change = (f"changed the test error by {lrn_err:+.1f} points" if abs(lrn_err) >= 0.05
                  else "left the test error where it was")  # fmt: skip
    # training times are recorded to 0.1 s: a run too short to time has no ratio (a tiny test run)
    cost = (f"{m['A-LRN']['seconds'] / m['A']['seconds']:.1f} times A's training time" if m["A"]["seconds"]
            else "a training time too short to compare")  # fmt: skip
    text += (
        f"Adding LRN to A {lrn_change} and cost {cost}. In the paper, LRN moved A's ImageNet top-5 error "
        f"from {top5['A']:.1f}% to {top5['A-LRN']:.1f}%. "
        f"These runs see {n_per_class} images per class for {_epochs(settings.train.epochs)}, with one seed, "
        f"and are scored on {n_test:,} test images, where sampling alone gives a test error a standard "
        f"error of {se:.1f} points (before any seed-to-seed variation): differences of a few points are "
        "not evidence."
    )
    return text


def stack_table_markdown(table: Sequence[vgg.StackStats]) -> str:
    """The static companion of the chapter's stack explorer
    (:func:`ecg_lib.chapters.explorers.vgg_stack_explorer`): the stacks the chapter compares."""
    channels, side = table[0].channels, table[0].side
    return common.markdown_table(
        [f"stack (C = {channels}, {side}×{side} maps)", "receptive field", "weights", "weights / C²", "MACs",
         "ReLUs"],
        [[s.label, f"{s.receptive_field}×{s.receptive_field}", f"{s.weights:,}", f"{s.weights_per_c2:.0f}",
          f"{s.macs / 1e9:.2f} G", s.relus] for s in table],
    )  # fmt: skip


def _config_errors(r: ExperimentResult, config: str) -> list[float]:
    """A configuration's final test errors, one per seed (labels ``C`` or ``C/seed<k>``); raises
    :class:`NotMeasured` when the run's settings do not train it (a profile may train fewer)."""
    if config not in r.metrics["settings"]["configs"]:
        raise NotMeasured(f"{config} not trained in the {r.profile} profile")
    errors = [v["test_error"] for k, v in r.metrics.items() if k == config or k.startswith(f"{config}/seed")]
    if not errors:
        raise KeyError(f"configuration {config!r} was not trained in this run")
    if any(e is None for e in errors):
        raise ValueError(f"configuration {config!r} has no final test error")
    return errors


def _config_bits(r: ExperimentResult, config: str) -> list[str | None]:
    """A configuration's per-image correctness, one packed string per seed (None where the run kept none:
    archives from before the bits)."""
    return [v.get("correct") for k, v in r.metrics.items() if k == config or k.startswith(f"{config}/seed")]


def _gap(higher: str, lower: str) -> Any:
    """The reader of "``higher``'s test error is above ``lower``'s": paired over the test images where the
    run kept both configurations' per-image correctness, else from the two error rates."""

    def read(r: ExperimentResult) -> Measurement:
        n, labels = r.run_info["n_test"], (higher, lower)
        errors_h, errors_l = _config_errors(r, higher), _config_errors(r, lower)
        bits_h, bits_l = _config_bits(r, higher), _config_bits(r, lower)
        if None in bits_h or None in bits_l:
            return seeds_gap(errors_h, errors_l, n, labels=labels)
        if len(bits_h) == 1:
            return paired_gap(errors_h[0], errors_l[0], n, bits_h[0], bits_l[0], labels=labels)
        diff, noise = paired_difference([unpack_correct(b, n) for b in bits_h],
                                        [unpack_correct(b, n) for b in bits_l])  # fmt: skip
        mean_h, mean_l = sum(errors_h) / len(errors_h), sum(errors_l) / len(errors_l)
        return Measurement(diff, f"{100 * mean_h:.1f}% ({higher}) vs. {100 * mean_l:.1f}% ({lower}), means",
                           se=noise.se, basis=f"{noise.basis}, {n:,} images")  # fmt: skip

    return read


_COUNTS = "counts"  # the counted object the arithmetic claims read (see counted())
_CITE = "simonyan2015very"
_T3 = papers.VGG_TABLE3
_SHALLOW, _DEEP = "A", "D"  # 11 and 16 weight layers: Table 3's first and best configurations
_SOURCE = "Simonyan & Zisserman, Sec. 2.3"
_NOISE = ("paired over the test images where the run kept per-image correctness, else the binomial SE of "
          "each test error; combined with the spread over seeds")
_NOBN = "train_configs_nobn"  # the runs without batch normalisation (reproduce vgg archives them)


def _exact(key: str, where: str, statement: str, paper_value: str, source: str, method: str,
           read: Any, target: float, tolerance: float = 0.0, paper: str = _CITE) -> Claim:  # fmt: skip
    return Claim(key, paper, where, statement, paper_value, source, method, _COUNTS, read, kind="exact",
                 target=target, tolerance=tolerance)  # fmt: skip


def _rf(k: int) -> Any:
    return lambda c: Measurement(c["stacks"][k].receptive_field, f"{c['stacks'][k].receptive_field} px")


def _extra(c: dict[str, Any]) -> Measurement:
    seven, three = c["stacks"][7], c["stacks"][3]
    extra = seven.weights / three.weights - 1
    return Measurement(extra, f"{seven.weights_per_c2:.0f}C² vs {three.weights_per_c2:.0f}C²: "
                              f"{100 * extra:.1f}% more")  # fmt: skip


def _params(config: str) -> Any:
    return lambda c: Measurement(c["rows"][config].params, f"{c['rows'][config].params:,}")


#: The chapter's claims, in the order of its "Paper vs. this book" table.
LEDGER = Ledger("vgg", "VGG", "vgg-paper-vs-book", (
    _exact("rf2", "Sec. 2.3", "Two stacked 3×3 layers see a 5×5 window", "5×5", _SOURCE,
           "receptive field, counted", _rf(2), 5),
    _exact("rf3", "Sec. 2.3", "Three stacked 3×3 layers see a 7×7 window", "7×7", _SOURCE,
           "receptive field, counted", _rf(3), 7),
    _exact("stack_weights", "Sec. 2.3",
           f"One 7×7 layer has {100 * papers.VGG_STACK_EXTRA:.0f}% more weights than three 3×3 layers",
           f"49C² vs 27C², {100 * papers.VGG_STACK_EXTRA:.0f}% more", "Simonyan & Zisserman, Sec. 2.3",
           "weights counted at C = 256",
           _extra, papers.VGG_STACK_EXTRA, tolerance=0.01),
    *(_exact(f"params_{c}", "Table 2", f"Configuration {c} has {m} million parameters", f"{m} M",
             "Simonyan & Zisserman, Table 2", "counted at 224×224", _params(c), m * 1e6, tolerance=0.005)
      for c, m in TABLE2_PARAMS_MILLIONS.items()),
    _exact("macs_e", "Sec. 3.3 of He et al.",
           f"VGG-19 (E) needs {papers.RESNET_VGG_GMACS[19]} billion multiply-adds per image",
           f"{papers.RESNET_VGG_GMACS[19]:.1f} G", "He et al. 2016, Sec. 3.3 and 4.1",
           "MACs counted at 224×224",
           lambda c: Measurement(c["rows"]["E"].macs, f"{c['rows']['E'].macs / 1e9:.2f} G"),
           papers.RESNET_VGG_GMACS[19] * 1e9, tolerance=0.01, paper="he2016deep"),
    _exact("conv1x1_rf", "Sec. 2.3",
           "The 1×1 layers of C add non-linearity without changing the receptive field", "unchanged", _SOURCE,
           "receptive field of the last conv of C minus B's",
           lambda c: Measurement(c["rf_c"] - c["rf_b"], f"{c['rf_c']} px (C) vs {c['rf_b']} px (B)"),
           0.0),
    Claim("lrn", _CITE, "Sec. 4.1, Table 3", "Local response normalisation does not improve configuration A",
          f"A-LRN {100 * _T3['A-LRN'][1]:.1f}% vs. A {100 * _T3['A'][1]:.1f}% top-5, ImageNet",
          "Simonyan & Zisserman, Table 3", "CIFAR-10 test error of A minus A-LRN (the gain LRN would bring)",
          "train_configs", _gap("A", "A-LRN"), kind="no_gain",
          noise=_NOISE),
    Claim("deeper", _CITE, "Sec. 4.1, Table 3",
          f"The deeper configuration {_DEEP} has a lower error than {_SHALLOW}",
          f"{_DEEP} {100 * _T3[_DEEP][1]:.1f}% vs. {_SHALLOW} {100 * _T3[_SHALLOW][1]:.1f}% top-5, ImageNet",
          "Simonyan & Zisserman, Table 3", f"CIFAR-10 test error of {_SHALLOW} minus {_DEEP}",
          "train_configs", _gap(_SHALLOW, _DEEP), noise=_NOISE),
    # The same two comparisons without batch normalisation (issue 23, item 7): the networks as the paper
    # trained them, where training a deep plain stack is the difficulty BN removes above.
    Claim("lrn_nobn", _CITE, "Sec. 4.1, Table 3",
          "Local response normalisation does not improve configuration A, without batch normalisation",
          f"A-LRN {100 * _T3['A-LRN'][1]:.1f}% vs. A {100 * _T3['A'][1]:.1f}% top-5, ImageNet",
          "Simonyan & Zisserman, Table 3",
          "CIFAR-10 test error of A minus A-LRN, both without batch normalisation (the gain LRN would bring)",
          _NOBN, _gap("A", "A-LRN"), kind="no_gain", noise=_NOISE),
    Claim("deeper_nobn", _CITE, "Sec. 4.1, Table 3",
          f"The deeper configuration {_DEEP} has a lower error than {_SHALLOW}, without batch normalisation",
          f"{_DEEP} {100 * _T3[_DEEP][1]:.1f}% vs. {_SHALLOW} {100 * _T3[_SHALLOW][1]:.1f}% top-5, ImageNet",
          "Simonyan & Zisserman, Table 3",
          f"CIFAR-10 test error of {_SHALLOW} minus {_DEEP}, both without batch normalisation",
          _NOBN, _gap(_SHALLOW, _DEEP), noise=_NOISE,
          paper_effect=_T3[_SHALLOW][1] - _T3[_DEEP][1]),
))  # fmt: skip


def _counts(rows: Sequence[vgg.ConfigRow], trace_b: Sequence[vgg.LayerTrace],
            trace_c: Sequence[vgg.LayerTrace]) -> dict[str, Any]:  # fmt: skip
    def last_conv(trace: Sequence[vgg.LayerTrace]) -> int:
        return [t for t in trace if t.kind.startswith("conv")][-1].receptive_field

    stacks = {2: vgg.stack_stats(3, 2, 8, 16), 3: vgg.stack_stats(3, 3, 256), 7: vgg.stack_stats(7, 1, 256)}
    return {"rows": {r.config: r for r in rows}, "stacks": stacks, "rf_b": last_conv(trace_b),
            "rf_c": last_conv(trace_c)}  # fmt: skip


def counted() -> dict[str, Any]:
    """The objects the chapter's arithmetic claims read (the scoreboard computes them without the page)."""
    return {_COUNTS: _counts(vgg.config_table(), vgg.layer_trace("B"), vgg.layer_trace("C"))}
