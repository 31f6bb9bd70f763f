"""CIFAR-10 as tensors: loading from several sources, a decoded cache, validation, subsets and statistics.
The file formats are read by :mod:`ecg_lib.cifar_files`; :mod:`ecg_lib.loader` serves batches.

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
import json
import os
import re
import socket
import sys
import time
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ecg_lib import cifar_files
from ecg_lib.atomic import atomic_write
from ecg_lib.cifar_files import CIFAR10_CLASSES, DataError
from ecg_lib.image_quality import Encoding, quality_note

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
# bump when the cache layout changes: old files are then ignored, not misread (2: a checksum in the .json)
_CACHE_VERSION = 2
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
# The dataset object, subsets and statistics


@dataclass(frozen=True)
class CIFAR10Data:
    """CIFAR-10 in memory: uint8 images ``N x 3 x 32 x 32`` and int64 labels for both splits.

    ``source`` says in words where the images came from (printed by :func:`ecg_lib.train.run_info`).
    ``lossy``, ``file_format``, ``jpeg_quality`` and ``chroma_subsampling`` say what the images are, read
    from the files by :func:`load_cifar10` (``lossy=None``: not recorded); :attr:`data_quality` words it.
    ``test_x``/``test_y`` are whatever :func:`ecg_lib.train.fit` evaluates on: the test set, or the
    held-out validation images after :meth:`validation_split`.
    """

    train_x: Tensor
    train_y: Tensor
    test_x: Tensor
    test_y: Tensor
    classes: tuple[str, ...] = CIFAR10_CLASSES
    source: str = ""
    lossy: bool | None = None
    file_format: str | None = None
    jpeg_quality: int | None = None
    chroma_subsampling: str | None = None
    encoding_detail: str = ""

    @property
    def data_quality(self) -> str:
        """E.g. ``lossy JPEG copy (quality 75, chroma subsampled 4:2:0) — absolute errors are not
        comparable with the papers'`` (what :func:`ecg_lib.train.run_info` prints as ``data_quality``)."""
        return quality_note(self.lossy, self.file_format, self.jpeg_quality, self.chroma_subsampling,
                            self.encoding_detail)  # fmt: skip

    def encoding(self) -> Encoding:
        return Encoding(self.lossy, self.file_format, self.jpeg_quality, self.chroma_subsampling,
                        self.encoding_detail)  # fmt: skip

    @property
    def n_train(self) -> int:
        return int(self.train_y.numel())

    @property
    def n_test(self) -> int:
        return int(self.test_y.numel())

    def subset(
        self, n_train_per_class: int | None = None, n_test_per_class: int | None = None, *, seed: int = 0
    ) -> CIFAR10Data:
        """A class-balanced subset: ``n_*_per_class`` images of every class (``None`` keeps the split).

        The choice is seeded and nested: with one seed, the 100-per-class subset is contained in the
        200-per-class one, so "more data" experiments only ever add images.
        """
        for what, n in (("n_train_per_class", n_train_per_class), ("n_test_per_class", n_test_per_class)):
            if n is not None and (isinstance(n, bool) or not hasattr(n, "__index__") or n < 1):
                # 1.5 or NaN images per class would fail deep inside indexing; say what is wrong instead
                raise ValueError(f"{what} must be a positive integer or None (got {n!r}).")
        train_x, train_y, test_x, test_y = self.train_x, self.train_y, self.test_x, self.test_y
        parts = []
        if n_train_per_class is not None:
            idx = class_balanced_indices(train_y, n_train_per_class, seed=seed)
            train_x, train_y = train_x[idx], train_y[idx]
            parts.append(f"{n_train_per_class}/class train")
        if n_test_per_class is not None:
            idx = class_balanced_indices(test_y, n_test_per_class, seed=seed)
            test_x, test_y = test_x[idx], test_y[idx]
            parts.append(f"{n_test_per_class}/class test")
        note = f" [subset {', '.join(parts)}, seed {seed}]" if parts else ""
        return replace(self, train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y,
                       source=self.source + note)  # fmt: skip

    def validation_split(self, n_val_per_class: int = 500, *, seed: int = 0) -> CIFAR10Data:
        """Hold out ``n_val_per_class`` training images per class as the evaluation set.

        The default gives the 45k/5k train/validation split of He et al. (2016), Sec. 4.2. The result's
        ``test_x``/``test_y`` are the validation images; the real test set is not touched.
        """
        val = class_balanced_indices(self.train_y, n_val_per_class, seed=seed)
        keep = torch.ones(self.n_train, dtype=torch.bool)
        keep[val] = False
        note = f" [validation split: {int(keep.sum())} train / {val.numel()} val, seed {seed}]"
        return replace(
            self, train_x=self.train_x[keep], train_y=self.train_y[keep],
            test_x=self.train_x[val], test_y=self.train_y[val], source=self.source + note,
        )  # fmt: skip

    def describe(self) -> str:
        return f"CIFAR-10, {self.n_train} train / {self.n_test} test images, from {self.source}"


