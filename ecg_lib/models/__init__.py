"""The model registry: one explicit table built from each paper module's ``SPECS`` list."""

from __future__ import annotations

import difflib
import inspect
import re

from torch import nn

from ecg_lib.models import alexnet, googlenet, nin, resnet, vgg
from ecg_lib.models._common import ModelSpec

__all__ = [
    "MAX_NUM_CLASSES", "MODELS", "ModelSpec", "UnknownModelError", "get_model", "list_models", "model_spec",
]  # fmt: skip

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


# Far above any real label set (ImageNet-21k has 21,841 classes) and far below sizes that end in an allocator
# error: 10**9 classes would need a 4 GB bias and a 16 TB AlexNet head.
MAX_NUM_CLASSES = 100_000

_BAD_OPTION = re.compile(r"(unexpected keyword argument|multiple values for (?:keyword )?argument) '(\w+)'")


def get_model(name: str, num_classes: int | None = None, **options) -> nn.Module:
    """Build a registered model. ``num_classes=None`` uses the paper's head (1000 or 10).

    ``num_classes`` outside 1..:data:`MAX_NUM_CLASSES` and options the builder does not take raise
    ``ValueError`` naming the model and the option."""
    spec = model_spec(name)
    if num_classes is None:
        num_classes = spec.num_classes
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes <= 0:
        raise ValueError(f"num_classes must be a positive integer (got {num_classes!r}).")
    if num_classes > MAX_NUM_CLASSES:
        raise ValueError(f"num_classes={num_classes} is implausibly large (at most {MAX_NUM_CLASSES:,}); "
                         f"CIFAR-10 has 10 classes, ImageNet 1000.")  # fmt: skip
    try:
        return spec.builder(num_classes=num_classes, **options)
    except TypeError as exc:
        # Python names the builder's internal function (`resnet_cifar() got multiple values ...`); say it in
        # the registry's terms instead. Other TypeErrors are bugs or bad value types: left as they are.
        match = _BAD_OPTION.search(str(exc))
        if match is None or match.group(2) not in options:
            raise
        option = match.group(2)
        if match.group(1).startswith("multiple"):
            raise ValueError(f"{name} does not take the option {option!r}: its name fixes it (pick another "
                             "registered model; `python -m ecg_lib models` lists them).") from None
        known = _option_names(spec.builder)
        hint = f" Its options: {', '.join(known)}." if known else f" See help({spec.builder.__module__})."
        raise ValueError(f"{name} has no option {option!r}.{hint}") from None


def _option_names(builder) -> list[str]:
    """The keyword options a builder names in its signature (empty when it only forwards ``**options``)."""
    params = inspect.signature(builder).parameters.values()
    named = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in params if p.kind in named and p.name != "num_classes"]
