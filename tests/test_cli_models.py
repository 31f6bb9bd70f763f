"""`python -m ecg_lib models` and `summary`."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ecg_lib.cli import build_parser, main
from ecg_lib.models import list_models


def test_models_lists_every_model_with_params_and_macs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--family", "vgg", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert list(rows) == list_models("vgg")
    assert (rows["vgg_d"]["params"], rows["vgg_d"]["macs"]) == (138_357_544, 15_470_264_320)
    assert rows["vgg_cifar"]["input"] == [3, 32, 32]


def test_models_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--family", "alexnet"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["model", "family", "input", "params", "MACs"]
    assert lines[1].split()[:5] == ["alexnet", "alexnet", "3x227x227", "61.0", "M"]
    assert "724.4 M" in lines[1]
    assert "multiply-accumulates" in out


def test_models_unknown_family(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--family", "lenet"]) == 2
    assert "no models in family 'lenet'" in capsys.readouterr().err


def test_summary_json_at_native_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "alexnet", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["params"], d["macs"], d["input"]) == (60_965_224, 724_406_816, [3, 227, 227])
    assert d["flops"] == 2 * d["macs"]
    assert d["layers"][0]["output_shape"] == [96, 55, 55]


def test_summary_with_input_classes_and_options(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["summary", "vgg_cifar", "--input", "3x48x48", "--num-classes", "100", "--option", "config=B"]
    argv += ["--option", "width=0.5", "--option", "batch_norm=True", "--json"]
    assert main(argv) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["input"] == [3, 48, 48]
    assert d["layers"][-1]["output_shape"] == [100]
    assert sum(layer["kind"] == "BatchNorm2d" for layer in d["layers"]) == 10


def test_summary_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summary", "nin_cifar"]) == 0
    out = capsys.readouterr().out
    assert "features.mlpconv1.cccp1" in out
    assert "parameters: 966,986" in out and "MACs:       222,486,528" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["summary", "alexnet", "--input", "3x32x32"], "227 <= H, W <= 258"),
        (["summary", "alexnett"], "Did you mean: alexnet"),
        (["summary", "alexnet", "--num-classes", "0"], "positive integer"),
        (["summary", "vgg_d", "--input", "3by224"], "3x224x224"),
        (["summary", "vgg_cifar", "--option", "config"], "KEY=VALUE"),
        (["summary", "vgg_cifar", "--option", "config=Z"], "Table 1 has"),
    ],
)
def test_summary_errors_say_what_is_wrong(argv: list[str], message: str, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_parser_has_the_commands() -> None:
    parser = build_parser()
    assert parser.parse_args(["models"]).func.__name__ == "_cmd_models"
    assert parser.parse_args(["summary", "vgg_a"]).func.__name__ == "_cmd_summary"
    with pytest.raises(SystemExit):
        parser.parse_args([])


def test_python_dash_m_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ecg_lib", "summary", "alexnet_cifar", "--json"],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["params"] == 89_578
