"""Cells tagged `gpu` are skipped with a visible reason where CUDA is absent, and run where it is."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import NO_CUDA_REASON, cuda_available

from ptcourse.tools.repo import REPO

FIXTURE = Path(__file__).parent / "fixtures" / "gpu_cells.ipynb"


def test_gpu_cell_is_skipped_with_reason_without_cuda_and_runs_with_it():
    # Normal collection ignores fixtures/; named explicitly, the notebook runs under tests/conftest.py's hook.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", str(FIXTURE)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    out = result.stdout
    assert result.returncode == 0, out[-4000:]
    if cuda_available():
        assert "3 passed" in out, out[-2000:]
    else:
        assert "2 passed, 1 skipped" in out, out[-2000:]
        assert f"SKIPPED [1] {FIXTURE.relative_to(REPO)}: {NO_CUDA_REASON}" in out, out[-2000:]
