"""What every experiment will train with: for each chapter's ``EXPERIMENTS`` entry (``_seed<k>`` variants
included) and each profile, the subsets it draws, the seeds it sets and its first training config.

For refactoring settings (issue 22): run it before and after a change and diff the outputs; an empty diff
says that no experiment's training config, data sizes or seeds moved. Nothing trains: ``data.subset``,
``torch.manual_seed``, the reference networks' ``eval_images`` and every ``fit`` are intercepted; the
stubs record their arguments, and the first ``fit`` (or evaluation) stops the experiment. Loops over
several runs show their first run only. About a minute on a 2-core CPU::

    PYTHONPATH=. python scripts/settings_snapshot.py > before.txt
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil
from typing import Any

import torch

import ecg_lib.experiments as experiments
import ecg_lib.train
from ecg_lib import chapter_registry
from ecg_lib.dataset import CIFAR10Data
from ecg_lib.experiments import reference
from ecg_lib.profiles import PROFILES


class Stop(BaseException):
    """Raised by the stubs; a BaseException, so that no ``except Exception`` of an experiment keeps going."""


LOG: list[tuple[Any, ...]] = []


@dataclasses.dataclass(frozen=True)
class RecordingData(CIFAR10Data):
    """Tiny random images whose subsets record their sizes and seed and return the same images."""

    def subset(self, n_train_per_class: int | None = None, n_test_per_class: int | None = None, *,
               seed: int = 0) -> CIFAR10Data:  # fmt: skip
        LOG.append(("subset", n_train_per_class, n_test_per_class, seed))
        return self


def fake_fit(model: Any, data: Any, config: Any, *args: Any, **kwargs: Any) -> Any:
    options = sorted(k for k, v in kwargs.items() if v is not None and k != "context")
    recipe = json.dumps(config.to_dict(), sort_keys=True, default=str)
    LOG.append(("fit", recipe, kwargs.get("profile"), options))
    raise Stop


def fake_eval_images(data: Any, n: int | None, seed: int = 0) -> Any:
    LOG.append(("eval_images", n, seed))
    raise Stop


def main() -> None:
    gen = torch.Generator().manual_seed(0)
    data = RecordingData(torch.randint(0, 255, (60, 3, 32, 32), dtype=torch.uint8, generator=gen),
                         torch.arange(60) % 10,
                         torch.randint(0, 255, (30, 3, 32, 32), dtype=torch.uint8, generator=gen),
                         torch.arange(30) % 10)  # fmt: skip
    for info in pkgutil.iter_modules(experiments.__path__):
        module = importlib.import_module(f"ecg_lib.experiments.{info.name}")
        if hasattr(module, "fit"):
            module.fit = fake_fit
    ecg_lib.train.fit = fake_fit  # the modules that import fit inside a function
    reference.eval_images = fake_eval_images
    reference._load = lambda name, models=None: (None, None)
    real_seed = torch.manual_seed

    def manual_seed(seed: int) -> Any:
        LOG.append(("manual_seed", int(seed)))
        return real_seed(seed)

    torch.manual_seed = manual_seed
    for chapter in chapter_registry.CHAPTERS:
        for name, fn in chapter.experiments().EXPERIMENTS.items():
            for profile in PROFILES:
                LOG.clear()
                try:
                    fn(data, profile=profile)
                    end = "returned"
                except Stop:
                    end = "stopped"
                except Exception as exc:  # recorded: a change that makes an experiment fail shows in the diff
                    end = f"error {type(exc).__name__}: {exc}"
                print(f"== {chapter.name}/{name} [{profile}] {end}")
                for entry in LOG:
                    print("   ", entry)


if __name__ == "__main__":
    main()
