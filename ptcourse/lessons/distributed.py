"""A real DistributedSampler run: processes on torch.distributed (gloo, 127.0.0.1), each loading its shard.

`shard_worker` runs inside each spawned process, so it lives in this module: under the spawn start
method a child re-imports the function by name, and a function defined in a notebook cell cannot be
found there. `run_shard_demo` starts the processes from the notebook and collects their reports.
"""
from __future__ import annotations

import datetime
import queue
import socket
import time

import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader, DistributedSampler


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shard_worker(rank: int, world_size: int, port: int, n: int, epochs: int, results) -> None:
    """One rank: join the group, read its shard of `range(n)` for each epoch, put a report on `results`."""
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
        timeout=datetime.timedelta(seconds=30),
    )
    try:
        dataset = range(n)  # any map-style dataset; its items are its indices, to make shards visible
        sampler = DistributedSampler(dataset, shuffle=True, seed=0)  # rank and world size come from the group
        loader = DataLoader(dataset, batch_size=4, sampler=sampler)
        shards = []
        for epoch in range(epochs):
            sampler.set_epoch(epoch)  # same permutation on every rank, a new one each epoch
            shards.append([i for batch in loader for i in batch.tolist()])
        everyone = [None] * world_size
        dist.all_gather_object(everyone, shards[0])  # a collective: each rank sees every rank's shard
        results.put({
            "rank": dist.get_rank(), "world_size": dist.get_world_size(), "backend": dist.get_backend(),
            "shards": shards, "distinct_in_all_shards": len(set().union(*everyone)),
        })
    finally:
        dist.destroy_process_group()


def run_shard_demo(n: int = 10, world_size: int = 2, epochs: int = 2, timeout_s: float = 60.0) -> list[dict]:
    """Spawn `world_size` ranks running `shard_worker`; their reports in rank order (bounded in time)."""
    results = mp.get_context("spawn").Queue()
    context = mp.spawn(
        shard_worker, args=(world_size, free_port(), n, epochs, results), nprocs=world_size, join=False
    )
    deadline = time.monotonic() + timeout_s
    reports = []
    try:
        while len(reports) < world_size:
            try:
                reports.append(results.get(timeout=0.2))
            except queue.Empty:
                context.join(timeout=0)  # re-raises a rank's exception instead of waiting forever
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the {world_size} ranks did not report within {timeout_s:g} s") from None
        while not context.join(timeout=max(deadline - time.monotonic(), 1)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {world_size} ranks did not exit within {timeout_s:g} s")
    finally:
        for process in context.processes:  # stop and reap every rank still running (no zombies)
            if process.is_alive():
                process.terminate()
                process.join(5)
                if process.is_alive():  # ignored SIGTERM
                    process.kill()
                    process.join()
    return sorted(reports, key=lambda report: report["rank"])
