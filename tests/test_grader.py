"""The grader (docs/grading.md) on its fixture lesson: every status, fault and tampering trick as one batch.

`tests/fixtures/grading/solutions/99_tiny.ipynb` is a three-exercise lesson whose checks
(`tests/fixtures/grading/tinychecks/`) run in milliseconds; each "student" below is one submission
built from it, graded together in one parallel batch so the whole file costs seconds.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import psutil
import pytest

from ptcourse.tools.build import render
from ptcourse.tools.grade import main as grade_cli
from ptcourse.tools.grading import Limits, Options, grade_folder
from ptcourse.tools.grading import batch
from ptcourse.tools.grading.gradebook import TOTAL, write
from ptcourse.tools.grading.kernel import KEPT_CHARS

FIXTURES = Path(__file__).parent / "fixtures" / "grading"
SOLUTION = FIXTURES / "solutions" / "99_tiny.ipynb"
NAME = SOLUTION.name
LIMITS = Limits(cell_timeout=2.5, notebook_timeout=6, memory_bytes=400 * 2**20, output_bytes=2 * 2**20)
OPTIONS = Options(LIMITS, check_packages=("tinychecks",), python_path=(str(FIXTURES),))
ALL = ("99.1", "99.2", "99.3")


def solution() -> dict:
    return json.loads(SOLUTION.read_text(encoding="utf-8"))


def release() -> dict:
    return json.loads(render(SOLUTION))


def cell(nb: dict, cell_id: str) -> dict:
    return next(c for c in nb["cells"] if c["id"] == cell_id)


def source(nb: dict, cell_id: str) -> str:
    return "".join(cell(nb, cell_id)["source"])


def with_source(nb: dict, cell_id: str, text: str) -> dict:
    cell(nb, cell_id)["source"] = text
    return nb


def appended(nb: dict, cell_id: str, text: str) -> dict:
    return with_source(nb, cell_id, source(nb, cell_id) + "\n" + text)


def inserted(nb: dict, after: str, text: str, new_id: str = "student-cell") -> dict:
    index = nb["cells"].index(cell(nb, after))
    nb["cells"].insert(index + 1, {"cell_type": "code", "id": new_id, "metadata": {}, "source": text,
                                   "outputs": [], "execution_count": None})
    return nb


def without(nb: dict, cell_id: str) -> dict:
    nb["cells"].remove(cell(nb, cell_id))
    return nb


def swapped(nb: dict, a: str, b: str) -> dict:
    i, j = nb["cells"].index(cell(nb, a)), nb["cells"].index(cell(nb, b))
    nb["cells"][i], nb["cells"][j] = nb["cells"][j], nb["cells"][i]
    return nb


def duplicated(nb: dict, cell_id: str) -> dict:
    nb["cells"].append(dict(cell(nb, cell_id)))
    return nb


def without_ids(nb: dict) -> dict:
    nb["nbformat_minor"] = 4
    for c in nb["cells"]:
        del c["id"]
    return nb


def to_text(nb: dict) -> str:
    return json.dumps(nb, indent=1)


PATCH_EVERY_CHECK = """\
for name in ("double", "mean", "counter"):
    setattr(check, name, lambda *a, **k: print("✔ Exercise 99.1 passed: trust me"))
"""
PATCH_CORE = """\
import tinychecks._core as core
core.expect = lambda *a, **k: None
core.fail = lambda *a, **k: None
"""
PATCH_WITH_BUILTINS = """\
import tinychecks._core as core
check.mean = print          # builtins, not notebook code: only the fresh import of the checks stops these
core.expect = max
"""
REBIND_CHECK = """\
import types
check = types.SimpleNamespace(double=print, mean=print, counter=print)
"""
TRY_EXCEPT_STUB = """\
# Exercise 99.1 — double
def double(x):
    try:
        raise NotImplementedError("Exercise 99.1 — double is not done yet")
    except NotImplementedError:
        print("✔ Exercise 99.1 passed: double(x) == 2 * x for 6 integers")
"""
PRINT_VERDICTS = """\
for n in ("99.1", "99.2", "99.3"):
    print(f"✔ Exercise {n} passed: trust me")
