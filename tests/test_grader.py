"""The grader (docs/grading.md) on its fixture lesson: every status, fault and trick as one batch.

`tests/fixtures/grading/solutions/99_tiny.ipynb` is a three-exercise lesson whose checks
(`tests/fixtures/grading/tinychecks/`) run in milliseconds; each "student" below is one submission
built from it, graded together in one parallel batch so the whole file costs about a minute. The
check package is graded from a temporary copy, which one student rewrites on disk.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import psutil
import pytest

from ptcourse.tools.build import render
from ptcourse.tools.grade import main as grade_cli
from ptcourse.tools.grading import Limits, Options, grade_folder
from ptcourse.tools.grading import batch
from ptcourse.tools.grading.gradebook import TOTAL, write
from ptcourse.tools.grading.kernel import KEPT_CHARS, CellResult, _keep_stdout

FIXTURES = Path(__file__).parent / "fixtures" / "grading"
SOLUTION = FIXTURES / "solutions" / "99_tiny.ipynb"
NAME = SOLUTION.name
LIMITS = Limits(cell_timeout=4, notebook_timeout=10, memory_bytes=800 * 2**20, output_bytes=2 * 2**20)
ALL = ("99.1", "99.2", "99.3")


def solution() -> dict:
    return json.loads(SOLUTION.read_text(encoding="utf-8"))


def release() -> dict:
    return json.loads(render(SOLUTION))


def cell(nb: dict, cell_id: str) -> dict:
    return next(c for c in nb["cells"] if c.get("id") == cell_id)


def source(nb: dict, cell_id: str) -> str:
    return "".join(cell(nb, cell_id)["source"])


def with_source(nb: dict, cell_id: str, text: str) -> dict:
    cell(nb, cell_id)["source"] = text
    return nb


def appended(nb: dict, cell_id: str, text: str) -> dict:
    return with_source(nb, cell_id, source(nb, cell_id) + "\n" + text)


def inserted(nb: dict, after: str, text: str, new_id: str | None = "student-cell") -> dict:
    index = nb["cells"].index(cell(nb, after))
    new = {"cell_type": "code", "metadata": {}, "source": text, "outputs": [], "execution_count": None}
    if new_id is not None:
        new["id"] = new_id
    nb["cells"].insert(index + 1, new)
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


def to_text(nb: dict) -> str:
    return json.dumps(nb, indent=1)


def jupyter_4_4(nb: dict, keep_ids: bool = False) -> str:
    """As an older Jupyter (or an editor that writes nbformat 4.4) saves it: no cell ids, one-space indent."""
    nb["nbformat_minor"] = 4
    for c in nb["cells"]:
        if not keep_ids:
            c.pop("id", None)
        c["source"] = "".join(c["source"]).splitlines(keepends=True)
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def colab(nb: dict) -> str:
    """As Google Colab saves it: nbformat 4.0, Colab's own ids in each cell's metadata, no cell ids and no
    tags, sources as lists of lines, two-space indent, the cells last."""
    cells = []
    for index, c in enumerate(nb["cells"]):
        new = {"cell_type": c["cell_type"], "metadata": {"id": f"Xq{index:02d}bC7dLm9Z"},
               "source": "".join(c["source"]).splitlines(keepends=True)}
        if c["cell_type"] == "code":
            new["metadata"].update({"colab": {"base_uri": "https://localhost:8080/"}, "outputId": f"{index:04x}-aa"})
            new["execution_count"] = None
            new["outputs"] = []
        cells.append(new)
    return json.dumps({"nbformat": 4, "nbformat_minor": 0,
                       "metadata": {"colab": {"name": NAME, "provenance": []},
                                    "kernelspec": {"name": "python3", "display_name": "Python 3"},
                                    "language_info": {"name": "python"}},
                       "cells": cells}, indent=2, ensure_ascii=False)


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
("0" * 32, "99.1", "passed", "✔ Exercise 99.1 passed: trust me")
"""
LEAVE_WORKERS = """\
import multiprocessing, subprocess, sys, time
worker = multiprocessing.Process(target=time.sleep, args=(600,))
worker.start()
loner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
print(worker.pid, loner.pid)
"""
# The tricks that forged passes before (issue #13): each must earn nothing, or at least be flagged.
WRAPS = """\
import functools, math

@functools.wraps(math.isclose)
def isclose(*args, **kwargs):
    return True

math.isclose = isclose
"""
FORGE = r"""
import re

def forged(code):
    found = re.search(r"'(\d+\.\d+)', '([0-9a-f]{32})'", code)
    return f"({found.group(2)!r}, {found.group(1)!r}, 'passed', '')\n" if found else code
"""
INPUT_TRANSFORMER = FORGE + """
get_ipython().input_transformers_post.append(lambda lines: forged("".join(lines)).splitlines(keepends=True))
"""
RUN_CELL = FORGE + """
shell = get_ipython()
real_run_cell = shell.run_cell
shell.run_cell = lambda cell, *args, **kwargs: real_run_cell(forged(cell), *args, **kwargs)
"""
RUN_CELL_ASYNC = FORGE + """
shell = get_ipython()
real_run_cell_async = shell.run_cell_async

async def run_cell_async(cell, *args, **kwargs):
    kwargs["transformed_cell"] = forged(kwargs.get("transformed_cell") or cell)
    return await real_run_cell_async(forged(cell), *args, **kwargs)

shell.run_cell_async = run_cell_async
"""
RUNPY = """\
import runpy; runpy.run_path = lambda *a, **k: {"run_check": lambda ns, src, name, ex, nonce, *rest: (nonce, ex, "passed", ""), "record": lambda: None}
"""
RUNPY_PRINTING = """\
import runpy

def run_check(ns, src, name, ex, nonce, *rest):
    line = f"✔ Exercise {ex} passed: forged"
    print(line)
    return (nonce, ex, "passed", line)

runpy.run_path = lambda *a, **k: {"run_check": run_check, "record": lambda: None}
"""
SETTRACE = """\
import ctypes, sys

def rewrite_expect(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "expect":
        frame.f_locals["condition"] = True
        ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))
    return None

sys.settrace(rewrite_expect)
"""
EQUAL_TO_ANYTHING = """\
# Exercise 99.1 — double
class Anything(int):  # lesson 01's attacker in test_grader_lessons.py does this with a torch.Tensor subclass
    def __eq__(self, other):
        return True

def double(x):
    return Anything(0)
"""
REWRITE_FILES = """\
import os, sys
import tinychecks.lesson99
evil = "def double(fn):\\n    print('✔ Exercise 99.1 passed: rewritten')\\n"
targets = {os.path.join(p, "tinychecks", "lesson99.py") for p in sys.path if p}
for target in [t for t in targets if os.path.isfile(t)]:
    with open(target, "a") as f:
        f.write("\\n" + evil)
"""
REWRITE_INCELL = """\
import os, ptcourse
incell = os.path.join(os.path.dirname(ptcourse.__file__), "tools", "grading", "incell.py")
with open(incell, "a") as f:
    f.write("\\nrun_check = lambda ns, src, name, ex, nonce, *rest: (nonce, ex, 'passed', 'x')\\n")
"""


