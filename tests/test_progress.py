"""Progress of long runs: a line per epoch where a redrawn bar would not read (a log file, CI), and per-epoch
lines in a chapter's standard and full profiles (the quick profile stays quiet in the built book)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecg_lib import train
from ecg_lib.chapters import common
from ecg_lib.models import get_model

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny(cifar10):
    return cifar10.subset(4, 2, seed=0)


def test_train_to_a_log_file_writes_one_line_per_epoch(tmp_path: Path) -> None:
    # stderr is a file here, not a terminal: `train ... 2> log` must not fill it with bar redraws
    log = tmp_path / "log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("w") as err:
        done = subprocess.run(
            [sys.executable, "-m", "ecg_lib", "train", "alexnet_cifar", "--epochs", "2", "--subset", "40",
             "--test-subset", "20", "--batch-size", "20", "--device", "cpu"],
            stdout=subprocess.PIPE, stderr=err, text=True, timeout=300, env=env, check=False,
        )  # fmt: skip
    text = log.read_text()
    assert done.returncode == 0, text
    assert "\r" not in text
    lines = [line for line in text.splitlines() if " epoch " in line]
    assert [line.split(" epoch ")[1][:3] for line in lines] == ["1/2", "2/2"], text
    assert all("alexnet_cifar" in line and "test error" in line for line in lines), text
    assert len(text) < 1000


def test_a_context_progress_callback_sees_its_fits_and_only_those(tiny) -> None:
    events: list[dict] = []
    ended: list[train.History] = []
    context = train.RunContext(progress=events.append, on_fit_end=ended.append)
    config = train.TrainConfig(epochs=2, batch_size=20, quiet=True, device="cpu")
    h = train.fit(get_model("alexnet_cifar"), tiny, config, context=context)
    assert [e["epoch"] for e in events] == [1, 2] and ended == [h]
    assert 0 < h.info["fit_time_s"] and h.wall_time_s[-1] <= h.info["fit_time_s"]
    # no context: nothing is reported, and nothing lingers from the call before (no global default)
    train.fit(get_model("alexnet_cifar"), tiny, config)
    assert len(events) == 2 and len(ended) == 1


@pytest.mark.parametrize(("profile", "lines"), [("quick", 0), ("standard", 2), ("full", 2)])
def test_a_chapter_reports_epochs_outside_the_quick_profile(tiny, capsys, profile: str, lines: int) -> None:
    run = common.start_chapter("nin", profile)
    config = train.TrainConfig(epochs=2, batch_size=20, quiet=True, device="cpu")
    h = train.fit(get_model("alexnet_cifar"), tiny, config, context=run.context)
    out = [line for line in capsys.readouterr().out.splitlines() if " epoch " in line]
    assert len(out) == lines
    if lines:
        assert out[0].startswith("[nin] AlexNetCifar epoch 1/2 · ") and "s/epoch" in out[0]
    # the chapter's footer counts the fits made with its context, this one only
    assert run.fit_time_s == h.info["fit_time_s"] > 0
    train.fit(get_model("alexnet_cifar"), tiny, config)
    assert run.fit_time_s == h.info["fit_time_s"]
