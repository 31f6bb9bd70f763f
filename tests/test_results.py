"""The results archive (ecg_lib.results) and `python -m ecg_lib reproduce`.

The archive these tests show and validate is made by a real quick run: a two-network race of the
comparison chapter on a few CIFAR-10 images, run through the CLI into a temporary results folder.
"""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ecg_lib import results
from ecg_lib.chapters import common
from ecg_lib.chapters import comparison as comparison_page
from ecg_lib.cli import main
from ecg_lib.experiments import ExperimentResult, comparison
from ecg_lib.train import TrainConfig

TINY_MODELS = ("alexnet_cifar", "resnet20")
# 20 images per class, 3 s per network: exercises the quick race's per-step time budget and final
# scoring, in seconds.
TINY = comparison.RaceSettings(
    n_train_per_class=20, n_test_per_class=10, seconds_per_net=3.0, max_epochs=3,
    train=TrainConfig(epochs=3, batch_size=50, lr=0.05, nesterov=True, schedule="warmup_cosine", quiet=True),
)  # fmt: skip
# the profile is explicit: on a GPU machine the default would be the full one
QUICK = ("reproduce", "comparison", "--profile", "quick")
TINY_RACE = partial(comparison.race, models=TINY_MODELS, settings=TINY)


@pytest.fixture(scope="module")
def tiny_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Runs ``reproduce comparison --experiments tiny`` into a temporary root and returns the root."""
    root = tmp_path_factory.mktemp("results")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(comparison.EXPERIMENTS, "tiny", TINY_RACE)
        rc = main([*QUICK, "--experiments", "tiny", "--out", str(root)])
    assert rc == 0
    return root


@pytest.fixture(scope="module")
def full_archive(tiny_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny archive relabelled as a standard- and a full-profile one, each in its place: what a
    chapter shows (quick results never are)."""
    root = tmp_path_factory.mktemp("full")
    for profile in ("standard", "full"):
        d = json.loads((tiny_archive / "comparison" / "tiny.json").read_text())
        d["profile"] = d["run_info"]["profile"] = profile
        path = results.archive_path("comparison", "tiny", root, profile=profile)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(d))
    return root


def load_quick(path: Path) -> ExperimentResult:
    return results.load_archive(path, profiles=("quick",))


def test_reproduce_writes_a_valid_archive(tiny_archive: Path) -> None:
    path = tiny_archive / "comparison" / "tiny.json"
    assert results.list_archives(root=tiny_archive) == [path]
    archived = load_quick(path)
    assert archived.profile == "quick" and archived.run_info["profile"] == "quick"
    assert set(archived.histories) == set(TINY_MODELS)
    for key in (*results.REQUIRED_RUN_INFO, "data", "command"):
        assert key in archived.run_info, key
    assert "subset 20/class train, 10/class test" in archived.run_info["data"]
    assert archived.run_info["command"].startswith("python -m ecg_lib reproduce comparison --profile quick")
    for name in TINY_MODELS:
        net = archived.metrics["nets"][name]
        assert 0 <= net["epochs"] <= 3 and net["train_per_class"] == 20
        assert net["images_seen"] == archived.histories[name].extra["images_seen"] >= 1
        assert 0.0 <= net["test_error"] <= 1.0
        # a timed race's History has one entry per optimisation step
        assert archived.histories[name].epochs_done == net["steps"] >= 1
    assert archived.metrics["nets"]["resnet20"]["params"] == 269_722
    assert archived.metrics["nets"]["alexnet_cifar"]["macs"] == 12_298_240
    # the file is exactly the ExperimentResult JSON: it round-trips
    assert ExperimentResult.from_dict(json.loads(path.read_text())).to_dict() == archived.to_dict()


