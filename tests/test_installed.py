"""The course outside its clone: a wheel built from the repository, each notebook copied alone into an
empty folder and run in a kernel that cannot see the repository (no editable install on its path, its
working directory elsewhere), two ways:

- **installed**: the package installed from the wheel beforehand (a student who ran `pip install`);
- **hosted**: the package absent and a stand-in `google.colab` module present, as on Colab; the
  notebook's own setup cell installs the package (its source pointed at the wheel by this test).

Solutions pass every check (graded kernels); student notebooks reach their last cell (a student's
kernels). The kernels reuse this environment's torch and friends through a path entry (a `.pth` file
that lists a folder of links to them), never the course package: `import ptcourse` inside them finds
the wheel's copy or nothing. Heavy: runs with `--heavy` (CI always does).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from ptcourse.checks import mode
from ptcourse.checks._core import PASS_MARK, TODO_MARK
from ptcourse.tools.build import render
from ptcourse.tools.conventions import CHECK, GPU, tags
from ptcourse.tools.framing import SETUP_ID
from ptcourse.tools.repo import REPO, SOLUTIONS, lessons

pytestmark = pytest.mark.heavy

LESSONS = lessons(SOLUTIONS)
WHERE = "import ptcourse; print('ptcourse from', ptcourse.__file__)"
NOT_SHARED = ("ptcourse", "__editable__", "_ptcourse", "easy-install.pth")  # what the kernels must not see


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel `pip wheel` builds from this repository (offline: no build isolation)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(out), str(REPO)], check=True, cwd=out)
    (found,) = out.glob("ptcourse-*.whl")
    return found


@pytest.fixture(scope="module")
def shared_site(tmp_path_factory) -> Path:
    """A folder of links to this environment's packages, without the course package or its editable finder."""
    site = Path(sysconfig.get_paths()["purelib"])
    folder = tmp_path_factory.mktemp("shared-site")
    for entry in site.iterdir():
        if not entry.name.startswith(NOT_SHARED):
            (folder / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    return folder


def make_environment(root: Path, shared: Path, name: str, wheel: Path | None) -> Path:
    """A virtual environment whose kernel sees `shared` but no course package (unless `wheel` is installed)."""
    venv = root / name
    # No pip of its own: pip, setuptools and the rest come from `shared`, in the versions torch requires.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    (Path(purelib) / "course_dependencies.pth").write_text(f"{shared}\n")
    if wheel is not None:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)], check=True)
    kernels = root / "jupyter" / "kernels" / name
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": name, "language": "python"}))
    return python


@pytest.fixture(scope="module")
def environments(tmp_path_factory, shared_site, wheel):
    root = tmp_path_factory.mktemp("envs")
    installed = make_environment(root, shared_site, "installed", wheel)
    hosted = make_environment(root, shared_site, "hosted", None)
    standin = root / "colab-standin" / "google" / "colab"
    standin.mkdir(parents=True)
    (standin.parent / "__init__.py").write_text("")
    (standin / "__init__.py").write_text('"""A stand-in for Google Colab\'s own module: its presence, nothing more."""\n')
    return {"installed": installed, "hosted": hosted, "jupyter": root / "jupyter", "standin": root / "colab-standin"}


