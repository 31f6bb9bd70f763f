"""The notebooks' setup cell (the first code cell of every page, word for word templates/chapter.md's):
what it does where ecg_lib is missing, in Colab or in a local Jupyter kernel, and where it is present."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml

import ecg_lib

ROOT = Path(__file__).resolve().parents[1]
REPO_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
SETUP = next(c for c in jupytext.read(ROOT / "notebooks" / "nin.ipynb").cells if c.cell_type == "code").source


def _run_setup(monkeypatch: pytest.MonkeyPatch, *, installed: bool) -> list[list[str]]:
    """Execute the cell with pip replaced by a recorder; ``installed``: whether ecg_lib is found."""
    calls: list[list[str]] = []
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: object):
        if name == "ecg_lib":
            return real_find_spec(name) if installed or calls else None  # found once pip has run
        return real_find_spec(name, *args)

    def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        calls.append(list(cmd))
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)  # a local kernel, not Colab
    exec(compile(SETUP, "setup-cell", "exec"), {})
    return calls


def test_without_ecg_lib_it_installs_the_pinned_release(monkeypatch, capsys) -> None:
    monkeypatch.delenv("ECG_LIB_SOURCE", raising=False)
    calls = _run_setup(monkeypatch, installed=False)
    source = f"git+{REPO_URL}@v{ecg_lib.__version__}"
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", source]]
    out = capsys.readouterr().out
    assert f"pip install {source}" in out and "ecg_lib installed" in out and "ECG_DATA_DIR" in out


def test_the_source_can_be_overridden(monkeypatch, capsys) -> None:
    monkeypatch.setenv("ECG_LIB_SOURCE", "/tmp/ecg_lib-0.1.0-py3-none-any.whl")
    calls = _run_setup(monkeypatch, installed=False)
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", "/tmp/ecg_lib-0.1.0-py3-none-any.whl"]]


def test_with_ecg_lib_it_does_nothing(monkeypatch, capsys) -> None:
    assert _run_setup(monkeypatch, installed=True) == []
    assert capsys.readouterr().out == ""


def test_readme_links_every_notebook_to_colab() -> None:
    readme = (ROOT / "README.md").read_text()
    repo = REPO_URL.removeprefix("https://github.com/")
    pages = [*sorted((ROOT / "notebooks").glob("*.ipynb")), ROOT / "book" / "scoreboard.ipynb"]
    for page in pages:
        rel = page.relative_to(ROOT).as_posix()
        link = f"(https://colab.research.google.com/github/{repo}/blob/v{ecg_lib.__version__}/{rel})"
        assert link in readme, f"README.md has no Colab badge for {rel}"


def test_a_downloaded_notebook_runs_in_a_local_kernel(tmp_path: Path) -> None:
    # Issue 26: a page's .ipynb, downloaded and opened in a local Jupyter outside the repository, runs top
    # to bottom after its own setup cell (here ecg_lib is installed, so the cell installs nothing). The
    # scoreboard trains nothing, so the whole notebook runs in seconds; it reads the archives the library
    # ships, not files beside the notebook.
    import nbclient
    import nbformat

    nb = nbformat.read(ROOT / "book" / "scoreboard.ipynb", as_version=4)
    nbformat.write(nb, tmp_path / "scoreboard.ipynb")  # the downloaded copy, alone in its folder
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})  # fmt: skip
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(str(o.get("data", {}).get("text/markdown", "")) + str(o.get("text", "")) for o in outputs)
    assert "claims of the papers" in text  # the count, computed from the shipped archives
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scoreboard.ipynb"]  # wrote nothing beside it
