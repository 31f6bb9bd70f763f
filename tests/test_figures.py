"""Figures a reader can cite: epoch axes tick at whole epochs."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from ecg_lib.chapters import common
from ecg_lib.chapters import nin as nin_page
from ecg_lib.results import find_archive


def _ticks_in_view(ax) -> list[float]:
    lo, hi = ax.get_xlim()
    return [t for t in ax.get_xticks() if lo <= t <= hi]


def test_histories_tick_at_whole_epochs() -> None:
    result = find_archive("nin", "train_heads")
    if result is None:
        pytest.skip("no archived nin/train_heads")
    # three epochs of a result: the default locator puts ticks at 1.5 and 2.5
    for h in result.histories.values():
        h.test_error = h.test_error[:3]
    fig, ax = plt.subplots()
    common.plot_histories(result, ax)
    fig.canvas.draw()
    ticks = _ticks_in_view(ax)
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    plt.close(fig)


def test_training_loss_ticks_at_whole_epochs() -> None:
    result = find_archive("nin", "train_heads")
    if result is None:
        pytest.skip("no archived nin/train_heads")
    for h in result.histories.values():  # two epochs of per-step points
        n = 2 * h.steps_per_epoch
        h.train_loss = h.train_loss[:n]
    fig = nin_page.plot_loss(result)
    ax = fig.axes[0]
    fig.canvas.draw()
    ticks = _ticks_in_view(ax)
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_the_run_info_box_names_the_data_without_folders() -> None:
    from ecg_lib.train import format_run_info

    source = ("archive /work/shared/data/cifar10-jpeg.tar.gz (decoded cache /root/.cache/ecg_lib/"
              "cifar10-archive-540fce5587d88864-v2.npy, read in 2.14 s)")  # fmt: skip
    text = format_run_info({"profile": "quick", "data": source, "torch": "2.4"})
    line = next(line for line in text.splitlines() if line.startswith("data"))
    assert line.split(None, 1)[1] == (
        "archive cifar10-jpeg.tar.gz (decoded cache cifar10-archive-540fce5587d88864-v2.npy, read in 2.14 s)"
    )
    windows = format_run_info({"data": r"folder C:\Users\me\cifar (train/ and test/)"})
    assert windows.split(None, 1)[1] == "folder cifar (train/ and test/)"


def test_the_class_map_figure_fits_the_text_column() -> None:
    import torch

    images = torch.zeros(3, 3, 32, 32, dtype=torch.uint8)
    maps, scores = torch.rand(3, 10, 8, 8), torch.rand(3, 10)
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    fig = nin_page.plot_class_maps(images, [0, 3, 9], classes, maps, scores)
    assert plt.get_fignums() == []  # built without pyplot: the notebook shows it once, as its output
    assert fig.get_figwidth() <= common.FIGURE_WIDTH
    texts = [t for ax in fig.axes for t in (ax.title, ax.xaxis.label, ax.yaxis.label) if t.get_text()]
    assert texts and min(t.get_fontsize() for t in texts) >= 9
    assert len(fig.axes) == 3 * 11 + 1  # the panels and a colour bar
