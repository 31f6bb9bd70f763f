"""Profiles: how much an experiment trains. Resolved once, at an entry point, and passed down as a value.

- ``quick``: CPU-sized subsets and short schedules; minutes per chapter; what CI runs.
- ``standard``: all of CIFAR-10, the cheapest run that can show each trained claim; minutes per chapter on
  one GPU, hours on a CPU; its results are archived in ``results/`` by ``reproduce``.
- ``full``: all of CIFAR-10 with schedules closer to the papers'; GPU-hours; only when asked for.

The entry points (a chapter's first cell, the command line, ``reproduce``) call :func:`resolve_profile`;
everything below them receives the resolved name. This module is the only place in the library that
reads ``$ECG_PROFILE``.

Every experiment module declares its settings per profile in one table, ``SETTINGS = {profile:
Settings(...)}`` (``Settings`` extends :class:`ecg_lib.experiments.settings.ExperimentSettings`), and picks
an entry with :func:`select` (through :func:`ecg_lib.experiments.settings.resolve`, which keeps settings a
caller gave). Adding a profile means adding its name to :data:`PROFILES` and one entry to each experiment
module's ``SETTINGS``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

__all__ = [
    "ARCHIVED_PROFILES", "AUTO", "ENV_VAR", "PROFILES", "UnknownProfileError", "check_profile",
    "resolve_profile", "select",
]  # fmt: skip

# The profiles in order of cost. `auto` is not a profile: it is resolved to one of these.
PROFILES: tuple[str, ...] = ("quick", "standard", "full")
AUTO = "auto"
# The profiles whose results may be archived (results/ or $ECG_RESULTS_DIR) and shown beside a live run:
# all but quick.
ARCHIVED_PROFILES: tuple[str, ...] = ("standard", "full")
ENV_VAR = "ECG_PROFILE"

T = TypeVar("T")


class UnknownProfileError(ValueError):
    """A profile name that is not one of :data:`PROFILES` (or ``auto`` where that is allowed)."""


def _auto() -> str:
    """``auto``: the standard profile on a CUDA GPU (chapters that finish in minutes), the quick one
    elsewhere. The full profile takes GPU-hours and runs only when asked for by name."""
    import torch

    return "standard" if torch.cuda.is_available() else "quick"


def check_profile(profile: str, *, where: str = "profile") -> str:
    """``profile`` itself if it is one of :data:`PROFILES`; otherwise :class:`UnknownProfileError`.

    ``where`` names the source of the value in the message (``"--profile"``, ``"$ECG_PROFILE"``).
    """
    if not isinstance(profile, str) or profile not in PROFILES:
        raise UnknownProfileError(
            f"{where} must be one of {', '.join(PROFILES)} (or {AUTO}, resolved at the entry point); "
            f"got {profile!r}."
        )
    return profile


def resolve_profile(profile: str | None = None) -> str:
    """The profile an entry point runs with.

    ``profile`` given: checked (``auto`` allowed). ``None``: ``$ECG_PROFILE``, and ``auto`` when that is
    unset or empty. ``auto`` becomes ``standard`` on a CUDA GPU and ``quick`` elsewhere. An unknown name
    raises :class:`UnknownProfileError` naming the valid ones.
    """
    if profile is None:
        value = os.environ.get(ENV_VAR, "").strip().lower() or AUTO
        where = f"${ENV_VAR}"
    else:
        value, where = profile, "profile"
    if value == AUTO:
        return _auto()
    return check_profile(value, where=where)


def select(settings: Mapping[str, T], profile: str) -> T:
    """``settings[profile]`` for a module's ``SETTINGS`` table, with errors that say what to do."""
    check_profile(profile)
    try:
        return settings[profile]
    except KeyError:
        raise UnknownProfileError(
            f"these settings declare no {profile!r} profile (they have {', '.join(settings)}); add an entry "
            "to the module's SETTINGS table."
        ) from None
