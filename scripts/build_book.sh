#!/usr/bin/env bash
# Build the book into _build/html, executing every notebook page once, warning-free or not at all.
#
#   bash scripts/build_book.sh                      # quick profile (CPU, CIFAR-10 subsets)
#   ECG_PROFILE=full bash scripts/build_book.sh     # full profile (GPU, whole CIFAR-10)
#   BOOK_EXECUTE=cache bash scripts/build_book.sh   # reuse earlier executions while writing a chapter
#
# Exit status is non-zero on any Sphinx warning (-W, with --keep-going so one run lists them all) and on
# any failing cell: a cell error is a warning, and `execute.show_tb` puts its traceback in the log.
#
# Environment:
#   ECG_PROFILE   quick (default here) | full | auto; inherited by every notebook kernel.
#   BOOK_EXECUTE  force (default: every notebook runs now, so quick and full outputs can never mix)
#                 | cache (reuse executions; each profile gets its own cache and output folder,
#                 _build/cache-<profile>/, because the cache keys on code, not on the profile)
#                 | off (no execution; pages show no outputs, the build still must be warning-free).
#   BOOK_LOG      where to copy the build log (default: _build/build.log).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

export ECG_PROFILE="${ECG_PROFILE:-quick}"
mode="${BOOK_EXECUTE:-force}"
case "$mode" in
    force | off) out="$root" ;;
    cache) out="$root/_build/cache-$ECG_PROFILE" ;;
    *) echo "build_book: BOOK_EXECUTE must be force, cache or off (got '$mode')" >&2; exit 2 ;;
esac

if ! command -v jupyter-book >/dev/null 2>&1; then
    echo "build_book: jupyter-book not found. Activate the venv and install the dev extras:" >&2
    echo '  python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev]"' >&2
    exit 1
fi

# MathJax is served from the site itself (offline pages, no CDN); no page needs a widget embedder.
bash "$root/scripts/vendor_assets.sh"

config_args=()
if [[ "$mode" != force || "$ECG_PROFILE" != quick ]]; then
    # _config.yml holds the CI settings (force, quick-profile cell timeout). Derive a config that differs
    # only in the execution mode, its cache folder, and no cell timeout outside the quick profile.
    derived="$root/_build/_config.$mode.$ECG_PROFILE.yml"
    mkdir -p "$root/_build"
    python - "$root/_config.yml" "$derived" "$mode" "$out/_build/.jupyter_cache" "$ECG_PROFILE" <<'PY'
import sys

import yaml

src, dst, mode, cache, profile = sys.argv[1:]
with open(src) as f:
    config = yaml.safe_load(f)
config["execute"]["execute_notebooks"] = mode
if mode == "cache":
    config["execute"]["cache"] = cache
if profile != "quick":
    config["execute"]["timeout"] = -1  # full-profile training cells run for as long as they need
# Jupyter Book resolves local extension folders against the config file's folder, which is now _build/.
root = src.rsplit("/", 1)[0]
extensions = config.get("sphinx", {}).get("local_extensions") or {}
for name, folder in extensions.items():
    extensions[name] = f"{root}/{folder}"
with open(dst, "w") as f:
    yaml.safe_dump(config, f, sort_keys=False)
PY
    config_args=(--config "$derived")
fi

# Kernels get their own IPython folder: the build leaves ~/.ipython alone, and the kernel app logs only
# errors. ipykernel >= 7 otherwise logs "WARNING | Kernel is running over TCP without encryption" for
# every notebook, which is about the local kernel connection, not about the book.
export IPYTHONDIR="$root/_build/.ipython"
mkdir -p "$IPYTHONDIR/profile_default"
echo 'c.IPKernelApp.log_level = "ERROR"' > "$IPYTHONDIR/profile_default/ipython_kernel_config.py"

log="${BOOK_LOG:-$root/_build/build.log}"
mkdir -p "$(dirname "$log")"
html="$out/_build/html"
echo "build_book: profile=$ECG_PROFILE execute=$mode output=${html#"$root"/}"
start=$(date +%s)
set +e
# In force mode `--all` makes Sphinx re-read (so re-execute) every page: Sphinx only re-reads changed
# sources, and a change of ECG_PROFILE is not a change it can see.
all_args=()
[[ "$mode" == force ]] && all_args=(--all)
jupyter-book build "$root" --path-output "$out" -W -n --keep-going "${all_args[@]}" "${config_args[@]}" \
    2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
elapsed=$(( $(date +%s) - start ))

# Belt and braces: Sphinx's own count of warnings decides the exit status, but a warning printed by a
# kernel or an extension outside Sphinx's logger would not; any WARNING line fails the build too.
if [[ $status -eq 0 ]] && grep -q "WARNING" "$log"; then
    echo "build_book: the log contains warnings (see above); failing the build" >&2
    status=1
fi
if [[ $status -ne 0 ]]; then
    echo "build_book: FAILED after ${elapsed}s (exit $status); log: $log" >&2
    exit "$status"
fi
echo "build_book: built in ${elapsed}s -> ${html#"$root"/}/index.html"
