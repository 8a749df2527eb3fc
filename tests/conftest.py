"""Test-suite setup: deterministic kernels, and `gpu`-tagged notebook cells skipped without CUDA."""
from __future__ import annotations

import functools

import pytest

from ptcourse.conventions import GPU, deterministic_env

# Kernels inherit this process's environment: one thread each, as when the solutions were executed.
deterministic_env()

# Fixture notebooks are inputs to tests, not lessons: nbval must not collect them on its own.
collect_ignore_glob = ["fixtures/*"]

NO_CUDA_REASON = "no CUDA device"


@functools.cache
def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def cell_tags(item) -> list[str]:
    cell = getattr(item, "cell", None)  # nbval's IPyNbCell items carry their notebook cell
    return list(cell.metadata.get("tags", [])) if cell is not None else []


def pytest_collection_modifyitems(config, items):
    for item in items:
        if GPU not in cell_tags(item):
            continue
        if not cuda_available():
            item.add_marker(pytest.mark.skip(reason=NO_CUDA_REASON))
        else:
            # Stored outputs were made on a CPU machine (and GPU timings vary): run, don't compare.
            item.options["check"] = False
