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
from typing import TYPE_CHECKING, TypeVar

from ecg_lib.profiles import check_profile, select
from ecg_lib.train import TrainConfig

if TYPE_CHECKING:
    from ecg_lib.data import CIFAR10Data

__all__ = ["ExperimentSettings", "resolve"]

S = TypeVar("S")
_E = TypeVar("_E", bound="ExperimentSettings")  # typing.Self needs Python 3.11; we support 3.10


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

    def with_seed(self: _E, seed: int) -> _E:
        """These settings with ``seed`` as the run's seed (``train.seed``). Subclasses that hold more
        seeds (a tuple of runs) override it to replace those too."""
        return dataclasses.replace(self, train=self.train.replace(seed=seed))

    def data_from(self, data: CIFAR10Data | None, *, seed: int = 0) -> CIFAR10Data:
        """The images these settings train and test on: ``data`` (None: all of CIFAR-10, loaded) cut to the
        class-balanced subset of ``n_train_per_class`` / ``n_test_per_class`` drawn with ``seed``, or all
        of it where they ask for no subset. The one spelling of that step for every experiment."""
        if data is None:
            from ecg_lib.data import load_cifar10

            data = load_cifar10()
        if self.n_train_per_class is None and self.n_test_per_class is None:
            return data
        return data.subset(self.n_train_per_class, self.n_test_per_class, seed=seed)


def resolve(settings: S | None, table: Mapping[str, S], profile: str) -> S:
    """``settings`` when given (checked: ``profile`` must be a profile all the same), else
    ``table[profile]`` (:func:`ecg_lib.profiles.select`, with its error naming the table's profiles)."""
    if settings is not None:
        check_profile(profile)
        return settings
    return select(table, profile)
