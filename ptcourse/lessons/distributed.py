"""A real DistributedSampler run: processes on torch.distributed (gloo, 127.0.0.1), each loading its shard.

`shard_worker` runs inside each rank's process, so it lives in this module: under the spawn start
method a child re-imports the function by name, and a function defined in a notebook cell cannot be
found there. `run_shard_demo` starts the processes from the notebook and collects their reports.
`ShardedStream` is the iterable-style counterpart of DistributedSampler: it splits a stream between
every (rank, worker) pair.
"""
from __future__ import annotations

import datetime
import queue
import socket
import time

import multiprocessing

import torch.distributed as dist
import torch.multiprocessing as mp
from torch.utils.data import DataLoader, DistributedSampler, IterableDataset, get_worker_info


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ShardedStream(IterableDataset):
    """The numbers 0 … n-1 as a stream, each read by one (rank, worker) pair: with R ranks of W workers,
    worker w of rank r reads shard r·W + w of R·W, the items k ≡ r·W + w (mod R·W). Rank and world size
    come from the process group, as in DistributedSampler; `by_rank=False` ignores them (the mistake).
    Items are `(item, worker id)`."""

    def __init__(self, n: int, by_rank: bool = True):
        self.n = n
        self.rank, self.world_size = (dist.get_rank(), dist.get_world_size()) if by_rank else (0, 1)

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        shard, shards = self.rank * workers + worker, self.world_size * workers
        for item in range(shard, self.n, shards):
            yield item, worker


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
        # An IterableDataset read by two workers in this rank, sharded by rank and worker; and one that
        # ignores the rank, read without workers (enough to see what this rank gets).
        stream = [tuple(item) for item in DataLoader(ShardedStream(n), batch_size=None, num_workers=2)]
        ignoring_rank = [item for item, _ in DataLoader(ShardedStream(n, by_rank=False), batch_size=None)]
        results.put({
            "rank": dist.get_rank(), "world_size": dist.get_world_size(), "backend": dist.get_backend(),
            "shards": shards, "distinct_in_all_shards": len(set().union(*everyone)),
            "stream": stream, "stream_ignoring_rank": ignoring_rank,
        })
    finally:
        dist.destroy_process_group()


def run_shard_demo(n: int = 10, world_size: int = 2, epochs: int = 2, timeout_s: float = 60.0) -> list[dict]:
    """Start `world_size` ranks running `shard_worker`; their reports in rank order (bounded in time).

    The ranks start with this Python's start method: fork on Linux up to Python 3.13 (fast: no import),
    spawn on macOS and Windows, forkserver on Linux from 3.14.
    """
    method = multiprocessing.get_start_method()
    results = mp.get_context(method).Queue()
    context = mp.start_processes(
        shard_worker, args=(world_size, free_port(), n, epochs, results), nprocs=world_size, join=False,
        start_method=method,
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
