"""Read a submitted notebook, match its cells to the release by id, and plan what the kernel runs.

Check cells and locked cells are always run as released: an edited or deleted check cell is restored
and its exercise is reported as tampered; a locked (setup) cell is restored silently (with a note).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ptcourse.tools.conventions import GPU, RAISES
from ptcourse.tools.conventions import tags as cell_tags
from ptcourse.tools.grading.release import Release

SKIP_TAGS = ("nbval-skip",)
MAX_FILE_BYTES = 100 * 2**20  # a notebook is kilobytes to a few megabytes; stored outputs can make it huge


class Unreadable(Exception):
    """A submission the grader cannot match to its release; the message says why, for the student."""


@dataclass
class Step:
    """One code cell as the kernel will run it."""

    cell_id: str
    source: str
    exercise: str | None = None  # set on check cells: the exercise they grade
    restored: bool = False  # source taken from the release (check and locked cells)
    expected_error: bool = False  # tagged raises-exception in the release
    skip: bool = False


@dataclass
class Plan:
    steps: list[Step]
    tampered: dict[str, str] = field(default_factory=dict)  # exercise -> why
    notes: list[str] = field(default_factory=list)


def read_submission(path: Path) -> list[dict]:
    """The notebook's cells (each source one string), or `Unreadable` with a reason a student can act on."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise Unreadable(f"the file is {path.stat().st_size / 2**20:.0f} MB: clear its outputs "
                         "(Kernel → Restart Kernel and Clear Outputs), save, and submit it again")
    raw = path.read_bytes()
    if not raw.strip():
        raise Unreadable("the file is empty")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise Unreadable("the file is not text (UTF-8): is it really a .ipynb notebook?") from None
    except json.JSONDecodeError as error:
        raise Unreadable(f"the file is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}): "
                         "it was damaged or is not a notebook") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        version = data.get("nbformat") if isinstance(data, dict) else None
        if version is not None and version != 4:
            raise Unreadable(f"it is an nbformat {version} notebook; the course uses nbformat 4.5 (open the "
                             "released notebook in a current Jupyter and copy your answers into it)")
        raise Unreadable("the JSON is not a Jupyter notebook (no list of cells)")
    version = (data.get("nbformat"), data.get("nbformat_minor"))
    if version[0] != 4 or not isinstance(version[1], int) or version[1] < 5:
        raise Unreadable(f"it is an nbformat {version[0]}.{version[1]} notebook, whose cells have no ids; the course "
                         "needs nbformat 4.5 (was it saved by an old Jupyter or by Google Colab?)")
    for index, cell in enumerate(data["cells"]):
        if (not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw")
                or not isinstance(cell.get("metadata", {}), dict)):
            raise Unreadable(f"cell {index} is not a notebook cell")
        source = cell.get("source", "")
        if not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(s, str) for s in source))):
            raise Unreadable(f"cell {index} has no readable source")
        if not isinstance(cell.get("id"), str) or not cell["id"]:
            raise Unreadable(f"cell {index} has no id")
    for cell in data["cells"]:
        cell["source"] = "".join(cell.get("source", ""))
    return data["cells"]


def normalized(source: str) -> str:
    """Source compared for tampering: trailing whitespace and blank lines at either end do not count."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _skipped(cell: dict, gpu: bool) -> bool:
    first_line = cell["source"].lstrip().split("\n", 1)[0].strip()
    tags = cell_tags(cell)
    return any(t in tags for t in SKIP_TAGS) or first_line == "# NBVAL_SKIP" or (GPU in tags and not gpu)


def plan(release: Release, submitted: list[dict], gpu: bool = False) -> Plan:
    """The cells to run for one submission, with check and locked cells restored from the release."""
    released = {cell["id"]: (index, cell) for index, cell in enumerate(release.cells)}
    ids = [cell["id"] for cell in submitted]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise Unreadable(f"two cells have the same id {duplicates[0]!r} (was the notebook edited outside Jupyter?)")

    # Released code cells must keep their order: a check cell moved above its exercise would grade nothing.
    order = [released[i][0] for i in ids if i in released and released[i][1]["cell_type"] == "code"]
    for first, second in zip(order, order[1:]):
        if second < first:
            raise Unreadable(f"the released cells are out of order: {release.cells[second]['id']!r} now comes after "
                             f"{release.cells[first]['id']!r} (move it back, or start from the released notebook "
                             "and copy your answers in)")

    checks = {e.check_id: e.number for e in release.exercises}
    protected = [c for c in release.cells if c["id"] in checks or c["id"] in release.locked_ids]
    present = {cell["id"]: cell for cell in submitted}
    result = Plan(steps=[])
    for cell in protected:
        mine = present.get(cell["id"])
        if mine is None:
            change = "deleted"
        elif mine["cell_type"] != "code" or normalized(mine["source"]) != normalized(cell["source"]):
            change = "edited"
        else:
            continue
        if cell["id"] in checks:
            result.tampered[checks[cell["id"]]] = f"its check cell was {change} (the released check was run instead)"
        else:
            result.notes.append(f"locked cell {cell['id']!r} was {change}; the released cell was run instead")

    # A deleted protected cell goes back just before the first released code cell that followed it.
    cells = list(submitted)
    for cell in protected:
        if cell["id"] not in present:
            later = [i for i, c in enumerate(cells) if c["id"] in released
                     and released[c["id"]][0] > released[cell["id"]][0] and released[c["id"]][1]["cell_type"] == "code"]
            cells.insert(later[0] if later else len(cells), cell)

    for cell in cells:
        reference = released.get(cell["id"], (None, None))[1]
        if cell["id"] in checks or cell["id"] in release.locked_ids:
            result.steps.append(Step(cell["id"], reference["source"], checks.get(cell["id"]), restored=True,
                                     skip=cell["id"] not in checks and _skipped(reference, gpu)))
        elif cell["cell_type"] == "code":
            rules = reference if reference is not None and reference["cell_type"] == "code" else cell
            result.steps.append(Step(cell["id"], cell["source"], expected_error=RAISES in cell_tags(rules),
                                     skip=_skipped(rules, gpu) or not cell["source"].strip()))
    return result
