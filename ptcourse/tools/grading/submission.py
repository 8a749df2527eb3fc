"""Read a submitted notebook, match its cells to the release, and plan what the kernel runs.

Cells are matched by id where the notebook kept the released ids (JupyterLab, Notebook 7 and VS Code
do), and by content where it has none: Google Colab saves nbformat 4.0 with ids of its own in
`metadata.id`, older Jupyters and some editors save 4.4 without ids, and some editors add a cell
without one. Matched by content, a check cell is its released line, an exercise cell starts with
`# Exercise N.M`, and any other released cell is its released source; the released cells are aligned
with the notebook's in order.

Check cells and locked cells are always run as released: an edited or deleted check cell is restored
and its exercise is reported as tampered; a locked (setup) cell is restored silently (with a note).
"""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ptcourse.tools.conventions import GPU, RAISES
from ptcourse.tools.conventions import tags as cell_tags
from ptcourse.tools.grading.release import Release

SKIP_TAGS = ("nbval-skip",)
MAX_FILE_BYTES = 100 * 2**20  # a notebook is kilobytes to a few megabytes; stored outputs can make it huge
EXERCISE_HEADER = re.compile(r"^\s*#\s*Exercise\s+(\d+\.\d+)")


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
    released: str | None = None  # for a released cell the student may edit: its released source


@dataclass
class Plan:
    steps: list[Step]
    tampered: dict[str, str] = field(default_factory=dict)  # exercise -> why
    notes: list[str] = field(default_factory=list)
    ambiguous: dict[str, str] = field(default_factory=dict)  # exercise -> why its match is uncertain


@dataclass
class Submitted:
    """A notebook as read: its cells (each source one string; `id` None where the file has none)."""

    cells: list[dict]
    version: tuple[int, int]


def parse(raw: bytes) -> Submitted:
    """The notebook in `raw`, or `Unreadable` with a reason a student can act on."""
    if not raw.strip():
        raise Unreadable("the file is empty")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise Unreadable("the file is not text (UTF-8): is it really a .ipynb notebook?") from None
    except json.JSONDecodeError as error:
        raise Unreadable(f"the file is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}): "
                         "it was damaged or is not a notebook") from None
    version = data.get("nbformat") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        if version is not None and version != 4:
            raise Unreadable(f"it is an nbformat {version} notebook; the course uses nbformat 4 (open the released "
                             "notebook in a current Jupyter and copy your answers into it)")
        raise Unreadable("the JSON is not a Jupyter notebook (no list of cells)")
    minor = data.get("nbformat_minor", 0)
    if version != 4 or not isinstance(minor, int):
        raise Unreadable(f"it is an nbformat {version}.{minor} notebook; the course uses nbformat 4")
    cells = []
    for index, cell in enumerate(data["cells"]):
        if (not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw")
                or not isinstance(cell.get("metadata", {}), dict)):
            raise Unreadable(f"cell {index} is not a notebook cell")
        source = cell.get("source", "")
        if not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(s, str) for s in source))):
            raise Unreadable(f"cell {index} has no readable source")
        cell_id = cell.get("id")
        cells.append({**cell, "source": "".join(source),
                      "id": cell_id if isinstance(cell_id, str) and cell_id else None})
    return Submitted(cells, (4, minor))


