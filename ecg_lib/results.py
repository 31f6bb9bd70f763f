"""The results archive: standard- and full-profile experiment results from long runs, shown in every build.

``python -m ecg_lib reproduce CHAPTER --profile standard`` (or ``full``) writes each experiment's
:class:`~ecg_lib.experiments.ExperimentResult` (its Histories, metrics and ``run_info`` with device,
precision, torch version, data source, date and wall time) to ``results/<chapter>/<experiment>.json``
(standard) or ``results/<chapter>/full/<experiment>.json`` (full). Those files are small and committed;
a book built later on a CPU shows them next to its own quick-profile numbers
(:mod:`ecg_lib.chapters.common` draws them).

Only standard- and full-profile results belong in the repository's ``results/``: quick-profile runs of
``reproduce`` go to ``_build/results-quick/`` (not committed) unless ``--out`` says otherwise.
``$ECG_RESULTS_DIR`` replaces ``results/`` everywhere (tests point it at a temporary folder).
An installed (non-editable) package reads the copy of ``results/`` it carries and writes nothing into
itself (:mod:`ecg_lib.paths`).

Every archive is checked on load against the schema of :class:`~ecg_lib.train.History` and
:class:`~ecg_lib.experiments.ExperimentResult`; a malformed file raises :class:`ArchiveError` naming
the file and the field.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ecg_lib import paths
from ecg_lib.experiments import ExperimentResult
from ecg_lib.profiles import ARCHIVED_PROFILES, PROFILES

__all__ = [
    "ENV_VAR",
    "REQUIRED_RUN_INFO",
    "ArchiveError",
    "archive_path",
    "find_archive",
    "find_archives",
    "is_archive_root",
    "list_archives",
    "load_archive",
    "output_results_dir",
    "quick_results_dir",
    "repository_results_dir",
    "results_dir",
    "save_archive",
    "validate_history",
    "validate_result",
]

ENV_VAR = "ECG_RESULTS_DIR"
_REPO = paths.repository_root()
# What an archive must say about how it was produced (the list; `reproduce` adds date and time).
REQUIRED_RUN_INFO = ("profile", "device", "precision", "torch", "date", "wall_time_s")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class ArchiveError(ValueError):
    """An archive file that is missing, not JSON, or not an ExperimentResult with valid Histories."""


# ----------------------------------------------------------------------------------------------------------
# Where archives live


def repository_results_dir() -> Path:
    """``results/`` of the repository this library was installed from (editable install or checkout)."""
    return _REPO / "results"


def results_dir() -> Path:
    """The archive root: ``$ECG_RESULTS_DIR`` if set, else the checkout's ``results/``, else (an installed
    package) the copy of ``results/`` the package carries."""
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser()
    if not paths.in_checkout() and paths.packaged_results_dir().is_dir():
        return paths.packaged_results_dir()
    return repository_results_dir()


def output_results_dir() -> Path:
    """Where ``reproduce`` writes standard- and full-profile archives by default: :func:`results_dir`,
    except in an installed package, whose archives are read-only: ``./results/`` in the working directory
    (show them with ``ECG_RESULTS_DIR=results``)."""
    root = results_dir()
    packaged = paths.packaged_results_dir().resolve()
    if root.resolve() == packaged or packaged in root.resolve().parents:
        return Path.cwd() / "results"
    return root


def quick_results_dir() -> Path:
    """Where quick-profile runs of ``reproduce`` go by default: under ``_build/`` (of the checkout, or of
    the working directory for an installed package), never committed."""
    return paths.build_dir() / "results-quick"


def is_archive_root(path: str | os.PathLike) -> bool:
    """Whether ``path`` is the archive root (:func:`results_dir`), the repository's ``results/`` or the
    installed package's copy of it: the folders whose results the book shows as archived (standard or
    full) ones."""
    target = Path(path).expanduser().resolve()
    roots = (results_dir(), repository_results_dir(), paths.packaged_results_dir())
    return target in tuple(r.resolve() for r in roots)


def _check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValueError(f"{what} must be a plain file name (letters, digits, _ . -), got {value!r}.")
    return value


def archive_path(chapter: str, experiment: str, root: str | os.PathLike | None = None, *,
                 profile: str = "standard") -> Path:  # fmt: skip
    """Where the ``profile`` result of ``experiment`` is archived (root: :func:`results_dir`):
    ``<root>/<chapter>/<experiment>.json`` for the standard profile (and for quick results, which live
    in their own root), ``<root>/<chapter>/full/<experiment>.json`` for the full profile, so the two
    archived profiles of one experiment sit side by side and neither overwrites the other."""
    if profile not in (*PROFILES, *ARCHIVED_PROFILES):
        known = ", ".join(dict.fromkeys((*PROFILES, *ARCHIVED_PROFILES)))
        raise ValueError(f"profile must be one of {known}, got {profile!r}.")
    base = Path(root) if root is not None else results_dir()
    folder = base / _check_name(chapter, "chapter")
    if profile == "full":
        folder = folder / "full"
    return folder / f"{_check_name(experiment, 'experiment')}.json"


# ----------------------------------------------------------------------------------------------------------
# Validation


def _fail(where: str, message: str) -> ArchiveError:
    return ArchiveError(
        f"{where}: {message}. Archives are written by `python -m ecg_lib reproduce`, never by hand: "
        "delete the file and rerun that command."
    )


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _finite(v: int | float) -> bool:
    """``math.isfinite`` that says False, instead of raising OverflowError, for an integer too large for a
    float (JSON allows 1000 digits; no run records such a number)."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


