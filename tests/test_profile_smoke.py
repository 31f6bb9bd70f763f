"""Every standard- and full-profile experiment's code path, on the CPU, on tiny data (issue 13, item 7).

The long profiles run for hours (standard, CPU) or need a GPU (full); a typo in one of their code paths
would otherwise surface only there. Here each experiment of every chapter runs with its standard and
full settings shrunk to a few images and steps: the same models, widths, heads, variants, schedules and
bookkeeping, through ``reproduce``'s archive validation, in seconds.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import sys
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest

from ecg_lib import results
from ecg_lib.chapters import common
from ecg_lib.experiments import CHAPTERS, ExperimentResult, chapter_module
from ecg_lib.profiles import ARCHIVED_PROFILES
from ecg_lib.reproduce import pool_steps
from ecg_lib.train import TrainConfig

# Per-class sizes of the tiny data; settings that hold sizes get at most these.
TINY_TRAIN, TINY_TEST = 3, 2


def tiny_train(c: TrainConfig) -> TrainConfig:
    """Two short epochs of the same recipe: schedule, optimiser and head kept; fp32, since bf16 on the
    CPU costs about half a second per step of tiny batches (kernel set-up), and has tests of its own."""
    milestones = (1.0,) if c.schedule == "step" else ()
    warm = None if c.warmup_epochs is None else min(c.warmup_epochs, 0.5)
    # lr at most 0.01: at batch 10 on 30 images, the full-width GoogLeNet at the race's 0.05 overflowed in
    # evaluation (a NaN test loss, refused by the archive check): a property of the tiny run, not of the
    # code path under test
    return c.replace(epochs=2, batch_size=10, lr=min(c.lr, 0.01), milestones=milestones,
                     warmup_epochs=warm, max_time_s=None, eval_every=1, eval_batch_size=50, quiet=True,
                     precision="fp32")  # fmt: skip


def shrink(settings: Any) -> Any:
    """``settings`` with every size, epoch count, repeat count and time budget cut to a few."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name)
        if isinstance(value, TrainConfig):
            changes[f.name] = tiny_train(value)
        elif f.name in ("n_train_per_class",):
            changes[f.name] = TINY_TRAIN
        elif f.name in ("n_test_per_class",):
            changes[f.name] = TINY_TEST
        elif f.name in ("n_test", "lesion_n_test", "probe_batch", "grad_batch"):
            changes[f.name] = 20
        elif f.name == "repeats":
            changes[f.name] = 1
        elif f.name in ("random_ks", "contiguous_lengths"):
            changes[f.name] = value[:1]
        elif f.name == "sweep_epochs":
            changes[f.name] = 1
        elif f.name == "seconds_per_net" and value is not None:
            changes[f.name] = 1.0
        elif f.name in ("max_epochs",):
            changes[f.name] = 2
        elif f.name == "seeds":
            changes[f.name] = value[:2]
        elif f.name == "lrs":  # one candidate rate per recipe and activation: the race's path all the same
            changes[f.name] = {r: {a: rates[:1] for a, rates in acts.items()} for r, acts in value.items()}
    return dataclasses.replace(settings, **changes)


def _settings_table(fn: Any) -> dict[str, Any] | None:
    """The SETTINGS table an experiment function selects from (by its ``settings`` annotation), in the
    module that defines it (the ResNet chapter registers the reference networks' experiments too)."""
    fn = getattr(fn, "func", fn)  # a functools.partial (the comparison's race_seed<k>)
    module = sys.modules[fn.__module__]
    tables = {n: v for n, v in vars(module).items() if n.endswith("SETTINGS") and isinstance(v, dict)}
    hint = str(inspect.signature(fn).parameters["settings"].annotation)
    for table in tables.values():
        kinds = {type(v).__name__ for v in table.values()}
        if any(k in hint for k in kinds):
            return table
    return None


# A seeded() variant (name_seed1) runs its base experiment's code with another seed: checked once, in
# the standard profile, that it reaches its settings table and its seed.
def _chapter_plot(chapter: str, name: str) -> Any:
    """The plot a chapter draws an archived result of ``name`` with (None: the chapter draws none)."""
    page = importlib.import_module(f"ecg_lib.chapters.{chapter}")
    base = name.rsplit("_seed", 1)[0] if chapter != "comparison" else "race"
    plots = {("alexnet", "relu_vs_tanh"): "plot_figure1", ("alexnet", "lrn"): "plot_lrn",
             ("vgg", "train_configs"): None, ("nin", "train_heads"): "plot_heads",
             ("googlenet", "train"): "plot_training", ("resnet", "depth"): "plot_training_error",
             ("comparison", "race"): "plot_race"}  # fmt: skip
    if (chapter, base) not in plots:
        return None
    attr = plots[(chapter, base)]
    return common.plot_histories if attr is None else getattr(page, attr)


CASES = [
    (chapter, name, profile)
    for chapter in CHAPTERS
    for name, fn in chapter_module(chapter).EXPERIMENTS.items()
    if "settings" in inspect.signature(fn).parameters
    for profile in ARCHIVED_PROFILES
    if "_seed" not in name or profile == "standard" or chapter == "comparison"
]


@pytest.mark.parametrize(("chapter", "name", "profile"), CASES, ids=[f"{c}-{n}-{p}" for c, n, p in CASES])
def test_long_profile_code_paths_run_on_tiny_data(chapter: str, name: str, profile: str, cifar10,
                                                   tmp_path, monkeypatch, capsys) -> None:  # fmt: skip
    module = chapter_module(chapter)
    fn = module.EXPERIMENTS[name]
    table = _settings_table(fn)
    if table is None:  # a seeded() wrapper: the wrapped function names the table
        table = _settings_table(module.EXPERIMENTS[name.rsplit("_seed", 1)[0]])
    assert table is not None and profile in table, f"{chapter}.{name}: no {profile} settings"
    settings = shrink(table[profile])
    params = inspect.signature(fn).parameters
    kwargs: dict[str, Any] = {"profile": profile, "settings": settings}
    if "data" in params:
        kwargs["data"] = cifar10.subset(TINY_TRAIN, TINY_TEST, seed=0)
    result = fn(**kwargs)
    assert isinstance(result, ExperimentResult) and result.profile == profile
    # what reproduce does next: label, pool, validate and write
    result.run_info = {**result.run_info, "profile": profile, "device": "cpu", "precision": "fp32",
                       "torch": "x", "date": "2026-01-01", "wall_time_s": 1.0,
                       "data": result.run_info.get("data", "tiny")}  # fmt: skip
    for h in result.histories.values():
        pool_steps(h)
    path = results.save_archive(result, chapter, name, tmp_path)
    assert results.find_archive(chapter, name, tmp_path, profile=profile) is not None
    assert path == results.archive_path(chapter, name, tmp_path, profile=profile)
    # the chapter draws the archive beside its live run in the same style: it must fit the plot
    plot = _chapter_plot(chapter, name)
    # The chapter's plot shows notes through IPython, which the book's environment always has; a GPU
    # machine running this file as the CUDA smoke (scripts/device_session.sh) may not.
    if plot is not None and importlib.util.find_spec("IPython") is not None:
        monkeypatch.setenv(results.ENV_VAR, str(tmp_path))
        plt.close("all")
        shown = common.show_with_archive(result, chapter, name, plot=plot)
        plt.close("all")
        out = capsys.readouterr().out
        assert shown is not None and "does not match" not in out, out
