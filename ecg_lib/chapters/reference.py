"""What the trained reference networks (:mod:`ecg_lib.experiments.reference`) show on a page: the ResNet
chapter's section "Trained networks" (error against depth beside Table 6, Veit et al.'s lesion study on
the trained ResNet-56, per-block gradients and activations) and the data-source note that the "Paper vs.
this book" tables of the ResNet and comparison chapters carry.

Every number in a sentence here is read from a result; the wording that depends on a number (a verdict)
is chosen by comparing numbers, so it flips when they do. Errors are fractions, printed as percentages.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ecg_lib import papers
from ecg_lib.chapters import common
from ecg_lib.chapters.common import pct
from ecg_lib.experiments import ExperimentResult

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ecg_lib.chapters.explorers import Explorer

__all__ = [
    "CHANCE",
    "SOURCES",
    "additive_estimate",
    "block_stats_table",
    "block_stats_text",
    "data_note",
    "depth_table",
    "depth_text",
    "k_rows",
    "lesion_explorer",
    "lesion_k_table",
    "lesion_text",
    "lossy_effect",
    "offsets_text",
    "plot_block_stats",
    "plot_depth",
    "plot_lesions",
    "published_errors",
    "show_block_stats",
    "show_depth",
    "show_lesions",
    "single_summary",
]

CHANCE = 0.9  # ten classes
# A net closer to chance than this has too little left to lose for its lesions to say much.
_NEAR_CHANCE = 0.25
_LABEL = "trained elsewhere on the original CIFAR-10, evaluated here"


def _depth(name: str) -> int:
    return int(name.removeprefix("resnet"))


def _se(error: float, n: int) -> float:
    return math.sqrt(max(error * (1 - error), 1e-12) / n)


# ----------------------------------------------------------------------------------------------------------
# Error against depth, and the size of the lossy-copy effect


#: The publisher's two figures on the original test set, as the pages name them.
SOURCES = {"readme": "the publisher's README table", "best_epoch": "the files' best_prec1 (best epoch)"}


def published_errors(metrics: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Per network, the publisher's two test errors on the original test set (fractions): ``readme``,
    from their README table, and ``best_epoch``, 1 - the ``best_prec1`` stored in the file (the best
    epoch's accuracy; the weights are the last epoch's). Read from the result's metrics; archives
    written before both were kept hold ``reported_accuracy`` (the files' best_prec1) and take the README
    figure from :data:`ecg_lib.pretrained.PRETRAINED`."""
    from ecg_lib.pretrained import PRETRAINED

    best = metrics.get("best_prec1", metrics.get("reported_accuracy"))
    if best is None:
        raise KeyError("the reference result holds neither best_prec1 nor reported_accuracy")
    readme = metrics.get("readme_error") or {n: PRETRAINED[n].readme_error for n in best}
    return {n: {"readme": readme[n] / 100, "best_epoch": 1 - best[n] / 100} for n in metrics["errors"]}


def lossy_effect(depth: ExperimentResult, against: str = "readme") -> dict[str, float]:
    """Per network: measured error here minus the publisher's error on the original test set (fractions;
    positive: worse here), ``against`` their README table (``"readme"``, the closer description of the
    weights) or the files' best-epoch figure (``"best_epoch"``). On the lossy copy this is the copy's
    cost to a trained network."""
    pub = published_errors(depth.metrics)
    return {n: e["error"] - pub[n][against] for n, e in depth.metrics["errors"].items()}


def offsets_text(result: ExperimentResult, name: str = "ResNet") -> str:
    """``ResNet-20 +9.8 / +9.7, ...`` (points): measured error minus the publisher's README figure / minus
    the files' best-epoch figure, for each reference network of ``result``."""
    a, b = lossy_effect(result, "readme"), lossy_effect(result, "best_epoch")
    return ", ".join(f"{name}-{_depth(n)} {100 * a[n]:+.1f} / {100 * b[n]:+.1f}" for n in a)