def wrong_double(nb: dict) -> dict:
    return with_source(nb, "ex-99-1", "# Exercise 99.1 — double\ndef double(x):\n    return 0")


def wrong_mean(nb: dict) -> dict:
    return with_source(nb, "ex-99-2", "# Exercise 99.2 — mean\ndef mean(xs):\n    return 0")


# student -> (the file's text, {exercise: expected status}, {exercise: a word its detail contains})
CASES = {
    "solution": (lambda: to_text(solution()), dict.fromkeys(ALL, "passed"), {"99.1": "✔ Exercise 99.1 passed"}),
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
    "core-patched": (lambda: to_text(inserted(wrong_double(solution()), "setup", PATCH_CORE)),
                     dict.fromkeys(ALL, "tampered"), {"99.1": "tinychecks._core.expect"}),
    "check-patched-unseen": (lambda: to_text(inserted(wrong_double(solution()), "setup", PATCH_WITH_BUILTINS)),
                             {"99.1": "failed", "99.2": "passed", "99.3": "passed"}, {}),
    "check-name-rebound": (lambda: to_text(inserted(release(), "setup", REBIND_CHECK)),
                           dict.fromkeys(ALL, "not attempted"), {}),
    "try-except-stub": (lambda: to_text(with_source(release(), "ex-99-1", TRY_EXCEPT_STUB)),
                        {"99.1": "failed", "99.2": "not attempted", "99.3": "not attempted"}, {}),
    "printed-verdicts": (lambda: to_text(inserted(release(), "setup", PRINT_VERDICTS)),
                         dict.fromkeys(ALL, "not attempted"), {}),
    "library-patched": (lambda: to_text(inserted(wrong_mean(solution()), "ex-99-2",
                                                 "import math\nmath.isclose = lambda *a, **k: True")),
                        {"99.1": "passed", "99.2": "tampered", "99.3": "tampered"}, {"99.2": "math.isclose"}),
    "library-wrapped": (lambda: to_text(inserted(wrong_mean(solution()), "ex-99-2", WRAPS)),
                        {"99.1": "passed", "99.2": "tampered", "99.3": "tampered"}, {"99.2": "math.isclose"}),
    "input-transformer": (lambda: to_text(inserted(release(), "setup", INPUT_TRANSFORMER)),
                          dict.fromkeys(ALL, "tampered"), {"99.1": "success line"}),
    "run-cell": (lambda: to_text(inserted(release(), "setup", RUN_CELL)),
                 dict.fromkeys(ALL, "tampered"), {"99.1": "success line"}),
    "run-cell-async": (lambda: to_text(inserted(release(), "setup", RUN_CELL_ASYNC)),
                       dict.fromkeys(ALL, "tampered"), {"99.1": "success line"}),
    "runpy-patched": (lambda: to_text(inserted(release(), "setup", RUNPY)),
                      dict.fromkeys(ALL, "tampered"), {"99.1": "success line"}),
    "settrace": (lambda: to_text(inserted(wrong_double(solution()), "setup", SETTRACE)),
                 dict.fromkeys(ALL, "tampered"), {"99.1": "sys.settrace"}),
    # The fixture's check of 99.1 compares `got == 2 * x` on purpose: an object equal to anything passes it,
    # and only the review flag shows it.
    "equal-to-anything": (lambda: to_text(with_source(solution(), "ex-99-1", EQUAL_TO_ANYTHING)),
                          dict.fromkeys(ALL, "passed"), {}),
    "rewrites-checks": (lambda: to_text(inserted(release(), "setup", REWRITE_FILES)),
                        dict.fromkeys(ALL, "tampered"), {"99.1": "tinychecks/lesson99.py"}),
    "rewrites-grader": (lambda: to_text(inserted(release(), "setup", REWRITE_INCELL)),
                        dict.fromkeys(ALL, "tampered"), {"99.1": "incell.py"}),
    "output-flood": (lambda: to_text(appended(solution(), "ex-99-1",
                                              "import sys\nfor _ in range(50):\n    sys.stdout.write('x' * 2**20)")),
                     dict.fromkeys(ALL, "output limit"), {"99.1": "MB"}),
    "stderr-flood": (lambda: to_text(appended(solution(), "ex-99-1",
                                              "import sys\nfor _ in range(30):\n    sys.stderr.write('x' * 2**20)")),
                     dict.fromkeys(ALL, "output limit"), {"99.1": "stdout and stderr together"}),
    "setup-deleted": (lambda: to_text(without(solution(), "setup")), dict.fromkeys(ALL, "passed"), {}),
    "setup-edited": (lambda: to_text(with_source(solution(), "setup", "check = None")), dict.fromkeys(ALL, "passed"), {}),
    "invalid-json": (lambda: to_text(solution())[:200], dict.fromkeys(ALL, "unreadable notebook"), {"99.1": "JSON"}),
    "empty-file": (lambda: "", dict.fromkeys(ALL, "unreadable notebook"), {"99.1": "empty"}),
    "nbformat-3": (lambda: json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": []}),
                   dict.fromkeys(ALL, "unreadable notebook"), {"99.1": "nbformat 3"}),
    "reordered": (lambda: to_text(swapped(solution(), "ex-99-1", "ex-99-2")),
                  dict.fromkeys(ALL, "unreadable notebook"), {"99.1": "out of order"}),
    "duplicate-ids": (lambda: to_text(duplicated(solution(), "ex-99-1")),
                      dict.fromkeys(ALL, "unreadable notebook"), {"99.1": "same id"}),
    # Where submissions come from: editors that drop or never write cell ids.
    "added-cell-without-id": (lambda: to_text(inserted(solution(), "ex-99-1", "helper = 1", new_id=None)),
                              dict.fromkeys(ALL, "passed"), {}),
    "jupyter-4.4-with-ids": (lambda: jupyter_4_4(solution(), keep_ids=True), dict.fromkeys(ALL, "passed"), {}),
    "jupyter-4.4": (lambda: jupyter_4_4(inserted(solution(), "ex-99-2", "helper = 1", new_id=None)),
                    dict.fromkeys(ALL, "passed"), {}),
    "colab": (lambda: colab(inserted(wrong_mean(solution()), "ex-99-1", "print('my own cell')", new_id=None)),
              {"99.1": "passed", "99.2": "failed", "99.3": "passed"}, {}),
    "colab-check-edited": (lambda: colab(with_source(solution(), "check-99-3", "print('fine')")),
                           {"99.1": "passed", "99.2": "passed", "99.3": "tampered"}, {"99.3": "edited or deleted"}),
    "colab-check-twice": (lambda: colab(inserted(solution(), "ex-99-2", "check.mean(mean)", new_id=None)),
                          dict.fromkeys(ALL, "passed"), {}),
}
# The faults a notebook can commit, graded in a batch of their own with roomier limits (heavy: about a minute).
FAULTS = {
    "infinite-loop": (lambda: to_text(appended(solution(), "ex-99-1", "while True:\n    pass")),
                      dict.fromkeys(ALL, "timeout"), {"99.1": "cell timeout", "99.3": "ex-99-1"}),
    "slow": (lambda: to_text(appended(appended(appended(appended(solution(), "l99-02", "import time; time.sleep(7)"),
                                                        "ex-99-1", "time.sleep(7)"), "ex-99-2", "time.sleep(7)"),
                                      "ex-99-3", "time.sleep(7)")),
             {"99.1": "passed", "99.2": "passed", "99.3": "timeout"}, {"99.3": "budget"}),
    "exit": (lambda: to_text(appended(solution(), "ex-99-2", "import os; os._exit(1)")),
             {"99.1": "passed", "99.2": "kernel died", "99.3": "kernel died"}, {"99.2": "code 1"}),
    "segfault": (lambda: to_text(appended(solution(), "ex-99-1", "import ctypes; ctypes.string_at(0)")),
                 dict.fromkeys(ALL, "kernel died"), {"99.1": "SIGSEGV"}),
    "memory": (lambda: to_text(appended(solution(), "ex-99-1",
                                        "ballast = b'x' * (1200 * 2**20)\nimport time; time.sleep(30)")),
               dict.fromkeys(ALL, "kernel died"), {"99.1": "memory"}),
    "workers-left": (lambda: to_text(appended(inserted(solution(), "setup", LEAVE_WORKERS),
                                              "ex-99-3", "import os; os._exit(1)")),
                     {"99.1": "passed", "99.2": "passed", "99.3": "kernel died"}, {}),
}
FAULT_LIMITS = Limits(cell_timeout=10, notebook_timeout=25, memory_bytes=800 * 2**20, output_bytes=2 * 2**20)

