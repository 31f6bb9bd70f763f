"""``python -m ecg_lib reproduce CHAPTER``: run a chapter's experiments without Jupyter and archive them.

Built to run for hours in the background (the standard profile on a CPU) while other work goes on:

- ``--threads N`` limits PyTorch to N CPU threads (``nice`` the process too), so the machine stays usable;
- every :func:`~ecg_lib.train.fit` an experiment makes checkpoints each epoch to
  ``<state>/<profile>/<chapter>/<experiment>/`` (the :class:`~ecg_lib.train.RunContext` passed to every
  experiment that trains, as ``context=``); run the same
  command again after a kill, an interrupt or a restart and it skips the finished fits and continues the
  interrupted one from its last epoch, ending with the same numbers as an uninterrupted run (on a CPU);
- an experiment whose archive exists is skipped (``--overwrite`` runs it again); the state folder of an
  experiment is deleted once its archive is written;
- every epoch prints a progress line with a bar and an ETA for the network being trained, and the time
  so far; ``--log FILE`` appends the same lines to a file.

Archives go to ``results/<chapter>/<experiment>.json`` (standard) or ``results/<chapter>/full/`` (full),
labelled with profile, device and CPU model, precision, data source and its quality, seeds, wall time,
the command and the commit. Per-step curves are pooled to at most :data:`MAX_STEP_POINTS` points per
History (:func:`pool_steps`) so archives stay small.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

__all__ = ["COMMIT_ENV", "MAX_STEP_POINTS", "NOTE_ENV", "add_parser", "cpu_model", "pool_steps", "state_dir"]

#: Per-step points kept per History in an archive (the issue's "at most ~2,000").
MAX_STEP_POINTS = 2000
_REPO = Path(__file__).resolve().parents[1]


def state_dir() -> Path:
    """Where ``reproduce`` keeps its per-experiment checkpoints: ``_build/reproduce-state/`` (ignored by
    git, kept between sessions on the same machine) of the checkout, or of the working directory when
    the library is installed (:func:`ecg_lib.paths.build_dir`)."""
    from ecg_lib.paths import build_dir

    return build_dir() / "reproduce-state"


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``; ``platform.processor()`` elsewhere), e.g. ``AMD EPYC``."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def pool_steps(history: Any, max_points: int = MAX_STEP_POINTS) -> Any:
    """``history`` with its per-step lists (loss, error, lr) averaged over windows of ``k`` consecutive
    steps within each epoch, ``k`` the smallest that leaves at most ``max_points`` points; returns it
    unchanged when it is already that short. ``steps_per_epoch`` becomes the windows per epoch and
    ``extra["steps_pooled"]`` records ``k`` and ``extra["steps_per_epoch_trained"]`` the original, so a
    reader can put the points back on the step axis. Per-epoch lists are untouched."""
    spe, epochs = history.steps_per_epoch, history.epochs_done
    n = len(history.train_loss)
    if n <= max_points or spe <= 1 or n != spe * epochs:
        return history
    k = math.ceil(n / max_points)
    while epochs * math.ceil(spe / k) > max_points:
        k += 1

    def pool(values: list[float]) -> list[float]:
        out = []
        for e in range(epochs):
            epoch = values[e * spe : (e + 1) * spe]
            out += [sum(epoch[i : i + k]) / len(epoch[i : i + k]) for i in range(0, spe, k)]
        return out

    history.train_loss = pool(history.train_loss)
    history.train_error = pool(history.train_error)
    history.lr = pool(history.lr)
    history.extra = {**history.extra, "steps_pooled": k, "steps_per_epoch_trained": spe}
    history.steps_per_epoch = math.ceil(spe / k)
    return history


#: Environment variables a launcher sets for runs on a copy of the code without its git history (a GPU
#: machine that receives the working tree): the commit it came from, and a note on how it ran (e.g. that
#: several experiments shared one GPU, so their wall times are not those of a run alone).
COMMIT_ENV, NOTE_ENV = "ECG_GIT_COMMIT", "ECG_RUN_NOTE"


def _git_commit() -> str | None:
    """``$ECG_GIT_COMMIT`` when a launcher set it, else HEAD of the repository, else None. The variable
    wins: a copy of the working tree on another machine may carry a stale git folder (seen on a lent GPU
    machine, whose copy reported the session's starting commit, not the one sent)."""
    if os.environ.get(COMMIT_ENV):
        return os.environ[COMMIT_ENV]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_REPO, capture_output=True, text=True,
                             timeout=10, check=True)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


