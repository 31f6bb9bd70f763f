"""Exercises at the end of each chapter, and the checks that validate a reader's answer.

Each exercise has a key (``"googlenet.3a_reductions"``); :func:`check` computes the right answer with
the library itself (modules built and counted with :mod:`ecg_lib.counting`, the layers' own formulas),
so the check cannot drift from the code the chapter shows. A chapter's cell::

    answer = None  # your answer
    exercises.check("resnet.option_c_extra", answer)

shows "not answered yet" for ``None``, "correct" or "not yet" (with a direction where that helps)
otherwise; the answer itself is never printed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ecg_lib.counting import count_macs, count_params, receptive_field

__all__ = ["EXERCISES", "Check", "Exercise", "check", "exercise_keys"]


@dataclass(frozen=True)
class Check:
    """The outcome of checking one answer; shown as Markdown in a notebook."""

    key: str
    answered: bool
    correct: bool
    message: str

    def _repr_markdown_(self) -> str:
        if self.correct:
            head = "**Correct.**"
        else:
            head = "**Not yet.**" if self.answered else "**Not answered yet.**"
        return f"{head} {self.message}"

    def __str__(self) -> str:
        return self._repr_markdown_().replace("**", "")


@dataclass(frozen=True)
class Exercise:
    """``truth()`` computes the right answer; ``kind`` is "int" (exact), "float" (within ``tolerance``,
    absolute) or "custom" (``judge(answer)`` returns (correct, message))."""

    key: str
    expects: str  # what the answer is, in words, for the "not answered" message
    truth: Callable[[], Any] | None = None
    kind: str = "int"
    tolerance: float = 0.0
    judge: Callable[[Any], tuple[bool, str]] | None = None


def _meta(build: Callable[..., nn.Module], *args: Any, **kwargs: Any) -> nn.Module:
    with torch.device("meta"):
        return build(*args, **kwargs)


# ----------------------------------------------------------------------------------------------------------
# The truths, computed by the library


def _alexnet_conv2_params() -> int:
    from ecg_lib.models import alexnet as A

    return count_params(_meta(A.alexnet).features.conv2)


def _alexnet_grouping_saving() -> int:
    from ecg_lib.models import alexnet as A

    return count_params(_meta(A.alexnet, grouped=False)) - count_params(_meta(A.alexnet))


def _lrn_gain(a: float) -> float:
    """Gain of the library's AlexNet LRN when all five neighbouring maps hold the activity ``a``."""
    from ecg_lib.models._common import lrn

    x = torch.full((1, 5, 1, 1), float(a), dtype=torch.float64)
    return float(lrn().double()(x)[0, 2, 0, 0] / a)


def _alexnet_lrn_half_gain() -> float:
    low, high = 1e-3, 1e4
    target = _lrn_gain(1e-3) / 2
    for _ in range(200):  # bisection: the gain falls monotonically with the activity
        mid = math.sqrt(low * high)
        low, high = (mid, high) if _lrn_gain(mid) > target else (low, mid)
    return math.sqrt(low * high)


def _alexnet_min_input() -> int:
    from ecg_lib.models import alexnet as A

    return _meta(A.alexnet).min_input_size


def _vgg_three_3x3() -> int:
    stack = _meta(lambda: nn.Sequential(*(nn.Conv2d(256, 256, 3, padding=1, bias=False) for _ in range(3))))
    return count_params(stack)


def _vgg_receptive_field_4() -> int:
    return receptive_field([nn.Conv2d(1, 1, 3, padding=1) for _ in range(4)]).size


def _vgg_c_minus_b() -> int:
    from ecg_lib.models import vgg as V

    return count_params(_meta(V.vgg, "C")) - count_params(_meta(V.vgg, "B"))


def _vgg_fc6_share() -> float:
    from ecg_lib.models import vgg as V

    model = _meta(V.vgg, "D")
    return count_params(model.classifier.fc6) / count_params(model)


def _nin_mlpconv1_params() -> int:
    from ecg_lib.models import nin as N

    return count_params(_meta(N.nin_cifar).features.mlpconv1)


def _nin_fc_head_params() -> int:
    from ecg_lib.models import nin as N

    return count_params(_meta(N.nin_cifar, head="fc")) - count_params(_meta(N.nin_cifar))


def _nin_cccp1_macs() -> int:
    from ecg_lib.models import nin as N

    cccp1 = _meta(N.nin_cifar).features.mlpconv1.cccp1
    return count_macs(cccp1, (cccp1.in_channels, 32, 32))


def _nin_floor_side() -> int:
    from ecg_lib.experiments.nin import pooling_rounding

    return pooling_rounding(32)["floor_map"]


