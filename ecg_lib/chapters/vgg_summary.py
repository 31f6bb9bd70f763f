"""The VGG chapter's closing page (``notebooks/vgg_summary.md``): the archived runs' data note and the five
points, generated from the chapter's evidence (:func:`ecg_lib.chapters.summary.evidence`). Re-exported by
:mod:`ecg_lib.chapters.vgg`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from ecg_lib import papers
from ecg_lib.claim_ledgers import Evidence
from ecg_lib.claim_tally import best_verdict
from ecg_lib.experiments import vgg

__all__ = ["data_note", "summary_points"]


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
