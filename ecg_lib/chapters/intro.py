"""The introduction: what the book found, in five points generated from the chapters' ledgers
(:func:`findings`), and the figure and table of each paper's depth and ImageNet error, drawn from
:mod:`ecg_lib.papers` (every number carries the table it comes from)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ecg_lib.chapters.common import join_words
from ecg_lib.papers import NETWORKS, PAPERS, TopFive

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ecg_lib.claims import Evidence
    from ecg_lib.claims import Figure as PaperFigure

__all__ = ["depth_and_error_figure", "findings", "findings_markdown", "networks_table", "top5_text"]


def depth_and_error_figure() -> Figure:
    """Two panels: each paper's depth by year, and the ILSVRC entries' top-5 error with the best single
    network of each paper beside its entry."""
    from ecg_lib.chapters.common import FIGURE_WIDTH, new_figure

    # Stacked, at the text column's width: built without pyplot, the notebook shows the returned Figure once.
    fig = new_figure(FIGURE_WIDTH, 7.4)[0]
    fig.clear()
    ax_depth, ax_err = fig.subplots(2, 1)

    for net in NETWORKS:
        # NIN never entered ILSVRC: place it at its paper's year, hollow, and say so in the label.
        year = net.ilsvrc_year or PAPERS[net.paper].year
        in_challenge = net.ilsvrc_year is not None
        face = "C0" if in_challenge else "white"
        ax_depth.scatter(year, net.depth, s=60, color=face, edgecolor="C0", zorder=3)
        label = net.name if in_challenge else f"{net.name} (CIFAR-10 model, no ILSVRC entry)"
        ax_depth.annotate(f"{label}: {net.depth}", (year, net.depth), textcoords="offset points",
                          xytext=(8, -4), fontsize=9)
    ax_depth.set_yscale("log")
    ax_depth.set_ylabel("depth (weight layers, log scale)")
    ax_depth.set_title("Depth of each paper's network")

    # One column per team: VGG and GoogLeNet both entered ILSVRC-2014, so they sit either side of 2014.
    teams = {}
    for net in NETWORKS:
        if net.entry is not None:
            teams.setdefault(net.name.split("-")[0], []).append(net)
    shift = {"VGG": -0.3, "GoogLeNet": 0.3}
    for team, nets in teams.items():
        x = nets[0].ilsvrc_year + shift.get(team, 0.0)
        entry = nets[0].entry  # VGG-16 and VGG-19 share the team's one submission
        ax_err.scatter(x, 100 * entry.error, s=70, color="C3", zorder=3)
        left = team == "VGG"  # label VGG on its left, clear of GoogLeNet
        ax_err.annotate(f"{team}: {100 * entry.error:.2f}% ({entry.models} nets)", (x, 100 * entry.error),
                        textcoords="offset points", xytext=(-10 if left else 10, -3),
                        ha="right" if left else "left", fontsize=9)
        for i, net in enumerate(nets):  # VGG-16 and VGG-19 side by side
            dx = 0.08 * (i - (len(nets) - 1) / 2)
            single = 100 * net.single_model.error
            ax_err.scatter(x + dx, single, s=50, color="white", edgecolor="C3", zorder=2)
    ax_err.scatter([], [], color="C3", label="ILSVRC entry (ensemble, test set)")
    ax_err.scatter([], [], color="white", edgecolor="C3",
                   label="best single network of the paper's architecture (many views per image)")
    ax_err.set_ylim(0, 20)
    ax_err.set_ylabel("top-5 error (%)")
    ax_err.set_title("ImageNet top-5 classification error")
    ax_err.legend(loc="upper right", fontsize=9)
    for ax in (ax_depth, ax_err):
        ax.set_xlim(2011.5, 2016.3)
        ax.set_xticks(range(2012, 2016))
        ax.set_xlabel("year")
    return fig


def top5_text(result: TopFive | None) -> str:
    """``"15.30% (test, 7 nets)"``, ``"7.89% (val, 1 net, 144 crops)"`` (the test-time views where the
    paper gives them); "—" where the paper reports none."""
    if result is None:
        return "—"
    nets = "1 net" if result.models == 1 else f"{result.models} nets"
    how = f"{nets}, {result.views}" if result.views else nets
    return f"{100 * result.error:.2f}% ({result.split}, {how})"


def networks_table() -> str:
    """The networks as a Markdown table: year, depth, entry, best single network; each network's sources
    in a footnote (MyST ``[^label]``), so the table stays five columns wide."""
    rows = ["| network | year | depth | ILSVRC entry | best single network of the architecture |",
            "|---|---|---|---|---|"]
    notes = []
    for net in NETWORKS:
        label = "depth-" + re.sub(r"[^a-z0-9]+", "-", net.name.lower()).strip("-")
        found = (("depth", net.depth_source), ("entry", net.entry and net.entry.source),
                 ("single network", net.single_model and net.single_model.source))  # fmt: skip
        sources = [(what, s) for what, s in found if s]
        name = f"{net.name}[^{label}]" if sources else net.name
        rows.append(f"| {name} | {net.ilsvrc_year or PAPERS[net.paper].year} | {net.depth} | "
                    f"{top5_text(net.entry)} | {top5_text(net.single_model)} |")  # fmt: skip
        if sources:
            notes.append(f"[^{label}]: {net.name}. " + " ".join(f"{what.capitalize()}: {s.rstrip('.')}."
                                                                for what, s in sources))  # fmt: skip
    return "\n".join(rows) + "\n\n" + "\n\n".join(notes)


# ----------------------------------------------------------------------------------------------------------
# What the book found

_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
          "twelve")  # fmt: skip


def _count(k: int, one: str, many: str | None = None, *, start: bool = False) -> str:
    """``"two trained claims"``; ``start``: capitalised, for the start of a sentence."""
    word = _WORDS[k] if k < len(_WORDS) else f"{k:,}"
    text = f"{word} {one if k == 1 else (many or one + 's')}"
    return text[0].upper() + text[1:] if start else text


def _where(figs: Sequence[PaperFigure]) -> str:
    """The figures' claims quoted, grouped by the chapters that check them, each chapter a link to its
    "Paper vs. this book" table: ``in AlexNet, “…” and “…”; in ResNet, “…”``."""
    groups: dict[tuple[tuple[str, str], ...], list[str]] = {}
    for f in figs:
        chapters = tuple(dict.fromkeys((e.ledger.title, e.ledger.label) for e in f.checks))
        groups.setdefault(chapters, []).append(f"“{f.claim.statement}”")
    def linked(chapters: tuple[tuple[str, str], ...]) -> str:
        return join_words([f"{{ref}}`{t} <{label}>`" for t, label in chapters])

    return "; ".join(f"in {linked(chapters)}, {join_words(claims)}" for chapters, claims in groups.items())


def findings(ev: Sequence[Evidence] | None = None) -> list[str]:
    """What the book found, in five points generated from the ledgers (the scoreboard's evidence, each
    paper figure once, by its best evidence): the count; the trained claims that held; what failed or
    came out the opposite way; what this scale cannot settle; what has no evidence yet. Each point names
    its claims and their chapters; an empty group is said in words, never listed."""
    from ecg_lib.chapters import scoreboard
    from ecg_lib.claims import figures, tile_count_text

    if ev is None:
        ev = scoreboard.evidence()
    figs = figures(ev)
    papers_ = [f for f in figs if f.claim.paper]
    notes = [f for f in figs if not f.claim.paper]
    trained = [f for f in papers_ if not f.claim.counted]

    count = (f"The chapters check {_count(len(papers_), 'claim')} of the papers: {tile_count_text(papers_)}."
             if papers_ else "The chapters check no claim of a paper yet.")  # fmt: skip
    if notes:
        held = sum(f.tile == "holds" for f in notes)
        count += (f" The notes this book grew from made {_count(len(notes), 'numeric statement')} of their "
                  f"own, and {'none' if not held else _WORDS[held] if held < len(_WORDS) else held} "
                  f"of them {'holds' if held <= 1 else 'hold'}.")  # fmt: skip

    held = [f for f in trained if f.tile == "holds"]
    held_text = (f"{_count(len(held), 'trained claim', start=True)} held on the archived runs: "
                 f"{_where(held)}." if held else "No trained claim has held on an archived run yet.")

    opposite = [f for f in trained if f.verdict == "opposite"]
    failed = [f for f in trained if f.verdict == "not reproduced"]
    counts_off = [f for f in papers_ if f.claim.counted and f.tile == "fails"]
    fails = []
    if opposite:
        fails.append(f"{_count(len(opposite), 'trained claim', start=True)} came out the opposite way: "
                     f"{_where(opposite)}.")  # fmt: skip
    if failed:
        fails.append(f"{_count(len(failed), 'trained claim', start=True)} did not reproduce: "
                     f"{_where(failed)}.")  # fmt: skip
    if not opposite and not failed:
        fails.append("No trained claim failed on an archived run.")
    if counts_off:
        verb = "does" if len(counts_off) == 1 else "do"
        fails.append(f"{_count(len(counts_off), 'count', start=True)} in the papers {verb} not add up: "
                     f"{_where(counts_off)}.")  # fmt: skip
    else:
        fails.append("Every count in the papers adds up.")

    untestable = [f for f in papers_ if f.tile == "untestable"]
    noise = [f for f in papers_ if f.tile == "noise"]
    unsettled = [
        (f"{_count(len(untestable), 'absolute value', start=True)} cannot be tested at this scale, on a "
         f"lossy copy of CIFAR-10 with runs a fraction of the papers' length: {_where(untestable)}.")
        if untestable else "Every absolute value the chapters check could be tested at this scale.",
        (f"The runs could not settle {_count(len(noise), 'effect')}, which came out within noise or "
         f"inconclusive: {_where(noise)}.")
        if noise else "Every effect the runs measured was large enough to settle.",
    ]  # fmt: skip

    waiting = [f for f in papers_ if f.tile == "none"]
    verb = "has" if len(waiting) == 1 else "have"
    waiting_text = (f"{_count(len(waiting), 'claim', start=True)} {verb} no evidence yet: {_where(waiting)}."
                    if waiting else "Every claim has evidence.")  # fmt: skip
    return [count, held_text, " ".join(fails), " ".join(unsettled), waiting_text]


_LEADS = ("The count.", "What held.", "What failed.", "What this scale cannot settle.",
          "What awaits evidence.")  # fmt: skip


def findings_markdown(ev: Sequence[Evidence] | None = None) -> str:
    """:func:`findings` as a Markdown list, each point led by its subject in bold."""
    return "\n".join(f"- **{lead}** {point}" for lead, point in zip(_LEADS, findings(ev), strict=True))