def depth_table(depth: ExperimentResult) -> str:
    """One row per reference network: Table 6's error, the publisher's two (README table; the files'
    best epoch), the one measured here and the difference from each of the publisher's (points)."""
    m, pub = depth.metrics, published_errors(depth.metrics)
    readme, best = lossy_effect(depth, "readme"), lossy_effect(depth, "best_epoch")
    rows = []
    for name, e in m["errors"].items():
        d = _depth(name)
        rows.append((f"ResNet-{d}", f"{100 * papers.RESNET_TABLE6[d][1]:.2f}%",
                     f"{100 * pub[name]['readme']:.2f}%", f"{100 * pub[name]['best_epoch']:.2f}%",
                     f"{pct(e['error'], 2)} ± {100 * _se(e['error'], e['n']):.1f} "
                     f"({e['correct']:,} of {e['n']:,})",
                     f"{100 * readme[name]:+.1f} / {100 * best[name]:+.1f} points"))  # fmt: skip
    return common.markdown_table(
        ("network", "test error, paper (Table 6)", "publisher's README table (original test set)",
         "files' best_prec1, best epoch (original test set)", "measured here (± 1 SE)",
         "here minus README / minus best epoch"), rows,
    )  # fmt: skip


def depth_text(depth: ExperimentResult) -> str:
    """The measured paragraph: what the copy costs a trained network, and whether error falls with depth."""
    m, pub = depth.metrics, published_errors(depth.metrics)
    errs = {n: e["error"] for n, e in m["errors"].items()}
    names = list(errs)
    n = next(iter(m["errors"].values()))["n"]
    se = max(_se(e, n) for e in errs.values())
    effects = {k: lossy_effect(depth, k) for k in SOURCES}
    lo = min(min(v.values()) for v in effects.values())
    hi = max(max(v.values()) for v in effects.values())
    first, last = names[0], names[-1]
    quality = (m.get("data_quality") or "source not recorded").split(" — ")[0]
    readme = ", ".join(f"{100 * pub[k]['readme']:.2f}%" for k in names)
    best = ", ".join(f"{100 * pub[k]['best_epoch']:.2f}%" for k in names)
    falls = all(errs[a] >= errs[b] for a, b in itertools.pairwise(names))
    if falls:
        order = "falls with every step in depth, as in Table 6"
    elif errs[last] < errs[first] - 2 * se * math.sqrt(2):
        order = ("falls from the shallowest to the deepest net, though not at every step (neighbouring "
                 "depths differ by about the sampling noise)")  # fmt: skip
    else:
        order = "does not fall measurably with depth on these images (the differences are within the noise)"
    return (
        f"**Measured.** On {n:,} test images of this chapter's data ({quality}), the four networks score "
        f"{', '.join(pct(errs[k]) for k in names)} test error "
        f"(sampling standard error up to {100 * se:.1f} points). On the original test set their "
        f"publisher's README table gives {readme}; the files themselves store the best epoch's accuracy "
        f"(best_prec1), {best} as errors, while their weights are the last epoch's. Against either figure "
        f"each network is {100 * lo:+.1f} to {100 * hi:+.1f} points off here: that is the size of the data "
        f"effect on these networks. The error {order}: "
        f"ResNet-{_depth(first)} {pct(errs[first])}, ResNet-{_depth(last)} {pct(errs[last])}."
    )


