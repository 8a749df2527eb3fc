"""Write what a batch found, for the instructor, the students and a learning-management system:

- `gradebook.csv`: one row per student × exercise (with a review flag), then each student's total;
- `gradebook-wide.csv`: one row per student, one column per exercise, and the total (spreadsheets, Moodle);
- `canvas.csv`: the same scores in the shape Canvas imports (its identity columns, a Points Possible row);
- `gradescope/<student>.json`: each student's results in the shape of a Gradescope autograder's results.json;
- `feedback/<student>.md`: per notebook, the points and each failing check's message quoted;
- `batch.md`: what the grader noticed about the batch (ignored files, course files it restored, whose changed
  versions go to `changed-files/`);
- `timings.csv`: where each notebook's time went (it differs run to run; not part of the gradebook).

A sharded run writes `shard-K-of-N.json` instead; `merge` joins the parts into exactly these files.
"""
from __future__ import annotations

import csv
import itertools
import json
import re
from pathlib import Path

from ptcourse import i18n
from ptcourse.i18n import _
from ptcourse.tools.grading.batch import Gradebook
from ptcourse.tools.grading.notebook import PASSED, PHASES, REVIEW, NotebookReport

COLUMNS = ("student", "notebook", "exercise", "points", "max_points", "status", "detail", "flag")
TOTAL = "TOTAL"
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
POINTS_POSSIBLE = "Points Possible"
SHARD_FILE = re.compile(r"shard-(\d+)-of-(\d+)\.json$")


def write_csv(book: Gradebook, path: Path) -> None:
    """The gradebook; a student's last row has exercise `TOTAL` (leave those rows out when summing)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for student, group in itertools.groupby(book.rows, key=lambda r: r.student):
            rows = list(group)
            for r in rows:
                writer.writerow([r.student, r.notebook, r.exercise, f"{r.points:g}", f"{r.max_points:g}", r.status,
                                 r.detail, r.flag])
            passed = sum(r.status == PASSED for r in rows)
            flagged = sum(bool(r.flag) for r in rows)
            writer.writerow([student, "", TOTAL, f"{sum(r.points for r in rows):g}", f"{sum(r.max_points for r in rows):g}",
                             "", f"{passed} of {len(rows)} exercises passed",
                             f"{REVIEW}{flagged} flagged row(s)" if flagged else ""])


def exercise_columns(book: Gradebook) -> list[tuple[str, str, str, float]]:
    """(notebook, exercise, column name, max points) of every exercise of the batch, in course order."""
    columns = {}
    for report in book.reports:
        for row in report.rows:
            columns.setdefault((row.notebook, row.exercise), (row.title or f"Exercise {row.exercise}", row.max_points))
    order = {name: i for i, name in enumerate(book.lessons)}
    return [(n, e, name, most) for (n, e), (name, most) in sorted(columns.items(), key=lambda kv: order.get(kv[0][0], 0))]


def scores(book: Gradebook) -> dict[str, dict[tuple[str, str], float]]:
    table: dict[str, dict[tuple[str, str], float]] = {}
    for row in book.rows:
        table.setdefault(row.student, {})[row.notebook, row.exercise] = row.points
    return table


def write_wide(book: Gradebook, path: Path) -> None:
    """One row per student: `student`, one column per exercise (its points), `total`."""
    columns, table = exercise_columns(book), scores(book)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *(name for _, _, name, _ in columns), "total"])
        for student, points in table.items():
            values = [points.get((n, e), 0) for n, e, _, _ in columns]
            writer.writerow([student, *(f"{v:g}" for v in values), f"{sum(values):g}"])


def read_roster(path: Path) -> list[dict[str, str]]:
    """The rows of a gradebook exported from Canvas (its identity columns are what an import matches)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        return [row for row in csv.DictReader(f)
                if (student := (row.get("Student") or "").strip()) and POINTS_POSSIBLE not in student]


def canvas_identity(student: str, roster: list[dict[str, str]]) -> list[str] | None:
    """The five columns Canvas matches a row by, from the roster row whose login, SIS or Canvas id, or name
    is the student's folder name (None when no row is)."""
    for row in roster:
        if student in ((row.get(column) or "").strip() for column in ("SIS Login ID", "SIS User ID", "ID", "Student")):
            return [row.get(column, "") or "" for column in CANVAS_IDENTITY]
    return None


