"""Bad input and faults, as a hostile-but-fair user would try them (issue 17): every case ends in a clear
error naming the problem and the fix, never a traceback, and nothing of another run is overwritten.

CLI cases run `main()` in-process (exit code and stderr are what the user sees); one runs
`python -m ecg_lib` to prove that no traceback reaches the terminal. Training uses 100-200 images and one
epoch of tiny networks so the file stays a few seconds of CPU.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from ecg_lib import results
from ecg_lib.cli import main
from ecg_lib.data import DataError, Normalizer, load_cifar10
from ecg_lib.experiments import ExperimentResult
from ecg_lib.models import get_model
from ecg_lib.train import History, TrainConfig, fit, load_checkpoint

REPO = Path(__file__).resolve().parents[1]
TINY = ["--subset", "100", "--test-subset", "50", "--epochs", "1", "--batch-size", "50", "--quiet"]


def tiny_cnn(width: int = 8, classes: int = 10) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(width, classes))  # fmt: skip


def quiet(**kw) -> TrainConfig:
    return TrainConfig(quiet=True, **{"epochs": 1, "batch_size": 50, "lr": 0.05, **kw})


def train(*argv: str) -> int:
    return main(["train", *argv])


def clean_error(capsys, *needles: str) -> str:
    """The stderr of a refused command: an `error:` line naming each needle, no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err and "error" in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


# ------------------------------------------------------------------------------------- 1-2: resuming


@pytest.fixture(scope="module")
def resnet20_ckpt(tmp_path_factory) -> Path:
    """A finished one-epoch resnet20 checkpoint (subset 100) and its bytes, to prove it is left alone."""
    path = tmp_path_factory.mktemp("ckpt") / "resnet20.pt"
    assert train("resnet20", *TINY, "--checkpoint", str(path)) == 0
    return path


def _resume_is_refused(capsys, ckpt: Path, tmp_path: Path, argv: list[str], *needles: str) -> None:
    copy = tmp_path / "copy.pt"
    copy.write_bytes(ckpt.read_bytes())
    before = copy.read_bytes()
    assert train(*argv, "--resume", str(copy)) == 2
    clean_error(capsys, *needles)
    assert copy.read_bytes() == before  # the other run's checkpoint is untouched


def test_resume_into_another_model_is_refused(resnet20_ckpt, tmp_path, capsys):
    _resume_is_refused(capsys, resnet20_ckpt, tmp_path, ["plain20", *TINY], "model", "resnet20", "plain20")


def test_resume_with_other_options_is_refused(tmp_path, capsys):
    ckpt = tmp_path / "a.pt"
    assert train("alexnet_cifar", *TINY, "--checkpoint", str(ckpt)) == 0
    _resume_is_refused(capsys, ckpt, tmp_path, ["alexnet_cifar", *TINY, "--option", "activation=tanh"],
                       "options", "activation")  # fmt: skip


def test_resume_on_other_data_is_refused(resnet20_ckpt, tmp_path, capsys):
    argv = ["resnet20", *TINY, "--subset", "200"]
    _resume_is_refused(capsys, resnet20_ckpt, tmp_path, argv, "data", "10/class train", "20/class train")


def test_resume_with_another_length_is_refused(tmp_path, small):
    ckpt = tmp_path / "c.pt"
    fit(tiny_cnn(), small, quiet(epochs=3), checkpoint=ckpt)
    with pytest.raises(ValueError, match=r"epochs \(checkpoint 3, now 2\)"):
        fit(tiny_cnn(), small, quiet(epochs=2), checkpoint=ckpt, resume=ckpt)
    # the same length on a finished checkpoint is done: nothing more is trained
    h = fit(tiny_cnn(), small, quiet(epochs=3), checkpoint=ckpt, resume=ckpt)
    assert h.epochs_done == 3 and h.stopped == "completed" and h.config["epochs"] == 3


