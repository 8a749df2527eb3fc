"""Checks for lesson 05 — the DataLoader and its samplers."""
from __future__ import annotations

import contextlib
import math
import os
import sys
import threading

import numpy as np
import torch
import torch.utils.data.distributed
from torch.utils.data import (
    BatchSampler, DataLoader, DistributedSampler, SubsetRandomSampler, TensorDataset, WeightedRandomSampler,
)

from ptcourse.checks._core import (
    describe, exercise, expect, fail, passed, plain, private_rng, progress_of, student_code,
)
from ptcourse.i18n import N_, _

# (n, val_fraction): one and two samples, an empty and a full validation set, and sizes where int()
# differs from round() (7 × 0.5 = 3.5, and 100 × 0.29 = 28.999999999999996 in floating point).
SPLIT_CASES = [(150, 0.2), (7, 0.5), (101, 0.25), (10, 0.3), (100, 0.29), (1000, 0.1), (3, 0.0), (5, 1.0),
               (1, 0.5), (2, 0.5)]
# (n, class proportions, batch_size): imbalanced label sets, a class with a single sample, batch sizes
# that do not divide the number of draws (a short last batch).
IMBALANCED = [(650, (0.75, 0.2, 0.05), 500), (400, (0.9, 0.1), 512), (900, (0.4, 0.3, 0.2, 0.1), 333),
              (101, (0.95, 0.04, 0.01), 250)]
BALANCE_DRAWS = 30_000
REPLAY_DRAWS = 2_000  # for the seeding checks
BALANCE_TOLERANCE = 0.02  # each class's share of the draws within 2 percentage points of 1 / classes
# (n, class proportions, batch_size) for the stratified batch sampler: odd sizes, a batch larger than the
# dataset, batches of one, a single class, one sample, and no samples at all (n = 0).
STRATIFIED_CASES = [(103, (0.6, 0.3, 0.1), 10), (64, (0.75, 0.25), 8), (250, (0.4, 0.3, 0.2, 0.1), 25),
                    (37, (0.5, 0.5), 6), (5, (0.6, 0.4), 8), (9, (0.34, 0.33, 0.33), 1), (50, (1.0,), 7),
                    (1, (1.0,), 4), (0, (1.0,), 4)]
STRATIFIED_TOLERANCE = 2  # |count of class c in a full batch − batch_size × n_c / n| < 2
# (n, num_replicas, shuffle, seed, drop_last): padding, dropping, more replicas than samples, seeds,
# one sample, no samples.
DISTRIBUTED_CASES = [
    (10, 3, False, 0, False), (10, 3, False, 0, True), (10, 3, True, 0, False), (10, 3, True, 0, True),
    (12, 4, True, 7, False), (5, 4, True, 0, False), (2, 5, True, 3, False), (2, 5, False, 0, False),
    (7, 2, True, 11, True), (1, 1, True, 0, False), (1, 3, True, 0, False), (0, 2, True, 0, False),
]
DISTRIBUTED_EPOCHS = (0, 1, 3)


# --- Types: indices are integers -------------------------------------------------------------------


def _integer(dtype: torch.dtype) -> bool:
    return not dtype.is_floating_point and not dtype.is_complex and dtype != torch.bool


def _index(value) -> int | None:
    """`value` as an int if it is an integer index (a Python int, a NumPy integer, a one-element integer
    tensor); None for anything else (a float, a bool, a string...)."""
    if type(value) is int:
        return value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and _integer(value.dtype):
        return int(plain(value).reshape(()).item())
    return None


def _indices(ex: str, what: str, values, hint: str) -> list[int]:
    """The integers `values` holds (iterating it is the student's code), validated one by one."""
    if isinstance(values, torch.Tensor) and values.ndim == 1 and _integer(values.dtype):
        return plain(values).tolist()  # a 1-D integer tensor: every item is an integer
    with student_code(ex, _("iterating {what}").format(what=what), hint):
        items = list(values)
    if all(type(item) is int for item in items):
        return items
    result = []
    for item in items:
        index = _index(item)
        if index is None:
            fail(ex, what, _("integer indices"), _("an item that is {item}").format(item=describe(item)),
                 _("indices are whole numbers: keep them as ints or an integer tensor (not float, not bool)"))
        result.append(index)
    return result


