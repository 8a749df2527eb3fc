"""Test-suite setup: deterministic kernels, `gpu`-tagged notebook cells uncompared on a GPU, and `--heavy`.

`python -m pytest` runs what a student or maintainer runs (about 5 minutes on 2 cores). Tests marked
`heavy` (a real browser, the course installed outside its clone, the floor versions) run with
`--heavy`, which CI (`.ci/run`) always passes.
"""
from __future__ import annotations

import functools
import os
import shutil
import sys
from pathlib import Path

import pytest

from ptcourse.tools.conventions import GPU, deterministic_env, tags

# Kernels inherit this process's environment: one thread each, as when the solutions were executed.
deterministic_env()

# Fixture notebooks are inputs to tests, not lessons: nbval must not collect them on its own.
collect_ignore_glob = ["fixtures/*"]

@functools.cache
def cuda_available() -> bool:
    # No NVIDIA driver, no CUDA: answer without importing torch into pytest (seconds per gpu-tagged notebook).
    if os.name == "posix" and not Path("/proc/driver/nvidia").exists() and shutil.which("nvidia-smi") is None:
        return False
    import torch

    return torch.cuda.is_available()


def cell_tags(item) -> list[str]:
    cell = getattr(item, "cell", None)  # nbval's IPyNbCell items carry their notebook cell
    return tags(cell) if cell is not None else []


# What gaming answers in tests/test_checks_*.py replace; put back after every test.
PATCHED_BY_GAMING_ANSWERS = [("torch", "allclose"), ("torch", "equal"), ("torch", "sigmoid"),
                             ("torch.nn.functional", "binary_cross_entropy"),
                             ("torch.nn.functional", "binary_cross_entropy_with_logits")]


@pytest.fixture(autouse=True)
def restore_what_gaming_answers_patch():
    loaded = [(sys.modules[owner], name) for owner, name in PATCHED_BY_GAMING_ANSWERS if owner in sys.modules]
    saved = [(owner, name, getattr(owner, name)) for owner, name in loaded]
    yield
    for owner, name, value in saved:
        setattr(owner, name, value)


HEAVY_REASON = "a heavy suite: run it with --heavy (CI always does)"


def pytest_addoption(parser):
    try:
        parser.addoption("--heavy", action="store_true",
                         help="also run the heavy suites: the browser, the installed package outside the "
                              "clone, the floor versions")
    except ValueError:  # loaded twice: as tests/conftest.py and as `-p tests.conftest`
        pass


def pytest_configure(config):
    config.addinivalue_line("markers", "heavy: a slow suite that runs only with --heavy (CI runs it)")


def heavy(config) -> bool:
    return bool(config.getoption("--heavy", default=False))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "heavy" in item.keywords and not heavy(config):
            item.add_marker(pytest.mark.skip(reason=HEAVY_REASON))
        if GPU in cell_tags(item) and cuda_available():
            # A gpu cell runs everywhere: on a CPU it takes its `torch.cuda.is_available()` branch, whose one
            # stored line nbval compares. On a GPU it measures, and timings vary: run it, don't compare.
            item.options["check"] = False