def test_a_length_free_schedule_may_be_extended_on_resuming(tmp_path, small):
    """Under a constant (or step) schedule the learning rates do not depend on the planned length, so a
    2-epoch run continued to 4 is exactly a 4-epoch run (AlexNet's Figure 1 race continues its sweep
    winner this way); never below the epochs done, and never under a schedule that spans the run."""
    ckpt = tmp_path / "c.pt"
    fit(tiny_cnn(), small, quiet(epochs=2, schedule="constant"), checkpoint=ckpt)
    model = tiny_cnn()
    h = fit(model, small, quiet(epochs=4, schedule="constant"), checkpoint=ckpt, resume=ckpt)
    whole = tiny_cnn()
    h_whole = fit(whole, small, quiet(epochs=4, schedule="constant"))
    assert h.epochs_done == 4 and h.train_loss == h_whole.train_loss
    for a, b in zip(model.state_dict().values(), whole.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match=r"epochs \(checkpoint 4, now 3\)"):
        fit(tiny_cnn(), small, quiet(epochs=3, schedule="constant"), resume=ckpt)  # below the 4 done
    cosine = tmp_path / "cos.pt"
    fit(tiny_cnn(), small, quiet(epochs=2), checkpoint=cosine)
    with pytest.raises(ValueError, match=r"epochs \(checkpoint 2, now 4\)"):
        fit(tiny_cnn(), small, quiet(epochs=4), resume=cosine)


def test_resume_with_a_shape_mismatched_model_is_a_clean_error(tmp_path, small):
    ckpt = tmp_path / "c.pt"
    fit(tiny_cnn(8), small, quiet(), checkpoint=ckpt)
    with pytest.raises(ValueError, match="architecture") as info:
        fit(tiny_cnn(16), small, quiet(), resume=ckpt)
    assert "size mismatch" not in str(info.value)


def test_a_truncated_checkpoint_is_a_clean_error(tmp_path, small, capsys):
    ckpt = tmp_path / "c.pt"
    fit(tiny_cnn(), small, quiet(), checkpoint=ckpt)
    ckpt.write_bytes(ckpt.read_bytes()[:500])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_checkpoint(ckpt)
    assert train("resnet20", *TINY, "--resume", str(ckpt)) == 2
    clean_error(capsys, "truncated or corrupt", str(ckpt))


def test_a_non_checkpoint_file_is_a_clean_error(tmp_path, capsys):
    bogus = tmp_path / "h.json"
    History().save(bogus)
    assert train("resnet20", *TINY, "--resume", str(bogus)) == 2
    clean_error(capsys, "not an ecg_lib checkpoint", str(bogus))


def test_a_mid_run_checkpoint_says_running(tmp_path, small):
    ckpt = tmp_path / "c.pt"
    seen = []

    def look(epoch, model, history):  # runs before its epoch's checkpoint: sees the previous epoch's
        if epoch == 1:
            seen.append(load_checkpoint(ckpt)["history"]["stopped"])

    h = fit(tiny_cnn(), small, quiet(epochs=2), checkpoint=ckpt, on_epoch_end=look)
    assert seen == ["running"]
    assert h.stopped == "completed" and load_checkpoint(ckpt)["history"]["stopped"] == "completed"


def test_checkpoints_record_what_was_trained(resnet20_ckpt):
    run = load_checkpoint(resnet20_ckpt)["run"]
    assert run["model_name"] == "resnet20" and run["model_options"] == {}
    assert run["epochs"] == 1 and run["data"]["n_train"] == 100 and run["data"]["n_test"] == 50
    assert "10/class train" in run["data"]["source"] and "seed 0" in run["data"]["source"]


# ------------------------------------------------------------------------------- 3-4: output paths


@pytest.mark.parametrize("kind", ["under a file", "a directory", "read-only"])
@pytest.mark.parametrize("flag", ["--out", "--checkpoint"])
def test_bad_output_paths_are_refused_before_training(kind, flag, tmp_path, capsys, monkeypatch):
    if kind == "under a file":
        (tmp_path / "f").write_text("x")
        path = tmp_path / "f" / "h.json"
    elif kind == "a directory":
        path = tmp_path
    else:
        if not Path("/proc/self").is_dir():
            pytest.skip("needs /proc, a folder even root cannot write")
        path = Path("/proc/ecg_lib_test/h.json")
    import ecg_lib.train

    monkeypatch.setattr(ecg_lib.train, "fit", lambda *a, **k: pytest.fail("training started"))
    assert train("resnet20", *TINY, flag, str(path)) == 2
    clean_error(capsys, flag, str(path))


def test_checkpoint_and_out_must_differ(tmp_path, capsys):
    same = tmp_path / "x"
    assert train("resnet20", *TINY, "--checkpoint", str(same), "--out", str(same)) == 2
    clean_error(capsys, "--out", "--checkpoint")
    assert not same.exists()
    other = tmp_path / "y.pt"
    other.write_bytes(b"a run's checkpoint")
    assert train("resnet20", *TINY, "--resume", str(other), "--out", str(other)) == 2
    clean_error(capsys, "--out")
    assert other.read_bytes() == b"a run's checkpoint"


