"""The NIN recipe (Adam at 0.002, warmup and cosine decay) re-checked on training data (issue 23, item 6).

``experiments/nin.py`` took its quick and standard recipe from trial runs that compared *test* errors (SGD at
0.05 with dropout 78%, Adam at 0.002 without dropout 72%). This pilot repeats that comparison on the
*training* set: a class-balanced 2,000-image subset (200 per class) drawn after 5,000 training images are set
aside, 5 epochs, each candidate from the same initial weights, scored by its last epoch's training error,
with the error on 500 of the held-out training images beside it. The test set is never loaded into the
comparison (the held-out images sit in the data's ``test_x`` only because :func:`ecg_lib.train.fit`
evaluates on that field). Both widths are piloted: 0.25 without dropout (quick) and 0.5 with the authors'
dropout (standard). The rule, fixed before the run: at each width, the candidate with the lowest training
error; a candidate that diverges or stays near chance (85% training error or more) loses.

    nice -n 15 python benchmarks/nin_recipe_pilot.py --threads 1 --out benchmarks/nin_recipe_pilot.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from ecg_lib.data import load_cifar10
from ecg_lib.experiments import nin
from ecg_lib.train import fit
from ecg_lib.train.loop import NonFiniteLossError

# (optimizer, lr): the trial runs' candidates; the recipe otherwise is the standard one (batch, schedule)
CANDIDATES = (("sgd", 0.05), ("sgd", 0.1), ("adam", 0.002))
WIDTHS = {"quick": (0.25, 0.0), "standard": (0.5, None)}  # width, dropout (None: the authors' 0.5)


def one_run(data: Any, width: float, dropout: float | None, optimizer: str, lr: float,
            epochs: int) -> dict[str, Any]:  # fmt: skip
    train = nin.SETTINGS["standard"].train.replace(epochs=epochs, optimizer=optimizer, lr=lr)
    torch.manual_seed(0)
    model = nin.build_nin(width, "gap", dropout=dropout)
    row: dict[str, Any] = {"width": width, "dropout": dropout, "optimizer": optimizer, "lr": lr}
    t0 = time.perf_counter()
    try:
        h = fit(model, data, train)
    except NonFiniteLossError as exc:
        return {**row, "diverged": True, "train_error": [float(e) for e in exc.history.epoch_train_error],
                "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
    return {**row, "diverged": False, "train_error": [round(float(e), 4) for e in h.epoch_train_error],
            "heldout_error": h.final_test_error, "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_cifar10().validation_split(500, seed=0).subset(200, 50, seed=0)
    runs, chosen = [], {}
    for profile, (width, dropout) in WIDTHS.items():
        rows = [one_run(data, width, dropout, opt, lr, args.epochs) for opt, lr in CANDIDATES]
        for r in rows:
            print(json.dumps(r), flush=True)
        alive = [r for r in rows if not r["diverged"] and r["train_error"][-1] < 0.85]
        best = min(alive, key=lambda r: r["train_error"][-1]) if alive else None
        chosen[profile] = None if best is None else f"{best['optimizer']} lr {best['lr']}"
        runs += rows
    print("chosen on training error:", chosen)
    if args.out:
        args.out.write_text(json.dumps({"split": "2,000 training images (200 per class) after holding out "
                                        "5,000; held-out error on 500 of the held-out training images",
                                        "epochs": args.epochs, "threads": args.threads, "chosen": chosen,
                                        "runs": runs}, indent=1) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
