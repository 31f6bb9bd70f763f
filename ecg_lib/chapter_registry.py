"""The book's chapters, each declared once: its name, title, notebook, experiments module and page module.

``reproduce`` (:mod:`ecg_lib.reproduce`), the scoreboard (:mod:`ecg_lib.chapters.scoreboard`) and the
tests read this table; ``tests/test_chapter_registry.py`` checks it against ``_toc.yml`` (the same
notebooks, in the same order). Adding a chapter is one :class:`Chapter` row here plus its
``notebooks/<name>.md`` line in ``_toc.yml``; a chapter that runs over several pages lists its sub-pages
(``sections``) in both places.

Modules are named, not imported: importing this table costs nothing (no PyTorch), so ``python -m ecg_lib
reproduce --help`` and ``scripts/gpu_run.sh`` can list the chapters cheaply. :meth:`Chapter.experiments`,
:meth:`Chapter.page` and :meth:`Chapter.ledger` import on demand.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from ecg_lib.claims import Ledger

__all__ = ["CHAPTERS", "Chapter", "chapter", "names"]


@dataclass(frozen=True)
class Chapter:
    """One chapter of the book.

    ``name``: the archive folder (``results/<name>/``) and the ``reproduce`` argument; ``title``: the
    short title the scoreboard links by (its ledger's ``title``); ``notebook``: the page in ``_toc.yml``
    (``notebooks/<name>``); ``experiments_module``: what it computes (an ``EXPERIMENTS`` table);
    ``page_module``: what it shows; ``ledger_module``: where its claims live (``LEDGER`` and ``counted()``;
    by default the page module); ``sections``: the chapter's further pages, in reading order
    (``notebooks/<name>_<part>``, each a ``sections:`` entry under the chapter in ``_toc.yml``).
    """

    name: str
    title: str
    notebook: str
    experiments_module: str
    page_module: str
    ledger_module: str = ""
    sections: tuple[str, ...] = ()

    @property
    def pages(self) -> tuple[str, ...]:
        """Every page of the chapter, in reading order: its notebook, then its sections."""
        return (self.notebook, *self.sections)

    def experiments(self) -> ModuleType:
        """The experiments module (imports it: PyTorch)."""
        return importlib.import_module(self.experiments_module)

    def page(self) -> ModuleType:
        """The page module (imports it: PyTorch, matplotlib on first plot)."""
        return importlib.import_module(self.page_module)

    def _ledger_source(self) -> ModuleType:
        return importlib.import_module(self.ledger_module or self.page_module)

    def ledger(self) -> Ledger:
        """The chapter's claims (:class:`ecg_lib.claims.Ledger`)."""
        return self._ledger_source().LEDGER

    def counted(self) -> Callable[[], dict[str, Any]]:
        """The function that counts the objects the ledger's arithmetic claims read."""
        return self._ledger_source().counted


def _paper_chapter(name: str, title: str) -> Chapter:
    # every chapter so far follows the same naming: notebooks/<name>, experiments/<name>, chapters/<name>
    return Chapter(
        name, title, f"notebooks/{name}", f"ecg_lib.experiments.{name}", f"ecg_lib.chapters.{name}"
    )


#: Every chapter, in reading order (the order of ``_toc.yml``'s "Chapters" part).
CHAPTERS: tuple[Chapter, ...] = (
    replace(_paper_chapter("alexnet", "AlexNet"), ledger_module="ecg_lib.chapters.alexnet_ledger",
            sections=("notebooks/alexnet_relu", "notebooks/alexnet_lrn", "notebooks/alexnet_summary")),
    replace(_paper_chapter("vgg", "VGG"),
            sections=("notebooks/vgg_configs", "notebooks/vgg_trained", "notebooks/vgg_summary")),
    replace(_paper_chapter("nin", "Network in Network"),
            sections=("notebooks/nin_trained", "notebooks/nin_summary")),
    replace(_paper_chapter("googlenet", "GoogLeNet"), sections=(
        "notebooks/googlenet_reductions", "notebooks/googlenet_training", "notebooks/googlenet_summary")),
    replace(_paper_chapter("resnet", "ResNet"), sections=(
        "notebooks/resnet_gradients", "notebooks/resnet_bottleneck", "notebooks/resnet_trained",
        "notebooks/resnet_summary")),
    replace(_paper_chapter("comparison", "Five networks side by side"),
            sections=("notebooks/comparison_race", "notebooks/comparison_summary")),
)


def names() -> tuple[str, ...]:
    """The chapters' names, in reading order."""
    return tuple(c.name for c in CHAPTERS)


def chapter(name: str) -> Chapter:
    """The chapter called ``name``; an unknown name raises ``ValueError`` listing the known ones."""
    for c in CHAPTERS:
        if c.name == name:
            return c
    raise ValueError(f"Unknown chapter {name!r}; known chapters: {', '.join(names()) or '(none)'}.")
