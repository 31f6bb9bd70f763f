"""What the GoogLeNet chapter shows: the whole network layer by layer (:func:`network_outline`, from
:mod:`ecg_lib.chapters.googlenet_network`), the drawing of an Inception module, its tables (Table 1 rows, the
savings of inception (3a), every row against the paper, the whole network), the reduction-width sweep
beside the module explorer (:func:`ecg_lib.chapters.explorers.inception_explorer`), the training curves
and summary, and the closing page's five findings (:func:`summary_points`). The numbers come from
:mod:`ecg_lib.experiments.googlenet`; the paper's from :mod:`ecg_lib.papers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ecg_lib import papers
from ecg_lib.chapters import common
from ecg_lib.chapters.googlenet_network import network_outline
from ecg_lib.claims import Claim, Evidence, Ledger, Measurement, NotMeasured, error_gap
from ecg_lib.experiments import ExperimentResult, googlenet
from ecg_lib.models import googlenet as googlenet_models

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "LEDGER",
    "branches_table",
    "counted",
    "data_note",
    "draw_inception",
    "module_savings_table",
    "module_variants_table",
    "network_outline",
    "network_table",
    "ops_column_with_plain_conv1",
    "plot_reduction_sweep",
    "plot_training",
    "rounding_agrees",
    "run_text",
    "savings_text",
    "summary_points",
    "table1_agreement_text",
    "table1_rows_table",
    "table1_table",
    "table1_totals",
    "table1_weights",
    "training_summary",
]

InceptionRow = googlenet_models.InceptionRow


def _as_row(row: InceptionRow | str) -> InceptionRow:
    return googlenet.table1_row(row) if isinstance(row, str) else row


# ----------------------------------------------------------------------------------------------------------
# The module


def draw_inception(
    row: InceptionRow | str, in_channels: int | None = None, side: int | None = None, ax: Axes | None = None
) -> Axes:
    """Draw the module of ``row`` as in the paper's Fig. 2b, with its channel counts; returns the axes.

    The 1x1 reductions and the pool projection are shaded, so the drawing shows which convolutions
    exist only to cut the width that the expensive 3x3 and 5x5 convolutions read.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    row = _as_row(row)
    if in_channels is None or side is None:
        in_channels, side = googlenet.inception_inputs()[row.name]
    if ax is None:
        _, ax = plt.subplots(figsize=(8.5, 4.2))
    reduce_color, conv_color, other_color = "#fde7a9", "#b9d7f0", "#e6e6e6"
    w, h = 1.9, 0.62

    def box(x: float, y: float, text: str, color: str) -> None:
        ax.add_patch(
            FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03", fc=color, ec="0.3")
        )
        ax.text(x, y, text, ha="center", va="center", fontsize=9)

    def arrow(x0: float, y0: float, x1: float, y1: float) -> None:
        ax.annotate("", (x1, y1 - h / 2), (x0, y0 + h / 2), arrowprops={"arrowstyle": "->", "color": "0.3"})

    xs = [0.0, 2.3, 4.6, 6.9]
    y_in, y1, y2, y_out = 0.0, 1.3, 2.6, 3.9
    mid = sum(xs) / 4
    box(mid, y_in, f"input  {in_channels} x {side} x {side}", other_color)
    columns = [
        [(f"1x1 conv, {row.n1x1}", conv_color)],
        [(f"1x1 conv, {row.n3x3red}", reduce_color), (f"3x3 conv, {row.n3x3}", conv_color)],
        [(f"1x1 conv, {row.n5x5red}", reduce_color), (f"5x5 conv, {row.n5x5}", conv_color)],
        [("3x3 max pool", other_color), (f"1x1 conv, {row.pool_proj}", reduce_color)],
    ]
    for x, layers in zip(xs, columns, strict=True):
        ys = [y1, y2][: len(layers)]
        # Arrows leave the input and reach the concatenation spread out, so none crosses a box.
        spread = mid + 0.3 * (x - mid)
        prev = (spread, y_in)
        for y, (text, color) in zip(ys, layers, strict=True):
            box(x, y, text, color)
            arrow(*prev, x, y)
            prev = (x, y)
        arrow(*prev, spread, y_out)
    box(mid, y_out, f"concatenate  {row.out_channels} x {side} x {side}", other_color)
    ax.set_xlim(xs[0] - 1.2, xs[-1] + 1.2)
    ax.set_ylim(y_in - 0.6, y_out + 0.6)
    ax.set_axis_off()
    ax.set_title(f"Inception ({row.name}); shaded yellow: 1x1 reductions and pool projection", fontsize=10)
    return ax


