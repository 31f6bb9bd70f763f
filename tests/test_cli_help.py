"""The command line's help and version: what a reader sees before running anything."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

import ecg_lib
from ecg_lib.cli import build_parser, main


def _parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {"": parser, **sub.choices}


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"ecg_lib {ecg_lib.__version__}"


def test_version_through_python_dash_m() -> None:
    done = subprocess.run([sys.executable, "-m", "ecg_lib", "--version"], capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"ecg_lib {ecg_lib.__version__}"


@pytest.mark.parametrize("command", list(_parsers()))
def test_help_names_each_choice_and_default_once(command: str) -> None:
    parser = _parsers()[command]
    for action in parser._actions:
        if action.choices and not isinstance(action, argparse._SubParsersAction):
            choices = list(action.choices)
            assert len(choices) == len(set(choices)), f"{action.option_strings}: {choices}"
        text = (action.help or "") % {"default": action.default, "prog": parser.prog}
        assert text.count("default") <= 1, f"{command} {action.option_strings}: {text!r}"
    help_text = parser.format_help()
    assert "%%" not in help_text


def test_top_level_help_is_plain_text() -> None:
    text = build_parser().format_help()
    assert "``" not in text and ":mod:" not in text and ":func:" not in text
    for command in ("models", "summary", "train", "reproduce", "pretrained"):
        assert command in text


def test_the_ecg_script_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    # the `ecg` console script (pyproject.toml) runs the same main(); its usage line says `ecg`
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/ecg", "--help"])
    assert build_parser().prog == "ecg"
    monkeypatch.setattr(sys, "argv", ["/x/ecg_lib/__main__.py", "--help"])
    assert build_parser().prog == "python -m ecg_lib"


def test_a_missing_torch_is_named(tmp_path) -> None:
    code = "import sys; sys.modules['torch'] = None; from ecg_lib.cli import main; sys.exit(main(['models']))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          check=False)  # fmt: skip
    assert done.returncode == 2
    assert "ecg_lib needs PyTorch" in done.stderr and "Traceback" not in done.stderr
