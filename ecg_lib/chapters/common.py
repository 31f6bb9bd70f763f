"""Helpers shared by every chapter: the chapter's run (profile resolved once, clock, footer), Markdown
tables, percentages, and showing an archived run beside a live one.

A chapter's first cell::

    from ecg_lib.chapters import common
    run = common.start_chapter("resnet")   # resolves the profile once: the page's only entry point
    data = load_cifar10()
    run.print_info(data)

and its last line ``run.footer()`` prints the chapter's run time (read by the build's time check).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ecg_lib.experiments import ExperimentResult, departures
from ecg_lib.profiles import resolve_profile
from ecg_lib.results import find_archives

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ecg_lib.claim_ledgers import Ledger
    from ecg_lib.train import RunContext

__all__ = [
    "NO_ARCHIVE",
    "ChapterRun",
    "RunBadge",
    "archive_figure",
    "archive_label",
    "archive_summary",
    "display_markdown",
    "join_words",
    "live_figure",
    "markdown_table",
    "new_figure",
    "pct",
    "plot_histories",
    "quoted_archive",
    "show_figures_inline",
    "small_run_lead",
    "start_chapter",
]

NO_ARCHIVE = (
    "No archived long run exists for this experiment yet: neither the standard profile "
    "(`python -m ecg_lib reproduce {chapter} --profile standard`, minutes on a GPU, hours on a CPU) nor the "
    "full one (`--profile full`, paper scale, a GPU)."
)


# ----------------------------------------------------------------------------------------------------------
# The chapter's run


@dataclass
class ChapterRun:
    """One execution of a chapter: its name, the profile resolved at its start, and its clock."""

    chapter: str
    profile: str
    started: float = field(default_factory=time.perf_counter)
    fit_time_s: float = 0.0  # the fits given `context`, added up as each returns

    @property
    def context(self) -> RunContext:
        """What the chapter's training cells pass to experiments (``context=run.context``): each fit's
        time is added to :attr:`fit_time_s` (the footer's), and in the standard and full profiles, whose
        cells train for minutes, each epoch prints a line; the quick profile stays quiet, so the built
        book's pages carry no progress lines."""
        from ecg_lib.train import RunContext, epoch_line

        def report(event: dict[str, Any]) -> None:
            print(f"[{self.chapter}] {epoch_line(event)}", flush=True)

        def count(history: Any) -> None:
            self.fit_time_s += history.info.get("fit_time_s", 0.0)

        return RunContext(progress=report if self.profile != "quick" else None, on_fit_end=count)

    def info(self, data: Any = None, **extra: Any) -> dict[str, Any]:
        """:func:`ecg_lib.train.run_info` with this run's profile and its training time so far."""
        from ecg_lib.train import run_info

        return run_info(data, profile=self.profile, fit_time_s=self.fit_time_s, **extra)

    def print_info(self, data: Any = None, **extra: Any) -> None:
        """Show the run's one-line badge (profile, device, data source) near the chapter's top, with the
        full run-info box (precision, versions, sizes, timings) folded under it (:class:`RunBadge`)."""
        from IPython.display import display

        display(RunBadge(self.info(data, **extra)))

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self.started

    def footer(self) -> None:
        """The chapter's last line: its run time, the part of it spent training, and the profile (the
        4-minute quick budget is read from it). Training counts the fits made with :attr:`context`."""
        print(f"Chapter run time: {self.elapsed_s:.0f} s, {self.fit_time_s:.0f} s of it training "
              f"({self.profile} profile)")  # fmt: skip


def start_chapter(chapter: str, profile: str | None = None) -> ChapterRun:
    """Resolve the profile once (``None``: from the environment, see
    :func:`ecg_lib.profiles.resolve_profile`) and start the chapter's clock.

    An unknown profile raises :class:`ecg_lib.profiles.UnknownProfileError` naming the valid ones, so a
    mistyped profile stops the chapter in its first cell.
    """
    run = ChapterRun(chapter, resolve_profile(profile))
    show_figures_inline()
    return run


def show_figures_inline() -> None:
    """In a notebook kernel, make a Figure that a cell returns display as an image. The chapters build
    their figures without pyplot (so each shows once, as its cell's only output, the one myst-nb
    captions); IPython renders such a Figure only once the inline backend has registered its PNG
    formatter, which happens when pyplot loads it, and a page that never touches pyplot never does.
    Outside IPython, or where a formatter for Figure exists (inline, or another backend the reader chose),
    nothing changes."""
    try:
        from IPython import get_ipython
    except ImportError:  # no IPython: a script, nothing to display
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return
    from matplotlib.figure import Figure

    png = shell.display_formatter.formatters["image/png"]
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        shell.run_line_magic("matplotlib", "inline")


class RunBadge:
    """The run-info box as a reader sees it first: one line (profile, device, data source), and the full
    box of :func:`ecg_lib.train.format_run_info` in a ``<details>`` fold under it (HTML in the book and
    in Jupyter; the plain-text repr, for a terminal, is the line and the box)."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info

    @property
    def line(self) -> str:
        """``"quick profile · cpu: AMD EPYC, 2 threads · CIFAR-10: lossy JPEG copy (quality 75, ...)"``."""
        info = self.info
        # the data by its source (the quality note's first clause), never by the machine's path
        quality = str(info.get("data_quality") or "").split(" — ")[0]
        source = quality or str(info.get("data", "data source not recorded")).split(" (")[0].split("/")[-1]
        device = info.get("device", "unknown device")
        return f"{info.get('profile', '?')} profile · {device} · CIFAR-10: {source}"

    def details(self) -> str:
        from ecg_lib.train import format_run_info

        return format_run_info(self.info)

    def _repr_html_(self) -> str:
        import html

        return (f"<div class=\"ecg-run-badge\"><strong>Run:</strong> {html.escape(self.line)}</div>"
                f"<details><summary>Run details (versions, precision, data, timings)</summary>"
                f"<pre style=\"white-space: pre-wrap\">{html.escape(self.details())}</pre>"
                "</details>")  # fmt: skip

    def __repr__(self) -> str:
        return f"Run: {self.line}\n{self.details()}"


# ----------------------------------------------------------------------------------------------------------
# Text


def pct(value: float | None, digits: int = 1) -> str:
    """An error fraction as a percentage (``0.123`` -> ``"12.3%"``); ``None`` -> ``"—"`` (not measured)."""
    return "—" if value is None else f"{100 * value:.{digits}f}%"


def join_words(items: Sequence[str], word: str = "and") -> str:
    """``"a"``, ``"a and b"``, ``"a, b and c"`` (``word``: "or" after a negation)."""
    if not items:
        # an empty list would make a sentence with a hole in it; the caller should have said "none"
        raise ValueError("join_words got nothing to join: word the empty case in the caller's sentence.")
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table (shown with :func:`display_markdown`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def display_markdown(text: str) -> None:
    """Display Markdown in the notebook (a table, a generated paragraph)."""
    from IPython.display import Markdown, display

    display(Markdown(text))


# ----------------------------------------------------------------------------------------------------------
# Archived runs beside live ones


def archive_label(result: ExperimentResult) -> str:
    """``"full profile · NVIDIA H100 80GB HBM3 · bf16 · 2025-11-28"``: how and when an archive was made."""
    info = result.run_info
    device = str(info.get("device", "unknown device")).split(": ", 1)[-1]
    parts = [f"{result.profile} profile", device, str(info.get("precision", "?"))]
    if "date" in info:  # archives have one; a live result is from now
        parts.append(str(info["date"])[:10])
    return " · ".join(parts)


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 2 * 3600 else f"{seconds / 60:.1f} min"


def time_text(info: dict[str, Any]) -> str:
    """An archive's time, from its ``run_info``: ``"Wall time 10.0 min."``; ``""`` when it records none.

    A run resumed from an earlier process's checkpoints (a long CPU run over several sessions) has fits
    that took longer than the process that wrote the archive: its networks' clocks (``fit_time_s``)
    then give the run's time, and the last process's wall time would understate it many times over."""
    if "wall_time_s" not in info:
        return ""
    wall = float(info["wall_time_s"])
    fit = float(info.get("fit_time_s") or 0.0)
    if fit > wall + 1.0:  # a second of slack: the clocks are rounded to 0.1 s apiece
        return (f"Training time {_duration(fit)} in all: the run was resumed from checkpoints, and the "
                f"process that finished it ran {_duration(wall)}.")  # fmt: skip
    return f"Wall time {_duration(wall)}."


_SEED_STYLES = ("-", "--", ":", "-.")


def _curve_and_seed(label: Any) -> tuple[str, str]:
    """``"A/seed1"`` -> ``("A", "1")``; a label without a seed -> ``(label, "")``."""
    base, _, seed = str(label).partition("/seed")
    return base, seed


def integer_epochs(ax: Axes) -> None:
    """Ticks only at whole epochs on ``ax``'s x axis (a 3-epoch run otherwise gets ticks at 1.5 and 2.5)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_histories(result: ExperimentResult, ax: Axes, metric: str = "test_error") -> None:
    """One curve per History of ``result``: ``metric`` in percent against epochs (the default plot
    style of :func:`archive_figure`). ``metric`` is a per-epoch History field."""
    # the seeds of one curve ("A/seed0", "A/seed1") share its colour and differ in line style, so a
    # live panel of "A", "A-LRN", "D" and an archived one of two seeds each read alike
    colours: dict[str, str] = {}
    for label, h in result.histories.items():
        values = getattr(h, metric)
        points = [(i + 1, 100 * v) for i, v in enumerate(values) if v is not None]
        base, seed = _curve_and_seed(label)
        colour = colours.setdefault(base, f"C{len(colours) % 10}")
        style = _SEED_STYLES[int(seed) % len(_SEED_STYLES)] if seed.isdigit() else "-"
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o" if len(points) < 15 else None, label=label, color=colour,
                    linestyle=style)  # fmt: skip
    ax.set_xlabel("epoch")
    integer_epochs(ax)
    ax.set_ylabel(f"{metric.replace('_', ' ')} (%)")
    if result.histories:
        ax.legend(fontsize=9)


