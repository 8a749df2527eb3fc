"""Checks for lesson 05 — the DataLoader and its samplers."""
from __future__ import annotations

import contextlib
import math

import torch
from torch.utils.data import (
    BatchSampler, DataLoader, DistributedSampler, SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
)

from ptcourse.checks._core import CheckFailed, exercise, expect, fail, passed, private_rng, progress_of
from ptcourse.i18n import N_

# (n, val_fraction): sizes where rounding and flooring differ, tiny and large sets.
SPLIT_CASES = [(150, 0.2), (7, 0.5), (101, 0.25), (10, 0.3), (1000, 0.1), (3, 0.0)]
# Class proportions of the fresh, imbalanced label sets the balance and stratification checks use.
IMBALANCED = [(650, (0.75, 0.2, 0.05)), (400, (0.9, 0.1)), (900, (0.4, 0.3, 0.2, 0.1))]
BALANCE_DRAWS = 30_000
BALANCE_TOLERANCE = 0.02  # each class's share of the draws within 2 percentage points of 1 / classes
# (n, class proportions, batch_size) for the stratified batch sampler.
STRATIFIED_CASES = [(103, (0.6, 0.3, 0.1), 10), (64, (0.75, 0.25), 8), (250, (0.4, 0.3, 0.2, 0.1), 25), (37, (0.5, 0.5), 6)]
STRATIFIED_TOLERANCE = 2  # each class count in a full batch is less than 2 away from batch_size × n_c / n
# (n, num_replicas, shuffle, seed, drop_last): padding, dropping, more replicas than samples, seeds.
DISTRIBUTED_CASES = [
    (10, 3, False, 0, False), (10, 3, False, 0, True), (10, 3, True, 0, False), (10, 3, True, 0, True),
    (12, 4, True, 7, False), (5, 4, True, 0, False), (2, 5, True, 3, False), (2, 5, False, 0, False),
    (7, 2, True, 11, True), (1, 1, True, 0, False),
]
DISTRIBUTED_EPOCHS = (0, 1, 3)


def _ints(xs) -> list[int]:
    return [int(x) for x in xs]


def _labels(n: int, proportions: tuple[float, ...], generator: torch.Generator) -> torch.Tensor:
    """`n` labels in shuffled order with exactly the given class proportions (rounded; every class present)."""
    counts = [max(1, round(n * p)) for p in proportions]
    counts[0] += n - sum(counts)
    labels = torch.cat([torch.full((c,), k) for k, c in enumerate(counts)])
    return labels[torch.randperm(n, generator=generator)]


# --- Exercise 5.1 ------------------------------------------------------------------------------------


@exercise("5.1", N_("a train/validation split"))
def train_val_samplers(split) -> None:
    """split(n, val_fraction, generator) -> (train_sampler, val_sampler), two SubsetRandomSamplers."""
    ex = "5.1"
    for n, fraction in SPLIT_CASES:
        n_val = int(n * fraction)
        where = f"train_val_samplers({n}, {fraction}, generator)"
        with private_rng(501):
            result = split(n, fraction, torch.Generator().manual_seed(n))
        expect(
            isinstance(result, (tuple, list)) and len(result) == 2, ex, f"what {where} returns",
            "a pair (train_sampler, val_sampler)", type(result).__name__, "return train_sampler, val_sampler",
        )
        train, val = result
        expect(
            isinstance(train, SubsetRandomSampler) and isinstance(val, SubsetRandomSampler), ex,
            f"the types of the two samplers from {where}", "SubsetRandomSampler, SubsetRandomSampler",
            f"{type(train).__name__}, {type(val).__name__}",
            "wrap each list of indices in SubsetRandomSampler(indices, generator=generator)",
        )
        train_idx, val_idx = _ints(train.indices), _ints(val.indices)
        expect(
            (len(train_idx), len(val_idx)) == (n - n_val, n_val), ex, f"(train size, validation size) for {where}",
            (n - n_val, n_val), (len(train_idx), len(val_idx)),
            "the validation set gets int(n * val_fraction) samples (rounded down), the training set the rest",
        )
        overlap = sorted(set(train_idx) & set(val_idx))
        expect(not overlap, ex, f"indices in both samplers ({where})", "none", overlap[:10],
               "split ONE permutation into two parts; two independent draws overlap")
        expect(
            sorted(train_idx + val_idx) == list(range(n)), ex, f"the union of the two index lists ({where})",
            f"every index 0..{n - 1} exactly once", f"{len(set(train_idx + val_idx))} distinct of {n}",
            "take the first n_val positions of torch.randperm(n, generator=generator) for validation, the rest for training",
        )
        for sampler, name in [(train, "training"), (val, "validation")]:
            epoch = _ints(sampler)
            expect(sorted(epoch) == sorted(_ints(sampler.indices)), ex, f"one epoch of the {name} sampler",
                   "each of its indices once", f"{len(epoch)} indices", "use SubsetRandomSampler unchanged")
    n, fraction = 150, 0.2
    n_val = int(n * fraction)
    with private_rng(502):
        val_a = _ints(split(n, fraction, torch.Generator().manual_seed(5))[1].indices)
        val_b = _ints(split(n, fraction, torch.Generator().manual_seed(5))[1].indices)
        val_c = _ints(split(n, fraction, torch.Generator().manual_seed(6))[1].indices)
    expect(
        sorted(val_a) not in (list(range(n_val)), list(range(n - n_val, n))), ex,
        "which samples go to validation", "a random subset", "the first or the last n_val samples",
        "data files are often sorted (by class, by date): shuffle the indices before splitting",
    )
    expect(
        sorted(val_a) == sorted(val_b), ex, "two splits made with generators seeded alike",
        "the same validation set", "different sets",
        "draw the permutation from the generator argument: torch.randperm(n, generator=generator), not the global RNG",
    )
    expect(sorted(val_a) != sorted(val_c), ex, "two splits made with generators seeded differently",
           "different validation sets", "the same set", "draw the permutation from the generator argument")
    passed(ex, f"disjoint, complete, right-sized, random and seeded splits for {len(SPLIT_CASES)} (n, fraction) pairs")


