"""Grade one submitted notebook: plan its cells, run them in a fresh kernel, turn check results into rows."""
from __future__ import annotations

import ast
import importlib.util
import secrets
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ptcourse.checks.mode import GRADED_ENV
from ptcourse.tools.conventions import DETERMINISTIC_ENV
from ptcourse.i18n import N_
from ptcourse.tools.grading import kernel, scan
from ptcourse.tools.grading.kernel import CellResult, Kernel, Limits
from ptcourse.tools.grading.release import CHECK_PACKAGES, Exercise, Release
from ptcourse.tools.grading.submission import Plan, Step, Unreadable, plan, read_submission

# Statuses are written in English in the gradebook (machine-readable) and translated in the feedback.
PASSED, FAILED, NOT_ATTEMPTED, ERROR = N_("passed"), N_("failed"), N_("not attempted"), N_("error")
TIMEOUT, KERNEL_DIED, OUTPUT_LIMIT, TAMPERED = N_("timeout"), N_("kernel died"), N_("output limit"), N_("tampered")
MISSING, UNREADABLE, WRONG_NOTEBOOK = N_("missing notebook"), N_("unreadable notebook"), N_("wrong notebook")
STATUSES = (PASSED, FAILED, NOT_ATTEMPTED, ERROR, TIMEOUT, KERNEL_DIED, OUTPUT_LIMIT, TAMPERED, MISSING, UNREADABLE,
            WRONG_NOTEBOOK)
STOPPED = {kernel.TIMEOUT: TIMEOUT, kernel.DIED: KERNEL_DIED, kernel.OUTPUT_LIMIT: OUTPUT_LIMIT}
SKIPPED, NOT_RUN = "skipped", "not run"  # cell statuses besides the kernel's
INCELL = Path(__file__).with_name("incell.py")
REVIEW = "review: "  # how a flag starts
# Where the time of one notebook goes (NotebookReport.timings): the keys, in the order they happen.
PHASES = ("kernel start", "imports", "setup cells", "lesson cells", "checks")


@dataclass
class Options:
    limits: Limits = field(default_factory=Limits)
    # For the kernels: one thread each, as in the tests, and graded (incell.py also forces it on the checks);
    # no user site-packages, where one notebook could leave code that every later kernel would run.
    env: dict[str, str] = field(default_factory=lambda: {**DETERMINISTIC_ENV, GRADED_ENV: "1", "PYTHONNOUSERSITE": "1"})
    gpu: bool = False  # run cells tagged `gpu` (otherwise skipped: they measure a GPU and carry no points)
    check_packages: tuple[str, ...] = CHECK_PACKAGES  # where the check modules live (imported afresh)
    python_path: tuple[str, ...] = ()  # extra import folders for the kernel (lessons outside ptcourse)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Options":
        return cls(**{**data, "limits": Limits(**data["limits"]), "check_packages": tuple(data["check_packages"]),
                      "python_path": tuple(data["python_path"])})


@dataclass
class Row:
    student: str
    notebook: str
    exercise: str
    points: float
    max_points: float
    status: str
    detail: str
    flag: str = ""  # "review: why", for the instructor: the grade stands, but look at this submission
    title: str = ""  # "Exercise 1.2 — repair TinyNet"


@dataclass
class NotebookReport:
    student: str
    notebook: str
    rows: list[Row]
    cells: list[CellResult] = field(default_factory=list)  # in the order they ran (or were skipped)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    flags: list[str] = field(default_factory=list)  # why the whole notebook deserves a look (also on every row)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase (PHASES)
    source: str = ""  # the submitted file, relative to the student's folder, when it is not <notebook>
    language: str = "en"  # the edition the submission belongs to: its feedback is written in that language

    @property
    def points(self) -> float:
        return sum(r.points for r in self.rows)

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.rows)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "NotebookReport":
        return cls(**{**data, "rows": [Row(**r) for r in data["rows"]], "cells": [CellResult(**c) for c in data["cells"]]})

    def flag(self, reason: str, exercise: str | None = None) -> None:
        """Add a review flag: to every row, or to one exercise's row."""
        if exercise is None and reason not in self.flags:
            self.flags.append(reason)
        for row in self.rows:
            if exercise is None or row.exercise == exercise:
                reasons = [r for r in row.flag.removeprefix(REVIEW).split("; ") if r]
                if reason not in reasons:
                    row.flag = REVIEW + "; ".join([*reasons, reason])


