"""Reliability round 3 (issue 25): data files that cannot run code, a decode cache that cannot go stale,
outputs that cannot destroy inputs, a full disk that keeps the result, flags never silently overridden,
and every traceback of the hostile walk turned into a clear error. One test per case of the issue.

CLI cases run `main()` in-process (exit code and stderr are what the user sees). Training uses 20-100
images and one epoch of tiny networks. The decode-cache cases use a small tree or small batches and relax
`validate` to their sizes (the real one insists on all 60,000 images).
"""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import re
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_bad_input import clean_error, quiet, train  # the CLI test helpers test_bad_input defines
from torch import nn

from ecg_lib import data as data_mod
from ecg_lib import results
from ecg_lib.cli import main
from ecg_lib.data import CIFAR10_CLASSES, DataError, load_cifar10
from ecg_lib.experiments import ExperimentResult, comparison, without_data
from ecg_lib.train import History, evaluate, fit, load_checkpoint

REPO = Path(__file__).resolve().parents[1]
TINY = ["--subset", "20", "--test-subset", "10", "--epochs", "1", "--batch-size", "10", "--quiet",
        "--device", "cpu"]  # fmt: skip


def tiny_cnn(width: int = 8, channels: int = 3) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(width, 10))  # fmt: skip




@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if training starts: the case must be refused before."""
    import ecg_lib.train

    monkeypatch.setattr(ecg_lib.train, "fit", lambda *a, **k: pytest.fail("training started"))


# ------------------------------------------------------------------------- severe 1: files that run code


class _RunsCode:
    """A pickle payload: unpickling it calls ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _OpensFile:
    """A payload that would create a file through ``open(path, "w")``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def _batch_blobs(per_class: int = 2, test_per_class: int = 1, seed: int = 0) -> dict[str, bytes]:
    """Six small pickled batches in CIFAR-10's format; image i is filled with a value from its index."""
    rng = np.random.default_rng(seed)
    blobs = {}
    for b in range(1, 7):
        name = f"data_batch_{b}" if b < 6 else "test_batch"
        n = test_per_class if b == 6 else per_class
        labels = [c for c in range(10) for _ in range(n)]
        x = rng.integers(0, 256, size=(len(labels), 3072), dtype=np.uint8)
        blobs[name] = pickle.dumps({"batch_label": name, "labels": labels, "data": x, "filenames": []})
    return blobs


def _write_batches(folder: Path, blobs: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in blobs.items():
        (folder / name).write_bytes(blob)
    return folder


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))
    return path