def _in_order_of(value: Any, model: Any) -> Any:
    """``value`` with its dict keys, at every level where ``model`` has a dict too, in ``model``'s order
    (a key ``"A/seed1"`` takes the place of ``"A"``; keys ``model`` lacks follow in their own order)."""
    if not (isinstance(value, dict) and isinstance(model, dict)):
        return value
    position = {k: i for i, k in enumerate(model)}

    def counterpart(key: Any) -> Any:  # the live key, or the seed-less one ("A/seed1" -> "A")
        return key if key in position else _curve_and_seed(key)[0]

    # a stable sort: keys the model lacks keep their own order, after the others
    keys = sorted(value, key=lambda k: position.get(counterpart(k), len(position)))
    return {k: _in_order_of(value[k], model.get(counterpart(k))) for k in keys}


def in_live_order(archived: ExperimentResult, live: ExperimentResult) -> ExperimentResult:
    """A copy of ``archived`` whose histories and metrics are in ``live``'s key order. Archives are
    written with sorted keys; plots that colour curves in order then draw both panels alike."""
    return ExperimentResult(archived.name, archived.profile,
                            histories=_in_order_of(archived.histories, live.histories),
                            metrics=_in_order_of(archived.metrics, live.metrics),
                            run_info=archived.run_info)  # fmt: skip