def write_canvas(book: Gradebook, path: Path, roster: list[dict[str, str]] | None = None) -> list[str]:
    """Canvas's gradebook import shape; returns the students the roster (if any) did not know."""
    columns, table = exercise_columns(book), scores(book)
    unknown = []
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        total = "PyTorch basics: total"
        writer.writerow([*CANVAS_IDENTITY, *(name for _, _, name, _ in columns), total])
        writer.writerow([POINTS_POSSIBLE, "", "", "", "", *(f"{most:g}" for *_, most in columns),
                         f"{sum(most for *_, most in columns):g}"])
        for student, points in table.items():
            identity = canvas_identity(student, roster or [])
            if identity is None:  # not in the roster (or no roster): the folder name as name and SIS Login ID
                identity = [student, "", "", student, ""]
                if roster:
                    unknown.append(student)
            values = [points.get((n, e), 0) for n, e, _, _ in columns]
            writer.writerow([*identity, *(f"{v:g}" for v in values), f"{sum(values):g}"])
    return unknown


def gradescope_results(reports: list[NotebookReport]) -> dict:
    """One student's results in the shape of a Gradescope autograder's `results.json`."""
    tests = []
    for report in reports:
        for row in report.rows:
            output = f"{row.status}: {row.detail}" if row.detail else row.status
            if row.flag:
                output += f"\n({row.flag})"
            tests.append({"name": f"{report.notebook} · {row.title or 'Exercise ' + row.exercise}",
                          "number": row.exercise, "score": row.points, "max_score": row.max_points,
                          "status": "passed" if row.status == PASSED else "failed", "output": output})
    score = sum(t["score"] for t in tests)
    most = sum(t["max_score"] for t in tests)
    return {"score": score, "output": f"{score:g} of {most:g} points", "tests": tests}


