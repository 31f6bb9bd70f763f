"""The standard profile on a GPU, as the archives recorded it (issue 13, item 7).

Reads every standard-profile archive under ``results/`` that ran on a CUDA device and prints, per
experiment, its wall time, the networks it trained with their epochs and training throughput (the mean
of the per-epoch images/s the run recorded), and the archive's note on how the device was shared; then
the GPU utilisation that ``scripts/device_session.sh`` sampled every 5 s, when its log is given.

    python benchmarks/gpu_standard.py [--util benchmarks/gpu_h200_2026-11-30/gpu_util.csv]

Nothing here is timed anew: the numbers are the archives' own, so the table can be regenerated on any
machine. Wall times of experiments that shared the GPU are those of a shared device, not of a run alone.
"""

from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path
from typing import Any

from ecg_lib import results
from ecg_lib.experiments import CHAPTERS, chapter_module


def gpu_archives() -> list[tuple[str, str, Any]]:
    """``(chapter, experiment, result)`` for every standard archive made on a CUDA device."""
    out = []
    for chapter in CHAPTERS:
        for name in chapter_module(chapter).EXPERIMENTS:
            r = results.find_archive(chapter, name, profile="standard")
            if r is not None and str(r.run_info.get("device", "")).startswith("cuda"):
                out.append((chapter, name, r))
    return out


def nets(result: Any) -> str:
    """The trained networks: name, epochs run and mean images/s; more than six runs (a learning-rate
    sweep) are summarised as their count, epochs in all and range of images/s."""
    runs = [(key, h.epochs_done, statistics.fmean(h.images_per_s)) for key, h in result.histories.items()
            if h.images_per_s]  # fmt: skip
    if not runs:
        return "no training (evaluation or counting)"
    if len(runs) > 6:
        speeds = [s for _, _, s in runs]
        return (f"{len(runs)} runs, {sum(e for _, e, _ in runs)} epochs in all, "
                f"{min(speeds) / 1e3:.1f}k-{max(speeds) / 1e3:.1f}k img/s")  # fmt: skip
    return "; ".join(f"{key} {e} ep {s / 1e3:.1f}k img/s" for key, e, s in runs)


def utilisation(path: Path) -> str:
    with path.open() as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("timestamp")]
    busy = [float(r[1].strip().rstrip("%").strip()) for r in rows]
    mem = [float(r[2].strip().split()[0]) for r in rows]
    running = [b for b in busy if b > 0]
    return (f"GPU utilisation, sampled every 5 s by nvidia-smi ({len(busy)} samples): mean "
            f"{statistics.fmean(busy):.0f}% over the session, {statistics.fmean(running):.0f}% over the "
            f"{len(running)} samples with any work, peak {max(busy):.0f}%; memory in use at most "
            f"{max(mem) / 1024:.1f} GiB.")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--util", type=Path, default=None, help="gpu_util.csv of a device session")
    args = p.parse_args(argv)
    found = gpu_archives()
    if not found:
        print("No standard-profile archive in results/ ran on a GPU.")
        return 0
    print("| chapter | experiment | wall s | device | networks: epochs, mean training images/s |")
    print("|---|---|---:|---|---|")
    notes = set()
    for chapter, name, r in found:
        info = r.run_info
        device = str(info["device"]).split(": ", 1)[-1]
        print(f"| {chapter} | {name} | {info['wall_time_s']:.0f} | {device} | {nets(r)} |")
        if info.get("note"):
            notes.add(info["note"])
    total = sum(r.run_info["wall_time_s"] for _, _, r in found)
    print(f"\nSum of the experiments' wall times: {total:.0f} s.")
    for note in sorted(notes):
        print(f"Archive note: {note}.")
    if args.util is not None:
        print(utilisation(args.util))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
