"""The chapters' experiments: one module per chapter, each with an ``EXPERIMENTS`` table.

A chapter's notebook cells call these functions and plot what they return; ``python -m ecg_lib
reproduce CHAPTER`` runs the same functions without Jupyter and archives the results. Every function
takes the profile (``None``: the current one) and returns an :class:`ExperimentResult`.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from ecg_lib.atomic import atomic_write_text

# Chapter name -> module name. Explicit, so `reproduce` lists exactly what exists.
CHAPTERS: dict[str, str] = {}
CHAPTERS["alexnet"] = "ecg_lib.experiments.alexnet"
CHAPTERS["vgg"] = "ecg_lib.experiments.vgg"
CHAPTERS["nin"] = "ecg_lib.experiments.nin"
CHAPTERS["googlenet"] = "ecg_lib.experiments.googlenet"
CHAPTERS["comparison"] = "ecg_lib.experiments.comparison"
CHAPTERS["resnet"] = "ecg_lib.experiments.resnet"


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
    if chapter not in CHAPTERS:
        raise ValueError(f"Unknown chapter {chapter!r}; known chapters: {', '.join(CHAPTERS) or '(none)'}.")
    return importlib.import_module(CHAPTERS[chapter])
