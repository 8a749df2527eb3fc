"""Datasets and worker functions that lesson 05's DataLoader worker processes import.

They live in a module, not in notebook cells: under the spawn start method (macOS, Windows, and
Linux from Python 3.14) each worker re-imports what it runs, and a class defined in a notebook
cannot be found there.
"""
from __future__ import annotations

import os
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


class WhichProcess(Dataset):
    """Item i is `(i, id of the process that loaded it)`: tells a restarted worker from a kept one."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return i, os.getpid()


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
    """Item i is `(i, worker, a draw from NumPy's global generator, a draw from each of two Generators the dataset
    made in __init__, as datasets often do)`: random augmentation, stripped down. `seed_worker` rebuilds
    `self.rng` in each worker; `self.rng_as_made` is left as every worker received it."""

    def __init__(self, n: int, seed: int = 0):
        self.n = n
        self.rng = np.random.default_rng(seed)
        self.rng_as_made = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        return (i, worker_name(), int(np.random.randint(1000)), int(self.rng_as_made.integers(1000)),
                int(self.rng.integers(1000)))


def seed_worker(worker_id: int) -> None:
    """Give this worker's copy of the dataset a Generator of its own, seeded with the worker's seed.

    PyTorch seeds `torch`, `random` and NumPy's global generator in each worker with `base_seed + worker_id`
    (`get_worker_info().seed`), but it cannot know about a Generator the dataset holds: every worker
    received an identical copy of it.
    """
    info = get_worker_info()
    info.dataset.rng = np.random.default_rng(info.seed)


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


class TensorBatches(Dataset):
    """Tensors held in memory, fetched a whole batch at a time: `dataset[indices]` is `(X[indices], y[indices])`,
    one indexed copy per tensor, for a list or an integer tensor of indices (use it with `batch_size=None`)."""

    def __init__(self, features: torch.Tensor, targets: torch.Tensor):
        self.features, self.targets = features, targets

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, indices):
        return self.features[indices], self.targets[indices]


class ByName(Dataset):
    """A map-style dataset whose keys are names, not positions: `dataset["Happy"]` is `("Happy", 1)`."""

    def __init__(self, labels: dict[str, int]):
        self.labels = dict(labels)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, name: str):
        return name, self.labels[name]
