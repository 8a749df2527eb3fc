"""Lesson 05's checks: the classic mistakes, correct answers written several ways, and answers that game them."""
from __future__ import annotations

import importlib
import importlib.util
import math
import sys

import numpy as np
import pytest
import torch
import torch.utils.data.distributed
from torch.utils.data import (
    BatchSampler, DataLoader, RandomSampler, Sampler, SubsetRandomSampler, WeightedRandomSampler,
)

from checklib import Answers
from ptcourse.checks import lesson05 as check

answers = Answers(check)


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 5.N is not done yet")


class Anything:
    """Equal to anything, of any length, iterable as nothing: the classic object that fools `got == want`."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__

    def __len__(self):
        return 0

    def __iter__(self):
        return iter(())


# --- 5.1 train/validation split ------------------------------------------------------------------------


@answers.correct("5.1", "one permutation, lists, the generator also given to the samplers")
def split_reference(n, val_fraction, generator):
    perm = torch.randperm(n, generator=generator).tolist()
    n_val = int(n * val_fraction)
    return SubsetRandomSampler(perm[n_val:], generator=generator), SubsetRandomSampler(perm[:n_val], generator=generator)


@answers.correct("5.1", "tensors as indices, validation taken from the end with math.floor")
def split_with_tensors(n, val_fraction, generator):
    perm = torch.randperm(n, generator=generator)
    cut = n - math.floor(n * val_fraction)
    return SubsetRandomSampler(perm[:cut]), SubsetRandomSampler(perm[cut:])


@answers.correct("5.1", "the pair returned as a list [train, val]")
def split_as_list(n, val_fraction, generator):
    return list(split_reference(n, val_fraction, generator))


@answers.correct("5.1", "NumPy integer arrays, the permutation from torch")
def split_numpy(n, val_fraction, generator):
    perm = torch.randperm(n, generator=generator).numpy()
    n_val = int(n * val_fraction)
    return SubsetRandomSampler(perm[n_val:]), SubsetRandomSampler(perm[:n_val])


@answers.mistake("5.1", "no shuffle: the last samples validate", match="shuffle the indices before splitting")
def split_not_shuffled(n, val_fraction, generator):
    n_val = int(n * val_fraction)
    return SubsetRandomSampler(range(n_val, n)), SubsetRandomSampler(range(n_val))


@answers.mistake("5.1", "the global random stream", match=r"torch.randperm\(n, generator=generator\)")
def split_global_rng(n, val_fraction, generator):
    perm = torch.randperm(n).tolist()
    n_val = int(n * val_fraction)
    return SubsetRandomSampler(perm[n_val:]), SubsetRandomSampler(perm[:n_val])


@answers.mistake("5.1", "round() instead of int()", match=r"rounded down.*int\(7 \* 0.5\) = 3")
def split_rounded(n, val_fraction, generator):
    perm = torch.randperm(n, generator=generator).tolist()
    n_val = round(n * val_fraction)
    return SubsetRandomSampler(perm[n_val:]), SubsetRandomSampler(perm[:n_val])


@answers.mistake("5.1", "two independent permutations overlap", match="split ONE permutation")
def split_two_draws(n, val_fraction, generator):
    n_val = int(n * val_fraction)
    train = torch.randperm(n, generator=generator)[: n - n_val].tolist()
    val = torch.randperm(n, generator=generator)[:n_val].tolist()
    return SubsetRandomSampler(train), SubsetRandomSampler(val)


@answers.mistake("5.1", "plain index lists instead of samplers", match="SubsetRandomSampler, SubsetRandomSampler")
def split_plain_lists(n, val_fraction, generator):
    perm = torch.randperm(n, generator=generator).tolist()
    n_val = int(n * val_fraction)
    return perm[n_val:], perm[:n_val]


@answers.mistake("5.1", "(validation, training) swapped", match=r"int\(n \* val_fraction\)")
def split_swapped(n, val_fraction, generator):
    train, val = split_reference(n, val_fraction, generator)
    return val, train


@answers.mistake("5.1", "perm[-n_val:] takes everything when n_val is 0", match=r"\(3, 0\)|int\(n \* val_fraction\)")
def split_negative_slice(n, val_fraction, generator):
    perm = torch.randperm(n, generator=generator).tolist()
    n_val = int(n * val_fraction)
    return SubsetRandomSampler(perm[:-n_val] if n_val else perm), SubsetRandomSampler(perm[-n_val:])


@answers.mistake("5.1", "float indices (a DataLoader cannot index with them)", match="integer indices")
def split_float_indices(n, val_fraction, generator):
    perm = torch.randperm(n, generator=generator).double()
    n_val = int(n * val_fraction)
    return SubsetRandomSampler(perm[n_val:]), SubsetRandomSampler(perm[:n_val])


@answers.mistake("5.1", "crashes on a one-sample dataset", match=r"calling train_val_samplers\(1, 0.5.*raised")
def split_crashes_on_one(n, val_fraction, generator):
    if n < 2:
        raise ValueError("need at least two samples to split")
    return split_reference(n, val_fraction, generator)


class _LyingSampler(SubsetRandomSampler):
    """A SubsetRandomSampler whose indices compare equal to anything."""

    @property
    def indices(self):
        return Anything()

    @indices.setter
    def indices(self, value):
        pass


@answers.gaming("5.1", "samplers whose indices equal anything", match="SubsetRandomSampler, SubsetRandomSampler")
def split_lying(n, val_fraction, generator):
    return _LyingSampler([]), _LyingSampler([])


answers.gaming("5.1", "an object equal to anything instead of the pair",
               lambda n, val_fraction, generator: Anything(), match="a pair")


# --- 5.2 balanced loader --------------------------------------------------------------------------------


def _weights(labels):
    return 1.0 / torch.bincount(labels)[labels].double()


@answers.correct("5.2", "1 / count per sample, the reference")
def balanced_reference(dataset, labels, batch_size, num_samples, generator):
    sampler = WeightedRandomSampler(_weights(labels), num_samples, replacement=True, generator=generator)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler)


@answers.correct("5.2", "a Python loop, weights normalised to sum to one, a list of float weights")
def balanced_normalised(dataset, labels, batch_size, num_samples, generator):
    counts = {}
    for y in labels.tolist():
        counts[y] = counts.get(y, 0) + 1
    weights = [1 / (counts[y] * len(counts)) for y in labels.tolist()]
    return DataLoader(dataset, batch_size, sampler=WeightedRandomSampler(weights, num_samples, generator=generator))


@answers.correct("5.2", "the weighted sampler inside a BatchSampler, passed as batch_sampler=")
def balanced_batch_sampler(dataset, labels, batch_size, num_samples, generator):
    sampler = WeightedRandomSampler(1.0 / torch.bincount(labels)[labels], num_samples, generator=generator)
    return DataLoader(dataset, batch_sampler=BatchSampler(sampler, batch_size, drop_last=False))


@answers.correct("5.2", "the DataLoader also given generator=generator (as 5.8 recommends)")
def balanced_loader_generator_too(dataset, labels, batch_size, num_samples, generator):
    sampler = WeightedRandomSampler(_weights(labels), num_samples, generator=generator)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, generator=generator)


def _loader(dataset, weights, batch_size, num_samples, generator, **options):
    sampler = WeightedRandomSampler(weights, num_samples, generator=generator, **options)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler)


answers.mistake("5.2", "one weight per class", match="per SAMPLE",
                value=lambda d, labels, b, k, g: _loader(d, 1.0 / torch.bincount(labels), b, k, g))
answers.mistake("5.2", "the count as the weight, not its inverse", match=r"1 / \(number of samples of its class\)",
                value=lambda d, labels, b, k, g: _loader(d, torch.bincount(labels)[labels].double(), b, k, g))
answers.mistake("5.2", "uniform weights", match="class shares",
                value=lambda d, labels, b, k, g: _loader(d, torch.ones(len(labels)), b, k, g))
answers.mistake("5.2", "without replacement", match="replacement",
                value=lambda d, labels, b, k, g: _loader(d, _weights(labels), b, min(k, len(labels)), g, replacement=False))
answers.mistake("5.2", "no generator: the global random stream", match="pass generator=generator to WeightedRandomSampler",
                value=lambda d, labels, b, k, g: _loader(d, _weights(labels), b, k, None))
answers.mistake("5.2", "a generator of its own with a fixed seed", match="seeded differently",
                value=lambda d, labels, b, k, g: _loader(d, _weights(labels), b, k, torch.Generator().manual_seed(0)))
answers.mistake("5.2", "len(labels) draws instead of num_samples", match="num_samples=num_samples",
                value=lambda d, labels, b, k, g: _loader(d, _weights(labels), b, len(labels), g))
answers.mistake("5.2", "shuffle=True instead of a weighted sampler", match="WeightedRandomSampler",
                value=lambda d, labels, b, k, g: DataLoader(d, batch_size=b, shuffle=True, generator=g))
answers.mistake("5.2", "the default batch size of 64", match="batch_size=batch_size",
                value=lambda d, labels, b, k, g: _loader(d, _weights(labels), 64, k, g))


@answers.mistake("5.2", "drop_last=True loses the short last batch", match="drop_last=False")
def balanced_drop_last(dataset, labels, batch_size, num_samples, generator):
    sampler = WeightedRandomSampler(_weights(labels), num_samples, generator=generator)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=True)


@answers.mistake("5.2", "both shuffle and sampler (a ValueError)", match="raised an exception")
def balanced_shuffle_and_sampler(dataset, labels, batch_size, num_samples, generator):
    sampler = WeightedRandomSampler(_weights(labels), num_samples, generator=generator)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, shuffle=True)


class _FakeBatches(DataLoader):
    """A real weighted loader on the outside; its batches are objects equal to anything."""

    def __iter__(self):
        return iter([Anything()] * len(self))


@answers.gaming("5.2", "batches that equal anything", match="a batch of the loader")
def balanced_fake_batches(dataset, labels, batch_size, num_samples, generator):
    sampler = WeightedRandomSampler(_weights(labels), num_samples, generator=generator)
    return _FakeBatches(dataset, batch_size=batch_size, sampler=sampler)


class _UniformInside(DataLoader):
    """Shows a weighted sampler, but iterates uniform draws."""

    def __iter__(self):
        uniform = RandomSampler(self.dataset, replacement=True, num_samples=len(self.sampler), generator=self.generator)
        return iter(DataLoader(self.dataset, batch_size=self.batch_size, sampler=uniform))


@answers.gaming("5.2", "a loader that shows a weighted sampler and iterates uniform draws", match="class shares")
def balanced_uniform_inside(dataset, labels, batch_size, num_samples, generator):
    sampler = WeightedRandomSampler(_weights(labels), num_samples, generator=generator)
    return _UniformInside(dataset, batch_size=batch_size, sampler=sampler, generator=generator)


# --- 5.3 stratified batch sampler ---------------------------------------------------------------------------


class StratifiedReference(Sampler[list[int]]):
    """Position (r + 0.5) / n_c for the r-th shuffled member of class c; sort; cut."""

    def __init__(self, labels, batch_size, generator=None):
        self.labels, self.batch_size, self.generator = torch.as_tensor(labels), batch_size, generator

    def __len__(self):
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self):
        position = torch.empty(len(self.labels), dtype=torch.float64)
        for c in self.labels.unique():
            members = (self.labels == c).nonzero().flatten()
            members = members[torch.randperm(len(members), generator=self.generator)]
            position[members] = (torch.arange(len(members), dtype=torch.float64) + 0.5) / len(members)
        order = torch.argsort(position, stable=True)
        for start in range(0, len(order), self.batch_size):
            yield order[start:start + self.batch_size].tolist()


answers.correct("5.3", "positions (r + 0.5) / n_c, sorted, cut", StratifiedReference)


@answers.correct("5.3", "per batch, class quotas by cumulative largest-remainder rounding; tensors yielded")
class StratifiedLargestRemainder(Sampler[list[int]]):
    def __init__(self, labels, batch_size, generator=None):
        self.labels, self.batch_size, self.generator = torch.as_tensor(labels), batch_size, generator

    def __len__(self):
        return -(-len(self.labels) // self.batch_size)

    def __iter__(self):
        n = len(self.labels)
        classes = self.labels.unique().tolist()
        pools = {}
        for c in classes:
            members = (self.labels == c).nonzero().flatten()
            pools[c] = members[torch.randperm(len(members), generator=self.generator)].tolist()
        taken = {c: 0 for c in classes}
        done = 0
        while done < n:
            size = min(self.batch_size, n - done)
            target = done + size
            exact = {c: target * len(pools[c]) / n for c in classes}
            quota = {c: math.floor(exact[c]) for c in classes}
            for c in sorted(classes, key=lambda c: exact[c] - quota[c], reverse=True)[: target - sum(quota.values())]:
                quota[c] += 1
            batch = []
            for c in classes:
                batch += pools[c][taken[c]: quota[c]]
                taken[c] = quota[c]
            done = target
            yield torch.tensor(batch)


@answers.correct("5.3", "positions with NumPy, batches as NumPy integer arrays")
class StratifiedNumpy(Sampler[list[int]]):
    def __init__(self, labels, batch_size, generator=None):
        self.labels, self.batch_size, self.generator = np.asarray(labels), batch_size, generator

    def __len__(self):
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self):
        position = np.zeros(len(self.labels))
        for c in np.unique(self.labels):
            members = np.flatnonzero(self.labels == c)
            members = members[torch.randperm(len(members), generator=self.generator).numpy()]
            position[members] = (np.arange(len(members)) + 0.5) / len(members)
        order = np.argsort(position, kind="stable")
        for start in range(0, len(order), self.batch_size):
            yield order[start:start + self.batch_size]


@answers.mistake("5.3", "round-robin over the classes", match=r"position \(r \+ 0.5\) / n_c")
class StratifiedRoundRobin(StratifiedReference):
    def __iter__(self):
        pools = []
        for c in self.labels.unique():
            members = (self.labels == c).nonzero().flatten()
            pools.append(members[torch.randperm(len(members), generator=self.generator)].tolist())
        order = []
        while any(pools):
            for pool in pools:
                if pool:
                    order.append(pool.pop())
        for start in range(0, len(order), self.batch_size):
            yield order[start: start + self.batch_size]


@answers.mistake("5.3", "a plain shuffle, cut into batches", match="does not keep the proportions")
class StratifiedPlainShuffle(StratifiedReference):
    def __iter__(self):
        order = torch.randperm(len(self.labels), generator=self.generator)
        for start in range(0, len(order), self.batch_size):
            yield order[start:start + self.batch_size].tolist()


@answers.mistake("5.3", "a generator re-seeded inside __iter__: every epoch repeats", match="on every __iter__")
class StratifiedSameEveryEpoch(StratifiedReference):
    def __iter__(self):
        self.generator = torch.Generator().manual_seed(0)
        yield from super().__iter__()


@answers.mistake("5.3", "__len__ rounds down", match=r"ceil\(n / batch_size\)")
class StratifiedWrongLength(StratifiedReference):
    def __len__(self):
        return len(self.labels) // self.batch_size


@answers.mistake("5.3", "the global random stream", match="none from the global RNG")
class StratifiedGlobalRng(StratifiedReference):
    def __init__(self, labels, batch_size, generator=None):
        super().__init__(labels, batch_size, None)


@answers.mistake("5.3", "each batch drawn with replacement", match="exactly once")
class StratifiedWithReplacement(StratifiedReference):
    def __iter__(self):
        n = len(self.labels)
        for start in range(0, n, self.batch_size):
            size = min(self.batch_size, n - start)
            yield torch.randint(n, (size,), generator=self.generator).tolist()


@answers.mistake("5.3", "torch.split of no labels yields one empty batch", match="no samples give no batches")
class StratifiedEmptyBatch(StratifiedReference):
    def __iter__(self):
        position = torch.empty(len(self.labels), dtype=torch.float64)
        for c in self.labels.unique():
            members = (self.labels == c).nonzero().flatten()
            members = members[torch.randperm(len(members), generator=self.generator)]
            position[members] = (torch.arange(len(members), dtype=torch.float64) + 0.5) / len(members)
        for batch in torch.split(torch.argsort(position, stable=True), self.batch_size):
            yield batch.tolist()


@answers.mistake("5.3", "float indices (the positions' dtype)", match="integer indices")
class StratifiedFloatIndices(StratifiedReference):
    def __iter__(self):
        for batch in super().__iter__():
            yield [float(i) for i in batch]


class _AnythingBatches(StratifiedReference):
    def __iter__(self):
        for _ in range(len(self)):
            yield Anything()


answers.gaming("5.3", "batches that equal anything", _AnythingBatches, match="batch sizes")


class _SwallowsErrors(StratifiedReference):
    """Hides its own bug (an IndexError) by yielding nothing."""

    def __iter__(self):
        try:
            yield [int(self.labels[len(self.labels)])]
        except IndexError:
            return


answers.gaming("5.3", "swallows its own exception and yields nothing", _SwallowsErrors, match="batch sizes")


# --- 5.4 what DistributedSampler gives a rank ----------------------------------------------------------------


@answers.correct("5.4", "permute, pad by repeating, stride")
def shard_reference(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    if shuffle:
        indices = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    else:
        indices = list(range(n))
    if drop_last and n % num_replicas:
        num_samples = math.ceil((n - num_replicas) / num_replicas)
    else:
        num_samples = math.ceil(n / num_replicas)
    total = num_samples * num_replicas
    indices = (indices * math.ceil(total / n))[:total] if n else []
    return indices[rank:total:num_replicas]


@answers.correct("5.4", "seeds the global RNG (a side effect, but the same permutation); pads in a loop")
def shard_global_seed(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    if shuffle:
        torch.manual_seed(seed + epoch)
        indices = torch.randperm(n).tolist()
    else:
        indices = list(range(n))
    per_rank = n // num_replicas if drop_last else -(-n // num_replicas)
    total = per_rank * num_replicas
    while len(indices) < total:
        indices += indices[: total - len(indices)]
    return [indices[i] for i in range(rank, total, num_replicas)]


@answers.correct("5.4", "a tensor pipeline, with itertools for the padding, then .tolist()")
def shard_tensor(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    import itertools

    g = torch.Generator().manual_seed(seed + epoch)
    order = torch.randperm(n, generator=g) if shuffle else torch.arange(n)
    per_rank = (n - num_replicas) // num_replicas + 1 if drop_last and n % num_replicas else -(-n // num_replicas)
    total = per_rank * num_replicas
    padded = torch.tensor(list(itertools.islice(itertools.cycle(order.tolist()), total)), dtype=torch.long)
    return padded[rank::num_replicas].tolist()


def shard_contiguous(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    per_rank = len(shard_reference(n, num_replicas, 0, epoch, shuffle, seed, drop_last))
    full = shard_reference(n, 1, 0, epoch, shuffle, seed, False)
    full = (full * math.ceil(per_rank * num_replicas / max(n, 1) + 1))[: per_rank * num_replicas]
    return full[rank * per_rank: (rank + 1) * per_rank]


answers.mistake("5.4", "a contiguous block per rank", shard_contiguous, match=r"indices\[rank::num_replicas\]")
answers.mistake("5.4", "no padding", match="num_samples indices",
                value=lambda n, r, rank, epoch=0, shuffle=True, seed=0, drop_last=False: (
                    torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
                    if shuffle else list(range(n)))[rank::r])
answers.mistake("5.4", "ignores the epoch", match="seed \\+ epoch",
                value=lambda n, r, rank, epoch=0, shuffle=True, seed=0, drop_last=False:
                shard_reference(n, r, rank, 0, shuffle, seed, drop_last))


@answers.mistake("5.4", "pads by repeating the last index", match="pad the PERMUTED list with its own first entries")
def shard_pads_from_end(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    indices = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist() if shuffle else list(range(n))
    num_samples = math.ceil(n / num_replicas) if not (drop_last and n % num_replicas) else n // num_replicas
    total = num_samples * num_replicas
    while len(indices) < total:
        indices.append(indices[-1])
    return indices[:total][rank::num_replicas]


@answers.mistake("5.4", "iterates a DistributedSampler", match="iterating a DistributedSampler")
def shard_uses_the_sampler(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(range(n), num_replicas, rank, shuffle, seed, drop_last)
    sampler.set_epoch(epoch)
    return list(sampler)


answers.mistake("5.4", "returns a tensor", match="a list of Python ints",
                value=lambda *args, **kwargs: torch.tensor(shard_reference(*args, **kwargs), dtype=torch.long))
answers.mistake("5.4", "float indices", match="a list holding float",
                value=lambda *args, **kwargs: [float(i) for i in shard_reference(*args, **kwargs)])
answers.mistake("5.4", "list(tensor): a list of one-element tensors", match=r"a list holding Tensor.*\.tolist\(\)",
                value=lambda *args, **kwargs: list(torch.tensor(shard_reference(*args, **kwargs), dtype=torch.long)))


@answers.mistake("5.4", "divides by n: fails on an empty dataset", match=r"n=0.*raised an exception")
def shard_divides_by_n(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    indices = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist() if shuffle else list(range(n))
    num_samples = -(-(n - num_replicas) // num_replicas) if drop_last and n % num_replicas else -(-n // num_replicas)
    total = num_samples * num_replicas
    return (indices * -(-total // n))[:total][rank:total:num_replicas]


def _from(sampler_class, n, num_replicas, rank, epoch, shuffle, seed, drop_last):
    sampler = sampler_class(range(n), num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
    sampler.set_epoch(epoch)
    return list(sampler)


@answers.gaming("5.4", "importlib.reload gives an unblocked DistributedSampler", match="iterating a DistributedSampler")
def shard_reloaded(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    module = torch.utils.data.distributed
    original = module.DistributedSampler
    try:
        fresh = importlib.reload(module).DistributedSampler
        return _from(fresh, n, num_replicas, rank, epoch, shuffle, seed, drop_last)
    finally:
        module.DistributedSampler = original


@answers.gaming("5.4", "deleted from sys.modules, imported afresh", match="iterating a DistributedSampler")
def shard_reimported(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    name = "torch.utils.data.distributed"
    saved = sys.modules.pop(name)
    try:
        fresh = importlib.import_module(name).DistributedSampler
        return _from(fresh, n, num_replicas, rank, epoch, shuffle, seed, drop_last)
    finally:
        sys.modules[name] = torch.utils.data.distributed = saved  # the import also rebound the package's attribute


@answers.gaming("5.4", "a private copy of the module from its file", match="iterating a DistributedSampler")
def shard_private_copy(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    # Named inside torch.utils.data, so that the file's relative imports (torch 2.2's) resolve too.
    spec = importlib.util.spec_from_file_location("torch.utils.data.my_distributed", torch.utils.data.distributed.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return _from(module.DistributedSampler, n, num_replicas, rank, epoch, shuffle, seed, drop_last)


_CAPTURED_ITER = torch.utils.data.distributed.DistributedSampler.__iter__  # taken before any check runs
_COPIED_CLASS = type("Shard", (Sampler,), {k: v for k, v in vars(torch.utils.data.distributed.DistributedSampler).items()
                                            if k not in ("__dict__", "__weakref__")})


@answers.gaming("5.4", "DistributedSampler.__iter__ captured before the check", match="iterating a DistributedSampler")
def shard_captured(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    sampler = torch.utils.data.DistributedSampler.__new__(torch.utils.data.DistributedSampler)
    sampler.__init__(range(n), num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
    sampler.set_epoch(epoch)
    return list(_CAPTURED_ITER(sampler))


@answers.gaming("5.4", "a copy of the class under another name", match="iterating a DistributedSampler")
def shard_copied_class(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    return _from(_COPIED_CLASS, n, num_replicas, rank, epoch, shuffle, seed, drop_last)


@answers.gaming("5.4", "switches the profiler off first", match="iterating a DistributedSampler|the profiler")
def shard_unprofiled(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    sys.setprofile(None)
    return shard_uses_the_sampler(n, num_replicas, rank, epoch, shuffle, seed, drop_last)


@answers.gaming("5.4", "a lazy generator, iterated only after the check's guard", match="a list of Python ints")
def shard_lazy(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    def later():
        yield from shard_uses_the_sampler(n, num_replicas, rank, epoch, shuffle, seed, drop_last)

    return later()


answers.gaming("5.4", "an object equal to anything", match="a list of Python ints", value=lambda *a, **k: Anything())


test_answer = answers.test()


# --- beyond the answers: the checks' own contracts --------------------------------------------------------


@pytest.mark.parametrize("exercise", ["5.1", "5.2", "5.3", "5.4"])
def test_the_stub_is_not_attempted(exercise):
    with pytest.raises(NotImplementedError):
        answers.check(exercise)(stub)


def test_stratified_stub_class_is_not_attempted():
    class Stub(Sampler[list[int]]):
        def __init__(self, labels, batch_size, generator=None):
            pass

        def __len__(self):
            raise NotImplementedError("Exercise 5.3 is not done yet")

        def __iter__(self):
            raise NotImplementedError("Exercise 5.3 is not done yet")

    with pytest.raises(NotImplementedError):
        check.stratified_batch_sampler(Stub)


def test_the_distributed_check_leaves_the_sampler_and_the_profiler_as_they_were():
    def mine(frame, event, arg):
        return None

    sys.setprofile(mine)
    try:
        with pytest.raises(AssertionError):
            check.distributed_indices(shard_uses_the_sampler)
        assert sys.getprofile() is mine
    finally:
        sys.setprofile(None)
    assert list(torch.utils.data.DistributedSampler(range(4), num_replicas=2, rank=0, shuffle=False)) == [0, 2]
    assert torch.utils.data.distributed.DistributedSampler is torch.utils.data.DistributedSampler


def test_the_balanced_check_gives_one_message_for_a_loader_with_its_own_generator(capsys):
    """Issue #12: a correct loader that also takes the generator used to fail with 'got: 10 batches'."""
    check.balanced_loader(balanced_loader_generator_too)
    assert "Exercise 5.2 passed" in capsys.readouterr().out


