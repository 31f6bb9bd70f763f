#!/usr/bin/env bash
# Run every chapter's experiments in the standard (default) or full profile on one GPU, within one time
# budget, and archive the results under results/<chapter>/ (standard) or results/<chapter>/full/ (then
# commit them: `git add results/`).
#
#   bash scripts/gpu_run.sh                          # standard profile, every experiment, no time limit
#   bash scripts/gpu_run.sh --profile full           # the papers' schedules: GPU-hours
#   bash scripts/gpu_run.sh --budget 540             # within 540 s in all (a lent 10-minute machine)
#   GPU_RUN_BUDGET_S=540 bash scripts/gpu_run.sh     # the same
#   GPU_RUN_PYTHON=/path/to/python bash scripts/gpu_run.sh   # that Python (default: ./.venv's, else python3)
#   bash scripts/gpu_run.sh --chapters resnet,vgg    # only these chapters, in this order
#   bash scripts/gpu_run.sh --profile quick          # the same on a CPU, quick profile, into _build/
#   bash scripts/gpu_run.sh --jobs 5                 # up to 5 experiments at once on the one GPU
#   bash scripts/gpu_run.sh --jobs 4 --chapters resnet:depth_seed1,nin:train_heads   # these, in order
#
# Budget. None by default: every experiment runs to the end (a workstation). With --budget SECONDS (or
# $GPU_RUN_BUDGET_S; 540 fits a 10-minute device command with time left for start-up and data loading)
# chapters run in order of importance (below), each with a share of the budget plus whatever earlier
# chapters left unused; the shares of the chapters asked for are scaled to fill the whole budget
# (--chapters nin alone gets all of it). Exit status 1 when an experiment failed, was stopped, or was
# not started because the budget was spent; 2 for bad arguments, no PyTorch or no GPU. A chapter's `reproduce` starts no experiment once its share is spent
# (--time-budget), and `timeout` stops an experiment still running when the share plus a 30 s grace is
# over: each experiment's archive is written atomically when it finishes, so an interrupted one leaves
# nothing and the finished ones are kept. `reproduce` skips an experiment whose archive exists, so a
# second session continues where the first stopped rather than redo it. Full-profile experiments are
# paper-scale: expect one session to finish only some of them, and the summary to say which.
#
# --jobs N (N > 1) runs single experiments as separate processes, up to N at a time, from one queue: the
# chapters' experiments in the order given (an entry CHAPTER:EXPERIMENT names one). The small CIFAR
# networks leave most of a large GPU idle between kernel launches, so several at once finish sooner than
# one after another; their wall times are then those of a shared GPU (set ECG_RUN_NOTE to say so in the
# archives). No experiment starts once the budget is spent, and running ones are interrupted at its end
# (their checkpoints stay in _build/reproduce-state/ for a later run). One output file per experiment
# goes to $GPU_RUN_LOG_DIR (default _build/gpu-run-logs/).
#
# Data: $ECG_DATA_DIR, else ../shared/data or shared/data beside the repository when present, else the
# library's cache or download.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

profile=standard
chapters=""
jobs=1
budget="${GPU_RUN_BUDGET_S:-}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --profile) profile="$2"; shift 2 ;;
        --budget) budget="$2"; shift 2 ;;
        --chapters) chapters="$2"; shift 2 ;;
        --jobs) jobs="$2"; shift 2 ;;
        -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "gpu_run: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if [[ "$profile" != full && "$profile" != standard && "$profile" != quick ]]; then
    echo "gpu_run: --profile must be standard, full or quick (got '$profile')" >&2
    exit 2
fi

if ! [[ "$jobs" =~ ^[1-9][0-9]*$ ]]; then
    echo "gpu_run: --jobs must be a whole number of at least 1 (got '$jobs')" >&2
    exit 2
fi

if [[ -n "$budget" ]] && ! [[ "$budget" =~ ^[1-9][0-9]*$ ]]; then
    echo "gpu_run: --budget (GPU_RUN_BUDGET_S) must be a whole number of seconds (got '$budget')" >&2
    exit 2
fi
# Order of importance and share of the budget (percent). ResNet first: its degradation experiment is
# the result the book most needs at full scale; the comparison race last, as it repeats the others.
order=(resnet:25 alexnet:15 vgg:15 googlenet:15 nin:10 comparison:20)

if [[ -z "${ECG_DATA_DIR:-}" ]]; then
    for d in "$root/../shared/data" "$root/shared/data"; do
        if [[ -f "$d/cifar10-jpeg.tar.gz" ]]; then export ECG_DATA_DIR="$d"; break; fi
    done
fi

python=python3
command -v python3 >/dev/null || python=python
[[ -x "$root/.venv/bin/python" ]] && python="$root/.venv/bin/python"
python="${GPU_RUN_PYTHON:-$python}"  # a Python named explicitly wins over the checkout's .venv

if ! "$python" -c "import torch" 2>/dev/null; then
    echo "gpu_run: $python cannot import PyTorch. Install the project first (in the repository:" >&2
    echo "         python3 -m venv .venv && . .venv/bin/activate && pip install -e .), then run again." >&2
    exit 2
