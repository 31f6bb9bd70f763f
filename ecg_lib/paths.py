"""Where the library reads its archives and writes its runs, in a checkout and in an installed package.

Two ways of having ``ecg_lib``:

- a **checkout** (``git clone`` + ``pip install -e .``, or ``PYTHONPATH`` pointing at it): the package
  sits beside ``pyproject.toml`` and ``results/``. Archives are read from and written to ``results/``;
  runs write under the checkout's ``_build/``, as they always have.
- an **installed package** (``pip install`` of a wheel or of the repository URL, as in Colab): the
  package sits in ``site-packages``. ``results/`` travels inside it as ``ecg_lib/_results/`` (package
  data, mapped in ``pyproject.toml``) and is only read; everything a run writes goes to the working
  directory (``./_build/``, and ``./results/`` for the archives ``reproduce`` writes), never into
  ``site-packages``.

This module imports nothing heavy, so ``python -m ecg_lib --help`` can name these folders.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["build_dir", "in_checkout", "packaged_results_dir", "repository_root"]

_PACKAGE = Path(__file__).resolve().parent


def repository_root() -> Path:
    """The folder that holds the ``ecg_lib`` package: the checkout, or ``site-packages`` when installed."""
    return _PACKAGE.parent


def in_checkout() -> bool:
    """Whether the library runs from a checkout of the repository (editable install or ``PYTHONPATH``),
    recognised by the ``pyproject.toml`` that names this project beside the package."""
    pyproject = repository_root() / "pyproject.toml"
    try:
        return 'name = "ecg_lib"' in pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False


def packaged_results_dir() -> Path:
    """The archives a non-editable install carries: the repository's ``results/``, installed as the
    data-only package ``ecg_lib/_results/`` (absent in a checkout)."""
    return _PACKAGE / "_results"


def build_dir() -> Path:
    """Where runs write what is not committed (``reproduce`` state, quick-profile results): the
    checkout's ``_build/``, or ``_build/`` in the working directory when the library is installed."""
    return repository_root() / "_build" if in_checkout() else Path.cwd() / "_build"
