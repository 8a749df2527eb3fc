"""Custom samplers for the DataLoader lessons (importable, so they also work in spawned workers)."""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of indices whose lengths are similar, to waste little padding on variable-length samples.

    Each epoch: leave out `len(lengths) % batch_size` samples if `drop_last` (random ones when a
    generator is given, else the last ones), sort the rest by length (ties in random order when a
    generator is given), cut into batches of `batch_size`, and yield the batches in random order
    (with a generator) or from shortest to longest (without). Pass it as `batch_sampler=`.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        drop_last: bool = False,
        generator: torch.Generator | None = None,
    ) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer, but got batch_size={batch_size!r}")
        self.lengths = torch.as_tensor(list(lengths), dtype=torch.long)
        if self.lengths.ndim != 1:
            raise ValueError(f"lengths should be a flat sequence of integers, got shape {tuple(self.lengths.shape)}")
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.generator = generator

    def __iter__(self) -> Iterator[list[int]]:
        n = len(self.lengths)
        if self.generator is None:
            order = torch.arange(n)
        else:
            order = torch.randperm(n, generator=self.generator)  # random tie-breaking and random left-outs
        if self.drop_last:
            order = order[: n - n % self.batch_size]
        # A stable sort keeps the (random) order among samples of equal length.
        order = order[torch.sort(self.lengths[order], stable=True).indices]
        batches = list(torch.split(order, self.batch_size)) if len(order) else []
        if self.generator is not None:
            batches = [batches[i] for i in torch.randperm(len(batches), generator=self.generator).tolist()]
        for batch in batches:
            yield batch.tolist()

    def __len__(self) -> int:
        n = len(self.lengths)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


class IndexBatches(Sampler[torch.Tensor]):
    """Each epoch, `range(n)` cut into batches of `batch_size` indices, each batch one integer tensor: shuffled
    with `generator` (or in order with `shuffle=False`), the last batch shorter unless `drop_last`.

    Like `BatchSampler(RandomSampler(...), ...)` without building a Python list per batch. Pass it as
    `sampler=` with `batch_size=None`, to a dataset whose `__getitem__` takes a tensor of indices.
    """

    def __init__(self, n: int, batch_size: int, shuffle: bool = True, drop_last: bool = False,
                 generator: torch.Generator | None = None) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer, but got batch_size={batch_size!r}")
        self.n, self.batch_size, self.shuffle, self.drop_last, self.generator = n, batch_size, shuffle, drop_last, generator

    def __iter__(self) -> Iterator[torch.Tensor]:
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else torch.arange(self.n)
        if self.drop_last:
            order = order[: self.n - self.n % self.batch_size]
        if len(order):
            yield from order.split(self.batch_size)

    def __len__(self) -> int:
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)
