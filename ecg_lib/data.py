"""Loading CIFAR-10: the sources tried in order, decoding, validation and the download. The loaded
object and its subsets are :mod:`ecg_lib.dataset`'s, the statistics and :class:`Normalizer`
:mod:`ecg_lib.normalize`'s, the decoded cache :mod:`ecg_lib.data_cache`'s (all importable from here
too); the file formats are read by :mod:`ecg_lib.cifar_files`; :mod:`ecg_lib.loader` serves batches.

Sources, tried in this order by :func:`load_cifar10`:

1. ``path=`` or ``$ECG_DATA_DIR``: a folder holding torchvision's ``cifar-10-batches-py``, an
   image-folder tree (``train/<class>/*.jpg`` and ``test/<class>/*.jpg``) or a ``.tar.gz`` of either;
   ``path`` may also be the archive itself. Decoded once, then read from the cache.
2. A decoded cache in ``$ECG_CACHE_DIR`` or the user's cache folder (``~/.cache/ecg_lib`` on Linux):
   one ``.npy`` (+ ``.json``) per source, about 0.1 s to load.
3. torchvision's download of the original batches (checksummed) when the machine is online.
4. A local image-folder tree or ``.tar.gz`` in ``./data`` or ``../shared/data`` (relative to the
   working directory and to this repository).

Images are uint8 ``N x 3 x 32 x 32`` tensors and labels int64, in the usual CIFAR-10 class order.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ecg_lib import cifar_files
from ecg_lib.cifar_files import CIFAR10_CLASSES, DataError
from ecg_lib.data_cache import (
    CACHE_VERSION,
    default_cache_dir,
    newest_cache,
    read_cache_arrays,
    remove_orphans,
    remove_superseded,
    write_cache,
)
from ecg_lib.dataset import CIFAR10Data, class_balanced_indices
from ecg_lib.image_quality import Encoding
from ecg_lib.normalize import Normalizer, channel_stats, mean_image
from ecg_lib.normalize import _check_images as _check_images  # ecg_lib.loader imports it from here

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR10Data",
    "DataError",
    "Normalizer",
    "channel_stats",
    "class_balanced_indices",
    "default_cache_dir",
    "load_cifar10",
    "mean_image",
    "validate",
]

N_TRAIN_PER_CLASS, N_TEST_PER_CLASS = 5000, 1000
_ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")

HOW_TO_PROVIDE = """\
CIFAR-10 can be provided in three ways:
  1. point load_cifar10(path=...) or the ECG_DATA_DIR environment variable at a folder holding
     torchvision's cifar-10-batches-py/, an image-folder tree (train/<class>/*.jpg and
     test/<class>/*.jpg), or a .tar.gz of one (the path may also be the .tar.gz itself);
  2. go online once: load_cifar10() then downloads the original batches with torchvision
     (about 170 MB, checksummed) and keeps a decoded copy in the cache folder ({cache});
  3. put such a tree or .tar.gz in one of the folders searched when nothing else is found:
     {search}."""


# ----------------------------------------------------------------------------------------------------------
# Finding, decoding, validating and caching


def default_search_dirs() -> list[Path]:
    """Folders searched last for an image-folder tree or archive (step 4 of :func:`load_cifar10`)."""
    repo = Path(__file__).resolve().parents[1]
    cwd = Path.cwd()
    dirs = [cwd / "data", cwd.parent / "shared" / "data", repo / "data", repo.parent / "shared" / "data"]
    unique: list[Path] = []
    for d in dirs:
        if d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def _how_to(cache: Path, search: Sequence[Path]) -> str:
    where = ", ".join(str(s) for s in search) if search else "(none)"
    return HOW_TO_PROVIDE.format(cache=cache, search=where)


def load_cifar10(
    path: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    download: bool = True,
    search_dirs: Sequence[str | os.PathLike] | None = None,
    workers: int | None = None,
    use_cache: bool = True,
) -> CIFAR10Data:
    """Load the 50,000/10,000 CIFAR-10 split (see the module docstring for the order of sources).

    ``path`` (else ``$ECG_DATA_DIR``) names an explicit source; if it holds no CIFAR-10 that is an
    error, not a reason to look elsewhere. ``cache_dir`` overrides the cache folder, ``search_dirs``
    the folders of step 4 (``()`` searches none), ``workers`` the JPEG-decoding processes (default: one
    on machines with up to 2 cores). ``use_cache=False`` neither reads nor writes the cache. Everything
    loaded is validated (shapes, dtype, 10 classes, 5,000/1,000 images per class); failures raise
    :class:`DataError`.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    search = [Path(s) for s in (default_search_dirs() if search_dirs is None else search_dirs)]
    if use_cache:
        remove_orphans(cache)
    explicit = path if path is not None else os.environ.get("ECG_DATA_DIR") or None
    if explicit is not None:
        where = "path=" if path is not None else "ECG_DATA_DIR="
        source = _find_source(Path(explicit).expanduser())
        if source is None:
            raise DataError(
                f"No CIFAR-10 found at {where}{explicit}: expected cifar-10-batches-py/, train/ and test/ "
                f"image folders, or a .tar.gz of them.\n" + _how_to(cache, search)
            )
        return _load_source(source, cache if use_cache else None, workers, cache, search)

    if use_cache:
        cached = newest_cache(cache)
        if cached is not None:
            return _read_cache(cached)

    if download:
        data = _try_download(cache)
        if data is not None:
            return data

    for folder in search:
        source = _find_source(folder)
        if source is not None:
            return _load_source(source, cache if use_cache else None, workers, cache, search)

    raise DataError(
        "CIFAR-10 was not found: ECG_DATA_DIR is not set, the cache folder has no decoded copy, "
        + ("the download failed (offline?)" if download else "downloading was disabled")
        + ", and no image-folder tree or archive was found.\n" + _how_to(cache, search)
    )


def _find_source(p: Path) -> Path | None:
    """The file or folder under ``p`` to decode: an archive, a batches folder, or a tree root."""
    if p.is_file():
        return p if p.name.endswith(_ARCHIVE_SUFFIXES) else None
    if not p.is_dir():
        return None
    if (p / "cifar-10-batches-py").is_dir():
        return p / "cifar-10-batches-py"
    if (p / "data_batch_1").is_file():
        return p
    if (p / "train").is_dir() and (p / "test").is_dir():
        return p
    archives = sorted(a for a in p.iterdir() if a.is_file() and a.name.endswith(_ARCHIVE_SUFFIXES))
    # prefer archives named after CIFAR-10 when a folder holds several
    archives.sort(key=lambda a: 0 if re.search(r"cifar-?10", a.name, re.I) else 1)
    return archives[0] if archives else None


def _source_files(source: Path) -> list[Path]:
    """Every file a decode of ``source`` reads: the archive, the six batches, or each image of the tree."""
    if source.is_file():
        return [source]
    if (source / "data_batch_1").is_file():
        return [source / name for name in cifar_files._BATCH_NAMES]
    return sorted(f for split in ("train", "test") for f in (source / split).glob("*/*"))


