"""Measure a built book's pages as a reader sees them at 1280 px: each page's height, the blocks that scroll
sideways and the tables over six columns (the browser test's judgement, tests/layout_check.py), and take
first-screen screenshots of chosen pages.

    python benchmarks/page_layout.py _build/html --out benchmarks/pages/after.json \
        --shots book/scoreboard notebooks/resnet --shot-dir benchmarks/pages --tag after

Needs Debian's chromium and playwright (the dev extras). Pages are the files of _toc.yml.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from book_fixtures import CHROMIUM, toc_files  # noqa: E402
from layout_check import MEASURE_LAYOUT, layout_problems  # noqa: E402


def measure(site: Path, pages: list[str], shots: list[str], shot_dir: Path | None, tag: str) -> dict:
    from playwright.sync_api import sync_playwright

    out = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])  # fmt: skip
        tab = browser.new_page(viewport={"width": 1280, "height": 900})
        for page in pages:
            path = site / f"{page}.html"
            if not path.exists():
                continue
            tab.goto(path.as_uri(), wait_until="load")
            tab.wait_for_timeout(300)
            layout = tab.evaluate(MEASURE_LAYOUT)
            out[page] = {"height": layout["height"], "sideways": len(layout["sideways"]),
                         "wide_tables": sum(t["columns"] > 6 for t in layout["tables"]),
                         "problems": layout_problems(page, layout)}  # fmt: skip
            if page in shots and shot_dir is not None:
                tab.screenshot(path=str(shot_dir / f"{tag}-{page.replace('/', '__')}.png"))
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the built book, e.g. _build/html")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument("--pages", nargs="*", help="pages to measure (default: every page of _toc.yml)")
    parser.add_argument("--shots", nargs="*", default=[], help="pages to screenshot (first screen)")
    parser.add_argument("--shot-dir", type=Path, help="where screenshots go")
    parser.add_argument("--tag", default="page", help="screenshot file name prefix")
    args = parser.parse_args()
    pages = args.pages or toc_files()
    result = measure(args.site, pages, args.shots, args.shot_dir, args.tag)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    for page, m in result.items():
        print(f"{page:32s} {m['height']:>7,} px  sideways {m['sideways']:>3}  "
              f"tables>6 cols {m['wide_tables']}")


if __name__ == "__main__":
    main()
