"""The decoded CIFAR-10 cache of :func:`ecg_lib.data.load_cifar10`: where it lives, how an entry is written
and read back (with a checksum), and the clean-up of killed writes and superseded entries.

An entry is two files: ``<name>.npy`` with all 60,000 images (train, then test; ``np.load`` reads it in
about 0.1 s) and ``<name>.json`` with the labels, the source and the encoding. Each is written to a
temporary file and renamed; the ``.json`` goes last, so an entry without it is incomplete and never read.
The key in ``<name>`` (which files a decode read, as they were) is :mod:`ecg_lib.data`'s.
"""

from __future__ import annotations

import json
import os
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import torch

from ecg_lib.atomic import atomic_write
from ecg_lib.cifar_files import DataError
from ecg_lib.dataset import CIFAR10Data
from ecg_lib.image_quality import Encoding

__all__ = ["CACHE_VERSION", "default_cache_dir", "newest_cache", "read_cache_arrays", "remove_orphans",
           "remove_superseded", "write_cache"]  # fmt: skip

# bump when the cache layout changes: old files are then ignored, not misread (2: a checksum in the .json)
CACHE_VERSION = 2
# A temporary file untouched for this long belongs to a killed write (a live one is written within seconds).
ORPHAN_AGE_S = 600.0


def default_cache_dir() -> Path:
    """``$ECG_CACHE_DIR``, else the platform's user cache folder + ``ecg_lib``."""
    if os.environ.get("ECG_CACHE_DIR"):
        return Path(os.environ["ECG_CACHE_DIR"]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "ecg_lib"


def checksum(images: np.ndarray, train_y: np.ndarray, test_y: np.ndarray) -> str:
    """CRC-32 of pixels and labels: ~0.1 s for 180 MB (SHA-1 took 2-3x longer), and it is there to catch
    edits and damage, not forgery. Swapped labels and zeroed pixels both change it."""
    crc = zlib.crc32(np.ascontiguousarray(images).data)
    for y in (train_y, test_y):
        crc = zlib.crc32(np.ascontiguousarray(y, dtype=np.int64).data, crc)
    return f"crc32:{crc:08x}"


def write_cache(file: Path, data: CIFAR10Data, meta: dict) -> None:
    """Write atomically: a crash or a full disk leaves nothing readable under the final names."""
    file.parent.mkdir(parents=True, exist_ok=True)
    images = torch.cat([data.train_x, data.test_x]).numpy()
    # the encoding (lossy or not, JPEG quality) travels with the pixels: a cache hit must not lose it
    meta = {**data.encoding().to_dict(), **meta, "n_train": data.n_train, "classes": list(data.classes),
            "train_y": data.train_y.tolist(), "test_y": data.test_y.tolist(),
            "checksum": checksum(images, data.train_y.numpy(), data.test_y.numpy())}  # fmt: skip
    npy = file.with_suffix(".npy")
    atomic_write(npy, lambda f: np.save(f, images))
    try:
        atomic_write(file.with_suffix(".json"), lambda f: f.write(json.dumps(meta).encode()))
    except BaseException:  # Ctrl-C between the two files: no 180 MB array without its .json
        npy.unlink(missing_ok=True)
        raise


def remove_orphans(cache: Path) -> None:
    """Delete the ``.tmp`` files a killed cache write (``kill -9``, power loss) left behind: atomic writes
    remove their own on any exception, but not after SIGKILL. Fresh ones may be another process's write."""
    if not cache.is_dir():
        return
    now = time.time()
    for tmp in cache.glob("cifar10-*.tmp"):
        try:
            if now - tmp.stat().st_mtime > ORPHAN_AGE_S:
                tmp.unlink()
        except OSError:  # gone meanwhile, or not ours to delete: harmless either way
            pass


def remove_superseded(current: Path, source: str) -> None:
    """Delete the cache entries of ``source`` other than ``current``: decoded before the source changed,
    they can never be hit again (their key names files as they were), and each holds 180 MB."""
    for other in current.parent.glob(f"cifar10-*-v{CACHE_VERSION}.json"):
        if other == current:
            continue
        try:
            if json.loads(other.read_text()).get("source") != source:
                continue
            other.with_suffix(".npy").unlink(missing_ok=True)
            other.unlink(missing_ok=True)
        except (OSError, ValueError, AttributeError):  # unreadable or not ours: leave it
            continue


def read_cache_arrays(file: Path) -> tuple[dict, str]:
    """The arrays of a cache entry, checksum verified, and the source to record (with where the copy was
    read and how long it took); :func:`ecg_lib.data._read_cache` validates them into a dataset."""
    t0 = time.perf_counter()
    try:
        meta = json.loads(file.with_suffix(".json").read_text())
        images = torch.from_numpy(np.load(file.with_suffix(".npy"), allow_pickle=False))
        n = meta["n_train"]
        arrays = {"train_x": images[:n], "test_x": images[n:],
                  "train_y": np.asarray(meta["train_y"], dtype=np.int64),
                  "test_y": np.asarray(meta["test_y"], dtype=np.int64)}  # fmt: skip
    except Exception as exc:
        raise DataError(f"The cached copy {file.with_suffix('.npy')} is unreadable ({type(exc).__name__}: "
                        f"{exc}); delete it and its .json and load again.") from exc  # fmt: skip
    expected = meta.get("checksum")
    found = checksum(images.numpy(), arrays["train_y"], arrays["test_y"])
    if found != expected:
        raise DataError(f"The cached copy {file.with_suffix('.npy')} fails its checksum (recorded "
                        f"{expected}, found {found}): it was edited or damaged; delete the cache entry (it "
                        "and its .json) and load again.")  # fmt: skip
    load_s = time.perf_counter() - t0
    origin = meta.get("source", "unknown source")
    if "lossy" in meta:
        arrays["encoding"] = Encoding(meta["lossy"], meta.get("file_format"), meta.get("jpeg_quality"),
                                      meta.get("chroma_subsampling"), meta.get("detail", ""))  # fmt: skip
    return arrays, f"{origin} (decoded cache {file.with_suffix('.npy')}, read in {load_s:.2f} s)"


def newest_cache(cache: Path) -> Path | None:
    """The cache file to use when no source is named: the original batches if cached, else the newest."""
    if not cache.is_dir():
        return None
    # the .json is written last: its presence marks a complete entry
    files = [f for f in cache.glob(f"cifar10-*-v{CACHE_VERSION}.json") if f.with_suffix(".npy").is_file()]
    if not files:
        return None
    files.sort(key=lambda f: (f.name.startswith("cifar10-batches-"), f.stat().st_mtime), reverse=True)
    return files[0]