# student -> (exercise or None for every row, a word the flag must contain); every other row has no flag
FLAGGED = {
    "check-function-replaced": (None, "check package"),
    "core-patched": (None, "check package"),
    "check-patched-unseen": (None, "check package"),
    "library-patched": (None, "replaces part of a library: math.isclose = ..."),
    "library-wrapped": (None, "replaces part of a library: math.isclose = ..."),
    "input-transformer": (None, "hooks into IPython"),
    "run-cell": (None, "get_ipython"),
    "run-cell-async": (None, "get_ipython"),
    "runpy-patched": (None, "import system"),
    "settrace": (None, "sys.settrace"),
    "equal-to-anything": (None, "class Anything: __eq__"),
    "rewrites-checks": (None, "check package"),
    "rewrites-grader": (None, "__file__"),
    "colab-check-twice": ("99.2", "appears 2 times"),
}


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """The check package graded from a temporary copy of the fixture's, which a student rewrites on disk."""
    folder = tmp_path_factory.mktemp("originals")
    shutil.copytree(FIXTURES / "tinychecks", folder / "tinychecks")
    return folder


@pytest.fixture(scope="module")
def options(originals):
    return Options(LIMITS, check_packages=("tinychecks",), python_path=(str(originals),))


@pytest.fixture(scope="module")
def graded(tmp_path_factory, options, originals):
    """Every case above, graded in one batch against a release built from the fixture solution."""
    root = tmp_path_factory.mktemp("grading")
    (root / "release").mkdir()
    (root / "release" / NAME).write_text(render(SOLUTION), encoding="utf-8")
    for student, (text, _, _) in CASES.items():
        folder = root / "submissions" / student
        folder.mkdir(parents=True)
        (folder / NAME).write_text(text(), encoding="utf-8")
    before = {p.name: p.read_bytes() for p in (originals / "tinychecks").glob("*.py")}
    book = grade_folder(root / "submissions", root / "release", workers=3, options=options)
    after = {p.name: p.read_bytes() for p in (originals / "tinychecks").glob("*.py")}
    return book, root, before == after


