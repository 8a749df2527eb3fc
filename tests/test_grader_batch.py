"""The grader on a folder as an instructor receives it: notebooks in subfolders, renamed, uploaded under
the wrong lesson's name, archive debris; its exports (wide CSV, Canvas, Gradescope); sharded runs merged.

Two fixture lessons (98 and 99, tests/fixtures/grading/) and five students, graded with the command line.
"""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from ptcourse.tools.build import render
from ptcourse.tools.grade import main as grade_cli
from ptcourse.tools.grading.gradebook import MergeError, merge

FIXTURES = Path(__file__).parent / "fixtures" / "grading"
SOLUTIONS = {p.name: p for p in (FIXTURES / "solutions").glob("*.ipynb")}
T99, T98 = "99_tiny.ipynb", "98_other.ipynb"


def submissions(root: Path) -> Path:
    def put(relative: str, text: str | bytes) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))

    solution = {name: path.read_text(encoding="utf-8") for name, path in SOLUTIONS.items()}
    put(f"ada/{T99}", solution[T99])
    put(f"ada/{T98}", solution[T98])
    put(f"bob/Lesson files/{T99}", render(SOLUTIONS[T99]))  # unzipped with its folder
    put(f"bob/__MACOSX/Lesson files/._{T99}", b"\x00\x05\x16\x07 Mac OS X resource fork")
    put("bob/.ipynb_checkpoints/99_tiny-checkpoint.ipynb", solution[T99])  # a checkpoint is not a submission
    put(f"cy/{T99}", solution[T98])  # lesson 98 uploaded under lesson 99's name
    put("dee/99_tiny (1).ipynb", solution[T99])  # as a browser renames a second download
    put("dee/notes.ipynb", json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}))
    put(f"eve/{T99}", solution[T99][:300])  # cut short
    put(f"__MACOSX/ada/._{T99}", b"\x00\x05\x16\x07")
    put("README.txt", "hand-in instructions")
    return root


def grade(root: Path, out: Path, *more: str) -> int:
    return grade_cli([str(root / "in"), "--out", str(out), "--release", str(root / "release"),
                      "--check-package", "tinychecks", "--python-path", str(FIXTURES), "--workers", "2", *more])


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    (root / "release").mkdir()
    for name, path in SOLUTIONS.items():
        (root / "release" / name).write_text(render(path), encoding="utf-8")
    submissions(root / "in")
    assert grade(root, root / "out") == 0
    return root


def rows(out: Path, name: str = "gradebook.csv") -> list[dict]:
    return list(csv.DictReader((out / name).open(encoding="utf-8")))


def statuses(out: Path) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for row in rows(out):
        if row["exercise"] != "TOTAL":
            found.setdefault((row["student"], row["notebook"]), set()).add(row["status"])
    return found


def test_every_notebook_is_found_and_recognised(batch):
    assert statuses(batch / "out") == {
        ("ada", T98): {"passed"}, ("ada", T99): {"passed"},
        ("bob", T98): {"missing notebook"}, ("bob", T99): {"not attempted"},
        ("cy", T98): {"passed"}, ("cy", T99): {"wrong notebook"},
        ("dee", T98): {"missing notebook"}, ("dee", T99): {"passed"},
        ("eve", T98): {"missing notebook"}, ("eve", T99): {"unreadable notebook"},
    }


def test_what_the_grader_did_is_said(batch):
    wrong = next(r for r in rows(batch / "out") if r["student"] == "cy" and r["notebook"] == T99)
    assert wrong["detail"] == f"{T99} holds {T98}, not {T99}"
    feedback = {s: (batch / "out" / "feedback" / f"{s}.md").read_text(encoding="utf-8") for s in ("bob", "cy", "dee")}
    assert f"graded Lesson files/{T99} as {T99}" in feedback["bob"]
    assert "checkpoint" not in feedback["bob"] and "MACOSX" not in feedback["bob"]
    assert f"graded {T99} as {T98}" in feedback["cy"]
    assert f"graded 99_tiny (1).ipynb as {T99}" in feedback["dee"]
    assert "ignored notes.ipynb: it is not a notebook of this course" in feedback["dee"]
    notes = (batch / "out" / "batch.md").read_text(encoding="utf-8")
    assert "ignored __MACOSX/" in notes and "ignored README.txt: not inside a student's folder" in notes
    assert not (batch / "out" / "feedback" / "__MACOSX.md").exists()