def same_rows(release: Release, student: str, status: str, detail: str) -> NotebookReport:
    """A report in which every exercise has one status (missing, unreadable, grader failure)."""
    rows = [Row(student, release.name, e.number, 0, e.points, status, detail, title=e.title) for e in release.exercises]
    return NotebookReport(student, release.name, rows)


def check_roots(release: Release, options: Options) -> dict[str, str]:
    """Where each check package's files are, resolved here (not in the student's kernel)."""
    roots = {}
    sys.path[:0] = list(options.python_path)
    importlib.invalidate_caches()
    try:
        for package in options.check_packages:
            try:
                spec = importlib.util.find_spec(package)
            except ImportError:
                spec = None
            if spec is not None and spec.origin:
                roots[package] = spec.submodule_search_locations[0] if spec.submodule_search_locations else spec.origin
    finally:
        del sys.path[: len(options.python_path)]
    for module, _ in release.check_names.values():
        if not any(module == root or module.startswith(root + ".") for root in roots):
            raise RuntimeError(f"the check module {module} is not in a check package the grader can find "
                               f"({', '.join(options.check_packages)})")
    return roots


def eager_imports(release: Release) -> list[str]:
    """What the kernel imports before any student cell: the lesson's check modules (and so what they import)."""
    modules = []
    for module, attribute in release.check_names.values():
        modules.append(module if attribute is None else f"{module}.{attribute}")
    return list(dict.fromkeys(modules))


def incell(function: str, *args) -> str:
    """One line that loads incell.py afresh and calls one of its functions."""
    return (f"__import__('runpy').run_path({str(INCELL)!r})[{function!r}]"
            f"({', '.join(repr(a) if not isinstance(a, _Code) else a.code for a in args)})")


class _Code:
    def __init__(self, code: str):
        self.code = code


def check_call(step: Step, nonce: str, release: Release, roots: dict[str, str]) -> str:
    """The one line sent in place of a check cell (see incell.py)."""
    return incell("run_check", _Code("__import__('builtins').globals()"), step.source, f"<check cell {step.cell_id}>",
                  step.exercise, nonce, release.check_names, roots)


def run_plan(steps: list[Step], cwd: Path, options: Options, call, prelude: str = "", after_locked: str = "",
             timings: dict[str, float] | None = None) -> list[CellResult]:
    """Run the planned cells in one kernel; after a timeout, a dead kernel or too much output, run nothing more.

    `prelude` runs before the first cell and `after_locked` after each restored setup cell (the grader's own code).
    """
    timings = {} if timings is None else timings
    results: list[CellResult] = []
    start = time.monotonic()
    machine = Kernel(cwd, options.limits, options.env, options.python_path)
    timings["kernel start"] = time.monotonic() - start
    try:
        stop = None
        if prelude:
            ready = machine.run("(grader)", prelude, store_history=False)
            timings["imports"] = ready.seconds
            if ready.status != kernel.OK:
                raise RuntimeError(f"the grader could not prepare the kernel: {ready.status} {ready.ename}: "
                                   f"{ready.evalue} {ready.reason}".strip())
        for step in steps:
            if stop is not None:
                result = CellResult(step.cell_id, status=NOT_RUN, reason=f"cell {stop!r} stopped the notebook")
            elif step.skip:
                result = CellResult(step.cell_id, status=SKIPPED)
            else:
                code = call(step) if step.exercise else step.source
                result = machine.run(step.cell_id, code, store_history=not step.exercise)
                phase = "checks" if step.exercise else "setup cells" if step.restored else "lesson cells"
                timings[phase] = timings.get(phase, 0.0) + result.seconds
                if result.status in STOPPED:
                    stop = result.cell_id
                elif step.restored and not step.exercise and after_locked:
                    machine.run("(grader)", after_locked, store_history=False)
            results.append(result)
    finally:
        machine.close()
    return results


def student_code(the_plan: Plan) -> list[tuple[str, str, str | None]]:
    """(cell id, source, released source or None) of every cell the student wrote or may have edited."""
    return [(s.cell_id, s.source, s.released) for s in the_plan.steps if not s.restored and not s.skip]