@pytest.mark.parametrize("payload", ["os.system", "open"])
def test_a_hostile_batch_in_a_folder_runs_nothing(payload, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ECG_CACHE_DIR", str(tmp_path / "cache"))
    mark = tmp_path / "pwned"
    blobs = _batch_blobs()
    evil = _RunsCode(f"touch {mark}") if payload == "os.system" else _OpensFile(str(mark))
    blobs["data_batch_2"] = pickle.dumps({"data": evil, "labels": [0]})
    _write_batches(tmp_path / "d" / "cifar-10-batches-py", blobs)
    assert train("resnet20", *TINY, "--data", str(tmp_path / "d")) == 2
    clean_error(capsys, "data_batch_2", "refused")
    assert not mark.exists()


def test_a_hostile_batch_in_an_archive_runs_nothing(tmp_path):
    mark = tmp_path / "pwned"
    blobs = _batch_blobs()
    blobs["data_batch_2"] = pickle.dumps({"data": _RunsCode(f"touch {mark}"), "labels": [0]})
    archive = _tar(tmp_path / "c.tar.gz", {f"cifar-10-batches-py/{n}": b for n, b in blobs.items()})
    with pytest.raises(DataError, match="refused"):
        load_cifar10(archive, use_cache=False)
    assert not mark.exists()


def test_honest_batches_still_load(tmp_path, monkeypatch):
    """The restricted reader accepts what pickle.dump of the format writes (numpy arrays, protocol 2-5)."""
    monkeypatch.setattr(data_mod, "validate", lambda d: None)
    blobs = _batch_blobs()
    for protocol, name in ((2, "data_batch_1"), (5, "data_batch_2")):
        entry = pickle.loads(blobs[name])
        blobs[name] = pickle.dumps(entry, protocol=protocol)
    _write_batches(tmp_path / "cifar-10-batches-py", blobs)
    loaded = load_cifar10(tmp_path, use_cache=False)
    first = pickle.loads(blobs["data_batch_1"])
    assert loaded.train_x[:2].reshape(2, -1).numpy().tolist() == first["data"][:2].tolist()
    assert loaded.n_train == 100 and loaded.n_test == 10


def test_every_pickle_the_library_reads_is_restricted():
    """No unrestricted unpickling anywhere: batches through the restricted reader, torch files with
    weights_only=True, numpy files without pickles, and no torchvision CIFAR10(...) (it unpickles the
    batches it downloads with pickle.load)."""
    found = []
    for f in sorted((REPO / "ecg_lib").rglob("*.py")):
        text = f.read_text()
        for m in re.finditer(r"pickle\.loads?\(|Unpickler\(|torch\.load\(|np\.load\(|\bCIFAR10\(", text):
            call = text[m.start() : m.start() + 200]
            ok = {"torch.load(": "weights_only=True" in call, "np.load(": "allow_pickle=False" in call,
                  "Unpickler(": f.name == "cifar_files.py"}.get(m.group(), False)  # fmt: skip
            if not ok:
                found.append(f"{f.relative_to(REPO)}: {call.splitlines()[0]}")
    assert found == []


def _member(kind: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo({"absolute": "/etc/cifar-10-batches-py/data_batch_1",
                            "dotdot": "cifar-10-batches-py/../../data_batch_1"}.get(kind, "train/cat/x.png"))
    if kind == "symlink":
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
    elif kind == "hardlink":
        info.type, info.linkname = tarfile.LNKTYPE, "/etc/passwd"
    elif kind == "device":
        info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    return info


@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink", "hardlink", "device"])
def test_unsafe_tar_members_are_refused(kind, tmp_path):
    archive = tmp_path / "c.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        info = _member(kind)
        if info.isfile():
            info.size = 4
            tf.addfile(info, io.BytesIO(b"abcd"))
        else:
            tf.addfile(info)
    with pytest.raises(DataError, match="refused") as err:
        load_cifar10(archive, use_cache=False)
    assert info.name in str(err.value)


# ------------------------------------------------------------------------------ severe 2: a stale cache


def _png(value: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (value, 255 - value, 7)).save(buf, format="PNG")
    return buf.getvalue()


def _write_tree(root: Path, per_class: int = 2, test_per_class: int = 1) -> None:
    for split, n in (("train", per_class), ("test", test_per_class)):
        for c, cls in enumerate(CIFAR10_CLASSES):
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                value = 10 * c + i + (100 if split == "test" else 0)
                (root / split / cls / f"{i}.png").write_bytes(_png(value))


@pytest.fixture
def relaxed(monkeypatch):
    """`validate` at the small sizes of these cases: 2 train / 1 test images per class (tree), 10 / 1
    (batches); anything else is refused as the real one refuses an incomplete copy."""
    real = data_mod.validate

    def validate(d):
        per_class = (2, 1) if d.n_train == 20 or "tree" in d.source else (10, 1)
        real(d, per_class=per_class)

    monkeypatch.setattr(data_mod, "validate", validate)


def _load_twice(source: Path, cache: Path, change) -> object:
    first = load_cifar10(source, cache_dir=cache)
    assert "decoded in" in first.source
    again = load_cifar10(source, cache_dir=cache)
    assert "decoded cache" in again.source  # the second load is served from the cache ...
    change()
    return load_cifar10(source, cache_dir=cache)  # ... the third must see the change


def _keep_mtime(path: Path, write) -> None:
    """Rewrite a file and put its modification time back: only the content (and ctime) changes."""
    st = path.stat()
    write()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_stale_cache_image_overwritten_in_place(tmp_path, relaxed):
    _write_tree(tmp_path / "tree")
    img = tmp_path / "tree" / "train" / "cat" / "0.png"
    fresh = _load_twice(tmp_path / "tree", tmp_path / "cache",
                        lambda: _keep_mtime(img, lambda: img.write_bytes(_png(222))))
    assert "decoded in" in fresh.source
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1  # the superseded entry is gone
    cat = CIFAR10_CLASSES.index("cat")
    assert fresh.train_x[2 * cat, :, 0, 0].tolist() == [222, 33, 7]


def test_stale_cache_image_swapped_for_another_class(tmp_path, relaxed):
    _write_tree(tmp_path / "tree")
    cat, dog = (tmp_path / "tree" / "train" / c / "0.png" for c in ("cat", "dog"))

    def swap():
        tmp = cat.with_name("swap")
        cat.rename(tmp)
        dog.rename(cat)
        tmp.rename(dog)

    fresh = _load_twice(tmp_path / "tree", tmp_path / "cache", swap)
    assert "decoded in" in fresh.source
    c, d = CIFAR10_CLASSES.index("cat"), CIFAR10_CLASSES.index("dog")
    assert fresh.train_x[2 * c, 0, 0, 0] == 10 * d and fresh.train_x[2 * d, 0, 0, 0] == 10 * c


def test_stale_cache_image_deleted(tmp_path, relaxed):
    _write_tree(tmp_path / "tree")
    with pytest.raises(DataError, match="incomplete"):  # a fresh decode refuses the copy
        _load_twice(tmp_path / "tree", tmp_path / "cache",
                    lambda: (tmp_path / "tree" / "train" / "cat" / "1.png").unlink())


def _relabel(folder: Path, relabel) -> None:
    f = folder / "data_batch_3"
    entry = pickle.loads(f.read_bytes())
    entry["labels"] = relabel(list(entry["labels"]))
    _keep_mtime(f, lambda: f.write_bytes(pickle.dumps(entry)))


@pytest.mark.parametrize("change", ["edited", "swapped"])
def test_stale_cache_labels_changed_in_a_batch(change, tmp_path, relaxed):
    folder = _write_batches(tmp_path / "b" / "cifar-10-batches-py", _batch_blobs())
    if change == "edited":  # classes 0 -> 1 -> 2 -> 0 in batch 3 (the counts stay valid)
        def relabel(y):
            return [{0: 1, 1: 2, 2: 0}.get(v, v) for v in y]
    else:  # the first two images of different classes trade labels
        def relabel(y):
            y[0], y[2] = y[2], y[0]
            return y
    expected = relabel(pickle.loads((folder / "data_batch_3").read_bytes())["labels"])
    fresh = _load_twice(tmp_path / "b", tmp_path / "cache", lambda: _relabel(folder, relabel))
    assert "decoded in" in fresh.source
    assert fresh.train_y[40:60].tolist() == expected


# -------------------------------------------------------------------- severe 3-4: outputs and the lock


def test_out_naming_the_dataset_archive_is_refused(tmp_path, capsys, no_training):
    archive = _tar(tmp_path / "cifar10.tar.gz", {"train/cat/0.png": _png(1)})
    before = archive.read_bytes()
    assert train("resnet20", *TINY, "--out", str(archive)) == 2
    clean_error(capsys, "--out", "not a History", "--overwrite")
    # even --overwrite never replaces the data source
    assert train("resnet20", *TINY, "--data", str(archive), "--out", str(archive), "--overwrite") == 2
    clean_error(capsys, "--out", "data")
    assert archive.read_bytes() == before


def test_out_naming_another_runs_checkpoint_is_refused(tmp_path, capsys, no_training):
    from ecg_lib.train.checkpoint import save_checkpoint

    ckpt = save_checkpoint({"epoch": 1}, tmp_path / "other.pt")
    before = ckpt.read_bytes()
    assert train("resnet20", *TINY, "--out", str(ckpt)) == 2
    clean_error(capsys, "--out", "not a History")
    assert ckpt.read_bytes() == before


def test_log_naming_another_file_is_refused(tmp_path, capsys, tiny_experiment):
    archive = _tar(tmp_path / "cifar10.tar.gz", {"train/cat/0.png": _png(1)})
    before = archive.read_bytes()
    assert reproduce(tmp_path, "--log", str(archive)) == 2
    clean_error(capsys, "--log", "not a log")
    assert archive.read_bytes() == before and tiny_experiment == []


@pytest.mark.parametrize("kind", ["progress log", "History JSON"])
def test_log_appends_only_to_a_log(kind, tmp_path, capsys, tiny_experiment):
    log = tmp_path / "run.log"
    if kind == "progress log":  # an earlier run's lines: appended to, as README's command does
        log.write_text("[12:30:05] comparison/tiny (1/1) Sequential epoch 1/3 · [#####] 33%\n")
        assert reproduce(tmp_path, "--log", str(log)) == 0
        assert log.read_text().startswith("[12:30:05] comparison/tiny")
    else:
        History().save(log)
        before = log.read_bytes()
        assert reproduce(tmp_path, "--log", str(log)) == 2
        clean_error(capsys, "--log", "not a log")
        assert log.read_bytes() == before


def _hold_lock(path: Path) -> subprocess.Popen:
    """Another process holding the output lock of ``path`` (as a concurrent run would)."""
    code = ("import sys, time\nfrom ecg_lib.atomic import output_lock\n"
            "with output_lock([sys.argv[1]]):\n    print('locked', flush=True)\n    time.sleep(60)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)  # fmt: skip
    line = proc.stdout.readline()
    if line.strip() != b"locked":
        proc.kill()
        pytest.fail("the helper process could not take the lock")
    return proc


@pytest.mark.parametrize("flag", ["--checkpoint", "--out"])
def test_two_runs_with_the_same_output_do_not_race(flag, tmp_path, capsys, no_training):
    target = tmp_path / ("run.pt" if flag == "--checkpoint" else "h.json")
    holder = _hold_lock(target)
    try:
        assert train("resnet20", *TINY, flag, str(target)) == 2
        clean_error(capsys, flag, "another run", str(holder.pid))
        assert not target.exists()
    finally:
        holder.kill()
        holder.wait()
    # the lock dies with its holder (kill -9 included): a later run may write there
    from ecg_lib.atomic import output_lock

    with output_lock([target]):
        pass


def test_two_reproduce_runs_of_one_experiment_do_not_race(tmp_path, capsys, tiny_experiment):
    holder = _hold_lock(tmp_path / "state" / "standard" / "comparison" / "tiny")
    try:
        assert reproduce(tmp_path) == 1
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert "another run" in err and str(holder.pid) in err and "Traceback" not in err
    assert tiny_experiment == []
    assert reproduce(tmp_path) == 0 and tiny_experiment == ["standard"]  # the lock died with its holder


# ---------------------------------------------------------------------------- severe 5: a full disk


def test_the_write_probe_writes_real_bytes(tmp_path):
    """Under a file-size limit (as on a disk with a few KB left) the probe must fail up front; a probe of
    0 bytes passes and the trained result is lost at the end."""
    code = ("import resource, signal, sys\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
            "resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))\n"
            "from ecg_lib.atomic import check_writable\n"
            "try:\n    check_writable(sys.argv[1], '--out')\n"
            "except ValueError as e:\n    print('refused', e)\n"
            "else:\n    print('accepted')\n")  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "h.json")], capture_output=True,
                         text=True, env=env, timeout=60)  # fmt: skip
    assert out.stdout.startswith("refused --out"), out
    assert list(tmp_path.iterdir()) == []  # the probe file is gone


