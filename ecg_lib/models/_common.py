"""Pieces shared by the model modules: the registry entry type and the input check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    """One registry entry.

    ``input_size`` is the native (C, H, W) the paper uses; ``num_classes`` the default head size;
    ``paper`` the citation key in ``references.bib``.
    """

    name: str
    family: str
    builder: Callable[..., nn.Module]
    input_size: tuple[int, int, int]
    num_classes: int
    paper: str
    description: str = ""
