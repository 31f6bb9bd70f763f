"""ecg_lib.data: the real CIFAR-10, its validation, subsets, statistics, the batched augmentation and the
device-resident loader, and the errors for missing or broken data."""

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ecg_lib.data import (
    CIFAR10_CLASSES,
    CIFAR10Data,
    DataError,
    Normalizer,
    _read_cache,  # the cache format itself is tested too
    channel_stats,
    class_balanced_indices,
    load_cifar10,
    mean_image,
)
from ecg_lib.data_cache import CACHE_VERSION, write_cache
from ecg_lib.loader import DeviceLoader, random_crop_flip

ARCHIVE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cifar10-jpeg.tar.gz"


def synthetic(n_train_per_class: int = 20, n_test_per_class: int = 5) -> CIFAR10Data:
    """A small dataset whose image i is filled with a unique id, so indices can be read back from pixels."""

    def split(n: int, offset: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(10).repeat_interleave(n)
        ids = torch.arange(offset, offset + y.numel())
        x = torch.stack([(ids // 256) % 256, ids % 256, torch.full_like(ids, 7)], 1)
        return x.view(-1, 3, 1, 1).expand(-1, 3, 32, 32).to(torch.uint8).contiguous(), y

    return CIFAR10Data(*split(n_train_per_class, 0), *split(n_test_per_class, 10_000), source="synthetic")


def ids_of(x: torch.Tensor) -> list[int]:
    return (x[:, 0, 0, 0].long() * 256 + x[:, 1, 0, 0].long()).tolist()


# ---------------------------------------------------------------------------------------------- real data


def test_real_cifar10_is_complete(cifar10):
    assert cifar10.train_x.shape == (50_000, 3, 32, 32) and cifar10.train_x.dtype == torch.uint8
    assert cifar10.test_x.shape == (10_000, 3, 32, 32) and cifar10.test_x.dtype == torch.uint8
    assert cifar10.train_y.dtype == torch.int64
    assert torch.bincount(cifar10.train_y).tolist() == [5000] * 10
    assert torch.bincount(cifar10.test_y).tolist() == [1000] * 10
    assert cifar10.classes == CIFAR10_CLASSES
    assert cifar10.source  # says where it came from


def test_real_cifar10_statistics(cifar10):
    # The widely used CIFAR-10 training-set statistics are mean (0.4914, 0.4822, 0.4465) and std
    # (0.2470, 0.2435, 0.2616); the JPEG copy smooths a little, which lowers the std by up to 0.002.
    mean, std = channel_stats(cifar10.train_x)
    assert mean.tolist() == pytest.approx([0.4914, 0.4822, 0.4465], abs=0.002)
    assert std.tolist() == pytest.approx([0.2470, 0.2435, 0.2616], abs=0.003)
    img = mean_image(cifar10.train_x)
    assert img.shape == (3, 32, 32)
    assert img.mean((1, 2)).tolist() == pytest.approx(mean.tolist(), abs=1e-5)
    # the mean image is not flat: object-centred photos are brighter/different at the centre than corners
    assert float(img.std()) > 0.01


def test_normalizer_channel_gives_zero_mean_unit_std(cifar10):
    norm = Normalizer.from_images(cifar10.train_x, "channel")
    x = norm(cifar10.subset(500).train_x)  # a balanced sample: the data are sorted by class
    assert x.dtype == torch.float32
    assert x.mean((0, 2, 3)).abs().max() < 0.02
    assert (x.std((0, 2, 3)) - 1).abs().max() < 0.02
    sample = cifar10.subset(100).train_x
    mi = Normalizer.from_images(sample, "mean_image")
    assert float(mi(sample).mean()) == pytest.approx(0.0, abs=1e-4)
    back = Normalizer.from_dict(mi.to_dict())
    assert torch.equal(back.mean, mi.mean) and torch.equal(back(cifar10.test_x[:3]), mi(cifar10.test_x[:3]))
    with pytest.raises(ValueError, match="normalize must be one of"):
        Normalizer.from_images(cifar10.train_x[:10], "zca")


def test_real_subset_is_class_balanced(cifar10):
    sub = cifar10.subset(100, 20, seed=3)
    assert sub.n_train == 1000 and sub.n_test == 200
    assert torch.bincount(sub.train_y).tolist() == [100] * 10
    assert torch.bincount(sub.test_y).tolist() == [20] * 10
    assert "subset" in sub.source


def test_real_validation_split_is_45k_5k(cifar10):
    split = cifar10.validation_split()
    assert (split.n_train, split.n_test) == (45_000, 5_000)
    assert torch.bincount(split.train_y).tolist() == [4500] * 10
    assert torch.bincount(split.test_y).tolist() == [500] * 10


# ---------------------------------------------------------------------------------------------- subsets


def test_subset_is_seeded_nested_and_balanced():
    data = synthetic(20, 5)
    a, b = data.subset(5, seed=1), data.subset(5, seed=1)
    assert torch.equal(a.train_x, b.train_x)
    assert torch.bincount(a.train_y).tolist() == [5] * 10
    assert data.n_test == a.n_test == 50  # test split untouched when not asked
    other = data.subset(5, seed=2)
    assert ids_of(other.train_x) != ids_of(a.train_x)
    bigger = data.subset(10, seed=1)
    assert set(ids_of(a.train_x)) < set(ids_of(bigger.train_x))
    with pytest.raises(ValueError, match="only 20 examples"):
        data.subset(21)
    with pytest.raises(ValueError, match="at least 1"):
        class_balanced_indices(data.train_y, 0)


def test_validation_split_is_disjoint_and_leaves_test_alone():
    data = synthetic(20, 5)
    split = data.validation_split(4, seed=0)
    train_ids, val_ids = set(ids_of(split.train_x)), set(ids_of(split.test_x))
    assert len(train_ids) == 160 and len(val_ids) == 40 and not train_ids & val_ids
    assert train_ids | val_ids == set(ids_of(data.train_x))
    assert torch.bincount(split.test_y).tolist() == [4] * 10
    assert min(val_ids) < 10_000  # validation images come from the training split


# ---------------------------------------------------------------------------------------------- augmentation


def test_random_crop_flip_is_a_window_of_the_padded_image():
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(1, 256, (400, 3, 32, 32), dtype=torch.uint8)  # no zeros: padding is recognisable
    out = random_crop_flip(x, gen, pad=4)
    assert out.shape == x.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    seen_offsets, flips = set(), 0
    for i in range(x.shape[0]):
        found = None
        for oy in range(9):
            for ox in range(9):
                window = padded[i, :, oy : oy + 32, ox : ox + 32]
                if torch.equal(out[i], window):
                    found = (oy, ox, False)
                elif torch.equal(out[i], window.flip(2)):
                    found = (oy, ox, True)
                if found:
                    break
            if found:
                break
        assert found is not None, f"image {i} is not a (flipped) 32x32 window of the padded image"
        seen_offsets.add(found[:2])
        flips += found[2]
    assert len(seen_offsets) >= 75  # 81 offsets, 400 draws: nearly all appear (all do for this seed)
    assert 160 <= flips <= 240  # about half are mirrored
    # the same generator state gives the same batch
    assert torch.equal(random_crop_flip(x, torch.Generator().manual_seed(0)), out)


def test_loader_keeps_labels_under_augmentation():
    # every pixel of a class-k image is 10 + 20k: after crop/flip a pixel is either that value or padding
    y = torch.arange(10).repeat(30)
    x = (10 + 20 * y).view(-1, 1, 1, 1).expand(-1, 3, 32, 32).to(torch.uint8).contiguous()
    loader = DeviceLoader(x, y, 64, augment=True, seed=5)
    n = 0
    for xb, yb in loader:
        pixels = torch.round(xb * 255).long()
        expected = (10 + 20 * yb).view(-1, 1, 1, 1)
        assert torch.all((pixels == 0) | (pixels == expected))
        # a window shifted by at most 4 pixels keeps at least 28 x 28 of the image
        assert int((pixels != 0).sum((1, 2, 3)).min()) >= 3 * 28 * 28
        n += yb.numel()
    assert n == 300


def test_loader_epochs_are_permutations_reshuffled_and_seeded():
    data = synthetic(10, 1)
    loader = DeviceLoader(data.train_x, data.train_y, 32, augment=False, seed=1)
    assert len(loader) == 4  # 100 examples: 3 full batches and one of 4
    orders = []
    for epoch in range(3):
        loader.set_epoch(epoch)
        seen = [i for xb, _ in loader for i in ids_of(torch.round(xb * 255).to(torch.uint8))]
        assert sorted(seen) == list(range(100))
        orders.append(seen)
    assert orders[0] != orders[1] != orders[2]
    again = DeviceLoader(data.train_x, data.train_y, 32, augment=False, seed=1)
    again.set_epoch(1)
    assert [i for xb, _ in again for i in ids_of(torch.round(xb * 255).to(torch.uint8))] == orders[1]
    # labels travel with their images
    for xb, yb in loader:
        ids = torch.tensor(ids_of(torch.round(xb * 255).to(torch.uint8)))
        assert torch.equal(data.train_y[ids], yb)
    assert len(DeviceLoader(data.train_x, data.train_y, 32, drop_last=True)) == 3


def test_loader_shards_are_disjoint_and_cover_the_epoch():
    data = synthetic(10, 1)
    shards = [DeviceLoader(data.train_x, data.train_y, 8, rank=r, world_size=3, seed=4) for r in range(3)]
    idx = [s.indices(2) for s in shards]
    assert [i.numel() for i in idx] == [33, 33, 33]  # 100 // 3 each, same number of steps on every rank
    assert len(set(torch.cat(idx).tolist())) == 99
    assert len({len(s) for s in shards}) == 1
    with pytest.raises(ValueError, match="outside world_size"):
        DeviceLoader(data.train_x, data.train_y, 8, rank=3, world_size=3)


def test_loader_channels_last_and_normalization():
    data = synthetic(2, 1)
    norm = Normalizer.from_images(data.train_x, "channel")
    loader = DeviceLoader(data.train_x, data.train_y, 20, normalizer=norm, channels_last=True, augment=False)
    xb, _ = next(iter(loader))
    assert xb.is_contiguous(memory_format=torch.channels_last)
    assert xb.dtype == torch.float32


# ---------------------------------------------------------------------------------------------- errors


def test_missing_data_names_the_three_ways(tmp_path, monkeypatch):
    monkeypatch.delenv("ECG_DATA_DIR", raising=False)
    with pytest.raises(DataError) as info:
        load_cifar10(cache_dir=tmp_path / "cache", download=False, search_dirs=[tmp_path / "nothing"])
    msg = str(info.value)
    assert "three ways" in msg and "ECG_DATA_DIR" in msg and "torchvision" in msg and ".tar.gz" in msg
    assert str(tmp_path / "nothing") in msg


def test_explicit_path_without_data_is_an_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"(?s)No CIFAR-10 found at path=.*three ways"):
        load_cifar10(tmp_path / "empty", cache_dir=tmp_path / "cache")


@pytest.mark.skipif(not ARCHIVE.is_file(), reason="needs ../shared/data/cifar10-jpeg.tar.gz")
def test_truncated_archive_is_reported_and_not_cached(tmp_path):
    broken = tmp_path / "cifar10-jpeg.tar.gz"
    with ARCHIVE.open("rb") as f:
        broken.write_bytes(f.read(1_000_000))
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"(?s)truncated or corrupt.*three ways"):
        load_cifar10(broken, cache_dir=cache)
    assert not cache.exists() or not any(cache.iterdir())


def _fake_tree(root: Path, per_class: int) -> None:
    for split in ("train", "test"):
        for cls in CIFAR10_CLASSES:
            (root / split / cls).mkdir(parents=True)
            for i in range(per_class):
                Image.new("RGB", (32, 32), (i, 0, 0)).save(root / split / cls / f"{i:04d}.png")


def test_tree_with_wrong_counts_is_reported_and_not_cached(tmp_path):
    _fake_tree(tmp_path / "tree", 2)
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=r"(?s)expected 5000 images of each class.*three ways"):
        load_cifar10(tmp_path / "tree", cache_dir=cache)
    assert not cache.exists() or not any(cache.iterdir())
    # the same tree as an archive goes through the archive reader and fails the same way
    shutil.make_archive(str(tmp_path / "tree"), "gztar", tmp_path / "tree")
    with pytest.raises(DataError, match="expected 5000 images of each class"):
        load_cifar10(tmp_path / "tree.tar.gz", cache_dir=cache)


def test_unknown_class_folder_and_wrong_size_are_reported(tmp_path):
    _fake_tree(tmp_path / "tree", 1)
    (tmp_path / "tree" / "train" / "unicorn").mkdir()
    Image.new("RGB", (32, 32)).save(tmp_path / "tree" / "train" / "unicorn" / "0.png")
    with pytest.raises(DataError, match="unknown class folder 'train/unicorn'"):
        load_cifar10(tmp_path / "tree", use_cache=False)
    shutil.rmtree(tmp_path / "tree" / "train" / "unicorn")
    Image.new("RGB", (64, 32)).save(tmp_path / "tree" / "train" / "cat" / "big.png")
    with pytest.raises(DataError, match="64x32 pixels"):
        load_cifar10(tmp_path / "tree", use_cache=False)


def _write_batches(folder: Path, data: CIFAR10Data) -> None:
    folder.mkdir(parents=True)
    xs, ys = data.train_x.numpy().reshape(-1, 3072), data.train_y.tolist()
    for b in range(5):
        part = slice(b * len(ys) // 5, (b + 1) * len(ys) // 5)
        with (folder / f"data_batch_{b + 1}").open("wb") as f:
            pickle.dump({"data": xs[part], "labels": ys[part]}, f)
    with (folder / "test_batch").open("wb") as f:
        pickle.dump({"data": data.test_x.numpy().reshape(-1, 3072), "labels": data.test_y.tolist()}, f)


def test_torchvision_batches_folder_round_trip(tmp_path, cifar10):
    _write_batches(tmp_path / "cifar-10-batches-py", cifar10)
    loaded = load_cifar10(tmp_path, use_cache=False)
    assert "torchvision batches" in loaded.source
    assert torch.equal(loaded.train_x, cifar10.train_x) and torch.equal(loaded.test_y, cifar10.test_y)


def test_incomplete_batches_folder_is_reported(tmp_path):
    _write_batches(tmp_path / "cifar-10-batches-py", synthetic(3, 1))
    with pytest.raises(DataError, match="expected 5000 images of each class, found 3 of 'airplane'"):
        load_cifar10(tmp_path, use_cache=False)
    (tmp_path / "cifar-10-batches-py" / "test_batch").unlink()
    with pytest.raises(DataError, match="lacks test_batch"):
        load_cifar10(tmp_path, use_cache=False)


def test_cache_round_trip_is_exact_and_atomic(tmp_path, cifar10):
    file = tmp_path / "cifar10-test-v1.json"
    write_cache(file, cifar10, {"source": "unit test"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar10-test-v1.json", "cifar10-test-v1.npy"]
    back = _read_cache(file)
    assert torch.equal(back.train_x, cifar10.train_x) and torch.equal(back.test_x, cifar10.test_x)
    assert torch.equal(back.train_y, cifar10.train_y) and torch.equal(back.test_y, cifar10.test_y)
    assert back.source.startswith("unit test (decoded cache")
    # a damaged cache is reported with what to do about it
    file.with_suffix(".npy").write_bytes(b"not an array")
    with pytest.raises(DataError, match="delete it"):
        _read_cache(file)


def test_cache_is_found_without_a_path(tmp_path, monkeypatch, cifar10):
    monkeypatch.delenv("ECG_DATA_DIR", raising=False)
    write_cache(tmp_path / f"cifar10-archive-0-v{CACHE_VERSION}.json", cifar10, {"source": "cached"})
    data = load_cifar10(cache_dir=tmp_path, download=False, search_dirs=[])
    assert data.source.startswith("cached (decoded cache")
    assert np.array_equal(data.test_y.numpy(), cifar10.test_y.numpy())