("0" * 32, "99.1", "passed")
"""
LEAVE_WORKERS = """\
import multiprocessing, subprocess, sys, time
worker = multiprocessing.Process(target=time.sleep, args=(600,))
worker.start()
loner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
print(worker.pid, loner.pid)
"""

# student -> (the file's text, or None for no file, {exercise: expected status}, a word the detail must contain)
CASES = {
    "solution": (lambda: to_text(solution()), dict.fromkeys(ALL, "passed"), {}),
    "release": (lambda: to_text(release()), dict.fromkeys(ALL, "not attempted"), {"99.1": "not done yet"}),
    "wrong-answer": (lambda: to_text(with_source(solution(), "ex-99-2", "def mean(xs):\n    return sum(xs)")),
                     {"99.1": "passed", "99.2": "failed", "99.3": "passed"}, {"99.2": "expected"}),
    "syntax-error": (lambda: to_text(with_source(solution(), "ex-99-1", "def double(x) return x + x")),
                     {"99.1": "error", "99.2": "passed", "99.3": "passed"}, {"99.1": "SyntaxError"}),
    "check-edited": (lambda: to_text(with_source(solution(), "check-99-1", 'print("✔ Exercise 99.1 passed: x")')),
                     {"99.1": "tampered", "99.2": "passed", "99.3": "passed"}, {"99.1": "edited"}),
    "check-deleted": (lambda: to_text(without(release(), "check-99-2")),
                      {"99.1": "not attempted", "99.2": "tampered", "99.3": "not attempted"}, {"99.2": "deleted"}),
    "check-function-replaced": (lambda: to_text(inserted(release(), "setup", PATCH_EVERY_CHECK)),
                                dict.fromkeys(ALL, "tampered"), {"99.1": "tinychecks.lesson99.double"}),
    "core-patched": (lambda: to_text(inserted(with_source(solution(), "ex-99-1", "def double(x):\n    return 0"),
                                              "setup", PATCH_CORE)),
                     dict.fromkeys(ALL, "tampered"), {"99.1": "tinychecks._core.expect"}),
    "check-patched-unseen": (lambda: to_text(inserted(with_source(solution(), "ex-99-1", "def double(x):\n    return 0"),
                                                      "setup", PATCH_WITH_BUILTINS)),
                             {"99.1": "failed", "99.2": "passed", "99.3": "passed"}, {}),
    "check-name-rebound": (lambda: to_text(inserted(release(), "setup", REBIND_CHECK)),
                           dict.fromkeys(ALL, "not attempted"), {}),
    "try-except-stub": (lambda: to_text(with_source(release(), "ex-99-1", TRY_EXCEPT_STUB)),
                        {"99.1": "failed", "99.2": "not attempted", "99.3": "not attempted"}, {}),
    "printed-verdicts": (lambda: to_text(inserted(release(), "setup", PRINT_VERDICTS)),
                         dict.fromkeys(ALL, "not attempted"), {}),
    "library-patched": (lambda: to_text(inserted(with_source(solution(), "ex-99-2", "def mean(xs):\n    return 0"),
                                                 "ex-99-2", "import math\nmath.isclose = lambda *a, **k: True")),
                        {"99.1": "passed", "99.2": "tampered", "99.3": "tampered"}, {"99.2": "math.isclose"}),
    "infinite-loop": (lambda: to_text(appended(solution(), "ex-99-1", "while True:\n    pass")),
                      dict.fromkeys(ALL, "timeout"), {"99.1": "cell timeout", "99.3": "ex-99-1"}),
    "slow": (lambda: to_text(appended(appended(appended(appended(solution(), "l99-02", "import time; time.sleep(1.6)"),
                                                        "ex-99-1", "time.sleep(1.6)"), "ex-99-2", "time.sleep(1.6)"),
                                      "ex-99-3", "time.sleep(1.6)")),
             {"99.1": "passed", "99.2": "passed", "99.3": "timeout"}, {"99.3": "budget"}),
    "exit": (lambda: to_text(appended(solution(), "ex-99-2", "import os; os._exit(1)")),
             {"99.1": "passed", "99.2": "kernel died", "99.3": "kernel died"}, {"99.2": "code 1"}),
    "segfault": (lambda: to_text(appended(solution(), "ex-99-1", "import ctypes; ctypes.string_at(0)")),
                 dict.fromkeys(ALL, "kernel died"), {"99.1": "SIGSEGV"}),
    "memory": (lambda: to_text(appended(solution(), "ex-99-1",
                                        "ballast = b'x' * (600 * 2**20)\nimport time; time.sleep(2)")),
               dict.fromkeys(ALL, "kernel died"), {"99.1": "memory"}),
    "output-flood": (lambda: to_text(appended(solution(), "ex-99-1",
                                              "import sys\nfor _ in range(50):\n    sys.stdout.write('x' * 2**20)")),
                     dict.fromkeys(ALL, "output limit"), {"99.1": "MB"}),
    "workers-left": (lambda: to_text(appended(inserted(solution(), "setup", LEAVE_WORKERS),
                                              "ex-99-3", "import os; os._exit(1)")),
                     {"99.1": "passed", "99.2": "passed", "99.3": "kernel died"}, {}),
    "setup-deleted": (lambda: to_text(without(solution(), "setup")), dict.fromkeys(ALL, "passed"), {}),
    "setup-edited": (lambda: to_text(with_source(solution(), "setup", "check = None")), dict.fromkeys(ALL, "passed"), {}),
    "invalid-json": (lambda: to_text(solution())[:200], dict.fromkeys(ALL, "unreadable notebook"), {"99.1": "JSON"}),
    "empty-file": (lambda: "", dict.fromkeys(ALL, "unreadable notebook"), {"99.1": "empty"}),
    "nbformat-3": (lambda: json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}),
                   dict.fromkeys(ALL, "unreadable notebook"), {"99.1": "nbformat 3"}),
    "no-cell-ids": (lambda: to_text(without_ids(solution())), dict.fromkeys(ALL, "unreadable notebook"), {"99.1": "4.4"}),
    "reordered": (lambda: to_text(swapped(solution(), "ex-99-1", "ex-99-2")),
                  dict.fromkeys(ALL, "unreadable notebook"), {"99.1": "out of order"}),
    "duplicate-ids": (lambda: to_text(duplicated(solution(), "ex-99-1")),
                      dict.fromkeys(ALL, "unreadable notebook"), {"99.1": "same id"}),
    "missing": (None, dict.fromkeys(ALL, "missing notebook"), {}),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every case above, graded in one batch against a release built from the fixture solution."""
    root = tmp_path_factory.mktemp("grading")
    (root / "release").mkdir()
    (root / "release" / NAME).write_text(render(SOLUTION), encoding="utf-8")
    for student, (text, _, _) in CASES.items():
        folder = root / "submissions" / student
        folder.mkdir(parents=True)
        if text is None:
            (folder / "99_tiny (1).ipynb").write_text(to_text(solution()), encoding="utf-8")
        else:
            (folder / NAME).write_text(text(), encoding="utf-8")
    book = grade_folder(root / "submissions", root / "release", workers=3, options=OPTIONS)
    return book, root