def _labels(n: int, proportions: tuple[float, ...], generator: torch.Generator) -> torch.Tensor:
    """`n` labels in shuffled order with exactly the given class proportions (rounded; every class present)."""
    if n == 0:
        return torch.zeros(0, dtype=torch.long)
    counts = [max(1, round(n * p)) for p in proportions]
    counts[0] += n - sum(counts)
    labels = torch.cat([torch.full((c,), k) for k, c in enumerate(counts)])
    return labels[torch.randperm(n, generator=generator)]


# --- Exercise 5.1 ------------------------------------------------------------------------------------


def _split(ex: str, split, n: int, fraction: float, seed: int):
    """Call the student's split and validate what it returns: two SubsetRandomSamplers."""
    where = f"train_val_samplers({n}, {fraction}, generator)"
    hint = _("return (train_sampler, val_sampler): two SubsetRandomSampler(indices, generator=generator)")
    with student_code(ex, _("calling {call}").format(call=where), hint):
        result = split(n, fraction, torch.Generator().manual_seed(seed))
    expect(type(result) in (tuple, list) and len(result) == 2, ex,
           _("what {call} returns").format(call=where), _("a pair (train_sampler, val_sampler)"),
           describe(result), hint)
    train, val = result
    expect(type(train) is SubsetRandomSampler and type(val) is SubsetRandomSampler, ex,
           _("the types of the two samplers from {call}").format(call=where),
           "SubsetRandomSampler, SubsetRandomSampler", f"{type(train).__name__}, {type(val).__name__}",
           _("wrap each list of indices in SubsetRandomSampler(indices, generator=generator)"))
    index_hint = _("give each SubsetRandomSampler a list (or an integer tensor) of indices")
    train_idx = _indices(ex, _("the training sampler's indices ({call})").format(call=where), train.indices, index_hint)
    val_idx = _indices(ex, _("the validation sampler's indices ({call})").format(call=where), val.indices, index_hint)
    return where, train, val, train_idx, val_idx


@exercise("5.1", N_("a train/validation split"))
def train_val_samplers(split) -> None:
    """split(n, val_fraction, generator) -> (train_sampler, val_sampler), two SubsetRandomSamplers."""
    ex = "5.1"
    with private_rng(501):
        for n, fraction in SPLIT_CASES:
            n_val = int(n * fraction)
            where, train, val, train_idx, val_idx = _split(ex, split, n, fraction, seed=n)
            expect(
                (len(train_idx), len(val_idx)) == (n - n_val, n_val), ex,
                _("(training size, validation size) for {call}").format(call=where),
                (n - n_val, n_val), (len(train_idx), len(val_idx)),
                _("the validation set gets int(n * val_fraction) samples (rounded down, as int() does: "
                  "int({n} * {fraction}) = {n_val}), the training set the rest").format(
                    n=n, fraction=fraction, n_val=n_val),
            )
            overlap = sorted(set(train_idx) & set(val_idx))
            expect(not overlap, ex, _("indices in both samplers ({call})").format(call=where), _("none"), overlap[:10],
                   _("split ONE permutation into two parts; two independent draws overlap"))
            expect(
                sorted(train_idx + val_idx) == list(range(n)), ex,
                _("the union of the two index lists ({call})").format(call=where),
                _("every index 0..{last} exactly once").format(last=n - 1),
                _("{distinct} distinct of {n}, {total} in all").format(
                    distinct=len(set(train_idx + val_idx)), n=n, total=len(train_idx + val_idx)),
                _("take the first n_val positions of torch.randperm(n, generator=generator) for validation, "
                  "the rest for training"),
            )
            for sampler, indices, name in [(train, train_idx, _("training")), (val, val_idx, _("validation"))]:
                epoch = _indices(ex, _("one epoch of the {name} sampler").format(name=name), sampler,
                                 _("use SubsetRandomSampler unchanged"))
                expect(sorted(epoch) == sorted(indices), ex, _("one epoch of the {name} sampler").format(name=name),
                       _("each of its indices once"), _("{count} indices").format(count=len(epoch)),
                       _("use SubsetRandomSampler unchanged"))
        n, fraction = 150, 0.2
        n_val = int(n * fraction)
        val_a = sorted(_split(ex, split, n, fraction, seed=5)[4])
        val_b = sorted(_split(ex, split, n, fraction, seed=5)[4])
        val_c = sorted(_split(ex, split, n, fraction, seed=6)[4])
    expect(
        val_a not in (list(range(n_val)), list(range(n - n_val, n))), ex,
        _("which samples go to validation"), _("a random subset"), _("the first or the last n_val samples"),
        _("data files are often sorted (by class, by date): shuffle the indices before splitting"),
    )
    expect(val_a == val_b, ex, _("two splits made with generators seeded alike"),
           _("the same validation set"), _("different sets"),
           _("draw the permutation from the generator argument: torch.randperm(n, generator=generator), "
             "not from the global RNG"))
    expect(val_a != val_c, ex, _("two splits made with generators seeded differently"),
           _("different validation sets"), _("the same set"), _("draw the permutation from the generator argument"))
    passed(ex, _("disjoint, complete, right-sized, random and seeded splits for {cases} (n, fraction) pairs").format(
        cases=len(SPLIT_CASES)))


