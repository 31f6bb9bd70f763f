"""The package's top level: the re-exports DEVELOPERS.md promises, loaded lazily."""

import subprocess
import sys

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
