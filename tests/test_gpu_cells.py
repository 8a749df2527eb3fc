"""Cells tagged `gpu` run everywhere: compared on a CPU (their one-line CUDA-less branch), uncompared on a GPU."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import cuda_available

from ptcourse.tools.repo import REPO

FIXTURE = Path(__file__).parent / "fixtures" / "gpu_cells.ipynb"


def nbval(notebook: Path, *options: str) -> subprocess.CompletedProcess:
    # Normal collection ignores fixtures/; named explicitly, the notebook runs under tests/conftest.py's hook.
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *options, "-rs", str(notebook)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )


def test_gpu_cell_runs_without_cuda_and_with_it():
    result = nbval(FIXTURE)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "3 passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]


def test_without_cuda_a_gpu_cell_output_is_compared(tmp_path):
    nb = json.loads(FIXTURE.read_text(encoding="utf-8"))
    nb["cells"][1]["outputs"][0]["text"] = ["something this cell never prints\n"]
    changed = tmp_path / FIXTURE.name
    changed.write_text(json.dumps(nb), encoding="utf-8")
    # Outside tests/, the project's configuration and tests/conftest.py's hook are named explicitly.
    result = nbval(changed, "-c", str(REPO / "pyproject.toml"), "--rootdir", str(REPO), "-p", "tests.conftest")
    if cuda_available():
        assert "3 passed" in result.stdout, result.stdout[-2000:]
    else:
        assert "1 failed, 2 passed" in result.stdout, result.stdout[-2000:]