def plot_depth(depth: ExperimentResult, ax: Axes) -> Axes:
    """Test error (%) against depth: Table 6, the publisher's figures, and this data (± 1 SE)."""
    m = depth.metrics
    names = list(m["errors"])
    ds = [_depth(n) for n in names]
    ax.plot(ds, [100 * papers.RESNET_TABLE6[d][1] for d in ds], "s--", color="0.4", label="paper (Table 6)")
    pub = published_errors(m)
    ax.plot(ds, [100 * pub[n]["readme"] for n in names], "o:", color="tab:green",
            label="publisher's README table, original test set")  # fmt: skip
    ax.plot(ds, [100 * pub[n]["best_epoch"] for n in names], "^:", color="tab:olive",
            label="files' best_prec1 (best epoch), original test set")  # fmt: skip
    errs = [m["errors"][n]["error"] for n in names]
    ses = [100 * _se(e, m["errors"][n]["n"]) for e, n in zip(errs, names, strict=True)]
    ax.errorbar(ds, [100 * e for e in errs], yerr=ses, fmt="o-", color="tab:red", capsize=3,
                label="measured here")  # fmt: skip
    ax.set_xticks(ds)
    ax.set_xlabel("depth (weight layers)")
    ax.set_ylabel("test error (%)")
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def show_depth(depth: ExperimentResult) -> None:
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(6.5, 3.8))
    plot_depth(depth, ax)
    ax.set_title(f"trained ResNets, {_LABEL}", fontsize=9)
    plt.tight_layout()
    plt.show()


def data_note(depth: ExperimentResult | None, data_quality: str | None = None) -> str:
    """The line above a "Paper vs. this book" table: what the data is, and (with the references' depth
    result) the measured size of the lossy-copy effect against both of the publisher's figures."""
    quality = data_quality or (depth.metrics.get("data_quality") if depth is not None else None)
    text = f"**Data.** This run's CIFAR-10: {quality or 'source not recorded'}."
    if depth is not None:
        n = next(iter(depth.metrics["errors"].values()))["n"]
        text += (f" Measured on the trained reference networks ({n:,} test images), this data moves a "
                 f"network's test error from the publisher's figure on the original test set by "
                 f"{offsets_text(depth)} points (against their README table / against the files' best-epoch "
                 "best_prec1); read absolute errors against the papers' with that offset in mind."
                 )  # fmt: skip
    return text


# ----------------------------------------------------------------------------------------------------------
# Lesions of the trained ResNet-56 (Veit et al., 2016)


def _singles(lesions: ExperimentResult) -> list[dict[str, Any]]:
    return [r for r in lesions.metrics["single"] if r["block"] != -1]


def single_summary(lesions: ExperimentResult) -> dict[str, float]:
    """Single deletions of ordinary blocks (shape kept): median, min, max and mean change (fractions)
    against the intact net, and the largest change from a downsampling block."""
    intact = lesions.metrics["intact_error"]
    same = [r["error"] - intact for r in _singles(lesions) if not r["downsampling"]]
    down = [r["error"] - intact for r in _singles(lesions) if r["downsampling"]]
    return {"median": statistics.median(same), "min": min(same), "max": max(same),
            "mean": statistics.fmean(same), "std": statistics.stdev(same) if len(same) > 1 else 0.0,
            "n": len(same), "downsampling": max(down) if down else float("nan")}  # fmt: skip


def additive_estimate(lesions: ExperimentResult, deleted: Sequence[int]) -> float:
    """The error if the blocks' effects simply added up: intact + the sum of their single-deletion
    changes (capped at chance). What an ensemble of independent members would roughly give."""
    intact = lesions.metrics["intact_error"]
    by_block = {r["block"]: r["error"] for r in _singles(lesions)}
    return min(CHANCE, intact + sum(by_block[b] - intact for b in deleted))


def k_rows(lesions: ExperimentResult) -> list[dict[str, Any]]:
    """Error against the number of deleted blocks: ``k = 0`` (intact), ``k = 1`` (every ordinary block
    alone), then each random ``k`` (mean, sd, min, max over repeats, and the additive estimate)."""
    m = lesions.metrics
    intact = m["intact_error"]
    s = single_summary(lesions)
    singles = [r["error"] for r in _singles(lesions) if not r["downsampling"]]
    rows = [{"k": 0, "kind": "intact", "mean": intact, "std": 0.0, "min": intact, "max": intact, "n": 1,
             "additive": intact},
            {"k": 1, "kind": "each ordinary block", "mean": intact + s["mean"], "std": s["std"],
             "min": min(singles), "max": max(singles), "n": s["n"],
             "additive": intact + s["mean"]}]  # fmt: skip
    for k, v in sorted(m["random"].items(), key=lambda kv: int(kv[0])):
        add = statistics.fmean(additive_estimate(lesions, d) for d in v["sets"])
        rows.append({"k": int(k), "kind": "random", **{f: v[f] for f in ("mean", "std", "min", "max", "n")},
                     "additive": add})  # fmt: skip
    for k, v in sorted(m["contiguous"].items(), key=lambda kv: int(kv[0])):
        starts = v["starts"]
        add = statistics.fmean(additive_estimate(lesions, range(st, st + int(k))) for st in starts)
        rows.append({"k": int(k), "kind": "contiguous",
                     **{f: v[f] for f in ("mean", "std", "min", "max", "n")}, "additive": add})  # fmt: skip
    return rows