def test_a_full_disk_at_the_end_keeps_the_history_in_the_checkpoint(tmp_path, capsys, monkeypatch):
    ckpt, out = tmp_path / "run.pt", tmp_path / "h.json"

    def full(self, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(History, "save", full)
    assert train("resnet20", *TINY, "--checkpoint", str(ckpt), "--out", str(out)) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "No space left on device" in err
    command = f"python -m ecg_lib history {ckpt} --out {out}"
    assert command in err  # what was kept, where, and the one command that recovers it
    monkeypatch.undo()
    assert main(["history", str(ckpt), "--out", str(out)]) == 0
    recovered, saved = History.load(out), load_checkpoint(ckpt)["history"]
    assert recovered.epochs_done == 1 and recovered.train_loss == saved["train_loss"]
    assert recovered.test_error == saved["test_error"] and recovered.info["recipe"] == "paper"


# -------------------------------------------------------------------------------- severe 6: --recipe


@pytest.mark.parametrize("flags", [["--lr", "0.1"], ["--schedule", "warmup_cosine"]])
def test_recipe_refuses_explicit_flags_equal_to_the_defaults(flags, capsys, no_training):
    assert train("resnet20", *TINY, "--recipe", "fast", *flags) == 2
    clean_error(capsys, "--recipe fast", flags[0])


# ------------------------------------------------------------------------------------ severe 7: the API


@pytest.mark.parametrize("label", [-100, -1, 10])
def test_fit_refuses_labels_outside_the_classes(label, small):
    bad = type(small)(small.train_x, small.train_y.clone(), small.test_x, small.test_y, source="bad")
    bad.train_y[3] = label
    with pytest.raises(ValueError, match=r"labels.*0\.\.9"):
        fit(tiny_cnn(), bad, quiet())


def test_fit_refuses_one_channel_images(small):
    gray = type(small)(small.train_x[:, :1].contiguous(), small.train_y, small.test_x[:, :1].contiguous(),
                       small.test_y, source="gray")  # fmt: skip
    with pytest.raises(ValueError, match="3 channels"):
        fit(tiny_cnn(channels=1), gray, quiet())


@pytest.mark.parametrize("batch_size", [0, -5, 2.5])
def test_evaluate_refuses_non_positive_batch_sizes(batch_size, small):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        evaluate(tiny_cnn(), small.test_x.float(), small.test_y, batch_size=batch_size)


def test_evaluate_refuses_labels_outside_the_classes(small):
    y = small.test_y.clone()
    y[0] = 10
    with pytest.raises(ValueError, match=r"labels.*0\.\.9"):
        evaluate(tiny_cnn(), small.test_x.float(), y)


@pytest.mark.parametrize("n", [1.5, float("nan"), float("inf"), True])
def test_subset_refuses_sizes_that_are_not_whole_numbers(n, small):
    with pytest.raises(ValueError, match="n_train_per_class must be a positive integer"):
        small.subset(n)


@pytest.mark.parametrize("content", [b"not json at all", b"\xff\xfe\x00binary", b"[1, 2]"])
def test_history_load_names_the_file(content, tmp_path):
    f = tmp_path / "h.json"
    f.write_bytes(content)
    with pytest.raises(ValueError, match="is not a History") as err:
        History.load(f)
    assert str(f) in str(err.value)


def test_summarize_refuses_a_non_module():
    from ecg_lib.counting import summarize

    with pytest.raises(TypeError, match=r"nn\.Module"):
        summarize(None, (3, 32, 32))


# ----------------------------------------------------------------------------------- tracebacks: CLI


def test_summary_into_a_closed_pipe_exits_quietly():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "ecg_lib", "summary", "resnet56"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)  # fmt: skip
    proc.stdout.close()  # `| head -1` that has already exited
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err, err


