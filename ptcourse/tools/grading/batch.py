"""Grade a folder of submissions, `SUBMISSIONS/<student>/<NN_topic>.ipynb`, in parallel worker processes.

Each notebook runs in a worker process of its own, with a private copy of the course package written
from what the batch read at its start (`integrity.py`), so no notebook can change what another is graded
with. `shard=(K, N)` grades a deterministic K-th of N parts; `merge` (gradebook.py) joins the parts.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ptcourse.tools.grading.discover import discover, edition_of
from ptcourse.tools.grading.integrity import Change, Files, import_folders
from ptcourse.tools.grading.notebook import (ERROR, MISSING, TAMPERED, TIMEOUT, WRONG_NOTEBOOK, NotebookReport, Options,
                                             same_rows)
from ptcourse.tools.grading.release import Release
from ptcourse.tools.repo import NOTEBOOKS, lessons
from ptcourse.tools.translate import EDITIONS

WORKER = ["-m", "ptcourse.tools.grading.worker"]  # run with this Python, plus the job file
WORKER_GRACE_S = 180  # beyond the notebook budget: worker and kernel start-up, cleanup
LIB = "lib"  # inside a job's folder: the private copy of the course package


@dataclass
class Gradebook:
    reports: list[NotebookReport]  # by student, then in release order
    notes: dict[str, list[str]] = field(default_factory=dict)  # per student: what the grader noticed
    seconds: float = 0.0
    batch_notes: list[str] = field(default_factory=list)  # about the batch: ignored files, restored files
    changed_files: list[dict] = field(default_factory=list)  # {"path", "after" (text or None), "by"}: what was restored
    shard: tuple[int, int] = (1, 1)
    students: list[str] = field(default_factory=list)  # every student folder of the batch, sorted
    lessons: list[str] = field(default_factory=list)  # the graded lessons, in release order

    @property
    def rows(self):
        return [row for report in self.reports for row in report.rows]

    @property
    def submitted(self) -> list[NotebookReport]:
        return [r for r in self.reports if not r.rows or r.rows[0].status not in (MISSING, WRONG_NOTEBOOK)]

    def report(self, student: str, notebook: str) -> NotebookReport:
        return next(r for r in self.reports if r.student == student and r.notebook == notebook)

    def totals(self) -> dict[str, tuple[float, float]]:
        """{student: (points, max_points)} over the graded notebooks, submitted or not."""
        totals: dict[str, tuple[float, float]] = {}
        for row in self.rows:
            points, most = totals.get(row.student, (0, 0))
            totals[row.student] = (points + row.points, most + row.max_points)
        return totals

    def to_dict(self) -> dict:
        return {"reports": [r.to_dict() for r in self.reports], "notes": self.notes, "seconds": self.seconds,
                "batch_notes": self.batch_notes, "changed_files": self.changed_files, "shard": list(self.shard),
                "students": self.students, "lessons": self.lessons}

    @classmethod
    def from_dict(cls, data: dict) -> "Gradebook":
        return cls([NotebookReport.from_dict(r) for r in data["reports"]], data["notes"], data["seconds"],
                   data["batch_notes"], data["changed_files"], tuple(data["shard"]), data["students"], data["lessons"])


def default_workers() -> int:
    """One kernel per core the grader may use (each kernel runs one thread)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


@dataclass
class Job:
    student: str
    release: Release
    submission: Path
    source: str = ""  # the file relative to the student's folder, when it is not the lesson's name
    language: str = "en"  # the edition of the course the notebook belongs to


@dataclass
class Outcome:
    report: NotebookReport
    copy_changes: list[str]
    start: float
    end: float


