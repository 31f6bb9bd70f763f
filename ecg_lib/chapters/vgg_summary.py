"""The VGG chapter's archived runs in words: the table and sentence comparing the runs with and without batch
normalisation (``notebooks/vgg_trained.md``), and the closing page's (``notebooks/vgg_summary.md``) data
note and five points, generated from the chapter's evidence (:func:`ecg_lib.chapters.summary.evidence`).
Re-exported by :mod:`ecg_lib.chapters.vgg`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ecg_lib import papers
from ecg_lib.chapters import common
from ecg_lib.chapters.common import join_words
from ecg_lib.claim_ledgers import Evidence, archived_seeds
from ecg_lib.claim_tally import best_verdict
from ecg_lib.experiments import vgg
from ecg_lib.models.vgg import CONFIGS

__all__ = ["bn_sentence", "bn_table", "data_note", "summary_points"]

#: Guessing among CIFAR-10's ten classes errs on 90% of images; a network whose training error stays
#: within 5 points of that after its run has not trained (a trained one falls far below it within an epoch).
CHANCE, NEAR_CHANCE = 0.90, 0.05
_ORDER = tuple(CONFIGS)  # Table 1's order: A, A-LRN, B, C, D, E


def _per_config(experiment: str, root: str | os.PathLike | None) -> tuple[dict[str, dict[str, list]], int]:
    """``({config: {"test": [...], "train": [...], "layers": [n]}}, epochs)`` over every seed of the
    archived standard runs of ``experiment`` (a run's metrics are ``"<config>"`` for one seed,
    ``"<config>/seed<k>"`` for several)."""
    out: dict[str, dict[str, list]] = {}
    epochs = 0
    for _, r in archived_seeds("vgg", (experiment,), root)["standard"][experiment]:
        epochs = int(r.metrics["settings"]["train"]["epochs"])
        for label, m in r.metrics.items():
            config = label.split("/seed")[0]  # a run of one seed labels its metrics by config alone
            if config not in _ORDER:
                continue
            row = out.setdefault(config, {"test": [], "train": [], "layers": []})
            row["test"].append(m["test_error"])
            row["train"].append(m["train_error"])
            row["layers"] = [m["weight_layers"]]
    return out, epochs


def _errors(row: dict[str, list] | None) -> str:
    # test / last-epoch training error, means over the seeds, which are counted when there are several
    if row is None:
        return "not trained"
    n = len(row["test"])
    text = f"{100 * sum(row['test']) / n:.1f}% / {100 * sum(row['train']) / n:.1f}%"
    return text + (f" ({n} seeds)" if n > 1 else "")


def bn_table(root: str | os.PathLike | None = None) -> str:
    """Each configuration's test and last-epoch training error in the archived standard runs with batch
    normalisation (``train_configs``) and without (``train_configs_nobn`` and its seeds); "" until the run
    without BN is archived."""
    with_bn, _ = _per_config("train_configs", root)
    without, _ = _per_config("train_configs_nobn", root)
    if not without:
        return ""
    configs = [c for c in _ORDER if c in with_bn or c in without]
    rows = [(c, (without.get(c) or with_bn[c])["layers"][0], _errors(with_bn.get(c)), _errors(without.get(c)))
            for c in configs]  # fmt: skip
    return common.markdown_table(["configuration", "weight layers", "with BN: test / training error",
                                  "without BN: test / training error"], rows)  # fmt: skip


def _fit_clause(without: dict[str, dict[str, list]], epochs: int) -> str:
    """" D's training error is higher than A's too, ..." (leading space) when the deeper net of the depth
    claim is behind A in both test and training error: in this budget it fits the training images less
    well, which a reader should know before reading its test error as the effect of depth; "" otherwise."""
    mean = {c: {k: sum(r[k]) / len(r[k]) for k in ("test", "train")} for c, r in without.items()}
    shallow, deep = mean.get("A"), mean.get("D")
    if shallow is None or deep is None:
        return ""
    if deep["test"] <= shallow["test"] or deep["train"] <= shallow["train"]:
        return ""
    return (f" D's training error is higher than A's too, so in {epochs} epochs the deeper network fits "
            f"the training images less well: its higher test error comes with a slower fit.")  # fmt: skip


def bn_sentence(root: str | os.PathLike | None = None) -> str:
    """Which configurations trained without batch normalisation in the archived standard run: those whose
    last-epoch training error stayed within :data:`NEAR_CHANCE` of chance did not; "" without an archive."""
    without, epochs = _per_config("train_configs_nobn", root)
    if not without:
        return ""
    train = {c: sum(r["train"]) / len(r["train"]) for c, r in without.items()}
    stuck = [c for c in _ORDER if c in train and train[c] >= CHANCE - NEAR_CHANCE]
    moved = [c for c in _ORDER if c in train and c not in stuck]
    if not stuck:
        each = join_words([f"{100 * train[c]:.1f}% ({c})" for c in moved])
        return (f"Without batch normalisation every configuration trained in {epochs} epochs: the last "
                f"epoch's training error was {each}.{_fit_clause(without, epochs)}")  # fmt: skip
    who = join_words(stuck)
    own = "its" if len(stuck) == 1 else "their"
    was = join_words([f"{100 * train[c]:.1f}%" for c in stuck])
    text = (f"Without batch normalisation {who} did not train in {epochs} epochs: {own} training error in "
            f"the last epoch was {was}, within {100 * NEAR_CHANCE:.0f} points of chance "
            f"({100 * CHANCE:.0f}%).")  # fmt: skip
    if moved:
        lo, hi = min(train[c] for c in moved), max(train[c] for c in moved)
        text += f" {join_words(moved)} trained (training error {_pct_range([lo, hi])})."
    return text


def _pct_range(values: Sequence[float]) -> str:
    """``[0.861, 0.931]`` -> "86.1% to 93.1%"; one value when they round alike (no range from x to x)."""
    lo, hi = f"{100 * min(values):.1f}%", f"{100 * max(values):.1f}%"
    return lo if lo == hi else f"{lo} to {hi}"


# ----------------------------------------------------------------------------------------------------------
# The closing page: the data note, five points


def data_note(root: str | os.PathLike | None = None) -> str:
    """The line above the closing verdict table: what CIFAR-10 the archived runs behind the trained
    verdicts read (the copy's quality and why it matters), or that there is no archive yet."""
    from ecg_lib.results import find_archives

    found = find_archives("vgg", "train_configs", root)
    if not found:
        return "**Data.** No archived run yet: the trained claims have no evidence."
    quality = {p: r.run_info.get("data_quality") or "source not recorded" for p, r in found.items()}
    notes = [f"the archived {profile} run's CIFAR-10: {q}" for profile, q in quality.items()]
    text = "; ".join(notes)
    return f"**Data.** {text[0].upper()}{text[1:]}."


def _verdicts(ev: Mapping[str, Evidence], keys: Sequence[str]) -> str:
    """The verdicts of ``keys`` in a few words: "**reproduced**" when they agree ("both **reproduced**",
    "all six **reproduced**" for several), else each claim with its own."""
    verdicts = [best_verdict(ev[k]) for k in keys]  # the verdict the closing table shows
    if len(set(verdicts)) > 1:
        return "; ".join(f"{ev[k].claim.statement}: **{v}**" for k, v in zip(keys, verdicts, strict=True))
    if len(keys) == 1:
        return f"**{verdicts[0]}**"
    return f"{'both' if len(keys) == 2 else f'all {_number(len(keys))}'} **{verdicts[0]}**"


def _number(n: int) -> str:
    """A small count in words, as a sentence writes it ("three 1×1 layers"), larger ones in figures."""
    words = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    return words[n] if 0 <= n < len(words) else f"{n:,}"


def _value(ev: Mapping[str, Evidence], key: str) -> float:
    """A counted claim's measured value (its count is the same in every profile: the live cell)."""
    m = ev[key].cells["live"].measurement
    if m is None:
        raise ValueError(f"claim {key!r} has no count")
    return m.value


def summary_points(ev: Sequence[Evidence]) -> list[str]:
    """The chapter's five findings (:func:`ecg_lib.chapters.summary.five_points`), generated from its
    evidence (:func:`ecg_lib.chapters.summary.evidence`: counts and archived runs) and the counted
    configurations: the 3x3 stacks, Table 2's parameters and VGG-19's MACs, the 1x1 layers of C, and the
    two trained comparisons of Table 3 in the words of :func:`~ecg_lib.chapters.summary.finding`."""
    from ecg_lib.chapters.summary import finding

    by_key = {e.claim.key: e for e in ev}
    rows = vgg.config_table()
    rf2, rf3, extra = _value(by_key, "rf2"), _value(by_key, "rf3"), _value(by_key, "stack_weights")
    stacks = (
        f"Stacked 3×3 layers see what one larger filter sees: two see a {rf2:.0f}×{rf2:.0f} window, three a "
        f"{rf3:.0f}×{rf3:.0f} one ({_verdicts(by_key, ['rf2', 'rf3'])}, counted). One 7×7 layer needs "
        f"{100 * extra:.1f}% more weights than three 3×3 layers, against the paper's "
        f"{100 * papers.VGG_STACK_EXTRA:.0f}% ({_verdicts(by_key, ['stack_weights'])}). Read the other "
        f"way, the stack saves {100 * (1 - 1 / (1 + extra)):.1f}% of the weights."
    )
    params = [k for k in by_key if k.startswith("params_")]
    shallow = min(rows, key=lambda r: r.weight_layers)
    deep = max(rows, key=lambda r: r.weight_layers)
    counts = (
        f"Counted at 224×224, Table 1's configurations have Table 2's parameter counts "
        f"({_verdicts(by_key, params)}), and VGG-19 needs {_value(by_key, 'macs_e') / 1e9:.2f} billion "
        f"multiply-accumulates per image, against the {papers.RESNET_VGG_GMACS[19]} billion He et al. quote "
        f"({_verdicts(by_key, ['macs_e'])}). "
        f"Depth is cheap in parameters: from {shallow.weight_layers} to {deep.weight_layers} weight layers "
        f"adds {100 * (deep.params / shallow.params - 1):.1f}%. The FC layers hold "
        f"{_pct_range([r.fc_share for r in rows])} of the parameters, yet do at most "
        f"{100 * max(r.fc_mac_share for r in rows):.1f}% of the arithmetic."
    )
    c = next(r for r in rows if r.config == "C")
    t3 = {k: 100 * papers.VGG_TABLE3[k][1] for k in ("C", "D")}
    ones = (
        f"Configuration C's {_number(c.conv1)} 1×1 layers add depth and non-linearity without reach: C's "
        f"last convolution sees what B's does ({_verdicts(by_key, ['conv1x1_rf'])}, counted). In Table 3, D, "
        f"with 3×3 layers where C has its 1×1 ones, {'beats' if t3['D'] < t3['C'] else 'does not beat'} C: "
        f"{t3['D']:.1f}% against {t3['C']:.1f}% top-5 error."
    )
    # each trained claim with its twin without batch norm (the paper's own question: no BN existed then)
    deeper, lrn = (f"{finding(by_key[k])} Without batch normalisation: {finding(by_key[k + '_nobn'])}"
                   for k in ("deeper", "lrn"))
    return [stacks, counts, ones, deeper, lrn]