class _Progress:
    """One line per epoch: ``[12:30:05] resnet/depth (2/6) plain56 epoch 3/5 [######----] 60% · 251 s/epoch
    · net ETA 8 min · 41 min so far``."""

    def __init__(self, label: str, log: TextIO | None) -> None:
        self.label, self.log, self.t0 = label, log, time.perf_counter()

    def __call__(self, event: dict[str, Any]) -> None:
        epoch, epochs, resumed = event["epoch"], event["epochs"], event["resumed"]
        per_epoch = event["wall_time_s"] / epoch if epoch else 0.0
        eta = per_epoch * (epochs - epoch)
        width = 20
        bar = "#" * round(width * epoch / epochs) + "-" * (width - round(width * epoch / epochs))
        err = event["test_error"]
        now = datetime.now().strftime("%H:%M:%S")
        parts = [f"[{now}] {self.label} {event['model']} epoch {epoch}/{epochs}",
                 f"[{bar}] {100 * epoch / epochs:.0f}%"]  # fmt: skip
        if epoch <= resumed:
            parts.append("finished in its checkpoint, not retrained")
        else:
            parts.append(f"{per_epoch:.0f} s/epoch")
            parts.append(f"net ETA {eta / 60:.0f} min")
        if err is not None:
            parts.append(f"test error {100 * err:.1f}%")
        parts.append(f"{(time.perf_counter() - self.t0) / 60:.0f} min so far")
        line = " · ".join(parts)
        print(line, flush=True)
        if self.log is not None:
            print(line, file=self.log, flush=True)