def read_submission(path: Path) -> Submitted:
    """The notebook at `path`, or `Unreadable`."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise Unreadable(f"the file is {path.stat().st_size / 2**20:.0f} MB: clear its outputs "
                         "(Kernel → Restart Kernel and Clear Outputs), save, and submit it again")
    return parse(path.read_bytes())


def normalized(source: str) -> str:
    """Source compared for tampering: trailing whitespace and blank lines at either end do not count."""
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def content_key(cell: dict) -> tuple[str, str]:
    """What a cell is matched by when it has no id: its exercise number, or its type and source."""
    if cell["cell_type"] == "code":
        header = EXERCISE_HEADER.match(cell["source"].lstrip("\n"))
        if header:
            return ("exercise", header.group(1))
    return (cell["cell_type"], normalized(cell["source"]))


def match_ids(release: Release, submitted: Submitted) -> tuple[list[dict], list[str], dict[str, str], bool]:
    """The cells with ids: released ids kept, the others found by content.

    Returns (cells, notes, ambiguous exercises, whether the cells were matched by content).
    """
    cells = [dict(cell) for cell in submitted.cells]
    released_ids = {cell["id"] for cell in release.cells}
    checks = {e.check_id: e.number for e in release.exercises}
    protected = set(checks) | set(release.locked_ids)
    present = [c["id"] for c in cells if c["id"] in released_ids]
    duplicates = sorted({i for i in present if present.count(i) > 1})
    if duplicates:
        raise Unreadable(f"two cells have the same id {duplicates[0]!r} (was the notebook edited outside Jupyter?)")
    notes: list[str] = []
    by_content = len(protected & set(present)) * 2 < len(protected)
    if by_content:
        if any(c["id"] for c in cells):
            notes.append("the notebook's cell ids are not the released ones (was it rebuilt by copying cells into a "
                         "new notebook?): its cells were matched to the release by content")
        elif submitted.version < (4, 5):
            notes.append(f"the notebook (nbformat 4.{submitted.version[1]}) has no cell ids: its cells were matched "
                         "to the release by content")
        else:
            notes.append("the notebook's cells have no ids: they were matched to the release by content")
        for cell in cells:
            cell["id"] = None
    targets = [c for c in release.cells if c["id"] not in present]
    loose = [i for i, c in enumerate(cells) if c["id"] is None]
    ambiguous: dict[str, str] = {}
    if targets and loose:
        wanted = [content_key(c) for c in targets]
        found = [content_key(cells[i]) for i in loose]
        matcher = difflib.SequenceMatcher(None, wanted, found, autojunk=False)
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                cells[loose[block.b + k]]["id"] = targets[block.a + k]["id"]
        for target, key in zip(targets, wanted):
            copies = found.count(key)
            if target["id"] in checks and copies > 1:
                ambiguous[checks[target["id"]]] = (
                    f"the notebook has no cell ids and the check cell of Exercise {checks[target['id']]} appears "
                    f"{copies} times; it was graded at the copy that lines up with the release")
    taken = {c["id"] for c in cells if c["id"]}
    for index, cell in enumerate(cells):
        if cell["id"] is None or (cell["id"] not in released_ids and [c["id"] for c in cells].count(cell["id"]) > 1):
            new = f"cell-{index + 1}"
            while new in taken:
                new += "'"
            cell["id"] = new
            taken.add(new)
    return cells, notes, ambiguous, by_content


def _skipped(cell: dict, gpu: bool) -> bool:
    first_line = cell["source"].lstrip().split("\n", 1)[0].strip()
    tags = cell_tags(cell)
    return any(t in tags for t in SKIP_TAGS) or first_line == "# NBVAL_SKIP" or (GPU in tags and not gpu)


def plan(release: Release, submitted: Submitted | list[dict], gpu: bool = False) -> Plan:
    """The cells to run for one submission, with check and locked cells restored from the release."""
    if isinstance(submitted, list):
        submitted = Submitted(submitted, (4, 5))
    cells, notes, ambiguous, by_content = match_ids(release, submitted)
    released = {cell["id"]: (index, cell) for index, cell in enumerate(release.cells)}
    ids = [cell["id"] for cell in cells]

    # Released code cells must keep their order: a check cell moved above its exercise would grade nothing.
    order = [released[i][0] for i in ids if i in released and released[i][1]["cell_type"] == "code"]
    for first, second in zip(order, order[1:]):
        if second < first:
            raise Unreadable(f"the released cells are out of order: {release.cells[second]['id']!r} now comes after "
                             f"{release.cells[first]['id']!r} (move it back, or start from the released notebook "
                             "and copy your answers in)")

    checks = {e.check_id: e.number for e in release.exercises}
    protected = [c for c in release.cells if c["id"] in checks or c["id"] in release.locked_ids]
    present = {cell["id"]: cell for cell in cells}
    result = Plan(steps=[], notes=notes, ambiguous=ambiguous)
    texts = {normalized(c["source"]) for c in cells if c["cell_type"] == "code"}
    for cell in protected:
        mine = present.get(cell["id"])
        if mine is None:
            if by_content and normalized(cell["source"]) in texts:
                change = "moved"  # its line is elsewhere in the notebook: a student's copy, run where it is
            else:
                change = "edited or deleted" if by_content else "deleted"
        elif mine["cell_type"] != "code" or normalized(mine["source"]) != normalized(cell["source"]):
            change = "edited"
        else:
            continue
        if cell["id"] in checks and change != "moved":
            result.tampered[checks[cell["id"]]] = f"its check cell was {change} (the released check was run instead)"
        elif cell["id"] in checks:
            result.notes.append(f"the check cell of Exercise {checks[cell['id']]} was moved; the released check was "
                                "run in its place")
        else:
            result.notes.append(f"locked cell {cell['id']!r} was {change}; the released cell was run instead")

    # A deleted protected cell goes back just before the first released code cell that followed it.
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
                                     skip=_skipped(rules, gpu) or not cell["source"].strip(),
                                     released=reference["source"] if rules is reference else None))
    return result
