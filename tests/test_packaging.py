"""The package as pip installs it: the archived runs travel with it, and runs write outside it.

A non-editable install (a wheel, or pip given the repository URL, as in Colab) puts ``ecg_lib`` in
``site-packages``, away from the checkout's ``results/`` and ``_build/``. ``pyproject.toml`` maps
``results/`` into the package as ``ecg_lib/_results/``; :mod:`ecg_lib.paths` decides where to read and
write.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ecg_lib
from ecg_lib import paths, reproduce, results

REPO = Path(__file__).resolve().parents[1]


def _fake_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ecg_lib.paths at a site-packages-like folder holding ecg_lib/_results/, no pyproject.toml."""
    package = tmp_path / "site-packages" / "ecg_lib"
    (package / "_results" / "nin").mkdir(parents=True)
    monkeypatch.setattr(paths, "_PACKAGE", package)
    monkeypatch.delenv(results.ENV_VAR, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return package


def test_a_checkout_reads_and_writes_its_own_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(results.ENV_VAR, raising=False)
    assert paths.in_checkout()
    assert results.results_dir() == REPO / "results"
    assert results.output_results_dir() == REPO / "results"
    assert reproduce.state_dir() == REPO / "_build" / "reproduce-state"


def test_an_installed_package_reads_its_copy_and_writes_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _fake_install(tmp_path, monkeypatch)
    work = Path.cwd()
    assert not paths.in_checkout()
    assert results.results_dir() == package / "_results"
    assert results.is_archive_root(package / "_results")
    # nothing is written into site-packages: archives, quick results and checkpoints go to the working dir
    assert results.output_results_dir() == work / "results"
    assert results.quick_results_dir() == work / "_build" / "results-quick"
    assert reproduce.state_dir() == work / "_build" / "reproduce-state"
    # $ECG_RESULTS_DIR still wins, for reading and writing
    monkeypatch.setenv(results.ENV_VAR, str(tmp_path / "mine"))
    assert results.results_dir() == results.output_results_dir() == tmp_path / "mine"


def test_reproduce_refuses_quick_results_in_the_packaged_archives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ecg_lib.cli import main

    package = _fake_install(tmp_path, monkeypatch)
    rc = main(["reproduce", "nin", "--profile", "quick", "--out", str(package / "_results")])
    assert rc == 2 and "standard- and full-profile archives only" in capsys.readouterr().err


def test_the_package_list_names_every_subpackage() -> None:
    # pyproject.toml lists the packages explicitly (so that it can map results/ into the wheel): a new
    # subpackage missing from the list would be missing from every pip install
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    code = sorted(
        ".".join(p.relative_to(REPO).parts[:-1]) for p in (REPO / "ecg_lib").rglob("__init__.py")
    )
    assert sorted(p for p in config["packages"] if p != "ecg_lib._results") == code
    assert config["package-dir"] == {"ecg_lib._results": "results"}


_CHECK = r"""
import json, sys
from pathlib import Path
import ecg_lib
from ecg_lib import paths, reproduce, results
root = results.results_dir()
found = []
for path in results.list_archives():
    chapter, *rest = path.relative_to(root).parts
    profile = "full" if rest[0] == "full" else "standard"
    result = results.find_archive(chapter, path.stem, profile=profile)
    found.append([str(path.relative_to(root)), result.profile])
print(json.dumps({
    "package": str(Path(ecg_lib.__file__).resolve().parent),
    "root": str(root.resolve()),
    "found": found,
    "writes": [str(p) for p in (results.output_results_dir(), results.quick_results_dir(),
                                reproduce.state_dir())],
}))
"""


@pytest.mark.slow
def test_a_non_editable_install_finds_every_archive(tmp_path: Path) -> None:
    # build from a copy of what a git clone holds, so the build leaves nothing in the checkout
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("ecg_lib", "results"):
        shutil.copytree(REPO / name, src / name, ignore=ignore)
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(site), str(src)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in (results.ENV_VAR, "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    run = subprocess.run([sys.executable, "-c", _CHECK], cwd=elsewhere, env=env, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert Path(out["package"]) == (site / "ecg_lib").resolve()
    assert Path(out["root"]) == (site / "ecg_lib" / "_results").resolve()
    committed = results.list_archives(root=results.repository_results_dir())
    expected = sorted(str(p.relative_to(REPO / "results")) for p in committed)
    assert len(expected) >= 10
    assert sorted(name for name, _ in out["found"]) == expected
    assert all(profile in ("standard", "full") for _, profile in out["found"])
    for written in out["writes"]:
        assert Path(written).is_relative_to(elsewhere.resolve()), written
    version = subprocess.run([sys.executable, "-m", "ecg_lib", "--version"], cwd=elsewhere, env=env,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"ecg_lib {ecg_lib.__version__}"