def table1_rows_table() -> str:
    """Table 1's nine Inception rows (Markdown, six columns): each reduction beside the convolution it
    feeds ("96 → 128"), and the output depth computed from the four branches."""
    return common.markdown_table(
        ["module", "#1×1", "#3×3 reduce → #3×3", "#5×5 reduce → #5×5", "pool proj", "output depth"],
        [[r.name, r.n1x1, f"{r.n3x3red} → {r.n3x3}", f"{r.n5x5red} → {r.n5x5}", r.pool_proj, r.out_channels]
         for r in googlenet_models.TABLE1],
    )  # fmt: skip


def savings_text(s: googlenet.ModuleSaving) -> str:
    """How many times the naive module's cost the module of ``s`` needs, one ratio per clause; the ratios
    of the naive module that keeps the pool projection are named only where they differ at one decimal."""
    name = f"({s.row.name})"
    text = (f"Without the reductions, {name} needs {s.ratio('macs'):.1f} times the multiply-adds. "
            f"It needs {s.ratio('params'):.1f} times the parameters.")  # fmt: skip
    same = all(f"{s.ratio(m):.1f}" == f"{s.ratio(m, proj=True):.1f}" for m in ("macs", "params"))
    if same:
        return text + " Keeping the pool projection in the naive module leaves both ratios unchanged."
    return (text + " With the pool projection kept, the naive module needs "
            f"{s.ratio('macs', proj=True):.1f} times the multiply-adds. "
            f"It then needs {s.ratio('params', proj=True):.1f} times the parameters.")  # fmt: skip


def module_variants_table(s: googlenet.ModuleSaving) -> str:
    """The module of ``s`` three ways: as in the paper, naive, naive with the pool projection (Markdown)."""
    variants = [
        ("with reductions (Fig. 2b)", s.reduced, s.reduced_out),
        ("no reductions, no pool projection (Fig. 2a)", s.naive, s.naive_out),
        ("no reductions, with pool projection", s.naive_proj, s.reduced_out),
    ]
    return common.markdown_table(
        [f"inception ({s.row.name}), input {s.in_channels} × {s.side} × {s.side}", "weights", "parameters",
         "multiply-adds", "output channels"],
        [[name, f"{c.weights:,}", f"{c.params:,}", f"{c.macs:,}", out] for name, c, out in variants],
    )  # fmt: skip


def branches_table(s: googlenet.ModuleSaving) -> str:
    """Each branch of the module of ``s`` with and without its reduction (Markdown)."""
    return common.markdown_table(
        ["branch", "weights, reduced", "weights, naive", "multiply-adds, reduced", "multiply-adds, naive",
         "naive / reduced"],
        [[b.branch, f"{b.reduced.weights:,}", f"{b.naive.weights:,}", f"{b.reduced.macs:,}",
          f"{b.naive.macs:,}", f"{b.mac_ratio:.1f}×"] for b in s.branches],
    )  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# Table 1