def _numbers(d: Mapping[str, Any], key: str, where: str, *, optional_items: bool = False) -> list:
    """``d[key]`` as a list of finite numbers (or nulls, with ``optional_items``): Python's json reads NaN
    and Infinity, which no run records (a non-finite loss stops training before it is recorded)."""
    values = d[key]
    if not isinstance(values, list):
        raise _fail(where, f"'{key}' must be a list, got {type(values).__name__}")
    for i, v in enumerate(values):
        if optional_items and v is None:
            continue
        if not _is_number(v):
            kind = "a number or null" if optional_items else "a number"
            raise _fail(where, f"'{key}'[{i}] must be {kind}, got {v!r}")
        if not _finite(v):
            raise _fail(where, f"'{key}'[{i}] must be a finite number, got {str(v)[:40]}")
    return values


def _check_normalizer(norm: Any, where: str) -> None:
    """The fields :meth:`Normalizer.from_dict` reads, with shapes that match their values."""
    from ecg_lib.data import Normalizer

    if not isinstance(norm, dict):
        raise _fail(where, "'normalizer' must be an object or null")
    if norm.get("mode") not in Normalizer.MODES:
        raise _fail(where, f"normalizer 'mode' must be one of {Normalizer.MODES}, got {norm.get('mode')!r}")
    for key in ("mean", "std"):
        if key not in norm or f"{key}_shape" not in norm:
            raise _fail(where, f"normalizer lacks '{key}' or '{key}_shape'")
        values = _numbers(norm, key, f"{where}: normalizer")
        shape = norm[f"{key}_shape"]
        if not (isinstance(shape, list) and shape and all(isinstance(n, int) and n > 0 for n in shape)
                and math.prod(shape) == len(values)):  # fmt: skip
            raise _fail(where, f"normalizer '{key}_shape' {shape!r} does not fit its {len(values)} values")


_STEP_KEYS = ("train_loss", "train_error", "lr")
_EPOCH_KEYS = ("epoch_train_loss", "epoch_train_error", "test_loss", "test_error", "train_time_s",
               "wall_time_s", "images_per_s")  # fmt: skip


def _history_fields() -> tuple[str, ...]:
    from ecg_lib.train import History

    return tuple(f.name for f in dataclasses.fields(History))


