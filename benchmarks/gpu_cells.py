"""Run lesson 05's GPU cells (section 5.10) exactly as the solution notebook has them, and print what they measure.

    python benchmarks/gpu_cells.py

The cells tagged `gpu` are read from `solutions/05_dataloader_samplers.ipynb` and run in order after the
lesson's setup cell, in this process. On a GPU machine they print the GPU model; host-to-device GB/s from
pageable and pinned memory, pinned with and without the cost of pinning, and the peak pinned bandwidth; a
loader with `pin_memory` False and True (two workers, the pin thread) against data already on the GPU; the
gain from overlapping copies with GPU work (CUDA events); the device-to-host hazard; and whether a custom
batch type comes out pinned. On a CPU machine each cell prints the one line a student sees.

A benchmark, not a test: it prints numbers and never fails on them (it fails only if a cell raises).
"""
from __future__ import annotations

import sys
import time

import nbformat

from ptcourse.tools.conventions import GPU, tags
from ptcourse.tools.repo import SOLUTIONS

LESSON = SOLUTIONS / "05_dataloader_samplers.ipynb"


def main() -> int:
    cells = nbformat.read(LESSON, as_version=4).cells
    setup = next(c for c in cells if c.get("id") == "setup")
    namespace: dict = {"__name__": "__gpu_cells__"}
    exec(compile(setup.source, "setup", "exec"), namespace)
    gpu_cells = [c for c in cells if c.cell_type == "code" and GPU in tags(c)]
    for cell in gpu_cells:
        print(f"--- cell {cell.id}", flush=True)
        start = time.perf_counter()
        exec(compile(cell.source, cell.id, "exec"), namespace)
        print(f"    ({time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
