"""Fixtures for the built book, imported by tests/conftest.py so every test module shares one build.

``book_build`` runs ``scripts/build_book.sh`` once per test session: the build executes every notebook
page exactly once (quick profile unless ``ECG_PROFILE`` says otherwise), and the browser test and the
chapter tests then read that one build. ``executed_notebook(name)`` returns a chapter as the build
executed it, outputs included, from ``_build/jupyter_execute/``.

Set ``BOOK_REUSE_BUILD=1`` to test an existing ``_build/html`` instead of building (for iterating on
the tests themselves; CI always builds).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
ARTIFACTS = ROOT / "artifacts"
# A hang guard, not a speed target: each chapter aims at 4 minutes in the quick profile and prints its
# run time; the build is killed only far beyond that (CI has 90 minutes in all).
SECONDS_PER_NOTEBOOK = 600
BUILD_MARGIN_S = 180


def toc_files() -> list[str]:
    """Every page of _toc.yml (``book/intro``, ``notebooks/alexnet``, ...), in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries: list[dict]) -> None:
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    return files


def is_notebook_page(md: Path) -> bool:
    """A MyST-Markdown notebook (executed by the build) rather than a plain page; False if missing
    (tests/test_pairing.py::test_toc_pages_exist reports pages that _toc.yml lists but do not exist)."""
    if not md.exists():
        return False
    text = md.read_text()
    return text.startswith("---") and "kernelspec:" in text.split("\n---", 1)[0]


def notebook_pages() -> list[str]:
    return [f for f in toc_files() if is_notebook_page(ROOT / f"{f}.md")]


@dataclass(frozen=True)
class BookBuild:
    html: Path  # _build/html
    executed: Path  # _build/jupyter_execute: the notebooks as executed, with outputs
    log: str
    returncode: int


@pytest.fixture(scope="session")
def book_build() -> BookBuild:
    """The book built once for the whole session, warning-free, every notebook executed once."""
    log_file = ARTIFACTS / "build.log"
    if os.environ.get("BOOK_REUSE_BUILD") == "1" and (BUILD / "html" / "index.html").exists():
        log = (BUILD / "build.log").read_text() if (BUILD / "build.log").exists() else ""
        return BookBuild(BUILD / "html", BUILD / "jupyter_execute", log, 0)

    ARTIFACTS.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("ECG_PROFILE", "quick")
    env["BOOK_EXECUTE"] = "force"  # never reuse a cached execution: one execution per test run
    env["BOOK_LOG"] = str(log_file)
    # The build must use this interpreter's jupyter-book (the venv's), even if the venv is not activated.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    timeout = SECONDS_PER_NOTEBOOK * len(notebook_pages()) + BUILD_MARGIN_S
    try:
        proc = subprocess.run(
            ["bash", str(ROOT / "scripts" / "build_book.sh")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        pytest.fail(f"the book build ran past its {timeout}s budget ({SECONDS_PER_NOTEBOOK}s per notebook "
                    f"page) and was stopped; end of its log:\n{out[-5000:]}")
    log = proc.stdout + proc.stderr
    (ARTIFACTS / "build_book.out").write_text(log)
    return BookBuild(BUILD / "html", BUILD / "jupyter_execute", log, proc.returncode)


@pytest.fixture(scope="session")
def executed_notebook(book_build: BookBuild) -> Callable[[str], nbformat.NotebookNode]:
    """``executed_notebook("alexnet")``: the AlexNet chapter as the book build executed it, every page of
    it (its notebook, then its sections) as one notebook; ``executed_notebook("alexnet_lrn")``: one page."""

    def read(page: str) -> nbformat.NotebookNode:
        path = book_build.executed / f"{page}.ipynb"
        if not path.exists():
            known = sorted(p.stem for p in (book_build.executed / "notebooks").glob("*.ipynb"))
            raise FileNotFoundError(
                f"{path} does not exist: is {page} listed in _toc.yml? Executed chapters: {known}"
            )
        return nbformat.read(path, as_version=4)

    def load(name: str) -> nbformat.NotebookNode:
        # a chapter that runs over several pages is read as one notebook: its pages' cells in reading order
        from ecg_lib import chapter_registry

        if name not in chapter_registry.names():
            return read(f"notebooks/{name}")
        pages = [read(page) for page in chapter_registry.chapter(name).pages]
        for nb in pages[1:]:
            pages[0].cells.extend(nb.cells)
        return pages[0]

    return load


def printed_text(nb) -> str:
    """Everything an executed notebook printed or displayed as text/Markdown (for chapter tests)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            data = out.get("data", {})
            parts.append(data.get("text/markdown", "") + data.get("text/plain", ""))
    return "\n".join(parts)


# One headless Chromium per test session, shared by the book's browser tests and the explorers' page
# test: Playwright's sync API allows only one running instance per thread, so a second
# `sync_playwright()` while the first is open fails ("Sync API inside the asyncio loop").
CHROMIUM = Path("/usr/bin/chromium")
# Flags for a headless, quiet browser that contacts nothing by itself (toolchain notes).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[object | None]:
    """The session's headless Chromium (a Playwright ``Browser``), or None where Debian's Chromium or
    Playwright is missing; each user decides whether that fails or skips."""
    if not CHROMIUM.exists():
        yield None
        return
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        yield None
        return
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