def class_balanced_indices(labels: Tensor, n_per_class: int, *, seed: int = 0) -> Tensor:
    """Sorted indices of ``n_per_class`` examples of every class present in ``labels``, chosen at random
    with ``seed``. Each class uses one fixed permutation, so smaller subsets are prefixes of larger ones."""
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be at least 1 (got {n_per_class}).")
    gen = torch.Generator().manual_seed(seed)
    chosen = []
    for c in torch.unique(labels).tolist():
        members = torch.nonzero(labels == c).flatten()
        if members.numel() < n_per_class:
            raise ValueError(
                f"class {c} has only {members.numel()} examples; cannot take {n_per_class} per class."
            )
        chosen.append(members[torch.randperm(members.numel(), generator=gen)[:n_per_class]])
    return torch.sort(torch.cat(chosen)).values


def mean_image(x: Tensor) -> Tensor:
    """The mean training image (``3 x H x W``, float32, [0, 1] units).

    AlexNet's only preprocessing: "subtracting the mean activity over the training set from each pixel"
    (Krizhevsky et al., 2012, Sec. 2)."""
    _check_images(x)
    # A chunk's float32 sum of integers is exact (2048 x 255 < 2**24) and the float copy stays small;
    # measured several times faster than one int64 reduction over the batch dimension.
    total = torch.zeros(x.shape[1:], dtype=torch.float64)
    for start in range(0, x.shape[0], 2048):
        total += x[start : start + 2048].to("cpu", torch.float32).sum(0)
    return (total / (255.0 * x.shape[0])).float()


