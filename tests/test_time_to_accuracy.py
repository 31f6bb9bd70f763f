"""The benchmark that chose the fast recipe, and its held-out re-validation (issue 23, item 6)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from ecg_lib.dataset import class_balanced_indices
from ecg_lib.train.config import recipe_fields

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    path = ROOT / "benchmarks" / "time_to_accuracy.py"
    spec = importlib.util.spec_from_file_location("time_to_accuracy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_candidates_are_the_fast_recipe_with_one_change():
    bench = _bench()
    fast = bench.variant_config("fast", 2, 0)
    assert (fast.lr, fast.nesterov, fast.schedule, fast.augment) == (0.2, True, "warmup_linear", False)
    assert fast.label_smoothing == 0.0
    augment = bench.variant_config("fast_augment", 2, 0)
    assert augment.augment is True and augment.replace(augment=False) == fast
    smooth = bench.variant_config("fast_smooth", 2, 0)
    assert smooth.label_smoothing == 0.1 and smooth.replace(label_smoothing=0.0) == fast
    paper = bench.variant_config("paper", 2, 0)
    assert paper == paper.replace(**recipe_fields("paper", paper))
    assert paper.augment is True and paper.lr == 0.1
    with pytest.raises(ValueError, match="fast_augment"):
        bench.variant_config("fastest", 2, 0)


def test_holdout_scores_on_training_images_not_the_test_set(cifar10, tmp_path, monkeypatch):
    bench = _bench()
    seen = []
    real_split = type(cifar10).validation_split

    def spy(self, *args, **kwargs):
        out = real_split(self, *args, **kwargs)
        seen.append(out)
        return out

    monkeypatch.setattr(bench, "load_cifar10", lambda: cifar10)
    monkeypatch.setattr(type(cifar10), "validation_split", spy)
    out = tmp_path / "report.json"
    assert bench.main(["--holdout", "--subset", "2", "--epochs", "1", "--seeds", "0", "--recipes", "fast",
                       "--threads", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["holdout"] is True and report["scored_on"].endswith("held-out training images")
    assert "validation split: 45000 train / 5000 val" in report["run_info"]["data"]
    # the images scored are the 5,000 training images held out, not test images
    held = class_balanced_indices(cifar10.train_y, 500, seed=0)
    assert torch.equal(seen[0].test_x, cifar10.train_x[held])
    assert "held-out accuracy" in bench.markdown(report)