def _share(error: float, intact: float) -> float:
    return (error - intact) / (CHANCE - intact) if CHANCE > intact else float("nan")


def lesion_k_table(lesions: ExperimentResult) -> str:
    """Error against the number of deleted blocks (Veit et al., Fig. 5a), with the spread over repeats."""
    intact = lesions.metrics["intact_error"]
    return common.markdown_table(
        ("blocks deleted", "which", "sets", "test error, mean ± sd", "min – max",
         "share of the way to chance", "if the effects added up"),
        [(r["k"], r["kind"], r["n"], f"{pct(r['mean'])} ± {100 * r['std']:.1f}",
          f"{pct(r['min'])} – {pct(r['max'])}", f"{100 * _share(r['mean'], intact):.0f}%",
          pct(r["additive"])) for r in k_rows(lesions)],
    )  # fmt: skip


def lesion_text(lesions: ExperimentResult, quick_resnet56: Sequence[Any] | None = None) -> str:
    """The measured paragraph on the trained net's lesions: single deletions against the sampling noise,
    the rise with ``k`` against the additive estimate, the verdict on ensemble-like behaviour, and (with
    the quick-profile ResNet-56's ``lesion_study`` output) the comparison with the net trained here."""
    m = lesions.metrics
    intact, se, n = m["intact_error"], m["sampling_se"], m["n_test"]
    s = single_summary(lesions)
    rand = [r for r in k_rows(lesions) if r["kind"] == "random"]
    top = rand[-1]
    eligible = s["n"]
    small = s["median"] <= 2 * se
    single = (f"deleting one of its {eligible} ordinary blocks moves the error from {pct(intact)} by a "
              f"median {100 * s['median']:+.1f} points ({100 * s['min']:+.1f} to {100 * s['max']:+.1f}); a "
              f"downsampling block costs up to {100 * s['downsampling']:+.1f}. ")  # fmt: skip
    single += ("The median single deletion is within two sampling standard errors of the intact net: one "
               "block can go, as Veit et al. found. " if small else
               "Even the median single deletion is more than two sampling standard errors above the intact "
               "net. ")  # fmt: skip
    curve = ", ".join(f"k = {r['k']}: {pct(r['mean'])} ± {100 * r['std']:.1f}" for r in rand)
    share = _share(top["mean"], intact)
    gap = max(rand, key=lambda r: abs(r["mean"] - r["additive"]))  # where measured and additive differ most
    if gap["mean"] > gap["additive"] + 2 * se:
        compound = (f"At k = {gap['k']} the measured {pct(gap['mean'])} is more than the "
                    f"{pct(gap['additive'])} the single deletions' "
                    "effects would add up to: the damage compounds, so the blocks do not behave like "
                    "independent members of an ensemble. ")  # fmt: skip
    elif gap["mean"] < gap["additive"] - 2 * se:
        compound = (f"At k = {gap['k']} the measured {pct(gap['mean'])} is less than the "
                    f"{pct(gap['additive'])} the single deletions' "
                    "effects would add up to, as for an ensemble whose members overlap. ")  # fmt: skip
    else:
        compound = (f"At k = {gap['k']} the measured {pct(gap['mean'])} is about what the single deletions' "
                    f"effects add up to "
                    f"({pct(gap['additive'])}). ")  # fmt: skip
    if small and share < 0.5:
        verdict = ("So the ensemble-like behaviour shows here: single blocks can go and the error rises "
                   "gradually with the number deleted.")  # fmt: skip
    elif small:
        verdict = (f"So the ensemble-like behaviour shows only in part: single blocks can go, but with "
                   f"{top['k']} of the {eligible} ordinary blocks deleted the net is {100 * share:.0f}% of "
                   "the way to chance, a much steeper rise than the gradual one Veit et al. "
                   "report.")  # fmt: skip
    else:
        verdict = "So the ensemble-like behaviour does not show here: single deletions already hurt."
    runs = ""
    for r in (r for r in k_rows(lesions) if r["kind"] == "contiguous"):
        same_k = next((q for q in rand if q["k"] == r["k"]), None)
        if same_k is not None:
            which = "more than" if r["mean"] > same_k["mean"] + 2 * se else (
                "less than" if r["mean"] < same_k["mean"] - 2 * se else "about as much as")  # fmt: skip
            runs += (f"Runs of {r['k']} consecutive blocks cost {which} {r['k']} random ones "
                     f"({pct(r['mean'])} ± {100 * r['std']:.1f} over {r['n']} runs, against "
                     f"{pct(same_k['mean'])}). ")  # fmt: skip
    text = (f"**Measured.** On {n:,} test images (sampling standard error {100 * se:.1f} points), {single}"
            f"Deleting k blocks at random ({top['n']} draws each): {curve}. "
            f"{compound}{runs}{verdict}")  # fmt: skip
    if quick_resnet56:
        q = [(r.error if hasattr(r, "error") else r["error"], r.downsampling if hasattr(r, "downsampling")
              else r["downsampling"]) for r in quick_resnet56]  # fmt: skip
        q_intact = q[0][0]
        q_med = statistics.median(e - q_intact for e, d in q[1:] if not d)
        trained_share = _share(intact + s["median"], intact)
        q_share = _share(q_intact + q_med, q_intact)
        text += (f" The ResNet-56 trained in this chapter (section 4, intact {pct(q_intact)}) loses a median "
                 f"{100 * q_med:+.1f} points per single deletion, {100 * q_share:.0f}% of its way to chance "
                 f"against {100 * trained_share:.0f}% for the fully trained net")  # fmt: skip
        if CHANCE - q_intact < _NEAR_CHANCE:
            text += (f"; but intact it is only {100 * (CHANCE - q_intact):.1f} points from chance, so its "
                     "small changes say that it has little left to lose, not that its blocks are "
                     "redundant.")  # fmt: skip
        else:
            more = "more" if q_share > trained_share else "less"
            text += f": {more} fragile per block."

    return text


