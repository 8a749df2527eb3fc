"""Time code in a lesson and print machine-dependent numbers in a form nbval sanitises.

Every printed time, rate or ratio goes through `fmt_time`, `fmt_rate` or `fmt_ratio`;
`tests/sanitize.cfg` rewrites exactly these shapes (`12.3 ms`, `4.56 GB/s`, `3.1×`), so stored
outputs stay comparable while the numbers a student sees are real.
"""
from __future__ import annotations

import time
from typing import Callable


def best_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of `repeat` runs of `fn()`, in seconds (the least disturbed by other work)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def fmt_time(seconds: float) -> str:
    """`812 µs`, `12.3 ms`, `1.24 s`."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def fmt_rate(amount: float, seconds: float, unit: str) -> str:
    """`4.56 GB/s`, `12,345 samples/s` — amount per second."""
    rate = amount / seconds
    return f"{rate:.2f} {unit}/s" if rate < 100 else f"{rate:,.0f} {unit}/s"


def fmt_ratio(ratio: float) -> str:
    """`3.1×`."""
    return f"{ratio:.1f}×"
