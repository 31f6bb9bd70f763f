"""Where and in which precision training runs: :func:`pick_device`, :func:`pick_precision`."""

from __future__ import annotations

import platform
import warnings
from contextlib import nullcontext

import torch

from ecg_lib.train.config import PRECISIONS

__all__ = ["autocast", "device_name", "pick_device", "pick_precision"]


def pick_device(preference: str | torch.device | None = None) -> torch.device:
    """``preference`` if given (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``), else CUDA, MPS or CPU."""
    if preference not in (None, "auto"):
        device = torch.device(preference)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' was asked for, but PyTorch sees no CUDA GPU; use 'cpu' or None.")
        if device.type == "mps" and not torch.backends.mps.is_available():
            raise ValueError("device='mps' was asked for, but MPS is not available; use 'cpu' or None.")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _cpu_has_native_bf16() -> bool:
    """bf16 instructions (AVX512-BF16 or AMX). Without them oneDNN emulates bf16: measured on an AVX2-only
    EPYC, a bf16 training step was 20-30x slower than fp32, so "auto" must not choose it there."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # older or non-x86 builds: stay with fp32
        return False


def pick_precision(device: torch.device | str, preference: str = "auto") -> str:
    """Resolve ``"auto"``: bf16 on CUDA GPUs that support it (fp16 with loss scaling on older ones) and on
    CPUs with native bf16; fp32 on MPS and on other CPUs. Explicit choices are checked."""
    device = torch.device(device)
    if preference not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS} (got {preference!r}).")
    if preference == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if device.type == "cpu" and _cpu_has_native_bf16():
            return "bf16"
        return "fp32"
    if preference == "fp16" and device.type != "cuda":
        raise ValueError("precision='fp16' needs a CUDA GPU; on the CPU use 'bf16' or 'fp32'.")
    if preference == "bf16" and device.type == "cpu" and not _cpu_has_native_bf16():
        warnings.warn("This CPU has no native bf16 (AVX512-BF16/AMX): bf16 runs emulated, typically many "
                      "times slower than fp32.", stacklevel=2)  # fmt: skip
    return preference


def autocast(device: torch.device, precision: str):
    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple GPU (MPS), {platform.machine()}"
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    threads = torch.get_num_threads()
    return f"{name}, {threads} thread{'s' if threads != 1 else ''}"

