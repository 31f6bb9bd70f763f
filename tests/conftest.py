"""Shared fixtures. The book fixtures live in book_fixtures.py and are imported here so that every test
module (the browser test, the chapter tests) shares one session-scoped book build.

Data: when ``ECG_DATA_DIR`` is unset and the offline copy ``<repo>/../shared/data`` exists (as on the
development machines and in CI's clone), tests read CIFAR-10 from there. The decoded copy goes to the
user's cache folder (``~/.cache/ecg_lib`` unless ``ECG_CACHE_DIR`` says otherwise), which persists
across runs, so only the first session pays for decoding the JPEGs.
"""

import os
from pathlib import Path

import pytest
from book_fixtures import book_build, chromium, executed_notebook  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

if not os.environ.get("ECG_DATA_DIR") and SHARED_DATA.is_dir():
    os.environ["ECG_DATA_DIR"] = str(SHARED_DATA)


@pytest.fixture(scope="session")
def cifar10():
    """The whole of CIFAR-10 (a :class:`ecg_lib.data.CIFAR10Data`), loaded once per test session."""
    from ecg_lib.data import load_cifar10

    return load_cifar10()


@pytest.fixture(scope="session")
def small(cifar10):
    """10 training and 5 test images per class of CIFAR-10 (the bad-input tests' tiny data set)."""
    return cifar10.subset(10, 5, seed=0)


@pytest.fixture
def one_thread():
    """Run on one thread: for tiny batch-1 passes, where intra-op threads on a shared 2-core machine
    spin against other processes (resnet1202's forward took 20x longer with two)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)