@pytest.mark.parametrize("command", ["summary", "train"])
def test_an_infinite_option_is_a_clean_error(command, capsys, no_training):
    argv = ["summary", "vgg_cifar"] if command == "summary" else ["train", "vgg_cifar", *TINY]
    assert main([*argv, "--option", "width=1e400"]) == 2
    clean_error(capsys, "width", "finite")


@pytest.fixture(scope="module")
def finished_ckpt(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "r.pt"
    assert train("resnet20", *TINY, "--checkpoint", str(path)) == 0
    return path


@pytest.mark.parametrize("damage", ["no config", "no run", "bad rng"])
def test_a_damaged_checkpoint_is_a_clean_error(damage, finished_ckpt, tmp_path, capsys):
    ckpt = torch.load(finished_ckpt, weights_only=True)
    if damage == "bad rng":
        ckpt["rng"]["torch"] = torch.zeros(3, dtype=torch.uint8)
    else:
        del ckpt[damage.split()[1]]
    bad = tmp_path / "bad.pt"
    torch.save(ckpt, bad)
    assert train("resnet20", *TINY, "--resume", str(bad)) == 2
    clean_error(capsys, str(bad), "rng" if damage == "bad rng" else damage.split()[1])


def test_a_full_disk_during_a_checkpoint_write_is_a_clean_error(tmp_path, cifar10):
    """A real failing write, in a process whose files may not grow past 1.5 MB (as on a disk with that
    much room left): the 1 MB probe passes, resnet20's 2.2 MB checkpoint does not. torch.save then
    raises a RuntimeError on top of the OSError; the user must see neither as a traceback."""
    ckpt = tmp_path / "r.pt"

    def limit() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_500_000, 1_500_000))

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "ecg_lib", "train", "resnet20", *TINY, "--checkpoint", str(ckpt)]
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300, preexec_fn=limit)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr and f"writing the checkpoint {ckpt} failed" in out.stderr
    assert list(tmp_path.iterdir()) == []  # no torn file, no temporary left


