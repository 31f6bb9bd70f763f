"""The browser test's layout judgement (tests/layout_check.py) on small samples: no book build needed."""

from __future__ import annotations

import layout_check
from layout_check import MAX_PAGE_PX, layout_problems


def _page(height: int = 5_000, sideways: list | None = None, columns: tuple[int, ...] = (3,)) -> dict:
    return {"height": height, "sideways": sideways or [],
            "tables": [{"columns": n, "text": f"table {n}"} for n in columns]}  # fmt: skip


def test_a_page_that_fits_has_no_problem() -> None:
    assert layout_problems("notebooks/x", _page(height=MAX_PAGE_PX, columns=(3, 6))) == []


def test_each_problem_is_named() -> None:
    block = {"tag": "pre", "scroll": 900, "client": 688, "text": "print(...)"}
    problems = layout_problems("notebooks/x", _page(height=MAX_PAGE_PX + 1, sideways=[block], columns=(7, 2)))
    assert len(problems) == 3
    assert "12,001 px tall" in problems[0]
    assert "<pre> scrolls sideways (900 px in 688 px)" in problems[1]
    assert "a table of 7 columns" in problems[2]


def test_a_tall_page_passes_only_with_a_stated_reason(monkeypatch) -> None:
    tall = _page(height=MAX_PAGE_PX * 2)
    assert layout_problems("notebooks/x", tall)
    monkeypatch.setitem(layout_check.TALL_PAGES, "notebooks/x", "one long derivation that cannot be cut")
    assert layout_problems("notebooks/x", tall) == []
