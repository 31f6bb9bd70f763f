"""Training throughput: ecg_lib's tensor-resident loader + fit() against the standard PyTorch pipeline.

Run from the repository root (it reads CIFAR-10 the usual way: ECG_DATA_DIR, cache, download, local):

    python benchmarks/train_speed.py        # everything; writes benchmarks/train_speed_<device>.json
    python benchmarks/train_speed.py --models resnet20 --repeats 1 --skip-decode   # a quick look

Variants, per model, interleaved (A B C D A B C D ...) and repeated so that a slow spell of a shared
machine hits all of them alike; the report gives the median and the range:

- ``standard_w2`` / ``standard_w0``: what a d2l-style reader writes: a torchvision ``CIFAR10`` dataset
  object (PIL image per sample) with ``transforms.RandomCrop(32, padding=4)``, ``RandomHorizontalFlip``,
  ``ToTensor``, ``Normalize``, a ``DataLoader`` (batch 128, shuffle, 2 or 0 worker processes), fp32,
  default memory format, a plain SGD loop.
- ``ours_fp32_nchw``, ``ours_fp32_cl``, ``ours_bf16_cl``: ``ecg_lib.train.fit`` with its device-resident
  loader, in fp32 without/with channels_last and in bf16 autocast with channels_last.

Each measurement trains two epochs of ``steps`` batches of 128 on a class-balanced subset and times the
second (the first warms up oneDNN's kernels and the worker processes). Also measured: fp32 and bf16
matmul rates, training FLOPs per image (torch.utils.flop_counter, forward + backward), the time to decode
the 60,000 JPEGs, the time to read the decoded cache; on CUDA, optionally, the time for ResNet-20 to
reach 91% test accuracy with the paper's schedule (--time-to-accuracy).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from ecg_lib.data import CIFAR10Data, channel_stats, load_cifar10
from ecg_lib.models import get_model
from ecg_lib.train import TrainConfig, fit, pick_device, pick_precision, run_info

BATCH = 128


def matmul_gflops(dtype: torch.dtype, n: int, device: torch.device, seconds: float = 2.0) -> float:
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    for _ in range(2):
        a @ b
    _sync(device)
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or reps < 3:
        a @ b
        reps += 1
    _sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t0) / 1e9


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_flops_per_image(name: str) -> float:
    """FLOPs (2 per multiply-add) of one forward + backward pass, per image."""
    model = get_model(name)
    x = torch.randn(4, 3, 32, 32)
    counter = FlopCounterMode(display=False)
    with counter:
        F.cross_entropy(model(x), torch.zeros(4, dtype=torch.long)).backward()
    return counter.get_total_flops() / 4


def standard_pipeline(name: str, data: CIFAR10Data, steps: int, workers: int, device: torch.device) -> float:
    """images/s of the second epoch with torchvision dataset + transforms + DataLoader, fp32."""
    from torch.utils.data import DataLoader
    from torchvision import transforms
    from torchvision.datasets import CIFAR10

    mean, std = channel_stats(data.train_x)
    tf = transforms.Compose([
        transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(), transforms.ToTensor(),
        transforms.Normalize(mean.tolist(), std.tolist()),
    ])  # fmt: skip
    # torchvision's own CIFAR10 class (its __getitem__: numpy HWC -> PIL -> transforms), filled with the
    # same images instead of reading its pickled batches from disk
    ds = CIFAR10.__new__(CIFAR10)
    ds.data = data.train_x.permute(0, 2, 3, 1).numpy()
    ds.targets = data.train_y.tolist()
    ds.transform, ds.target_transform, ds.transforms = tf, None, None
    loader = DataLoader(ds, batch_size=BATCH, shuffle=True, num_workers=workers, drop_last=True,
                        persistent_workers=workers > 0)  # fmt: skip
    torch.manual_seed(0)
    model = get_model(name).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    rate = 0.0
    for _ in range(2):
        t0, n = time.perf_counter(), 0
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            n += y.numel()
        _sync(device)
        rate = n / (time.perf_counter() - t0)
    return rate


def ours(name: str, data: CIFAR10Data, precision: str, channels_last: bool) -> float:
    torch.manual_seed(0)
    model = get_model(name)
    cfg = TrainConfig(epochs=2, batch_size=BATCH, lr=0.01, schedule="constant", precision=precision,
                      channels_last=channels_last, eval_every=0, quiet=True)  # fmt: skip
    return fit(model, data, cfg).images_per_s[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="resnet20,alexnet_cifar")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=20, help="timed batches of 128 per fp32 measurement")
    p.add_argument("--bf16-steps", type=int, default=None,
                   help="timed batches for bf16 (default: --steps, or 3 on a CPU without native bf16)")
    p.add_argument("--variants", default="standard_w2,standard_w0,ours_fp32_nchw,ours_fp32_cl,ours_bf16_cl")
    p.add_argument("--skip-decode", action="store_true", help="do not time decoding the 60,000 JPEGs")
    p.add_argument("--time-to-accuracy", action="store_true",
                   help="train ResNet-20 on all 50,000 images until 91%% test accuracy (a GPU job)")
    p.add_argument("--out", default=None, help="JSON results (default: benchmarks/train_speed_<device>.json)")
    args = p.parse_args(argv)  # fmt: skip

    device = pick_device()
    results: dict = {"command": "python benchmarks/" + " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
                     "device": device.type, "when": time.strftime("%Y-%m-%d %H:%M:%S")}  # fmt: skip

    # data: cache read time (3 reads), then a fresh decode of the JPEG archive
    reads = []
    for _ in range(3):
        t0 = time.perf_counter()
        data = load_cifar10()
        reads.append(time.perf_counter() - t0)
    results["cache_read_s"] = reads
    results["data_source"] = data.source
    if not args.skip_decode:
        archive = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-jpeg.tar.gz"
        if archive.is_file():
            t0 = time.perf_counter()
            load_cifar10(archive, use_cache=False)
            results["decode_60k_jpeg_s"] = time.perf_counter() - t0
            print(f"decode 60,000 JPEGs: {results['decode_60k_jpeg_s']:.1f} s", flush=True)
    print(f"cache read: {', '.join(f'{t:.2f}' for t in reads)} s", flush=True)

    results["run_info"] = run_info(data)
    results["threads"] = torch.get_num_threads()
    results["platform"] = platform.platform()
    results["matmul_gflops"] = {
        "fp32_2048": matmul_gflops(torch.float32, 2048, device),
        "bf16_2048" if device.type == "cuda" else "bf16_512": matmul_gflops(
            torch.bfloat16, 2048 if device.type == "cuda" else 512, device),
    }  # fmt: skip
    print("matmul GFLOP/s:", {k: round(v, 1) for k, v in results["matmul_gflops"].items()}, flush=True)

    native_bf16 = pick_precision(device, "auto") == "bf16"
    bf16_steps = args.bf16_steps or (args.steps if native_bf16 or device.type == "cuda" else 3)
    variants = args.variants.split(",")
    results["models"] = {}
    for name in args.models.split(","):
        flops = train_flops_per_image(name)
        subsets = {s: data.subset(-(-s * BATCH // 10)) for s in {args.steps, bf16_steps}}  # ceil
        runs: dict[str, list[float]] = {v: [] for v in variants}
        for rep in range(args.repeats):
            for v in variants:
                steps = bf16_steps if "bf16" in v else args.steps
                sub = subsets[steps]
                if v.startswith("standard"):
                    ips = standard_pipeline(name, sub, steps, int(v[-1]), device)
                else:
                    prec = "bf16" if "bf16" in v else "fp32"
                    ips = ours(name, sub, prec, channels_last=v.endswith("_cl"))
                runs[v].append(ips)
                print(f"{name:14s} rep {rep + 1}  {v:16s} {ips:8.1f} images/s", flush=True)
        med = {v: statistics.median(r) for v, r in runs.items()}
        results["models"][name] = {
            "train_gflop_per_image": flops / 1e9, "images_per_s": runs, "median": med,
            "train_gflops_median": {v: m * flops / 1e9 for v, m in med.items()},
        }  # fmt: skip

    if args.time_to_accuracy:
        results["time_to_91"] = time_to_accuracy(data, 0.91)

    out = Path(args.out) if args.out else Path(__file__).with_name(f"train_speed_{device.type}.json")
    out.write_text(json.dumps(results, indent=1))
    print_markdown(results)
    print(f"\nwritten: {out}")
    return 0


def time_to_accuracy(data: CIFAR10Data, target: float) -> dict:
    """ResNet-20 with He et al.'s (2016) schedule: batch 128, lr 0.1, /10 at 32k and 48k iterations,
    64k in all (82, 123, 164 epochs of 391 steps), weight decay 1e-4, momentum 0.9."""
    torch.manual_seed(0)
    model = get_model("resnet20")
    cfg = TrainConfig(epochs=164, batch_size=128, lr=0.1, schedule="step", milestones=(82, 123),
                      weight_decay=1e-4, momentum=0.9)  # fmt: skip
    h = fit(model, data, cfg, on_epoch_end=lambda e, m, hist: (hist.final_test_error or 1) <= 1 - target)
    hit = h.reach(1 - target, "test_error")
    return {"target_accuracy": target, "epochs": hit[0] if hit else None,
            "train_time_s": hit[1] if hit else None, "wall_time_s": h.total_time_s,
            "final_test_error": h.final_test_error, "info": h.info}  # fmt: skip


def print_markdown(r: dict) -> None:
    print("\n| model | variant | images/s (median) | range | training GFLOP/s |")
    print("|---|---|---:|---:|---:|")
    for name, m in r["models"].items():
        for v, runs in m["images_per_s"].items():
            print(f"| {name} | {v} | {m['median'][v]:.0f} | {min(runs):.0f}-{max(runs):.0f} | "
                  f"{m['train_gflops_median'][v]:.1f} |")  # fmt: skip
        med = m["median"]
        if "standard_w2" in med and "ours_fp32_cl" in med:
            print(f"\n{name}: ours fp32 channels_last / standard (2 workers) = "
                  f"{med['ours_fp32_cl'] / med['standard_w2']:.2f}x\n")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
