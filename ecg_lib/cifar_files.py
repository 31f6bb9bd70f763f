"""Reading CIFAR-10's file formats into arrays: torchvision's pickled batches, an image-folder tree
(``train/<class>/*.jpg``), or a ``.tar``/``.tar.gz`` of either. Images are decoded in parallel worker
processes; every reader also reports how the files were stored (:class:`~ecg_lib.image_quality.Encoding`).

:mod:`ecg_lib.data` builds on this module (sources, cache, validation, the dataset object).
"""

from __future__ import annotations

import codecs
import importlib
import io
import os
import pickle
import signal
import sys
import tarfile
import zlib
from collections.abc import Iterator, Sequence
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from ecg_lib.image_quality import ORIGINAL_BATCHES, Encoding, describe_images

__all__ = ["CIFAR10_CLASSES", "DataError", "UnsafePickleError", "load_batch_pickle"]

CIFAR10_CLASSES: tuple[str, ...] = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")
_BATCH_NAMES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")

Arrays = dict[str, "np.ndarray | Encoding"]  # train_x, train_y, test_x, test_y; x as N x 3 x 32 x 32 uint8
# plus "encoding": an Encoding (how the files were stored), kept beside the arrays by the readers


class DataError(RuntimeError):
    """CIFAR-10 could not be found, or what was found is incomplete or corrupt."""


def _read_batches_folder(folder: Path) -> Arrays:
    blobs = {}
    for name in _BATCH_NAMES:
        f = folder / name
        if not f.is_file():
            raise DataError(f"{folder} lacks {name}: an incomplete cifar-10-batches-py folder.")
        blobs[name] = f.read_bytes()
    return _batches_to_arrays(blobs, str(folder))


class UnsafePickleError(pickle.UnpicklingError):
    """A pickled batch that names something other than the plain data CIFAR-10's format holds."""


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of ``bytes`` call it, and only that use of it."""
    if codecs.lookup(encoding).name != "iso8859-1" or not isinstance(text, str):
        raise UnsafePickleError(f"_codecs.encode with encoding {encoding!r} (the format uses only latin1)")
    return text.encode("latin1")


def _numpy_global(module: str, name: str) -> object:
    # numpy 2 moved numpy.core to numpy._core; pickles of either version name one or the other
    for candidate in (module.replace("numpy.core", "numpy._core"), module):
        try:
            return getattr(importlib.import_module(candidate), name)
        except (ImportError, AttributeError):
            continue
    raise UnsafePickleError(f"{module}.{name} is not available in this numpy")


# What a CIFAR-10 batch may name: numpy arrays, dtypes and scalars (dicts, lists, str, bytes and ints need
# no global). numpy's own pickles of them (protocols 2-5, numpy 1 and 2) name exactly these.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
}  # fmt: skip


class _BatchUnpickler(pickle.Unpickler):
    """Builds only plain data: every global the stream names is checked *before* it is looked up, so a
    hostile file (a ``__reduce__`` calling ``os.system``, ``open``, ``eval``) is refused before any of its
    objects is built or called."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        if (module, name) in _ALLOWED_GLOBALS:
            return _numpy_global(module, name)
        raise UnsafePickleError(f"it names {module}.{name}, which a CIFAR-10 batch never holds")

    def persistent_load(self, pid: object) -> object:
        raise UnsafePickleError("it refers to a persistent object, which a CIFAR-10 batch never holds")


def load_batch_pickle(blob: bytes) -> object:
    """Unpickle one CIFAR-10 batch (latin1 strings, as the Python 2 originals need) with the restricted
    unpickler: dicts, lists, str, bytes, ints and numpy arrays only; anything else raises
    :class:`UnsafePickleError` before it is built. The only pickle reader of the library."""
    return _BatchUnpickler(io.BytesIO(blob), encoding="latin1").load()


def _batches_to_arrays(blobs: dict[str, bytes], where: str) -> Arrays:
    xs: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    ys: dict[str, list[np.ndarray]] = {"train": [], "test": []}
    for name in _BATCH_NAMES:
        try:
            # the original CIFAR-10 format, read so that a file cannot run code (torchvision's reader would)
            entry = load_batch_pickle(blobs[name])
        except UnsafePickleError as exc:
            raise DataError(f"{where}/{name} was refused: {exc}. It is not a CIFAR-10 batch (which holds "
                            "only arrays, lists and strings); nothing in it was run.") from None  # fmt: skip
        try:
            if not isinstance(entry, dict):
                raise TypeError(f"a {type(entry).__name__}, not a dict")
            x = np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            y = np.asarray(entry["labels"], dtype=np.int64)
        except Exception as exc:
            raise DataError(
                f"{where}/{name} is not a readable CIFAR-10 batch ({type(exc).__name__}: {exc})."
            ) from exc
        split = "test" if name == "test_batch" else "train"
        xs[split].append(x)
        ys[split].append(y)
    return {"train_x": np.concatenate(xs["train"]), "train_y": np.concatenate(ys["train"]),
            "test_x": np.concatenate(xs["test"]), "test_y": np.concatenate(ys["test"]),
            "encoding": ORIGINAL_BATCHES}  # fmt: skip


