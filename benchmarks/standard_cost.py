"""What the standard profile costs, experiment by experiment (issue 13, item 2).

For every trained experiment of the standard profile: the networks it trains, the training images it
passes (planned from its SETTINGS entry: an upper bound where a run may stop early), the training FLOPs
(3 x 2 x multiply-adds per image: forward, backward for activations and for weights), and its time on
the 2-core machine's CPU: measured from the archive's wall time when ``results/`` holds it, otherwise
projected from a throughput measured here on one thread (``--threads``) for each network. On a GPU the
time is not projected from FLOPs (small CIFAR networks are bound by kernel launches, not arithmetic): it
is measured when a GPU is lent (``scripts/gpu_run.sh``) and left blank otherwise.

    nice python benchmarks/standard_cost.py --threads 1 --out benchmarks/standard_cost.json

prints the Markdown table that benchmarks/report.md carries.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ecg_lib import results
from ecg_lib.counting import count_macs
from ecg_lib.experiments import alexnet, comparison, googlenet, nin, resnet, vgg
from ecg_lib.models import get_model
from ecg_lib.reproduce import cpu_model

N_TRAIN = 50_000


@dataclass
class Part:
    """``epochs`` passes over all training images of one network built by ``build``."""

    label: str
    build: Any
    epochs: float


def plans() -> dict[tuple[str, str], list[Part]]:
    """Every trained standard experiment: its networks and planned epochs, from SETTINGS."""
    out: dict[tuple[str, str], list[Part]] = {}
    a = alexnet.ACTIVATION_SETTINGS["standard"]
    race = []
    for recipe, acts in a.lrs.items():
        for act, rates in acts.items():
            # every rate sweeps, the winner may continue to the cap: an upper bound
            epochs = a.sweep_epochs * len(rates) + (a.max_epochs - a.sweep_epochs)
            def build(act: str = act, r: str = recipe) -> nn.Module:
                return alexnet.build_cifar_net(act, recipe=r)

            race.append(Part(f"{recipe}/{act}", build, epochs))
    lrn = alexnet.LRN_SETTINGS["standard"]
    lrn_parts = [Part(f"lrn={u}", lambda u=u: alexnet.build_cifar_net("relu", lrn=u), lrn.train.epochs)
                 for u in (False, True)]  # fmt: skip
    for seed in ("", "_seed1"):
        out[("alexnet", "relu_vs_tanh" + seed)] = race
        out[("alexnet", "lrn" + seed)] = lrn_parts
    v = vgg.SETTINGS["standard"]
    out[("vgg", "train_configs")] = [
        Part(f"{c} seed {s}", lambda c=c: get_model("vgg_cifar", config=c, **v.model_options()),
             v.train.epochs) for c in v.configs for s in v.seeds
    ]  # fmt: skip
    n = nin.SETTINGS["standard"]
    heads = [Part(h, lambda h=h: nin.build_nin(n.width, h, dropout=n.dropout), n.train.epochs)
             for h in n.heads]  # fmt: skip
    g = googlenet.SETTINGS["standard"]
    variants = [Part(v_, lambda v_=v_: get_model("googlenet_cifar", width=g.width, aux_logits=v_ == "aux"),
                     g.train.epochs) for v_ in g.variants]  # fmt: skip
    d = resnet.SETTINGS["standard"]
    depth = [Part(net, lambda net=net: get_model(net), d.train.epochs) for net in d.nets]
    for seed in ("", "_seed1"):
        out[("nin", "train_heads" + seed)] = heads
        out[("googlenet", "train" + seed)] = variants
        out[("resnet", "depth" + seed)] = depth
    return out


def race_parts() -> list[str]:
    return list(comparison.RACE_MODELS)


def measure(model: nn.Module, steps: int = 10, batch: int = 128, warmup: int = 3) -> float:
    """Training images per second of ``model`` on this CPU (bf16 autocast where native, as fit picks)."""
    from ecg_lib.train import pick_precision

    precision = pick_precision(torch.device("cpu"), "auto")
    model = model.to(memory_format=torch.channels_last).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(batch, 3, 32, 32).to(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = model(x)
        out = out[0] if isinstance(out, tuple) else out
        loss = F.cross_entropy(out.float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(warmup):  # bf16 kernels are set up on the first steps: slow, and not the cost of a run
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return batch * steps / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows, speeds = [], {}
    for (chapter, name), parts in plans().items():
        flops = cpu_s = 0.0
        images = 0
        for part in parts:
            model = part.build()
            macs = count_macs(model, (3, 32, 32))
            key = (chapter, part.label.split(" seed ")[0])
            if key not in speeds:
                speeds[key] = measure(model)
            n = part.epochs * N_TRAIN
            images += n
            flops += 6 * macs * n
            cpu_s += n / speeds[key]
        archived = results.find_archive(chapter, name, profile="standard")
        rows.append({"chapter": chapter, "experiment": name, "networks": [p.label for p in parts],
                     "train_images": images, "train_pflop": flops / 1e15, "projected_cpu_h": cpu_s / 3600,
                     **measured(archived)})  # fmt: skip
    race = comparison.SETTINGS["standard"]
    for seed in (0, 1, 2):
        name = f"race_seed{seed}"
        archived = results.find_archive("comparison", name, profile="standard")
        rows.append({"chapter": "comparison", "experiment": name, "networks": race_parts(),
                     "train_images": None, "train_pflop": None,
                     "projected_cpu_h": race.seconds_per_net * len(race_parts()) / 3600,
                     **measured(archived)})  # fmt: skip
    report = {"cpu": cpu_model(), "threads": args.threads, "loadavg_at_measurement": os.getloadavg(),
              "rows": rows}  # fmt: skip
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print(markdown(report))
    return 0


def measured(archived: Any) -> dict[str, Any]:
    """What an archive measured: its wall time as CPU hours when it ran on the CPU, as GPU seconds (with
    the device and how it shared it) when on a GPU. A GPU archive's seconds are never counted as CPU time."""
    out: dict[str, Any] = {"measured_cpu_h": None, "measured_on": None, "measured_gpu_s": None, "gpu": None}
    if archived is None:
        return out
    info = archived.run_info
    if str(info.get("device", "cpu")).startswith("cpu"):
        out.update(measured_cpu_h=info["wall_time_s"] / 3600, measured_on=info.get("cpu"))
    else:
        out.update(measured_gpu_s=info["wall_time_s"], gpu=str(info["device"]).split(": ", 1)[-1],
                   gpu_note=info.get("note"))  # fmt: skip
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = ["| chapter | experiment | training images (upper bound) | training PFLOP | CPU hours, 1 thread: "
             "projected | measured (archive) | GPU seconds (archive) |",
             "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    total_p = total_m = 0.0
    per_chapter: dict[str, float] = {}
    for r in report["rows"]:
        imgs = "time budget" if r["train_images"] is None else f"{r['train_images'] / 1e6:.2f} M"
        pf = "—" if r["train_pflop"] is None else f"{r['train_pflop']:.2f}"
        meas = "—" if r["measured_cpu_h"] is None else f"{r['measured_cpu_h']:.2f}"
        gpu = "—" if r.get("measured_gpu_s") is None else f"{r['measured_gpu_s']:.0f} ({r['gpu']})"
        row = (f"| {r['chapter']} | {r['experiment']} | {imgs} | {pf} | {r['projected_cpu_h']:.2f} | {meas} "
               f"| {gpu} |")  # fmt: skip
        lines.append(row)
        best = r["measured_cpu_h"] if r["measured_cpu_h"] is not None else r["projected_cpu_h"]
        total_p += r["projected_cpu_h"]
        total_m += best
        per_chapter[r["chapter"]] = per_chapter.get(r["chapter"], 0.0) + best
    lines.append(f"| **all** | | | | **{total_p:.1f}** | {total_m:.1f} (measured where archived on the CPU) "
                 "| |")
    lines.append("")
    lines.append("Per chapter, CPU hours (measured where archived on the CPU, else projected): " +
                 ", ".join(f"{c} {h:.1f} h" for c, h in per_chapter.items()) + ".")  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