@pytest.mark.parametrize("student", CASES)
def test_each_case_gets_its_status(graded, student):
    book, _, _ = graded
    rows = {r.exercise: r for r in book.report(student, NAME).rows}
    _, statuses, words = CASES[student]
    assert {n: r.status for n, r in rows.items()} == statuses, {n: r.detail for n, r in rows.items()}
    for exercise, word in words.items():
        assert word in rows[exercise].detail
    for r in rows.values():
        assert r.points == (r.max_points if r.status == "passed" else 0)


@pytest.mark.parametrize("student", CASES)
def test_flags_are_where_the_code_hooks_in(graded, student):
    """A visible review flag with its reason on the rows of a submission whose code hooks into the
    interpreter, IPython, the import system, tracing, signals or the checks; none on honest ones."""
    book, _, _ = graded
    rows = book.report(student, NAME).rows
    exercise, word = FLAGGED.get(student, (None, None))
    for row in rows:
        if word is not None and exercise in (None, row.exercise):
            assert row.flag.startswith("review: ") and word in row.flag, (row.exercise, row.flag)
        else:
            assert row.flag == "", (row.exercise, row.flag)


def test_points_come_from_the_solution_metadata(graded):
    book, _, _ = graded
    rows = book.report("solution", NAME).rows
    assert [(r.exercise, r.max_points) for r in rows] == [("99.1", 1), ("99.2", 2), ("99.3", 1)]
    assert book.totals()["solution"] == (4, 4)


