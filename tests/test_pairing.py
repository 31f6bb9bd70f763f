"""Notebook pages: each MyST source (.md) and its Colab copy (.ipynb) hold the same cells, the copy has no
outputs, and every chapter follows the book's template (hidden Colab setup cell, run_info, closing table).

`jupytext --sync` and `--diff` are not trusted for this (the first copies whichever file is newer, the
second exits 0 on differences); the cells are compared here instead.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jupytext
import pytest
import yaml
from book_fixtures import ROOT, is_notebook_page, notebook_pages, toc_files

import ecg_lib

CHAPTERS = sorted((ROOT / "notebooks").glob("*.md"))
TEMPLATE = ROOT / "templates" / "chapter.md"  # a chapter skeleton, outside the book and unpaired
# Every notebook page: the chapters, plus prose pages that execute code (the introduction's figure).
NOTEBOOK_PAGES = sorted({*CHAPTERS, *(ROOT / f"{f}.md" for f in notebook_pages())})
REPO_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _cells(path: Path) -> list[tuple[str, str, list[str]]]:
    nb = jupytext.read(path)
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]


@pytest.mark.parametrize("md", NOTEBOOK_PAGES, ids=_id)
def test_paired_ipynb_holds_the_same_cells(md: Path) -> None:
    ipynb = md.with_suffix(".ipynb")
    assert ipynb.exists(), f"{_id(ipynb)} is missing: run `jupytext --to ipynb {_id(md)}`"
    md_cells, nb_cells = _cells(md), _cells(ipynb)
    assert len(md_cells) == len(nb_cells), (
        f"{_id(md)} has {len(md_cells)} cells, {_id(ipynb)} {len(nb_cells)}: "
        f"regenerate the notebook with `jupytext --to ipynb {_id(md)}`"
    )
    for i, (a, b) in enumerate(zip(md_cells, nb_cells, strict=True)):
        assert a == b, f"cell {i} differs between {_id(md)} and {_id(ipynb)}:\n{a}\n---\n{b}"


@pytest.mark.parametrize("md", NOTEBOOK_PAGES, ids=_id)
def test_ipynb_has_no_outputs(md: Path) -> None:
    nb = json.loads(md.with_suffix(".ipynb").read_text())
    dirty = [i for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"cells {dirty} of {_id(md.with_suffix('.ipynb'))} carry outputs or execution counts"


@pytest.mark.parametrize("md", [*NOTEBOOK_PAGES, TEMPLATE], ids=_id)
def test_first_code_cell_is_the_hidden_colab_setup(md: Path) -> None:
    source = md.with_suffix(".ipynb") if md.with_suffix(".ipynb").exists() else md  # the template has no copy
    code = [c for c in jupytext.read(source).cells if c.cell_type == "code"]
    assert code, f"{_id(md)} has no code cell"
    setup = code[0]
    assert "remove-cell" in setup.metadata.get("tags", []), "the setup cell must be tagged remove-cell"
    # one setup cell, word for word the template's: it acts wherever ecg_lib is missing (Colab or a
    # downloaded .ipynb in a local Jupyter), installing the release tagged with the library's version
    assert "google.colab" not in setup.source, "the setup cell must act wherever ecg_lib is missing"
    template = next(c for c in jupytext.read(TEMPLATE).cells if c.cell_type == "code")
    assert setup.source == template.source, f"{_id(md)}'s setup cell differs from {_id(TEMPLATE)}'s"
    urls = re.findall(r"git\+(https://\S+?)@v([\w.]+)[\"']", setup.source)
    assert urls == [(REPO_URL, ecg_lib.__version__)], (
        f"the setup cell must install v{ecg_lib.__version__} from _config.yml's repository.url ({REPO_URL})"
    )


@pytest.mark.parametrize("md", NOTEBOOK_PAGES, ids=_id)
def test_ipynb_opens_with_a_colab_badge(md: Path) -> None:
    # the badge is the .ipynb's first cell, hidden on the site (whose pages have their own launch button)
    first = jupytext.read(md.with_suffix(".ipynb")).cells[0]
    assert first.cell_type == "markdown" and "remove-cell" in first.metadata.get("tags", [])
    repo = REPO_URL.removeprefix("https://github.com/")
    target = f"https://colab.research.google.com/github/{repo}/blob/v{ecg_lib.__version__}/{_id(md)[:-3]}.ipynb"
    assert f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({target})" in (
        first.source
    )


@pytest.mark.parametrize("md", NOTEBOOK_PAGES, ids=_id)
def test_timeout_is_left_to_the_build(md: Path) -> None:
    # scripts/build_book.sh sets the per-cell timeout by profile (4 minutes in quick, none in full);
    # a timeout fixed in the front matter would apply to both.
    meta = jupytext.read(md).metadata
    assert "execution_timeout" not in meta.get("mystnb", {}), f"{_id(md)}: drop mystnb.execution_timeout"


def _headings(md: Path) -> list[str]:
    nb = jupytext.read(md)
    return [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
            if line.startswith("#")]  # fmt: skip


def _head(md: Path) -> str:
    code = [c.source for c in jupytext.read(md).cells if c.cell_type == "code"]
    return "\n".join(code[1:4])  # "near the top": within the three cells after the setup cell


@pytest.mark.parametrize("md", CHAPTERS, ids=_id)
def test_every_page_resolves_its_profile_near_its_top(md: Path) -> None:
    assert re.search(r"\bstart_chapter\(", _head(md)), (
        f"{_id(md)} must resolve its profile with start_chapter()")


def _chapter_pages() -> list[tuple[str, list[Path]]]:
    from ecg_lib import chapter_registry

    return [(c.name, [ROOT / f"{p}.md" for p in c.pages]) for c in chapter_registry.CHAPTERS]


@pytest.mark.parametrize("name,pages", [*_chapter_pages(), ("template", [TEMPLATE])], ids=lambda v: (
    v if isinstance(v, str) else ""))
def test_chapter_follows_the_template(name: str, pages: list[Path]) -> None:
    # a chapter prints its run info near the top of its first page and ends, on its last page, with the
    # "Paper vs. this book" table under a heading of that name
    assert re.search(r"\b(print_info|run_info)\(", _head(pages[0])), (
        f"{name} must print its run info near its top")
    assert any(re.search(r"paper vs\.? this book", h, re.I) for h in _headings(pages[-1])), (
        f"{name} must end with a 'Paper vs. this book' table under a heading of that name"
    )


@pytest.mark.parametrize("md", [*NOTEBOOK_PAGES, TEMPLATE], ids=_id)
def test_chapter_defines_no_function(md: Path) -> None:
    # What a page shows is computed in ecg_lib.chapters.<chapter>; a notebook only calls the library.
    code = [c.source for c in jupytext.read(md).cells if c.cell_type == "code"]
    defined = [m for src in code for m in re.findall(r"^\s*(?:def|class)\s+(\w+)|\blambda\b", src, re.M)]
    assert not defined, f"{_id(md)} defines functions in its cells ({defined}): move them to ecg_lib.chapters"


def test_chapters_are_in_the_toc() -> None:
    listed = set(toc_files())
    missing = [_id(md) for md in CHAPTERS if f"notebooks/{md.stem}" not in listed]
    assert not missing, f"add these chapters to _toc.yml: {missing}"


def test_toc_pages_exist() -> None:
    for page in toc_files():
        assert (ROOT / f"{page}.md").exists(), f"_toc.yml lists {page}, but {page}.md does not exist"


def test_notebook_detection() -> None:
    # The pairing tests above are only as good as the page discovery: the intro draws a figure.
    assert is_notebook_page(ROOT / "book" / "intro.md")
    assert not is_notebook_page(ROOT / "book" / "running.md")
    assert ROOT / "book" / "intro.md" in NOTEBOOK_PAGES
