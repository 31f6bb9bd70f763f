"""ecg_lib.chapters.common: the chapter's run (profile resolved once), footer and small text helpers."""

import pytest

from ecg_lib.chapters import common
from ecg_lib.profiles import UnknownProfileError


def test_start_chapter_resolves_the_profile_once(monkeypatch, capsys):
    monkeypatch.setenv("ECG_PROFILE", "quick")
    run = common.start_chapter("nin")
    monkeypatch.setenv("ECG_PROFILE", "full")  # later changes do not reach a started chapter
    assert run.profile == "quick" and run.info()["profile"] == "quick"
    run.footer()
    line = capsys.readouterr().out.strip()
    assert line.startswith("Chapter run time: ") and "s of it training" in line
    assert line.endswith("(quick profile)")
    assert common.start_chapter("nin", "full").profile == "full"


def test_a_bad_profile_stops_the_chapter_in_its_first_cell(monkeypatch):
    monkeypatch.setenv("ECG_PROFILE", "bogus")
    with pytest.raises(UnknownProfileError, match="must be one of quick, standard, full"):
        common.start_chapter("nin")


def test_text_helpers():
    assert common.pct(0.1234) == "12.3%" and common.pct(None) == "—" and common.pct(0.5, 2) == "50.00%"
    assert common.markdown_table(["a", "b"], [[1, 2]]) == "| a | b |\n|---|---|\n| 1 | 2 |"
