"""Grade a folder of submissions, `SUBMISSIONS/<student>/<NN_topic>.ipynb`, in parallel worker processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ptcourse.tools.grading.notebook import ERROR, MISSING, TIMEOUT, NotebookReport, Options, same_rows
from ptcourse.tools.grading.release import Release
from ptcourse.tools.repo import NOTEBOOKS, lessons

WORKER = ["-m", "ptcourse.tools.grading.worker"]  # run with this Python, plus the job file
WORKER_GRACE_S = 180  # beyond the notebook budget: worker and kernel start-up, cleanup


@dataclass
class Gradebook:
    reports: list[NotebookReport]  # by student, then in release order
    notes: dict[str, list[str]] = field(default_factory=dict)  # per student: what the grader noticed
    seconds: float = 0.0

    @property
    def rows(self):
        return [row for report in self.reports for row in report.rows]

    @property
    def submitted(self) -> list[NotebookReport]:
        return [r for r in self.reports if not r.rows or r.rows[0].status != MISSING]

    def report(self, student: str, notebook: str) -> NotebookReport:
        return next(r for r in self.reports if r.student == student and r.notebook == notebook)

    def totals(self) -> dict[str, tuple[float, float]]:
        """{student: (points, max_points)} over the graded notebooks, submitted or not."""
        totals: dict[str, tuple[float, float]] = {}
        for row in self.rows:
            points, most = totals.get(row.student, (0, 0))
            totals[row.student] = (points + row.points, most + row.max_points)
        return totals


def default_workers() -> int:
    """One kernel per core the grader may use (each kernel runs one thread)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def run_worker(student: str, release: Release, submission: Path, options: Options) -> NotebookReport:
    """Grade one notebook in a worker process; a worker that fails or hangs still gives a report."""
    with tempfile.TemporaryDirectory(prefix="ptcourse-job-") as tmp:
        job, result, log = Path(tmp, "job.json"), Path(tmp, "result.json"), Path(tmp, "stderr.txt")
        job.write_text(json.dumps({"student": student, "release": release.to_dict(), "submission": str(submission),
                                   "result": str(result), "options": options.to_dict()}), encoding="utf-8")
        limit = options.limits.notebook_timeout + WORKER_GRACE_S
        with open(log, "wb") as stderr:
            worker = subprocess.Popen([sys.executable, *WORKER, str(job)],
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


def grade_folder(
    submissions: Path,
    release_dir: Path = NOTEBOOKS,
    only: list[str] | None = None,
    workers: int | None = None,
    options: Options | None = None,
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
) -> Gradebook:
    """Grade every student folder of `submissions` against the notebooks of `release_dir`.

    `only`: lesson names or prefixes ("01", "06_collate_fn.ipynb") to grade; default all. A lesson a
    student did not submit gives rows with status "missing notebook".
    """
    options = options or Options()
    workers = workers or default_workers()
    start = time.monotonic()
    released = lessons(release_dir)
    chosen = [p for p in released if not only or any(p.name.startswith(s) for s in only)]
    releases = {p.name: Release.load(p, options.check_packages) for p in chosen}
    students = sorted(d for d in submissions.iterdir() if d.is_dir() and not d.name.startswith("."))
    reports: dict[tuple[str, str], NotebookReport] = {}
    notes: dict[str, list[str]] = {}
    jobs = []
    names = {p.name for p in released}
    for folder in students:
        notes[folder.name] = [f"ignored {p.name}: no released notebook has that name"
                              for p in sorted(folder.glob("*.ipynb")) if p.name not in names]
        for name, release in releases.items():
            if (folder / name).is_file():
                jobs.append((folder.name, release, folder / name))
            else:
                reports[folder.name, name] = same_rows(release, folder.name, MISSING, f"no {name} was submitted")
    log(f"grading {len(jobs)} notebooks of {len(students)} students with {workers} workers")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_worker, *job, options): job for job in jobs}
        for done, future in enumerate(as_completed(futures), start=1):
            student, report = futures[future][0], future.result()
            reports[student, report.notebook] = report
            statuses = ", ".join(sorted({r.status for r in report.rows}))
            log(f"[{done}/{len(jobs)}] {student} {report.notebook}: {report.points:g}/{report.max_points:g} "
                f"({statuses}; {report.seconds:.1f} s)")
    ordered = [reports[folder.name, name] for folder in students for name in releases]
    return Gradebook(ordered, notes, time.monotonic() - start)