def validate_history(d: Any, where: str = "history") -> None:
    """Check that ``d`` is :meth:`History.to_dict` output: every field present with its type, per-step
    lists of one length, per-epoch lists of one length, errors in [0, 1], times never decreasing."""
    if not isinstance(d, dict):
        raise _fail(where, f"a History must be a JSON object, got {type(d).__name__}")
    missing = [k for k in _history_fields() if k not in d]
    if missing:
        raise _fail(where, f"History fields missing: {', '.join(missing)}")
    for key in ("config", "info", "extra"):
        if not isinstance(d[key], dict):
            raise _fail(where, f"'{key}' must be an object, got {type(d[key]).__name__}")
    if not isinstance(d["stopped"], str):
        raise _fail(where, f"'stopped' must be a string, got {d['stopped']!r}")
    if not isinstance(d["steps_per_epoch"], int) or d["steps_per_epoch"] < 0:
        raise _fail(where, f"'steps_per_epoch' must be a non-negative integer, got {d['steps_per_epoch']!r}")
    if d["normalizer"] is not None:
        _check_normalizer(d["normalizer"], where)
    steps = {k: len(_numbers(d, k, where)) for k in _STEP_KEYS}
    if len(set(steps.values())) > 1:
        raise _fail(where, f"per-step lists differ in length: {steps}")
    epochs = {k: len(_numbers(d, k, where, optional_items=k.startswith("test_"))) for k in _EPOCH_KEYS}
    if len(set(epochs.values())) > 1:
        raise _fail(where, f"per-epoch lists differ in length: {epochs}")
    # steps_per_epoch x epochs steps, plus the finished steps of the epoch a non-finite loss cut short
    n_steps, n_epochs, spe = steps["train_loss"], epochs["epoch_train_loss"], d["steps_per_epoch"]
    extra = spe - 1 if d["stopped"] == "non_finite" else 0
    if not spe * n_epochs <= n_steps <= spe * n_epochs + max(0, extra):
        raise _fail(where, f"{n_steps} per-step values do not fit steps_per_epoch={spe} x {n_epochs} epochs")
    for key in ("train_error", "epoch_train_error", "test_error"):
        for i, v in enumerate(d[key]):
            if v is not None and _finite(v) and not 0.0 <= v <= 1.0:
                raise _fail(where, f"'{key}'[{i}] = {v} is not an error fraction in [0, 1]")
    for key in ("train_time_s", "wall_time_s", "images_per_s"):
        if any(v < 0 for v in d[key]):
            raise _fail(where, f"'{key}' holds a negative value")
    for key in ("train_time_s", "wall_time_s"):
        times = d[key]
        if any(b < a for a, b in itertools.pairwise(times)):
            raise _fail(where, f"'{key}' must be cumulative (never decreasing)")


def validate_result(d: Any, where: str = "result", *, archive: bool = True,
                    profiles: tuple[str, ...] = ARCHIVED_PROFILES) -> None:  # fmt: skip
    """Check that ``d`` is :meth:`ExperimentResult.to_dict` output whose Histories validate and whose
    profile is one of ``profiles`` (default: the archived ones, never quick). With ``archive`` (the
    default), ``run_info`` must also name :data:`REQUIRED_RUN_INFO` and, when the result holds
    Histories, the data they were trained on."""
    if not isinstance(d, dict):
        raise _fail(where, f"an ExperimentResult must be a JSON object, got {type(d).__name__}")
    for key, kind in (("name", str), ("profile", str), ("histories", dict), ("metrics", dict),
                      ("run_info", dict)):  # fmt: skip
        if key not in d:
            raise _fail(where, f"'{key}' is missing")
        if not isinstance(d[key], kind):
            raise _fail(where, f"'{key}' must be a {kind.__name__}, got {type(d[key]).__name__}")
    known = (*PROFILES, *(p for p in ARCHIVED_PROFILES if p not in PROFILES))
    if d["profile"] not in known:
        raise _fail(where, f"'profile' must be one of {', '.join(known)}, got {d['profile']!r}")
    if d["profile"] not in profiles and d["profile"] in ARCHIVED_PROFILES:
        raise _fail(where, f"a {d['profile']!r}-profile result where only {' or '.join(profiles)} ones "
                    "belong (standard archives are <chapter>/<experiment>.json, full ones "
                    "<chapter>/full/<experiment>.json)")
    if d["profile"] not in profiles:
        raise _fail(where, f"a {d['profile']!r}-profile result is not an archive (archives hold "
                    f"{' or '.join(profiles)} results; quick runs belong in {quick_results_dir()})")
    for label, history in d["histories"].items():
        validate_history(history, f"{where}: histories[{label!r}]")
    if archive:
        info = d["run_info"]
        missing = [k for k in REQUIRED_RUN_INFO if k not in info]
        if d["histories"] and "data" not in info:
            missing.append("data")
        if missing:
            raise _fail(where, f"run_info lacks {', '.join(missing)}")
        if info["profile"] != d["profile"]:
            raise _fail(where, f"run_info says profile {info['profile']!r}, the result {d['profile']!r}")
        wall = info["wall_time_s"]
        if not _is_number(wall) or not _finite(wall) or wall < 0:
            raise _fail(where, f"run_info 'wall_time_s' must be a non-negative number, got {str(wall)[:40]}")


