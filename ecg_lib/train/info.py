"""What produced a chapter's numbers: :func:`run_info` and :func:`format_run_info`."""

from __future__ import annotations

import platform
import re
import time
from pathlib import PureWindowsPath
from typing import Any

import torch

from ecg_lib.profiles import check_profile
from ecg_lib.train.device import device_name, pick_device, pick_precision

__all__ = ["format_run_info", "run_info"]

_IMPORTED_AT = time.perf_counter()


def run_info(data: Any = None, *, profile: str | None = None, fit_time_s: float | None = None,
             **extra: Any) -> dict[str, Any]:  # fmt: skip
    """What produces the numbers of a chapter: profile, device, precision, versions, data, time so far.

    ``profile``: the profile resolved at the entry point (a chapter's first cell, the CLI), checked and
    recorded as given; ``None`` records ``None`` (no profile). ``data`` (a CIFAR10Data) adds its source,
    ``data_quality`` (the lossless original, or a lossy copy with its JPEG quality) and sizes; ``extra``
    items are added as given.
    ``elapsed_s`` counts from the import of this module. ``fit_time_s`` is recorded when given: the time
    spent fitting is no process-wide figure; each :func:`fit` returns its own
    (``history.info["fit_time_s"]``) and whoever needs a total sums them (a chapter's run, an archive).
    Print it with :func:`format_run_info`.
    """
    device = pick_device()
    info: dict[str, Any] = {
        "profile": check_profile(profile) if profile is not None else None,
        "device": f"{device.type}: {device_name(device)}",
        "precision": pick_precision(device, "auto"),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    if data is not None:
        info["data"] = getattr(data, "source", "")
        # lossy or not, and the JPEG quality: a lossy copy's absolute errors do not compare with the papers'
        if hasattr(data, "data_quality"):
            info["data_quality"] = data.data_quality
        info["n_train"] = int(data.train_y.numel())
        info["n_test"] = int(data.test_y.numel())
    if fit_time_s is not None:
        info["fit_time_s"] = round(fit_time_s, 1)
    info["elapsed_s"] = round(time.perf_counter() - _IMPORTED_AT, 1)
    info.update(extra)
    return info


# An absolute POSIX or Windows path inside a sentence (ends at a space, comma or parenthesis).
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/])(?:/|[A-Za-z]:[\\/])[^\s,()]+")


def _file_names(text: str) -> str:
    """``text`` with each absolute path replaced by its file name: a page names the data by its source
    (``archive cifar10-jpeg.tar.gz``), not by the folders of the machine that built it."""
    return _ABSOLUTE_PATH.sub(lambda m: PureWindowsPath(m.group()).name or m.group(), text)


def format_run_info(info: dict[str, Any] | None = None) -> str:
    """``run_info()`` as aligned ``key: value`` lines; the data source by file name, without folders."""
    info = run_info() if info is None else info
    width = max(len(k) for k in info)
    return "\n".join(f"{k:<{width}}  {_file_names(v) if k == 'data' and isinstance(v, str) else v}"
                     for k, v in info.items())  # fmt: skip