def test_checkpoint_of_another_run_is_not_overwritten(resnet20_ckpt, tmp_path, capsys):
    before = resnet20_ckpt.read_bytes()
    assert train("resnet20", *TINY, "--checkpoint", str(resnet20_ckpt)) == 2
    clean_error(capsys, "--resume", "already")
    assert resnet20_ckpt.read_bytes() == before


# --------------------------------------------------------------------------------------- 5: archives


def _result(profile: str = "full", **history_changes) -> dict:
    h = History(config=TrainConfig(epochs=2).to_dict(), steps_per_epoch=2, train_loss=[2.3, 2.2, 2.1, 2.0],
                train_error=[0.9, 0.8, 0.8, 0.7], lr=[0.1] * 4, epoch_train_loss=[2.25, 2.05],
                epoch_train_error=[0.85, 0.75], test_loss=[2.2, 2.0], test_error=[0.8, 0.7],
                train_time_s=[1.0, 2.0], wall_time_s=[1.5, 3.0], images_per_s=[100.0, 100.0],
                stopped="completed", normalizer=Normalizer("none", torch.zeros(3, 1, 1), torch.ones(3, 1, 1)),
                )  # fmt: skip
    d = ExperimentResult("x", profile, {"net": h}).to_dict()
    d["histories"]["net"].update(history_changes)
    d["run_info"] = {"profile": profile, "device": "cpu", "precision": "fp32", "torch": "2",
                     "date": "2025-01-01", "wall_time_s": 3.0, "data": "CIFAR-10"}  # fmt: skip
    return d


def _write(tmp_path: Path, d, name: str = "x") -> Path:
    path = tmp_path / "ch" / f"{name}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(d if isinstance(d, str) else json.dumps(d))
    return path


def test_a_valid_archive_loads(tmp_path):
    assert results.load_archive(_write(tmp_path, _result())).profile == "full"
    assert results.load_archive(_write(tmp_path, _result("standard"))).profile == "standard"


def test_reproduce_quick_never_writes_into_the_archive_root(tmp_path, capsys, monkeypatch):
    from ecg_lib.experiments import comparison

    monkeypatch.setitem(comparison.EXPERIMENTS, "never", lambda: pytest.fail("the experiment ran"))
    monkeypatch.setenv(results.ENV_VAR, str(tmp_path))
    argv = ["reproduce", "comparison", "--profile", "quick", "--experiments", "never"]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    clean_error(capsys, "full-profile")
    assert not any(tmp_path.iterdir())


def test_find_archive_never_returns_a_quick_result(tmp_path):
    _write(tmp_path, _result("quick"))
    with pytest.raises(results.ArchiveError, match="quick"):
        results.find_archive("ch", "x", root=tmp_path)
    with pytest.raises(results.ArchiveError, match="quick"):
        results.load_archive(tmp_path / "ch" / "x.json")
    # quick results are readable where they belong (outside the archive), when asked for explicitly
    assert results.load_archive(tmp_path / "ch" / "x.json", profiles=("quick",)).profile == "quick"


def test_saving_a_quick_result_into_the_archive_root_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv(results.ENV_VAR, str(tmp_path))
    quick = ExperimentResult.from_dict(_result("quick"))
    with pytest.raises(results.ArchiveError, match="quick"):
        results.save_archive(quick, "ch", "x")
    assert results.save_archive(quick, "ch", "x", tmp_path / "elsewhere").is_file()


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_refused(value, tmp_path):
    d = _result()
    d["histories"]["net"]["test_error"][1] = value
    with pytest.raises(results.ArchiveError, match="finite"):
        results.load_archive(_write(tmp_path, d))


def test_negative_times_are_refused(tmp_path):
    with pytest.raises(results.ArchiveError, match="negative"):
        results.load_archive(_write(tmp_path, _result(train_time_s=[-2.0, -1.0])))


def test_inconsistent_steps_per_epoch_is_refused(tmp_path):
    with pytest.raises(results.ArchiveError, match="steps_per_epoch"):
        results.load_archive(_write(tmp_path, _result(steps_per_epoch=10)))
    # a run stopped by a non-finite loss keeps the steps of its unfinished epoch
    ok = _result(stopped="non_finite", train_loss=[2.3] * 5, train_error=[0.9] * 5, lr=[0.1] * 5)
    results.load_archive(_write(tmp_path, ok))


def test_binary_garbage_is_an_archive_error(tmp_path):
    path = tmp_path / "x.json"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(results.ArchiveError, match="not valid JSON"):
        results.load_archive(path)