# ----------------------------------------------------------------------------------------------------------
# Saving and loading


def save_archive(result: ExperimentResult, chapter: str, experiment: str | None = None,
                 root: str | os.PathLike | None = None) -> Path:  # fmt: skip
    """Validate ``result`` and write it atomically to :func:`archive_path` (experiment: ``result.name``).

    In the archive root (:func:`is_archive_root`) only :data:`ARCHIVED_PROFILES` results are written;
    elsewhere (``_build/results-quick/``, a test folder) quick ones too."""
    base = Path(root) if root is not None else results_dir()
    path = archive_path(chapter, experiment or result.name, base, profile=result.profile)
    allowed = ARCHIVED_PROFILES if is_archive_root(base) else (*PROFILES, *ARCHIVED_PROFILES)
    validate_result(result.to_dict(), str(path), profiles=allowed)
    return result.save(path)


def load_archive(path: str | os.PathLike, *,
                 profiles: tuple[str, ...] = ARCHIVED_PROFILES) -> ExperimentResult:  # fmt: skip
    """Read and validate one archive file; any problem raises :class:`ArchiveError`.

    ``profiles``: the profiles accepted, by default the archived ones; pass e.g. ``("quick",)`` to read a
    quick-profile result from ``_build/results-quick/``."""
    path = Path(path)
    if path.is_dir():
        raise ArchiveError(f"{path}: a directory, not an archive file (archives are <chapter>/<name>.json).")
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ArchiveError(f"{path}: no such archive.") from None
    except UnicodeDecodeError:
        raise _fail(str(path), "not valid JSON (not even UTF-8 text)") from None
    except OSError as exc:
        raise ArchiveError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _fail(str(path), f"not valid JSON ({exc})") from None
    except RecursionError:  # json recurses once per level: a hostile file can exhaust the stack
        raise _fail(str(path), "JSON nested too deeply") from None
    except ValueError as exc:  # an integer of more than 4,300 digits (Python's limit on int parsing)
        raise _fail(str(path), f"not readable JSON ({exc})") from None
    validate_result(data, str(path), profiles=profiles)
    try:
        return ExperimentResult.from_dict(data)
    except Exception as exc:  # the schema above should catch everything; this names what it missed
        problem = f"cannot be read as an ExperimentResult ({type(exc).__name__}: {exc})"
        raise _fail(str(path), problem) from None


def find_archive(
    chapter: str, experiment: str, root: str | os.PathLike | None = None, *, profile: str = "standard"
) -> ExperimentResult | None:
    """The archived ``profile`` result of ``experiment`` (standard or full), or None when there is none.

    A malformed archive, or one whose own ``profile`` differs from the one its place says (a quick result
    copied into ``results/``, a full one in the standard place), raises :class:`ArchiveError`: it must
    never be shown as something it is not."""
    if profile not in ARCHIVED_PROFILES:
        raise ValueError(f"only {', '.join(ARCHIVED_PROFILES)} results are archived, not {profile!r}.")
    path = archive_path(chapter, experiment, root, profile=profile)
    return load_archive(path, profiles=(profile,)) if path.is_file() else None


def find_archives(
    chapter: str, experiment: str, root: str | os.PathLike | None = None
) -> dict[str, ExperimentResult]:
    """``{profile: result}`` for every archived profile of ``experiment`` that exists (standard first)."""
    found = {p: find_archive(chapter, experiment, root, profile=p) for p in ARCHIVED_PROFILES}
    return {p: r for p, r in found.items() if r is not None}


def list_archives(chapter: str | None = None, root: str | os.PathLike | None = None) -> list[Path]:
    """Archive files under ``root`` (default :func:`results_dir`), of one chapter or all, of every
    profile (``<chapter>/*.json`` and ``<chapter>/full/*.json``), sorted."""
    base = Path(root) if root is not None else results_dir()
    if not base.is_dir():
        return []
    chapters = [_check_name(chapter, "chapter")] if chapter else ["*"]
    patterns = [f"{c}/*.json" for c in chapters] + [f"{c}/full/*.json" for c in chapters]
    found = [p for pattern in patterns for p in base.glob(pattern)]
    return sorted(found)

