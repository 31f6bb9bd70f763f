"""The one shape of an experiment's settings: what every trained experiment shares, stated once.

Every trained experiment declares ``SETTINGS = {profile: Settings(...)}`` (a table per experiment where a
module has several), where ``Settings`` extends :class:`ExperimentSettings` with only what the experiment
adds (widths, variants, probes, budgets). The shared part:

- ``train``: the :class:`~ecg_lib.train.TrainConfig` of its runs. ``train.seed`` is the run's one seed: it
  draws the subset and the initial weights too. Settings that run several seeds (VGG's ``seeds``) replace it
  per run and say so in :meth:`ExperimentSettings.with_seed`.
- ``n_train_per_class`` / ``n_test_per_class``: the class-balanced subset (``None``: the whole split).

The fields are keyword-only, so an experiment's own fields keep their positions in its constructor.
:func:`resolve` is the one spelling of "these settings, or the profile's entry of the table".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self, TypeVar

from ecg_lib.profiles import check_profile, select
from ecg_lib.train import TrainConfig

__all__ = ["ExperimentSettings", "resolve"]

S = TypeVar("S")


@dataclass(frozen=True, kw_only=True)
class ExperimentSettings:
    """What every trained experiment's settings hold (see the module docstring)."""

    train: TrainConfig
    n_train_per_class: int | None  # None: all 5,000 per class
    n_test_per_class: int | None  # None: all 1,000 per class

    @property
    def seed(self) -> int:
        """The run's seed (``train.seed``): the subset, the initial weights and the batches."""
        return self.train.seed

    def with_seed(self, seed: int) -> Self:
        """These settings with ``seed`` as the run's seed (``train.seed``). Subclasses that hold more
        seeds (a tuple of runs) override it to replace those too."""
        return dataclasses.replace(self, train=self.train.replace(seed=seed))


def resolve(settings: S | None, table: Mapping[str, S], profile: str) -> S:
    """``settings`` when given (checked: ``profile`` must be a profile all the same), else
    ``table[profile]`` (:func:`ecg_lib.profiles.select`, with its error naming the table's profiles)."""
    if settings is not None:
        check_profile(profile)
        return settings
    return select(table, profile)
