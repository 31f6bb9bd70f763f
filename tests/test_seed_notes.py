"""The boxes that confront the notes' five statements: their figures are the library's and the papers'."""

from __future__ import annotations

import pytest

from ecg_lib import papers
from ecg_lib.chapters import seed_notes
from ecg_lib.experiments import googlenet


def test_every_statement_has_a_page_and_a_section() -> None:
    assert set(seed_notes.SEED_NOTES) == {"inception_one_third", "resnet1202_same", "residual_dropout",
                                          "lrn_unbounded", "relu_linear"}  # fmt: skip
    assert {n.chapter for n in seed_notes.SEED_NOTES.values()} == {"googlenet", "resnet", "alexnet"}
    text = seed_notes.box("relu_linear", "body")
    assert text.startswith("~~~{admonition} The notes said: \u201cReLU is a linear activation\u201d\n")
    assert ":class: warning seed-note" in text and text.endswith("body\n~~~")
    with pytest.raises(KeyError):
        seed_notes.box("unknown", "")


def test_inception_share_is_counted_without_and_with_the_pool_projection() -> None:
    text = seed_notes.reduction_share_box(googlenet.branch_savings("3a"))
    assert "no pool projection, 157,184 / 387,072 = 40.6%" in text
    assert "in both modules, 163,328 / 393,216 = 41.5%" in text
    assert "40.6 to 41.5% of the weights, not one third" in text


def test_resnet_1202_box_reads_table6_and_counts_the_models() -> None:
    text = seed_notes.depth_1202_box()
    assert "7.93% CIFAR-10 test error for the 1202-layer network against 6.43%" in text
    assert "worse by 1.50 points" in text
    assert "19.4 M and 1.7 M parameters (the paper: 19.4 M and 1.7 M)" in text
    assert max(papers.RESNET_TABLE1_GMACS) == 152
    assert "the deepest ImageNet ResNet of the paper has 152 layers" in text


def test_lrn_box_quotes_sec_3_3_and_computes_the_slopes() -> None:
    text = seed_notes.lrn_box()
    assert "do not require input normalization to prevent them from saturating" in text
    assert "x = 100: ReLU 1, tanh 0" in text and "x = 1: ReLU 1, tanh 0.42;" in text
    assert "1.4 and 1.2 points lower top-1 and top-5 error" in text and "13% against 11%" in text


def test_relu_box_shows_both_linearity_tests_fail() -> None:
    text = seed_notes.relu_linearity_box(2.0, -3.0)
    assert "f(a + b) = 0 but f(a) + f(b) = 2; f(\u2212a) = 0 but \u2212f(a) = -2." in text
    assert "Both equalities fail" in text
    # with two positive numbers additivity holds, and the sentence says so
    assert "An equality holds here" in seed_notes.relu_linearity_box(2.0, 3.0)


def test_ensemble_box_separates_what_is_cited_from_what_is_measured() -> None:
    text = seed_notes.ensemble_box()
    assert "{cite:t}`veit2016residual`" in text and "{cite}`srivastava2014dropout`" in text
    assert "without dropout (Sec. 3.4 and 4.2)" in text and "section 7" in text