def _fingerprint(source: Path) -> str:
    """The cache key of a source: path, size, modification and change time and inode of every file a decode
    reads (a tree's 60,000 images: ~0.1-0.3 s of stat calls), so overwriting, swapping, deleting or adding
    any of them, or editing a batch, is a miss and decodes again (issue 25). ctime catches an edit whose
    modification time was put back; content hashes would cost a full read of the source on every load."""
    parts = [str(source.resolve()), str(CACHE_VERSION)]
    for f in _source_files(source):
        try:
            st = f.stat()
        except OSError:  # vanished meanwhile: the decode will say so
            parts.append(f"{f}:missing")
            continue
        parts.append(f"{f.relative_to(source) if f != source else f.name}:{st.st_size}:{st.st_mtime_ns}:"
                     f"{st.st_ctime_ns}:{st.st_ino}")  # fmt: skip
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:16]


def _load_source(source: Path, cache: Path | None, workers: int | None, cache_for_msg: Path,
                 search: Sequence[Path]) -> CIFAR10Data:  # fmt: skip
    kind = "batches" if (source / "data_batch_1").is_file() else "tree" if source.is_dir() else "archive"
    desc = {"batches": "torchvision batches", "tree": "image-folder tree", "archive": "archive"}[kind]
    cache_file = cache / f"cifar10-{kind}-{_fingerprint(source)}-v{CACHE_VERSION}.json" if cache else None
    if cache_file is not None and cache_file.is_file() and cache_file.with_suffix(".npy").is_file():
        try:
            cached = _read_cache(cache_file)
        except DataError as exc:  # the source is at hand: decode it again rather than stop
            warnings.warn(f"{exc} Decoding {source} again; the entry is replaced.", stacklevel=3)
            for f in (cache_file, cache_file.with_suffix(".npy")):
                f.unlink(missing_ok=True)
        else:
            if cached.lossy is not None:  # older entries lack the encoding: decode once more to record it
                return cached
    t0 = time.perf_counter()
    try:
        if kind == "batches":
            arrays = cifar_files._read_batches_folder(source)
        elif kind == "tree":
            arrays = cifar_files._read_tree(source, workers)
        else:
            arrays = cifar_files._read_archive(source, workers)
        data = _to_data(arrays, f"{desc} {source}")
    except DataError as exc:
        raise DataError(f"{exc}\n{_how_to(cache_for_msg, search)}") from exc.__cause__
    decode_s = time.perf_counter() - t0
    note = f" (decoded in {decode_s:.1f} s"
    if cache_file is not None:
        try:
            write_cache(cache_file, data, {"source": data.source, "decode_s": decode_s})
            note += f", cached in {cache_file.parent}"
            remove_superseded(cache_file, data.source)
        except OSError as exc:  # a read-only or full cache folder costs speed next time, not this load
            print(f"ecg_lib: could not write the CIFAR-10 cache in {cache_file.parent} ({exc}); set "
                  "ECG_CACHE_DIR to a writable folder to skip decoding next time.",
                  file=sys.stderr)  # fmt: skip
    return replace(data, source=data.source + note + ")")