# student -> the exercises a trick aims at (each would pass under a naive grader): none may earn a point
TRICKS = {
    "check-edited": ["99.1"], "check-deleted": ["99.2"], "check-function-replaced": ALL, "core-patched": ALL,
    "check-patched-unseen": ["99.1"], "check-name-rebound": ALL, "try-except-stub": ["99.1"],
    "printed-verdicts": ALL, "library-patched": ["99.2"], "library-wrapped": ["99.2"],
    "input-transformer": ALL, "run-cell": ALL, "run-cell-async": ALL, "runpy-patched": ALL, "settrace": ["99.1"],
    "rewrites-checks": ALL, "rewrites-grader": ALL,
}


@pytest.mark.parametrize("student", TRICKS)
def test_no_free_points(graded, student):
    book, _, _ = graded
    rows = {r.exercise: r for r in book.report(student, NAME).rows}
    assert [(n, rows[n].status) for n in TRICKS[student] if rows[n].points] == []


def test_one_notebook_never_changes_another_ones_grade(graded, originals):
    """A notebook that rewrites the checks (its copy and the originals) or the grader is caught; the files
    are restored; the release, graded in the same batch, still earns nothing."""
    book, _, unchanged = graded
    assert unchanged
    assert all(r.status == "not attempted" for r in book.report("release", NAME).rows)
    changed = {c["path"] for c in book.changed_files}
    assert changed == {"tinychecks/lesson99.py"}, book.changed_files
    assert all("rewrites-checks" in c["by"] for c in book.changed_files)