def test_the_stratified_statement_states_the_tolerance_the_check_enforces():
    import nbformat

    from ptcourse.tools.repo import SOLUTIONS

    nb = nbformat.read(SOLUTIONS / "05_dataloader_samplers.ipynb", as_version=4)
    statement = next(c.source for c in nb.cells if "### Exercise 5.3" in c.source)
    assert f"|k − batch_size × n_c / n| < {check.STRATIFIED_TOLERANCE}" in statement


# --- the sampler lesson 06 imports ----------------------------------------------------------------------------


def test_bucket_batch_sampler_contract():
    from ptcourse.lessons.samplers import BucketBatchSampler

    lengths = [5, 3, 8, 1, 1, 9, 2, 7, 4, 4, 6]
    for drop_last in (False, True):
        for generator in (None, torch.Generator().manual_seed(0)):
            sampler = BucketBatchSampler(lengths, 3, drop_last=drop_last, generator=generator)
            batches = list(sampler)
            assert len(batches) == len(sampler) == (3 if drop_last else 4)
            flat = [i for b in batches for i in b]
            assert len(flat) == len(set(flat)) == (9 if drop_last else 11)
            spans = sorted((min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in batches)
            assert all(hi <= lo2 for (_, hi), (lo2, _) in zip(spans, spans[1:]))  # buckets do not overlap
            if drop_last:
                assert all(len(b) == 3 for b in batches)
    g = torch.Generator().manual_seed(1)
    sampler = BucketBatchSampler(list(range(40)), 4, generator=g)
    assert list(sampler) != list(sampler)  # a new batch order each epoch
    assert list(BucketBatchSampler([], 4)) == [] and len(BucketBatchSampler([], 4)) == 0
    with pytest.raises(ValueError):
        BucketBatchSampler([1, 2], 0)


def test_the_distributed_check_runs_under_cprofile_and_gives_it_back():
    """A student may time a cell with %prun: the check's own profile hook must not break it."""
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        before = sys.getprofile()  # the profiler itself (or None where cProfile uses sys.monitoring, 3.12+)
        check.distributed_indices(shard_reference)
        after = sys.getprofile()
    finally:
        profiler.disable()
    assert after is before
