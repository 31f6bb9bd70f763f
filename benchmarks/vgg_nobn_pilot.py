"""The pilot that chose the learning rate of VGG without batch normalisation (issue 23, items 6 and 7).

``vgg.train_configs_nobn`` trains configurations A, A-LRN, B and D without BN, with Glorot initialisation,
on the standard profile's recipe (``vgg.SETTINGS["standard"]``: the short-budget SGD recipe with crops and
flips). Its rate of 0.2 was chosen for networks with BN; without BN a deep plain stack may diverge or stay
at chance there. This pilot trains D (the hardest to train) and A at the standard width on a
class-balanced 2,000-image subset of the *training* set (200 per class, drawn after setting aside a
5,000-image held-out split with seed 0) for a few epochs at several rates, and records the last epoch's
training error, plus the error on 500 held-out *training* images. The test set is never loaded into the
comparison: the held-out images are the data's ``test_x`` only because :func:`ecg_lib.train.fit` evaluates
on whatever that field holds. The rule (issue 23): the largest rate at which D's training error falls
clearly below chance (90%) without diverging.

    nice -n 15 python benchmarks/vgg_nobn_pilot.py --threads 1 --out benchmarks/vgg_nobn_pilot.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from ecg_lib.data import load_cifar10
from ecg_lib.experiments import vgg
from ecg_lib.models import get_model
from ecg_lib.train import fit
from ecg_lib.train.loop import NonFiniteLossError


def one_run(data: Any, config: str, lr: float, epochs: int) -> dict[str, Any]:
    """One configuration at one rate: the standard recipe, ``epochs`` long, without BN."""
    s = vgg.NOBN_SETTINGS["standard"]
    # the recipe's warm-up is a fifth of the run, as in the standard run
    train = s.train.replace(epochs=epochs, lr=lr, warmup_epochs=0.2 * epochs)
    torch.manual_seed(0)
    model = get_model("vgg_cifar", config=config, **s.model_options())
    t0 = time.perf_counter()
    try:
        h = fit(model, data, train)
    except NonFiniteLossError as exc:
        return {"config": config, "lr": lr, "epochs": epochs, "diverged": True,
                "train_error": [float(e) for e in exc.history.epoch_train_error],
                "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip
    return {"config": config, "lr": lr, "epochs": epochs, "diverged": False,
            "train_error": [round(float(e), 4) for e in h.epoch_train_error],
            "heldout_error": h.final_test_error, "final_train_loss": round(float(h.train_loss[-1]), 4),
            "seconds": round(time.perf_counter() - t0, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--configs", default="D,A")
    parser.add_argument("--lrs", default="0.2,0.1,0.05,0.02")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = load_cifar10().validation_split(500, seed=0).subset(200, 50, seed=0)
    runs = []
    for config in args.configs.split(","):
        for lr in (float(x) for x in args.lrs.split(",")):
            r = one_run(data, config, lr, args.epochs)
            runs.append(r)
            print(json.dumps(r), flush=True)
    if args.out:
        args.out.write_text(json.dumps({"split": "2,000 training images (200 per class) after holding out "
                                        "5,000; held-out error on 500 of the held-out training images",
                                        "threads": args.threads, "runs": runs}, indent=1) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