# --- Exercise 5.2 ------------------------------------------------------------------------------------


def _weighted_sampler_of(loader: DataLoader):
    """(the loader's index sampler, its batch size), looking inside a batch_sampler=BatchSampler(...) too."""
    batch_sampler = loader.batch_sampler
    if isinstance(batch_sampler, BatchSampler) and isinstance(batch_sampler.sampler, WeightedRandomSampler):
        return batch_sampler.sampler, batch_sampler.batch_size
    return loader.sampler, loader.batch_size


@exercise("5.2", N_("a class-balanced loader"))
def balanced_loader(make) -> None:
    """make(dataset, labels, batch_size, num_samples, generator) -> a DataLoader whose batches balance the classes."""
    ex = "5.2"
    batch_size = 500
    for case, (n, proportions) in enumerate(IMBALANCED):
        with private_rng(510 + case) as g:
            labels = _labels(n, proportions, g)
            dataset = TensorDataset(torch.randn(n, 3, generator=g), labels)
            n_classes = len(proportions)
            where = f"labels with class counts {torch.bincount(labels).tolist()}"
            loader = make(dataset, labels.clone(), batch_size, BALANCE_DRAWS, torch.Generator().manual_seed(case))
            expect(isinstance(loader, DataLoader), ex, f"what balanced_loader returns ({where})", "a DataLoader",
                   type(loader).__name__, "return DataLoader(dataset, batch_size=batch_size, sampler=...)")
            sampler, loader_batch_size = _weighted_sampler_of(loader)
            expect(isinstance(sampler, WeightedRandomSampler), ex, f"the loader's sampler ({where})",
                   "WeightedRandomSampler", type(sampler).__name__,
                   "pass sampler=WeightedRandomSampler(weights, num_samples, replacement=True, generator=generator)")
            expect(
                tuple(sampler.weights.shape) == (n,), ex, f"the shape of the sampler's weights ({where})",
                f"({n},): one weight per sample", tuple(sampler.weights.shape),
                "weights are per SAMPLE: weights[i] = 1 / count(labels[i]), e.g. (1 / counts)[labels]; "
                f"{n_classes} per-class weights would make it draw only the indices 0..{n_classes - 1}",
            )
            expect(sampler.replacement is True, ex, "the sampler's replacement flag", True, sampler.replacement,
                   "without replacement each index is drawn at most once, so the class counts cannot change")
            expect(len(sampler) == BALANCE_DRAWS, ex, "len(loader.sampler)", BALANCE_DRAWS, len(sampler),
                   "pass num_samples=num_samples")
            expect(loader_batch_size == batch_size, ex, "the loader's batch size", batch_size, loader_batch_size,
                   "pass batch_size=batch_size")
            draws = torch.as_tensor(_ints(sampler))
            shares = torch.bincount(labels[draws], minlength=n_classes).double() / len(draws)
            worst = (shares - 1 / n_classes).abs().max().item()
            expect(
                worst <= BALANCE_TOLERANCE, ex, f"class shares over {BALANCE_DRAWS:,} draws ({where})",
                f"each {1 / n_classes:.3f} ± {BALANCE_TOLERANCE}", [round(s, 3) for s in shares.tolist()],
                "weight each sample by 1 / (number of samples of its class), not by the count itself",
            )
            again = make(dataset, labels.clone(), batch_size, BALANCE_DRAWS, torch.Generator().manual_seed(case))
            expect(torch.equal(torch.as_tensor(_ints(_weighted_sampler_of(again)[0])), draws), ex,
                   "two loaders made with generators seeded alike", "the same draws", "different draws",
                   "pass generator=generator to WeightedRandomSampler")
            # The loader's batches are the sampler's draws (a smaller loader, to keep the check fast).
            small = make(dataset, labels.clone(), 100, 1000, torch.Generator().manual_seed(case))
            batches = [batch_labels for _, batch_labels in small]
            replay = make(dataset, labels.clone(), 100, 1000, torch.Generator().manual_seed(case))
            want = labels[torch.as_tensor(_ints(_weighted_sampler_of(replay)[0]))]
            expect(
                [len(b) for b in batches] == [100] * 10 and torch.equal(torch.cat(batches), want), ex,
                "the batches of balanced_loader(dataset, labels, batch_size=100, num_samples=1000, generator)",
                "10 batches of 100 samples, in the sampler's order", f"{len(batches)} batches",
                "pass the sampler to the DataLoader with sampler=..., and leave shuffle off",
            )
    passed(ex, f"per-sample weights; classes within ±{BALANCE_TOLERANCE} of equal over {BALANCE_DRAWS:,} draws, "
               f"{len(IMBALANCED)} imbalanced label sets")