def _cmd(args: argparse.Namespace) -> int:
    from ecg_lib.profiles import UnknownProfileError, resolve_profile

    # The profile is resolved here, once, and passed to every experiment as a value.
    try:
        args.profile = resolve_profile(args.profile)
    except UnknownProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.threads is not None:
        if args.threads < 1:
            print(f"error: --threads must be at least 1 (got {args.threads}).", file=sys.stderr)
            return 2
        most = 4 * (os.cpu_count() or 1)
        if args.threads > most:  # 100000 threads crashed the process (a segmentation fault in OpenMP)
            print(f"error: --threads {args.threads} is more than {most} (4 per core of this machine's "
                  f"{os.cpu_count()}); more threads than cores only slow PyTorch down.", file=sys.stderr)
            return 2
    if args.time_budget is not None and not (math.isfinite(args.time_budget) and args.time_budget >= 0):
        print(f"error: --time-budget must be a finite number of seconds, 0 or more (got {args.time_budget}).",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    try:
        return _run_all(args) if args.chapter == ALL else _run(args)
    except KeyboardInterrupt:  # Ctrl-C, or a time limit around the command
        print("reproduce: interrupted. Finished experiments are archived; the running one keeps its "
              "checkpoints: run the same command again to continue it.", file=sys.stderr)  # fmt: skip
        return 130


#: ``reproduce all``: every chapter of :data:`ecg_lib.chapter_registry.CHAPTERS`, in reading order.
ALL = "all"


def _run_all(args: argparse.Namespace) -> int:
    """Every registered chapter in turn, under one ``--time-budget`` (each chapter gets what the earlier
    ones left); 1 when any chapter failed."""
    from ecg_lib.chapter_registry import names

    if args.experiments:
        print(f"error: --experiments names one chapter's experiments; with '{ALL}' every experiment of every "
              "chapter runs (name a chapter to pick some).", file=sys.stderr)  # fmt: skip
        return 2
    start, codes = time.perf_counter(), {}
    for chapter in names():
        sub = argparse.Namespace(**{**vars(args), "chapter": chapter})
        if args.time_budget is not None:
            sub.time_budget = max(0.0, args.time_budget - (time.perf_counter() - start))
        print(f"== reproduce {chapter} ({args.profile} profile)", flush=True)
        codes[chapter] = _run(sub)
    failed = [c for c, rc in codes.items() if rc]
    which = f" ({', '.join(failed)})" if failed else ""
    print(f"reproduce {ALL} ({args.profile}): {len(codes)} chapters, {len(failed)} failed{which}, "
          f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    return 1 if failed else 0


def _experiment_table(args: argparse.Namespace) -> tuple[dict[str, Callable[..., Any]], list[str]] | int:
    from ecg_lib.chapter_registry import chapter

    try:
        module = chapter(args.chapter).experiments()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = getattr(module, "EXPERIMENTS", None)
    if not table:
        print(f"error: {module.__name__} has no EXPERIMENTS table: nothing to reproduce.",
              file=sys.stderr)  # fmt: skip
        return 2
    names = [n.strip() for n in args.experiments.split(",") if n.strip()] if args.experiments else list(table)
    if not names:  # "--experiments ," would otherwise run nothing and report success
        print(f"error: --experiments {args.experiments!r} names no experiment; {args.chapter} has: "
              f"{', '.join(table)}.", file=sys.stderr)  # fmt: skip
        return 2
    unknown = [n for n in names if n not in table]
    if unknown:
        print(f"error: {args.chapter} has no experiment {', '.join(map(repr, unknown))}; it has: "
              f"{', '.join(table)}.", file=sys.stderr)  # fmt: skip
        return 2
    return table, names


def _run(args: argparse.Namespace) -> int:
    from ecg_lib import results
    from ecg_lib.profiles import ARCHIVED_PROFILES

    found = _experiment_table(args)
    if isinstance(found, int):
        return found
    table, names = found
    if args.list:
        print("\n".join(names))
        return 0
    quick_dir = results.quick_results_dir()
    archived = args.profile in ARCHIVED_PROFILES
    out = Path(args.out) if args.out else (results.output_results_dir() if archived else quick_dir)
    # quick results never go where the book reads archived ones: results/, $ECG_RESULTS_DIR, or an
    # --out naming either
    if args.profile not in ARCHIVED_PROFILES and results.is_archive_root(out):
        print(f"error: {out} holds standard- and full-profile archives only (the book shows them as archived "
              f"long runs). Run with --profile standard or full, or write quick-profile results elsewhere "
              f"with --out (the default is {quick_dir}).", file=sys.stderr)  # fmt: skip
        return 2
    state_root = Path(args.state) if args.state else state_dir()
    problem = _check_outputs(args, out)  # before anything is trained, not after hours of it
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    log = open(args.log, "a", encoding="utf-8") if args.log else None
    try:
        return _loop(args, table, names, out, state_root, log)
    finally:
        if log is not None:
            log.close()


def _is_text_log(path: Path) -> bool:
    """Whether an existing ``--log`` file may be appended to: text (UTF-8, no NUL bytes) that is not JSON.
    A checkpoint, an archive of data, an image (binary) or a History or result (JSON) is not a log."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut at the end of the sample is still text
        if exc.start < len(head) - 4:
            return False
        text = head[: exc.start].decode("utf-8")
    if "\x00" in text:
        return False
    if text.lstrip().startswith(("{", "[")):  # a progress line starts with "[12:30:05]", which is no JSON
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, RecursionError, OSError):
            return True
        return False
    return True


def _check_outputs(args: argparse.Namespace, out: Path) -> str | None:
    """What is wrong with ``--out`` (the archive folder) and ``--log``, or None: checked before training."""
    from ecg_lib.atomic import check_writable

    for flag, value in (("--out", args.out), ("--log", args.log), ("--state", args.state)):
        if value is not None and not value.strip():
            return f"{flag} '' names no path: give one, or leave {flag} out."
    try:
        if out.exists() and not out.is_dir():
            return f"--out {out} is a file; --out names the folder that holds the archives."
        check_writable(out / args.chapter / f"{args.chapter}.json", f"--out {out}: the archive")
        if args.log:
            log = Path(args.log)
            check_writable(log, "--log")
            if log.exists() and not _is_text_log(log):
                return (f"--log {log} exists and is not a log (it is binary, or JSON such as a History): "
                        "progress lines appended to it would damage it. Give another path.")
    except ValueError as exc:
        return str(exc)
    return None


def _loop(args: argparse.Namespace, table: dict[str, Callable[..., Any]], names: list[str], out: Path,
          state_root: Path, log: TextIO | None) -> int:  # fmt: skip
    from ecg_lib import results, train
    from ecg_lib.atomic import output_lock
    from ecg_lib.data import DataError, load_cifar10
    from ecg_lib.experiments import needs_data

    data = None
    start = time.perf_counter()
    written, failed, skipped, existing = [], [], [], []
    for i, name in enumerate(names):
        target = results.archive_path(args.chapter, name, out, profile=args.profile)
        if target.is_file() and not args.overwrite:
            try:  # an empty or truncated file (a full disk, a copy cut short) is no archive: run it again
                results.load_archive(target, profiles=(args.profile,))
            except results.ArchiveError as exc:
                print(f"{args.chapter}/{name}: the archive {target} is invalid ({str(exc).splitlines()[0]}); "
                      "running it again to replace it", flush=True)  # fmt: skip
            else:
                print(f"{args.chapter}/{name}: archive exists, skipped ({target}; --overwrite runs it again)")
                existing.append(name)
                continue
        if args.time_budget is not None and time.perf_counter() - start >= args.time_budget:
            skipped = names[i:]
            print(f"time budget of {args.time_budget:.0f} s spent; not started: {', '.join(skipped)}")
            break
        fn = table[name]
        state = state_root / args.profile / args.chapter / name
        label = f"{args.chapter}/{name} ({i + 1}/{len(names)})"
        # every experiment takes the same arguments (ecg_lib.experiments: one signature); the context says
        # where to checkpoint and whom to tell, and is unused by those that train nothing
        context = train.RunContext(checkpoint_dir=state, progress=_Progress(label, log))
        try:
            if needs_data(fn):  # loaded once, for the first experiment that needs it
                data = data if data is not None else load_cifar10(args.data)
            print(f"{label}: running ({args.profile} profile; checkpoints in {state}) ...", flush=True)
            t0 = time.perf_counter()
            # the lock: a second `reproduce` of this experiment would train into the same checkpoints
            with output_lock([state], f"{args.chapter}/{name}: its state"):
                result = fn(data if needs_data(fn) else None, profile=args.profile, context=context)
            wall = time.perf_counter() - t0
            if result.profile != args.profile:
                raise ValueError(f"it returned a {result.profile!r}-profile result in a {args.profile!r} run")
            result.run_info = _label(args, name, result, data, wall)
            for h in result.histories.values():
                pool_steps(h)
            path = results.save_archive(result, args.chapter, name, out)
        except (DataError, results.ArchiveError) as exc:
            print(f"error: {args.chapter}/{name}: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        except Exception as exc:  # report and go on: one failing experiment should not lose the others
            print(f"error: {args.chapter}/{name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        shutil.rmtree(state, ignore_errors=True)  # archived: its checkpoints are no longer needed
        written.append(name)
        print(f"{args.chapter}/{name}: {wall:.1f} s -> {path}", flush=True)
    total = time.perf_counter() - start
    print(f"reproduce {args.chapter} ({args.profile}): {len(written)} written, {len(existing)} already "
          f"archived, {len(failed)} failed, {len(skipped)} not started, {total:.0f} s")  # fmt: skip
    return 1 if failed else 0


def _seeds(result: Any) -> list[int]:
    return sorted({int(h.config["seed"]) for h in result.histories.values() if "seed" in h.config})


def _label(args: argparse.Namespace, name: str, result: Any, data: Any, wall: float) -> dict[str, Any]:
    """The archive's ``run_info``: how, where, on what and when it was produced."""
    import torch

    from ecg_lib.train import run_info

    info = run_info(data, profile=args.profile)
    info.update(result.run_info)
    # The process-wide clocks (fit_time_s: every fit since the import; elapsed_s: since the import) are the
    # chapter footer's, not this experiment's: several experiments of one process made race_seed2 record
    # twice its wall time as fitting. An archive records its own fits (each History's clock) instead.
    info.pop("elapsed_s", None)
    info["fit_time_s"] = round(sum(h.wall_time_s[-1] for h in result.histories.values() if h.wall_time_s), 1)
    command = f"python -m ecg_lib reproduce {args.chapter} --profile {args.profile} --experiments {name}"
    info.update(
        cpu=cpu_model(),
        threads=torch.get_num_threads(),
        seeds=_seeds(result),
        date=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        wall_time_s=round(wall, 1),
        command=command,
        git_commit=_git_commit(),
    )
    if os.environ.get(NOTE_ENV):
        info["note"] = os.environ[NOTE_ENV]
    return info


def add_parser(sub: argparse._SubParsersAction) -> None:
    """The ``reproduce`` subcommand of :mod:`ecg_lib.cli`."""
    from ecg_lib.profiles import AUTO, ENV_VAR, PROFILES

    p = sub.add_parser("reproduce", help="run a chapter's experiments without Jupyter, archive the results")
    p.add_argument("chapter", help=f"chapter name, e.g. alexnet, resnet, comparison; '{ALL}': every chapter")
    p.add_argument("--profile", default=None, choices=(*PROFILES, AUTO),
                   help="quick: CPU-sized subsets; standard: all of CIFAR-10, the cheapest run that "
                        "shows each claim (minutes on a GPU, hours on a CPU); full: paper-like schedules "
                        "(GPU-hours); "
                        f"default: ${ENV_VAR}, else {AUTO} (standard on a CUDA GPU, quick otherwise)")
    p.add_argument("--experiments", default="", metavar="A,B", help="only these experiments (default: all)")
    p.add_argument("--out", default=None, metavar="DIR",
                   help="archive root (default: results/ for standard and full, _build/results-quick/ "
                        "for quick)")
    p.add_argument("--data", default=None, help="CIFAR-10 location (default: $ECG_DATA_DIR, cache, download)")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="PyTorch CPU threads (default: all cores); 1 keeps a 2-core machine usable")
    p.add_argument("--state", default=None, metavar="DIR",
                   help=f"per-experiment checkpoints, for resuming (default: {state_dir()})")
    p.add_argument("--log", default=None, metavar="FILE", help="also append the progress lines to FILE")
    p.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                   help="start no further experiment once this much time has passed")
    p.add_argument("--overwrite", action="store_true",
                   help="run experiments that already have an archive again (default: skip them)")
    p.add_argument("--list", action="store_true", help="list the chapter's experiments and exit")
    p.set_defaults(func=_cmd)  # fmt: skip