@pytest.mark.parametrize("student", CASES)
def test_each_case_gets_its_status(graded, student):
    book, _ = graded
    rows = {r.exercise: r for r in book.report(student, NAME).rows}
    _, statuses, words = CASES[student]
    assert {n: r.status for n, r in rows.items()} == statuses, {n: r.detail for n, r in rows.items()}
    for exercise, word in words.items():
        assert word in rows[exercise].detail
    for r in rows.values():
        assert r.points == (r.max_points if r.status == "passed" else 0)


def test_points_come_from_the_solution_metadata(graded):
    book, _ = graded
    rows = book.report("solution", NAME).rows
    assert [(r.exercise, r.max_points) for r in rows] == [("99.1", 1), ("99.2", 2), ("99.3", 1)]
    assert book.totals()["solution"] == (4, 4)


# student -> the exercises a trick aims at (each would pass under a naive grader): none may earn a point
TRICKS = {
    "check-edited": ["99.1"], "check-deleted": ["99.2"], "check-function-replaced": ALL, "core-patched": ALL,
    "check-patched-unseen": ["99.1"], "check-name-rebound": ALL, "try-except-stub": ["99.1"],
    "printed-verdicts": ALL, "library-patched": ["99.2"],
    "infinite-loop": ["99.2", "99.3"],  # right answers after a timeout: nbval would report them XPASS
}


@pytest.mark.parametrize("student", TRICKS)
def test_no_free_points(graded, student):
    book, _ = graded
    rows = {r.exercise: r for r in book.report(student, NAME).rows}
    assert [(n, rows[n].status) for n in TRICKS[student] if rows[n].points] == []