def grade_notebook(submission: Path, release: Release, options: Options | None = None, student: str = "") -> NotebookReport:
    """Grade one notebook against its release; whatever the notebook does, this returns a report."""
    options = options or Options()
    start = time.monotonic()
    try:
        the_plan = plan(release, read_submission(submission), options.gpu)
    except Unreadable as problem:
        return same_rows(release, student, UNREADABLE, str(problem))
    except OSError as problem:
        return same_rows(release, student, UNREADABLE, f"the file cannot be read ({problem.strerror})")
    nonces = {step.cell_id: secrets.token_hex(16) for step in the_plan.steps if step.exercise}
    findings = scan.scan(student_code(the_plan), set(release.check_names), options.check_packages)
    timings: dict[str, float] = {}
    try:
        roots = check_roots(release, options)
        prelude = incell("install", roots, eager_imports(release))
        with tempfile.TemporaryDirectory(prefix="ptcourse-grade-", ignore_cleanup_errors=True) as cwd:
            results = run_plan(the_plan.steps, Path(cwd), options,
                               lambda step: check_call(step, nonces[step.cell_id], release, roots),
                               prelude, incell("record"), timings)
    except Exception as problem:  # the kernel did not start, or the grader itself failed
        report = same_rows(release, student, ERROR, f"the grader could not run this notebook: {problem!r}")
        report.notes = the_plan.notes
        return report
    rows = [exercise_row(exercise, the_plan, results, nonces, student, release.name) for exercise in release.exercises]
    report = NotebookReport(student, release.name, rows, results, the_plan.notes, time.monotonic() - start,
                            timings={phase: timings.get(phase, 0.0) for phase in PHASES})
    for line in scan.summary(findings):
        report.flag(line)
    for number, why in the_plan.ambiguous.items():
        report.flag(why, number)
    return report


def exercise_row(exercise: Exercise, the_plan: Plan, results: list[CellResult], nonces: dict, student: str,
                 notebook: str) -> Row:
    index = next(i for i, s in enumerate(the_plan.steps) if s.cell_id == exercise.check_id)
    status, detail = check_outcome(index, the_plan.steps, results, nonces[exercise.check_id], exercise.number)
    if exercise.number in the_plan.tampered and status != TAMPERED:
        status, detail = TAMPERED, f"{the_plan.tampered[exercise.number]}; the released check: {status}"
    points = exercise.points if status == PASSED else 0
    return Row(student, notebook, exercise.number, points, exercise.points, status, detail, title=exercise.title)


def check_outcome(index: int, steps: list[Step], results: list[CellResult], nonce: str, exercise: str) -> tuple[str, str]:
    """Status and detail of one check cell, from its own result and (for errors) the cells before it."""
    result = results[index]
    if result.status == kernel.OK:
        try:
            verdict = ast.literal_eval(result.result)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            verdict = None
        if isinstance(verdict, tuple) and len(verdict) == 4 and verdict[:3] == (nonce, exercise, PASSED):
            line = str(verdict[3])
            if line and (line in result.stdout or line in result.stdout_tail):
                return PASSED, line
            return TAMPERED, ("the check cell reported a pass, but the check's success line is not in its output: "
                              "something in the notebook changed how cells run or where their output goes")
        return ERROR, ("the check finished without the grader's confirmation "
                       "(did the notebook change how results are shown?)")
    if result.status == kernel.ERROR:
        if result.ename == "NotImplementedError":
            return NOT_ATTEMPTED, result.evalue
        if result.ename == "TamperingDetected":
            return TAMPERED, result.evalue
        if result.ename in ("CheckFailed", "AssertionError"):
            return FAILED, result.evalue
        detail = f"the check raised {result.ename}: {result.evalue}"
        previous_check = max((i for i in range(index) if steps[i].exercise), default=-1)
        broken = [r for s, r in zip(steps[previous_check + 1: index], results[previous_check + 1: index])
                  if r.status == kernel.ERROR and not s.expected_error]
        if broken:
            detail += f" (earlier, cell {broken[0].cell_id!r} raised {broken[0].ename}: {broken[0].evalue})"
        return ERROR, detail
    stopper = result if result.status in STOPPED else next(r for r in results if r.status in STOPPED)
    where = "in the check cell" if stopper is result else f"in cell {stopper.cell_id!r}; the check did not run"
    return STOPPED[stopper.status], f"{stopper.reason} ({where})"