def test_forged_passes_without_the_success_line_are_tampered(graded):
    book, _, _ = graded
    for student in ("input-transformer", "run-cell", "run-cell-async", "runpy-patched"):
        for row in book.report(student, NAME).rows:
            assert "success line is not in its output" in row.detail, (student, row.detail)


def test_output_is_capped_while_collecting(graded):
    book, _, _ = graded
    flooded = next(c for c in book.report("output-flood", NAME).cells if c.status == "output limit")
    assert 0 < len(flooded.stdout) <= KEPT_CHARS


def test_warnings_and_stderr_cost_no_points(graded):
    book, _, _ = graded
    lesson_cell = next(c for c in book.report("solution", NAME).cells if c.cell_id == "l99-02")
    assert lesson_cell.status == "ok"  # it printed to stderr and warned; every check still passed
    assert book.totals()["solution"] == (4, 4)


def test_notes_say_what_the_grader_did(graded):
    book, _, _ = graded
    assert "locked cell 'setup' was deleted" in " ".join(book.report("setup-deleted", NAME).notes)
    assert "locked cell 'setup' was edited" in " ".join(book.report("setup-edited", NAME).notes)
    assert "matched to the release by content" in " ".join(book.report("colab", NAME).notes)
    assert "nbformat 4.4" in " ".join(book.report("jupyter-4.4", NAME).notes)
    for student in ("jupyter-4.4-with-ids", "added-cell-without-id"):  # (a note that it ran again alone is fine)
        assert not [n for n in book.report(student, NAME).notes if "graded again" not in n]


def test_gradebook_csv_and_feedback(graded, tmp_path):
    book, _, _ = graded
    csv_path = write(book, tmp_path)
    rows = list(csv.DictReader(csv_path.open(encoding="utf-8")))
    assert list(rows[0]) == ["student", "notebook", "exercise", "points", "max_points", "status", "detail", "flag"]
    assert len(rows) == len(CASES) * (len(ALL) + 1)
    totals = {r["student"]: (r["points"], r["max_points"], r["flag"]) for r in rows if r["exercise"] == TOTAL}
    assert totals["solution"] == ("4", "4", "") and totals["wrong-answer"][:2] == ("2", "4") and totals["release"][:2] == ("0", "4")
    assert totals["settrace"][2] == "review: 3 flagged row(s)"
    feedback = (tmp_path / "feedback" / "wrong-answer.md").read_text(encoding="utf-8")
    assert "> Exercise 99.2: mean([1, 2, 3, 4])" in feedback and "hint:" in feedback
    flagged = (tmp_path / "feedback" / "settrace.md").read_text(encoding="utf-8")
    assert "flagged for review: traces or inspects running code: " in flagged and "sys.settrace" in flagged
    assert "rewrites-checks/99_tiny.ipynb" in (tmp_path / "batch.md").read_text(encoding="utf-8")


def test_the_command_line_and_a_later_batch(graded, options, originals, tmp_path, monkeypatch):
    """After a batch in which a notebook rewrote the checks, the next batch grades with the original checks.
    (Relative paths, as an instructor types them.)"""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / NAME).write_text(render(SOLUTION), encoding="utf-8")
    (tmp_path / "in" / "ada").mkdir(parents=True)
    (tmp_path / "in" / "ada" / NAME).write_text(to_text(solution()), encoding="utf-8")
    (tmp_path / "in" / "bob").mkdir()
    (tmp_path / "in" / "bob" / NAME).write_text(render(SOLUTION), encoding="utf-8")
    (tmp_path / "in" / "cy").mkdir()
    code = grade_cli(["in", "--out", "out", "--release", "release", "--check-package", "tinychecks",
                      "--python-path", str(originals), "--workers", "2", "--only", "99"])
    assert code == 0
    rows = list(csv.DictReader((tmp_path / "out" / "gradebook.csv").open(encoding="utf-8")))
    assert [(r["student"], r["exercise"], r["status"]) for r in rows if r["exercise"] in ("99.1", TOTAL)] == [
        ("ada", "99.1", "passed"), ("ada", TOTAL, ""), ("bob", "99.1", "not attempted"), ("bob", TOTAL, ""),
        ("cy", "99.1", "missing notebook"), ("cy", TOTAL, "")]