def _to_data(arrays: dict, source: str) -> CIFAR10Data:
    enc = arrays.get("encoding") or Encoding(lossy=None)
    data = CIFAR10Data(*(torch.as_tensor(np.ascontiguousarray(arrays[k]))
                         for k in ("train_x", "train_y", "test_x", "test_y")), source=source,
                       lossy=enc.lossy, file_format=enc.file_format, jpeg_quality=enc.jpeg_quality,
                       chroma_subsampling=enc.chroma_subsampling, encoding_detail=enc.detail)  # fmt: skip
    validate(data)
    return data


def validate(
    data: CIFAR10Data, *, per_class: tuple[int, int] = (N_TRAIN_PER_CLASS, N_TEST_PER_CLASS)
) -> None:
    """Raise :class:`DataError` unless ``data`` is the complete CIFAR-10: shapes, dtypes, 10 classes and
    ``per_class`` images of each class in train and test."""
    if tuple(data.classes) != CIFAR10_CLASSES:
        raise DataError(
            f"{data.source}: classes {list(data.classes)} are not CIFAR-10's {list(CIFAR10_CLASSES)}."
        )
    for split, x, y, n in (("train", data.train_x, data.train_y, per_class[0]),
                           ("test", data.test_x, data.test_y, per_class[1])):  # fmt: skip
        if x.dtype != torch.uint8 or x.dim() != 4 or tuple(x.shape[1:]) != (3, 32, 32):
            raise DataError(f"{data.source}: {split} images are {x.dtype} {tuple(x.shape)}, "
                            "expected uint8 N x 3 x 32 x 32.")  # fmt: skip
        if y.dtype != torch.int64 or y.shape != (x.shape[0],):
            raise DataError(f"{data.source}: {split} labels are {y.dtype} {tuple(y.shape)}, "
                            f"expected int64 ({x.shape[0]},).")  # fmt: skip
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= len(CIFAR10_CLASSES)):
            raise DataError(f"{data.source}: {split} labels fall outside 0..9.")
        counts = torch.bincount(y, minlength=len(CIFAR10_CLASSES)).tolist()
        wrong = {CIFAR10_CLASSES[c]: k for c, k in enumerate(counts) if k != n}
        if wrong:
            raise DataError(
                f"{data.source}: the {split} split is incomplete: expected {n} images of each class, "
                f"found {', '.join(f'{k} of {name!r}' for name, k in wrong.items())} "
                f"({sum(counts)} in all instead of {n * len(CIFAR10_CLASSES)}). Is the copy truncated?"
            )


def _read_cache(file: Path) -> CIFAR10Data:
    """A cache entry as a validated dataset (:func:`ecg_lib.data_cache.read_cache_arrays` reads it)."""
    return _to_data(*read_cache_arrays(file))


def _online(host: str = "www.cs.toronto.edu", port: int = 443, timeout: float = 3.0) -> bool:
    """A quick reachability check, so that offline machines skip the download without a long hang."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _try_download(cache: Path) -> CIFAR10Data | None:
    if not _online():
        return None
    try:
        from torchvision.datasets import CIFAR10
        from torchvision.datasets.utils import check_integrity, download_and_extract_archive

        root = cache / "download"
        folder = root / CIFAR10.base_folder
        # constructing torchvision's CIFAR10 dataset would unpickle the batches, unrestricted; here it only
        # fetches them (the archive's MD5 checked before extraction; batches already there against their
        # own MD5s), and the restricted reader of ecg_lib.cifar_files is the one that reads them
        batches = CIFAR10.train_list + CIFAR10.test_list
        if not all(check_integrity(str(folder / name), md5) for name, md5 in batches):
            download_and_extract_archive(CIFAR10.url, str(root), filename=CIFAR10.filename,
                                         md5=CIFAR10.tgz_md5)  # fmt: skip
    except Exception as exc:  # a failed download is one source failing; the caller tries the next
        print(f"ecg_lib: the torchvision download of CIFAR-10 failed ({exc}); trying local copies.",
              file=sys.stderr)  # fmt: skip
        return None
    return _load_source(root / "cifar-10-batches-py", cache, None, cache, [])
