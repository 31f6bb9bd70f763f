"""Trained reference networks: load + evaluate all 10,000 test images, per network; and what the ResNet
chapter's "trained networks" section costs at its quick size.

Run from the repository root (CIFAR-10 and the weights are found the usual way):

    nice python benchmarks/pretrained_eval.py            # writes benchmarks/pretrained_eval.json
    nice python benchmarks/pretrained_eval.py --parts reference_quick   # one part, merged into the JSON

Measured:

- ``one_core``: ResNet-56 over 1,000 and 10,000 test images on one thread (fp32), to size the quick
  settings of :mod:`ecg_lib.experiments.reference`;
- ``load_and_eval``: per network, :func:`ecg_lib.pretrained.load_pretrained` (find, sha256, torch.load,
  map) plus :func:`ecg_lib.experiments.reference.count_correct` over the 10,000 test images, with the
  default threads (2 on the development machine), fp32: the issue's target is under 30 s each;
- ``reference_quick``: the three experiments of :mod:`ecg_lib.experiments.reference` at the quick size.

The load average is recorded before and after each part: the development machine is shared, so a figure
taken under load is an upper bound on what an idle machine does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from ecg_lib.data import load_cifar10
from ecg_lib.experiments import reference
from ecg_lib.pretrained import PRETRAINED, load_pretrained


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


PARTS = ("one_core", "load_and_eval", "reference_quick")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated subset of {PARTS}")
    parts = parser.parse_args().parts.split(",")
    path = Path(__file__).with_name("pretrained_eval.json")
    out: dict = json.loads(path.read_text()) if path.is_file() else {}
    out.update({"torch": torch.__version__, "python": platform.python_version(),
                "cpu_count": os.cpu_count(), "threads": torch.get_num_threads()})  # fmt: skip
    data = load_cifar10()
    out["data"], out["data_quality"] = data.source, data.data_quality
    if "one_core" in parts:
        out["one_core"] = one_core(data)
    if "load_and_eval" in parts:
        out["load_and_eval"] = load_and_eval(data)
    if "reference_quick" in parts:
        out["reference_quick"] = reference_quick(data)
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}")


def one_core(data) -> dict:

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    model, norm = load_pretrained("resnet56")
    one = {"loadavg_before": _load()}
    for n in (1000, 10_000):
        x, y = reference.eval_images(data, n)
        t0 = time.perf_counter()
        reference.count_correct(model, norm, x, y)
        one[f"resnet56_{n}_s"] = round(time.perf_counter() - t0, 2)
        print(f"one thread: resnet56 on {n} images: {one[f'resnet56_{n}_s']} s", flush=True)
    one["loadavg_after"] = _load()
    torch.set_num_threads(threads)
    return one


def load_and_eval(data) -> dict:
    rows = {}
    for name in PRETRAINED:
        before = _load()
        t0 = time.perf_counter()
        model, norm = load_pretrained(name)
        t_load = time.perf_counter() - t0
        correct = reference.count_correct(model, norm, data.test_x, data.test_y)
        total = time.perf_counter() - t0
        rows[name] = {"load_s": round(t_load, 3), "total_s": round(total, 2), "correct": correct,
                      "accuracy": correct / data.n_test, "loadavg_before": before,
                      "loadavg_after": _load()}  # fmt: skip
        # for comparison only: bf16 autocast with channels_last (native on CPUs with AVX512-BF16/AMX);
        # not what the pinned counts use, since bf16 moves a few images across the decision boundary
        t1 = time.perf_counter()
        fast = model.to(memory_format=torch.channels_last)
        wrong_bf16 = 0
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            for start in range(0, data.n_test, 500):
                xb = norm(data.test_x[start : start + 500]).contiguous(memory_format=torch.channels_last)
                wrong_bf16 += int((fast(xb).float().argmax(1) != data.test_y[start : start + 500]).sum())
        rows[name].update(bf16_channels_last_eval_s=round(time.perf_counter() - t1, 2),
                          bf16_correct=data.n_test - wrong_bf16)  # fmt: skip
        bf16_s = rows[name]["bf16_channels_last_eval_s"]
        print(f"{name}: load {t_load:.2f} s, load + 10,000 images {total:.1f} s, {correct} correct "
              f"(load average {before[0]}); bf16 eval {bf16_s} s", flush=True)  # fmt: skip
    return rows


def reference_quick(data) -> dict:
    models = {n: load_pretrained(n) for n in PRETRAINED}
    quick = {"loadavg_before": _load()}
    for key, fn in reference.EXPERIMENTS.items():
        t0 = time.perf_counter()
        result = fn(data, "quick", models=models)
        quick[f"{key}_s"] = round(time.perf_counter() - t0, 1)
        quick[f"{key}_metrics"] = result.metrics
        print(f"reference {key} (quick): {quick[f'{key}_s']} s", flush=True)
    quick["total_s"] = round(sum(quick[f"{k}_s"] for k in reference.EXPERIMENTS), 1)
    quick["loadavg_after"] = _load()
    return quick


if __name__ == "__main__":
    main()
