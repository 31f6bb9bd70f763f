"""What the built scoreboard and introduction must show in their first screen, as plain functions.

The browser test (tests/test_book.py) measures the pages at 1280×900 and hands the page's HTML and the
measured boxes to these functions; tests/test_scoreboard.py drives them on small samples, so the checks
themselves are tested without a browser or a book build.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from typing import Any

#: The first screen the checks judge (the browser test's viewport).
SCREEN = {"width": 1280, "height": 900}

# Runs in the page: the boxes of the scoreboard's count and of each chapter's row of tiles, viewport
# coordinates at the top of the page.
MEASURE_SCOREBOARD = """() => {
  window.scrollTo(0, 0);
  const box = el => { const r = el.getBoundingClientRect();
                      return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  const count = document.querySelector('.ecg-board .ecg-count');
  const rows = {};
  document.querySelectorAll('.ecg-board .ecg-row').forEach(row => {
    const tiles = [...row.querySelectorAll('a.ecg-tile')].map(box);
    rows[row.dataset.chapter] = {row: box(row), tiles: tiles};
  });
  return {count: count && box(count), rows: rows};
}"""

# Runs in the page: the introduction's first list (the five points) and where it sits.
MEASURE_INTRO = """() => {
  window.scrollTo(0, 0);
  const title = document.querySelector('article h1') || document.querySelector('h1');
  const list = title && [...document.querySelectorAll('article ul, main ul')]
      .find(ul => title.compareDocumentPosition(ul) & Node.DOCUMENT_POSITION_FOLLOWING);
  if (!list) { return null; }
  const r = list.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, items: [...list.children].map(li => li.innerText)};
}"""


class _Grid(HTMLParser):
    """The scoreboard grid's structure in a page: its count, its rows (in order) with their tiles' links
    and classes, and every element id in the page."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.count = False
        self.rows: list[tuple[str, list[tuple[str, str]]]] = []  # (chapter, [(href, class), ...])
        self._row_depth: int | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.ids.add(a["id"])
        classes = a.get("class", "").split()
        if tag not in ("br", "img", "meta", "link", "input", "hr"):
            self._depth += 1
        if "ecg-count" in classes:
            self.count = True
        if "ecg-row" in classes:
            self.rows.append((a.get("data-chapter", ""), []))
            self._row_depth = self._depth
        elif tag == "a" and "ecg-tile" in classes and self._row_depth is not None:
            self.rows[-1][1].append((a.get("href", ""), " ".join(classes)))

    def handle_endtag(self, tag: str) -> None:
        if self._row_depth is not None and self._depth == self._row_depth:
            self._row_depth = None
        if tag not in ("br", "img", "meta", "link", "input", "hr"):
            self._depth -= 1


def parse_grid(html: str) -> _Grid:
    grid = _Grid()
    grid.feed(html)
    return grid


def grid_problems(html: str, chapters: Sequence[str]) -> list[str]:
    """What is wrong with a page's scoreboard grid: no count; a chapter without its row of tiles, or rows
    out of reading order; a tile without a colour class or a link to an id that the page holds."""
    grid = parse_grid(html)
    problems = [] if grid.count else ["no count (.ecg-count) in the page"]
    shown = [chapter for chapter, _ in grid.rows]
    missing = [c for c in chapters if c not in shown]
    if missing:
        problems.append(f"chapters without a row of tiles: {', '.join(missing)}")
    order = [c for c in shown if c in chapters]
    if order != [c for c in chapters if c in order]:
        problems.append(f"rows out of reading order: {order}")
    kinds = ("ecg-holds", "ecg-fails", "ecg-noise", "ecg-untestable", "ecg-none")
    for chapter, tiles in grid.rows:
        if not tiles:
            problems.append(f"{chapter}: a row without tiles")
        for href, classes in tiles:
            if sum(k in classes.split() for k in kinds) != 1:
                problems.append(f"{chapter}: tile {href} has no single verdict class ({classes})")
            if not href.startswith("#") or href[1:] not in grid.ids:
                problems.append(f"{chapter}: tile links to {href!r}, which no element of the page has")
    return problems


def first_screen_problems(boxes: Mapping[str, Any], chapters: Sequence[str],
                          screen: Mapping[str, int] = SCREEN) -> list[str]:  # fmt: skip
    """What of the count and of each chapter's tiles lies outside the first screen (``boxes`` as
    :data:`MEASURE_SCOREBOARD` returns them: viewport coordinates at the top of the page)."""
    h, w = screen["height"], screen["width"]
    problems = []
    count = boxes.get("count")
    if not count:
        problems.append("no count on the page")
    elif count["bottom"] > h or count["top"] < 0:
        problems.append(f"the count spans y = {count['top']:.0f} to {count['bottom']:.0f}, outside 0 to {h}")
    rows = boxes.get("rows", {})
    for chapter in chapters:
        row = rows.get(chapter)
        if not row or not row["tiles"]:
            problems.append(f"{chapter}: no tiles on the page")
            continue
        low = max(t["bottom"] for t in row["tiles"])
        right = max(t["right"] for t in row["tiles"])
        if low > h:
            problems.append(f"{chapter}: its tiles reach y = {low:.0f}, below the first screen ({h} px)")
        if right > w:
            problems.append(f"{chapter}: its tiles reach x = {right:.0f}, right of the screen ({w} px)")
    return problems


def intro_problems(found: Mapping[str, Any] | None, screen: Mapping[str, int] = SCREEN) -> list[str]:
    """What is wrong with the introduction's five points (``found`` as :data:`MEASURE_INTRO` returns it):
    missing, not five, or starting below the first screen."""
    if not found:
        return ["no list after the title: the five points are missing"]
    problems = []
    if len(found["items"]) != 5:
        problems.append(f"the first list has {len(found['items'])} points, not 5")
    if found["top"] > screen["height"]:
        problems.append(f"the five points start at y = {found['top']:.0f}, below the first screen")
    return problems
