"""The data tells the truth about itself: load_cifar10 records whether its images are the original batches
or a lossy copy, and for JPEG the quality read from the quantisation tables; run_info prints it."""

import io
import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ecg_lib.cifar_files import _batches_to_arrays, _read_archive, _read_tree
from ecg_lib.data import CIFAR10_CLASSES, CIFAR10Data, _read_cache
from ecg_lib.data_cache import write_cache
from ecg_lib.image_quality import describe_images, jpeg_quality, libjpeg_table, quality_note
from ecg_lib.train import format_run_info, run_info


def _jpeg(quality: int, subsampling: int = 2, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=quality, subsampling=subsampling)
    return buf.getvalue()


def _tree(root: Path, per_class: int, **jpeg) -> None:
    for split in ("train", "test"):
        for c, cls in enumerate(CIFAR10_CLASSES):
            (root / split / cls).mkdir(parents=True)
            for i in range(per_class):
                (root / split / cls / f"{i:04d}.jpg").write_bytes(_jpeg(seed=c * 100 + i, **jpeg))


def test_quality_is_read_back_from_pils_tables_for_every_quality():
    for q in range(1, 101):
        with Image.open(io.BytesIO(_jpeg(q))) as im:
            table = im.quantization[0]
        found, exact = jpeg_quality(table)
        assert exact and libjpeg_table(found) == list(table)
        # saturated tables (all 1s near 100, all 255s near 1) can belong to several qualities
        assert found == q or libjpeg_table(q) == libjpeg_table(found)
    assert jpeg_quality(libjpeg_table(75)) == (75, True)


def test_non_standard_tables_give_the_nearest_quality_marked_inexact():
    table = libjpeg_table(75)
    table[5] += 3
    assert jpeg_quality(table) == (75, False)
    with pytest.raises(ValueError, match="64 entries"):
        jpeg_quality([1] * 10)


@pytest.mark.parametrize(
    "quality, subsampling, words", [(50, 2, "chroma subsampled 4:2:0"), (90, 0, "no chroma subsampling")]
)
def test_small_jpeg_trees_at_two_qualities(tmp_path, quality, subsampling, words):
    _tree(tmp_path / "tree", 2, quality=quality, subsampling=subsampling)
    enc = _read_tree(tmp_path / "tree", 1)["encoding"]
    assert (enc.lossy, enc.file_format, enc.jpeg_quality) == (True, "JPEG", quality)
    assert enc.chroma_subsampling == {2: "4:2:0", 0: "4:4:4"}[subsampling]
    note = quality_note(enc.lossy, enc.file_format, enc.jpeg_quality, enc.chroma_subsampling, enc.detail)
    assert f"lossy JPEG copy (quality {quality}, {words})" in note and "not comparable" in note
    # the same tree as an archive
    shutil.make_archive(str(tmp_path / "tree"), "gztar", tmp_path / "tree")
    assert _read_archive(tmp_path / "tree.tar.gz", 1)["encoding"] == enc


def test_mixed_qualities_are_reported_as_a_range():
    enc = describe_images([_jpeg(60), _jpeg(80), _jpeg(80)])
    assert enc.lossy and enc.jpeg_quality is None and "qualities 60-80" in enc.detail


def test_png_tree_and_batches_are_lossless(tmp_path):
    for split in ("train", "test"):
        for cls in CIFAR10_CLASSES:
            (tmp_path / split / cls).mkdir(parents=True)
            Image.new("RGB", (32, 32), (1, 2, 3)).save(tmp_path / split / cls / "0.png")
    enc = _read_tree(tmp_path, 1)["encoding"]
    assert (enc.lossy, enc.file_format) == (False, "PNG")
    blobs = {name: pickle.dumps({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1]})
             for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
                          "test_batch")}  # fmt: skip
    enc = _batches_to_arrays(blobs, "test")["encoding"]
    assert (enc.lossy, enc.file_format) == (False, "CIFAR-10 batches")
    assert "original CIFAR-10 batches (lossless)" in quality_note(enc.lossy, enc.file_format, None, None)


def test_data_built_in_code_says_not_recorded():
    x, y = torch.zeros(10, 3, 32, 32, dtype=torch.uint8), torch.arange(10)
    data = CIFAR10Data(x, y, x, y, source="code")
    assert data.data_quality.startswith("not recorded")
    assert run_info(data)["data_quality"].startswith("not recorded")


def test_shared_copy_is_quality_75_and_the_cache_keeps_it(cifar10, tmp_path):
    if "cifar10-jpeg" not in cifar10.source:
        pytest.skip(f"the data is {cifar10.source}, not the shared copy")
    assert (cifar10.lossy, cifar10.file_format, cifar10.jpeg_quality) == (True, "JPEG", 75)
    assert cifar10.chroma_subsampling == "4:2:0"
    # subsets and splits keep it; run_info prints it
    for d in (cifar10.subset(10, 10), cifar10.validation_split()):
        assert d.jpeg_quality == 75
    box = format_run_info(run_info(cifar10.subset(10, 10), profile="quick"))
    assert (
        "data_quality  lossy JPEG copy (quality 75, chroma subsampled 4:2:0) — absolute errors are not "
        "comparable with the papers'"
    ) in box
    # the cache's metadata carries the encoding; an entry without it reads as "not recorded"
    file = tmp_path / "cifar10-test-v1.json"
    write_cache(file, cifar10, {"source": "unit test"})
    back = _read_cache(file)
    assert back.encoding() == cifar10.encoding()
    # an entry written before the encoding was recorded
    meta = json.loads(file.read_text())
    for key in ("lossy", "file_format", "jpeg_quality", "chroma_subsampling", "detail"):
        del meta[key]
    file.write_text(json.dumps(meta))
    assert _read_cache(file).lossy is None
