"""MyST snippets that chapter cells display as Markdown, written so that any title renders.

A directive opened with a backtick fence cannot have a backtick in its title: CommonMark forbids
backticks in a backtick fence's info string, so "```{admonition} torchvision's `alexnet`" is not a
fence at all and the page shows the raw text followed by an empty box (issue 27). A tilde fence has no
such limit, and is made longer than any run of tildes inside the box so the body cannot close it.
"""

from __future__ import annotations

import re

__all__ = ["admonition"]


def admonition(title: str, body: str, classes: str = "warning") -> str:
    """A MyST ``admonition`` titled ``title`` (backticks allowed) with CSS ``classes`` around ``body``."""
    if "\n" in title:
        raise ValueError("an admonition title must be one line")
    longest = max((len(run) for run in re.findall(r"~+", body)), default=0)
    fence = "~" * max(3, longest + 1)
    return f"{fence}{{admonition}} {title}\n:class: {classes}\n\n{body}\n{fence}"