# --- Exercise 5.2 ------------------------------------------------------------------------------------


def _weighted_sampler_of(loader: DataLoader):
    """The loader's index sampler, looking inside a batch_sampler=BatchSampler(...) too."""
    batch_sampler = loader.batch_sampler
    if type(batch_sampler) is BatchSampler and isinstance(batch_sampler.sampler, WeightedRandomSampler):
        return batch_sampler.sampler
    return loader.sampler


def _balanced(ex: str, make, dataset, labels: torch.Tensor, batch_size: int, num_samples: int, seed: int, where: str):
    """Call the student's balanced_loader, validate it is a DataLoader, and run one epoch of it:
    (loader, the indices it loaded in order, the sizes of its batches)."""
    call = _("balanced_loader(dataset, labels, batch_size={batch_size}, num_samples={num_samples}, generator) "
             "for {where}").format(batch_size=batch_size, num_samples=num_samples, where=where)
    hint = _("return DataLoader(dataset, batch_size=batch_size, sampler=WeightedRandomSampler(...))")
    with student_code(ex, _("calling {call}").format(call=call), hint):
        loader = make(dataset, labels.clone(), batch_size, num_samples, torch.Generator().manual_seed(seed))
    expect(isinstance(loader, DataLoader), ex, _("what {call} returns").format(call=call), _("a DataLoader"),
           describe(loader), hint)
    with student_code(ex, _("one epoch of the loader from {call}").format(call=call),
                      _("keep the default collate_fn: each item of the dataset is an (index, label) pair")):
        batches = list(loader)
    loaded, sizes = [], []
    for batch in batches:
        ok = (type(batch) in (list, tuple) and len(batch) == 2
              and all(isinstance(part, torch.Tensor) and part.ndim == 1 for part in batch))
        if not ok:
            fail(ex, _("a batch of the loader from {call}").format(call=call),
                 _("[indices, labels]: two 1-D tensors (the dataset's items are (index, label) pairs)"), describe(batch),
                 _("keep the default collate_fn"))
        index = _indices(ex, _("the indices in a batch"), batch[0], _("keep the default collate_fn"))
        sizes.append(len(index))
        loaded += index
    return loader, loaded, sizes