def test_a_directory_is_an_archive_error(tmp_path):
    with pytest.raises(results.ArchiveError, match="directory"):
        results.load_archive(tmp_path)


def test_a_normalizer_without_mean_is_an_archive_error(tmp_path):
    d = _result()
    del d["histories"]["net"]["normalizer"]["mean"]
    with pytest.raises(results.ArchiveError, match="normalizer"):
        results.load_archive(_write(tmp_path, d))


def test_deeply_nested_json_is_an_archive_error(tmp_path):
    with pytest.raises(results.ArchiveError, match="nested"):
        results.load_archive(_write(tmp_path, "[" * 100_000 + "]" * 100_000))


# ---------------------------------------------------------------------------------- 6: the data cache


@pytest.fixture
def cache_entry(tmp_path, cifar10, monkeypatch):
    """A fake source (a tiny file) whose decoding is the real CIFAR-10, cached in tmp_path/cache."""
    from ecg_lib import cifar_files
    from ecg_lib.image_quality import ORIGINAL_BATCHES

    source = tmp_path / "src"
    (source / "cifar-10-batches-py").mkdir(parents=True)
    (source / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"fake")
    calls = []

    def decode(folder):  # what the real batches reader returns, the encoding included
        calls.append(folder)
        return {"train_x": cifar10.train_x.numpy(), "train_y": cifar10.train_y.numpy(),
                "test_x": cifar10.test_x.numpy(), "test_y": cifar10.test_y.numpy(),
                "encoding": ORIGINAL_BATCHES}  # fmt: skip

    monkeypatch.setattr(cifar_files, "_read_batches_folder", decode)
    cache = tmp_path / "cache"
    load_cifar10(source, cache_dir=cache)
    (npy,) = cache.glob("*.npy")
    return source, cache, npy, calls


def _swap_labels(npy: Path) -> None:
    meta_file = npy.with_suffix(".json")
    meta = json.loads(meta_file.read_text())
    first0, first1 = meta["train_y"].index(0), meta["train_y"].index(1)
    meta["train_y"][first0], meta["train_y"][first1] = 1, 0
    meta_file.write_text(json.dumps(meta))


def _zero_pixels(npy: Path) -> None:
    with open(npy, "r+b") as f:
        f.seek(-10_000_000, os.SEEK_END)
        f.write(bytes(10_000_000))


@pytest.mark.parametrize("edit", [_swap_labels, _zero_pixels], ids=["labels swapped", "pixels zeroed"])
def test_an_edited_cache_is_decoded_again_with_a_warning(edit, cache_entry, cifar10):
    source, cache, npy, calls = cache_entry
    edit(npy)
    with pytest.warns(UserWarning, match="checksum"):
        data = load_cifar10(source, cache_dir=cache)
    assert len(calls) == 2  # decoded again
    assert torch.equal(data.train_y, cifar10.train_y) and torch.equal(data.test_x, cifar10.test_x)
    assert "decoded cache" in load_cifar10(source, cache_dir=cache).source  # and cached again, valid


