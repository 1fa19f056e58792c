"""The dictionary's rows split across processes (``torchrun --nproc_per_node N main.py train --method cvx …``, on
one machine or several).

Each process of the torch.distributed group holds a contiguous share of the samples, builds only their dictionary
rows (the network's forward pass: the build runs in parallel) and computes its part of every sum over rows: the
loss, the gradient ``Dᵀ G``, the certificate's dual value and constraint, the Lipschitz estimate's products. The
solver adds the parts with an all-reduce, so every process takes the same steps to the same readout that one
process holding every row would reach (up to the order of float additions), and no process ever holds more than
its share of the dictionary: the memory per process is the dictionary's ``1/N``.

Without a group (``WORLD_SIZE`` unset or 1) a :class:`Rows` is one process's rows and every sum is local.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from sast_live.errors import SastLiveError


@dataclass(frozen=True)
class Rows:
    """Where a dictionary's rows are: ``n`` rows in all processes together, of which this one holds a share."""

    n: int
    world: int = 1

    @property
    def split(self) -> bool:
        return self.world > 1

    def sum(self, t: torch.Tensor) -> torch.Tensor:
        """``t`` summed over the processes (in place; every process gets the same values)."""
        if self.split:
            import torch.distributed as dist

            dist.all_reduce(t)
        return t

    def total(self, x: float) -> float:
        """A number summed over the processes, in float64."""
        return float(self.sum(torch.tensor([float(x)], dtype=torch.float64))[0]) if self.split else float(x)


def launched_world() -> int:
    """How many processes torchrun launched this one among (1 when it did not)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def group() -> tuple[int, int]:
    """``(rank, world)``: this process's place in the torchrun group (joined here, gloo: the dictionary and the
    solver run on CPUs), or ``(0, 1)`` when not launched by torchrun."""
    world = launched_world()
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    return dist.get_rank(), dist.get_world_size()


def share(n: int, rank: int, world: int) -> np.ndarray:
    """The sample indices process ``rank`` of ``world`` holds: a contiguous block, the sizes differing by at most
    one; every process needs at least one."""
    if n < world:
        raise SastLiveError(f"{n} samples cannot be split over {world} processes (each needs one at least)")
    bounds = np.linspace(0, n, world + 1).round().astype(int)
    return np.arange(bounds[rank], bounds[rank + 1])


def local_rows(n_local: int, world: int) -> Rows:
    """The :class:`Rows` of a dictionary of which this process holds ``n_local`` rows."""
    return Rows(int(Rows(0, world).total(n_local)), world)


def finish(nbytes: int, world: int) -> int:
    """The last sum over the processes — ``nbytes``, this process's dictionary bytes, added up — after which every
    process leaves the group: its gloo threads stopped before the first process goes on alone and the others exit
    (left running at exit, one in three runs aborted with "terminate called without an active exception")."""
    total = int(Rows(0, world).total(nbytes))
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return total


def broadcast_module(module: torch.nn.Module, world: int) -> None:
    """Every parameter and buffer of ``module`` made rank 0's (the witness network every process's dictionary
    rows must come from)."""
    if world <= 1:
        return
    import torch.distributed as dist

    with torch.no_grad():
        for t in (*module.parameters(), *module.buffers()):
            dist.broadcast(t.data, 0)