@exercise("5.2", N_("a class-balanced loader"))
def balanced_loader(make) -> None:
    """make(dataset, labels, batch_size, num_samples, generator) -> a DataLoader whose batches balance the classes."""
    ex = "5.2"
    for case, (n, proportions, batch_size) in enumerate(IMBALANCED):
        with private_rng(510 + case) as g:
            labels = _labels(n, proportions, g)
            n_classes = len(proportions)
            dataset = [(i, int(label)) for i, label in enumerate(labels.tolist())]  # item i is (i, its label)
            where = _("labels with class counts {counts}").format(counts=torch.bincount(labels).tolist())
            loader, loaded, sizes = _balanced(ex, make, dataset, labels, batch_size, BALANCE_DRAWS, case, where)
            sampler = _weighted_sampler_of(loader)
            expect(isinstance(sampler, WeightedRandomSampler), ex, _("the loader's sampler ({where})").format(where=where),
                   "WeightedRandomSampler", type(sampler).__name__,
                   _("pass sampler=WeightedRandomSampler(weights, num_samples, replacement=True, generator=generator)"))
            expect(
                tuple(sampler.weights.shape) == (n,), ex,
                _("the shape of the sampler's weights ({where})").format(where=where),
                _("({n},): one weight per sample").format(n=n), tuple(sampler.weights.shape),
                _("weights are per SAMPLE: weights[i] = 1 / count(labels[i]), e.g. (1 / counts)[labels]; "
                  "{classes} per-class weights would make it draw only the indices 0..{last}").format(
                    classes=n_classes, last=n_classes - 1),
            )
            expect(sampler.replacement is True, ex, _("the sampler's replacement flag"), True, sampler.replacement,
                   _("without replacement each index is drawn at most once, so the class counts cannot change"))
            expect(sampler.num_samples == BALANCE_DRAWS, ex, _("the sampler's num_samples"), BALANCE_DRAWS,
                   sampler.num_samples, _("pass num_samples=num_samples"))
            want_sizes = [batch_size] * (BALANCE_DRAWS // batch_size) + (
                [BALANCE_DRAWS % batch_size] if BALANCE_DRAWS % batch_size else [])
            expect(
                sizes == want_sizes, ex, _("the batch sizes of one epoch ({where})").format(where=where),
                _("{full} batches of {batch_size}, then one of {rest} ({draws:,} samples)").format(
                    full=BALANCE_DRAWS // batch_size, batch_size=batch_size, rest=BALANCE_DRAWS % batch_size,
                    draws=BALANCE_DRAWS),
                _("{count} batches of sizes {sizes}..., {total:,} samples").format(
                    count=len(sizes), sizes=sorted(set(sizes))[:5], total=sum(sizes)),
                _("pass batch_size=batch_size, and keep drop_last=False so that all num_samples draws are loaded"),
            )
            loaded_labels = labels[torch.as_tensor(loaded, dtype=torch.long)]
            shares = torch.bincount(loaded_labels, minlength=n_classes).double() / len(loaded)
            worst = (shares - 1 / n_classes).abs().max().item()
            expect(
                worst < BALANCE_TOLERANCE, ex,
                _("class shares in one epoch of {draws:,} draws ({where})").format(draws=BALANCE_DRAWS, where=where),
                _("each {share:.4f} ± {tolerance} (exclusive)").format(share=1 / n_classes, tolerance=BALANCE_TOLERANCE),
                [round(s, 4) for s in shares.tolist()],
                _("weight each sample by 1 / (number of samples of its class), not by the count itself, and pass "
                  "the sampler with sampler=... (shuffle=True alone ignores the weights)"),
            )
            # Replays with fewer draws: the same seed must give the same samples, another seed others.
            first = _balanced(ex, make, dataset, labels, batch_size, REPLAY_DRAWS, case, where)[1]
            again = _balanced(ex, make, dataset, labels, batch_size, REPLAY_DRAWS, case, where)[1]
            expect(again == first, ex, _("two loaders made with generators seeded alike ({where})").format(where=where),
                   _("the same batches"), _("different batches"),
                   _("pass generator=generator to WeightedRandomSampler (the global random stream differs from "
                     "call to call)"))
            other = _balanced(ex, make, dataset, labels, batch_size, REPLAY_DRAWS, case + 100, where)[1]
            expect(other != first, ex, _("two loaders made with generators seeded differently ({where})").format(
                where=where), _("different batches"), _("the same batches"),
                _("draw from the generator argument, not from a generator of your own with a fixed seed"))
    passed(ex, _("per-sample weights; every class's share within ±{tolerance} of equal over {draws:,} loaded "
                 "samples, seeded, for {cases} imbalanced label sets").format(
        tolerance=BALANCE_TOLERANCE, draws=BALANCE_DRAWS, cases=len(IMBALANCED)))


# --- Exercise 5.3 ------------------------------------------------------------------------------------


def _epoch(ex: str, sampler, where: str) -> list[list[int]]:
    """One epoch of the student's batch sampler, each batch validated as a list of integer indices."""
    hint = _("__iter__ yields one list of indices per batch")
    with student_code(ex, _("iterating StratifiedBatchSampler ({where})").format(where=where), hint):
        batches = list(sampler)
    return [_indices(ex, _("a batch of StratifiedBatchSampler ({where})").format(where=where), batch, hint)
            for batch in batches]


