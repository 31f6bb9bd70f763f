#!/usr/bin/env bash
# The prepared command for one lent GPU session (issue 13, item 7): the CUDA smoke of every standard- and
# full-profile code path, then the standard profile's experiments, several at once on the one GPU, then
# everything that came out packed into $OUT for the trip back.
#
#   bash scripts/device_session.sh COMMIT [TOTAL_S] [JOBS] [QUEUE]
#
# COMMIT names the commit the working tree is (the GPU machine receives no git history; the archives are
# labelled with it). TOTAL_S (default 560) is how long the whole script may take: the training budget of
# scripts/gpu_run.sh is what is left of it after loading the data, less 40 s for stopping and packing, so
# the command ends inside a device call's 10-minute limit with its results packed. JOBS (default 6)
# how many experiments share the GPU at once, QUEUE the experiments in order (default below: the longest
# and the most needed first; the comparison race is left out, as its budget is wall time per network).
# Data: ./data/ (carried: cifar10-jpeg.tar.gz and peer/), else $ECG_DATA_DIR.
#
# Back in $OUT (at most 8 files): results.tar.gz (the new archives under results/), logs.tar.gz (one
# output file per experiment, the smoke's log, GPU utilisation every 5 s, and this script's own output as
# session.txt).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
commit="${1:?usage: device_session.sh COMMIT [TOTAL_S] [JOBS] [QUEUE]}"
total="${2:-560}"
jobs="${3:-6}"
# The deciding runs of issue 23 come first (ResNet-110, the wide-grid AlexNet race, NIN's seeds with per-image
# bits, VGG without batch norm); experiments that already have an archive are skipped by reproduce, so the
# rest of the list only fills gaps.
queue="${4:-resnet:depth110,resnet:depth110_seed1,alexnet:relu_vs_tanh_wide,alexnet:relu_vs_tanh_wide_seed1,\
nin:train_heads,nin:train_heads_seed1,nin:train_heads_seed2,nin:train_heads_seed3,\
vgg:train_configs_nobn,vgg:train_configs_nobn_seed1,\
alexnet:relu_vs_tanh,alexnet:relu_vs_tanh_seed1,resnet:depth_seed1,vgg:train_configs,\
googlenet:train,googlenet:train_seed1,alexnet:lrn,alexnet:lrn_seed1,\
resnet:reference_depth,resnet:reference_lesions,resnet:reference_block_stats,resnet:tables,\
alexnet:architecture,googlenet:counts}"

out="${OUT:-$root/_build/device-out}"
logs="$root/_build/device-logs"
mkdir -p "$out" "$logs"
exec > >(tee "$logs/session.txt") 2>&1
export PYTHONUNBUFFERED=1 PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
export ECG_GIT_COMMIT="$commit"
export ECG_CACHE_DIR="${ECG_CACHE_DIR:-/tmp/ecg-cache}"
[[ -f "$root/data/cifar10-jpeg.tar.gz" ]] && export ECG_DATA_DIR="$root/data"
export ECG_RUN_NOTE="scripts/device_session.sh: up to $jobs experiments shared one GPU at once \
(gpu_run.sh --jobs $jobs), so wall times are those of a shared device, not of a run alone"
python=python3
command -v python3 >/dev/null || python=python
[[ -x "$root/.venv/bin/python" ]] && python="$root/.venv/bin/python"
t_start=$(date +%s)

echo "== device"
nvidia-smi -L 2>&1 | head -4
"$python" -c "import torch, sys; print('python', sys.version.split()[0], '| torch', torch.__version__,
    '| cuda', torch.version.cuda, '|', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'NO GPU')"
nproc
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 5 > "$logs/gpu_util.csv" 2>&1 &
util_pid=$!

echo "== data (decoded once into $ECG_CACHE_DIR, then read by every process)"
"$python" -c "
import time; t = time.perf_counter()
from ecg_lib.data import load_cifar10
d = load_cifar10()
print(d.source, '|', tuple(d.train_x.shape), tuple(d.test_x.shape), '| %.1f s' % (time.perf_counter() - t))
" || { echo "device_session: CIFAR-10 did not load; nothing run" >&2; exit 2; }

echo "== CUDA smoke of every standard and full code path (tests/test_profile_smoke.py), in the background"
# Run from a copy beside a conftest of its own: the tests' conftest imports the book's fixtures, whose
# packages (nbformat, Jupyter) the GPU image need not have.
smoke=/tmp/ecg-smoke
rm -rf "$smoke" && mkdir -p "$smoke"
cp tests/test_profile_smoke.py "$smoke/"
cat > "$smoke/conftest.py" <<'PY'
import pytest


@pytest.fixture(scope="session")
def cifar10():
    from ecg_lib.data import load_cifar10

    return load_cifar10()
PY
xdist=()
"$python" -c "import xdist" 2>/dev/null && xdist=(-n 4)
(cd "$smoke" && OMP_NUM_THREADS=2 timeout 400 "$python" -m pytest -q -p no:cacheprovider "${xdist[@]}" test_profile_smoke.py \
    > "$logs/cuda_smoke.txt" 2>&1; echo "exit $?" >> "$logs/cuda_smoke.txt") &
smoke_pid=$!

budget=$(( total - ($(date +%s) - t_start) - 40 ))
echo "== standard profile, ${budget}s: $queue"
GPU_RUN_BUDGET_S="$budget" GPU_RUN_LOG_DIR="$logs" bash scripts/gpu_run.sh --profile standard --jobs "$jobs" \
    --chapters "$queue"
run_rc=$?

wait "$smoke_pid"
echo "== CUDA smoke: $(tail -n 2 "$logs/cuda_smoke.txt" | tr '\n' ' ')"
kill "$util_pid" 2>/dev/null
echo "== packing (results/ archives newer than the start, and the logs)"
find results -name '*.json' -newermt "@$t_start" > "$logs/new_archives.txt"
tar czf "$out/results.tar.gz" -T "$logs/new_archives.txt"
tar czf "$out/logs.tar.gz" -C "$root/_build" device-logs
cat "$logs/new_archives.txt"
echo "device_session: $(( $(date +%s) - t_start ))s in all; gpu_run exit $run_rc"
exit 0