def plot_lesions(lesions: ExperimentResult, ax_single: Axes, ax_k: Axes,
                 quick_resnet56: Sequence[Any] | None = None) -> None:  # fmt: skip
    """Left: the error with each block deleted (trained net; the quick net's as a thin line). Right: the
    error against the number of deleted blocks, mean ± sd over draws, min and max, and the additive
    estimate."""
    m = lesions.metrics
    singles = _singles(lesions)
    ax_single.plot([r["block"] + 1 for r in singles], [100 * r["error"] for r in singles], "o-", ms=3,
                   color="tab:red", label="trained ResNet-56")  # fmt: skip
    down = [r for r in singles if r["downsampling"]]
    ax_single.scatter([r["block"] + 1 for r in down], [100 * r["error"] for r in down], s=90,
                      facecolors="none", edgecolors="tab:red", zorder=3)  # fmt: skip
    ax_single.axhline(100 * m["intact_error"], color="tab:red", ls=":", lw=1)
    if quick_resnet56:
        q = [(r.block, r.error) if hasattr(r, "error") else (r["block"], r["error"]) for r in quick_resnet56]
        ax_single.plot([b + 1 for b, _ in q[1:]], [100 * e for _, e in q[1:]], "-", lw=1, color="tab:blue",
                       label="ResNet-56 trained in this chapter")  # fmt: skip
        ax_single.axhline(100 * q[0][1], color="tab:blue", ls=":", lw=1)
    ax_single.set_xlabel("deleted block (ringed: downsampling; dotted: intact)")
    ax_single.set_ylabel("test error (%)")
    rows = k_rows(lesions)
    rand = [r for r in rows if r["kind"] in ("intact", "each ordinary block", "random")]
    ks = [r["k"] for r in rand]
    ax_k.errorbar(ks, [100 * r["mean"] for r in rand], yerr=[100 * r["std"] for r in rand], fmt="o-",
                  color="tab:red", capsize=3, label="random blocks, mean ± sd")  # fmt: skip
    ax_k.fill_between(ks, [100 * r["min"] for r in rand], [100 * r["max"] for r in rand], color="tab:red",
                      alpha=0.15, label="min – max")  # fmt: skip
    ax_k.plot(ks, [100 * r["additive"] for r in rand], "--", color="0.4", label="if the effects added up")
    for r in rows:
        if r["kind"] == "contiguous":
            ax_k.errorbar([r["k"]], [100 * r["mean"]], yerr=[100 * r["std"]], fmt="D", color="tab:purple",
                          capsize=3, label=f"{r['k']} consecutive blocks")  # fmt: skip
    ax_k.set_xlabel("blocks deleted")
    for ax in (ax_single, ax_k):
        ax.axhline(100 * CHANCE, color="0.6", lw=0.8)
        ax.set_ylim(0, 100)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)


