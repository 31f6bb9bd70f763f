"""CIFAR-10 in memory: :class:`CIFAR10Data` (images, labels, where they came from and what the files
are) with its class-balanced subsets and validation split. Loading is :func:`ecg_lib.data.load_cifar10`'s;
the statistics and input normalisation are in :mod:`ecg_lib.normalize`."""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import Tensor

from ecg_lib.cifar_files import CIFAR10_CLASSES
from ecg_lib.image_quality import Encoding, quality_note

__all__ = ["CIFAR10Data", "class_balanced_indices"]


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
