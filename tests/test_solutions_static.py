"""Facts about the stored solution notebooks (English and every edition) that nbval itself does not check."""
from __future__ import annotations

import nbformat
import pytest

from ptcourse.tools.build import has_solution
from ptcourse.tools.conventions import CHECK, GPU, RAISES, tags
from ptcourse.checks._core import PASS_MARK
from ptcourse.tools.repo import REPO, SOLUTIONS, lessons
from ptcourse.tools.translate import EDITIONS, edition_folders

SOLUTION_NOTEBOOKS = lessons(SOLUTIONS)
EVERY_EDITION = SOLUTION_NOTEBOOKS + [p for language in EDITIONS for p in lessons(edition_folders(language)[0])]


def name(path):
    return path.relative_to(REPO).as_posix()


def read(path):
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("path", EVERY_EDITION, ids=name)
def test_every_code_cell_was_executed(path):
    """Strict nbval compares only cells with an execution count: an unexecuted cell would be unchecked."""
    missing = [c.id for c in read(path).cells if c.cell_type == "code" and c.source.strip() and c.execution_count is None]
    assert not missing, f"run: python -m ptcourse.tools.execute {name(path)} (cells {missing})"


@pytest.mark.parametrize("path", EVERY_EDITION, ids=name)
def test_no_cell_fails_on_purpose(path):
    """Run All must reach the last cell in every editor, and Colab ignores `raises-exception`: a lesson
    shows an error with `ptcourse.lessons.display.show_error`, which prints it, and no cell raises."""
    cells = read(path).cells
    tagged = [c.id for c in cells if RAISES in tags(c)]
    raised = [c.id for c in cells if any(o.output_type == "error" for o in c.get("outputs", []))]
    assert not tagged and not raised, f"tagged raises-exception: {tagged}; stored errors: {raised}"


@pytest.mark.parametrize("path", EVERY_EDITION, ids=name)
def test_every_check_passes_in_the_solution_and_prints_its_line(path):
    cells = read(path).cells
    for cell in cells:
        if CHECK in tags(cell):
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            exercise = cell.metadata["course"]["exercise"]
            assert text.startswith(PASS_MARK) and f" {exercise} " in text.splitlines()[0], f"check cell {cell.id} did not pass"


@pytest.mark.parametrize("path", SOLUTION_NOTEBOOKS, ids=lambda p: p.name)
def test_lesson_has_title_setup_exercises_and_recap(path):
    cells = read(path).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith(f"# {path.name[:2]} · ")
    first_code = next(c for c in cells if c.cell_type == "code")
    assert "locked" in tags(first_code), "the setup cell (first code cell) must be tagged locked"
    assert sum(CHECK in tags(c) for c in cells) >= 2, "a lesson has at least two exercises with checks"
    assert any(c.cell_type == "code" and has_solution(c) for c in cells)
    assert any(c.cell_type == "markdown" and "## Recap" in c.source for c in cells[-3:]), "end with a ## Recap"


@pytest.mark.parametrize("path", EVERY_EDITION, ids=name)
def test_gpu_cells_print_a_message_not_a_traceback_on_cpu(path):
    """The solutions are executed on a CPU machine: a student without CUDA must get one line, not an error."""
    for cell in read(path).cells:
        if GPU in tags(cell):
            assert not any(o.output_type == "error" for o in cell.outputs), f"gpu cell {cell.id} raised on CPU"
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert len(text.strip().splitlines()) == 1, f"gpu cell {cell.id} should print one line on CPU: {text!r}"
