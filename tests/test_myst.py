"""The Markdown that cells display parses as the directive it means (issue 27: three pitfall boxes showed
their raw opening line and an empty box, because their titles hold backticks)."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from ecg_lib.chapters import pitfalls, seed_notes
from ecg_lib.chapters.myst import admonition
from ecg_lib.experiments import alexnet as EA
from ecg_lib.experiments import googlenet as EG
from ecg_lib.experiments import nin as EN
from ecg_lib.experiments import resnet as E
from ecg_lib.experiments import vgg as EV


def _directive(text: str) -> tuple[str, str]:
    """(info string, body) of ``text`` if it is exactly one fenced block, as MyST's parser (markdown-it,
    CommonMark rules) reads it; fails otherwise."""
    tokens = MarkdownIt("commonmark").parse(text)
    kinds = [t.type for t in tokens]
    assert kinds == ["fence"], f"not one fenced directive but {kinds}: {text[:120]!r}"
    return tokens[0].info, tokens[0].content


def test_a_title_with_backticks_still_opens_the_directive() -> None:
    info, body = _directive(admonition("Pitfall: torchvision's `alexnet`", "- one\n- two"))
    assert info == "{admonition} Pitfall: torchvision's `alexnet`"
    assert body == ":class: warning\n\n- one\n- two\n"


def test_a_body_with_fences_of_its_own_cannot_close_the_box() -> None:
    inner = "~~~~\ncode\n~~~~\n```\nmore\n```"
    info, body = _directive(admonition("t", inner, "note"))
    assert info == "{admonition} t" and body.endswith(inner + "\n")
    with pytest.raises(ValueError, match="one line"):
        admonition("two\nlines", "x")


BOXES = {
    "alexnet": lambda: pitfalls.alexnet_box(EA.torchvision_alexnet()),
    "googlenet": lambda: pitfalls.googlenet_box(EG.torchvision_googlenet()),
    "resnet": lambda: pitfalls.resnet_box(E.torchvision_resnet50()),
    "vgg": lambda: pitfalls.vgg_box(EV.torchvision_vgg_head(32)),
    "nin": lambda: pitfalls.nin_box(EN.pooling_rounding(32)),
}


@pytest.mark.parametrize("chapter", sorted(BOXES))
def test_every_pitfall_box_is_one_admonition_with_its_title(chapter: str) -> None:
    info, body = _directive(BOXES[chapter]())
    assert info.startswith("{admonition} Pitfall: ")
    assert body.startswith(":class: warning\n\n- ")


@pytest.mark.parametrize("key", sorted(seed_notes.SEED_NOTES))
def test_every_seed_note_box_is_one_admonition(key: str) -> None:
    info, body = _directive(seed_notes.box(key, "A computed figure: `3`."))
    assert info == f"{{admonition}} The notes said: \u201c{seed_notes.SEED_NOTES[key].said}\u201d"
    assert body.startswith(":class: warning seed-note\n\n")
