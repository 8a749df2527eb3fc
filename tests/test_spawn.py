"""The notebooks that start worker processes pass strict nbval again with the start method forced to spawn.

Spawn is the default on macOS and Windows (and forkserver on Linux from Python 3.14): a worker then
re-imports everything it needs, so a class defined in a notebook cell breaks it. Linux defaults to fork,
which hides the problem; this test makes every such notebook face spawn on the machine that runs CI.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ptcourse.tools.repo import REPO, SOLUTIONS, lessons

STARTS_PROCESSES = re.compile(r"num_workers\s*=\s*(?!0\b)\w|torch\.multiprocessing|multiprocessing\.|mp\.spawn")
FORCE_SPAWN = """\
import multiprocessing
multiprocessing.set_start_method("spawn", force=True)
"""


def starts_processes(path: Path) -> bool:
    nb = nbformat.read(path, as_version=4)
    return any(c.cell_type == "code" and STARTS_PROCESSES.search(c.source) for c in nb.cells)


WORKER_NOTEBOOKS = [p for p in lessons(SOLUTIONS) if starts_processes(p)]


@pytest.fixture(scope="session")
def spawn_ipython_dir(tmp_path_factory) -> Path:
    """An IPython profile whose startup file forces the spawn start method in every kernel."""
    ipython_dir = tmp_path_factory.mktemp("ipython")
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-force-spawn.py").write_text(FORCE_SPAWN)
    return ipython_dir


def test_force_spawn_reaches_the_kernel(spawn_ipython_dir, tmp_path):
    """The mechanism itself: a kernel started with this profile reports the spawn start method."""
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import multiprocessing\nprint(multiprocessing.get_start_method())")
    ])
    from nbclient import NotebookClient

    os.environ["IPYTHONDIR"] = str(spawn_ipython_dir)
    try:
        NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    finally:
        del os.environ["IPYTHONDIR"]
    assert nb.cells[0].outputs[0]["text"].strip() == "spawn"


@pytest.mark.heavy  # every worker start imports torch afresh: a minute or more per notebook
@pytest.mark.parametrize("notebook", WORKER_NOTEBOOKS, ids=lambda p: p.name)
def test_worker_notebook_passes_under_spawn(notebook, spawn_ipython_dir):
    env = dict(os.environ, IPYTHONDIR=str(spawn_ipython_dir))
    result = subprocess.run(
        # `-p tests.conftest`: the one-thread kernels and the gpu-cell hook apply to this run too.
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest", str(notebook)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