def run_worker(student: str, release: Release, submission: Path, options: Options, folder: Path | None = None) -> NotebookReport:
    """Grade one notebook in a worker process; a worker that fails or hangs still gives a report.

    `folder`: the job's folder; with a private copy of the course package in `folder/lib`, the worker and
    its kernel import only that copy.
    """
    with tempfile.TemporaryDirectory(prefix="ptcourse-job-") as tmp:
        folder = folder or Path(tmp)
        job, result, log = Path(tmp, "job.json"), Path(tmp, "result.json"), Path(tmp, "stderr.txt")
        env = dict(os.environ, PYTHONNOUSERSITE="1")
        if (folder / LIB).is_dir():
            env["PYTHONPATH"] = os.pathsep.join([str(folder / LIB), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
            options = Options.from_dict({**options.to_dict(), "python_path": [str(folder / LIB), *options.python_path]})
        job.write_text(json.dumps({"student": student, "release": release.to_dict(), "submission": str(submission.resolve()),
                                   "result": str(result), "options": options.to_dict()}), encoding="utf-8")
        limit = options.limits.notebook_timeout + WORKER_GRACE_S
        with open(log, "wb") as stderr:
            worker = subprocess.Popen([sys.executable, *WORKER, str(job)], cwd=tmp, env=env,
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
            try:
                worker.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                worker.terminate()  # the worker kills its kernel on SIGTERM
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait()
                return same_rows(release, student, TIMEOUT,
                                 f"the grader stopped this notebook after {limit:g} s")
        if worker.returncode == 0 and result.exists():
            return NotebookReport.from_dict(json.loads(result.read_text(encoding="utf-8")))
        last = (log.read_text(encoding="utf-8", errors="replace").strip().splitlines() or ["no message"])[-1]
        return same_rows(release, student, ERROR,
                         f"the grader failed on this notebook (exit code {worker.returncode}): {last}")


class Guarded:
    """Runs jobs with private copies of the course package, and finds the notebooks that change files."""

    def __init__(self, files: Files, layout: dict[str, str], links: dict[str, str], options: Options):
        self.files, self.layout, self.links, self.options = files, layout, links, options

    def run(self, job: Job) -> Outcome:
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="ptcourse-copy-") as tmp:
            copy = self.files.write_copy(Path(tmp) / LIB, self.layout, self.links)
            report = run_worker(job.student, job.release, job.submission, self.options, Path(tmp))
            changed = copy.changes()
        report.source, report.language = job.source, job.language
        return Outcome(report, changed, start, time.monotonic())


def tampered_files(release: Release, student: str, changed: list[str], restored: bool = True) -> NotebookReport:
    where = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return same_rows(release, student, TAMPERED,
                     f"the notebook changed the course's files ({where}){'; they were restored' if restored else ''}, "
                     "so none of its checks counts")


def shard_of(index: int, shards: int) -> int:
    """The shard (1..N) that grades the index-th slot of the batch (students sorted, lessons in release order)."""
    return index % shards + 1


def grade_folder(
    submissions: Path,
    release_dir: Path = NOTEBOOKS,
    only: list[str] | None = None,
    workers: int | None = None,
    options: Options | None = None,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
    shard: tuple[int, int] = (1, 1),
) -> Gradebook:
    """Grade every student folder of `submissions` against the notebooks of `release_dir`.

    `only`: lesson names or prefixes ("01", "06_collate_fn.ipynb") to grade; default all. A lesson a
    student did not submit gives rows with status "missing notebook". `shard=(K, N)`: grade only the
    K-th of N deterministic parts (1-based); the parts' gradebooks merge into the whole one.
    """
    options = options or Options()
    workers = workers or default_workers()
    start = time.monotonic()
    released = lessons(release_dir)
    chosen = [p for p in released if not only or any(p.name.startswith(s) for s in only)]
    releases = {p.name: Release.load(p, options.check_packages) for p in chosen}
    # Another edition's release (`ko/notebooks/` beside `notebooks/`) grades that edition's submissions: the
    # same exercises, checks and ids, with its own setup cell (which makes the checks speak its language).
    editions = {language: {p.name: Release.load(p, options.check_packages) for p in lessons(folder) if p.name in releases}
                for language in EDITIONS if (folder := release_dir.parent / language / release_dir.name).is_dir()}
    found = discover(submissions, released, list(releases))
    files, layout, links = protected_files(released, options)
    guarded = Guarded(files, layout, links, options)

    reports: dict[tuple[str, str], NotebookReport] = {}
    jobs: list[Job] = []
    for index, (student, name) in enumerate((s, n) for s in found.students for n in releases):
        if shard_of(index, shard[1]) != shard[0]:
            continue
        slot, release = found.slots[student, name], releases[name]
        if slot.path is not None:
            language = edition_of(slot.path)
            jobs.append(Job(student, editions.get(language, {}).get(name, release), slot.path, slot.source, language))
        elif slot.holds:
            reports[student, name] = same_rows(release, student, WRONG_NOTEBOOK,
                                               f"{slot.source} holds {slot.holds}, not {name}")
        else:
            reports[student, name] = same_rows(release, student, MISSING, f"no {name} was submitted")
    book = Gradebook([], found.notes, 0.0, list(found.batch_notes), [], shard, found.students, list(releases))
    part = f" (shard {shard[0]} of {shard[1]})" if shard[1] > 1 else ""
    log(f"grading {len(jobs)} notebooks of {len(found.students)} students with {workers} workers{part}")
    try:
        reports.update(run_jobs(jobs, workers, guarded, book, log))
    finally:
        for change in files.restore():
            book.changed_files.append(_changed(change, "found at the end of the batch", log))
        files.clean_caches()
    book.reports = [reports[student, name] for student in found.students for name in releases
                    if (student, name) in reports]
    book.seconds = time.monotonic() - start
    return book


def protected_files(released: list[Path], options: Options) -> tuple[Files, dict[str, str], dict[str, str]]:
    """The course package, its data, the check packages and the release, read now; and how a private copy
    is laid out: {tree: folder in the copy} copied, and {tree: folder in the copy} linked (the data)."""
    import ptcourse
    from ptcourse.lessons.paths import DATA

    package = Path(ptcourse.__file__).resolve().parent
    trees = {"ptcourse": package}
    layout, links = {"ptcourse": "ptcourse"}, {}
    data = DATA.resolve()
    if data.is_dir():
        trees["data"] = data
        links["data"] = "ptcourse/data"  # where an installed package has it (ptcourse.lessons.paths looks there first)
    for name, top in check_package_folders(options).items():
        if top != package:
            trees[name], layout[name] = top, name
    for path in released:
        trees[f"release/{path.name}"] = path
    return Files(trees, import_folders(options.python_path)), layout, links


def check_package_folders(options: Options) -> dict[str, Path]:
    """{top-level package name: its folder} of each check package, resolved as the kernels will."""
    import importlib.util

    found = {}
    sys.path[:0] = list(options.python_path)
    importlib.invalidate_caches()
    try:
        for package in options.check_packages:
            top = package.split(".")[0]
            try:
                spec = importlib.util.find_spec(top)
            except ImportError:
                spec = None
            if spec is not None and spec.submodule_search_locations:
                found[top] = Path(list(spec.submodule_search_locations)[0]).resolve()
    finally:
        del sys.path[: len(options.python_path)]
    return found


_KEPT: list[Path] = []  # the folder (made once per process) that keeps what the grader found changed


def _changed(change: Change, by: str, log=lambda line: None) -> dict:
    """A restored file for the gradebook; its changed version is also kept on disk, in case it was yours."""
    text = None if change.after is None else change.after.decode("utf-8", "replace")
    if change.after is not None:
        if not _KEPT:
            _KEPT.append(Path(tempfile.mkdtemp(prefix="ptcourse-changed-")))
        kept = _KEPT[0] / f"{len(list(_KEPT[0].iterdir())):03d}-{change.path.replace('/', '--')}"
        kept.write_bytes(change.after)
        log(f"  {change.path} was changed during the batch and has been restored; the changed version is in {kept}")
    return {"path": change.path, "after": text, "by": by}


def run_jobs(jobs: list[Job], workers: int, guarded: Guarded, book: Gradebook, log) -> dict[tuple[str, str], NotebookReport]:
    """Grade the jobs `workers` at a time; then grade again, alone, the notebooks that may have changed files.

    A notebook whose own copy changed is graded again first: if it changes its copy again, it was the one.
    Otherwise (and for a change of the originals) every notebook that ran at the time is graded again.
    """
    reports: dict[tuple[str, str], NotebookReport] = {}
    intervals: dict[int, list[float]] = {}  # job index -> [start, end or inf]
    lock = threading.Lock()
    events: list[tuple[set[int], set[int]]] = []  # (graded again first, then if none of those did it)
    clean_since = time.monotonic()

    def run(index: int) -> Outcome:
        with lock:
            intervals[index] = [time.monotonic(), float("inf")]
        outcome = guarded.run(jobs[index])
        with lock:
            intervals[index][1] = outcome.end
        return outcome

    def overlapping(since: float, until: float) -> set[int]:
        with lock:
            return {i for i, (s, e) in intervals.items() if s <= until and e >= since}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run, i): i for i in range(len(jobs))}
        for done, future in enumerate(as_completed(futures), start=1):
            index = futures[future]
            outcome, job = future.result(), jobs[index]
            reports[job.student, job.release.name] = outcome.report
            now = time.monotonic()
            restored = guarded.files.restore()
            if restored:
                who = overlapping(clean_since, now)
                events.append((who, set()))
                names = ", ".join(f"{jobs[i].student}/{jobs[i].release.name}" for i in sorted(who))
                book.changed_files += [_changed(c, f"while these notebooks ran: {names}", log) for c in restored]
                log(f"  course files changed ({', '.join(c.path for c in restored)}): restored; "
                    f"{len(who)} notebook(s) will be graded again, one at a time")
            clean_since = now
            if outcome.copy_changes:
                events.append(({index}, overlapping(outcome.start, outcome.end) - {index}))
            report = outcome.report
            statuses = ", ".join(sorted({r.status for r in report.rows}))
            log(f"[{done}/{len(jobs)}] {job.student} {report.notebook}: {report.points:g}/{report.max_points:g} "
                f"({statuses}; {report.seconds:.1f} s)")

    again: dict[int, bool] = {}  # job index -> whether, graded alone, it changed files

    def alone(index: int) -> bool:
        if index in again:
            return again[index]
        job = jobs[index]
        outcome = guarded.run(job)
        restored = guarded.files.restore()
        changed = outcome.copy_changes + [c.path for c in restored]
        if changed:
            book.changed_files += [_changed(c, f"{job.student}/{job.release.name}", log) for c in restored]
            report = tampered_files(job.release, job.student, changed)
            report.source, report.language, report.notes = job.source, job.language, outcome.report.notes
            for flag in outcome.report.flags:
                report.flag(flag)
        else:
            report = outcome.report
            report.notes.append("graded again on its own: the course's files changed while it ran alongside other "
                                "notebooks, and this notebook did not change them")
        reports[job.student, job.release.name] = report
        log(f"  graded again alone: {job.student} {job.release.name}: "
            f"{'changed the course files' if changed else 'changed nothing'}")
        again[index] = bool(changed)
        return again[index]

    for first, then in events:
        found = [i for i in sorted(first) if alone(i)]
        if not found:
            found = [i for i in sorted(then) if alone(i)]
        if not found:
            for index in first | then:
                job = jobs[index]
                reports[job.student, job.release.name].flag(
                    "the course's files changed while this notebook ran alongside others; graded again alone, "
                    "nothing changed: look at its code")
    return reports
