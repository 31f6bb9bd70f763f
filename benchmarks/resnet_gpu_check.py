"""The ResNet chapter's experiment on a GPU, within a few minutes: what the full profile costs, and what a
mid-sized schedule on all of CIFAR-10 shows of Figure 6 and the lesion study.

    python benchmarks/resnet_gpu_check.py --budget 240 --out benchmarks/resnet_gpu_check.json

1. Cost: each net of the full profile (plain-20 ... plain-56, ResNet-20 ... ResNet-110) trains one epoch
   of all 50,000 images with the full profile's batch, precision and loader; the time of that epoch times
   the full schedule's 164 epochs projects what ``python -m ecg_lib reproduce resnet --profile full``
   needs on this GPU.
2. Shape of the result: the chapter's own code (``DepthRun``: same initial weights per depth, gradient
   probes, lesion study) trains plain-20, plain-56, ResNet-20 and ResNet-56 on all 50,000 images for as
   many epochs as ``--budget`` allows at the speed measured in step 1 (all four nets the same schedule:
   lr 0.1, batch 128, one epoch of warmup then cosine decay, weight decay 1e-4, momentum 0.9) and runs
   the lesion study on all 10,000 test images.

This is a check, not the full profile: the schedule is a fraction of the paper's 64,000 iterations, so
the result is not archived under results/ and the chapter does not show it. On a CPU, ``--smoke`` runs
the same code on a small subset in a minute (to check the script before spending GPU time).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import torch

from ecg_lib.atomic import atomic_write_text
from ecg_lib.data import load_cifar10
from ecg_lib.experiments import resnet as E
from ecg_lib.train import fit, pick_device, run_info

DEPTH_NETS = ("plain20", "plain56", "resnet20", "resnet56")


def epoch_cost(data, nets, config) -> dict[str, float]:
    """Seconds of training for one epoch of each net (evaluation excluded), after a warm-up epoch of the
    first net so that cuDNN's algorithm search is not charged to it."""
    # Same batch, precision and loader as the full profile; a constant rate (no warmup to fit in 1 epoch).
    one_epoch = config.replace(epochs=1, eval_every=0, quiet=True, schedule="constant", milestones=(),
                               warmup_epochs=0.0, warmup_factor=None)  # fmt: skip
    out = {}
    warm = True
    for name in nets:
        for _ in range(2 if warm else 1):
            model = E.initial_model(name)
            h = fit(model, data, one_epoch)
        warm = False
        out[name] = h.train_time_s[-1]
        print(f"  {name:>9}: {out[name]:6.2f} s per epoch of {data.train_y.numel():,} images", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", type=float, default=240.0, help="seconds for step 2's training")
    p.add_argument("--max-epochs", type=int, default=40)
    p.add_argument("--smoke", action="store_true", help="CPU check: 100 images per class, 1 epoch")
    p.add_argument("--out", default="benchmarks/resnet_gpu_check.json")
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    device = pick_device()
    print(f"torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name(0)})" if device.type == "cuda" else ""), flush=True)  # fmt: skip
    data = load_cifar10()
    full = E.SETTINGS["full"]
    if args.smoke:
        data = data.subset(100, 50, seed=0)
    cost_nets = DEPTH_NETS if args.smoke else full.nets

    print("1. one epoch of each full-profile net", flush=True)
    cost = epoch_cost(data, cost_nets, full.train)
    spe = math.ceil(data.train_y.numel() / full.train.batch_size)
    projected = {n: c * full.train.epochs for n, c in cost.items()}
    total = sum(projected.values())
    print(f"  full profile: {full.train.epochs} epochs x {spe} steps; projected training time of all "
          f"{len(cost)} nets: {total / 3600:.2f} h here (evaluation and lesions not included)")  # fmt: skip

    per_round = sum(cost[n] for n in DEPTH_NETS)
    epochs = 1 if args.smoke else max(2, min(args.max_epochs, int(args.budget / (1.1 * per_round))))
    config = full.train.replace(schedule="warmup_cosine", milestones=(), warmup_epochs=min(1.0, epochs / 2),
                                 warmup_factor=None, epochs=epochs, eval_every=epochs)  # fmt: skip
    settings = E.DepthSettings(nets=DEPTH_NETS, n_train_per_class=None, n_test_per_class=None, train=config,
                               lesion_nets=DEPTH_NETS)  # fmt: skip
    print(f"2. depth experiment: {settings.describe()}", flush=True)
    run = E.DepthRun(data, profile="full", settings=settings)
    run.train(*DEPTH_NETS)
    lesions = run.lesions()
    m = run.result.metrics
    print("| net | training error, last epoch | test error | training time |\n|---|---|---|---|")
    for n in DEPTH_NETS:
        print(f"| {n} | {100 * m['final_train_error'][n]:.2f}% | {100 * m['final_test_error'][n]:.2f}% | "
              f"{m['train_time_s'][n]:.0f} s |")
    ratios = {}
    for n in ("plain56", "resnet56"):
        for when in ("init", "trained"):
            g = E.grads_of(run.result, n, when)
            ratios[f"{n} {when}"] = g[0].norm / g[-1].norm
    print("gradient norm, first conv / last conv: "
          + ", ".join(f"{k} {v:.3g}" for k, v in ratios.items()))  # fmt: skip
    summaries = {n: vars(E.LesionSummary.of(les)) for n, les in lesions.items()}
    print("| net | intact test error | median change | largest (shape kept) | largest (downsampling) "
          "| median share to chance |\n|---|---|---|---|---|---|")  # fmt: skip
    for n, s in summaries.items():
        print(f"| {n} | {100 * s['intact']:.2f}% | {100 * s['median_change']:+.2f} | "
              f"{100 * s['max_change']:+.2f} | {100 * s['downsampling_change']:+.2f} | "
              f"{100 * s['toward_chance']:.0f}% |")

    report = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "host": platform.node(),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else platform.processor() or "cpu",
        "smoke": args.smoke,
        "epoch_seconds": cost,
        "full_profile_projected_training_s": projected,
        "depth_settings": settings.describe(),
        "final_train_error": m["final_train_error"],
        "final_test_error": m["final_test_error"],
        "train_time_s": m["train_time_s"],
        "epoch_train_error": {n: h.epoch_train_error for n, h in run.result.histories.items()},
        "grad_ratio_first_last": ratios,
        "lesions": m["lesions"],
        "lesion_summary": summaries,
        "run_info": run_info(run.data, profile="full"),
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(report, indent=1, default=str) + "\n")
    print(f"wrote {args.out} after {report['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
