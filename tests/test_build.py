"""The student-notebook builder: stubs, dropped cells, cleared outputs, errors, and the sync with notebooks/."""
from __future__ import annotations

import nbformat
import pytest

from ptcourse import build
from ptcourse.paths import NOTEBOOKS, SOLUTIONS, lessons

EXERCISE = """\
# Exercise 9.1 — add one
def add_one(x):
    ### BEGIN SOLUTION
    return x + 1
    ### END SOLUTION
"""


def notebook(tmp_path, *cells, name="09_fixture.ipynb"):
    nb = nbformat.v4.new_notebook(cells=list(cells))
    for i, cell in enumerate(nb.cells):
        cell["id"] = cell.get("id") or f"c{i}"
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def code(source, id=None, tags=None, **course):
    cell = nbformat.v4.new_code_cell(source)
    cell["id"] = id
    if tags:
        cell.metadata["tags"] = tags
    if course:
        cell.metadata["course"] = course
    return cell


def check_cell(exercise="9.1"):
    return code(f"check.something()  # {exercise}", id=f"check-{exercise.replace('.', '-')}", tags=["check"], exercise=exercise, points=1)


def test_solution_region_becomes_a_stub_naming_the_exercise(tmp_path):
    path = notebook(tmp_path, code(EXERCISE, id="ex"), check_cell())
    student = build.build_notebook(path)
    assert student.cells[0].source == (
        "# Exercise 9.1 — add one\n"
        "def add_one(x):\n"
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError('Exercise 9.1 — add one is not done yet')"
    )
    namespace = {}
    exec(student.cells[0].source, namespace)
    with pytest.raises(NotImplementedError, match="Exercise 9.1"):
        namespace["add_one"](1)


def test_solution_only_cells_are_dropped_and_outputs_cleared(tmp_path):
    shown = code("print(add_one(1))", id="shown")
    shown.outputs = [nbformat.v4.new_output("stream", text="2\n")]
    shown.execution_count = 3
    hidden = code("print('answer')", id="hidden", tags=["solution-only"])
    path = notebook(tmp_path, code(EXERCISE, id="ex"), check_cell(), shown, hidden)
    student = build.build_notebook(path)
    assert [c.id for c in student.cells] == ["ex", "check-9-1", "shown"]
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells)


def test_ids_tags_and_points_are_kept_for_the_grader(tmp_path):
    path = notebook(tmp_path, code(EXERCISE, id="ex"), check_cell())
    check = build.build_notebook(path).cells[1]
    assert check.id == "check-9-1"
    assert check.metadata["tags"] == ["check"]
    assert check.metadata["course"] == {"exercise": "9.1", "points": 1}


def test_markdown_answer_region(tmp_path):
    cell = nbformat.v4.new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION")
    path = notebook(tmp_path, cell)
    assert build.build_notebook(path).cells[0].source == "Why?\nYOUR ANSWER HERE"


@pytest.mark.parametrize(
    "source, message",
    [
        ("# Exercise 9.1 — x\n### END SOLUTION\n", "'### END SOLUTION' without"),
        ("# Exercise 9.1 — x\n### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "nested"),
        ("# Exercise 9.1 — x\n### BEGIN SOLUTION\nx = 1\n", "never closed"),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "needs a '# Exercise N.M"),
        ("# Exercise 9.1 — x\n### BEGIN SOLUTOIN\n", "unknown marker"),
    ],
)
def test_malformed_markers_name_notebook_and_cell(tmp_path, source, message):
    path = notebook(tmp_path, code("import torch", id="setup"), code(source, id="bad"), check_cell())
    with pytest.raises(build.BuildError) as error:
        build.build_notebook(path)
    assert message in str(error.value)
    assert "09_fixture.ipynb, cell 1 (id bad)" in str(error.value)


def test_an_exercise_without_a_check_cell_is_an_error(tmp_path):
    path = notebook(tmp_path, code(EXERCISE, id="ex"))
    with pytest.raises(build.BuildError, match="9.1 have no check cell"):
        build.build_notebook(path)


def test_a_check_cell_without_points_is_an_error(tmp_path):
    path = notebook(tmp_path, code(EXERCISE, id="ex"), code("check.x()", id="chk", tags=["check"], exercise="9.1"))
    with pytest.raises(build.BuildError, match="course.points"):
        build.build_notebook(path)


def test_stale_reports_drift_missing_and_orphans(tmp_path):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir(), notebooks.mkdir()
    for name in ("01_a.ipynb", "02_b.ipynb"):
        notebook(solutions, code(EXERCISE, id="ex"), check_cell(), name=name)
    (notebooks / "01_a.ipynb").write_text(build.render(solutions / "01_a.ipynb"))
    assert build.stale(solutions, notebooks) == ["notebooks/02_b.ipynb is missing"]
    (notebooks / "01_a.ipynb").write_text(build.render(solutions / "01_a.ipynb").replace("add_one", "add_two"))
    (notebooks / "03_c.ipynb").write_text("{}")
    assert build.stale(solutions, notebooks) == [
        "notebooks/02_b.ipynb is missing",
        "notebooks/03_c.ipynb has no solution notebook",
        "notebooks/01_a.ipynb differs from its build (run: python -m ptcourse.build)",
    ]


def test_student_notebooks_are_exactly_what_the_builder_writes():
    assert lessons(SOLUTIONS), "no solution notebooks found"
    assert build.stale() == [], "run: python -m ptcourse.build"
    assert [p.name for p in lessons(SOLUTIONS)] == [p.name for p in lessons(NOTEBOOKS)]
