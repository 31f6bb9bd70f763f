"""`torchrun --nproc_per_node=2 -m ecg_lib train ...`: DistributedDataParallel on the CPU (gloo)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ecg_lib.train import History

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_torchrun_two_processes_train_on_disjoint_shards(tmp_path, cifar10):
    del cifar10  # loaded (and cached) once here, so both ranks read the decoded cache
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    out = tmp_path / "history.json"
    cmd = [torchrun, "--standalone", "--nproc_per_node=2", "-m", "ecg_lib", "train", "resnet20",
           "--subset", "200", "--test-subset", "100", "--epochs", "2", "--batch-size", "40",
           "--quiet", "--out", str(out)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread per rank on a 2-core machine
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    # only rank 0 prints the result line
    assert proc.stdout.count("resnet20: test error ") == 1

    h = History.load(out)
    assert h.info["world_size"] == 2 and h.info["backend"] == "gloo"
    # 200 images split between two ranks: 100 each, no overlap, all covered
    assert h.info["shards"] == {"sizes": [100, 100], "union": 200, "overlap": 0}
    # global batch 40 = 20 per rank: 5 steps per epoch on each rank
    assert h.steps_per_epoch == 5 and len(h.train_loss) == 10
    assert h.epochs_done == 2 and h.test_error[-1] is not None
    assert h.info["n_test"] == 100  # evaluated on the whole test subset (sharded, then summed)
