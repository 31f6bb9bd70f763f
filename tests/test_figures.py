"""Figures a reader can cite: epoch axes tick at whole epochs, every chapter figure has a caption, alt text
and a name, and each trained section shows its archived run before the reader's own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from ecg_lib import chapter_registry
from ecg_lib.chapters import common
from ecg_lib.chapters import nin as nin_page
from ecg_lib.results import find_archive

ROOT = Path(__file__).resolve().parents[1]


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


# ----------------------------------------------------------------------------------------------------------
# Every figure of the five paper chapters has a caption, alt text and a name a page can reference


_CHAPTERS = ("alexnet", "vgg", "nin", "googlenet", "resnet")
# every page with figures: the five paper chapters (each over its notebook and its sections), the comparison
# and the intro
_PAGES = {**{c.name: tuple(f"{p}.md" for p in c.pages) for c in chapter_registry.CHAPTERS},
          "intro": ("book/intro.md",)}  # fmt: skip
# a call that draws a figure: the page helpers' *_figure(...), plot_*(...), draw_*(...)
_DRAWS = re.compile(r"\b(\w+_figure|plot_\w+|draw_\w+)\(")


def _code_cells(chapter: str) -> list[Any]:
    import jupytext

    return [c for page in _PAGES[chapter] for c in jupytext.read(ROOT / page).cells if c.cell_type == "code"]


def _figure_cells() -> list[tuple[str, Any]]:
    return [(ch, c) for ch in _PAGES for c in _code_cells(ch) if _DRAWS.search(c.source)]


def test_every_figure_cell_has_a_caption_alt_text_and_a_unique_name() -> None:
    cells = _figure_cells()
    assert len(cells) >= 30  # the five chapters' figures, archived and live
    assert {ch for ch, _ in cells} == set(_PAGES)  # every page's figures are checked
    names = []
    for chapter, cell in cells:
        where = f"{chapter}: {cell.source.splitlines()[-1][:70]}"
        meta = cell.metadata.get("mystnb", {})
        caption = meta.get("figure", {}).get("caption", "")
        name = meta.get("figure", {}).get("name", "")
        alt = meta.get("image", {}).get("alt", "")
        assert caption and name and alt, f"{where}: needs mystnb figure caption and name, and image alt"
        assert name.startswith(f"fig-{chapter}-"), f"{where}: name {name!r} should start fig-{chapter}-"
        # alt text says what the figure shows, not where a file is
        assert not re.search(r"[\\/]\w+\.(png|svg|jpe?g)|^/", alt), f"{where}: alt text is a path"
        # captions describe what is plotted; measured numbers come from the cells
        assert not re.search(r"\d\.\d+ ?%|\d+\.\d+ points", caption), f"{where}: a number in the caption"
        names.append(name)
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_a_figure_cell_displays_only_its_figure() -> None:
    # myst-nb wraps every display output of a cell with figure metadata in the figure: such a cell must not
    # display Markdown too, nor show a pyplot figure beside the Figure it returns
    for chapter, cell in _figure_cells():
        assert "display_markdown(" not in cell.source and "plt." not in cell.source, (
            f"{chapter}: {cell.source[:80]}")


def test_trained_sections_show_the_archived_run_first_and_fold_the_live_one() -> None:
    for chapter in _CHAPTERS:
        cells = _code_cells(chapter)
        source = "\n".join(c.source for c in cells)
        assert "show_with_archive(" not in source and "plt.show()" not in source, chapter
        archived = [i for i, c in enumerate(cells) if "archive_figure(" in c.source]
        live = [i for i, c in enumerate(cells) if "live_figure(" in c.source]
        # every live figure follows an archived one; a section may show an archived run the page does
        # not train (VGG without BN, the widened AlexNet race, ResNet-110), so archived ones may be more
        assert archived and len(archived) >= len(live), chapter
        for b in live:
            a = max((i for i in archived if i < b), default=None)
            assert a is not None, f"{chapter}: the archived figure comes before the live one"
            assert "hide-output" in cells[b].metadata.get("tags", []), f"{chapter}: the live run is folded"
            # the reader's own training run, between them, is folded too
            trained = [c for c in cells[a:b] if re.search(r"experiment\(|train\w*\(", c.source)]
            assert all("hide-output" in c.metadata.get("tags", []) for c in trained), chapter
            # a live run is folded only where an archive exists to lead with
            for experiment in re.findall(r'archive_figure\("\w+", "(\w+)"', cells[a].source):
                assert find_archive(chapter, experiment) is not None, (chapter, experiment)


def test_the_vgg_figures_fit_the_text_column() -> None:
    from ecg_lib.chapters import vgg as vgg_page
    from ecg_lib.experiments import vgg

    footprints = vgg_page.footprint_figure(vgg_page.FOOTPRINT_PANELS, side=15)
    cost = vgg_page.cost_figure(vgg.config_table())
    assert plt.get_fignums() == []  # built without pyplot: each shows once, as its cell's output
    for fig in (footprints, cost):
        assert fig.get_figwidth() <= common.FIGURE_WIDTH
    images = [ax for ax in footprints.axes if ax.images]
    assert len(images) == len(vgg_page.FOOTPRINT_PANELS)  # one panel per chain, each with a colour bar
    assert len(footprints.axes) - len(images) >= len(images)