def test_the_wide_csv_has_one_row_per_student(batch):
    wide = rows(batch / "out", "gradebook-wide.csv")
    assert list(wide[0]) == ["student", "Exercise 98.1 — triple", "Exercise 99.1 — double", "Exercise 99.2 — mean",
                             "Exercise 99.3 — a counter", "total"]
    assert {r["student"]: r["total"] for r in wide} == {"ada": "5", "bob": "0", "cy": "1", "dee": "4", "eve": "0"}


def test_canvas_csv_and_a_roster(batch, tmp_path):
    canvas = list(csv.reader((batch / "out" / "canvas.csv").open(encoding="utf-8")))
    assert canvas[0][:6] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Exercise 98.1 — triple"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "1", "1", "2", "1", "5"]
    assert canvas[2][:5] == ["ada", "", "", "ada", ""] and canvas[2][-1] == "5"
    roster = tmp_path / "export.csv"  # the first lines of a gradebook exported from Canvas
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (4411)\n"
                      "    Points Possible,,,,,10\n"
                      '"Lovelace, Ada",1201,S-77,ada,Section A,9\n', encoding="utf-8")
    assert grade(batch, tmp_path / "again", "--roster", str(roster), "--only", "98") == 0
    again = list(csv.reader((tmp_path / "again" / "canvas.csv").open(encoding="utf-8")))
    assert again[2][:5] == ["Lovelace, Ada", "1201", "S-77", "ada", "Section A"]
    assert again[3][:5] == ["bob", "", "", "bob", ""]
    assert "the roster has no row for bob, cy, dee, eve" in (tmp_path / "again" / "batch.md").read_text(encoding="utf-8")


def test_gradescope_results_per_student(batch):
    ada = json.loads((batch / "out" / "gradescope" / "ada.json").read_text(encoding="utf-8"))
    assert ada["score"] == 5 and len(ada["tests"]) == 4
    assert (f"{T99} · Exercise 99.2 — mean", 2, 2, "passed") in {
        (t["name"], t["score"], t["max_score"], t["status"]) for t in ada["tests"]}
    results = json.loads((batch / "out" / "gradescope" / "cy.json").read_text(encoding="utf-8"))
    assert results["score"] == 1
    by_name = {t["name"]: t for t in results["tests"]}
    assert by_name[f"{T99} · Exercise 99.1 — double"]["output"].startswith("wrong notebook: ")
    assert set(results) == {"score", "output", "tests"}
    assert all(set(t) == {"name", "number", "score", "max_score", "status", "output"} for t in results["tests"])


def test_merging_rejects_incomplete_shards(tmp_path, batch):
    part = tmp_path / "shard-1-of-2.json"
    shutil.copy(next((batch / "out").glob("*.csv")), tmp_path / "not-a-shard.csv")
    with pytest.raises(MergeError, match="no shard files"):
        merge([tmp_path])
    part.write_text(json.dumps({"reports": [], "notes": {}, "seconds": 0, "batch_notes": [], "changed_files": [],
                                "shard": [1, 2], "students": ["ada"], "lessons": [T99]}), encoding="utf-8")
    with pytest.raises(MergeError, match="needs each of 1..2 once"):
        merge([part])


@pytest.mark.heavy
def test_shards_merged_equal_one_run(batch, tmp_path):
    """`--shard K/N` for every K, then `merge`: exactly the files one unsharded run writes (timings aside)."""
    for k in (1, 2, 3):
        assert grade(batch, tmp_path / "parts", "--shard", f"{k}/3") == 0
    assert sorted(p.name for p in (tmp_path / "parts").iterdir()) == [f"shard-{k}-of-3.json" for k in (1, 2, 3)]
    assert grade_cli(["merge", str(tmp_path / "parts"), "--out", str(tmp_path / "merged")]) == 0
    one = {p.relative_to(batch / "out"): p.read_bytes() for p in (batch / "out").rglob("*") if p.is_file()}
    merged = {p.relative_to(tmp_path / "merged"): p.read_bytes() for p in (tmp_path / "merged").rglob("*") if p.is_file()}
    assert sorted(one) == sorted(merged)
    timings = Path("timings.csv")
    assert {k: v for k, v in one.items() if k != timings} == {k: v for k, v in merged.items() if k != timings}
