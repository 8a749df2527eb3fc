"""Lesson 05's checks accept correct answers (written more than one way) and reject the classic mistakes."""
from __future__ import annotations

import math

import pytest
import torch
from torch.utils.data import BatchSampler, DataLoader, Sampler, SubsetRandomSampler, WeightedRandomSampler

from ptcourse.checks import lesson05 as check


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 5.N is not done yet")


# --- 5.1 train/validation split ------------------------------------------------------------------------


def split_reference(n, val_fraction, generator):
    perm = torch.randperm(n, generator=generator).tolist()
    n_val = int(n * val_fraction)
    return SubsetRandomSampler(perm[n_val:], generator=generator), SubsetRandomSampler(perm[:n_val], generator=generator)


def split_with_tensors(n, val_fraction, generator):
    """Correct too: tensors as indices, validation taken from the end of the permutation."""
    perm = torch.randperm(n, generator=generator)
    cut = n - math.floor(n * val_fraction)
    return SubsetRandomSampler(perm[:cut]), SubsetRandomSampler(perm[cut:])


def split_as_list(n, val_fraction, generator):
    """Correct too: the pair returned as a list [train, val]."""
    return list(split_reference(n, val_fraction, generator))


def split_not_shuffled(n, val_fraction, generator):
    n_val = int(n * val_fraction)
    return SubsetRandomSampler(range(n_val, n)), SubsetRandomSampler(range(n_val))


def split_global_rng(n, val_fraction, generator):
    perm = torch.randperm(n).tolist()
    n_val = int(n * val_fraction)
    return SubsetRandomSampler(perm[n_val:]), SubsetRandomSampler(perm[:n_val])


def split_rounded(n, val_fraction, generator):
    perm = torch.randperm(n, generator=generator).tolist()
    n_val = round(n * val_fraction)
    return SubsetRandomSampler(perm[n_val:]), SubsetRandomSampler(perm[:n_val])


def split_two_draws(n, val_fraction, generator):
    n_val = int(n * val_fraction)
    train = torch.randperm(n, generator=generator)[: n - n_val].tolist()
    val = torch.randperm(n, generator=generator)[:n_val].tolist()
    return SubsetRandomSampler(train), SubsetRandomSampler(val)


def split_plain_lists(n, val_fraction, generator):
    perm = torch.randperm(n, generator=generator).tolist()
    n_val = int(n * val_fraction)
    return perm[n_val:], perm[:n_val]


def split_swapped(n, val_fraction, generator):
    train, val = split_reference(n, val_fraction, generator)
    return val, train


@pytest.mark.parametrize("split", [split_reference, split_with_tensors, split_as_list])
def test_split_accepts_correct(split, capsys):
    check.train_val_samplers(split)
    assert "Exercise 5.1 passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "split", [split_not_shuffled, split_global_rng, split_rounded, split_two_draws, split_plain_lists, split_swapped]
)
def test_split_rejects_mistakes(split):
    with pytest.raises(AssertionError):
        check.train_val_samplers(split)


def test_split_stub_is_not_attempted():
    with pytest.raises(NotImplementedError):
        check.train_val_samplers(stub)


# --- 5.2 balanced loader --------------------------------------------------------------------------------


def balanced_reference(dataset, labels, batch_size, num_samples, generator):
    weights = 1.0 / torch.bincount(labels)[labels]
    sampler = WeightedRandomSampler(weights, num_samples, replacement=True, generator=generator)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler)


def balanced_normalised(dataset, labels, batch_size, num_samples, generator):
    """Correct too: a Python loop, weights normalised to sum to one, a list of weights."""
    counts = {}
    for y in labels.tolist():
        counts[y] = counts.get(y, 0) + 1
    weights = [1 / (counts[y] * len(counts)) for y in labels.tolist()]
    return DataLoader(dataset, batch_size, sampler=WeightedRandomSampler(weights, num_samples, generator=generator))


