"""Training on several processes (torch DDP under `torchrun`): where this process trains, and its
share of each epoch's batches.

A single process is the same code with `world_size` 1: nothing is launched or reduced.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from disco_dock.core.training import pick_device


@dataclass(frozen=True)
class Processes:
    """Where this process trains: its rank among `world_size` DDP processes, and its device."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that validates and writes files."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every process (nothing to do alone)."""
        if self.world_size > 1:
            dist.barrier()

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """`values` averaged over the processes."""
        if self.world_size == 1 or not values:
            return values
        tensor = torch.tensor(list(values.values()), dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return dict(zip(values, (tensor / self.world_size).tolist()))

    def wrap(self, model: nn.Module) -> nn.Module:
        """`model` itself alone, else in DistributedDataParallel (which averages the gradients).
        Wrap anew each epoch when the parameters that train may change (a frozen trunk)."""
        if self.world_size == 1:
            return model
        device_ids = [self.device] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=device_ids, find_unused_parameters=True)


@contextmanager
def processes(device: str = "auto") -> Iterator[Processes]:
    """This process's place in a `torchrun` launch (env WORLD_SIZE, RANK, LOCAL_RANK; NCCL on
    CUDA, gloo otherwise), or a single process on `device`; the process group is closed after."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    chosen = pick_device(device)
    if world_size == 1:
        yield Processes(0, 1, chosen)
        return
    if chosen.type == "cuda":
        chosen = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(chosen)
    dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo", timeout=timedelta(hours=2))
    try:
        yield Processes(dist.get_rank(), world_size, chosen)
    finally:
        dist.destroy_process_group()


@dataclass(frozen=True)
class ShardedBatches:
    """A dataset's batches for `fit`: each epoch a shuffle fixed by (seed, epoch), split across the
    processes as `DistributedSampler` does, on this process's device. `loader` makes the batches
    (torch's DataLoader, or torch_geometric's for graphs)."""

    dataset: Dataset
    batch_size: int
    seed: int
    procs: Processes
    loader: Callable[..., Iterable] = DataLoader

    def __len__(self) -> int:
        """This process's batches per epoch."""
        return math.ceil(math.ceil(len(self.dataset) / self.procs.world_size) / self.batch_size)

    def epoch(self, epoch: int, skip: int = 0) -> Iterator:
        """This process's batches of `epoch` without its first `skip` (a resumed epoch)."""
        procs = self.procs
        sampler = DistributedSampler(self.dataset, num_replicas=procs.world_size, rank=procs.rank, shuffle=True, seed=self.seed)
        sampler.set_epoch(epoch)
        indices = list(sampler)[skip * self.batch_size :]
        batches = self.loader(self.dataset, batch_size=self.batch_size, sampler=indices, generator=torch.Generator())  # global RNG untouched
        return (batch.to(procs.device) for batch in batches)
