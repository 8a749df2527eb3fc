"""GPU measurements for lesson 05 (section 5.10): pinned memory, `non_blocking` copies, the loader's pin thread.

Every measuring function needs CUDA (`require_cuda()` says so on a CPU machine). The lesson's `gpu` cells
call them only when `torch.cuda.is_available()`, and `benchmarks/gpu_cells.py` runs them all. CUDA calls
return before the GPU has finished, so a host clock alone measures nothing: each time here is either
taken between `torch.cuda.synchronize()` calls or read from CUDA events (the GPU's own clock).

The batch types and the collate functions live here, not in the notebook, because DataLoader workers
started by spawn must import them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader

from ptcourse.lessons.loader_demos import TensorBatches
from ptcourse.lessons.samplers import IndexBatches
from ptcourse.lessons.timing import fmt_rate, fmt_ratio, fmt_time

MiB = 2**20


def require_cuda() -> None:
    """Raise a clear error on a machine without CUDA."""
    if not torch.cuda.is_available():
        raise RuntimeError("this measurement needs a CUDA device")


def synchronized(fn) -> float:
    """Seconds from before `fn()` to the end of all the GPU work it queued (host clock, synchronized)."""
    torch.cuda.synchronize()
    start = time.perf_counter()
    fn()
    torch.cuda.synchronize()
    return time.perf_counter() - start


def gpu_milliseconds(fn) -> float:
    """Milliseconds the GPU spends on the work `fn()` queues on the current stream, by CUDA events."""
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end)


# --- 1. Host to device: pageable, pinned, and the cost of pinning ------------------------------------------


def host_to_device(n_bytes: int = 256 * MiB, repeat: int = 5) -> dict[str, float]:
    """Best-of-`repeat` seconds to copy `n_bytes` to the GPU, and how long a `non_blocking` call blocks the CPU.

    `pageable`: from ordinary memory (CUDA stages it through a pinned buffer of its own);
    `pinned`: from memory pinned beforehand (the copy alone); `pin + copy`: pinning the pageable tensor first,
    then copying, which is what a loader's pin thread does for every batch.
    `call returns, pageable` / `call returns, pinned`: host time until `.to(device, non_blocking=True)`
    returns: from pageable memory the call waits for the copy (non_blocking has no effect), from pinned
    memory it returns at once.
    """
    require_cuda()
    pageable = torch.randn(n_bytes // 4)
    pinned = pageable.pin_memory()
    target = torch.empty_like(pageable, device="cuda")
    for source in (pageable, pinned):  # warm-up: CUDA context, staging buffers
        target.copy_(source, non_blocking=True)
    seconds = {
        "pageable": min(synchronized(lambda: target.copy_(pageable)) for _ in range(repeat)),
        "pinned": min(synchronized(lambda: target.copy_(pinned, non_blocking=True)) for _ in range(repeat)),
        "pin + copy": min(synchronized(lambda: target.copy_(pageable.pin_memory(), non_blocking=True))
                          for _ in range(repeat)),
    }
    for name, source in [("call returns, pageable", pageable), ("call returns, pinned", pinned)]:
        returns = []
        for _ in range(repeat):
            torch.cuda.synchronize()
            start = time.perf_counter()
            target.copy_(source, non_blocking=True)
            returns.append(time.perf_counter() - start)
            torch.cuda.synchronize()
        seconds[name] = min(returns)
    return seconds


def peak_pinned_bandwidth(sizes_mib=(1, 4, 16, 64, 256), repeat: int = 5) -> tuple[float, int]:
    """(the best pinned host-to-device GB/s over `sizes_mib`, the size in MiB that reached it), by CUDA events."""
    require_cuda()
    best = (0.0, 0)
    for size in sizes_mib:
        pinned = torch.empty(size * MiB // 4).pin_memory()
        target = torch.empty_like(pinned, device="cuda")
        target.copy_(pinned, non_blocking=True)  # warm-up
        ms = min(gpu_milliseconds(lambda: target.copy_(pinned, non_blocking=True)) for _ in range(repeat))
        best = max(best, (size * MiB / (ms / 1e3) / 1e9, size))
    return best


def print_host_to_device(seconds: dict[str, float], n_bytes: int = 256 * MiB) -> None:
    gb = n_bytes / 1e9
    print(f"copying {n_bytes // MiB} MiB to the GPU:")
    print(f"  pageable → GPU                 {fmt_rate(gb, seconds['pageable'], 'GB')}")
    print(f"  pinned   → GPU (copy only)     {fmt_rate(gb, seconds['pinned'], 'GB')}, "
          f"{fmt_ratio(seconds['pageable'] / seconds['pinned'])} pageable's rate")
    print(f"  pin, then copy (both charged)  {fmt_rate(gb, seconds['pin + copy'], 'GB')}, "
          f"{fmt_ratio(seconds['pageable'] / seconds['pin + copy'])} pageable's rate")
    print(f"  .to(non_blocking=True) returns after {fmt_time(seconds['call returns, pageable'])} from pageable "
          f"memory, {fmt_time(seconds['call returns, pinned'])} from pinned memory")


# --- 2. The loader: pin_memory=False against True, with workers (the pin thread) ---------------------------


def train_step(features: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Stands in for a training step: real GPU work on the batch (a layer, a loss-like reduction)."""
    return ((features @ weight).relu().sum(dim=1) - targets).square().mean()