def table1_table(lines: Sequence[googlenet.Table1Line]) -> str:
    """Every layer of Table 1 (Markdown, six columns): our counts, the paper's two entries, and the
    paper's self-consistency (its ops entry over its params entry times the output area, minus one)."""
    return common.markdown_table(
        ["layer", "weights, ours (K)", "params, paper (K)", "MACs, ours (M)", "ops, paper (M)",
         "paper: ops ÷ (params × area)"],
        [[line.name, f"{line.ours.params_k:,.1f}", f"{line.paper_params_k:g}", f"{line.ours.ops_m:,.1f}",
          f"{line.paper_ops_m:g}", f"{100 * line.paper_self_consistency:+.1f}%"] for line in lines],
    )  # fmt: skip


def module_savings_table(lines: Sequence[googlenet.Table1Line]) -> str:
    """The nine modules' multiply-adds with their reductions and without them (pool projection kept),
    and the ratio of the two (Markdown, four columns)."""
    rows = [[line.name, f"{line.ours.ops_m:,.1f}", f"{line.naive.ops_m:,.0f}",
             f"{line.naive.macs / line.ours.macs:.1f}×"]
            for line in lines if line.naive is not None]  # fmt: skip
    return common.markdown_table(
        ["module", "MACs, with reductions (M)", "MACs, without (M)", "without ÷ with"], rows
    )


def _paper_totals() -> tuple[float, float]:
    """Sums of Table 1's params (K) and ops (M) columns."""
    table = papers.GOOGLENET_TABLE1.values()
    return sum(p for p, _ in table), sum(o for _, o in table)


def table1_weights() -> int:
    """Table 1's params column summed, in weights: its K read as 1024, as the chapter's table reads
    conv2's 112K (= 64 x 64 + 64 x 192 x 9 = 114,688 / 1024)."""
    return round(_paper_totals()[0] * 1024)


def table1_totals(lines: Sequence[googlenet.Table1Line]) -> str:
    """The two columns of Table 1 summed, next to the sums of our counts: one sum per clause."""
    params_k, ops_m = _paper_totals()
    return (f"Table 1's params column sums to {params_k:,.1f}K; "
            f"our weights sum to {sum(line.ours.params_k for line in lines):,.1f}K. "
            f"Its ops column sums to {ops_m:,}M; "
            f"our multiply-adds sum to {sum(line.ours.ops_m for line in lines):,.1f}M.")  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# Exploring one module: the static sweep beside the kernel-free explorer (explorers.inception_explorer)


def plot_reduction_sweep(
    s: googlenet.ModuleSaving, ax: Axes, widths: Sequence[int] = range(4, 197, 8)
) -> None:
    """Weights of the 3x3 and 5x5 branches of the module of ``s`` as each reduction's width is varied,
    against the unreduced branch (dashed), with the break-even widths (dotted) and the paper's widths
    (dots)."""
    row, widths = s.row, list(widths)
    naive_of = {b.branch: b.naive for b in s.branches}
    for branch, paper_width, color in (("3x3", row.n3x3red, "C0"), ("5x5", row.n5x5red, "C1")):
        costs = googlenet.reduction_sweep(row, branch, widths, s.in_channels, s.side)
        ax.plot(widths, [c.weights / 1e3 for c in costs], color=color, label=f"{branch} branch, reduced")
        naive = naive_of[branch].weights / 1e3
        ax.axhline(naive, color=color, ls="--", lw=1, label=f"{branch} branch, no reduction")
        ax.axvline(googlenet.break_even_width(row, branch, s.in_channels), color=color, ls=":", lw=1)
        paper = googlenet.reduction_sweep(row, branch, [paper_width], s.in_channels, s.side)[0]
        ax.plot([paper_width], [paper.weights / 1e3], "o", color=color)
    ax.set_xlabel(f"reduction width (channels; the input has {s.in_channels})")
    ax.set_ylabel("weights of the branch (thousands)")
    title = f"Inception ({row.name}). Dots: the paper's widths; dotted lines: break-even widths"
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=9)


# ----------------------------------------------------------------------------------------------------------
# The whole network


