"""The introduction's figure and table: depth and ImageNet error of each paper's network, drawn from
:mod:`ecg_lib.papers` (every number carries the table it comes from)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ecg_lib.papers import NETWORKS, PAPERS, TopFive

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["depth_and_error_figure", "networks_table", "top5_text"]


def depth_and_error_figure() -> Figure:
    """Two panels: each paper's depth by year, and the ILSVRC entries' top-5 error with the best single
    network of each paper beside its entry."""
    import matplotlib.pyplot as plt

    fig, (ax_depth, ax_err) = plt.subplots(1, 2, figsize=(11, 4.2))

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
                        ha="right" if left else "left", fontsize=8)
        for i, net in enumerate(nets):  # VGG-16 and VGG-19 side by side
            dx = 0.08 * (i - (len(nets) - 1) / 2)
            single = 100 * net.single_model.error
            ax_err.scatter(x + dx, single, s=50, color="white", edgecolor="C3", zorder=2)
    ax_err.scatter([], [], color="C3", label="ILSVRC entry (ensemble, test set)")
    ax_err.scatter([], [], color="white", edgecolor="C3",
                   label="best single network of the paper's architecture")
    ax_err.set_ylim(0, 20)
    ax_err.set_ylabel("top-5 error (%)")
    ax_err.set_title("ImageNet top-5 classification error")
    ax_err.legend(loc="upper right", fontsize=9)
    for ax in (ax_depth, ax_err):
        ax.set_xlim(2011.5, 2016.3)
        ax.set_xticks(range(2012, 2016))
        ax.set_xlabel("year")
    fig.tight_layout()
    return fig


def top5_text(result: TopFive | None) -> str:
    """``"15.30% (test, 7 net(s))"``; "—" where the paper reports none."""
    return "—" if result is None else f"{100 * result.error:.2f}% ({result.split}, {result.models} net(s))"


def networks_table() -> str:
    """The networks as a Markdown table: year, depth, entry, best single network, sources."""
    rows = ["| network | year | depth | ILSVRC entry | best single network of the architecture | sources |",
            "|---|---|---|---|---|---|"]
    for net in NETWORKS:
        sources = "; ".join(s for s in (net.depth_source, net.entry and net.entry.source,
                                        net.single_model and net.single_model.source) if s)
        rows.append(f"| {net.name} | {net.ilsvrc_year or PAPERS[net.paper].year} | {net.depth} | "
                    f"{top5_text(net.entry)} | {top5_text(net.single_model)} | {sources} |")
    return "\n".join(rows)
