"""The chapters' experiments: one module per chapter, each with an ``EXPERIMENTS`` table.

A chapter's notebook cells call these functions and plot what they return; ``python -m ecg_lib
reproduce CHAPTER`` runs the same functions without Jupyter and archives the results. Every function
takes the profile (``None``: the current one) and returns an :class:`ExperimentResult`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from ecg_lib import chapter_registry
from ecg_lib.atomic import atomic_write_text

# Chapter name -> experiments module name, in reading order: a view of the one chapter list,
# :data:`ecg_lib.chapter_registry.CHAPTERS` (kept for scripts/gpu_run.sh and older callers).
CHAPTERS: dict[str, str] = {c.name: c.experiments_module for c in chapter_registry.CHAPTERS}


@dataclass
class ExperimentResult:
    """What one experiment produced: training histories, other measured numbers, and how it ran.

    ``histories`` maps a curve label (e.g. ``"relu"``) to a :class:`ecg_lib.train.History`;
    ``metrics`` holds any other JSON-serialisable measurements (errors, ratios, gradient norms);
    ``run_info`` is :func:`ecg_lib.train.run_info` at the end of the run.
    """

    name: str
    profile: str
    histories: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    run_info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "profile": self.profile,
            "histories": {k: h.to_dict() for k, h in self.histories.items()},
            "metrics": self.metrics,
            "run_info": self.run_info,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExperimentResult:
        from ecg_lib.train import History

        return cls(
            name=d["name"],
            profile=d["profile"],
            histories={k: History.from_dict(h) for k, h in d.get("histories", {}).items()},
            metrics=d.get("metrics", {}),
            run_info=d.get("run_info", {}),
        )

    def save(self, path: str | Path) -> Path:
        """Write JSON atomically (temp file + rename), so an interrupted run leaves no half file."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> ExperimentResult:
        return cls.from_dict(json.loads(Path(path).read_text()))


def chapter_module(chapter: str) -> ModuleType:
    """The experiments module of ``chapter``; unknown chapters raise a ``ValueError`` listing the known."""
    return chapter_registry.chapter(chapter).experiments()


def with_seed(settings: Any, seed: int) -> Any:
    """``settings`` (an :class:`~ecg_lib.experiments.settings.ExperimentSettings`) with ``seed`` as its
    run's seed: :meth:`~ecg_lib.experiments.settings.ExperimentSettings.with_seed` (``train.seed``; VGG's
    ``seeds`` too). Raises ValueError for settings that hold no seed (they are no experiment's settings)."""
    from ecg_lib.experiments.settings import ExperimentSettings

    if not isinstance(settings, ExperimentSettings):
        raise ValueError(f"{type(settings).__name__} holds no seed to replace (not ExperimentSettings).")
    return settings.with_seed(seed)


def seeded(fn: Any, table: dict[str, Any], seed: int) -> Any:
    """The experiment ``fn(data=None, *, profile, settings=None, context=None)`` run with seed ``seed``:
    its settings (``table[profile]`` unless given) pass through :func:`with_seed`. Registered in a
    chapter's ``EXPERIMENTS`` as ``<name>_seed<k>``, it gives a claim that is a difference its second seed,
    so a chapter can report the spread (issue 13: at least 2 seeds for every difference)."""
    from ecg_lib.experiments.settings import resolve

    def run(data: Any = None, *, profile: str, settings: Any = None, context: Any = None) -> ExperimentResult:
        return fn(data, profile=profile, settings=with_seed(resolve(settings, table, profile), seed),
                  context=context)  # fmt: skip

    run.__name__ = f"{fn.__name__}_seed{seed}"
    run.__doc__ = f"{fn.__name__} with seed {seed} (see ecg_lib.experiments.seeded)."
    run.settings_table = table  # type: ignore[attr-defined]  # where the smoke test finds its settings
    return run


def without_data(fn: Any) -> Any:
    """Mark ``fn`` as an experiment that computes without CIFAR-10 (arithmetic, counts): ``reproduce``
    loads no data for it and passes ``data=None``. Every experiment has the one signature
    ``fn(data=None, *, profile, settings=None, context=None)``; this is what the signature cannot say."""
    fn.needs_data = False
    return fn


def needs_data(fn: Any) -> bool:
    """Whether ``reproduce`` must load CIFAR-10 for the experiment ``fn`` (see :func:`without_data`)."""
    return getattr(fn, "needs_data", True)


#: The suffix of a seeded variant's key (``lrn_seed1``, ``race_seed2``; see :func:`seeded`).
SEED_SUFFIX = re.compile(r"_seed(\d+)$")


def departures(chapter: str, experiment: str, profile: str = "standard") -> str | None:
    """How ``profile``'s run of ``experiment`` departs from its paper, and why, in words: the
    ``STANDARD_DEPARTURES`` entry of the chapter's module for the experiment's key without its seed
    suffix (``lrn_seed1`` reads ``lrn``, ``race_seed2`` reads ``race``). None where the module has none
    (the quick profile is described by its chapter; the full profile's schedules are closer to the
    papers')."""
    if profile != "standard":
        return None
    table: dict[str, str] = getattr(chapter_module(chapter), "STANDARD_DEPARTURES", {})
    return table.get(SEED_SUFFIX.sub("", experiment))