def network_table(facts: googlenet.NetworkFacts) -> str:
    """Depth, weights, parameters and multiply-adds of the whole network against the paper (Markdown)."""
    record = papers.network("GoogLeNet")
    params_k, ops_m = _paper_totals()
    budget = f"budget {papers.GOOGLENET_BUDGET_MACS / 1e9:.1f} billion (Sec. 1)"
    return common.markdown_table(
        ["", "paper", "library (googlenet, 224 × 224)"],
        [
            ["weight layers on the longest path",
             f"{record.depth} ({papers.GOOGLENET_DEPTH_WITH_POOLS} with pooling)",
             f"{facts.depth} ({facts.depth_with_pools} with pooling)"],
            ["weights (no biases)", f"{params_k:,.1f}K in Table 1 (K = 1024)",
             f"{facts.weights:,} = {facts.weights / 1024:,.1f}K"],
            ["parameters (with biases)", "—", f"{facts.params:,}"],
            ["multiply-adds", f"{budget}; Table 1 sums to {ops_m:,}M",
             f"{facts.macs:,} = {facts.macs / 1e6:,.0f}M"],
        ],
    )  # fmt: skip


def ops_column_with_plain_conv1(lines: Sequence[googlenet.Table1Line]) -> str:
    """Table 1's ops column summed again with conv1's entry replaced by the plain 7x7 convolution's cost
    (``lines[0]``, as :func:`ecg_lib.experiments.googlenet.table1_comparison` returns them)."""
    paper_conv1, plain_conv1 = papers.GOOGLENET_TABLE1["conv1"][1], lines[0].ours.ops_m
    _, ops_m = _paper_totals()
    total = ops_m - paper_conv1 + plain_conv1
    return (f"Table 1 prints {paper_conv1}M for conv1; the plain 7x7 convolution costs {plain_conv1:.0f}M.\n"
            f"With that entry, the ops column sums to {total:,.0f}M.")


# ----------------------------------------------------------------------------------------------------------
# Training


def plot_training(result: ExperimentResult, ax: Axes, window: int = 25) -> None:
    """Training error per step (running mean over ``window`` steps, solid) and test error at the end
    of each evaluated epoch (dots) of every variant, in percent, against optimisation steps."""
    labels = {"aux": "with auxiliary classifiers", "no_aux": "without"}
    for i, (variant, h) in enumerate(result.histories.items()):
        color, label = f"C{i}", labels.get(variant, variant)
        errs = h.train_error
        smooth = [100 * sum(errs[max(0, k - window + 1) : k + 1]) / len(errs[max(0, k - window + 1) : k + 1])
                  for k in range(len(errs))]  # fmt: skip
        ax.plot(range(1, len(errs) + 1), smooth, color=color, lw=1.2, label=f"{label}: training")
        tests = [((e + 1) * h.steps_per_epoch, 100 * v) for e, v in enumerate(h.test_error) if v is not None]
        if tests:
            ax.plot(*zip(*tests, strict=True), "o", color=color, label=f"{label}: test (end of epoch)")
    ax.axhline(90, color="0.6", ls=":", lw=1, label="chance (90%)")
    ax.set_xlabel("optimisation step")
    ax.set_ylabel(f"error (%), training: mean of {window} steps")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=9)