def channel_stats(x: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and standard deviation over all pixels (two float32 tensors of 3, [0, 1] units).

    Computed exactly from a 256-bin histogram per channel (cheaper than converting every pixel to float)."""
    _check_images(x)
    values = torch.arange(256, dtype=torch.float64)
    means, stds = [], []
    for c in range(x.shape[1]):
        hist = torch.bincount(x[:, c].reshape(-1).cpu(), minlength=256).double()
        n = hist.sum()
        mean = (hist * values).sum() / n
        var = (hist * values * values).sum() / n - mean**2
        means.append(mean / 255.0)
        stds.append(var.clamp_min(0).sqrt() / 255.0)
    return torch.stack(means).float(), torch.stack(stds).float()


def _check_images(x: Tensor) -> None:
    if x.dtype != torch.uint8 or x.dim() != 4:
        raise ValueError(f"expected uint8 images N x C x H x W, got {x.dtype} with shape {tuple(x.shape)}.")


@dataclass
class Normalizer:
    """uint8 images -> float32 network input: ``(x / 255 - mean) / std``.

    ``mode`` is ``"channel"`` (per-channel mean and std, the usual CIFAR preprocessing), ``"mean_image"``
    (subtract the mean image, no scaling; AlexNet) or ``"none"`` (only ``x / 255``). Statistics come
    from the training images and are applied unchanged to test images.
    """

    mode: str
    mean: Tensor  # 3 x 1 x 1 or 3 x H x W, [0, 1] units
    std: Tensor  # same broadcastable shape; ones for "mean_image" and "none"

    MODES = ("channel", "mean_image", "none")

    @classmethod
    def from_images(cls, x: Tensor, mode: str | None) -> Normalizer:
        mode = "none" if mode is None else mode
        if mode == "channel":
            mean, std = channel_stats(x)
            return cls(mode, mean.view(3, 1, 1), std.clamp_min(1e-6).view(3, 1, 1))
        if mode == "mean_image":
            return cls(mode, mean_image(x), torch.ones(3, 1, 1))
        if mode == "none":
            return cls(mode, torch.zeros(3, 1, 1), torch.ones(3, 1, 1))
        raise ValueError(f"normalize must be one of {cls.MODES} or None (got {mode!r}).")

    def __call__(self, x: Tensor) -> Tensor:
        """Normalize a uint8 batch (on any device) to float32."""
        if x.dtype != torch.uint8:
            raise ValueError(f"Normalizer expects uint8 images, got {x.dtype}.")
        scale = (1.0 / (255.0 * self.std)).to(x.device)
        shift = (-self.mean / self.std).to(x.device)
        return torch.addcmul(shift, x.float(), scale)  # one fused pass instead of three

    def to_dict(self) -> dict:
        return {"mode": self.mode, "mean_shape": list(self.mean.shape), "mean": self.mean.flatten().tolist(),
                "std_shape": list(self.std.shape), "std": self.std.flatten().tolist()}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> Normalizer:
        def tensor(key: str) -> Tensor:
            return torch.tensor(d[key], dtype=torch.float32).view(tuple(d[f"{key}_shape"]))

        return cls(d["mode"], tensor("mean"), tensor("std"))


# ----------------------------------------------------------------------------------------------------------
# Finding, decoding, validating and caching


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
        _remove_orphans(cache)
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
        cached = _newest_cache(cache)
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
    parts = [str(source.resolve()), str(_CACHE_VERSION)]
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
    cache_file = cache / f"cifar10-{kind}-{_fingerprint(source)}-v{_CACHE_VERSION}.json" if cache else None
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
            _write_cache(cache_file, data, {"source": data.source, "decode_s": decode_s})
            note += f", cached in {cache_file.parent}"
            _remove_superseded(cache_file, data.source)
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


# A cache entry is two files: <name>.npy with all 60,000 images (train, then test; np.load reads it in
# about 0.1 s) and <name>.json with the labels and the source. Each is written to a temporary file and
# renamed; the .json goes last, so an entry without it is incomplete and never read.


def _checksum(images: np.ndarray, train_y: np.ndarray, test_y: np.ndarray) -> str:
    """CRC-32 of pixels and labels: ~0.1 s for 180 MB (SHA-1 took 2-3x longer), and it is there to catch
    edits and damage, not forgery. Swapped labels and zeroed pixels both change it."""
    crc = zlib.crc32(np.ascontiguousarray(images).data)
    for y in (train_y, test_y):
        crc = zlib.crc32(np.ascontiguousarray(y, dtype=np.int64).data, crc)
    return f"crc32:{crc:08x}"


def _write_cache(file: Path, data: CIFAR10Data, meta: dict) -> None:
    """Write atomically: a crash or a full disk leaves nothing readable under the final names."""
    file.parent.mkdir(parents=True, exist_ok=True)
    images = torch.cat([data.train_x, data.test_x]).numpy()
    # the encoding (lossy or not, JPEG quality) travels with the pixels: a cache hit must not lose it
    meta = {**data.encoding().to_dict(), **meta, "n_train": data.n_train, "classes": list(data.classes),
            "train_y": data.train_y.tolist(), "test_y": data.test_y.tolist(),
            "checksum": _checksum(images, data.train_y.numpy(), data.test_y.numpy())}  # fmt: skip
    npy = file.with_suffix(".npy")
    atomic_write(npy, lambda f: np.save(f, images))
    try:
        atomic_write(file.with_suffix(".json"), lambda f: f.write(json.dumps(meta).encode()))
    except BaseException:  # Ctrl-C between the two files: no 180 MB array without its .json
        npy.unlink(missing_ok=True)
        raise


# A temporary file untouched for this long belongs to a killed write (a live one is written within seconds).
_ORPHAN_AGE_S = 600.0


def _remove_orphans(cache: Path) -> None:
    """Delete the ``.tmp`` files a killed cache write (``kill -9``, power loss) left behind: atomic writes
    remove their own on any exception, but not after SIGKILL. Fresh ones may be another process's write."""
    if not cache.is_dir():
        return
    now = time.time()
    for tmp in cache.glob("cifar10-*.tmp"):
        try:
            if now - tmp.stat().st_mtime > _ORPHAN_AGE_S:
                tmp.unlink()
        except OSError:  # gone meanwhile, or not ours to delete: harmless either way
            pass


def _remove_superseded(current: Path, source: str) -> None:
    """Delete the cache entries of ``source`` other than ``current``: decoded before the source changed,
    they can never be hit again (their key names files as they were), and each holds 180 MB."""
    for other in current.parent.glob(f"cifar10-*-v{_CACHE_VERSION}.json"):
        if other == current:
            continue
        try:
            if json.loads(other.read_text()).get("source") != source:
                continue
            other.with_suffix(".npy").unlink(missing_ok=True)
            other.unlink(missing_ok=True)
        except (OSError, ValueError, AttributeError):  # unreadable or not ours: leave it
            continue


def _read_cache(file: Path) -> CIFAR10Data:
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
    found = _checksum(images.numpy(), arrays["train_y"], arrays["test_y"])
    if found != expected:
        raise DataError(f"The cached copy {file.with_suffix('.npy')} fails its checksum (recorded "
                        f"{expected}, found {found}): it was edited or damaged; delete the cache entry (it "
                        "and its .json) and load again.")  # fmt: skip
    load_s = time.perf_counter() - t0
    origin = meta.get("source", "unknown source")
    if "lossy" in meta:
        arrays["encoding"] = Encoding(meta["lossy"], meta.get("file_format"), meta.get("jpeg_quality"),
                                      meta.get("chroma_subsampling"), meta.get("detail", ""))  # fmt: skip
    return _to_data(arrays, f"{origin} (decoded cache {file.with_suffix('.npy')}, read in {load_s:.2f} s)")


def _newest_cache(cache: Path) -> Path | None:
    """The cache file to use when no source is named: the original batches if cached, else the newest."""
    if not cache.is_dir():
        return None
    # the .json is written last: its presence marks a complete entry
    files = [f for f in cache.glob(f"cifar10-*-v{_CACHE_VERSION}.json") if f.with_suffix(".npy").is_file()]
    if not files:
        return None
    files.sort(key=lambda f: (f.name.startswith("cifar10-batches-"), f.stat().st_mtime), reverse=True)
    return files[0]


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
