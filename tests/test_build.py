"""The student-notebook builder: stubs, dropped cells, cleared outputs, errors, and the sync with notebooks/."""
from __future__ import annotations

import nbformat
import pytest

from ptcourse.tools import build, framing
from ptcourse.tools.framing import PROGRESS_ID, SETUP_ID
from ptcourse.tools.repo import NOTEBOOKS, SOLUTIONS, lessons

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


def lesson_cells(nb):
    """The cells of a built notebook other than the setup and progress cells the builder adds."""
    return [c for c in nb.cells if c.id not in (SETUP_ID, PROGRESS_ID)]


def test_solution_region_becomes_a_stub_naming_the_exercise(tmp_path):
    path = notebook(tmp_path, code(EXERCISE, id="ex"), check_cell())
    student = build.build_notebook(path)
    assert lesson_cells(student)[0].source == (
        "# Exercise 9.1 — add one\n"
        "def add_one(x):\n"
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError('Exercise 9.1 — add one is not done yet')"
    )
    namespace = {}
    exec(lesson_cells(student)[0].source, namespace)
    with pytest.raises(NotImplementedError, match="Exercise 9.1"):
        namespace["add_one"](1)


def test_solution_only_cells_are_dropped_and_outputs_cleared(tmp_path):
    shown = code("print(add_one(1))", id="shown")
    shown.outputs = [nbformat.v4.new_output("stream", text="2\n")]
    shown.execution_count = 3
    hidden = code("print('answer')", id="hidden", tags=["solution-only"])
    path = notebook(tmp_path, code(EXERCISE, id="ex"), check_cell(), shown, hidden)
    student = build.build_notebook(path)
    assert [c.id for c in student.cells] == [SETUP_ID, "ex", "check-9-1", "shown", PROGRESS_ID]
    assert all(c.outputs == [] and c.execution_count is None for c in student.cells)


def test_ids_tags_and_points_are_kept_for_the_grader(tmp_path):
    path = notebook(tmp_path, code(EXERCISE, id="ex"), check_cell())
    check = lesson_cells(build.build_notebook(path))[1]
    assert check.id == "check-9-1"
    assert check.metadata["tags"] == ["check"]
    assert check.metadata["course"] == {"exercise": "9.1", "points": 1}


def test_markdown_answer_region(tmp_path):
    cell = nbformat.v4.new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION")
    path = notebook(tmp_path, cell)
    assert build.build_notebook(path).cells[0].source == "Why?\nYOUR ANSWER HERE"  # before the setup cell


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
    assert "09_fixture.ipynb, cell 2 (id bad)" in str(error.value)  # after the setup cell the build adds


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
    for solution in solutions.iterdir():
        solution.write_text(build.framed_text(solution))
    assert build.stale(solutions, notebooks, readme=None) == ["notebooks/02_b.ipynb is missing"]
    (notebooks / "01_a.ipynb").write_text(build.render(solutions / "01_a.ipynb").replace("add_one", "add_two"))
    (notebooks / "03_c.ipynb").write_text("{}")
    assert build.stale(solutions, notebooks, readme=None) == [
        "notebooks/02_b.ipynb is missing",
        "notebooks/03_c.ipynb has no solution notebook",
        "notebooks/01_a.ipynb differs from its build (run: python -m ptcourse.tools.build)",
    ]


def test_student_notebooks_are_exactly_what_the_builder_writes():
    assert lessons(SOLUTIONS), "no solution notebooks found"
    assert build.stale() == [], "run: python -m ptcourse.tools.build"
    assert [p.name for p in lessons(SOLUTIONS)] == [p.name for p in lessons(NOTEBOOKS)]


def test_framing_puts_the_setup_cell_first_and_the_progress_cell_last_once(tmp_path):
    intro = nbformat.v4.new_markdown_cell("# 09 · Fixture")
    intro["id"] = "c0"
    path = notebook(tmp_path, intro, code("import torch", id="setup", tags=["locked"]), code(EXERCISE, id="ex"),
                    check_cell())
    nb = build.framed(path, package="")
    assert [c.id for c in nb.cells] == ["c0", SETUP_ID, "setup", "ex", "check-9-1", PROGRESS_ID]
    assert nb.cells[1].metadata["tags"] == ["locked"] and nb.cells[-1].metadata["tags"] == ["locked"]
    nb.cells[1].outputs, nb.cells[1].execution_count = [], 1  # executed: a current framing cell keeps its run
    assert not framing.frame(nb, package="")
    assert nb.cells[1].execution_count == 1
    assert framing.frame(nb, package="ptcourse @ git+https://example.org/x.git@v1")  # a new source: rewritten
    assert "git+https://example.org/x.git@v1" in nb.cells[1].source and nb.cells[1].execution_count is None


def test_a_stale_solution_is_reported(tmp_path):
    solutions, notebooks = tmp_path / "solutions", tmp_path / "notebooks"
    solutions.mkdir(), notebooks.mkdir()
    notebook(solutions, code(EXERCISE, id="ex"), check_cell(), name="01_a.ipynb")
    (notebooks / "01_a.ipynb").write_text(build.render(solutions / "01_a.ipynb"))
    assert build.stale(solutions, notebooks, readme=None) == [
        "solutions/01_a.ipynb lacks its current setup or progress cell "
        "(run: python -m ptcourse.tools.build, then python -m ptcourse.tools.execute on it)"]


SOURCE = {"repository": "https://github.com/someone/pytorch-basics", "release": "v1.0.0"}


def test_the_source_is_one_setting_for_the_setup_cell_and_the_colab_links():
    assert framing.package_spec({}) == "" and framing.colab_url({}, "notebooks/01_a.ipynb") == ""
    assert framing.package_spec({"repository": SOURCE["repository"]}) == ""  # a repository without a tag
    assert framing.package_spec(SOURCE) == "ptcourse @ git+https://github.com/someone/pytorch-basics.git@v1.0.0"
    assert framing.colab_url(SOURCE, "notebooks/01_a.ipynb") == (
        "https://colab.research.google.com/github/someone/pytorch-basics/blob/v1.0.0/notebooks/01_a.ipynb")


def test_readme_rows_get_a_colab_badge_only_while_the_source_is_set(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    row = "| 01 | [Title](notebooks/01_a.ipynb) | what | 45 min |"
    readme.write_text(f"text\n{row}\n")
    monkeypatch.setattr(framing, "settings", lambda path: SOURCE)
    badged = build.readme_text(readme)
    assert "[![Open in Colab]" in badged and "blob/v1.0.0/notebooks/01_a.ipynb) | what | 45 min |" in badged
    readme.write_text(badged)
    monkeypatch.setattr(framing, "settings", lambda path: {})
    assert build.readme_text(readme) == f"text\n{row}\n"


def test_the_setup_cell_imports_the_installed_package_and_prints_nothing(capsys):
    out = {}
    exec(framing.setup_source(""), out)
    assert out["ptcourse"].language() == "en"
    assert capsys.readouterr() == ("", "")


def test_the_grader_fixtures_are_framed_like_every_lesson():
    """The grader's fixture lessons carry the current setup and progress cells (its Colab-shaped cases match
    cells by content, so a stale setup cell would read as an edited one)."""
    fixtures = SOLUTIONS.parent / "tests" / "fixtures" / "grading" / "solutions"
    for path in sorted(fixtures.glob("*.ipynb")):
        assert not framing.frame(nbformat.read(path, as_version=4), package=""), f"re-frame {path.name}"