def training_summary(result: ExperimentResult, block: int = 50) -> str:
    """Test error, epochs and time of every variant, the network's size, and the mean training loss of
    every ``block`` steps (to see how long the loss stays at chance)."""
    m = result.metrics
    out = []
    for variant, err in m["test_error"].items():
        h = result.histories[variant]
        shown = "none (the loss diverged)" if err is None else f"{100 * err:.1f}%"
        out.append(f"{variant}: test error {shown} on {m['n_test']:,} test images\n"
                   f"    after {h.epochs_done} epoch{'s' if h.epochs_done != 1 else ''} "
                   f"on {m['n_train']:,} training images "
                   f"({h.total_time_s:.0f} s, {h.stopped})")  # fmt: skip
    out.append(f"googlenet_cifar at width {m['settings']['width']}: {m['params']:,} parameters, "
               f"{m['macs'] / 1e6:.1f}M multiply-adds per 32x32 image")  # fmt: skip
    for variant, h in result.histories.items():
        loss = h.train_loss
        means = [sum(loss[i : i + block]) / len(loss[i : i + block]) for i in range(0, len(loss), block)]
        out.append(f"{variant}: mean training loss of steps 1-{block}, {block + 1}-{2 * block}, ...:\n    "
                   + ", ".join(f"{v:.2f}" for v in means))  # fmt: skip
    return "\n".join(out)


def run_text(result: ExperimentResult, block: int = 50, near_chance: float = 2.2) -> str:
    """What this run is, generated from it: how long it trained, where, and for how many steps the mean
    training loss stayed near chance (ln 10 ≈ 2.30; "near": above ``near_chance``, in blocks of
    ``block`` steps)."""
    m = result.metrics
    first = next(iter(result.histories.values()))
    seconds = sum(h.total_time_s for h in result.histories.values())
    device = str(result.run_info.get("device", "an unrecorded device")).split(": ", 1)[-1]
    means = [sum(first.train_loss[i : i + block]) / len(first.train_loss[i : i + block])
             for i in range(0, len(first.train_loss), block)]  # fmt: skip
    stuck = next((i for i, v in enumerate(means) if v <= near_chance), None)
    if stuck is None:
        start = (f"the mean training loss printed above never fell below {near_chance} (chance is ln 10 ≈ "
                 "2.30) in this run")  # fmt: skip
    elif stuck == 0:
        start = f"the mean training loss printed above was below {near_chance} from its first {block} steps"
    else:
        start = (f"the mean training loss printed above stayed near its chance value (ln 10 ≈ 2.30) for the "
                 f"first {stuck * block} steps before it fell below {near_chance}")  # fmt: skip
    epochs = f"{first.epochs_done} epoch{'s' if first.epochs_done != 1 else ''}"
    return (f"{common.small_run_lead(result)} It trained {epochs} on {m['n_train']:,} images "
            f"at width {m['settings']['width']:g}, {seconds:.0f} s of training in all on {device}. Its test "
            "error says how far a 22-layer network without batch normalisation gets in that budget, not "
            f"what GoogLeNet can do on CIFAR-10. Such a network also starts slowly: {start}.")  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# The claims and the closing page (notebooks/googlenet_summary.md)


def _aux_gap(r: ExperimentResult) -> Measurement:
    e = r.metrics["test_error"]
    if "no_aux" not in e:
        raise NotMeasured(f"only the auxiliary variant is trained in the {r.profile} profile")
    if e["aux"] is None or e["no_aux"] is None:
        raise NotMeasured("a variant diverged")
    return error_gap(e["no_aux"], e["aux"], r.metrics["n_test"], labels=("without", "with"))


_COUNTS = "counts"  # the counted object the arithmetic claims read (see counted())
_CITE = "szegedy2015going"
_SRC = "Szegedy et al. 2015"
_K, _M = _paper_totals()


def _count(key: str, where: str, statement: str, paper_value: str, method: str, read: Any,
           target: float, tolerance: float = 0.0) -> Claim:  # fmt: skip
    return Claim(key, _CITE, where, statement, paper_value, f"{_SRC}, {where}", method, _COUNTS, read,
                 kind="exact", target=target, tolerance=tolerance)  # fmt: skip


