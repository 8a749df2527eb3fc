"""Find each student's notebooks, wherever in their folder they are and whatever they are called.

`SUBMISSIONS/<student>/` may hold the notebooks at its top, in subfolders (as unzipped archives have
them), under the released names or under others (`01_nn_module (1).ipynb`, `ada-lesson1.ipynb`).
Each file is recognised by what it holds (its cell ids and `# Exercise N.M` lines), so a notebook of
lesson 03 uploaded under lesson 01's name is graded as lesson 03, and lesson 01 is reported as a
wrong upload. `__MACOSX/`, `.ipynb_checkpoints/`, hidden folders and `._*` files are not submissions.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

IGNORED_FOLDERS = {"__MACOSX", "__pycache__", ".ipynb_checkpoints"}
IDS = re.compile(rb'"id"\s*:\s*"([^"\\]{1,80})"')
EXERCISES = re.compile(rb"#\s*Exercise\s+(\d+\.\d+)")


SETUP_LANGUAGE = re.compile(rb"set_language\(\\?['\"](\w+)\\?['\"]\)")


def edition_of(path: Path) -> str:
    """The edition of the course a notebook belongs to: its metadata's `course.language`, else the language
    its setup cell chooses (Colab may drop notebook metadata), else English."""
    raw = path.read_bytes()
    try:
        language = json.loads(raw).get("metadata", {}).get("course", {}).get("language")
    except (ValueError, AttributeError):
        language = None
    if isinstance(language, str) and language:
        return language
    match = SETUP_LANGUAGE.search(raw)
    return match.group(1).decode() if match else "en"


def ignored_name(name: str) -> bool:
    """Folders and files that are never a student's work (hidden, macOS archive metadata, checkpoints)."""
    return name.startswith(".") or name in IGNORED_FOLDERS


def keys(raw: bytes) -> set[tuple[str, str]]:
    """What identifies a lesson in a notebook's text: its cell ids and its exercise numbers."""
    return ({("id", m.decode("utf-8", "replace")) for m in IDS.findall(raw)}
            | {("exercise", m.decode()) for m in EXERCISES.findall(raw)})


def fingerprints(release_files: list[Path]) -> dict[str, set]:
    """Per released notebook, the keys no other released notebook has."""
    found = {p.name: keys(p.read_bytes()) for p in release_files}
    shared = {k for name, ks in found.items() for k in ks
              if any(k in other for other_name, other in found.items() if other_name != name)}
    return {name: ks - shared for name, ks in found.items()}


def identify(raw: bytes, prints: dict[str, set]) -> dict[str, float]:
    """How much of each released notebook this text holds (0 to 1), for the lessons it holds anything of."""
    mine = keys(raw)
    return {name: len(mine & ks) / len(ks) for name, ks in prints.items() if ks and mine & ks}


@dataclass
class Slot:
    """One lesson of one student: the file graded for it, or why there is none."""

    path: Path | None = None
    source: str = ""  # the file relative to the student's folder, when it is not `<lesson>` at the top
    holds: str = ""  # for a file named as this lesson that holds another one: that lesson


@dataclass
class Discovery:
    students: list[str]
    slots: dict[tuple[str, str], Slot]  # (student, lesson) -> what to grade, for the lessons being graded
    notes: dict[str, list[str]] = field(default_factory=dict)  # per student: what the grader noticed
    batch_notes: list[str] = field(default_factory=list)


def _notebooks(folder: Path) -> list[Path]:
    found = []
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if not ignored_name(f))
        found += [Path(root, f) for f in sorted(files) if f.endswith(".ipynb") and not ignored_name(f)]
    return found


def discover(submissions: Path, release_files: list[Path], graded: list[str]) -> Discovery:
    """Which file to grade for each student and each lesson in `graded` (release names)."""
    prints = fingerprints(release_files)
    released = {p.name for p in release_files}
    entries = sorted(submissions.iterdir())
    students = [d.name for d in entries if d.is_dir() and not ignored_name(d.name)]
    result = Discovery(students, {})
    for entry in entries:
        if entry.name == "__MACOSX":
            result.batch_notes.append("ignored __MACOSX/: the metadata a Mac adds to an archive, not a student")
        elif not entry.is_dir() and not ignored_name(entry.name):
            result.batch_notes.append(f"ignored {entry.name}: not inside a student's folder")
    for student in students:
        folder = submissions / student
        notes = result.notes.setdefault(student, [])
        candidates: dict[str, list[tuple]] = {}
        misnamed: dict[str, tuple[str, str]] = {}  # lesson -> (file named as it, the lesson that file holds)
        for path in _notebooks(folder):
            relative = path.relative_to(folder).as_posix()
            try:
                scores = identify(path.read_bytes(), prints)
            except OSError as error:
                notes.append(f"ignored {relative}: it cannot be read ({error.strerror})")
                continue
            holds = max(scores, key=lambda name: (scores[name], name)) if scores else ""
            named = path.name if path.name in released else ""
            if named and (not holds or scores.get(named, 0) * 2 >= scores[holds]):
                holds = named  # a file under a lesson's name is that lesson, unless it clearly holds another
            if named and holds != named:
                misnamed.setdefault(named, (relative, holds))
                notes.append(f"{relative} holds {holds}, not {named}")
            if holds:
                # prefer the released name, then the shallowest file, then the newest, then the path
                rank = (path.name != holds, relative.count("/"), -_mtime(path), relative)
                candidates.setdefault(holds, []).append((rank, path, relative))
            else:
                notes.append(f"ignored {relative}: it is not a notebook of this course "
                             "(none of its cell ids or exercises is a lesson's)")
        for lesson in graded:
            found = sorted(candidates.get(lesson, []))
            if found:
                _, path, relative = found[0]
                result.slots[student, lesson] = Slot(path, "" if relative == lesson else relative)
                if relative != lesson:
                    notes.append(f"graded {relative} as {lesson}")
                notes += [f"ignored {other}: another copy of {lesson} (graded: {relative})" for _, _, other in found[1:]]
            elif lesson in misnamed:
                source, holds = misnamed[lesson]
                result.slots[student, lesson] = Slot(source=source, holds=holds)
            else:
                result.slots[student, lesson] = Slot()
    return result


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
