"""Multi-process training with ``torchrun`` (DistributedDataParallel).

``torchrun --nproc_per_node N main.py train …`` sets RANK / WORLD_SIZE / LOCAL_RANK; :func:`setup` joins
the process group (NCCL on GPUs, gloo on CPUs). Each rank takes an equal slice of every global batch;
DDP all-reduces (averages) the gradients of *each* backward pass, so both SAM passes — the ascent at w
and the descent at w + ε — use the gradient of the whole global batch, exactly as one process would.
"""

from __future__ import annotations

import os
from typing import NamedTuple

import torch
import torch.distributed as dist


class Dist(NamedTuple):
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(device: torch.device) -> Dist:
    """Join the process group when launched by torchrun; a single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(0, 1, device)
    rank = int(os.environ["RANK"])
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, device)


def wrap(model: torch.nn.Module, d: Dist) -> torch.nn.Module:
    """DDP-wrap the model when running on several processes."""
    if d.world == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(model, device_ids=[d.device.index] if d.device.type == "cuda" else None)


def shard(indices: list[int], d: Dist) -> list[int]:
    """This rank's equal share of a global batch (the batch size must divide by the world size)."""
    return indices[d.rank :: d.world]


def barrier(d: Dist) -> None:
    if d.world > 1:
        dist.barrier()


def teardown(d: Dist) -> None:
    if d.world > 1 and dist.is_initialized():
        dist.destroy_process_group()
