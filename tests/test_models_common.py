"""Checks every registered model passes: registry entry, shapes, gradients, input errors."""

from __future__ import annotations

import functools

import pytest
import torch

from ecg_lib.counting import count_macs, min_input_size
from ecg_lib.models import UnknownModelError, get_model, list_models, model_spec

ALL = list_models()
NUM_CLASSES = 7  # unusual on purpose: a head hard-wired to 10 or 1000 would show up
# Real-arithmetic forward/backward is skipped above this many MACs per image at the model's smallest
# valid input, to keep the suite fast on two cores; the meta-device test still covers those models.
REAL_MAC_BUDGET = 1.5e9
# Meta-device execution costs per operator, not per MAC: each ResNet-1202 pass takes seconds there, and
# real arithmetic is over REAL_MAC_BUDGET, so it gets one forward shape check with an unusual head; its
# 1202-layer backward pass is the kind of run the ResNet chapter does, not a unit test.
SLOW = {"resnet1202"}


def _outputs(out: object) -> list[torch.Tensor]:
    return [out] if isinstance(out, torch.Tensor) else [o for o in out if isinstance(o, torch.Tensor)]


@functools.cache
def _meta_model(name: str, num_classes: int | None = None) -> torch.nn.Module:
    # Cached: building ResNet-1202 takes seconds, and a meta model holds no values a test could change
    # (only the gradient test calls backward, once per model).
    with torch.device("meta"):
        return get_model(name, num_classes)


def test_registry_holds_the_contracted_names() -> None:
    expected = (
        "alexnet alexnet_cifar vgg_a vgg_a_lrn vgg_b vgg_c vgg_d vgg_e vgg_cifar nin nin_cifar".split()
    )
    assert ALL[: len(expected)] == expected


@pytest.mark.parametrize("name", ALL)
def test_spec_is_consistent(name: str) -> None:
    spec = model_spec(name)
    assert spec.name == name
    assert spec.num_classes in (10, 1000)
    c, h, w = spec.input_size
    assert c == 3 and h == w and h in (32, 224, 227)
    assert spec.paper and spec.family in name.replace("plain", "resnet")


@pytest.mark.parametrize("name", ALL)
def test_native_size_shapes_and_gradient_reach_on_meta(name: str) -> None:
    # The meta device runs the full-size network (shapes and autograd only), so even VGG-E is checked
    # at its native input in milliseconds.
    size = model_spec(name).input_size
    if name not in SLOW:
        model = _meta_model(name)  # the paper's head
        model.eval()
        out = model(torch.zeros((1, *size), device="meta"))
        assert tuple(out.shape) == (1, model_spec(name).num_classes)

    model = _meta_model(name, num_classes=NUM_CLASSES)
    model.train()
    outs = _outputs(model(torch.zeros((2, *size), device="meta")))
    assert tuple(outs[0].shape) == (2, NUM_CLASSES)
    if name in SLOW:
        return  # forward shape checked; see SLOW
    sum(o.sum() for o in outs).backward()
    unreached = [n for n, p in model.named_parameters() if p.grad is None]
    assert not unreached, f"{name}: no gradient reaches {unreached[:5]}"


@pytest.mark.parametrize("name", ALL)
def test_real_forward_backward_at_small_input(name: str) -> None:
    if name in SLOW:
        pytest.skip("see SLOW: forward shape checked on the meta device only")
    meta = _meta_model(name, num_classes=NUM_CLASSES)
    # At least 32 pixels: on 1x1 maps train-mode BN normalises 2 values per channel, and deep nets then
    # overflow in the backward pass (1/sqrt(eps) per layer), which says nothing about the model.
    side = max(min_input_size(meta), 32)
    size = (3, side, side)
    macs = count_macs(meta, size)
    if macs > REAL_MAC_BUDGET:
        pytest.skip(f"{macs / 1e9:.1f} G MACs per image at {side}x{side}: covered on the meta device only")
    torch.manual_seed(0)
    model = get_model(name, num_classes=NUM_CLASSES)
    model.train()
    x = torch.randn(2, *size)
    outs = _outputs(model(x))
    assert tuple(outs[0].shape) == (2, NUM_CLASSES)
    assert all(torch.isfinite(o).all() for o in outs)
    sum(o.square().mean() for o in outs).backward()
    for n, p in model.named_parameters():
        assert p.grad is not None, f"{name}: no gradient reaches {n}"
        assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient in {n}"
    # At least one gradient is non-zero: the loss really depends on the parameters.
    assert any(p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("name", ALL)
def test_too_small_input_names_the_smallest_valid_size(name: str) -> None:
    model = _meta_model(name)
    side = min_input_size(model)
    if side == 1:
        pytest.skip("every input size is valid")
    model.eval()
    model(torch.zeros(1, 3, side, side, device="meta"))  # the smallest valid size works
    with pytest.raises(ValueError, match=rf"\b{side}\b"):
        model(torch.zeros(1, 3, side - 1, side - 1, device="meta"))


@pytest.mark.parametrize("name", ALL)
def test_wrong_rank_and_channels_are_rejected(name: str) -> None:
    model = _meta_model(name)
    c, h, w = model_spec(name).input_size
    with pytest.raises(ValueError, match="batch"):
        model(torch.zeros(c, h, w, device="meta"))
    with pytest.raises(ValueError, match="channels"):
        model(torch.zeros(1, 1, h, w, device="meta"))


@pytest.mark.parametrize("num_classes", [0, -3])
@pytest.mark.parametrize("name", ["alexnet", "vgg_cifar", "nin_cifar"])
def test_non_positive_num_classes_is_rejected(name: str, num_classes: int) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        get_model(name, num_classes=num_classes)


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(UnknownModelError, match="alexnet") as info:
        get_model("alexnett")
    assert isinstance(info.value, KeyError) and isinstance(info.value, ValueError)
    with pytest.raises(UnknownModelError, match="vgg_d"):
        get_model("vgg-d")


def test_alexnet_rejects_cifar_images_with_the_valid_range() -> None:
    model = _meta_model("alexnet")
    with pytest.raises(ValueError, match=r"got 32x32.*227"):
        model(torch.zeros(1, 3, 32, 32, device="meta"))
