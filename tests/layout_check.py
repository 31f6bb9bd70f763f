"""Whether a built page fits its column and a reader's sitting, as plain functions (issue 27, item 5).

The browser test (tests/test_book.py) measures every page at 1280 px with :data:`MEASURE_LAYOUT` and
hands the result to :func:`layout_problems`; tests/test_layout_check.py drives it on small samples, so the
judgement is tested without a browser or a book build.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: A page a reader finishes in one sitting, at 1280 px wide (d2l.ai's chapters on the same papers run
#: 5,500-12,900 px there).
MAX_PAGE_PX = 12_000
#: Tables wider than this many columns are split or transposed (a 688-px column holds about six).
MAX_TABLE_COLUMNS = 6
#: Pages allowed to be taller than MAX_PAGE_PX, each with the reason the page states it.
TALL_PAGES: dict[str, str] = {}

# Runs in the page: its height, every block that scrolls sideways, and every table's column count.
MEASURE_LAYOUT = """() => {
  const article = document.querySelector('article') || document.body;
  const label = el => (el.innerText || el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
  const blocks = article.querySelectorAll(
      'pre, div.highlight, div.cell_output, div.output, div.pst-scrollable-table-container, table, figure');
  const sideways = [...blocks].filter(el => el.scrollWidth > el.clientWidth + 2)
      .map(el => ({tag: el.tagName.toLowerCase(), scroll: el.scrollWidth, client: el.clientWidth,
                   text: label(el)}));
  const tables = [...article.querySelectorAll('table')].map(t => {
    const row = t.querySelector('tr');
    const columns = row ? [...row.children].reduce((n, c) => n + (c.colSpan || 1), 0) : 0;
    return {columns: columns, text: label(t)};
  });
  return {height: document.documentElement.scrollHeight, sideways: sideways, tables: tables};
}"""


def layout_problems(page: str, measured: Mapping[str, Any]) -> list[str]:
    """What is wrong with ``page``'s layout, one sentence per problem: taller than :data:`MAX_PAGE_PX`
    (unless :data:`TALL_PAGES` says why), a block that scrolls sideways, a table of more than
    :data:`MAX_TABLE_COLUMNS` columns."""
    problems = []
    height = measured["height"]
    if height > MAX_PAGE_PX and page not in TALL_PAGES:
        problems.append(f"{page} is {height:,} px tall at 1280 px, over {MAX_PAGE_PX:,}: split it "
                        "into sub-pages (sections: in _toc.yml) or give TALL_PAGES the reason")  # fmt: skip
    for block in measured["sideways"]:
        problems.append(f"{page}: a <{block['tag']}> scrolls sideways ({block['scroll']} px in "
                        f"{block['client']} px): {block['text']!r}")  # fmt: skip
    for table in measured["tables"]:
        if table["columns"] > MAX_TABLE_COLUMNS:
            problems.append(f"{page}: a table of {table['columns']} columns (at most {MAX_TABLE_COLUMNS}): "
                            f"{table['text']!r}")  # fmt: skip
    return problems