#: The chapter's claims, in the order of its "Paper vs. this book" table.
LEDGER = Ledger("googlenet", "GoogLeNet", "googlenet-paper-vs-book", (
    _count("ops_3a", "Table 1",
           f"Inception (3a) with its reductions needs {papers.GOOGLENET_TABLE1['3a'][1]}M multiply-adds",
           f"{papers.GOOGLENET_TABLE1['3a'][1]}M", "multiply-adds counted at 28×28",
           lambda c: Measurement(c["s3a"].reduced.macs, f"{c['s3a'].reduced.macs / 1e6:.1f}M "
                                 f"({c['s3a'].ratio('macs'):.1f}× fewer than the naive module)"),
           papers.GOOGLENET_TABLE1["3a"][1] * 1e6, tolerance=0.005),
    _count("depth", "Sec. 5",
           f"GoogLeNet is {papers.network('GoogLeNet').depth} layers deep, counting layers with parameters",
           str(papers.network("GoogLeNet").depth), "weight layers on the longest path",
           lambda c: Measurement(c["facts"].depth, str(c["facts"].depth)),
           papers.network("GoogLeNet").depth),
    _count("depth_pools", "Sec. 5",
           f"GoogLeNet is {papers.GOOGLENET_DEPTH_WITH_POOLS} layers deep counting pooling layers too",
           str(papers.GOOGLENET_DEPTH_WITH_POOLS), "weight and pooling layers on the longest path",
           lambda c: Measurement(c["facts"].depth_with_pools, str(c["facts"].depth_with_pools)),
           papers.GOOGLENET_DEPTH_WITH_POOLS),
    _count("weights", "Table 1", "Table 1's params column sums to the network's weights",
           f"{_K:,.1f}K (sum of the rows)",
           "weights counted, in Table 1's K = 1024 (the paper rounds each row)",
           lambda c: Measurement(c["facts"].weights / 1024, f"{c['facts'].weights / 1024:,.1f}K"),
           _K, tolerance=0.01),
    _count("ops", "Sec. 1, Table 1",
           f"Inference costs about {papers.GOOGLENET_BUDGET_MACS / 1e9:.1f} billion multiply-adds",
           f"budget {papers.GOOGLENET_BUDGET_MACS / 1e9:.1f} billion; Table 1 sums to {_M:,}M",
           "multiply-adds counted at 224×224, against Table 1's sum",
           lambda c: Measurement(c["facts"].macs / 1e6, f"{c['facts'].macs / 1e6:,.0f}M"), _M,
           tolerance=0.01),
    _count("param_ratio", "Sec. 1",
           f"GoogLeNet has {papers.GOOGLENET_PARAM_RATIO} times fewer parameters than AlexNet",
           f"{papers.GOOGLENET_PARAM_RATIO}×", "AlexNet's counted parameters over GoogLeNet's",
           lambda c: Measurement(c["facts"].alexnet_ratio, f"{c['facts'].alexnet_ratio:.1f}× "
                                 f"({c['facts'].alexnet_params:,} / {c['facts'].params:,})"),
           papers.GOOGLENET_PARAM_RATIO, tolerance=0.05),
    Claim("aux_helps", _CITE, "Sec. 5", "The auxiliary classifiers help training (gradient signal, "
          "regularisation)", f"expected, no figure given (loss weight {papers.GOOGLENET_AUX_WEIGHT})",
          f"{_SRC}, Sec. 5", "CIFAR-10 test error without vs. with the auxiliary heads, same seed",
          "train", _aux_gap, noise="binomial SE of each test error"),
))  # fmt: skip


def counted() -> dict[str, Any]:
    """The objects the chapter's arithmetic claims read (the scoreboard computes them without the page)."""
    return {_COUNTS: {"s3a": googlenet.branch_savings("3a"), "facts": googlenet.network_facts()}}


def data_note() -> str:
    """The data the archived runs read (the lossy-copy note above the verdict table), from the archive
    the chapter quotes; a chapter without an archive says so."""
    archived = common.quoted_archive("googlenet", "train")
    if archived is None:
        return "**Data.** No archived run yet: the trained claim has no evidence."
    quality = str(archived.run_info.get("data_quality") or "source not recorded").split(" — ")[0]
    return f"**Data.** The archived runs' CIFAR-10: {quality}."