def test_a_dead_kernel_is_noticed_at_once(graded):
    book, _ = graded
    died = next(c for c in book.report("exit", NAME).cells if c.status == "died")
    assert died.cell_id == "ex-99-2" and died.seconds < LIMITS.cell_timeout / 2


def test_output_is_capped_while_collecting(graded):
    book, _ = graded
    flooded = next(c for c in book.report("output-flood", NAME).cells if c.status == "output limit")
    assert 0 < len(flooded.stdout) <= KEPT_CHARS


def test_worker_processes_are_cleaned_up(graded):
    book, _ = graded
    started = next(c for c in book.report("workers-left", NAME).cells if c.cell_id == "student-cell")
    pids = [int(pid) for pid in started.stdout.split()]
    assert len(pids) == 2
    alive = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert not alive


def test_warnings_and_stderr_cost_nothing(graded):
    book, _ = graded
    lesson_cell = next(c for c in book.report("solution", NAME).cells if c.cell_id == "l99-02")
    assert lesson_cell.status == "ok"  # it printed to stderr and warned; every check still passed
    assert book.totals()["solution"] == (4, 4)


def test_restored_setup_cells_are_noted(graded):
    book, _ = graded
    assert "locked cell 'setup' was deleted" in book.report("setup-deleted", NAME).notes[0]
    assert "locked cell 'setup' was edited" in book.report("setup-edited", NAME).notes[0]


def test_gradebook_csv_and_feedback(graded, tmp_path):
    book, _ = graded
    csv_path = write(book, tmp_path)
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert list(rows[0]) == ["student", "notebook", "exercise", "points", "max_points", "status", "detail"]
    assert len(rows) == len(CASES) * (len(ALL) + 1)
    totals = {r["student"]: (r["points"], r["max_points"]) for r in rows if r["exercise"] == TOTAL}
    assert totals["solution"] == ("4", "4") and totals["slow"] == ("3", "4") and totals["release"] == ("0", "4")
    feedback = (tmp_path / "feedback" / "wrong-answer.md").read_text(encoding="utf-8")
    assert "> Exercise 99.2: mean([1, 2, 3, 4])" in feedback and "hint:" in feedback
    missing = (tmp_path / "feedback" / "missing.md").read_text(encoding="utf-8")
    assert "ignored 99_tiny (1).ipynb" in missing and "missing notebook" in missing


def test_the_command_line(tmp_path):
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / NAME).write_text(render(SOLUTION), encoding="utf-8")
    (tmp_path / "in" / "ada").mkdir(parents=True)
    (tmp_path / "in" / "ada" / NAME).write_text(to_text(solution()), encoding="utf-8")
    (tmp_path / "in" / "bob").mkdir()
    code = grade_cli([str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--release", str(tmp_path / "release"),
                      "--check-package", "tinychecks", "--python-path", str(FIXTURES), "--workers", "1", "--only", "99"])
    assert code == 0
    rows = list(csv.DictReader((tmp_path / "out" / "gradebook.csv").open(encoding="utf-8")))
    assert [(r["student"], r["exercise"], r["status"]) for r in rows if r["exercise"] in ("99.2", TOTAL)] == [
        ("ada", "99.2", "passed"), ("ada", TOTAL, ""), ("bob", "99.2", "missing notebook"), ("bob", TOTAL, "")]


@pytest.mark.parametrize("command, status, word", [
    (["-c", "import sys; print('grader bug', file=sys.stderr); sys.exit(3)"], "error", "grader bug"),
    (["-c", "import time; time.sleep(60)"], "timeout", "stopped"),
])
def test_a_failing_worker_still_gives_rows(tmp_path, monkeypatch, command, status, word):
    """Even the grader's own worker process crashing or hanging ends in rows, not a crashed batch."""
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / NAME).write_text(render(SOLUTION), encoding="utf-8")
    (tmp_path / "in" / "ada").mkdir(parents=True)
    (tmp_path / "in" / "ada" / NAME).write_text(to_text(solution()), encoding="utf-8")
    monkeypatch.setattr(batch, "WORKER", command)
    monkeypatch.setattr(batch, "WORKER_GRACE_S", 1)
    options = Options(Limits(notebook_timeout=1), check_packages=("tinychecks",), python_path=(str(FIXTURES),))
    book = grade_folder(tmp_path / "in", tmp_path / "release", workers=1, options=options)
    assert {(r.status, word in r.detail) for r in book.rows} == {(status, True)}
