"""Plots that more than one chapter draws, written once: the smoothed training loss of a result's runs
(the NIN and VGG chapters) and one network's single-block lesions (the ResNet chapter's own nets and the
trained reference ResNet-56 of :mod:`ecg_lib.chapters.reference`).

Each draws on an Axes it is given, or makes and returns the Figure; the caller shows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ecg_lib.chapters import common

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ecg_lib.experiments.lesions import Lesion
    from ecg_lib.train import History

__all__ = ["plot_single_lesions", "smoothed_loss_figure"]


def smoothed_loss_figure(histories: Mapping[str, History], labels: Mapping[str, str], profile: str) -> Figure:
    """The training loss of each run in ``histories`` (moving average over half an epoch) against epochs,
    labelled ``labels[name]``, titled with ``profile``. Built without pyplot: the notebook displays the
    returned Figure once, as its cell's only output."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.6))
    ax = fig.subplots()
    for name, h in histories.items():
        steps = np.arange(1, len(h.train_loss) + 1) / h.steps_per_epoch
        window = max(1, h.steps_per_epoch // 2)
        smooth = np.convolve(h.train_loss, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, label=labels[name])
    ax.set_xlabel("epoch")
    common.integer_epochs(ax)
    ax.set_ylabel("training loss (cross-entropy, moving average)")
    ax.set_title(f"Training loss, your run ({profile} profile)", fontsize=10)
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def plot_single_lesions(ax: Axes, lesions: Sequence[Lesion], *, color: str, label: str, linestyle: str = "-",
                        marked: bool = True) -> Axes:  # fmt: skip
    """One net's test error (%) with each single block deleted (:func:`ecg_lib.experiments.lesions.
    lesion_study`'s records, the intact net first) against the deleted block, and the intact net's error
    as a dotted line. ``marked``: dots on the deletions and the downsampling blocks ringed; otherwise a
    thin line (a net drawn for comparison)."""
    blocks = lesions[1:]
    xs, ys = [b.block + 1 for b in blocks], [100 * b.error for b in blocks]
    if marked:
        ax.plot(xs, ys, marker="o", markersize=3, color=color, linestyle=linestyle, label=label)
        down = [b for b in blocks if b.downsampling]
        ax.scatter([b.block + 1 for b in down], [100 * b.error for b in down], s=90, facecolors="none",
                   edgecolors=color, zorder=3)  # fmt: skip
    else:
        ax.plot(xs, ys, linestyle=linestyle, linewidth=1, color=color, label=label)
    ax.axhline(100 * lesions[0].error, color=color, linestyle=":", linewidth=1)
    return ax
