"""The package's top level: the re-exports DEVELOPERS.md promises, loaded lazily."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import ecg_lib


@pytest.mark.parametrize("name", sorted(ecg_lib._EXPORTS))
def test_every_reexport_resolves_to_its_module(name):
    import importlib

    module = importlib.import_module(ecg_lib._EXPORTS[name])
    assert getattr(ecg_lib, name) is getattr(module, name)
    assert name in ecg_lib.__all__ and name in dir(ecg_lib)


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'fitt'"):
        ecg_lib.fitt  # noqa: B018


def test_import_does_not_load_torch():
    code = "import sys, ecg_lib; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------------------------------------
# The house rules of issue 22, checked on the source rather than trusted to review.


LIBRARY = Path(ecg_lib.__file__).parent
MAX_LINES = 500
GLOBAL_STATEMENT = re.compile(r"\s*global\s+\w+(?:\s*,\s*\w+)*\s*")


def _modules() -> list[Path]:
    return sorted(p for p in LIBRARY.rglob("*.py") if "_results" not in p.parts)


def test_no_module_is_over_500_lines():
    long = {str(p.relative_to(LIBRARY)): n for p in _modules()
            if (n := len(p.read_text().splitlines())) > MAX_LINES}  # fmt: skip
    assert not long, f"split these by what changes together (DEVELOPERS.md, Layout): {long}"


@pytest.mark.parametrize("pattern, home", [
    (r"torch\.optim\.(?:SGD|Adam|AdamW)\(|optim\.(?:SGD|Adam|AdamW)\(", "train/setup.py"),
    (r"\bDeviceLoader\(", "train/setup.py"),
    (r"\bDataLoader\(", None),
])  # fmt: skip
def test_one_optimiser_and_one_loader_construction(pattern, home):
    # One trainer: an experiment that builds its own optimiser or loader owns a second training loop.
    sites = [f"{p.relative_to(LIBRARY)}:{i}" for p in _modules()
             for i, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(pattern, line) and not line.lstrip().startswith("#")]  # fmt: skip
    assert all(s.startswith(f"{home}:") for s in sites) if home else not sites, sites
    if home:
        assert sites, f"no construction found in {home}: the pattern is stale"


def test_no_module_level_globals_written_at_run_time():
    # State is passed in (RunContext), never kept in a module: no `global` statement, no ContextVar.
    found = [f"{p.relative_to(LIBRARY)}:{i}" for p in _modules()
             for i, line in enumerate(p.read_text().splitlines(), 1)
             if GLOBAL_STATEMENT.fullmatch(line) or "ContextVar(" in line]  # fmt: skip
    assert not found, found