def test_an_edited_cache_without_a_source_says_delete_it(cache_entry, monkeypatch):
    _, cache, npy, _ = cache_entry
    _swap_labels(npy)
    monkeypatch.delenv("ECG_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="delete") as info:
        load_cifar10(cache_dir=cache, download=False, search_dirs=[])
    assert str(npy) in str(info.value)


def test_orphan_temporary_files_of_a_killed_write_are_removed(cache_entry):
    source, cache, npy, _ = cache_entry
    orphan = cache / (npy.name + ".abc123.tmp")
    orphan.write_bytes(b"half an array")
    old = 3600 * 24
    os.utime(orphan, (orphan.stat().st_atime - old, orphan.stat().st_mtime - old))
    fresh = cache / (npy.name + ".def456.tmp")  # another process may be writing this one now
    fresh.write_bytes(b"being written")
    load_cifar10(source, cache_dir=cache)
    assert not orphan.exists() and fresh.exists()


def test_sigint_while_decoding_leaves_no_cache(tmp_path, monkeypatch):
    from ecg_lib import cifar_files

    source = tmp_path / "src" / "cifar-10-batches-py"
    source.mkdir(parents=True)
    (source / "data_batch_1").write_bytes(b"fake")

    def interrupted(folder):
        raise KeyboardInterrupt

    monkeypatch.setattr(cifar_files, "_read_batches_folder", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_cifar10(source.parent, cache_dir=tmp_path / "cache")
    cache = tmp_path / "cache"
    assert not cache.exists() or not list(cache.iterdir())


def test_sigint_while_decoding_is_a_clean_cli_message(monkeypatch, capsys):
    import ecg_lib.data

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(ecg_lib.data, "load_cifar10", interrupted)
    assert train("resnet20", *TINY) == 130
    err = capsys.readouterr().err
    assert "Traceback" not in err and "interrupted while loading CIFAR-10" in err and "--resume" not in err


def test_decoding_workers_ignore_sigint():
    """Pool workers leave Ctrl-C to the parent, which stops the pool: no traceback per worker."""
    import signal

    from ecg_lib.cifar_files import _ignore_sigint

    before = signal.getsignal(signal.SIGINT)
    try:
        _ignore_sigint()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


# ------------------------------------------------------------------------------ 7: clean errors


def test_unknown_device_is_a_clean_error():
    out = subprocess.run([sys.executable, "-m", "ecg_lib", "train", "resnet20", *TINY, "--device", "foo"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)  # fmt: skip
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "device" in out.stderr and "'foo'" in out.stderr


@pytest.mark.parametrize("classes", [5, 11])
def test_a_head_that_does_not_fit_the_labels_is_refused_before_training(classes, capsys, monkeypatch):
    from ecg_lib.train import loop

    monkeypatch.setattr(loop, "lr_at", lambda *a: pytest.fail("training started"))
    assert train("resnet20", *TINY, "--option", f"num_classes={classes}") == 2
    clean_error(capsys, f"{classes} class", "10")


def test_absurd_num_classes_is_refused_up_front():
    with pytest.raises(ValueError, match="num_classes"):
        get_model("resnet20", 10**9)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float64])
@pytest.mark.parametrize("name", ["alexnet_cifar", "vgg_cifar", "nin_cifar", "googlenet_cifar", "resnet20"])
def test_a_raw_batch_to_a_model_says_use_the_normalizer(name, dtype, cifar10):
    model = get_model(name).eval()
    x = cifar10.test_x[:2].to(dtype)
    with pytest.raises(ValueError, match="Normalizer"):
        model(x)


def test_a_float64_model_takes_float64_input(one_thread):
    model = get_model("resnet20").double().eval()
    assert model(torch.zeros(1, 3, 32, 32, dtype=torch.float64)).dtype == torch.float64


# -------------------------------------------------------------------------- 8: misleading messages


@pytest.mark.parametrize(("field", "value"), [
    ("momentum", math.nan), ("weight_decay", math.inf), ("lr", math.inf), ("lr", math.nan),
    ("label_smoothing", 1.0), ("gamma", math.nan), ("momentum", -0.5), ("weight_decay", -1.0),
    ("warmup_factor", math.inf), ("max_time_s", math.nan), ("milestones", (math.nan,)),
    ("aux_weight", math.inf),
])  # fmt: skip
def test_non_finite_and_out_of_range_settings_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


@pytest.mark.parametrize("flag", ["--momentum", "--weight-decay"])
def test_cli_nan_and_inf_settings_are_refused_up_front(flag, capsys):
    assert train("resnet20", *TINY, flag, "nan" if flag == "--momentum" else "inf") == 2
    err = clean_error(capsys, flag.strip("-").replace("-", "_"))
    assert "learning rate" not in err


def test_sigint_before_the_first_checkpoint_does_not_suggest_resume(tmp_path, capsys, monkeypatch):
    import ecg_lib.train

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(ecg_lib.train, "fit", interrupted)
    ckpt = tmp_path / "c.pt"
    assert train("resnet20", *TINY, "--checkpoint", str(ckpt)) == 130
    err = capsys.readouterr().err
    assert "--resume" not in err and "no checkpoint was written" in err


def test_milestones_error_names_the_flag(capsys):
    with pytest.raises(SystemExit) as info:
        train("resnet20", "--milestones", "a,b")
    assert info.value.code == 2
    clean_error(capsys, "--milestones")


@pytest.mark.parametrize("name", ["resnet20", "plain20", "alexnet_cifar"])
def test_an_unknown_option_shows_no_internal_function_name(name, capsys):
    assert train(name, *TINY, "--option", "depth=-5") == 2
    err = clean_error(capsys, "depth", name)
    assert "resnet_cifar()" not in err and "__init__" not in err


def test_a_bad_option_value_type_of_a_known_option_is_clean(capsys):
    assert main(["summary", "vgg_cifar", "--option", "nonsense=1"]) == 2
    clean_error(capsys, "nonsense")
