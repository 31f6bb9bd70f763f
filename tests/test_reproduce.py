"""The `reproduce` runner (ecg_lib/reproduce.py): surviving long background runs (issue 13, item 3).

A two-network experiment, killed in its second network, run again: the finished fit is read back from
its checkpoint, the interrupted one continues from its last epoch, and the archive equals that of an
uninterrupted run. Archived experiments are skipped unless --overwrite; --threads and --log work.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from ecg_lib import results
from ecg_lib.cli import main
from ecg_lib.experiments import ExperimentResult, comparison, without_data
from ecg_lib.reproduce import MAX_STEP_POINTS, pool_steps
from ecg_lib.results import validate_history
from ecg_lib.train import History, RunContext, TrainConfig, fit, run_info


def tiny_cnn(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(32, 10))  # fmt: skip


@pytest.fixture
def two_nets(cifar10, monkeypatch):
    """Registers comparison/two_nets: fits two tiny nets of 3 epochs each; ``control["kill"] = (net,
    epoch)`` raises KeyboardInterrupt at the end of that epoch (before its checkpoint), as a kill would."""
    subset = cifar10.subset(10, 5, seed=0)
    control: dict = {"kill": None, "threads": None}

    @without_data  # it trains on its own subset: reproduce loads none for it
    def two_nets(data: None = None, *, profile: str, settings: None = None,
                 context: RunContext | None = None) -> ExperimentResult:
        control["threads"] = torch.get_num_threads()
        result = ExperimentResult("two_nets", profile)
        for net in (0, 1):
            def kill(epoch, model, history, net=net):
                if control["kill"] == (net, epoch):
                    raise KeyboardInterrupt
            cfg = TrainConfig(epochs=3, batch_size=25, lr=0.05, seed=net, quiet=True)
            result.histories[f"net{net}"] = fit(tiny_cnn(net), subset, cfg, on_epoch_end=kill,
                                                profile=profile, context=context)  # fmt: skip
        result.run_info = run_info(subset, profile=profile)
        return result

    monkeypatch.setitem(comparison.EXPERIMENTS, "two_nets", two_nets)
    return control


def run(tmp_path: Path, *extra: str) -> int:
    return main(["reproduce", "comparison", "--profile", "standard", "--experiments", "two_nets",
                 "--out", str(tmp_path / "out"), "--state", str(tmp_path / "state"), *extra])  # fmt: skip


def test_a_killed_run_resumes_and_ends_as_an_uninterrupted_one(two_nets, tmp_path, capsys):
    threads = torch.get_num_threads()
    two_nets["kill"] = (1, 1)  # in the second net's second epoch
    try:
        assert run(tmp_path, "--threads", "1", "--log", str(tmp_path / "log.txt")) == 130
        assert two_nets["threads"] == 1
    finally:
        torch.set_num_threads(threads)
    err = capsys.readouterr().err
    assert "run the same command again to continue it" in err
    archive = results.archive_path("comparison", "two_nets", tmp_path / "out", profile="standard")
    assert not archive.exists()
    state = tmp_path / "state" / "standard" / "comparison" / "two_nets"
    assert len(list(state.glob("*.pt"))) == 2  # the finished net and the interrupted one

    two_nets["kill"] = None
    # every run on one thread: on some CPUs (this AVX2 EPYC) one and two threads round differently, and
    # the test is about resuming, not about thread counts
    try:
        assert run(tmp_path, "--threads", "1", "--log", str(tmp_path / "log.txt")) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "finished in its checkpoint, not retrained" in out  # net0
    lines = [line for line in out.splitlines() if "comparison/two_nets" in line and "epoch" in line]
    assert [line.split(" epoch ")[1][:3] for line in lines] == ["3/3", "2/3", "3/3"]  # net1 went on from 1
    assert "ETA" in lines[-1] and "[" in lines[-1]
    assert not state.exists()  # archived: its checkpoints are gone
    log = (tmp_path / "log.txt").read_text()
    assert log.count("comparison/two_nets") >= 5  # both runs' progress lines, appended
    resumed = results.load_archive(archive, profiles=("standard",))
    assert resumed.run_info["command"].endswith("--profile standard --experiments two_nets")
    assert resumed.run_info["seeds"] == [0, 1] and resumed.run_info["cpu"]
    assert resumed.histories["net1"].info["resumed_from_epoch"] == 1

    # an uninterrupted run, elsewhere: the same numbers
    fresh = tmp_path / "fresh"
    try:
        assert main(["reproduce", "comparison", "--profile", "standard", "--experiments", "two_nets",
                     "--out", str(fresh / "out"), "--state", str(fresh / "state"), "--threads", "1"]) == 0
    finally:
        torch.set_num_threads(threads)
    clean = results.find_archive("comparison", "two_nets", fresh / "out")
    for name in ("net0", "net1"):
        assert resumed.histories[name].train_loss == clean.histories[name].train_loss
        assert resumed.histories[name].test_error == clean.histories[name].test_error

    # archived: skipped unless --overwrite, and never silently rewritten
    stamp = archive.stat().st_mtime_ns
    assert run(tmp_path) == 0
    assert "archive exists, skipped" in capsys.readouterr().out and archive.stat().st_mtime_ns == stamp
    assert run(tmp_path, "--overwrite") == 0
    assert archive.stat().st_mtime_ns != stamp


def test_bad_thread_count_is_refused(capsys):
    assert main(["reproduce", "comparison", "--profile", "standard", "--threads", "0"]) == 2
    assert "--threads must be at least 1" in capsys.readouterr().err


def test_pool_steps_keeps_archives_small_and_valid():
    spe, epochs = 1000, 3
    h = History(config={}, steps_per_epoch=spe, stopped="completed")
    h.train_loss = [float(i) for i in range(spe * epochs)]
    h.train_error = [0.5] * (spe * epochs)
    h.lr = [0.1] * (spe * epochs)
    h.epoch_train_loss = [1.0] * epochs
    h.epoch_train_error = [0.5] * epochs
    h.test_loss, h.test_error = [None] * epochs, [None] * epochs
    h.train_time_s = h.wall_time_s = [1.0, 2.0, 3.0]
    h.images_per_s = [10.0] * epochs
    pool_steps(h)
    assert len(h.train_loss) <= MAX_STEP_POINTS and h.extra["steps_pooled"] == 2
    assert h.steps_per_epoch == 500 and h.extra["steps_per_epoch_trained"] == spe
    assert h.train_loss[:2] == [0.5, 2.5]  # means of steps (0, 1) and (2, 3)
    assert h.epoch_train_loss == [1.0] * epochs
    validate_history(json.loads(json.dumps(h.to_dict())))
    short = History(config={}, steps_per_epoch=10, train_loss=[1.0] * 10, train_error=[0.1] * 10,
                    lr=[0.1] * 10, epoch_train_loss=[1.0], epoch_train_error=[0.1])  # fmt: skip
    assert pool_steps(short).train_loss == [1.0] * 10 and "steps_pooled" not in short.extra


def test_a_copy_without_git_history_is_labelled_from_the_environment(two_nets, tmp_path, monkeypatch):
    # A GPU machine receives a copy of the working tree whose git folder may be missing or stale: the
    # launcher passes the commit and a note on how the run shared the device, and both reach the label.
    from ecg_lib import reproduce

    def label() -> dict:
        assert run(tmp_path, "--overwrite") == 0
        return results.find_archive("comparison", "two_nets", tmp_path / "out", profile="standard").run_info

    monkeypatch.setenv(reproduce.COMMIT_ENV, "0123abc")
    monkeypatch.setenv(reproduce.NOTE_ENV, "shared one GPU with 4 other experiments")
    info = label()  # in this repository: the variable wins over its HEAD
    assert info["git_commit"] == "0123abc"
    assert info["note"] == "shared one GPU with 4 other experiments"

    monkeypatch.setattr(reproduce, "_REPO", tmp_path)  # no repository there: `git rev-parse` fails
    assert label()["git_commit"] == "0123abc"
    monkeypatch.delenv(reproduce.COMMIT_ENV)
    monkeypatch.delenv(reproduce.NOTE_ENV)
    info = label()
    assert info["git_commit"] is None and "note" not in info


def test_archived_times_are_this_experiments_own(two_nets, tmp_path):
    """``fit_time_s`` once summed every fit of the process (race_seed2: 3,262.6 s of fitting in a
    1,630.4 s run) and ``elapsed_s`` counted from the library's import: an archive now records the seconds
    its own fits took, never more than its wall time, and no process-wide clock."""
    assert run(tmp_path, "--overwrite") == 0
    assert run(tmp_path, "--overwrite") == 0  # a second run in the same process counts only its own fits
    result = results.find_archive("comparison", "two_nets", tmp_path / "out", profile="standard")
    info = result.run_info
    own = sum(h.wall_time_s[-1] for h in result.histories.values())
    assert info["fit_time_s"] == pytest.approx(own, abs=0.11)
    assert 0 < info["fit_time_s"] <= info["wall_time_s"] and "elapsed_s" not in info