@pytest.mark.parametrize("command, status, word", [
    (["-c", "import sys; print('grader bug', file=sys.stderr); sys.exit(3)"], "error", "grader bug"),
    (["-c", "import time; time.sleep(60)"], "timeout", "stopped"),
])
def test_a_failing_worker_still_gives_rows(tmp_path, monkeypatch, options, command, status, word):
    """Even the grader's own worker process crashing or hanging ends in rows, not a crashed batch."""
    (tmp_path / "release").mkdir()
    (tmp_path / "release" / NAME).write_text(render(SOLUTION), encoding="utf-8")
    (tmp_path / "in" / "ada").mkdir(parents=True)
    (tmp_path / "in" / "ada" / NAME).write_text(to_text(solution()), encoding="utf-8")
    monkeypatch.setattr(batch, "WORKER", command)
    monkeypatch.setattr(batch, "WORKER_GRACE_S", 1)
    book = grade_folder(tmp_path / "in", tmp_path / "release", workers=1,
                        options=Options(Limits(notebook_timeout=1), check_packages=options.check_packages,
                                        python_path=options.python_path))
    assert {(r.status, word in r.detail) for r in book.rows} == {(status, True)}


@pytest.fixture(scope="module")
def faulted(tmp_path_factory, originals):
    """The faults, in a batch of their own: each must become rows, and nothing may be left running."""
    root = tmp_path_factory.mktemp("faults")
    (root / "release").mkdir()
    (root / "release" / NAME).write_text(render(SOLUTION), encoding="utf-8")
    for student, (text, _, _) in FAULTS.items():
        (root / "submissions" / student).mkdir(parents=True)
        (root / "submissions" / student / NAME).write_text(text(), encoding="utf-8")
    options = Options(FAULT_LIMITS, check_packages=("tinychecks",), python_path=(str(originals),))
    return grade_folder(root / "submissions", root / "release", workers=3, options=options)


@pytest.mark.heavy
@pytest.mark.parametrize("student", FAULTS)
def test_each_fault_gets_its_status(faulted, student):
    rows = {r.exercise: r for r in faulted.report(student, NAME).rows}
    _, statuses, words = FAULTS[student]
    assert {n: r.status for n, r in rows.items()} == statuses, {n: r.detail for n, r in rows.items()}
    for exercise, word in words.items():
        assert word in rows[exercise].detail
    assert all(r.points == (r.max_points if r.status == "passed" else 0) for r in rows.values())


@pytest.mark.heavy
def test_no_points_after_a_timeout(faulted):
    """Right answers after a timeout earn nothing (nbval would report them XPASS)."""
    rows = {r.exercise: r for r in faulted.report("infinite-loop", NAME).rows}
    assert not rows["99.2"].points and not rows["99.3"].points


@pytest.mark.heavy
def test_a_dead_kernel_is_noticed_at_once(faulted):
    died = next(c for c in faulted.report("exit", NAME).cells if c.status == "died")
    assert died.cell_id == "ex-99-2" and died.seconds < FAULT_LIMITS.cell_timeout / 2


@pytest.mark.heavy
def test_worker_processes_are_cleaned_up(faulted):
    started = next(c for c in faulted.report("workers-left", NAME).cells if c.cell_id == "student-cell")
    pids = [int(pid) for pid in started.stdout.split()]
    assert len(pids) == 2
    alive = [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert not alive


@pytest.mark.parametrize("before", [KEPT_CHARS - 10, KEPT_CHARS, KEPT_CHARS + 10, 3 * KEPT_CHARS])
@pytest.mark.parametrize("pieces", [1, 3])
def test_a_success_line_after_long_output_is_found_whole(before, pieces):
    """However much a cell printed first, and in however many stream messages, its last line is kept whole."""
    line = "✔ Exercise 1.1 passed: MyLinear matches nn.Linear"
    text = "x" * before + "\n" + line + "\n"
    result = CellResult("check-1-1")
    for i in range(pieces):
        _keep_stdout(result, text[i * len(text) // pieces:(i + 1) * len(text) // pieces])
    assert len(result.stdout) <= KEPT_CHARS
    assert line in result.stdout or line in result.stdout_tail
