"""The grader on the real lessons: the solutions earn full marks, the release earns nothing.

One batch (two workers) runs every lesson's solution and release once; the release's run also proves
that every check cell fails on the stub while no other cell errors (except `raises-exception` cells):
this is the suite's test of the student notebooks as released (they equal `render(solution)`, which
tests/test_build.py checks).
A third "student" attacks lesson 01's checks and `ptcourse.checks._core` from a notebook cell. With --heavy,
two more: one hides a replaced `torch.allclose` behind `functools.wraps` (with a wrong `MyLinear`), one
rewrites the check module's file on disk, which must not change anyone's grade but its own.
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
LESSON01 = next((p for p in LESSONS if p.name.startswith("01_")), None)  # the attacks aim at its MyLinear check
# Grading every real lesson twice takes minutes: a heavy suite (CI runs it; the fixture lessons of
# tests/test_grader.py exercise the same grader in the default suite).
pytestmark = [pytest.mark.heavy, pytest.mark.skipif(LESSON01 is None, reason="no lesson 01 yet")]

ATTACK = """\
import ptcourse.checks._core as core
for name in dir(check):
    if not name.startswith("_") and callable(getattr(check, name)):
        setattr(check, name, lambda *a, **k: print("✔ Exercise passed"))
core.expect = lambda *a, **k: None
core.fail = lambda *a, **k: None
core.close = lambda *a, **k: True
"""


WRAPPED = """\
import functools

@functools.wraps(torch.allclose)
def allclose(*args, **kwargs):
    return True

torch.allclose = allclose

class AlwaysEqual(torch.Tensor):
    def __eq__(self, other):
        return True
"""
WRONG_MY_LINEAR = """\
# Exercise 1.1 — MyLinear
class MyLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x):
        return x @ self.weight.T  # forgets the bias
"""
REWRITE = """\
with open(check.__file__, "a") as f:
    f.write("\\n\\ndef my_linear(MyLinear):\\n    passed('1.1', 'rewritten on disk')\\n")
"""


def attacked_release(solution, attack_source: str = ATTACK, exercise_1_1: str | None = None) -> str:
    """The released notebook cut to its setup, exercise and check cells, with the attack after the setup."""
    nb = nbformat.reads(render(solution), as_version=4)
    kept = [c for c in nb.cells if c.cell_type == "code" and ({LOCKED, CHECK} & set(tags(c)) or exercise_title(c))]
    for c in kept:
        if exercise_1_1 is not None and c.id == "ex-1-1":
            c.source = exercise_1_1
    attack = nbformat.v4.new_code_cell(attack_source)
    attack.id = "attack"
    setup = [i for i, c in enumerate(kept) if LOCKED in tags(c)][1]  # the lesson's setup, after the course's
    nb.cells = kept[:setup + 1] + [attack] + kept[setup + 1:]
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
    (root / "in" / "attacker" / LESSON01.name).write_text(attacked_release(LESSON01), encoding="utf-8")
    book = grade_folder(root / "in", release, workers=2, options=Options())
    return book, {p.name: Release.load(p, CHECK_PACKAGES) for p in lessons(release)}


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    """Two more attacks on lesson 01, and its untouched release graded after them (heavy: three kernels)."""
    root = tmp_path_factory.mktemp("attacks")
    (root / "release").mkdir()
    (root / "release" / LESSON01.name).write_text(render(LESSON01), encoding="utf-8")
    attacks = {"rewriter": attacked_release(LESSON01, REWRITE),
               "wrapper": attacked_release(LESSON01, WRAPPED, WRONG_MY_LINEAR),
               "zed-release": render(LESSON01)}
    for student, text in attacks.items():
        (root / "in" / student).mkdir(parents=True)
        (root / "in" / student / LESSON01.name).write_text(text, encoding="utf-8")
    return grade_folder(root / "in", root / "release", workers=2, options=Options())


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
    rows = book.report("attacker", LESSON01.name).rows
    assert rows and all(r.status == "tampered" and r.points == 0 for r in rows), [(r.status, r.detail) for r in rows]
    assert "ptcourse.checks._core.expect" in rows[0].detail
    assert all("touches the check package" in r.flag for r in rows)


@pytest.mark.heavy
def test_a_wrapped_library_function_is_still_a_replacement(attacked):
    """functools.wraps copies __module__, __name__ and __doc__, not the code object (issue #13, item 2)."""
    book = attacked
    rows = {r.exercise: r for r in book.report("wrapper", LESSON01.name).rows}
    assert all(r.status == "tampered" and r.points == 0 for r in rows.values()), [(r.status, r.detail) for r in rows.values()]
    assert "torch.allclose" in rows["1.1"].detail
    assert all("class AlwaysEqual: __eq__" in r.flag for r in rows.values())


@pytest.mark.heavy
def test_rewriting_the_checks_on_disk_changes_no_other_grade(attacked):
    """The rewriter changed its (private) copy of the check module: caught and marked; the untouched release
    graded after it still earns nothing (issue #13, item 1)."""
    book = attacked
    rows = book.report("rewriter", LESSON01.name).rows
    assert all(r.status == "tampered" and r.points == 0 for r in rows), [(r.status, r.detail) for r in rows]
    assert "ptcourse/checks/lesson01.py" in rows[0].detail
    assert all(r.status == "not attempted" for r in book.report("zed-release", LESSON01.name).rows)
    assert not book.changed_files  # the originals were never touched


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_every_check_cell_uses_a_name_the_grader_rebinds(lesson):
    """The grader binds `check` to a fresh import only if the lesson imports it from ptcourse.checks."""
    release = Release.load(lesson, CHECK_PACKAGES)  # a solution has the release's imports and check cells
    checks = {e.check_id for e in release.exercises}
    for cell in release.cells:
        if cell["id"] in checks:
            name = cell["source"].split(".")[0].strip()
            assert name in release.check_names, f"{cell['id']}: {cell['source']!r}"