def balanced_batch_sampler(dataset, labels, batch_size, num_samples, generator):
    """Correct too: the weighted sampler wrapped in a BatchSampler, passed as batch_sampler=."""
    sampler = WeightedRandomSampler(1.0 / torch.bincount(labels)[labels], num_samples, generator=generator)
    return DataLoader(dataset, batch_sampler=BatchSampler(sampler, batch_size, drop_last=False))


def _loader(dataset, weights, batch_size, num_samples, generator, **options):
    sampler = WeightedRandomSampler(weights, num_samples, generator=generator, **options)
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler)


def balanced_per_class(dataset, labels, batch_size, num_samples, generator):
    return _loader(dataset, 1.0 / torch.bincount(labels), batch_size, num_samples, generator)


def balanced_counts_not_inverse(dataset, labels, batch_size, num_samples, generator):
    return _loader(dataset, torch.bincount(labels)[labels].double(), batch_size, num_samples, generator)


def balanced_uniform(dataset, labels, batch_size, num_samples, generator):
    return _loader(dataset, torch.ones(len(labels)), batch_size, num_samples, generator)


def balanced_without_replacement(dataset, labels, batch_size, num_samples, generator):
    weights = 1.0 / torch.bincount(labels)[labels]
    return _loader(dataset, weights, batch_size, min(num_samples, len(labels)), generator, replacement=False)


def balanced_no_generator(dataset, labels, batch_size, num_samples, generator):
    return _loader(dataset, 1.0 / torch.bincount(labels)[labels], batch_size, num_samples, None)


def balanced_few_draws(dataset, labels, batch_size, num_samples, generator):
    return _loader(dataset, 1.0 / torch.bincount(labels)[labels], batch_size, len(labels), generator)


def balanced_shuffle_instead(dataset, labels, batch_size, num_samples, generator):
    return DataLoader(dataset, batch_size=batch_size, shuffle=True, generator=generator)


def balanced_default_batch_size(dataset, labels, batch_size, num_samples, generator):
    return _loader(dataset, 1.0 / torch.bincount(labels)[labels], 64, num_samples, generator)


@pytest.mark.parametrize("make", [balanced_reference, balanced_normalised, balanced_batch_sampler])
def test_balanced_accepts_correct(make, capsys):
    check.balanced_loader(make)
    assert "Exercise 5.2 passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "make",
    [balanced_per_class, balanced_counts_not_inverse, balanced_uniform, balanced_without_replacement,
     balanced_no_generator, balanced_few_draws, balanced_shuffle_instead, balanced_default_batch_size],
)
def test_balanced_rejects_mistakes(make):
    with pytest.raises(AssertionError):
        check.balanced_loader(make)


def test_balanced_stub_is_not_attempted():
    with pytest.raises(NotImplementedError):
        check.balanced_loader(stub)


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
        for batch in torch.split(order, self.batch_size):
            yield batch.tolist()


class StratifiedLargestRemainder(Sampler[list[int]]):
    """Correct too: per batch, class quotas from cumulative largest-remainder rounding; tensors yielded."""

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


class StratifiedRoundRobin(StratifiedReference):
    """Mistake: alternate classes in turn, whatever their sizes."""

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


class StratifiedPlainShuffle(StratifiedReference):
    """Mistake: a plain shuffle, cut into batches."""

    def __iter__(self):
        order = torch.randperm(len(self.labels), generator=self.generator)
        for batch in torch.split(order, self.batch_size):
            yield batch.tolist()


class StratifiedSameEveryEpoch(StratifiedReference):
    """Mistake: a generator re-seeded inside __iter__, so every epoch repeats."""

    def __iter__(self):
        self.generator = torch.Generator().manual_seed(0)
        yield from super().__iter__()


class StratifiedWrongLength(StratifiedReference):
    def __len__(self):
        return len(self.labels) // self.batch_size


class StratifiedGlobalRng(StratifiedReference):
    def __init__(self, labels, batch_size, generator=None):
        super().__init__(labels, batch_size, None)


