"""Run every student notebook as released: each check cell fails, and nothing else breaks.

This is what a student sees before solving anything. A check that passes on the stub could never
fail; a lesson cell that errors because an exercise is unsolved would stop a student who skips it.
"""
from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from ptcourse.build import CHECK, has_solution, tags
from ptcourse.execute import CELL_TIMEOUT_S, deterministic_env
from ptcourse.paths import NOTEBOOKS, SOLUTIONS, lessons

CHECK_FAILURES = {"NotImplementedError", "CheckFailed", "AssertionError"}


def errors(cell) -> list[str]:
    return [o.ename for o in cell.get("outputs", []) if o.output_type == "error"]


@pytest.mark.parametrize("path", lessons(NOTEBOOKS), ids=lambda p: p.name)
def test_release_checks_fail_and_lesson_cells_run(path):
    solution = nbformat.read(SOLUTIONS / path.name, as_version=4)
    exercise_ids = {c.id for c in solution.cells if c.cell_type == "code" and has_solution(c)}

    deterministic_env()
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()

    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        raised, where = errors(cell), f"cell {index} (id {cell.id})"
        if CHECK in tags(cell):
            if not raised:
                problems.append(f"{where}: check passed on the unsolved stub")
            elif raised[0] not in CHECK_FAILURES:
                problems.append(f"{where}: check failed with {raised[0]}, not an AssertionError/NotImplementedError")
        elif cell.id in exercise_ids:
            if raised and raised[0] != "NotImplementedError":
                problems.append(f"{where}: exercise cell raised {raised[0]}")
        elif raised and "raises-exception" not in tags(cell):
            problems.append(f"{where}: lesson cell raised {raised[0]} when the exercises are unsolved")
    assert not problems, "\n".join(problems)
