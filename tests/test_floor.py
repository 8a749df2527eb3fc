"""The floor of the supported range is proven: every solution runs there, and the checks' tests pass.

`requirements-floor.txt` pins the oldest versions `pyproject.toml` admits (torch, torchvision, numpy,
pillow, matplotlib, requests, tqdm). An environment with exactly those, `.venv-floor` in the clone
(several GB from PyPI, built once and rebuilt when the file changes), runs:
- every solution notebook with errors checked: every cell runs and every check passes (graded kernels);
  printed outputs are not compared (they may differ between versions, and the lessons say where);
- the checks' unit tests (`tests/test_checks_*.py`).
Heavy: runs with `--heavy` (CI always does).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ptcourse.checks import mode
from ptcourse.tools.conventions import CHECK, DETERMINISTIC_ENV, tags
from ptcourse.tools.repo import REPO, SOLUTIONS, lessons

pytestmark = pytest.mark.heavy

FLOOR = REPO / "requirements-floor.txt"
VENV = REPO / ".venv-floor"
STAMP = VENV / "requirements-floor.sha256"
RUNNER = """\
import sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
for cell in nb.cells:
    if "gpu" in cell.metadata.get("tags", []):
        cell.source = "pass  # a gpu cell: not run at the floor"
NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False,
               resources={"metadata": {"path": sys.argv[2]}}).execute()
passes = [o.get("text", "") for c in nb.cells if "check" in c.metadata.get("tags", []) for o in c.outputs]
print(sum("\\u2714 Exercise" in text for text in passes), "checks passed")
"""


def python_of(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@pytest.fixture(scope="module")
def floor_python() -> Path:
    """The floor environment's Python, (re)built when requirements-floor.txt changed."""
    wanted = hashlib.sha256(FLOOR.read_bytes()).hexdigest()
    if not (STAMP.is_file() and STAMP.read_text().strip() == wanted and python_of(VENV).exists()):
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python_of(VENV)), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([str(python_of(VENV)), "-m", "pip", "install", "--quiet", "-r", str(FLOOR)], check=True, cwd=REPO)
        STAMP.write_text(wanted)
    return python_of(VENV)


def floor_env() -> dict[str, str]:
    """The course package from this clone, graded kernels, one thread: as the suite runs the solutions."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(DETERMINISTIC_ENV, PYTHONPATH=str(REPO))
    env[mode.GRADED_ENV] = "1"
    return env


def test_the_floor_is_what_pyproject_declares(floor_python):
    """Each pinned floor version is the lower bound the package metadata declares."""
    import tomllib

    from packaging.requirements import Requirement

    declared = {}
    for line in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]:
        requirement = Requirement(line)
        floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if floors:
            declared[requirement.name.lower()] = floors[0]
    pinned = {}
    for line in FLOOR.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, _, version = line.partition("==")
            pinned[name.strip().lower()] = version.strip()
    for name, floor in declared.items():
        assert pinned.get(name) == floor, f"{name}: pyproject.toml says >={floor}, requirements-floor.txt pins {pinned.get(name)}"
    versions = subprocess.run([str(floor_python), "-c", "import torch, torchvision; print(torch.__version__, torchvision.__version__)"],
                              capture_output=True, text=True, check=True, env=floor_env()).stdout.split()
    assert [v.split("+")[0] for v in versions] == [pinned["torch"], pinned["torchvision"]]


@pytest.mark.parametrize("solution", lessons(SOLUTIONS), ids=lambda p: p.name)
def test_every_cell_runs_and_every_check_passes_at_the_floor(floor_python, solution, tmp_path):
    result = subprocess.run([str(floor_python), "-c", RUNNER, str(solution), str(SOLUTIONS)], cwd=tmp_path,
                            capture_output=True, text=True, env=floor_env(), timeout=1800)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    checks = sum(CHECK in tags(c) for c in nbformat.read(solution, as_version=4).cells)
    assert result.stdout.strip().splitlines()[-1] == f"{checks} checks passed", result.stdout[-2000:]


def test_the_check_tests_pass_at_the_floor(floor_python):
    tests = sorted(str(p.relative_to(REPO)) for p in (REPO / "tests").glob("test_checks_*.py"))
    result = subprocess.run([str(floor_python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                             *tests], cwd=REPO, capture_output=True, text=True, env=floor_env(), timeout=1800)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