fi
if [[ "$profile" != quick ]]; then
    if ! "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
        echo "gpu_run: PyTorch sees no CUDA GPU. The $profile profile is sized for one here; on a CPU run" >&2
        echo "         'python -m ecg_lib reproduce CHAPTER --profile standard --threads 1' per chapter in the" >&2
        echo "         background (hours), or 'bash scripts/gpu_run.sh --profile quick' (_build/results-quick/)." >&2
        exit 2
    fi
fi

known=$("$python" -c "from ecg_lib.chapter_registry import names; print(' '.join(names()))")
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
echo "gpu_run: profile=$profile budget=${budget:+${budget}s}${budget:-none} chapters: ${selected[*]}"
start=$(date +%s)
# No budget: a deadline far beyond any run, so the code below has one path for both.
deadline=$((start + ${budget:-315360000}))
total_share=0
for entry in "${selected[@]}"; do total_share=$((total_share + ${entry##*:})); done

# The archives written since the start, and how to commit them (both ways of running end with this).
list_archives() {
    local out="${ECG_RESULTS_DIR:-results}"
    [[ "$profile" == quick ]] && out="_build/results-quick"
    echo "archives in $out/:"
    find "$out" -name '*.json' -newermt "@$start" -printf '  %p (%s bytes)\n' 2>/dev/null | sort
    [[ "$profile" != quick ]] && echo "commit them with: git add results/ && git commit -m 'results: $profile-profile archives'"
    return 0
}

if (( jobs > 1 )); then
    # The queue: CHAPTER:EXPERIMENT entries, in order. A chapter named alone contributes all its
    # experiments, in its EXPERIMENTS table's order.
    queue=()
    for entry in "${selected[@]}"; do
        name="${entry%:*}"  # strip the budget share
        if [[ "$name" == *:* ]]; then queue+=("$name"); continue; fi
        for e in $("$python" -m ecg_lib reproduce "$name" --profile "$profile" --list); do
            queue+=("$name:$e")
        done
    done
    log_dir="${GPU_RUN_LOG_DIR:-$root/_build/gpu-run-logs}"
    mkdir -p "$log_dir"
    summary_file="$log_dir/summary.txt"
    : > "$summary_file"
    run_one() {
        local item="$1" chapter="${1%%:*}" experiment="${1#*:}" left t0 rc what
        left=$((deadline - $(date +%s)))
        if (( left < 20 )); then
            echo "$item: not started, the budget is spent" >> "$summary_file"
            return 0
        fi
        t0=$(date +%s)
        if [[ -n "$budget" ]]; then echo "== $item: started with ${left}s of the budget left"; else echo "== $item: started"; fi
        timeout --signal=INT --kill-after=15 "$left" "$python" -m ecg_lib reproduce "$chapter" \
            --profile "$profile" --experiments "$experiment" --threads 2 \
            > "$log_dir/$chapter.$experiment.txt" 2>&1
        rc=$?
        case $rc in
            0) what="done" ;;
            124 | 130 | 137) what="interrupted at the end of the budget (checkpoints kept)" ;;
            *) what="failed (exit $rc; see $log_dir/$chapter.$experiment.txt)" ;;
        esac
        echo "$item: $what in $(( $(date +%s) - t0 ))s" | tee -a "$summary_file"
    }
    export -f run_one
    export deadline budget profile python log_dir summary_file
    echo "gpu_run: ${#queue[@]} experiments, up to $jobs at once"
    printf '%s\n' "${queue[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}
    echo
    echo "gpu_run summary ($profile profile, --jobs $jobs, $(( $(date +%s) - start ))s${budget:+ of ${budget}s}):"
    sed 's/^/  /' "$summary_file"
    list_archives
    grep -qv ": done in " "$summary_file" && exit 1
    exit 0
fi

carry=0
summary=()
status=0
for entry in "${selected[@]}"; do
    chapter="${entry%%:*}"
    now=$(date +%s)
    left=$((deadline - now))
    # the shares of the chapters asked for, scaled to the whole budget
    share=$(( ${budget:-0} * ${entry##*:} / total_share + carry ))
    (( share > left || ${#budget} == 0 )) && share=$left
    if [[ " $known " != *" $chapter "* ]]; then
        summary+=("$chapter: not registered in ecg_lib.chapter_registry (chapter not landed?)")
        carry=$share
        continue
    fi
    if (( share < 10 )); then
        summary+=("$chapter: not run, the budget is spent")
        status=1
        continue
    fi
    t0=$(date +%s)
    if [[ -z "$budget" ]]; then
        echo "== $chapter: no time limit"
        "$python" -m ecg_lib reproduce "$chapter" --profile "$profile"
    else
        echo "== $chapter: up to ${share}s"
        timeout --signal=INT --kill-after=15 $((share + 30)) \
            "$python" -m ecg_lib reproduce "$chapter" --profile "$profile" --time-budget "$share"
    fi
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
echo "gpu_run summary ($profile profile, $(( $(date +%s) - start ))s${budget:+ of ${budget}s}):"
for line in "${summary[@]}"; do echo "  $line"; done
list_archives
exit $status
