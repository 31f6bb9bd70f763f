"""The one chapter list (ecg_lib.chapter_registry): the same chapters as _toc.yml, in its order, each
declaring modules that exist and a ledger that names it; importing it stays free of PyTorch."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ecg_lib import chapter_registry
from ecg_lib.chapter_registry import CHAPTERS, Chapter

ROOT = Path(__file__).resolve().parents[1]


def _toc_chapters() -> list[tuple[str, tuple[str, ...]]]:
    """The files of _toc.yml's "Chapters" part, in reading order, each with its sections' files."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parts = [p for p in toc["parts"] if p.get("caption") == "Chapters"]
    assert len(parts) == 1, "_toc.yml has no (or more than one) 'Chapters' part"
    return [(entry["file"], tuple(s["file"] for s in entry.get("sections", [])))
            for entry in parts[0]["chapters"]]  # fmt: skip


def test_the_registry_lists_the_tocs_chapters_in_its_order() -> None:
    assert [(c.notebook, c.sections) for c in CHAPTERS] == _toc_chapters()
    # and no chapter notebook sits outside the Chapters part, nor twice
    toc = (ROOT / "_toc.yml").read_text()
    listed = re.findall(r"^\s*- file: (notebooks/\w+)", toc, re.M)
    assert listed == [p for c in CHAPTERS for p in c.pages]
    # and every notebook on disk is a page of a chapter
    on_disk = sorted(f"notebooks/{md.stem}" for md in (ROOT / "notebooks").glob("*.md"))
    assert on_disk == sorted(listed)


def test_a_chapters_pages_are_its_notebook_then_its_sections() -> None:
    c = Chapter("x", "X", "notebooks/x", "m", "p", sections=("notebooks/x_one", "notebooks/x_two"))
    assert c.pages == ("notebooks/x", "notebooks/x_one", "notebooks/x_two")
    assert Chapter("y", "Y", "notebooks/y", "m", "p").pages == ("notebooks/y",)


def test_every_chapter_declares_what_exists() -> None:
    assert len(set(chapter_registry.names())) == len(CHAPTERS)
    for c in CHAPTERS:
        for page in c.pages:
            assert (ROOT / f"{page}.md").exists() and (ROOT / f"{page}.ipynb").exists(), page
        assert c.experiments().EXPERIMENTS, f"{c.experiments_module} has no EXPERIMENTS"
        ledger = c.ledger()
        # the ledger archives under the chapter's name and links by its title
        assert (ledger.chapter, ledger.title) == (c.name, c.title)
        assert callable(c.counted())
        # the page's heading opens with the title the scoreboard links by
        heading = re.search(r"^# (.+)$", (ROOT / f"{c.notebook}.md").read_text(), re.M)
        assert heading and heading.group(1).startswith(c.title), (c.name, heading and heading.group(1))


def test_views_of_the_registry_agree() -> None:
    from ecg_lib.chapters import scoreboard
    from ecg_lib.experiments import CHAPTERS as EXPERIMENT_MODULES
    from ecg_lib.experiments import chapter_module

    assert list(EXPERIMENT_MODULES) == list(scoreboard.CHAPTERS) == list(chapter_registry.names())
    assert EXPERIMENT_MODULES["nin"] == "ecg_lib.experiments.nin"
    assert chapter_module("resnet") is chapter_registry.chapter("resnet").experiments()


def test_an_unknown_chapter_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"Unknown chapter 'lenet'; known chapters: alexnet, vgg, nin"):
        chapter_registry.chapter("lenet")


def test_a_ledger_module_other_than_the_page_is_read() -> None:
    # a chapter whose claims live in a module of their own names it; the page module is then not read
    c = Chapter("x", "X", "notebooks/x", "ecg_lib.experiments.nin", "no.such.page", "ecg_lib.chapters.nin")
    assert c.ledger().chapter == "nin"


def test_importing_the_registry_does_not_import_torch() -> None:
    code = "import sys, ecg_lib.chapter_registry as r; r.names(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
