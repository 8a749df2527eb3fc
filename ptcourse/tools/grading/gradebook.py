"""Write what a batch found: `gradebook.csv` (one row per student × exercise, then each student's total)
and `feedback/<student>.md` (per notebook: the points, and each failing check's message quoted)."""
from __future__ import annotations

import csv
import itertools
from pathlib import Path

from ptcourse.tools.grading.batch import Gradebook
from ptcourse.tools.grading.notebook import PASSED, NotebookReport

COLUMNS = ("student", "notebook", "exercise", "points", "max_points", "status", "detail")
TOTAL = "TOTAL"


def write_csv(book: Gradebook, path: Path) -> None:
    """The gradebook; a student's last row has exercise `TOTAL` (leave those rows out when summing)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for student, group in itertools.groupby(book.rows, key=lambda r: r.student):
            rows = list(group)
            for r in rows:
                writer.writerow([r.student, r.notebook, r.exercise, f"{r.points:g}", f"{r.max_points:g}", r.status, r.detail])
            passed = sum(r.status == PASSED for r in rows)
            writer.writerow([student, "", TOTAL, f"{sum(r.points for r in rows):g}", f"{sum(r.max_points for r in rows):g}",
                             "", f"{passed} of {len(rows)} exercises passed"])


def quote(text: str) -> str:
    return "\n".join(f"    > {line}" if line else "    >" for line in text.splitlines())


def notebook_feedback(report: NotebookReport) -> list[str]:
    lines = [f"## {report.notebook}: {report.points:g} / {report.max_points:g} points", ""]
    if report.rows and len({(r.status, r.detail) for r in report.rows}) == 1 and report.rows[0].status != PASSED:
        return lines + [f"- {report.rows[0].status}: {report.rows[0].detail}", ""]  # missing, unreadable, ...
    for row in report.rows:
        mark = "✔" if row.status == PASSED else "✘"
        lines.append(f"- {mark} Exercise {row.exercise} ({row.points:g}/{row.max_points:g}): {row.status}")
        if row.status != PASSED and row.detail:
            lines.append(quote(row.detail))
    lines += [f"- note: {note}" for note in report.notes]
    return lines + [""]


def write_feedback(book: Gradebook, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for student, group in itertools.groupby(book.reports, key=lambda r: r.student):
        reports = list(group)
        points, most = sum(r.points for r in reports), sum(r.max_points for r in reports)
        lines = [f"# Feedback for {student}: {points:g} / {most:g} points", ""]
        notes = [f"- note: {note}" for note in book.notes.get(student, [])]
        lines += notes + [""] * bool(notes)
        for report in reports:
            lines += notebook_feedback(report)
        (folder / f"{student}.md").write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def write(book: Gradebook, out: Path) -> Path:
    """Write the gradebook and the feedback files under `out`; return the CSV's path."""
    out.mkdir(parents=True, exist_ok=True)
    write_csv(book, out / "gradebook.csv")
    write_feedback(book, out / "feedback")
    return out / "gradebook.csv"