LOADER_SAMPLES = 65_536


def loader_epochs(n: int = LOADER_SAMPLES, features: int = 256, batch_size: int = 1024, num_workers: int = 2,
                  repeat: int = 3) -> dict[str, float]:
    """Best-of-`repeat` seconds per epoch over an in-memory dataset fed by 5.6's batched sampler
    (`IndexBatches` as `sampler=`, `batch_size=None`): the data already on the GPU (no loader, no copy: the
    floor), then loaders with `num_workers` persistent workers and `pin_memory` False and True, each batch
    moved with `.to("cuda", non_blocking=True)` before the step."""
    require_cuda()
    X, y = torch.randn(n, features), torch.randn(n)
    weight = torch.randn(features, features, device="cuda") / features**0.5
    seconds = {}

    X_gpu, y_gpu = X.cuda(), y.cuda()

    def gpu_only_epoch():
        for indices in torch.randperm(n, device="cuda").split(batch_size):
            train_step(X_gpu[indices], y_gpu[indices], weight)

    synchronized(gpu_only_epoch)  # warm-up
    seconds["data already on the GPU"] = min(synchronized(gpu_only_epoch) for _ in range(repeat))

    for pin in (False, True):
        loader = DataLoader(TensorBatches(X, y), sampler=IndexBatches(n, batch_size, generator=torch.Generator().manual_seed(0)),
                            batch_size=None, num_workers=num_workers, persistent_workers=True, pin_memory=pin)

        def loader_epoch():
            for features_batch, targets_batch in loader:
                features_batch = features_batch.to("cuda", non_blocking=True)
                targets_batch = targets_batch.to("cuda", non_blocking=True)
                train_step(features_batch, targets_batch, weight)

        synchronized(loader_epoch)  # warm-up: starts the workers (and the pin thread)
        seconds[f"pin_memory={pin}"] = min(synchronized(loader_epoch) for _ in range(repeat))
        del loader  # stops its workers
    return seconds


def print_loader_epochs(seconds: dict[str, float], n: int = LOADER_SAMPLES) -> None:
    floor = seconds["data already on the GPU"]
    for name, s in seconds.items():
        print(f"  {name:<24} {fmt_rate(n, s, 'samples')}, an epoch in {fmt_time(s)} "
              f"({fmt_ratio(s / floor)} the floor's time)")
    print(f"pin_memory=True is {fmt_ratio(seconds['pin_memory=False'] / seconds['pin_memory=True'])} "
          f"the speed of pin_memory=False")


# --- 3. non_blocking copies overlapping GPU work, timed with CUDA events -----------------------------------


def overlap(n_batches: int = 8, batch_mib: int = 64, width: int = 2048) -> dict[str, float]:
    """Milliseconds (CUDA events) for `n_batches` pinned batches of `batch_mib` MiB, each copied to the GPU and
    then used by a step calibrated to take about as long as its copy:

    `copies`: the copies alone; `steps`: the steps alone, on batches already there; `serial`: copy, step,
    copy, step… on one stream (the GPU does one thing at a time); `overlapped`: batch i+1 copied on a
    side stream while the step on batch i runs.
    """
    require_cuda()
    rows = batch_mib * MiB // 4 // width
    host = [torch.rand(rows, width, pin_memory=True) for _ in range(n_batches)]  # made pinned: no extra copy
    weight = torch.randn(width, width, device="cuda") / width**0.5
    resident = [batch.to("cuda") for batch in host]

    def copies():
        for batch in host:
            batch.to("cuda", non_blocking=True)

    def one_matmul():
        resident[0] @ weight

    copies(), one_matmul()  # warm-up: allocations, kernels
    reps = max(1, round(gpu_milliseconds(copies) / n_batches / gpu_milliseconds(one_matmul)))

    def step(x):
        for _ in range(reps):
            x = (x @ weight).tanh()
        return x

    def steps():
        for x in resident:
            step(x)

    def serial():
        for batch in host:
            step(batch.to("cuda", non_blocking=True))

    copy_stream = torch.cuda.Stream()

    def overlapped():
        compute = torch.cuda.current_stream()
        copy_stream.wait_stream(compute)  # copies start after what was queued before
        with torch.cuda.stream(copy_stream):
            arriving = host[0].to("cuda", non_blocking=True)
        for i in range(n_batches):
            compute.wait_stream(copy_stream)  # batch i has arrived before its step starts
            x = arriving
            x.record_stream(compute)  # made on copy_stream, used on compute: keep its memory until then
            if i + 1 < n_batches:
                with torch.cuda.stream(copy_stream):
                    arriving = host[i + 1].to("cuda", non_blocking=True)  # runs while step(x) runs
            step(x)

    for fn in (serial, overlapped):  # warm-up
        fn()
    result = {name: min(gpu_milliseconds(fn) for _ in range(3))
              for name, fn in [("copies", copies), ("steps", steps), ("serial", serial), ("overlapped", overlapped)]}
    result["matmuls per step"] = reps
    return result


