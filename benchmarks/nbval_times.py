"""Print each solution notebook's nbval wall time, and the whole test suite's.

    python benchmarks/nbval_times.py             # every lesson, then the full suite
    python benchmarks/nbval_times.py --lessons   # lessons only
    python benchmarks/nbval_times.py 05 08       # some lessons only

Each lesson's time is also shown as a multiple of a bare kernel's: a notebook whose only cell is
`import torch, torchvision`, run the same way. The course's target is at most 2× for every lesson.

A benchmark, not a test: it prints numbers and never fails on them. Each notebook runs in its own
pytest process exactly as the suite runs it (strict nbval, one-thread kernel), so a time includes
pytest's start (~2 s), the kernel's start and `import torch` (~4 s).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from ptcourse.tools.repo import REPO, SOLUTIONS, lessons


PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]


def timed(args: list[str]) -> tuple[float, str]:
    """Wall time and pytest's closing line for `python -m pytest -q ARGS`."""
    start = time.perf_counter()
    result = subprocess.run([*PYTEST, *args], cwd=REPO, capture_output=True, text=True)
    summary = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    return time.perf_counter() - start, summary


def bare_kernel() -> tuple[float, str]:
    """nbval wall time of a notebook whose only cell imports torch and torchvision (the floor of any lesson),
    and pytest's closing line for it (which must say `1 passed`)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bare.ipynb"
        cell = nbformat.v4.new_code_cell("import torch, torchvision", execution_count=1)
        nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
        # A notebook outside the clone finds no pyproject.toml above it: name it (-c), or pytest runs without
        # the --nbval of its addopts, collects nothing, and the "bare kernel" is pytest's start alone.
        args = ["-p", "tests.conftest", "--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml"), str(path)]
        return min(timed(args) for _ in range(2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", help="lesson numbers to time (default: all)")
    parser.add_argument("--lessons", action="store_true", help="skip the full-suite run")
    args = parser.parse_args()
    total = 0.0
    bare, bare_summary = bare_kernel()
    print(f"{'bare kernel (import torch, torchvision)':40} {bare:9.1f}s  {'1.0×':>6}  {bare_summary}")
    print(f"{'notebook':40} {'nbval wall':>10}  {'× bare':>6}  result")
    for path in lessons(SOLUTIONS):
        if args.only and path.name[:2] not in args.only:
            continue
        # A lone notebook does not load tests/conftest.py: name it, for one-thread kernels and the gpu-cell hook.
        seconds, summary = timed(["-p", "tests.conftest", str(path.relative_to(REPO))])
        total += seconds
        print(f"{path.name:40} {seconds:9.1f}s  {seconds / bare:5.1f}×  {summary}", flush=True)
    print(f"{'all lessons, one at a time':40} {total:9.1f}s")
    if not args.lessons and not args.only:
        seconds, summary = timed([])
        print(f"{'full suite (python -m pytest)':40} {seconds:9.1f}s  {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