# --- Exercise 5.3 ------------------------------------------------------------------------------------


@exercise("5.3", N_("a stratified batch sampler"))
def stratified_batch_sampler(StratifiedBatchSampler) -> None:
    """StratifiedBatchSampler(labels, batch_size, generator): batches that keep the class proportions."""
    ex = "5.3"
    for case, (n, proportions, batch_size) in enumerate(STRATIFIED_CASES):
        with private_rng(530 + case) as g:
            labels = _labels(n, proportions, g)
            counts = torch.bincount(labels).double()
            where = f"{n} labels with class counts {counts.long().tolist()}, batch_size={batch_size}"
            sampler = StratifiedBatchSampler(labels.clone(), batch_size, generator=torch.Generator().manual_seed(case))
            n_batches = math.ceil(n / batch_size)
            expect(len(sampler) == n_batches, ex, f"len(sampler) ({where})", n_batches, len(sampler),
                   "the number of batches is ceil(n / batch_size)")
            epoch = [_ints(batch) for batch in sampler]
            sizes = [len(batch) for batch in epoch]
            want_sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
            expect(sizes == want_sizes, ex, f"the batch sizes of one epoch ({where})", want_sizes, sizes,
                   "cut one ordering of all indices into consecutive batches of batch_size; only the last may be short")
            flat = [i for batch in epoch for i in batch]
            expect(sorted(flat) == list(range(n)), ex, f"the indices of one epoch ({where})",
                   f"each of 0..{n - 1} exactly once", f"{len(set(flat))} distinct of {len(flat)} indices",
                   "order ALL indices once (no sampling with replacement), then cut into batches")
            expected = batch_size * counts / n
            for number, batch in enumerate(epoch[: n // batch_size]):
                got = torch.bincount(labels[batch], minlength=len(counts)).double()
                worst = (got - expected).abs().max().item()
                expect(
                    worst < STRATIFIED_TOLERANCE, ex, f"class counts in batch {number} ({where})",
                    f"{[round(e, 1) for e in expected.tolist()]}, each within ±{STRATIFIED_TOLERANCE} (exclusive)",
                    got.long().tolist(),
                    "give the r-th (shuffled) index of a class with n_c members the position (r + 0.5) / n_c, "
                    "sort all indices by position, then cut; round-robin over classes or a plain shuffle "
                    "does not keep the proportions",
                )
            second = [_ints(batch) for batch in sampler]
            expect(second != epoch, ex, f"two epochs of the same sampler ({where})", "different batches",
                   "the same batches", "draw the within-class shuffles from self.generator on every __iter__ "
                   "(do not re-seed a new generator inside __iter__)")
            replay = [_ints(b) for b in StratifiedBatchSampler(labels.clone(), batch_size, generator=torch.Generator().manual_seed(case))]
            expect(replay == epoch, ex, f"a new sampler with a generator seeded alike ({where})",
                   "the same first epoch", "a different one",
                   "take every random number from the generator argument, none from the global RNG")
            loader = DataLoader(TensorDataset(labels), batch_sampler=StratifiedBatchSampler(labels, batch_size, generator=g))
            expect(len(loader) == n_batches and sum(len(b[0]) for b in loader) == n, ex,
                   "a DataLoader with batch_sampler=StratifiedBatchSampler(...)", f"{n_batches} batches, {n} samples",
                   f"{len(loader)} batches", "yield lists of indices")
    passed(ex, f"every index once, proportional batches (±{STRATIFIED_TOLERANCE}), fresh and seeded shuffles, "
               f"{len(STRATIFIED_CASES)} label sets")


# --- Exercise 5.4 ------------------------------------------------------------------------------------


def _reference_shard(n, num_replicas, rank, epoch, shuffle, seed, drop_last) -> list[int]:
    sampler = DistributedSampler(range(n), num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed,
                                 drop_last=drop_last)
    sampler.set_epoch(epoch)
    return list(sampler)


@contextlib.contextmanager
def _without_distributed_sampler():
    """While the student's code runs, iterating a DistributedSampler raises (the exercise is to compute it)."""
    original = DistributedSampler.__iter__

    def refuse(self):
        raise CheckFailed(
            "Exercise 5.4: compute the indices yourself; iterating DistributedSampler inside your function is "
            "what this exercise replaces"
        )

    DistributedSampler.__iter__ = refuse
    try:
        yield
    finally:
        DistributedSampler.__iter__ = original


@exercise("5.4", N_("the indices DistributedSampler gives a rank"))
def distributed_indices(indices_for_rank) -> None:
    """indices_for_rank(n, num_replicas, rank, epoch, shuffle, seed, drop_last) == DistributedSampler's list."""
    ex = "5.4"
    total = 0
    for n, replicas, shuffle, seed, drop_last in DISTRIBUTED_CASES:
        for epoch in DISTRIBUTED_EPOCHS if shuffle else (0,):
            for rank in range(replicas):
                want = _reference_shard(n, replicas, rank, epoch, shuffle, seed, drop_last)
                call = (f"indices_for_rank(n={n}, num_replicas={replicas}, rank={rank}, epoch={epoch}, "
                        f"shuffle={shuffle}, seed={seed}, drop_last={drop_last})")
                with _without_distributed_sampler(), private_rng(540):
                    got = indices_for_rank(n, replicas, rank, epoch, shuffle=shuffle, seed=seed, drop_last=drop_last)
                got = _ints(got)
                total += 1
                if got == want:
                    continue
                if len(got) != len(want):
                    hint = ("each rank gets num_samples indices: ceil(n / num_replicas), or with drop_last (when n is "
                            "not a multiple) ceil((n - num_replicas) / num_replicas); pad by repeating the list from "
                            "its start, or cut its tail with drop_last")
                elif shuffle and epoch and got == _reference_shard(n, replicas, rank, 0, shuffle, seed, drop_last):
                    hint = ("the order must change with the epoch: seed the permutation's generator with "
                            "seed + epoch (this is what set_epoch is for)")
                elif sorted(got) == sorted(want):
                    hint = ("the right indices in the wrong order: permute with torch.randperm(n, generator=g) where "
                            "g = torch.Generator().manual_seed(seed + epoch), and keep that order")
                else:
                    hint = ("after padding/cutting to total_size, rank r takes positions r, r + num_replicas, "
                            "r + 2·num_replicas, ... (indices[rank::num_replicas]), not a contiguous block; "
                            "with shuffle, pad the PERMUTED list with its own first entries")
                fail(ex, call, want, got, hint)
    passed(ex, f"matches DistributedSampler on {total} (n, replicas, rank, epoch, shuffle, seed, drop_last) cases")


progress = progress_of(__name__)
