#!/usr/bin/env bash
# Run every chapter's experiments in the standard (default) or full profile on one GPU, within one time
# budget, and archive the results under results/<chapter>/ (standard) or results/<chapter>/full/ (then
# commit them: `git add results/`).
#
#   bash scripts/gpu_run.sh                          # standard profile, 540 s in all (one device session)
#   bash scripts/gpu_run.sh --profile full           # the papers' schedules: GPU-hours, several sessions
#   GPU_RUN_BUDGET_S=3600 bash scripts/gpu_run.sh    # a longer session: more experiments finish
#   bash scripts/gpu_run.sh --chapters resnet,vgg    # only these chapters, in this order
#   bash scripts/gpu_run.sh --profile quick          # the same on a CPU, quick profile, into _build/
#
# Budget. The default, 540 s, fits a 10-minute device command with time left for start-up and data
# loading. Chapters run in order of importance (below), each with a share of the budget plus whatever
# earlier chapters left unused. A chapter's `reproduce` starts no experiment once its share is spent
# (--time-budget), and `timeout` stops an experiment still running when the share plus a 30 s grace is
# over: each experiment's archive is written atomically when it finishes, so an interrupted one leaves
# nothing and the finished ones are kept. --skip-existing makes a second session continue where the
# first stopped rather than redo it. Full-profile experiments are paper-scale: expect one session to
# finish only some of them, and the summary to say which.
#
# Data: $ECG_DATA_DIR, else ../shared/data or shared/data beside the repository when present, else the
# library's cache or download.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

profile=standard
chapters=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        --chapters) chapters="$2"; shift 2 ;;
        -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "gpu_run: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [[ "$profile" != full && "$profile" != standard && "$profile" != quick ]]; then
    echo "gpu_run: --profile must be standard, full or quick (got '$profile')" >&2
    exit 2
fi

budget="${GPU_RUN_BUDGET_S:-540}"
# Order of importance and share of the budget (percent). ResNet first: its degradation experiment is
# the result the book most needs at full scale; the comparison race last, as it repeats the others.
order=(resnet:25 alexnet:15 vgg:15 googlenet:15 nin:10 comparison:20)

if [[ -z "${ECG_DATA_DIR:-}" ]]; then
    for d in "$root/../shared/data" "$root/shared/data"; do
        if [[ -f "$d/cifar10-jpeg.tar.gz" ]]; then export ECG_DATA_DIR="$d"; break; fi
    done
fi

python=python
[[ -x "$root/.venv/bin/python" ]] && python="$root/.venv/bin/python"

if [[ "$profile" != quick ]]; then
    if ! "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
        echo "gpu_run: PyTorch sees no CUDA GPU. The $profile profile is sized for one here; on a CPU run" >&2
        echo "         'python -m ecg_lib reproduce CHAPTER --profile standard --threads 1' per chapter in the" >&2
        echo "         background (hours), or 'bash scripts/gpu_run.sh --profile quick' (_build/results-quick/)." >&2
        exit 2
    fi
fi

known=$("$python" -c "from ecg_lib.experiments import CHAPTERS; print(' '.join(CHAPTERS))")
if [[ -n "$chapters" ]]; then
    selected=()
    IFS=',' read -ra wanted <<< "$chapters"
    for c in "${wanted[@]}"; do
        share=20
        for entry in "${order[@]}"; do [[ "${entry%%:*}" == "$c" ]] && share="${entry##*:}"; done
        selected+=("$c:$share")
    done
else
    selected=("${order[@]}")
fi

"$python" -c "import torch; print('gpu_run: torch', torch.__version__, '| device:',
    torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
echo "gpu_run: profile=$profile budget=${budget}s chapters: ${selected[*]}"
start=$(date +%s)
deadline=$((start + budget))
carry=0
summary=()
status=0
for entry in "${selected[@]}"; do
    chapter="${entry%%:*}"
    share=$((budget * ${entry##*:} / 100 + carry))
    now=$(date +%s)
    left=$((deadline - now))
    (( share > left )) && share=$left
    if [[ " $known " != *" $chapter "* ]]; then
        summary+=("$chapter: not registered in ecg_lib.experiments.CHAPTERS (chapter not landed?)")
        carry=$share
        continue
    fi
    if (( share < 10 )); then
        summary+=("$chapter: not run, the budget is spent")
        continue
    fi
    echo "== $chapter: up to ${share}s"
    t0=$(date +%s)
    timeout --signal=INT --kill-after=15 $((share + 30)) \
        "$python" -m ecg_lib reproduce "$chapter" --profile "$profile" --time-budget "$share" --skip-existing
    rc=$?
    took=$(( $(date +%s) - t0 ))
    carry=$(( share > took ? share - took : 0 ))
    case $rc in
        0) what="done" ;;
        124 | 130 | 137) what="stopped at its time budget (finished experiments are archived)"; status=1 ;;
        *) what="failed (exit $rc)"; status=1 ;;
    esac
    summary+=("$chapter: $what in ${took}s")
done

echo
echo "gpu_run summary ($profile profile, $(( $(date +%s) - start ))s of ${budget}s):"
for line in "${summary[@]}"; do echo "  $line"; done
out="${ECG_RESULTS_DIR:-results}"
[[ "$profile" == quick ]] && out="_build/results-quick"
echo "archives in $out/:"
find "$out" -name '*.json' -newermt "@$start" -printf '  %p (%s bytes)\n' 2>/dev/null | sort
[[ "$profile" != quick ]] && echo "commit them with: git add results/ && git commit -m 'results: $profile-profile archives'"
exit $status