@exercise("5.3", N_("a stratified batch sampler"))
def stratified_batch_sampler(StratifiedBatchSampler) -> None:
    """StratifiedBatchSampler(labels, batch_size, generator): batches that keep the class proportions."""
    ex = "5.3"
    for case, (n, proportions, batch_size) in enumerate(STRATIFIED_CASES):
        with private_rng(530 + case) as g:
            labels = _labels(n, proportions, g)
            counts = torch.bincount(labels).double()
            where = _("{n} labels with class counts {counts}, batch_size={batch_size}").format(
                n=n, counts=counts.long().tolist(), batch_size=batch_size)
            construct = _("StratifiedBatchSampler(labels, {batch_size}, generator=...) for {where}").format(
                batch_size=batch_size, where=where)
            with student_code(ex, _("calling {call}").format(call=construct),
                              _("__init__ stores labels, batch_size and generator")):
                sampler = StratifiedBatchSampler(labels.clone(), batch_size, generator=torch.Generator().manual_seed(case))
            n_batches = math.ceil(n / batch_size)
            with student_code(ex, _("len(sampler) ({where})").format(where=where),
                              _("__len__ returns the number of batches")):
                length = len(sampler)
            expect(length == n_batches, ex, _("len(sampler) ({where})").format(where=where), n_batches, length,
                   _("the number of batches is ceil(n / batch_size)"))
            epoch = _epoch(ex, sampler, where)
            sizes = [len(batch) for batch in epoch]
            want_sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
            expect(sizes == want_sizes, ex, _("the batch sizes of one epoch ({where})").format(where=where),
                   want_sizes, sizes,
                   _("cut one ordering of all indices into consecutive batches of batch_size; only the last may be "
                     "short, and no samples give no batches (torch.split of an empty tensor still gives one empty "
                     "piece)"))
            flat = [i for batch in epoch for i in batch]
            expect(sorted(flat) == list(range(n)), ex, _("the indices of one epoch ({where})").format(where=where),
                   _("each of 0..{last} exactly once").format(last=n - 1),
                   _("{distinct} distinct of {total} indices").format(distinct=len(set(flat)), total=len(flat)),
                   _("order ALL indices once (no sampling with replacement), then cut into batches"))
            expected = batch_size * counts / n if n else counts
            for number, batch in enumerate(epoch[: n // batch_size]):
                got = torch.bincount(labels[batch], minlength=len(counts)).double()
                worst = (got - expected).abs().max().item()
                expect(
                    worst < STRATIFIED_TOLERANCE, ex,
                    _("class counts in batch {number} ({where})").format(number=number, where=where),
                    _("{counts}: each count k with |k − batch_size × n_c / n| < {tolerance}").format(
                        counts=[round(e, 2) for e in expected.tolist()], tolerance=STRATIFIED_TOLERANCE),
                    got.long().tolist(),
                    _("give the r-th (shuffled) index of a class with n_c members the position (r + 0.5) / n_c, "
                      "sort all indices by position, then cut; round-robin over classes or a plain shuffle "
                      "does not keep the proportions"),
                )
            if max(counts.tolist(), default=0) > 1:  # some class can be reordered
                second = _epoch(ex, sampler, where)
                expect(second != epoch, ex, _("two epochs of the same sampler ({where})").format(where=where),
                       _("different batches"), _("the same batches"),
                       _("draw the within-class shuffles from self.generator on every __iter__ "
                         "(do not re-seed a new generator inside __iter__)"))
            with student_code(ex, _("calling {call}").format(call=construct), _("__init__ stores labels, batch_size and generator")):
                replay_sampler = StratifiedBatchSampler(labels.clone(), batch_size, generator=torch.Generator().manual_seed(case))
            replay = _epoch(ex, replay_sampler, where)
            expect(replay == epoch, ex, _("a new sampler with a generator seeded alike ({where})").format(where=where),
                   _("the same first epoch"), _("a different one"),
                   _("take every random number from the generator argument, none from the global RNG"))
            with student_code(ex, _("a DataLoader with batch_sampler=StratifiedBatchSampler(...) ({where})").format(
                    where=where), _("yield lists of indices")):
                loader = DataLoader(TensorDataset(labels),
                                    batch_sampler=StratifiedBatchSampler(labels, batch_size, generator=g))
                loaded = sum(len(b[0]) for b in loader)
            expect(loaded == n, ex, _("a DataLoader with batch_sampler=StratifiedBatchSampler(...) ({where})").format(
                where=where), _("{n} samples").format(n=n), _("{loaded} samples").format(loaded=loaded),
                _("yield lists of indices"))
    passed(ex, _("every index once, proportional batches (|k − expected| < {tolerance}), fresh and seeded shuffles, "
                 "{cases} label sets (one sample and none included)").format(
        tolerance=STRATIFIED_TOLERANCE, cases=len(STRATIFIED_CASES)))


# --- Exercise 5.4 ------------------------------------------------------------------------------------


def _reference_shard(n, num_replicas, rank, epoch, shuffle, seed, drop_last) -> list[int]:
    sampler = DistributedSampler(range(n), num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed,
                                 drop_last=drop_last)
    sampler.set_epoch(epoch)
    return list(sampler)


_DISTRIBUTED_SOURCE = os.path.realpath(torch.utils.data.distributed.__file__)


def _is_distributed_iter(frame) -> bool:
    """Whether `frame` runs DistributedSampler.__iter__: PyTorch's code, from whichever copy of its module (a
    reload, a re-import) or class (a subclass, a copied class of that name)."""
    code = frame.f_code
    if code.co_name != "__iter__":
        return False
    if os.path.realpath(code.co_filename) == _DISTRIBUTED_SOURCE:
        return True
    owner = frame.f_locals.get("self")
    return any(cls.__name__ == "DistributedSampler" for cls in type(owner).__mro__)


@contextlib.contextmanager
def _watch_distributed_sampler():
    """Record whether DistributedSampler.__iter__ runs inside the block, in this thread or a thread it starts.

    A profile hook sees every Python call, so neither reloading torch.utils.data.distributed, nor importing it
    afresh, nor a reference to the class or its method taken earlier escapes it. Code that removes the hook
    is reported too.
    """
    seen = []
    old_profile, old_thread_profile = sys.getprofile(), threading.getprofile()
    chained = old_profile if callable(old_profile) else None  # a profiler written in Python keeps running

    def profile(frame, event, arg):
        if event == "call" and not seen and _is_distributed_iter(frame):
            seen.append(_("by iterating a DistributedSampler"))
        if chained is not None:
            chained(frame, event, arg)

    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        yield seen
        if sys.getprofile() is not profile and not seen:
            seen.append(_("by code that switched off the profiler this check uses to watch for DistributedSampler"))
    finally:
        _restore_profile(old_profile)
        threading.setprofile(old_thread_profile)


def _restore_profile(old) -> None:
    """Put back the profiler that ran before: a Python function, none, or a C profiler such as cProfile's."""
    if old is None or callable(old):
        sys.setprofile(old)
    else:
        sys.setprofile(None)
        old.enable()  # cProfile.Profile and friends re-install themselves


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
                hint = _("return a list of ints, computed with torch.randperm, padding and slicing")
                with private_rng(540), _watch_distributed_sampler() as used:  # the hook watches the call only
                    with student_code(ex, _("calling {call}").format(call=call), hint):
                        got = indices_for_rank(n, replicas, rank, epoch, shuffle=shuffle, seed=seed,
                                               drop_last=drop_last)
                    is_list = type(got) is list
                    odd = next((item for item in got if type(item) is not int), None) if is_list else None
                expect(not used, ex, _("how {call} computes its answer").format(call=call),
                       _("computed by your own code"), used[0] if used else "",
                       _("this exercise replaces DistributedSampler: compute the permutation, the padding and the "
                         "rank's positions yourself"))
                expect(is_list and odd is None, ex, _("what {call} returns").format(call=call),
                       _("a list of Python ints"),
                       describe(got) if not is_list else _("a list holding {item}").format(item=describe(odd)),
                       _("return a Python list of ints: a tensor's .tolist() gives one"))
                total += 1
                if got == want:
                    continue
                if len(got) != len(want):
                    hint = _("each rank gets num_samples indices: ceil(n / num_replicas), or with drop_last (when n is "
                             "not a multiple) ceil((n - num_replicas) / num_replicas); pad by repeating the list from "
                             "its start, or cut its tail with drop_last")
                elif shuffle and epoch and got == _reference_shard(n, replicas, rank, 0, shuffle, seed, drop_last):
                    hint = _("the order must change with the epoch: seed the permutation's generator with "
                             "seed + epoch (this is what set_epoch is for)")
                elif sorted(got) == sorted(want):
                    hint = _("the right indices in the wrong order: permute with torch.randperm(n, generator=g) "
                             "where g = torch.Generator().manual_seed(seed + epoch), and keep that order")
                else:
                    hint = _("after padding/cutting to total_size, rank r takes positions r, r + num_replicas, "
                             "r + 2·num_replicas, ... (indices[rank::num_replicas]), not a contiguous block; "
                             "with shuffle, pad the PERMUTED list with its own first entries")
                fail(ex, call, want, got, hint)
    passed(ex, _("matches DistributedSampler on {total} (n, replicas, rank, epoch, shuffle, seed, drop_last) "
                 "cases, without using it").format(total=total))


progress = progress_of(__name__)
