"""Print each solution notebook's nbval wall time, and the whole test suite's.

    python benchmarks/nbval_times.py             # every lesson, then the full suite
    python benchmarks/nbval_times.py --lessons   # lessons only

A benchmark, not a test: it prints numbers and never fails on them. Each notebook runs in its own
pytest process exactly as the suite runs it (strict nbval, one-thread kernel), so a time includes
pytest's start (~2 s), the kernel's start and `import torch` (~4 s).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time

from ptcourse.paths import REPO, SOLUTIONS, lessons


PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def timed(args: list[str]) -> tuple[float, str]:
    """Wall time and pytest's closing line for `python -m pytest -q ARGS`."""
    start = time.perf_counter()
    result = subprocess.run([*PYTEST, *args], cwd=REPO, capture_output=True, text=True)
    summary = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    return time.perf_counter() - start, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lessons", action="store_true", help="skip the full-suite run")
    args = parser.parse_args()
    total = 0.0
    print(f"{'notebook':40} {'nbval wall':>10}  result")
    for path in lessons(SOLUTIONS):
        # A lone notebook does not load tests/conftest.py: name it, for one-thread kernels and the gpu skip.
        seconds, summary = timed(["-p", "tests.conftest", str(path.relative_to(REPO))])
        total += seconds
        print(f"{path.name:40} {seconds:9.1f}s  {summary}", flush=True)
    print(f"{'all lessons, one at a time':40} {total:9.1f}s")
    if not args.lessons:
        seconds, summary = timed([])
        print(f"{'full suite (python -m pytest)':40} {seconds:9.1f}s  {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
