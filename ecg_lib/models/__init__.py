"""The model registry: one explicit table built from each paper module's ``SPECS`` list."""

from __future__ import annotations

import difflib

from torch import nn

from ecg_lib.models import alexnet, googlenet, nin, resnet, vgg
from ecg_lib.models._common import ModelSpec

__all__ = ["MODELS", "ModelSpec", "UnknownModelError", "get_model", "list_models", "model_spec"]

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for module in (alexnet, vgg, nin, googlenet, resnet)
    for spec in module.SPECS
}


class UnknownModelError(KeyError, ValueError):
    """Raised for a name that is not in the registry."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0])


def list_models(family: str | None = None) -> list[str]:
    """Registered model names in registry order, optionally only one family (e.g. ``"resnet"``)."""
    return [name for name, spec in MODELS.items() if family is None or spec.family == family]


def model_spec(name: str) -> ModelSpec:
    """The registry entry for ``name``; unknown names raise :class:`UnknownModelError`."""
    try:
        return MODELS[name]
    except KeyError:
        close = difflib.get_close_matches(str(name).lower(), MODELS, n=5, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownModelError(
            f"Unknown model {name!r}.{hint} Run `python -m ecg_lib models` to list all "
            f"{len(MODELS)} registered models."
        ) from None


def get_model(name: str, num_classes: int | None = None, **options) -> nn.Module:
    """Build a registered model. ``num_classes=None`` uses the paper's head (1000 or 10)."""
    spec = model_spec(name)
    if num_classes is None:
        num_classes = spec.num_classes
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes <= 0:
        raise ValueError(f"num_classes must be a positive integer (got {num_classes!r}).")
    return spec.builder(num_classes=num_classes, **options)
