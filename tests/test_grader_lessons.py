"""The grader on the real lessons: the solutions earn full marks, the release earns nothing.

One batch (two workers) runs every lesson's solution and release once; the release's run also proves
that every check cell fails on the stub while no other cell errors (except `raises-exception` cells):
this is the suite's test of the student notebooks as released (they equal `render(solution)`, which
tests/test_build.py checks).
A third "student" attacks the first lesson's checks and `ptcourse.checks._core` from a notebook cell.
"""
from __future__ import annotations

import shutil

import nbformat
import pytest

from ptcourse.tools.build import exercise_title, render
from ptcourse.tools.conventions import CHECK, LOCKED, RAISES, tags
from ptcourse.tools.grading import Options, Release, grade_folder
from ptcourse.tools.grading.release import CHECK_PACKAGES
from ptcourse.tools.repo import SOLUTIONS, lessons

LESSONS = lessons(SOLUTIONS)
pytestmark = pytest.mark.skipif(not LESSONS, reason="no lessons yet")

ATTACK = """\
import ptcourse.checks._core as core
for name in dir(check):
    if not name.startswith("_") and callable(getattr(check, name)):
        setattr(check, name, lambda *a, **k: print("✔ Exercise passed"))
core.expect = lambda *a, **k: None
core.fail = lambda *a, **k: None
core.close = lambda *a, **k: True
"""


def attacked_release(solution) -> str:
    """The released notebook cut to its setup, exercise and check cells, with the attack after the setup
    cells (the generated course setup, then the lesson's own, which binds `check`)."""
    nb = nbformat.reads(render(solution), as_version=4)
    kept = [c for c in nb.cells if c.cell_type == "code" and ({LOCKED, CHECK} & set(tags(c)) or exercise_title(c))]
    attack = nbformat.v4.new_code_cell(ATTACK)
    attack.id = "attack"
    setup = next(i for i, cell in enumerate(kept) if LOCKED not in tags(cell))
    nb.cells = kept[:setup] + [attack] + kept[setup:]
    return nbformat.writes(nb)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("lessons")
    release = root / "release"
    release.mkdir()
    for solution in LESSONS:  # the release as the builder writes it now (notebooks/ may be stale mid-edit)
        (release / solution.name).write_text(render(solution), encoding="utf-8")
    for student, source in (("solutions", SOLUTIONS), ("release", release)):
        (root / "in" / student).mkdir(parents=True)
        for notebook in lessons(source):
            shutil.copy(notebook, root / "in" / student / notebook.name)
    (root / "in" / "attacker").mkdir()
    (root / "in" / "attacker" / LESSONS[0].name).write_text(attacked_release(LESSONS[0]), encoding="utf-8")
    book = grade_folder(root / "in", release, workers=2, options=Options())
    return book, {p.name: Release.load(p, CHECK_PACKAGES) for p in lessons(release)}


@pytest.mark.parametrize("lesson", [p.name for p in LESSONS])
def test_the_solution_earns_full_marks(graded, lesson):
    book, _ = graded
    rows = book.report("solutions", lesson).rows
    assert rows and all(r.status == "passed" and r.points == r.max_points for r in rows), [
        (r.exercise, r.status, r.detail) for r in rows]


@pytest.mark.parametrize("lesson", [p.name for p in LESSONS])
def test_the_release_earns_nothing_and_runs_clean(graded, lesson):
    """Every check fails as "not attempted"; no other cell errors unless it is tagged raises-exception."""
    book, releases = graded
    report = book.report("release", lesson)
    assert all(r.status == "not attempted" and r.points == 0 for r in report.rows), [
        (r.exercise, r.status, r.detail) for r in report.rows]
    cells = {c["id"]: c for c in releases[lesson].cells}
    checks = {e.check_id for e in releases[lesson].exercises}
    unexpected = [(c.cell_id, c.status, c.ename, c.evalue) for c in report.cells
                  if (c.status == "error") != (c.cell_id in checks or RAISES in tags(cells[c.cell_id]))
                  and c.status != "skipped"]
    assert not unexpected


def test_patching_the_checks_earns_nothing(graded):
    book, _ = graded
    rows = book.report("attacker", LESSONS[0].name).rows
    assert rows and all(r.status == "tampered" and r.points == 0 for r in rows), [(r.status, r.detail) for r in rows]
    assert "ptcourse.checks._core.expect" in rows[0].detail


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_every_check_cell_uses_a_name_the_grader_rebinds(lesson):
    """The grader binds `check` to a fresh import only if the lesson imports it from ptcourse.checks."""
    release = Release.load(lesson, CHECK_PACKAGES)  # a solution has the release's imports and check cells
    checks = {e.check_id for e in release.exercises}
    for cell in release.cells:
        if cell["id"] in checks:
            name = cell["source"].split(".")[0].strip()
            assert name in release.check_names, f"{cell['id']}: {cell['source']!r}"
