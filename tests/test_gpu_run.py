"""scripts/gpu_run.sh's exits: a spent budget and a missing PyTorch are failures that say what happened."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "gpu_run.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                                reason="needs bash and coreutils")  # fmt: skip


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=300, env=env,
                          check=False)  # fmt: skip


def _env(python_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GPU_RUN_BUDGET_S"}
    env["PATH"] = f"{python_dir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO)
    # the script prefers the checkout's .venv (CI makes one there): name this test's Python explicitly
    env["GPU_RUN_PYTHON"] = str(python_dir / "python3")
    return env


def test_a_spent_budget_is_a_failure(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = bin_dir / "python3"  # this test's Python (a symlink would lose its venv)
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    env = {**_env(bin_dir), "ECG_RESULTS_DIR": str(tmp_path / "results")}
    done = _run(["--profile", "quick", "--budget", "1", "--chapters", "nin,vgg"], env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "nin: not run, the budget is spent" in done.stdout
    assert "vgg: not run, the budget is spent" in done.stdout
    assert "budget=1s" in done.stdout


def test_a_python_without_torch_is_named(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"
    fake.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n")
    fake.chmod(0o755)
    done = _run(["--budget", "60"], _env(bin_dir))
    assert done.returncode == 2
    assert "cannot import PyTorch" in done.stderr and "pip install -e ." in done.stderr
    assert "sees no CUDA GPU" not in done.stderr and "ModuleNotFoundError" not in done.stderr
