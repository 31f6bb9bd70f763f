"""ecg_lib: models, data, training and counting code behind the book *ImageNet Evolution*.

The everyday names are re-exported here (``from ecg_lib import get_model, load_cifar10, fit``). They are
loaded on first use, so ``import ecg_lib`` and ``python -m ecg_lib --help`` do not pay for importing
PyTorch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "get_model": "ecg_lib.models",
    "list_models": "ecg_lib.models",
    "model_spec": "ecg_lib.models",
    "UnknownModelError": "ecg_lib.models",
    "count_params": "ecg_lib.counting",
    "count_macs": "ecg_lib.counting",
    "summarize": "ecg_lib.counting",
    "load_cifar10": "ecg_lib.data",
    "CIFAR10Data": "ecg_lib.data",
    "DataError": "ecg_lib.data",
    "Normalizer": "ecg_lib.data",
    "TrainConfig": "ecg_lib.train",
    "History": "ecg_lib.train",
    "fit": "ecg_lib.train",
    "evaluate": "ecg_lib.train",
    "run_info": "ecg_lib.train",
    "PROFILES": "ecg_lib.profiles",
    "resolve_profile": "ecg_lib.profiles",
    "ExperimentResult": "ecg_lib.experiments",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'ecg_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