def summary_points(ev: Sequence[Evidence]) -> list[str]:
    """The chapter's five findings, generated: what the reductions save in inception (3a), counted;
    then the paper's parameter ratio, its multiply-add budget, its Table 1 and its auxiliary heads, each
    from the claim's best evidence (:func:`ecg_lib.chapters.summary.finding`), so a changed count or
    verdict changes its sentence."""
    from ecg_lib.chapters.summary import finding

    by = {e.claim.key: e for e in ev}
    s3a = googlenet.branch_savings("3a")
    five = next(b for b in s3a.branches if b.branch == "5x5")
    lines = googlenet.table1_comparison()
    agree = sum(rounding_agrees(line.paper_params_k, line.ours.params_k) for line in lines)
    reductions = (f"The 1×1 reductions make inception (3a) {s3a.ratio('macs'):.1f} times cheaper in "
                  "multiply-adds. The \"about ten times\" often quoted is the saving of its 5×5 branch "
                  f"alone, {five.mac_ratio:.1f} times.")  # fmt: skip
    table1 = (f"{finding(by['weights'])} Row by row the column is less exact: {agree} of its "
              f"{len(lines)} params entries agree with the channel numbers.")  # fmt: skip
    return [reductions, finding(by["param_ratio"]), finding(by["ops"]), table1, finding(by["aux_helps"])]


# ----------------------------------------------------------------------------------------------------------
# Table 1 against its own channel numbers, counted (instead of a typed count of agreeing rows)


def _printed_digits(value: float) -> int:
    """Decimals Table 1 prints for ``value`` (2.7 -> 1, 364 -> 0)."""
    return 0 if float(value).is_integer() else len(repr(float(value)).split(".")[1])


def rounding_agrees(printed: float, counted: float) -> bool:
    """True if ``printed`` is ``counted`` rounded or truncated to the digits the table prints (the table
    does both: (3a)'s 159.5K is printed as 159, conv2's 359.7M as 360)."""
    d = _printed_digits(printed)
    scale = 10**d
    return round(printed * scale) in (round(counted * scale), int(counted * scale))


def _agreeing(names: Sequence[str], n: int, column: str) -> str:
    """One sentence on which of a column's ``n`` entries agree: none, all, or how many and which."""
    if not names:
        return f"None of the {n} {column} entries agrees with the channel numbers."
    if len(names) == n:
        return f"All {n} {column} entries agree with the channel numbers."
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    return f"{len(names)} of the {n} {column} entries agree with the channel numbers: {listed}."


def table1_agreement_text(lines: Sequence[googlenet.Table1Line]) -> str:
    """How many of Table 1's params and ops entries agree with the counts from its own channel numbers, up
    to its rounding, and how far the others are off: generated from the counts, one count per sentence."""
    n = len(lines)
    params_ok = [line.name for line in lines if rounding_agrees(line.paper_params_k, line.ours.params_k)]
    ops_ok = [line.name for line in lines if rounding_agrees(line.paper_ops_m, line.ours.ops_m)]
    off = [line for line in lines if line.name not in params_ok]
    text = ("An entry agrees when it is the count rounded or truncated to the digits the table prints. "
            f"{_agreeing(params_ok, n, 'params')} {_agreeing(ops_ok, n, 'ops')}")  # fmt: skip
    if off:
        worst = max(off, key=lambda line: abs(line.params_diff))
        listed = "; ".join(f"{line.name} {line.paper_params_k:g}K against {line.ours.params_k:,.1f}K "
                           f"({100 * line.params_diff:+.1f}%)" for line in off)  # fmt: skip
        text += (f" The other params entries, printed against counted: {listed}. The largest gap is "
                 f"{worst.name}'s, {100 * worst.params_diff:+.1f}%.")  # fmt: skip
    return text