def print_overlap(ms: dict[str, float]) -> None:
    def t(name):
        return fmt_time(ms[name] / 1e3)

    print(f"GPU time (CUDA events): copies alone {t('copies')}, steps alone {t('steps')} "
          f"({ms['matmuls per step']} matmuls per step)")
    print(f"  serial, one stream:           {t('serial')}")
    print(f"  copies on a second stream:    {t('overlapped')}, {fmt_ratio(ms['serial'] / ms['overlapped'])} faster "
          f"(at best {fmt_ratio(ms['serial'] / max(ms['copies'], ms['steps']))}: the longer of the two remains)")


# --- 4. Device to host: a non_blocking copy read before synchronizing -------------------------------------


def device_to_host_hazard(width: int = 4096, matmuls: int = 40) -> dict[str, bool]:
    """Queue slow GPU work, copy its result to the CPU with `non_blocking=True`, and read the copy at once:
    the copy has not happened yet, so the CPU reads whatever the fresh pinned buffer held."""
    require_cuda()
    weight = torch.randn(width, width, device="cuda") / width**0.5
    x = torch.randn(width, width, device="cuda")
    torch.cuda.synchronize()
    for _ in range(matmuls):  # tens of milliseconds of work queued ahead of the copy
        x = (x @ weight).tanh()
    result = x.to("cpu", non_blocking=True)  # returns at once, into pinned memory
    copied = torch.cuda.Event()
    copied.record()
    finished_when_read = copied.query()
    read_early = result.clone()  # a CPU read, before anything waited for the GPU
    copied.synchronize()  # or torch.cuda.synchronize()
    read_late = result.clone()
    truth = x.cpu()  # a blocking copy
    return {
        "destination is pinned": result.is_pinned(),
        "copy finished when read": finished_when_read,
        "early read is correct": torch.equal(read_early, truth),
        "read after synchronize is correct": torch.equal(read_late, truth),
    }


def print_device_to_host_hazard(flags: dict[str, bool]) -> None:
    for name, value in flags.items():
        print(f"  {name}: {value}")


# --- 5. A custom batch type: pinned only if it has a pin_memory() method -----------------------------------


@dataclass
class PlainBatch:
    """A batch as a small class of its own: the loader's pin_memory step does not know how to pin it."""

    features: torch.Tensor
    targets: torch.Tensor


@dataclass
class PinnableBatch(PlainBatch):
    """The same batch with a `pin_memory()` method, which the loader's pin_memory step calls."""

    def pin_memory(self) -> "PinnableBatch":
        return PinnableBatch(self.features.pin_memory(), self.targets.pin_memory())


def collate_plain(samples) -> PlainBatch:
    features, targets = zip(*samples)
    return PlainBatch(torch.stack(features), torch.stack(targets))


def collate_pinnable(samples) -> PinnableBatch:
    plain = collate_plain(samples)
    return PinnableBatch(plain.features, plain.targets)


def custom_batches(n_rows: int = 4096, width: int = 4096) -> dict[str, dict[str, object]]:
    """For each batch type: whether a `pin_memory=True` loader returns it pinned, and how long the CPU waits
    in `.to("cuda", non_blocking=True)` for its features (a ~64 MiB batch)."""
    require_cuda()
    dataset = torch.utils.data.TensorDataset(torch.randn(n_rows, width), torch.randn(n_rows))
    report = {}
    for name, collate in [("without pin_memory()", collate_plain), ("with pin_memory()", collate_pinnable)]:
        loader = DataLoader(dataset, batch_size=n_rows, collate_fn=collate, pin_memory=True)
        batch = next(iter(loader))
        batch.features.to("cuda", non_blocking=True)  # warm-up
        torch.cuda.synchronize()
        start = time.perf_counter()
        batch.features.to("cuda", non_blocking=True)
        waited = time.perf_counter() - start
        torch.cuda.synchronize()
        report[name] = {"type": type(batch).__name__, "pinned": batch.features.is_pinned(), "waited": waited}
    return report


def print_custom_batches(report: dict[str, dict[str, object]]) -> None:
    for name, r in report.items():
        print(f"  {r['type']} ({name}): pinned {r['pinned']}, "
              f"the non_blocking copy held the CPU for {fmt_time(r['waited'])}")


def gpu_model() -> str:
    require_cuda()
    return f"{torch.cuda.get_device_name()} (torch {torch.__version__}, CUDA {torch.version.cuda})"
