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
import pytest

from ecg_lib import results
from ecg_lib.chapters import common
from ecg_lib.experiments import CHAPTERS, ExperimentResult, chapter_module, needs_data
from ecg_lib.experiments.settings import ExperimentSettings
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
    """``settings`` with every size, epoch count, repeat count and time budget cut to a few: the shared
    fields of :class:`ExperimentSettings` (training config, subset sizes) alike for every experiment, then
    the few sizes an experiment adds."""
    changes: dict[str, Any] = {}
    if isinstance(settings, ExperimentSettings):
        changes.update(train=tiny_train(settings.train), n_train_per_class=TINY_TRAIN,
                       n_test_per_class=TINY_TEST)  # fmt: skip
    own = {
        "n_test": 20, "lesion_n_test": 20, "probe_batch": 20, "grad_batch": 20, "repeats": 1,
        "sweep_epochs": 1,
        "max_epochs": 2, "random_ks": lambda v: v[:1], "contiguous_lengths": lambda v: v[:1],
        "seeds": lambda v: v[:2], "seconds_per_net": lambda v: None if v is None else 1.0,
        # one candidate rate per recipe and activation: the race's path all the same
        "lrs": lambda v: {r: {a: rates[:1] for a, rates in acts.items()} for r, acts in v.items()},
    }  # fmt: skip
    for f in dataclasses.fields(settings):
        if f.name in own and f.name not in changes:
            cut = own[f.name]
            changes[f.name] = cut(getattr(settings, f.name)) if callable(cut) else cut
    return dataclasses.replace(settings, **changes)


def _settings_table(fn: Any) -> dict[str, Any] | None:
    """The SETTINGS table an experiment function selects from: a seeded() variant names it; otherwise by
    the ``settings`` annotation, in the module that defines the function (the ResNet chapter registers
    the reference networks' experiments too)."""
    if hasattr(fn, "settings_table"):
        return fn.settings_table
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
    if needs_data(fn)
    for profile in ARCHIVED_PROFILES
    if "_seed" not in name or profile == "standard" or chapter == "comparison"
]


@pytest.mark.parametrize(("chapter", "name", "profile"), CASES, ids=[f"{c}-{n}-{p}" for c, n, p in CASES])
def test_long_profile_code_paths_run_on_tiny_data(chapter: str, name: str, profile: str, cifar10,
                                                   tmp_path, monkeypatch, capsys) -> None:  # fmt: skip
    module = chapter_module(chapter)
    fn = module.EXPERIMENTS[name]
    table = _settings_table(fn)
    assert table is not None and profile in table, f"{chapter}.{name}: no {profile} settings"
    settings = shrink(table[profile])
    result = fn(cifar10.subset(TINY_TRAIN, TINY_TEST, seed=0), profile=profile, settings=settings)
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
    # the chapter draws the archive first, with the plot of its live run: it must fit that plot
    plot = _chapter_plot(chapter, name)
    # The chapter's plot shows notes through IPython, which the book's environment always has; a GPU
    # machine running this file as the CUDA smoke (scripts/device_session.sh) may not.
    if plot is not None and importlib.util.find_spec("IPython") is not None:
        monkeypatch.setenv(results.ENV_VAR, str(tmp_path))
        fig = common.archive_figure(chapter, name, plot=plot)
        assert fig is not None and common.quoted_archive(chapter, name) is not None
        unfit = [ax.texts[0].get_text() for ax in fig.axes if ax.texts and "rerun" in ax.texts[0].get_text()]
        assert not unfit, f"{chapter}/{name}: the archive does not fit the chapter's plot"
