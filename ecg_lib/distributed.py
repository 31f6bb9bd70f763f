"""The little DistributedDataParallel plumbing :func:`ecg_lib.train.fit` needs under ``torchrun``.

``torchrun --nproc_per_node=N -m ecg_lib train ...`` starts N processes with ``RANK``, ``WORLD_SIZE``
and ``LOCAL_RANK`` set; :func:`setup` joins them into one process group (NCCL on CUDA, gloo on the
CPU). Without those variables everything here is a no-op for a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["DistInfo", "all_gather_object", "all_reduce", "cleanup", "current", "launched", "setup"]


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands: ``rank`` of ``world_size``, its ``local_rank`` on this machine."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def _env_world() -> tuple[int, int, int]:
    return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
            int(os.environ.get("LOCAL_RANK", 0)))  # fmt: skip


def launched() -> DistInfo:
    """Where the launcher (torchrun) placed this process, read from its environment: valid before the
    process group is joined, when :func:`current` still says rank 0 in every process."""
    rank, world, local = _env_world()
    return DistInfo(rank, world, local)


def current() -> DistInfo:
    """The process group this process belongs to (a single-process DistInfo if none)."""
    if dist.is_available() and dist.is_initialized():
        local = _env_world()[2]
        return DistInfo(dist.get_rank(), dist.get_world_size(), local, dist.get_backend())
    return DistInfo()


def setup(device_type: str = "cpu") -> DistInfo:
    """Join the process group that ``torchrun`` describes in the environment, once per process.

    ``device_type`` picks the backend: ``"cuda"`` -> NCCL (and binds this process to GPU
    ``LOCAL_RANK``), anything else -> gloo.
    """
    _, world, local = _env_world()
    if world <= 1:
        return DistInfo()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this PyTorch build has no torch.distributed support.")
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local)
        dist.init_process_group(backend=backend)
    return current()


def cleanup() -> None:
    """Leave the process group (call once at the end of a torchrun script)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce(t: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """In-place all-reduce (``"sum"``, ``"min"`` or ``"max"``); returns ``t`` unchanged without a group."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        ops = {"sum": dist.ReduceOp.SUM, "min": dist.ReduceOp.MIN, "max": dist.ReduceOp.MAX}
        dist.all_reduce(t, op=ops[op])
    return t


def all_gather_object(obj: object) -> list[object]:
    """Every rank's ``obj``, in rank order (``[obj]`` without a group)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        out: list[object] = [None] * dist.get_world_size()
        dist.all_gather_object(out, obj)
        return out
    return [obj]
