"""Geometric statements computed, not typed (issue 24): which positions are window centres, which
positions a pooling grid reads, where the windows of a layer's units fall on the image (every unit, and a
corner unit), and the page sentences generated from them. The last test lists the geometric sentences
that were once typed on the pages and fails if one reappears."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from ecg_lib.chapters import alexnet as alexnet_page
from ecg_lib.chapters import comparison as comparison_page
from ecg_lib.chapters import vgg as vgg_page
from ecg_lib.counting import positions_read, receptive_field, window_centres
from ecg_lib.experiments import comparison
from ecg_lib.models import get_model, model_spec
from ecg_lib.tracing import Coverage, coverage, trace

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------------
# Window centres and positions read, in two dimensions


def test_stride_4_centres_one_position_in_16_not_one_in_4() -> None:
    # AlexNet's conv1 geometry with "same" padding: units 4 pixels apart in both directions
    centres = window_centres(nn.Conv2d(3, 96, 11, stride=4, padding=5), 224)
    assert centres.shape == (224, 224) and int(centres.sum()) == 56 * 56
    assert float(centres.float().mean()) == 1 / 16  # the 2-D share
    assert float(centres.any(0).float().mean()) == 1 / 4  # the 1-D share, along one row
    assert bool(centres[0, 0]) and bool(centres[4, 8]) and not bool(centres[0, 2])


def test_a_stride_1_stack_centres_every_position_and_the_paper_layer_its_own_grid() -> None:
    from ecg_lib.experiments import vgg

    assert bool(window_centres(vgg.conv_stack(3, 3, 1), 32).all())
    # AlexNet as the paper builds it: 227 pixels, no padding, 55 units a side centred at 5, 9, ..., 221
    paper = window_centres(nn.Conv2d(3, 96, 11, stride=4), 227)
    assert int(paper.sum()) == 55 * 55 and bool(paper[5, 221]) and not bool(paper[0, 0])
    # a window of even side has no centre pixel
    assert not bool(window_centres(nn.MaxPool2d(2, 2), 8).any())


def test_positions_read_by_pooling_grids() -> None:
    overlapping, plain = positions_read(nn.MaxPool2d(3, 2), 55), positions_read(nn.MaxPool2d(2, 2), 55)
    assert bool(overlapping.all())
    assert int(plain.sum()) == 54 * 54 and not bool(plain[54].any()) and not bool(plain[:, 54].any())
    # padding: the first window starts outside the map, and still every position is read
    assert bool(positions_read(nn.Conv2d(1, 1, 3, stride=2, padding=1), 9).all())
    assert int(positions_read(nn.Conv2d(1, 1, 1, stride=2), 5).sum()) == 9


# ------------------------------------------------------------------------------------------------------
# Coverage of the image by the units of a layer


def test_coverage_by_hand_one_padded_3x3_layer_on_a_3x3_image() -> None:
    c = coverage(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1)), (1, 3, 3))
    assert c == Coverage(image=3, units=3, size=3, jump=1, first=-1)
    assert c.window(0) == (-1, 1) and c.window(2) == (1, 3)
    assert c.covers() == [False, True, False]
    assert c.full_units == 1 and c.full_share == pytest.approx(1 / 9)
    assert c.corner_seen == pytest.approx(4 / 9) and c.corner_inside == pytest.approx(4 / 9)


def test_coverage_agrees_with_receptive_field_on_a_chain() -> None:
    chain = nn.Sequential(nn.Conv2d(1, 1, 7, stride=2, padding=3), nn.MaxPool2d(3, 2, padding=1),
                          nn.Conv2d(1, 1, 3, padding=1))  # fmt: skip
    c, rf = coverage(chain, (1, 64, 64)), receptive_field(chain)
    assert (c.size, c.jump) == (rf.size, rf.jump)
    assert c.first + (c.size - 1) / 2 == rf.start  # the window's centre is receptive_field's start
    assert c.units == chain(torch.zeros(1, 1, 64, 64)).shape[-1]


def test_coverage_counts_an_explicit_pad_like_a_padding() -> None:
    # reflect padding goes through F.pad before an unpadded convolution: the same windows
    zero = coverage(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), nn.Conv2d(1, 1, 3, padding=1)), (1, 8, 8))
    reflect = coverage(nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"),
                                     nn.Conv2d(1, 1, 3, padding=1)), (1, 8, 8))  # fmt: skip
    assert reflect == zero == Coverage(image=8, units=8, size=5, jump=1, first=-2)


def _coverage(name: str) -> Coverage:
    with torch.device("meta"):
        model = get_model(name)
    c = trace(model, model_spec(name).input_size).coverage
    assert c is not None
    return c


def test_vgg19_field_is_wider_than_the_image_but_only_4_of_196_units_see_all_of_it() -> None:
    c = _coverage("vgg_e")
    assert (c.size, c.jump, c.units, c.image) == (252, 16, 14, 224)
    assert c.covers() == [i in (6, 7) for i in range(14)]  # the two central units along each side
    assert c.full_units == 4 and c.full_share == pytest.approx(4 / 196)
    assert c.window(0) == (-118, 133)  # a corner unit: 118 pixels of padding on one side
    assert c.corner_seen == pytest.approx((134 / 224) ** 2)


@pytest.mark.parametrize(("name", "full", "corner_seen"), [
    ("alexnet", 0, (99 / 227) ** 2), ("vgg_d", 0, (106 / 224) ** 2),
    ("googlenet", 49, 1.0), ("resnet152", 49, 1.0), ("resnet20", 64, 1.0),
])  # fmt: skip
def test_coverage_of_the_last_convolution(name: str, full: int, corner_seen: float) -> None:
    c = _coverage(name)
    assert c.full_units == full and c.corner_seen == pytest.approx(corner_seen)
    assert c.size == trace_field(name)


def trace_field(name: str) -> int:
    with torch.device("meta"):
        model = get_model(name)
    return trace(model, model_spec(name).input_size).receptive_field


# ------------------------------------------------------------------------------------------------------
# The sentences generated from them


def test_vgg_stride_sentence_gives_the_2d_share() -> None:
    text = vgg_page.stride_centres_text(224)
    assert "centres a unit on every position" in text
    assert "centres one on 1 in 16 positions (3,136 of 50,176)" in text
    assert "the other 93.75% are never the centre of an 11×11 window" in text
    assert "Along one row the share would be 1 in 4" in text


def test_vgg_footprint_sentence_counts_the_paths() -> None:
    text = vgg_page.footprint_text(15)
    assert "see the same 7×7 window, but not equally." in text
    assert ("the centre pixel reaches the output through 49 paths, and a corner pixel of the window "
            "through 1.") in text
    assert "connects each of its 49 pixels through 1 path, and weighs them alike" in text
    # no degenerate pair (issue 27): not "7×7 and 7×7 pixels", nor a corner figure equal to every pixel's
    assert "7×7 and 7×7" not in text and "corner: 1" not in text and "((" not in text


def test_alexnet_pooling_sentence() -> None:
    assert alexnet_page.pooling_read_text(55) == (
        "On a 55×55 map, a 3×3 grid with stride 2 reads every position; a 2×2 grid with stride 2 reads "
        "2,916 of the 3,025 positions (96.4%): never row and column 55 of 55."
    )
    assert alexnet_page.pooling_read_text(7).endswith("a 2×2 grid with stride 2 reads 36 of the 49 positions "
                                                      "(73.5%): never row and column 7 of 7.")  # fmt: skip


def test_comparison_receptive_field_sentences() -> None:
    marks = comparison.landmarks()
    text = comparison_page.receptive_field_text(marks)
    assert text.startswith("In GoogLeNet and ResNet-152 the last convolution's field (715 and 1,507 pixels)")
    assert "every one of its units, corner units included" in text and "90% to 98% of the window" in text
    assert ("VGG-19's field, 252 pixels, is wider than its 224-pixel input, yet only 4 of its 196 last-layer "
            "units see all of the image: units 7 to 8 of the 14 along each side.") in text
    assert "reaches 118 pixels into the padding on one side and holds 36% of the image" in text
    assert "In AlexNet, NIN and VGG-16 the field is narrower than the image" in text
    # which network each corner share belongs to, not a bare list of percentages
    assert text.endswith("a corner unit sees 19% of the image in AlexNet, 34% in NIN and 22% in VGG-16.")
    assert "((" not in text and "%;" not in text
    lines = comparison_page.receptive_field_lines(marks).splitlines()
    assert lines[3].startswith("    VGG-19:   252 px, wider than the image (224 px);  4 of 196 units "
                               "(  2.0%)")


def test_comparison_alexnet_input_sentence() -> None:
    assert comparison_page.alexnet_input_text((224, 227)) == (
        "AlexNet's first layer (11×11, stride 4, no padding): on 224×224 it has 54 units a side and never "
        "reads the last row and column; on 227×227 it has 55 units a side and reads every pixel."
    )


# ------------------------------------------------------------------------------------------------------
# No geometric sentence typed on a page


#: Geometric statements once typed on a page (issue 24), each now generated by the call beside it. The
#: typed wording must not come back; the generating call must stay on the page.
TYPED_GEOMETRY: tuple[tuple[str, str, str], ...] = (
    ("notebooks/vgg.md", r"three quarters of the positions", "vgg_page.stride_centres_text("),
    ("notebooks/vgg.md", r"reaches the output through \d+ paths", "vgg_page.footprint_text("),
    ("notebooks/alexnet_lrn.md", r"never reads the last row and column", "alexnet_page.pooling_read_text("),
    ("notebooks/alexnet_lrn.md", r"2×2 grid on \d+ pixels", "alexnet_page.pooling_read_text("),
    ("notebooks/comparison.md", r"every unit of the last convolution is\s+connected",
     "comparison_page.receptive_field_text("),
    ("notebooks/comparison.md", r"none of them is out of reach", "comparison_page.receptive_field_text("),
    ("notebooks/comparison.md", r"take it just past the image", "comparison_page.receptive_field_text("),
    ("notebooks/comparison.md", r"only tiles 227 exactly", "comparison_page.alexnet_input_text("),
)  # fmt: skip

_PAGES = sorted([*ROOT.glob("notebooks/*.md"), *ROOT.glob("book/*.md")])


@pytest.mark.parametrize(("page", "typed", "call"), TYPED_GEOMETRY)
def test_no_typed_geometric_statement_on_the_pages(page: str, typed: str, call: str) -> None:
    for path in _PAGES:  # on no page, not only the one it was found on
        text = re.sub(r"\s+", " ", path.read_text())
        assert not re.search(typed, text), f"{path.name}: typed geometric statement {typed!r}; use {call}...)"
    assert call in (ROOT / page).read_text(), f"{page} no longer generates its sentence with {call}...)"