def run(notebook: nbformat.NotebookNode, folder: Path, kernel: str, env: dict[str, str], jupyter: Path,
        allow_errors: bool = False):
    """Execute `notebook` in an empty `folder` with the kernel `kernel` (every cell must run without error)."""
    nbformat.write(notebook, folder / "lesson.ipynb")
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env, JUPYTER_PATH=str(jupyter))
        NotebookClient(notebook, timeout=300, kernel_name=kernel, allow_errors=allow_errors,
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return notebook


def kernel_env(graded: bool, extra_path: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", mode.GRADED_ENV)}
    env.update(OMP_NUM_THREADS="1", PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    if graded:
        env[mode.GRADED_ENV] = "1"
    if extra_path is not None:
        env["PYTHONPATH"] = str(extra_path)
    return env


def notebook_for(solution: Path, edition: str, package: str) -> nbformat.NotebookNode:
    """The solution or student notebook as the builder writes it, with one extra cell that says where
    `ptcourse` came from."""
    if edition == "student":
        nb = nbformat.reads(render(solution, package=package), as_version=4)
    else:
        from ptcourse.tools.build import framed

        nb = framed(solution, package=package)
    where = nbformat.v4.new_code_cell(WHERE)
    where.id = "where-from"
    nb.cells.append(where)
    return nb


def verdicts(nb, edition: str) -> None:
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "a cell did not run"
    for cell in code:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if CHECK in tags(cell):
            mark = PASS_MARK if edition == "solution" else TODO_MARK
            assert text.startswith(f"{mark} Exercise {cell.metadata['course']['exercise']}"), (cell.id, text)


def where_from(nb) -> str:
    return "".join(o.get("text", "") for o in nb.cells[-1].outputs)


@pytest.mark.parametrize("edition", ["solution", "student"])
@pytest.mark.parametrize("solution", LESSONS, ids=lambda p: p.name)
def test_a_notebook_alone_runs_with_the_installed_package(solution, edition, environments, tmp_path):
    nb = notebook_for(solution, edition, package="")  # no source: the package must already be there
    for cell in nb.cells:
        if GPU in tags(cell):
            cell.metadata.pop("tags")  # on a CPU a gpu cell prints one line; run it like every other
    run(nb, tmp_path, "installed", kernel_env(graded=edition == "solution"), environments["jupyter"])
    verdicts(nb, edition)
    assert str(environments["installed"].parent.parent) in where_from(nb), where_from(nb)
    assert str(REPO) not in where_from(nb)


@pytest.mark.parametrize("edition", ["solution", "student"])
@pytest.mark.parametrize("solution", LESSONS, ids=lambda p: p.name)
def test_a_hosted_notebook_installs_the_package_in_its_setup_cell(solution, edition, environments, wheel, tmp_path):
    python = environments["hosted"]
    subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "ptcourse"], capture_output=True)
    missing = subprocess.run([str(python), "-c", "import importlib.util as u; print(u.find_spec('ptcourse'))"],
                             capture_output=True, text=True, env=kernel_env(False), cwd=tmp_path).stdout.strip()
    assert missing == "None", f"the hosted kernel sees a course package before its setup cell: {missing}"
    nb = notebook_for(solution, edition, package=str(wheel))
    run(nb, tmp_path, "hosted", kernel_env(graded=edition == "solution", extra_path=environments["standin"]),
        environments["jupyter"])
    setup = next(c for c in nb.cells if c.id == SETUP_ID)
    assert "Installing the course package" in "".join(o.get("text", "") for o in setup.outputs)
    verdicts(nb, edition)
    assert str(python.parent.parent) in where_from(nb), where_from(nb)


def test_the_setup_cell_without_a_source_says_what_to_do(environments, tmp_path):
    setup = next(c for c in notebook_for(LESSONS[0], "student", package="").cells if c.id == SETUP_ID)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(setup.source)])
    python = environments["hosted"]
    subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "ptcourse"], capture_output=True)
    run(nb, tmp_path, "hosted", kernel_env(graded=False), environments["jupyter"], allow_errors=True)
    (error,) = [o for o in nb.cells[0].outputs if o.output_type == "error"]
    assert error.ename == "ModuleNotFoundError" and "set up as its README says" in error.evalue


def test_the_wheel_carries_every_data_file_and_nothing_of_the_clone(wheel):
    """What `pip install .` installs: the package and every file of data/ (as ptcourse/data/), no tests."""
    import zipfile

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    data = {f"ptcourse/data/{p.relative_to(REPO / 'data').as_posix()}" for p in (REPO / "data").rglob("*") if p.is_file()}
    assert data <= names, sorted(data - names)[:5]
    assert not [n for n in names if n.startswith(("tests/", "solutions/", "notebooks/"))]
