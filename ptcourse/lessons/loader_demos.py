"""Datasets and worker functions that lesson 05's DataLoader worker processes import.

They live in a module, not in notebook cells: under the spawn start method (macOS, Windows, and
Linux from Python 3.14) each worker re-imports what it runs, and a class defined in a notebook
cannot be found there.
"""
from __future__ import annotations

import random
import time

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info


def worker_name() -> str:
    """`worker 0`, `worker 1`, … inside a DataLoader worker process; `main` in the loop's own process."""
    info = get_worker_info()
    return "main" if info is None else f"worker {info.id}"


class WhoLoadsMe(Dataset):
    """Item i is `(i, name of the process that loaded it)`."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return i, worker_name()


class SlowItem(Dataset):
    """Item i is i; loading item `slow_index` takes `seconds` (a stuck file system, a slow network)."""

    def __init__(self, n: int, slow_index: int, seconds: float):
        self.n, self.slow_index, self.seconds = n, slow_index, seconds

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> int:
        if i == self.slow_index:
            time.sleep(self.seconds)
        return i


class NoisyItem(Dataset):
    """Item i is `(i, worker, a NumPy random draw, a torch random draw)`: augmentation noise, stripped down."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return i, worker_name(), int(np.random.randint(1000)), int(torch.randint(1000, ()))


def seed_numpy_with_constant(worker_id: int) -> None:
    """The classic mistake: every worker seeds NumPy with the same number, so all draw the same noise."""
    np.random.seed(0)


def seed_worker(worker_id: int) -> None:
    """The fix: seed NumPy and `random` from torch's per-worker seed (the loader's base seed + worker id)."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class CpuHeavy(Dataset):
    """Item i is a small tensor that costs `work` steps of pure-Python arithmetic (think: decode + augment)."""

    def __init__(self, n: int, work: int):
        self.n, self.work = n, work

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        acc = i
        for step in range(self.work):
            acc = (acc * 1103515245 + step) % 2147483648
        return torch.tensor([i, acc % 1000])
