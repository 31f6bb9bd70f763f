"""Atomic file writes: write to a temporary file beside the target, then rename it into place.

One helper for every file the library writes (checkpoints, Histories, archives, the data cache), so an
interrupted or failing write never leaves a torn file under the final name, and the temporary file is
removed on any error (Ctrl-C included).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["OutputLockedError", "atomic_torch_save", "atomic_write", "atomic_write_text", "check_writable",
           "output_lock", "remove_stale_temporaries"]  # fmt: skip

#: Bytes the write probe of :func:`check_writable` writes: a disk with less room than this left is refused
#: before the work starts (a probe of 0 bytes passes on a full disk, and the result was lost at the end).
PROBE_BYTES = 1 << 20


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


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj)`` to ``path`` atomically."""
    import torch

    def write(f: IO[bytes]) -> None:
        try:
            torch.save(obj, f)
        except RuntimeError as exc:
            # a full disk surfaces as an OSError inside torch.save and then, as its zip writer closes, a
            # RuntimeError ("unexpected pos"); the OSError is what the caller can explain
            if isinstance(exc.__context__, OSError):
                raise exc.__context__ from None
            raise

    return atomic_write(path, write)


def check_writable(path: str | os.PathLike, what: str = "output") -> Path:
    """Check, before any work is done, that :func:`atomic_write` can later write ``path``; return it.

    Raises ``ValueError`` naming ``what`` (e.g. ``"--out"``) when ``path`` is a directory, lies under a
    regular file, or when its nearest existing folder refuses a new file. That last check writes and removes
    a probe file of :data:`PROBE_BYTES`, because permission bits do not tell (root ignores them; read-only
    mounts ignore root) and an empty file fits on a full disk.
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
    probe = None
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as f:
            f.write(bytes(PROBE_BYTES))  # ~1 ms; no fsync, which could take seconds on a busy disk
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValueError(f"{what} {target} cannot be written: {folder} refuses new files or has no room "
                         f"for {PROBE_BYTES >> 20} MB ({reason}).") from None  # fmt: skip
    finally:
        if probe is not None:
            Path(probe).unlink(missing_ok=True)
    return target


#: A temporary file of :func:`atomic_write` untouched for this long belongs to a killed write (``kill -9``
#: skips the cleanup); a live write touches its file within seconds.
ORPHAN_AGE_S = 600.0


def remove_stale_temporaries(path: str | os.PathLike, max_age_s: float = ORPHAN_AGE_S) -> list[Path]:
    """Delete the ``<name>.*.tmp`` files that killed atomic writes of ``path`` left beside it, if older than
    ``max_age_s`` (fresh ones may be another process's write in progress); return those deleted."""
    target = Path(path)
    removed = []
    if not target.parent.is_dir():
        return removed
    now = time.time()
    for tmp in target.parent.glob(f"{glob_escape(target.name)}.*.tmp"):
        try:
            if now - tmp.stat().st_mtime > max_age_s:
                tmp.unlink()
                removed.append(tmp)
        except OSError:  # gone meanwhile, or not ours to delete: harmless either way
            pass
    return removed


def glob_escape(name: str) -> str:
    """``name`` with glob's special characters made literal."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


class OutputLockedError(ValueError):
    """Another running process holds the lock of an output path (two runs writing one file)."""


def _lock_file(path: Path) -> Path:
    return path.parent / f".{path.name}.lock"


@contextlib.contextmanager
def output_lock(paths: Iterable[str | os.PathLike], what: str = "output") -> Iterator[list[Path]]:
    """Hold an exclusive lock on each output path for the duration of the block, so that two runs given
    the same ``--checkpoint``/``--out`` cannot both pass the "never overwrite" check and then overwrite
    each other: the second raises :class:`OutputLockedError` naming the holder's process id.

    The lock is ``flock`` on a hidden ``.<name>.lock`` file beside the output: the kernel releases it when
    its process dies (``kill -9`` included), so a crashed run never leaves a stale lock. Where ``flock``
    is missing (Windows) an ``O_EXCL`` file is the lock and a crash leaves it to be deleted by hand."""
    targets = list(dict.fromkeys(Path(p).expanduser().resolve() for p in paths))
    with contextlib.ExitStack() as stack:
        for target in targets:
            stack.enter_context(_locked(target, what))
        yield targets


@contextlib.contextmanager
def _locked(target: Path, what: str) -> Iterator[None]:
    lock = _lock_file(target)
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows
        fcntl = None
    if fcntl is None:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            raise OutputLockedError(f"{what} {target} is in use by another run (lock file {lock}; delete it "
                                    "if no run is going on).") from None  # fmt: skip
        try:
            os.write(fd, str(os.getpid()).encode())
            yield
        finally:
            os.close(fd)
            lock.unlink(missing_ok=True)
        return
    while True:
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise OutputLockedError(f"{what} {target} is being written by another run (process {holder}); "
                                    "wait for it to end, or give another path.") from None  # fmt: skip
        # the holder before us may have removed the file between our open and our lock: then we hold a
        # lock on a deleted file that no one else sees, and must lock the file now under that name
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        lock.unlink(missing_ok=True)  # unlinked while still locked: see the inode check above
        os.close(fd)
