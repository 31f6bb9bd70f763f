"""``python -m ecg_lib reproduce all``: every chapter in turn under one time budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecg_lib.chapter_registry import names
from ecg_lib.cli import main


def test_all_runs_every_chapter_in_turn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["reproduce", "all", "--profile", "quick", "--time-budget", "0", "--out", str(tmp_path),
               "--state", str(tmp_path / "state")])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    headers = [line for line in out.splitlines() if line.startswith("== reproduce ")]
    # every registered chapter, in reading order
    assert headers == [f"== reproduce {c} (quick profile)" for c in names()]
    assert names()[-2:] == ("resnet", "comparison")
    assert out.count("time budget of 0 s spent; not started:") == len(names())
    assert f"reproduce all (quick): {len(names())} chapters, 0 failed" in out


def test_all_takes_no_experiment_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reproduce", "all", "--experiments", "depth"]) == 2
    assert "--experiments names one chapter's experiments" in capsys.readouterr().err