def reproduce(tmp_path: Path, *extra: str) -> int:
    return main(["reproduce", "comparison", "--profile", "standard", "--experiments", "tiny",
                 "--out", str(tmp_path / "out"), "--state", str(tmp_path / "state"), *extra])  # fmt: skip


@pytest.fixture
def tiny_experiment(monkeypatch):
    """comparison/tiny: an experiment that trains nothing; ``calls`` counts its runs."""
    calls = []

    @without_data
    def tiny(data: None = None, *, profile: str, settings: None = None,
             context: None = None) -> ExperimentResult:
        calls.append(profile)
        result = ExperimentResult("tiny", profile, metrics={"x": 1.0})
        return result

    monkeypatch.setitem(comparison.EXPERIMENTS, "tiny", tiny)
    return calls


@pytest.mark.parametrize("where", ["/proc/nope/log", "a directory"])
def test_reproduce_log_paths_are_checked_first(where, tmp_path, capsys, tiny_experiment):
    log = str(tmp_path) if where == "a directory" else where
    assert reproduce(tmp_path, "--log", log) == 2
    clean_error(capsys, "--log", log)
    assert tiny_experiment == []


def test_reproduce_refuses_absurd_thread_counts(tmp_path, capsys, tiny_experiment):
    threads = torch.get_num_threads()
    try:
        assert reproduce(tmp_path, "--threads", "100000") == 2
    finally:
        torch.set_num_threads(threads)
    clean_error(capsys, "--threads", "100000")
    assert tiny_experiment == []