def show_lesions(lesions: ExperimentResult, quick_resnet56: Sequence[Any] | None = None) -> None:
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    plot_lesions(lesions, axes[0], axes[1], quick_resnet56)
    axes[0].set_title(f"one block deleted ({lesions.metrics['n_test']:,} test images)", fontsize=10)
    axes[1].set_title("k blocks deleted (Veit et al., Fig. 5a)", fontsize=10)
    plt.tight_layout()
    plt.show()


def lesion_explorer(lesions: ExperimentResult) -> Explorer:
    """The kernel-free lesion explorer over the trained ResNet-56: every single deletion, and every
    contiguous run and random set that was measured, shown as measured; other sets as the additive
    estimate."""
    from ecg_lib.chapters.explorers import lesion_explorer as build

    m = lesions.metrics
    singles = _singles(lesions)
    name = {r["block"]: r["name"] for r in singles}
    combos: dict[tuple[str, ...], float] = {}
    for k, v in m["contiguous"].items():
        for start, err in zip(v["starts"], v["errors"], strict=True):
            combos[tuple(name[b] for b in range(start, start + int(k)))] = err
    for v in m["random"].values():
        for deleted, err in zip(v["sets"], v["errors"], strict=True):
            combos[tuple(name[b] for b in deleted)] = err
    return build({r["name"]: r["error"] for r in singles}, m["intact_error"], combos=combos,
                 downsampling=[r["name"] for r in singles if r["downsampling"]],
                 title="Lesion study of the trained ResNet-56: delete blocks, read the test error",
                 source=f"Trained ResNet-56 ({_LABEL}, {m['n_test']:,} test images).")  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# Gradients and activations per block of the trained ResNet-56


