"""Time to accuracy of ResNet-20 on all of CIFAR-10: the default recipe against ``recipe="fast"``.

For each recipe and seed, trains ResNet-20 for ``--epochs`` epochs on all 50,000 training images
(evaluating on all 10,000 test images after every epoch) and records the test accuracy per epoch, the
training seconds, and the epochs and seconds at which 70% and 85% test accuracy were first reached (None
when not reached). Writes one JSON report; ``--markdown`` prints the table for benchmarks/report.md.

    nice python benchmarks/time_to_accuracy.py --threads 1 --out benchmarks/time_to_accuracy_cpu.json

Speeds are only comparable within one run on one machine (the recipes run side by side, same threads).

``--holdout`` re-validates the choice without the test set (issue 23, item 6): it trains on 45,000
training images and scores on the 5,000 held out of them (500 per class, seed 0; He et al.'s split), and
adds the pilots' other candidates as recipes: ``fast_augment`` (the fast recipe with crops and flips) and
``fast_smooth`` (the fast recipe with label smoothing 0.1).

    nice python benchmarks/time_to_accuracy.py --holdout --threads 1 --seeds 0,1 \
        --recipes paper,fast_augment,fast,fast_smooth --out benchmarks/recipe_holdout_cpu.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from ecg_lib.data import load_cifar10
from ecg_lib.models import get_model
from ecg_lib.reproduce import cpu_model
from ecg_lib.train import TrainConfig, fit, run_info
from ecg_lib.train.config import recipe_fields

TARGETS = (0.70, 0.85)
#: The candidates: a recipe of :func:`ecg_lib.train.config.recipe_fields` and the fields changed on top of
#: it (the pilots of the fast recipe tried these two changes and left them out).
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "paper": ("paper", {}), "fast": ("fast", {}),
    "fast_augment": ("fast", {"augment": True}), "fast_smooth": ("fast", {"label_smoothing": 0.1}),
}


def variant_config(name: str, epochs: int, seed: int) -> TrainConfig:
    """The config of candidate ``name`` (:data:`VARIANTS`), with every recipe field applied."""
    if name not in VARIANTS:
        raise ValueError(f"unknown recipe {name!r}; choose from {', '.join(VARIANTS)}.")
    recipe, changes = VARIANTS[name]
    config = TrainConfig(epochs=epochs, seed=seed, quiet=True)
    return config.replace(**{**recipe_fields(recipe, config), **changes})


def one_run(data: Any, recipe: str, seed: int, epochs: int) -> dict[str, Any]:
    torch.manual_seed(seed)
    model = get_model("resnet20")
    # the recipe's fields are applied here, so fit takes the config as given ("paper")
    h = fit(model, data, variant_config(recipe, epochs, seed), recipe="paper", model_name="resnet20")
    acc = [None if e is None else 1 - e for e in h.test_error]
    # "test_accuracy" is the accuracy on data.test_x: the held-out training images under --holdout
    out: dict[str, Any] = {"recipe": recipe, "seed": seed, "test_accuracy": acc,
                           "train_time_s": h.train_time_s, "images_per_s": h.images_per_s,
                           "config": h.config}  # fmt: skip
    for target in TARGETS:
        hit = h.reach(1 - target, metric="test_error")
        reached = None if hit is None else {"epochs": hit[0], "seconds": round(hit[1], 1)}
        out[f"to_{round(100 * target)}"] = reached
    return out


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    final = [r["test_accuracy"][-1] for r in runs]
    out: dict[str, Any] = {"final_accuracy_mean": statistics.mean(final),
                           "final_accuracy_sd": statistics.stdev(final) if len(final) > 1 else 0.0,
                           "final_accuracy": final}  # fmt: skip
    for target in TARGETS:
        key = f"to_{round(100 * target)}"
        hits = [r[key] for r in runs]
        out[key] = {"reached": sum(h is not None for h in hits), "of": len(hits),
                    "epochs": [h["epochs"] if h else None for h in hits],
                    "seconds": [h["seconds"] if h else None for h in hits]}  # fmt: skip
    return out


def markdown(report: dict[str, Any]) -> str:
    scored = "held-out" if report.get("holdout") else "test"
    head = f"| recipe | {scored} accuracy after {report['epochs']} epochs (mean ± sd over seeds) | per seed "
    lines = [head + "| to 70% (epochs; s) | to 85% |", "|---|---:|---|---|---|"]
    for recipe, s in report["summary"].items():
        per = ", ".join(f"{100 * a:.2f}%" for a in s["final_accuracy"])
        cells = []
        for key in ("to_70", "to_85"):
            t = s[key]
            if t["reached"] == 0:
                cells.append(f"not reached ({t['of']} seeds)")
            else:
                cells.append("; ".join(f"{e} ep, {sec:.0f} s" if e else "—" for e, sec in
                                       zip(t["epochs"], t["seconds"], strict=True)))  # fmt: skip
        mean, sd = 100 * s["final_accuracy_mean"], 100 * s["final_accuracy_sd"]
        lines.append(f"| `{recipe}` | {mean:.2f}% ± {sd:.2f} | {per} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--recipes", default="paper,fast")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--out", default=None)
    p.add_argument("--subset", type=int, default=None, metavar="N",
                   help="N training images per class (a smoke run; the report is of all 5,000 per class)")
    p.add_argument("--holdout", action="store_true",
                   help="train on 45,000 training images, score on the 5,000 held out (never the test set)")
    p.add_argument("--markdown", action="store_true", help="print the table of an existing --out report")
    args = p.parse_args(argv)
    if args.markdown:
        print(markdown(json.loads(Path(args.out).read_text())))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    data = load_cifar10()
    if args.holdout:  # the test images are dropped here: nothing below can score on them
        data = data.validation_split(500, seed=0)
    if args.subset:
        data = data.subset(args.subset, max(1, args.subset // 5), seed=0)
    seeds = [int(s) for s in args.seeds.split(",")]
    runs: dict[str, list[dict[str, Any]]] = {r: [] for r in args.recipes.split(",")}
    t0 = time.perf_counter()
    report: dict[str, Any] = {}
    for seed in seeds:  # recipes interleaved per seed: a change of machine load hits both alike
        for recipe in runs:
            r = one_run(data, recipe, seed, args.epochs)
            runs[recipe].append(r)
            print(f"{recipe} seed {seed}: {[round(100 * a, 2) for a in r['test_accuracy']]}", flush=True)
            report = {
                "command": " ".join(["python benchmarks/time_to_accuracy.py", *(argv or sys.argv[1:])]),
                "when": datetime.now(timezone.utc).isoformat(timespec="seconds"), "epochs": args.epochs,
                "holdout": args.holdout, "scored_on": f"{data.n_test:,} "
                + ("held-out training images" if args.holdout else "test images"),
                "cpu": cpu_model(), "threads": torch.get_num_threads(), "platform": platform.platform(),
                "run_info": run_info(data), "wall_s": round(time.perf_counter() - t0, 1), "runs": runs,
                "summary": {k: summary(v) for k, v in runs.items() if v},
            }  # fmt: skip
            if args.out:  # after every run: a report of the seeds so far survives an interrupted benchmark
                Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