# ----------------------------------------------------------------------------- tracebacks: archives


def _archive_dict() -> dict:
    h = History(config={}, steps_per_epoch=1, train_loss=[1.0], train_error=[0.5], lr=[0.1],
                epoch_train_loss=[1.0], epoch_train_error=[0.5], test_loss=[1.0], test_error=[0.5],
                train_time_s=[1.0], wall_time_s=[1.0], images_per_s=[1.0], stopped="completed")  # fmt: skip
    d = h.to_dict()
    d["normalizer"] = {"mode": "channel", "mean_shape": [3, 1, 1], "mean": [0.5] * 3,
                       "std_shape": [3, 1, 1], "std": [0.2] * 3}  # fmt: skip
    info = {"profile": "standard", "device": "cpu", "precision": "fp32", "torch": "2", "date": "d",
            "wall_time_s": 1.0, "data": "x"}  # fmt: skip
    return {"name": "e", "profile": "standard", "histories": {"a": d}, "metrics": {}, "run_info": info}


@pytest.mark.parametrize("where", ["history list", "normalizer", "wall time", "5000 digits"])
def test_a_huge_integer_in_an_archive_is_an_archive_error(where, tmp_path):
    d = _archive_dict()
    huge = "9" * 1000
    text = json.dumps(d)
    if where == "history list":
        text = text.replace('"train_loss": [1.0]', f'"train_loss": [{huge}]')
    elif where == "normalizer":
        text = text.replace('"mean": [0.5, 0.5, 0.5]', f'"mean": [{huge}, 0.5, 0.5]')
    elif where == "wall time":
        text = text.replace('"wall_time_s": 1.0', f'"wall_time_s": {huge}')
    else:
        text = text.replace('"wall_time_s": 1.0', f'"wall_time_s": {"9" * 5000}')
    assert huge[:50] in text
    f = tmp_path / "e.json"
    f.write_text(text)
    with pytest.raises(results.ArchiveError, match=re.escape(str(f))):
        results.load_archive(f)