def write_gradescope(book: Gradebook, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for student, group in itertools.groupby(book.reports, key=lambda r: r.student):
        (folder / f"{student}.json").write_text(json.dumps(gradescope_results(list(group)), indent=1,
                                                           ensure_ascii=False) + "\n", encoding="utf-8")


def quote(text: str) -> str:
    return "\n".join(f"    > {line}" if line else "    >" for line in text.splitlines())


def notebook_feedback(report: NotebookReport) -> list[str]:
    lines = [_("## {notebook}: {points} / {most} points").format(
        notebook=report.notebook, points=f"{report.points:g}", most=f"{report.max_points:g}"), ""]
    if report.source:
        lines += [_("(graded from {source})").format(source=report.source), ""]
    if report.rows and len({(r.status, r.detail) for r in report.rows}) == 1 and report.rows[0].status != PASSED:
        lines += [f"- {_(report.rows[0].status)}: {report.rows[0].detail}"]  # missing, unreadable, ...
    else:
        for row in report.rows:
            mark = "✔" if row.status == PASSED else "✘"
            lines.append(_("- {mark} Exercise {number} ({points}/{most}): {status}").format(
                mark=mark, number=row.exercise, points=f"{row.points:g}", most=f"{row.max_points:g}",
                status=_(row.status)))
            if row.status != PASSED and row.detail:
                lines.append(quote(row.detail))
            exercise_flag = row.flag.removeprefix(REVIEW).split("; ") if row.flag else []
            for reason in [r for r in exercise_flag if r not in report.flags]:
                lines.append(_("    - flagged for review: {reason}").format(reason=reason))
    lines += [_("- note: {note}").format(note=note) for note in report.notes]
    lines += [_("- flagged for review: {reason}").format(reason=flag) for flag in report.flags]
    return lines + [""]


def write_feedback(book: Gradebook, folder: Path) -> None:
    """One Markdown file per student, in the language of their submissions (the first one's, if mixed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for student, group in itertools.groupby(book.reports, key=lambda r: r.student):
        reports = list(group)
        submitted = [r.language for r in reports if r.language != "en"]
        with i18n.speaking(submitted[0] if submitted else "en"):
            points, most = sum(r.points for r in reports), sum(r.max_points for r in reports)
            lines = [_("# Feedback for {student}: {points} / {most} points").format(
                student=student, points=f"{points:g}", most=f"{most:g}"), ""]
            notes = [_("- note: {note}").format(note=note) for note in book.notes.get(student, [])]
            lines += notes + [""] * bool(notes)
            for report in reports:
                lines += notebook_feedback(report)
        (folder / f"{student}.md").write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def write_batch(book: Gradebook, path: Path) -> None:
    """What the grader noticed about the batch as a whole, for the instructor."""
    flagged = sorted({(r.student, r.notebook) for r in book.rows if r.flag})
    lines = ["# Grading batch", ""]
    lines += [f"- {note}" for note in book.batch_notes] or ["- nothing to note about the submissions folder"]
    lines += ["", f"## Submissions flagged for review: {len(flagged)}", ""]
    lines += [f"- {student}/{notebook}" for student, notebook in flagged]
    lines += ["", f"## Course files changed during the batch, and restored: {len(book.changed_files)}", ""]
    for number, change in enumerate(book.changed_files, start=1):
        if change["after"] is None:
            lines.append(f"- {change['path']} ({change['by']}): deleted")
            continue
        kept = path.parent / "changed-files" / f"{number:03d}-{change['path'].replace('/', '--')}"
        kept.parent.mkdir(exist_ok=True)
        kept.write_text(change["after"], encoding="utf-8")
        lines.append(f"- {change['path']} ({change['by']}): what was written is in {kept.relative_to(path.parent)}")
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def write_timings(book: Gradebook, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "notebook", "seconds", *PHASES])
        for r in book.reports:
            if r.timings:
                writer.writerow([r.student, r.notebook, f"{r.seconds:.2f}", *(f"{r.timings.get(p, 0):.2f}" for p in PHASES)])


def write(book: Gradebook, out: Path, roster: list[dict[str, str]] | None = None) -> Path:
    """Write every file of the gradebook under `out`; return the long CSV's path. A shard writes its part."""
    out.mkdir(parents=True, exist_ok=True)
    if book.shard[1] > 1:
        part = out / f"shard-{book.shard[0]}-of-{book.shard[1]}.json"
        data = book.to_dict()
        for report in data["reports"]:
            report["cells"] = []  # what each cell printed: not in any file the gradebook writes
        part.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        return part
    write_csv(book, out / "gradebook.csv")
    write_wide(book, out / "gradebook-wide.csv")
    unknown = write_canvas(book, out / "canvas.csv", roster)
    if unknown:
        book.batch_notes.append(f"canvas.csv: the roster has no row for {', '.join(unknown)} (their rows give the "
                                "folder name as the SIS Login ID)")
    write_gradescope(book, out / "gradescope")
    write_feedback(book, out / "feedback")
    write_batch(book, out / "batch.md")
    write_timings(book, out / "timings.csv")
    return out / "gradebook.csv"


class MergeError(Exception):
    """Shard files that do not make one whole batch."""


def merge(paths: list[Path]) -> Gradebook:
    """The gradebook of the whole batch from its shards' files (or folders holding them)."""
    files = []
    for path in paths:
        files += sorted(path.glob("shard-*-of-*.json")) if path.is_dir() else [path]
    parts = []
    for file in files:
        match = SHARD_FILE.search(file.name)
        if not match:
            raise MergeError(f"{file} is not a shard file (shard-K-of-N.json)")
        parts.append(Gradebook.from_dict(json.loads(file.read_text(encoding="utf-8"))))
    if not parts:
        raise MergeError("no shard files (shard-K-of-N.json) found")
    total = parts[0].shard[1]
    have = sorted(p.shard[0] for p in parts)
    if any(p.shard[1] != total for p in parts) or have != list(range(1, total + 1)):
        raise MergeError(f"the shards found are {have} of {sorted({p.shard[1] for p in parts})}; "
                         f"a batch of {total} needs each of 1..{total} once")
    first = parts[0]
    for part in parts[1:]:
        if (part.students, part.lessons) != (first.students, first.lessons):
            raise MergeError("the shards graded different students or lessons (different SUBMISSIONS, --only or release)")
    reports = {(r.student, r.notebook): r for part in parts for r in part.reports}
    wanted = [(s, n) for s in first.students for n in first.lessons]
    missing = [key for key in wanted if key not in reports]
    if missing or sum(len(p.reports) for p in parts) != len(wanted):
        raise MergeError(f"the shards do not cover every notebook exactly once (missing: {missing[:3]})")
    return Gradebook([reports[key] for key in wanted], first.notes, max(p.seconds for p in parts),
                     list(dict.fromkeys(n for p in parts for n in p.batch_notes)),
                     [c for p in parts for c in p.changed_files], (1, 1), first.students, first.lessons)