def _googlenet_reductions(answer: Any) -> tuple[bool, str]:
    from ecg_lib.experiments.googlenet import reduced_weight_share

    if not (isinstance(answer, tuple | list) and len(answer) == 2):
        return False, "Give two integers: `(n3x3red, n5x5red)`."
    try:
        share = reduced_weight_share(*answer)
    except ValueError as exc:
        return False, str(exc)
    if abs(share - 0.30) <= 0.01:
        return True, f"With these reductions (3a) keeps {100 * share:.1f}% of the naive module's weights."
    side = "fewer" if share > 0.30 else "more"
    return False, f"That keeps {100 * share:.1f}% of the naive weights; it needs {side} reduction channels."


def _googlenet_aux_params() -> int:
    from ecg_lib.models import googlenet as G

    return count_params(_meta(G.googlenet, aux_logits=True)) - count_params(_meta(G.googlenet))


def _googlenet_4e_out() -> int:
    from ecg_lib.models import googlenet as G

    return _meta(G.googlenet).inception["4e"].out_channels


def _resnet_option_c_extra() -> int:
    from ecg_lib.models import resnet as R

    return count_params(_meta(R.resnet34, shortcut="C")) - count_params(_meta(R.resnet34, shortcut="B"))


def _resnet_blocks_110() -> int:
    from ecg_lib.models import resnet as R

    return len(_meta(R.resnet_cifar, 110).blocks)


def _resnet_first_depth_over(params: int = 1_000_000) -> int:
    from ecg_lib.models import resnet as R

    depth = 8
    while count_params(_meta(R.resnet_cifar, depth)) <= params:
        depth += 6
    return depth


def _resnet_bottleneck_params() -> int:
    from ecg_lib.models import resnet as R

    return count_params(_meta(R.Bottleneck, 256, 64))


EXERCISES: dict[str, Exercise] = {
    e.key: e
    for e in (
        Exercise("alexnet.conv2_params", "an integer", _alexnet_conv2_params),
        Exercise("alexnet.grouping_saving", "an integer", _alexnet_grouping_saving),
        Exercise("alexnet.lrn_half_gain", "a number (an activity)", _alexnet_lrn_half_gain, "float", 0.5),
        Exercise("alexnet.min_input", "an integer (pixels)", _alexnet_min_input),
        Exercise("vgg.three_3x3_weights", "an integer", _vgg_three_3x3),
        Exercise("vgg.receptive_field_4", "an integer (pixels)", _vgg_receptive_field_4),
        Exercise("vgg.c_minus_b", "an integer", _vgg_c_minus_b),
        Exercise("vgg.fc6_share", "a fraction between 0 and 1", _vgg_fc6_share, "float", 0.005),
        Exercise("nin.mlpconv1_params", "an integer", _nin_mlpconv1_params),
        Exercise("nin.fc_head_params", "an integer", _nin_fc_head_params),
        Exercise("nin.cccp1_macs", "an integer", _nin_cccp1_macs),
        Exercise("nin.floor_side", "an integer (pixels)", _nin_floor_side),
        Exercise(
            "googlenet.3a_reductions",
            "two integers (n3x3red, n5x5red)",
            kind="custom",
            judge=_googlenet_reductions,
        ),
        Exercise("googlenet.aux_params", "an integer", _googlenet_aux_params),
        Exercise("googlenet.4e_out", "an integer (channels)", _googlenet_4e_out),
        Exercise("resnet.option_c_extra", "an integer", _resnet_option_c_extra),
        Exercise("resnet.blocks_110", "an integer", _resnet_blocks_110),
        Exercise("resnet.depth_over_1m", "an integer (a depth 6n+2)", _resnet_first_depth_over),
        Exercise("resnet.bottleneck_params", "an integer", _resnet_bottleneck_params),
    )
}


def exercise_keys(chapter: str) -> list[str]:
    """The keys of ``chapter``'s exercises, in order."""
    return [k for k in EXERCISES if k.split(".", 1)[0] == chapter]


def check(key: str, answer: Any) -> Check:
    """Check ``answer`` to exercise ``key``. ``None`` means not answered yet. An unknown key raises a
    ``KeyError`` listing the chapter's keys."""
    if key not in EXERCISES:
        chapter = key.split(".", 1)[0]
        known = exercise_keys(chapter) or list(EXERCISES)
        raise KeyError(f"no exercise {key!r}; known: {', '.join(known)}")
    ex = EXERCISES[key]
    if answer is None:
        return Check(key, False, False, f"Set `answer` in the cell above to {ex.expects} and run both cells.")
    if ex.kind == "custom":
        assert ex.judge is not None
        ok, message = ex.judge(answer)
        return Check(key, True, ok, message)
    assert ex.truth is not None
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        return Check(key, True, False, f"The answer is {ex.expects}; got {type(answer).__name__}.")
    truth = ex.truth()
    if ex.kind == "int":
        ok = float(answer) == truth
    else:
        ok = abs(float(answer) - truth) <= ex.tolerance
    if ok:
        return Check(key, True, True, "Computed by the library on the same modules, it agrees.")
    direction = "too high" if answer > truth else "too low"
    return Check(key, True, False, f"Your answer is {direction}.")
