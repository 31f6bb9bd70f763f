"""Atomic file writes: write to a temporary file beside the target, then rename it into place.

One helper for every file the library writes (checkpoints, Histories, archives, the data cache), so an
interrupted or failing write never leaves a torn file under the final name, and the temporary file is
removed on any error (Ctrl-C included).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["atomic_torch_save", "atomic_write", "atomic_write_bytes", "atomic_write_text", "check_writable"]


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(f)`` on a binary file object, then rename the file to ``path`` (folders created).

    The file gets the usual permissions (0666 less the umask; ``mkstemp`` alone would give 0600), so a
    shared cache or results folder stays readable by others.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj)`` to ``path`` atomically."""
    import torch

    return atomic_write(path, lambda f: torch.save(obj, f))


def check_writable(path: str | os.PathLike, what: str = "output") -> Path:
    """Check, before any work is done, that :func:`atomic_write` can later write ``path``; return it.

    Raises ``ValueError`` naming ``what`` (e.g. ``"--out"``) when ``path`` is a directory, lies under a
    regular file, or when its nearest existing folder refuses a new file. That last check writes and removes
    a probe file, because permission bits do not tell (root ignores them; read-only mounts ignore root).
    """
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{what} {target} is a directory; give a file path inside it instead.")
    folder = target.parent
    while not folder.exists():  # the folders atomic_write would create
        if folder.parent == folder:
            break
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"{what} {target} lies under {folder}, which is a file, not a folder.")
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"{what} {target} cannot be written: {folder} refuses new files ({reason}).") from None  # noqa: E501
    return target
