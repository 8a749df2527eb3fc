"""The course's notebook conventions that several tools share: cell tags and the kernels' environment.

Kept free of heavy imports (no nbformat), so the grader's worker processes can use it cheaply.
"""
from __future__ import annotations

import os

CHECK = "check"  # an exercise's check cell (metadata course.exercise and course.points)
LOCKED = "locked"  # a setup cell the grader restores from the release
SOLUTION_ONLY = "solution-only"  # dropped from the student notebook
RAISES = "raises-exception"  # shows an error on purpose (nbval's tag)
GPU = "gpu"  # measures on CUDA; on a CPU its `torch.cuda.is_available()` branch prints one line

# One thread per kernel: float reductions then give the same bits on every machine (and two kernels
# never fight over two cores); a fixed hash seed keeps set and dict orders of strings stable.
DETERMINISTIC_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def tags(cell) -> list[str]:
    """A notebook cell's tags (an nbformat cell or a plain dict)."""
    return list(cell.get("metadata", {}).get("tags", []))


def deterministic_env() -> None:
    """Make kernels started from this process single-threaded and hash-stable."""
    os.environ.update(DETERMINISTIC_ENV)