def plot_block_stats(stats: ExperimentResult, axes: Sequence[Axes]) -> None:
    """Three panels per block: gradient norms (parameters, block output; log scale), ||F(x)|| / ||x||,
    and the output's fraction of zeros and its std."""
    rows = stats.metrics["blocks"]
    x = [r["block"] + 1 for r in rows]
    a, b, c = axes
    a.plot(x, [r["grad_norm"] for r in rows], "o-", ms=3, label="‖∂L/∂θ‖, block parameters")
    a.plot(x, [r["out_grad_norm"] for r in rows], "s-", ms=3, label="‖∂L/∂y‖ at the block output")
    a.set_yscale("log")
    b.plot(x, [r["residual_ratio"] for r in rows], "o-", ms=3, color="tab:red")
    b.axhline(1, color="0.6", lw=0.8)
    b.set_ylabel("‖F(x)‖ / ‖x‖")
    c.plot(x, [r["out_zero_frac"] for r in rows], "o-", ms=3, label="output: fraction of zeros")
    c.plot(x, [r["out_std"] for r in rows], "s-", ms=3, label="output: std")
    for ax in axes:
        for r in rows:
            if r["downsampling"]:
                ax.axvline(r["block"] + 1, color="0.7", lw=0.8, ls="--")
        ax.set_xlabel("block (dashed: downsampling)")
        ax.grid(alpha=0.3)
    a.legend(fontsize=8)
    c.legend(fontsize=8)


def show_block_stats(stats: ExperimentResult) -> None:
    import matplotlib.pyplot as plt

    _, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    plot_block_stats(stats, axes)
    axes[0].set_title("gradient norms", fontsize=10)
    axes[1].set_title("size of the residual", fontsize=10)
    axes[2].set_title("activations", fontsize=10)
    plt.tight_layout()
    plt.show()


def _stage_rows(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        out.setdefault(str(r["name"]).split(".")[0], []).append(r)
    return out


def block_stats_table(stats: ExperimentResult) -> str:
    """Per stage: medians of the per-block statistics."""
    rows = []
    for stage, rs in _stage_rows(stats.metrics["blocks"]).items():
        keys = ("grad_norm", "out_grad_norm", "residual_ratio", "out_zero_frac", "out_std")
        med = {k: statistics.median(r[k] for r in rs) for k in keys}
        rows.append((stage, len(rs), f"{med['grad_norm']:.3g}", f"{med['out_grad_norm']:.3g}",
                     f"{med['residual_ratio']:.2f}", f"{100 * med['out_zero_frac']:.0f}%",
                     f"{med['out_std']:.2f}"))  # fmt: skip
    return common.markdown_table(
        ("stage", "blocks", "‖∂L/∂θ‖ (median)", "‖∂L/∂y‖ (median)", "‖F(x)‖/‖x‖ (median)", "zeros (median)",
         "output std (median)"), rows,
    )  # fmt: skip


def block_stats_text(stats: ExperimentResult) -> str:
    """The measured paragraph: how large the residuals are against what passes the shortcut, and how the
    gradient changes from the first block to the last."""
    rows = stats.metrics["blocks"]
    ratios = [r["residual_ratio"] for r in rows]
    med = statistics.median(ratios)
    big = max(rows, key=lambda r: r["residual_ratio"])
    g = [r["grad_norm"] for r in rows]
    og = [r["out_grad_norm"] for r in rows]
    zeros = [r["out_zero_frac"] for r in rows]
    size = ("smaller than what passes through the shortcut in most blocks, in line with He et al.'s Fig. 7 "
            "(trained residual functions are small)" if med < 1 else
            "not smaller than what passes through the shortcut in most blocks, unlike He et al.'s "
            "Fig. 7")  # fmt: skip
    trend = "grows" if og[0] > og[-1] else "shrinks"
    return (
        f"**Measured.** On {stats.metrics['settings']['probe_batch']:,} test images, the residual F(x) of a "
        f"block of the trained ResNet-56 has a median {med:.2f} of the norm of its shortcut's output "
        f"(from {min(ratios):.2f} to {max(ratios):.2f}, largest in {big['name']}): {size}. The gradient at "
        f"a block's output {trend} from the last block ({og[-1]:.3g}) back to the first ({og[0]:.3g}), a "
        f"factor of {og[0] / og[-1]:.2g}; over the blocks' parameters it ranges from {min(g):.3g} to "
        f"{max(g):.3g}. "
        f"Between {100 * min(zeros):.0f}% and {100 * max(zeros):.0f}% of each block's outputs are zero after "
        "its ReLU."
    )