# -------------------------------------------------------------------------------------------- minor


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_a_broken_archive_is_not_already_archived(damage, tmp_path, capsys, tiny_experiment):
    assert reproduce(tmp_path) == 0
    archive = results.archive_path("comparison", "tiny", tmp_path / "out", profile="standard")
    text = archive.read_bytes()
    archive.write_bytes(b"" if damage == "empty" else text[: len(text) // 2])
    capsys.readouterr()
    assert reproduce(tmp_path) == 0
    out = capsys.readouterr().out
    assert "archive exists, skipped" not in out and len(tiny_experiment) == 2
    assert results.load_archive(archive).metrics == {"x": 1.0}


def test_reproduce_checks_its_output_folder_before_running(tmp_path, capsys, tiny_experiment):
    assert main(["reproduce", "comparison", "--profile", "standard", "--experiments", "tiny",
                 "--out", "/proc/nope", "--state", str(tmp_path / "state")]) == 2  # fmt: skip
    clean_error(capsys, "/proc/nope")
    assert tiny_experiment == []


@pytest.mark.parametrize("flag", ["--out", "--checkpoint", "--resume", "--data"])
def test_empty_paths_are_refused(flag, capsys, no_training):
    assert train("resnet20", *TINY, flag, "") == 2
    clean_error(capsys, flag)


@pytest.mark.parametrize("value", ["nan", "-1", "inf"])
def test_reproduce_refuses_a_bad_time_budget(value, tmp_path, capsys, tiny_experiment):
    assert reproduce(tmp_path, "--time-budget", value) == 2
    clean_error(capsys, "--time-budget")
    assert tiny_experiment == []


def test_reproduce_refuses_an_empty_experiment_list(tmp_path, capsys, tiny_experiment):
    assert main(["reproduce", "comparison", "--profile", "standard", "--experiments", ",",
                 "--out", str(tmp_path / "out")]) == 2  # fmt: skip
    clean_error(capsys, "--experiments")


def test_summary_refuses_a_two_part_input_size(capsys):
    assert main(["summary", "resnet20", "--input", "3x32"]) == 2
    clean_error(capsys, "3x32", "C x H x W")


def test_a_corrupt_reproduce_state_checkpoint_is_set_aside(tmp_path, small, capsys):
    from ecg_lib.train import RunContext, auto_checkpoint_path

    cfg = quiet()
    path = auto_checkpoint_path(tmp_path, tiny_cnn(), small, cfg, profile="quick")
    path.write_bytes(b"PK\x03\x04 torn by a kill")
    state = RunContext(checkpoint_dir=tmp_path)  # what `reproduce` passes to every experiment that trains
    h = fit(tiny_cnn(), small, cfg, profile="quick", context=state)  # not stuck: it starts that fit again
    assert h.stopped == "completed" and load_checkpoint(path)["epoch"] == 1
    err = capsys.readouterr().err
    assert str(path) in err and "--resume" not in err
    assert path.with_name(path.name + ".corrupt").read_bytes() == b"PK\x03\x04 torn by a kill"


def test_orphaned_checkpoint_temporaries_are_removed(tmp_path, small):
    ckpt = tmp_path / "r.pt"
    old, new = tmp_path / "r.pt.abc123.tmp", tmp_path / "r.pt.def456.tmp"
    for f in (old, new):
        f.write_bytes(b"half a checkpoint")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    fit(tiny_cnn(), small, quiet(), checkpoint=ckpt)
    assert not old.exists() and new.exists()  # a fresh one may be another process's write in progress
