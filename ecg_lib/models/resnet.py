"""Placeholder: filled by the models work (see DEVELOPERS.md)."""

from ecg_lib.models._common import ModelSpec

SPECS: list[ModelSpec] = []