class StratifiedWithReplacement(StratifiedReference):
    """Mistake: draws each batch's members with replacement from each class."""

    def __iter__(self):
        n = len(self.labels)
        counts = torch.bincount(self.labels)
        for start in range(0, n, self.batch_size):
            size = min(self.batch_size, n - start)
            batch = torch.multinomial((1 / counts[self.labels]).double() * counts[self.labels], size,
                                      replacement=True, generator=self.generator)
            yield batch.tolist()


@pytest.mark.parametrize("cls", [StratifiedReference, StratifiedLargestRemainder])
def test_stratified_accepts_correct(cls, capsys):
    check.stratified_batch_sampler(cls)
    assert "Exercise 5.3 passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "cls",
    [StratifiedRoundRobin, StratifiedPlainShuffle, StratifiedSameEveryEpoch, StratifiedWrongLength,
     StratifiedGlobalRng, StratifiedWithReplacement],
)
def test_stratified_rejects_mistakes(cls):
    with pytest.raises(AssertionError):
        check.stratified_batch_sampler(cls)


def test_stratified_stub_is_not_attempted():
    class Stub(Sampler[list[int]]):
        def __init__(self, labels, batch_size, generator=None):
            pass

        def __len__(self):
            raise NotImplementedError("Exercise 5.3 is not done yet")

        def __iter__(self):
            raise NotImplementedError("Exercise 5.3 is not done yet")

    with pytest.raises(NotImplementedError):
        check.stratified_batch_sampler(Stub)


# --- 5.4 what DistributedSampler gives a rank ----------------------------------------------------------------


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
    indices = (indices * math.ceil(total / n))[:total]
    return indices[rank:total:num_replicas]


def shard_global_seed(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    """Correct output too: seeds the global RNG (a side effect, but the same permutation)."""
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


def shard_contiguous(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    indices = shard_reference(n, num_replicas, 0, epoch, shuffle, seed, drop_last)  # just for the length
    per_rank = len(indices)
    full = shard_reference(n, 1, 0, epoch, shuffle, seed, False)
    full = (full * math.ceil(per_rank * num_replicas / n + 1))[: per_rank * num_replicas]
    return full[rank * per_rank: (rank + 1) * per_rank]


def shard_no_padding(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    indices = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist() if shuffle else list(range(n))
    return indices[rank::num_replicas]


def shard_ignores_epoch(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    return shard_reference(n, num_replicas, rank, 0, shuffle, seed, drop_last)


def shard_pads_from_end(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    if shuffle:
        indices = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    else:
        indices = list(range(n))
    num_samples = math.ceil(n / num_replicas) if not (drop_last and n % num_replicas) else n // num_replicas
    total = num_samples * num_replicas
    while len(indices) < total:
        indices.append(indices[-1])
    return indices[:total][rank::num_replicas]


def shard_uses_the_sampler(n, num_replicas, rank, epoch=0, shuffle=True, seed=0, drop_last=False):
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(range(n), num_replicas, rank, shuffle, seed, drop_last)
    sampler.set_epoch(epoch)
    return list(sampler)


@pytest.mark.parametrize("fn", [shard_reference, shard_global_seed])
def test_distributed_accepts_correct(fn, capsys):
    check.distributed_indices(fn)
    assert "Exercise 5.4 passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "fn", [shard_contiguous, shard_no_padding, shard_ignores_epoch, shard_pads_from_end, shard_uses_the_sampler]
)
def test_distributed_rejects_mistakes(fn):
    with pytest.raises(AssertionError):
        check.distributed_indices(fn)


def test_distributed_sampler_is_restored_after_the_check():
    from torch.utils.data import DistributedSampler

    with pytest.raises(AssertionError):
        check.distributed_indices(shard_uses_the_sampler)
    assert list(DistributedSampler(range(4), num_replicas=2, rank=0, shuffle=False)) == [0, 2]


def test_distributed_stub_is_not_attempted():
    with pytest.raises(NotImplementedError):
        check.distributed_indices(stub)


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