# The figures of a trained section, archived evidence first. Both are built without pyplot, so the
# notebook shows the returned Figure once (as its cell's only output, the one myst-nb captions) and the
# inline backend has no second copy to flush. Width 6.8 in: the book's text column (688 px at 100 dpi).
FIGURE_WIDTH = 6.8


def _figure(panels: int, width: float, height: float) -> tuple[Figure, Sequence[Axes]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False, sharey=True)[0]
    return fig, list(axes)


def new_figure(width: float = FIGURE_WIDTH, height: float = 3.8, ncols: int = 1,
               sharey: bool = False) -> tuple[Figure, Any]:  # fmt: skip
    """A Figure and its Axes (an array of ``ncols`` of them when ``ncols > 1``), made without pyplot, as
    ``plt.subplots`` would: a notebook cell draws on the Axes and ends with the Figure, its only output."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.subplots(1, ncols, sharey=sharey)


def archive_figure(
    chapter: str,
    experiment: str,
    plot: Callable[[ExperimentResult, Axes], None] = plot_histories,
    *,
    root: str | os.PathLike | None = None,
    width: float = FIGURE_WIDTH,
    height: float = 3.8,
) -> Figure | None:
    """Every archived long run of ``experiment`` (its key in the chapter's ``EXPERIMENTS``), drawn by
    ``plot(result, ax)``: one panel per archived profile (standard, then full), each titled with its
    profile, device and date. None without an archive (:func:`archive_summary` then says so).

    A panel whose archive no longer fits ``plot`` (made by an older version of the experiment) says so
    instead of failing the page."""
    found = find_archives(chapter, experiment, root)
    if not found:
        return None
    fig, axes = _figure(len(found), width, height)
    for ax, result in zip(axes, found.values(), strict=True):
        try:
            plot(result, ax)
        except (KeyError, IndexError, TypeError, AttributeError, ValueError):
            ax.cla()
            ax.text(0.5, 0.5, "archive does not fit this plot:\nrerun `reproduce`", ha="center",
                    va="center", transform=ax.transAxes)  # fmt: skip
        ax.set_title(f"archived: {archive_label(result)}", fontsize=9)
    return fig


def quoted_archive(chapter: str, experiment: str,
                   root: str | os.PathLike | None = None) -> ExperimentResult | None:  # fmt: skip
    """The archived run of ``experiment`` a chapter quotes: the full profile's (paper scale) where it
    exists, else the standard one's; None without an archive ."""
    found = find_archives(chapter, experiment, root)
    return found.get("full", found.get("standard"))


def live_figure(
    result: ExperimentResult,
    plot: Callable[[ExperimentResult, Axes], None] = plot_histories,
    *,
    width: float = FIGURE_WIDTH,
    height: float = 3.8,
) -> Figure:
    """``result`` (the reader's own run) drawn by ``plot(result, ax)`` on one panel titled with its
    profile: the same style as :func:`archive_figure`, for the folded box under the archived evidence."""
    fig, (ax,) = _figure(1, width, height)
    plot(result, ax)
    ax.set_title(f"your run: {archive_label(result)}", fontsize=9)
    return fig


def archive_summary(
    chapter: str,
    experiment: str,
    ledger: Ledger | None = None,
    keys: Sequence[str] = (),
    *,
    root: str | os.PathLike | None = None,
    how_made: bool = True,
    missing: str | None = None,
) -> str:
    """Markdown under :func:`archive_figure`: for each archived profile, how the run was made (device,
    data, wall time, how it departs from the paper; ``how_made=False`` leaves this out, for a second
    section quoting the same run); then, for each claim ``keys`` of ``ledger``, the sentence
    :meth:`~ecg_lib.claim_ledgers.Ledger.archived_sentence` generates from the archive, with its verdict.
    Without an archive, one line saying so and how to make it, then ``missing`` (by default: the reader's
    run below is the only evidence; a section whose run the page does not train says what that means)."""
    found = find_archives(chapter, experiment, root)
    if not found:
        then = ("the run below, in this page's profile, is the only evidence here." if missing is None
                else missing)  # fmt: skip
        return (f"No archived run of this experiment exists yet (`python -m ecg_lib reproduce {chapter} "
                f"--profile standard --experiments {experiment}`): {then}")  # fmt: skip
    lines = []
    for profile, archived in found.items() if how_made else ():
        info = archived.run_info
        data = str(info.get("data_quality") or "data source not recorded").split(" — ")[0]
        if "n_train" in info and "n_test" in info:
            data += f", {int(info['n_train']):,} training and {int(info['n_test']):,} test images"
        text = f"**Archived {profile} run** ({archive_label(archived)}). Data: {data}."
        if timing := time_text(info):  # "" for a run that records no time
            text += f" {timing}"
        if info.get("note"):
            text += f" Note: {info['note']}."
        how = departures(chapter, experiment, profile)
        if how:
            text += f" How it departs from the paper, and why: {how}"
        lines.append(text)
    text = "\n\n".join(lines)
    if ledger is not None and keys:
        claims = "\n".join(f"- {ledger.archived_sentence(key, root=root)}" for key in keys)
        text += ("\n\n" if text else "") + claims
    return text


def small_run_lead(result: ExperimentResult, archived_at: str = "above") -> str:
    """The bold lead of a paragraph about the reader's own run: in the quick profile, that its numbers
    come from a small run and do not decide the claim; in a long profile, that the verdicts quote the
    archived run. ``archived_at``: where that archived run is shown ("on the next page" where the
    reader's run sits on the page that trained it and the archived one on a later page)."""
    if result.profile == "quick":
        return ("**Your small run (quick profile).** Its numbers come from minutes of training and do not "
                f"decide the claim; the archived run {archived_at} does.")  # fmt: skip
    return f"**Your run ({result.profile} profile).** The verdicts quote the archived run {archived_at}."