def test_a_chapter_with_an_archive_shows_it_first(tiny_archive: Path, full_archive: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setenv(results.ENV_VAR, str(full_archive))
    live = load_quick(tiny_archive / "comparison" / "tiny.json")  # stands in for the live run
    # the chapter quotes the full profile's run, the paper-scale one, where it exists
    archived = common.quoted_archive("comparison", "tiny")
    assert archived is not None and archived.profile == "full"
    assert {**archived.to_dict(), "profile": "quick", "run_info": live.run_info} == live.to_dict()
    fig = common.archive_figure("comparison", "tiny", plot=comparison_page.plot_race)
    titles = [ax.get_title() for ax in fig.axes]
    # the standard profile's archive, then the full profile's, each labelled with device and date
    assert len(titles) == 2 and titles[0].startswith("archived: standard profile")
    assert titles[1].startswith("archived: full profile")
    device = archived.run_info["device"].split(": ", 1)[-1]
    assert device in titles[1] and archived.run_info["date"][:10] in titles[1]
    # the reader's run, folded below it, is drawn alike: one line per network, same axis labels
    (mine,) = common.live_figure(live, plot=comparison_page.plot_race).axes
    assert mine.get_title().startswith("your run: quick profile")

    def curves(ax: plt.Axes) -> list[str]:
        return [line.get_label() for line in ax.lines if not line.get_label().startswith("_")]

    assert curves(mine) == curves(fig.axes[0]) == curves(fig.axes[1]) == list(TINY_MODELS)
    assert mine.get_xlabel() == fig.axes[1].get_xlabel()
    assert plt.get_fignums() == []  # built without pyplot: each shows once, as its cell's output
    # how each archived run was made: its data named by quality, its images, and (standard profile only)
    # how it departs from the paper, from the chapter's table ("tiny" has none)
    text = common.archive_summary("comparison", "tiny")
    assert text.count("**Archived standard run**") == 1 and text.count("**Archived full run**") == 1
    info = archived.run_info
    assert f"{info['n_train']:,} training and {info['n_test']:,} test images" in text
    assert "departs from the paper" not in text
    monkeypatch.setitem(comparison.STANDARD_DEPARTURES, "tiny", "Five minutes per network.")
    text = common.archive_summary("comparison", "tiny")
    assert text.count("How it departs from the paper, and why: Five minutes") == 1


def test_an_archive_that_no_longer_fits_the_plot_is_reported(
    tiny_archive: Path, full_archive: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(results.ENV_VAR, str(full_archive))

    def plot(result: ExperimentResult, ax: plt.Axes) -> None:
        ax.plot(result.metrics["new_figure"])  # the experiment grew a metric its archives do not have

    fig = common.archive_figure("comparison", "tiny", plot=plot)
    assert len(fig.axes) == 2
    for ax in fig.axes:  # each panel says so instead of failing the page
        assert not ax.lines and "rerun `reproduce`" in ax.texts[0].get_text()


def test_without_an_archive_the_chapter_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(results.ENV_VAR, str(tmp_path))
    assert common.archive_figure("comparison", "tiny") is None
    assert common.quoted_archive("comparison", "tiny") is None
    text = common.archive_summary("comparison", "tiny")
    assert text.startswith("No archived run of this experiment exists yet")
    assert "reproduce comparison --profile standard" in text and "the only evidence" in text


def _drop(key: str):
    def edit(d: dict) -> None:
        del d["histories"]["resnet20"][key]

    return edit


def _set(*path_and_value):
    *path, value = path_and_value

    def edit(d: dict) -> None:
        target = d
        for k in path[:-1]:
            target = target[k]
        target[path[-1]] = value

    return edit


MALFORMED = {
    "history field missing": (_drop("test_error"), "History fields missing: test_error"),
    "error above 1": (_set("histories", "resnet20", "epoch_train_error", 0, 1.5), "not an error fraction"),
    "per-epoch lengths differ": (_set("histories", "resnet20", "train_time_s", []), "per-epoch lists differ"),
    "text for a number": (_set("histories", "resnet20", "lr", 0, "0.1"), r"'lr'\[0\] must be a number"),
    "no date": (lambda d: d["run_info"].pop("date"), "run_info lacks date"),
    "unknown profile": (_set("profile", "medium"), "'profile' must be one of quick, standard, full"),
    "history not an object": (_set("histories", "resnet20", [1, 2]), "a History must be a JSON object"),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_malformed_archives_raise_a_clear_error(case: str, tiny_archive: Path, tmp_path: Path) -> None:
    edit, message = MALFORMED[case]
    d = json.loads((tiny_archive / "comparison" / "tiny.json").read_text())
    edit(d)
    bad = tmp_path / "comparison" / "tiny.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps(d))
    with pytest.raises(results.ArchiveError, match=message) as info:
        load_quick(bad)
    assert str(bad) in str(info.value) and "reproduce" in str(info.value)
    with pytest.raises(results.ArchiveError):
        results.find_archive("comparison", "tiny", root=tmp_path)


def test_not_json_is_an_archive_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text('{"name": ')
    with pytest.raises(results.ArchiveError, match="not valid JSON"):
        results.load_archive(bad)
    with pytest.raises(results.ArchiveError, match="no such archive"):
        results.load_archive(tmp_path / "missing.json")


def test_committed_archives_are_long_runs_in_their_place_and_valid() -> None:
    # results/ holds standard- and full-profile archives only, each written by `reproduce` in the place
    # its profile says (see results/README.md)
    for path in results.list_archives(root=results.repository_results_dir()):
        archived = results.load_archive(path)
        assert archived.profile in ("standard", "full"), f"{path}: quick results do not belong in results/"
        chapter = path.parent.parent.name if archived.profile == "full" else path.parent.name
        root = results.repository_results_dir()
        assert path == results.archive_path(chapter, path.stem, root, profile=archived.profile)
        assert archived.run_info["command"].startswith(f"python -m ecg_lib reproduce {chapter} ")


def test_committed_archives_time_their_own_fits() -> None:
    # fit_time_s covers at least the archive's networks' own clocks (older archives add the sweeps' fits
    # they do not keep), and never the process's other experiments: race_seed2 once recorded 3,262.6 s of
    # fitting in a 1,630.4 s run. It exceeds the wall time only where a run was resumed from an earlier
    # process's checkpoints, and then the page says so instead of showing the last process's minutes as
    # the run's time.
    for path in results.list_archives(root=results.repository_results_dir()):
        archived = results.load_archive(path)
        info = archived.run_info
        if "fit_time_s" not in info or not archived.histories:
            continue
        own = sum(h.wall_time_s[-1] for h in archived.histories.values() if h.wall_time_s)
        fit, wall = info["fit_time_s"], info["wall_time_s"]
        assert fit >= own - 1.0, path
        resumed = any(h.info.get("resumed_from_epoch") for h in archived.histories.values())
        assert fit <= wall + 1.0 or resumed, path
        assert ("resumed from checkpoints" in common.time_text(info)) == (fit > wall + 1.0), path


def test_reproduce_keeps_quick_results_out_of_the_repository(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main([*QUICK, "--out", str(results.repository_results_dir())])
    assert rc == 2
    assert "standard- and full-profile archives only" in capsys.readouterr().err


def test_reproduce_errors_name_what_exists(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "no_such_chapter"]) == 2
    assert "known chapters:" in capsys.readouterr().err
    assert main(["reproduce", "comparison", "--experiments", "race_seed0,nope"]) == 2
    assert "has no experiment 'nope'; it has: race_seed0, race_seed1, race_seed2" in capsys.readouterr().err


def test_reproduce_time_budget_and_archived_experiments_are_skipped(
        tiny_archive: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    before = os.environ.get("ECG_PROFILE")
    assert main([*QUICK, "--time-budget", "0", "--out", str(tiny_archive)]) == 0
    out = capsys.readouterr().out
    assert "not started: race_seed0, race_seed1, race_seed2" in out
    assert "0 written, 0 already archived, 0 failed, 3 not started" in out
    path = tiny_archive / "comparison" / "tiny.json"
    stamp = path.stat().st_mtime_ns
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(comparison.EXPERIMENTS, "tiny", TINY_RACE)
        rc = main([*QUICK, "--experiments", "tiny", "--out", str(tiny_archive)])  # skipped by default
    assert rc == 0 and path.stat().st_mtime_ns == stamp
    assert "archive exists, skipped" in capsys.readouterr().out
    assert os.environ.get("ECG_PROFILE") == before  # reproduce puts the caller's profile back


def test_archive_locations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(results.ENV_VAR, raising=False)
    repo = Path(__file__).resolve().parents[1]
    assert results.results_dir() == repo / "results"
    assert results.quick_results_dir() == repo / "_build" / "results-quick"
    monkeypatch.setenv(results.ENV_VAR, str(tmp_path))
    assert results.archive_path("resnet", "depth") == tmp_path / "resnet" / "depth.json"
    assert results.archive_path("resnet", "depth", profile="standard") == tmp_path / "resnet" / "depth.json"
    full = results.archive_path("resnet", "depth", profile="full")
    assert full == tmp_path / "resnet" / "full" / "depth.json"
    with pytest.raises(ValueError, match="profile must be one of"):
        results.archive_path("resnet", "depth", profile="long")


def test_an_archive_in_the_wrong_place_is_refused(full_archive: Path, tmp_path: Path) -> None:
    # a full-profile result copied to the standard place is an error, never shown as a standard run
    bad = tmp_path / "comparison" / "tiny.json"
    bad.parent.mkdir()
    bad.write_bytes(results.archive_path("comparison", "tiny", full_archive, profile="full").read_bytes())
    with pytest.raises(results.ArchiveError, match="'full'-profile result where only standard ones belong"):
        results.find_archive("comparison", "tiny", tmp_path)
    assert results.find_archive("comparison", "tiny", tmp_path, profile="full") is None
    found = results.find_archives("comparison", "tiny", full_archive)
    assert [(p, r.profile) for p, r in found.items()] == [("standard", "standard"), ("full", "full")]
    assert len(results.list_archives("comparison", full_archive)) == 2
    with pytest.raises(ValueError, match="only standard, full results are archived"):
        results.find_archive("comparison", "tiny", full_archive, profile="quick")
    with pytest.raises(ValueError, match="plain file name"):
        results.archive_path("../etc", "x")


def test_every_trained_standard_experiment_says_how_it_departs_from_the_paper() -> None:
    from ecg_lib.experiments import CHAPTERS, chapter_module, departures, needs_data

    for chapter in CHAPTERS:
        for name, fn in chapter_module(chapter).EXPERIMENTS.items():
            trained = needs_data(fn)  # every experiment but the arithmetic ones measures on CIFAR-10
            text = departures(chapter, name)
            if trained:
                assert text and len(text) > 80, f"{chapter}/{name}: no STANDARD_DEPARTURES entry"
            assert departures(chapter, name, "full") is None
    assert departures("alexnet", "lrn_seed1") == departures("alexnet", "lrn")
    assert departures("comparison", "race_seed2") == comparison.STANDARD_DEPARTURES["race"]


def test_seeds_of_one_curve_share_its_colour_in_both_panels() -> None:
    # VGG's live run has curves A, A-LRN, D; its archive A/seed0, A/seed1, A-LRN/seed0, ... (sorted, so
    # A-LRN first). Each configuration keeps its live colour; the seeds differ by line style.
    from ecg_lib.train import History

    def result(keys: list[str]) -> ExperimentResult:
        hs = {k: History(config={}, steps_per_epoch=1, test_error=[0.5, 0.4]) for k in keys}
        return ExperimentResult("x", "quick", histories=hs)

    live = result(["A", "A-LRN", "D"])
    archived = result(sorted(f"{c}/seed{s}" for c in ("A", "A-LRN", "D") for s in (0, 1)))
    assert list(archived.histories)[:2] == ["A-LRN/seed0", "A-LRN/seed1"]
    aligned = common.in_live_order(archived, live)
    assert list(aligned.histories) == ["A/seed0", "A/seed1", "A-LRN/seed0", "A-LRN/seed1", "D/seed0",
                                       "D/seed1"]  # fmt: skip
    fig, (left, right) = plt.subplots(1, 2)
    common.plot_histories(live, left)
    common.plot_histories(aligned, right)
    live_colour = {line.get_label(): line.get_color() for line in left.lines}
    for line in right.lines:
        config, seed = line.get_label().split("/seed")
        assert line.get_color() == live_colour[config]
        assert line.get_linestyle() == ("-" if seed == "0" else "--")
    plt.close(fig)
