"""The cells the builder writes into every lesson: the setup cell first, the progress cell last.

The setup cell makes a notebook run wherever it is opened: in a clone (or wherever the course package is
installed) it does nothing; elsewhere (Colab, Kaggle, a JupyterHub, a notebook downloaded on its own) it
installs the package from the one source that `pyproject.toml` names under `[tool.ptcourse]`, keeping
the torch and torchvision already installed. The same setting makes the README's "Open in Colab" links.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

from ptcourse.tools.conventions import LOCKED

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None

SETUP_ID, PROGRESS_ID = "course-setup", "course-progress"
PROGRESS_SOURCE = "check.progress()  # the state of every exercise of this lesson"

# Shown folded: JupyterLab and Notebook hide the source (`jupyter.source_hidden`), Colab shows the title only.
SETUP_METADATA = {"tags": [LOCKED], "jupyter": {"source_hidden": True}, "cellView": "form"}

SETUP_TEMPLATE = '''\
# @title Course setup — run this cell first
# Written by the course's build tool (edits are lost). Where the course package is installed (a clone
# set up with the README) it only imports it; elsewhere (Colab, Kaggle, a JupyterHub) it installs it
# first, once per session, keeping the torch and torchvision already there.
import importlib.util

COURSE_PACKAGE = {package!r}
if importlib.util.find_spec("ptcourse") is None:
    import subprocess
    import sys
    from importlib import metadata

    if not COURSE_PACKAGE:
        raise ModuleNotFoundError(
            "This notebook needs the course package `ptcourse`, which is not installed in this kernel, and this "
            "copy of the course names no place to install it from. Open the notebook from a clone of the course "
            "set up as its README says, or install the package into this kernel's Python first (in the clone: "
            "`pip wheel --no-deps -w dist .`, then here: `pip install ptcourse-*.whl`).")
    keep = []
    for name in ("torch", "torchvision"):
        try:
            keep.append(f"{{name}}=={{metadata.version(name)}}")
        except metadata.PackageNotFoundError:
            pass
    print("Installing the course package (once per session) ...", flush=True)
    pip = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", COURSE_PACKAGE, *keep],
                         capture_output=True, text=True)
    if pip.returncode:
        print(pip.stdout[-3000:], pip.stderr[-3000:], sep="\\n")
        raise RuntimeError(
            f"pip could not install {{COURSE_PACKAGE}} next to {{', '.join(keep) or 'this Python'}} (its "
            "message is above). Can this notebook reach the internet? Is the installed torch inside the "
            "range the course supports (the README's Versions section)?")
    importlib.invalidate_caches()
import ptcourse

ptcourse.set_language({language!r})'''


def settings(pyproject: Path) -> dict:
    """`[tool.ptcourse]` of the project: `repository` (a GitHub URL) and `release` (a tag), maybe unset."""
    if tomllib is None or not pyproject.is_file():
        return {}
    with open(pyproject, "rb") as f:
        return tomllib.load(f).get("tool", {}).get("ptcourse", {})


def package_spec(config: dict) -> str:
    """What the setup cell installs: the release tag of the repository, or '' while either is unset."""
    repository, release = config.get("repository", ""), config.get("release", "")
    return f"ptcourse @ git+{repository.rstrip('/')}.git@{release}" if repository and release else ""


def colab_url(config: dict, notebook: str) -> str:
    """The "Open in Colab" address of a notebook (`notebooks/01_nn_module.ipynb`), or ''."""
    repository, release = config.get("repository", ""), config.get("release", "")
    match = re.fullmatch(r"https://github\.com/([^/]+/[^/]+?)/?", repository)
    if not (match and release):
        return ""
    return f"https://colab.research.google.com/github/{match.group(1)}/blob/{release}/{notebook}"


def setup_source(package: str, language: str = "en") -> str:
    return SETUP_TEMPLATE.format(package=package, language=language)


def setup_cell(nbformat, package: str, language: str = "en"):
    cell = nbformat.v4.new_code_cell(setup_source(package, language), metadata=copy.deepcopy(SETUP_METADATA))
    cell["id"] = SETUP_ID
    return cell


def progress_cell(nbformat):
    cell = nbformat.v4.new_code_cell(PROGRESS_SOURCE, metadata={"tags": [LOCKED]})
    cell["id"] = PROGRESS_ID
    return cell


def frame(nb, package: str, language: str = "en") -> bool:
    """Put the current setup cell first among the code cells and the progress cell last; True if `nb` changed.

    A framing cell whose source is already current keeps its stored outputs.
    """
    import nbformat

    changed = False
    wanted = {SETUP_ID: setup_cell(nbformat, package, language), PROGRESS_ID: progress_cell(nbformat)}
    existing = {c.get("id"): c for c in nb.cells if c.get("id") in wanted}
    for cell_id, fresh in wanted.items():
        old = existing.get(cell_id)
        if old is not None and old.source == fresh.source and old.metadata == fresh.metadata:
            wanted[cell_id] = old
    others = [c for c in nb.cells if c.get("id") not in wanted]
    first_code = next((i for i, c in enumerate(others) if c.cell_type == "code"), len(others))
    cells = others[:first_code] + [wanted[SETUP_ID]] + others[first_code:] + [wanted[PROGRESS_ID]]
    if [id(c) for c in cells] != [id(c) for c in nb.cells]:
        nb.cells = cells
        changed = True
    return changed