def _split_and_class(parts: Sequence[str]) -> tuple[str, int] | None:
    """``(..., "train"|"test", "<class>", "<file>.jpg")`` -> ``(split, label)``; anything else -> None."""
    if len(parts) < 3 or not parts[-1].lower().endswith(_IMAGE_SUFFIXES) or parts[-1].startswith("."):
        return None
    split, cls = parts[-3], parts[-2]
    if split not in ("train", "test"):
        return None
    if cls not in CIFAR10_CLASSES:
        raise DataError(f"unknown class folder {'/'.join(parts[-3:-1])!r}: CIFAR-10's classes are "
                        f"{', '.join(CIFAR10_CLASSES)}.")  # fmt: skip
    return split, CIFAR10_CLASSES.index(cls)


def _decode(item: tuple[str, bytes]) -> np.ndarray:
    """One encoded image -> 3 x 32 x 32 uint8 (runs in worker processes)."""
    from PIL import Image

    name, blob = item
    try:
        with Image.open(io.BytesIO(blob)) as im:
            arr = np.asarray(im.convert("RGB"))
    except Exception as exc:
        raise DataError(f"cannot decode {name} ({type(exc).__name__}: {exc}); the copy is corrupt.") from exc
    if arr.shape != (32, 32, 3):
        raise DataError(f"{name} is {arr.shape[1]}x{arr.shape[0]} pixels; CIFAR-10 images are 32x32.")
    return arr.transpose(2, 0, 1)


def _decode_all(items: list[tuple[str, bytes]], workers: int | None) -> list[np.ndarray]:
    # Measured on a 2-core machine: one process decodes the 60,000 JPEGs in ~9-14 s, a pool of two took
    # 15-22 s (shipping bytes and arrays between processes costs more than the second core gives back).
    # So a pool only where there are cores to spare.
    if workers is None:
        cores = os.cpu_count() or 1
        workers = 1 if cores <= 2 else min(4, cores)
    if workers <= 1 or len(items) < 2000:
        return [_decode(it) for it in items]
    # fork shares the parent's imports; spawn would re-import torch in each worker (seconds each)
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    with get_context(method).Pool(workers, initializer=_ignore_sigint) as pool:
        return pool.map(_decode, items, chunksize=1000)


def _ignore_sigint() -> None:
    """Pool workers leave Ctrl-C to the parent: it stops the pool (leaving the ``with`` terminates it) and
    reports once, instead of every worker printing its own traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _collect(entries: Iterator[tuple[Sequence[str], bytes]], workers: int | None, where: str) -> Arrays:
    """Sort the named images into splits, decode them, order them by (class, file name)."""
    items: dict[str, list[tuple[int, str, bytes]]] = {"train": [], "test": []}
    for parts, blob in entries:
        key = _split_and_class(parts)
        if key is not None:
            items[key[0]].append((key[1], parts[-1], blob))
    out: Arrays = {}
    # read from the files' headers (JPEG quantisation tables), never assumed from the file names
    out["encoding"] = describe_images([b for split in ("train", "test") for *_, b in items[split]])
    for split in ("train", "test"):
        rows = sorted(items[split], key=lambda r: (r[0], r[1]))
        if not rows:
            raise DataError(f"{where} holds no {split}/<class>/*.jpg images.")
        images = _decode_all([(f"{split}/{CIFAR10_CLASSES[c]}/{n}", b) for c, n, b in rows], workers)
        out[f"{split}_x"] = np.stack(images)
        out[f"{split}_y"] = np.array([c for c, _, _ in rows], dtype=np.int64)
    return out


def _read_tree(root: Path, workers: int | None) -> Arrays:
    def entries() -> Iterator[tuple[Sequence[str], bytes]]:
        for split in ("train", "test"):
            for f in sorted((root / split).glob("*/*")):
                if f.is_file():
                    yield (split, f.parent.name, f.name), f.read_bytes()

    return _collect(entries(), workers, str(root))


def _check_member(member: tarfile.TarInfo, archive: Path) -> None:
    """Refuse what a CIFAR-10 archive never holds and an extractor could be misled by: absolute names,
    ``..``, links and devices (nothing is extracted here, but such a file is not an honest copy)."""
    name = member.name
    parts = name.replace("\\", "/").split("/")
    why = None
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        why = "an absolute path"
    elif ".." in parts:
        why = "a path with '..'"
    elif member.issym() or member.islnk():
        why = f"a link (to {member.linkname!r})"
    elif member.isdev():
        why = "a device or FIFO"
    if why is not None:
        raise DataError(f"The archive {archive} holds {why}: member {name!r} refused. A CIFAR-10 archive "
                        "holds only plain files and folders with relative names; nothing was extracted.")


def _read_archive(archive: Path, workers: int | None) -> Arrays:
    batches: dict[str, bytes] = {}
    images: list[tuple[Sequence[str], bytes]] = []
    try:
        # streaming mode ("r|*") reads the archive once, front to back
        with tarfile.open(archive, "r|*") as tf:
            for member in tf:
                _check_member(member, archive)
                if not member.isfile():
                    continue
                parts = member.name.split("/")
                if parts[-1] in _BATCH_NAMES and "cifar-10-batches-py" in parts:
                    batches[parts[-1]] = tf.extractfile(member).read()
                elif parts[-1].lower().endswith(_IMAGE_SUFFIXES):
                    images.append((parts, tf.extractfile(member).read()))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DataError(
            f"The archive {archive} is truncated or corrupt ({type(exc).__name__}: {exc}). "
            "Download or copy it again."
        ) from exc
    if batches:
        missing = [n for n in _BATCH_NAMES if n not in batches]
        if missing:
            raise DataError(
                f"{archive} holds an incomplete cifar-10-batches-py (missing {', '.join(missing)})."
            )
        return _batches_to_arrays(batches, str(archive))
    return _collect(iter(images), workers, str(archive))
