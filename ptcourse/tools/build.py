"""Write the student notebooks (`notebooks/`) from the solution notebooks (`solutions/`).

    python -m ptcourse.tools.build            # frame the solutions, rewrite every student notebook
    python -m ptcourse.tools.build --check    # exit 1 if anything it writes is stale

First each solution notebook is framed in place (`framing.py`): the generated setup cell becomes its
first code cell and the progress cell its last cell. Then, for the student notebook:
- a code region between `### BEGIN SOLUTION` and `### END SOLUTION` becomes a stub that raises
  `NotImplementedError` naming the exercise (taken from the cell's `# Exercise N.M — title` line);
  in markdown the region becomes "YOUR ANSWER HERE";
- cells tagged `solution-only` are dropped;
- outputs and execution counts are cleared; cell ids, tags and `course` metadata are kept, so the
  grader can match a student's cells to the released ones.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from ptcourse.tools import framing, translate
from ptcourse.tools.conventions import CHECK, SOLUTION_ONLY, tags
from ptcourse.tools.repo import NOTEBOOKS, README, REPO, SOLUTIONS, lessons

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
EXERCISE_LINE = re.compile(r"^\s*#\s*(Exercise\s+\d+\.\d+[^\n]*)$", re.MULTILINE)
KEPT_CELL_METADATA = ("tags", "course", "editable", "deletable", "jupyter", "cellView")


class BuildError(Exception):
    """A solution notebook that cannot be turned into a student notebook."""


def exercise_title(cell) -> str | None:
    """`Exercise 3.2 — the backward pass` from the cell's header comment, if it has one."""
    match = EXERCISE_LINE.search(cell.source)
    return match.group(1).strip() if match else None


def has_solution(cell) -> bool:
    return any(line.strip() in (BEGIN, END) for line in cell.source.splitlines())


def strip_solution(cell, where: str) -> str:
    """The cell's source with each solution region replaced by a stub."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(cell.source.splitlines(), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise BuildError(f"{where}: nested '{BEGIN}' on line {number}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(stub(cell, indent, where))
        elif marker == END:
            if not inside:
                raise BuildError(f"{where}: '{END}' without '{BEGIN}' on line {number}")
            inside = False
        elif marker.startswith("### BEGIN") or marker.startswith("### END"):
            raise BuildError(f"{where}: unknown marker {marker!r} on line {number}")
        elif not inside:
            out.append(line)
    if inside:
        raise BuildError(f"{where}: '{BEGIN}' is never closed by '{END}'")
    return "\n".join(out)


def stub(cell, indent: str, where: str) -> list[str]:
    if cell.cell_type == "markdown":
        return [f"{indent}YOUR ANSWER HERE"]
    title = exercise_title(cell)
    if title is None:
        raise BuildError(f"{where}: a solution region needs a '# Exercise N.M — title' line in its cell")
    return [f"{indent}# YOUR CODE HERE", f"{indent}raise NotImplementedError({title + ' is not done yet'!r})"]


def student_cell(cell, where: str):
    metadata = {k: v for k, v in cell.metadata.items() if k in KEPT_CELL_METADATA}
    source = strip_solution(cell, where)
    if cell.cell_type == "code":
        new = nbformat.v4.new_code_cell(source, metadata=metadata)
    elif cell.cell_type == "markdown":
        new = nbformat.v4.new_markdown_cell(source, metadata=metadata)
        if "attachments" in cell:
            new["attachments"] = cell["attachments"]
    else:
        new = nbformat.v4.new_raw_cell(source, metadata=metadata)
    new["id"] = cell["id"]
    return new


def validate(nb, name: str) -> None:
    """Errors in the course's conventions that the build must not hide."""
    seen: set[str] = set()
    exercises: list[str] = []
    checks: list[str] = []
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index} (id {cell.get('id')})"
        if cell.get("id") in seen:
            raise BuildError(f"{where}: duplicate cell id")
        seen.add(cell.get("id"))
        if CHECK in tags(cell):
            course = cell.metadata.get("course", {})
            if "exercise" not in course or "points" not in course:
                raise BuildError(f"{where}: a check cell needs metadata course.exercise and course.points")
            checks.append(str(course["exercise"]))
        elif cell.cell_type == "code" and has_solution(cell):
            title = exercise_title(cell)
            if title is None:
                raise BuildError(f"{where}: a solution region needs a '# Exercise N.M — title' line in its cell")
            exercises.append(title.split()[1])
    missing = sorted(set(exercises) - set(checks))
    if missing:
        raise BuildError(f"{name}: exercise(s) {', '.join(missing)} have no check cell (tag 'check')")


def package_spec() -> str:
    """What the setup cells install outside a clone, from `[tool.ptcourse]` in pyproject.toml."""
    return framing.package_spec(framing.settings(REPO / "pyproject.toml"))


def framed(solution: Path, package: str | None = None, language: str = "en"):
    """A solution notebook with its current setup and progress cells (and, for another edition, its
    markdown translated and its setup cell choosing that language)."""
    nb = nbformat.read(solution, as_version=4)
    framing.frame(nb, package_spec() if package is None else package, language)
    if language != "en":
        translate.translated(nb, language, solution.name)
    return nb


def build_notebook(solution: Path, package: str | None = None, language: str = "en"):
    """The student notebook for one solution notebook (`package`: what its setup cell installs)."""
    nb = framed(solution, package, language)
    validate(nb, solution.name)
    cells = [
        student_cell(cell, f"{solution.name}, cell {index} (id {cell.get('id')})")
        for index, cell in enumerate(nb.cells)
        if SOLUTION_ONLY not in tags(cell)
    ]
    metadata = {k: nb.metadata[k] for k in ("kernelspec", "language_info", "course") if k in nb.metadata}
    student = nbformat.v4.new_notebook(cells=cells, metadata=metadata)
    student.nbformat_minor = max(nb.nbformat_minor, 5)
    return student


def render(solution: Path, package: str | None = None, language: str = "en") -> str:
    """The exact text of the student notebook, as written to disk."""
    return nbformat.writes(build_notebook(solution, package, language)) + "\n"


def edition_solution_text(solution: Path, language: str) -> str:
    """The solution notebook of another edition, as written to disk: the English one translated, with the
    stored outputs of the edition's own earlier run where a code cell is unchanged (others are unrun)."""
    nb = framed(solution, language=language)
    path = translate.edition_folders(language)[0] / solution.name
    earlier = {c.id: c for c in nbformat.read(path, as_version=4).cells} if path.is_file() else {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            old = earlier.get(cell.id)
            same = old is not None and old.cell_type == "code" and old.source == cell.source
            cell.outputs = old.outputs if same else []
            cell.execution_count = old.execution_count if same else None
    return nbformat.writes(nb) + "\n"


def writes() -> dict[Path, str]:
    """Every file the builder writes, with its text: student notebooks and every edition's notebooks."""
    out = {}
    for solution in lessons(SOLUTIONS):
        out[NOTEBOOKS / solution.name] = render(solution)
        for language in translate.EDITIONS:
            solutions, notebooks = translate.edition_folders(language)
            out[solutions / solution.name] = edition_solution_text(solution, language)
            out[notebooks / solution.name] = render(solution, language=language)
    return out


def framed_text(solution: Path) -> str:
    """The exact text of a solution notebook once framed (equal to the file when it is current)."""
    return nbformat.writes(framed(solution)) + "\n"


COURSE_MAP_ROW = re.compile(r"^(\| *\d\d *\| *\[[^]]+\]\(((?:\w\w/)?notebooks/\d\d_\w+\.ipynb)\))(?: \[!\[Open in Colab\]\([^)]*\)\]\([^)]*\))?( *\|.*)$")
COLAB_BADGE = " [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def readme_text(readme: Path = README) -> str:
    """The README with an "Open in Colab" badge on each course-map row, or none while no source is set."""
    config = framing.settings(REPO / "pyproject.toml")

    def row(match):
        url = framing.colab_url(config, match.group(2))
        return match.group(1) + (COLAB_BADGE.format(url=url) if url else "") + match.group(3)

    text = readme.read_text(encoding="utf-8")
    return "\n".join(COURSE_MAP_ROW.sub(row, line) for line in text.split("\n"))


def stale(solutions: Path = SOLUTIONS, notebooks: Path = NOTEBOOKS, readme: Path | None = README) -> list[str]:
    """What differs between `notebooks/` and what the builder would write there."""
    problems = []
    wanted = {p.name for p in lessons(solutions)}
    present = {p.name for p in lessons(notebooks)}
    problems += [f"notebooks/{n} is missing" for n in sorted(wanted - present)]
    problems += [f"notebooks/{n} has no solution notebook" for n in sorted(present - wanted)]
    for name in sorted(wanted):
        if (solutions / name).read_text(encoding="utf-8") != framed_text(solutions / name):
            problems.append(f"solutions/{name} lacks its current setup or progress cell "
                            "(run: python -m ptcourse.tools.build, then python -m ptcourse.tools.execute on it)")
    for name in sorted(wanted & present):
        if (notebooks / name).read_text(encoding="utf-8") != render(solutions / name):
            problems.append(f"notebooks/{name} differs from its build (run: python -m ptcourse.tools.build)")
    if solutions == SOLUTIONS:
        for path, text in writes().items():
            if path.parent.parent.name in translate.EDITIONS and (
                    not path.is_file() or path.read_text(encoding="utf-8") != text):
                problems.append(f"{path.relative_to(REPO).as_posix()} differs from its build "
                                "(run: python -m ptcourse.tools.build)")
    for path in ([readme, *(readme.with_suffix(f".{language}.md") for language in translate.EDITIONS)]
                 if readme is not None else []):
        if path.is_file() and path.read_text(encoding="utf-8") != readme_text(path):
            problems.append(f"{path.name}'s Open-in-Colab links differ from pyproject.toml (run: python -m ptcourse.tools.build)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report stale notebooks; exit 1 if any")
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = stale()
            print("\n".join(problems) or "student notebooks are up to date")
            return 1 if problems else 0
        for solution in lessons(SOLUTIONS):
            text = framed_text(solution)
            if solution.read_text(encoding="utf-8") != text:
                solution.write_text(text, encoding="utf-8")
                print(f"framed solutions/{solution.name}: execute it (python -m ptcourse.tools.execute solutions/{solution.name})")
        names = {p.name for p in lessons(SOLUTIONS)}
        for path, text in writes().items():
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(REPO).as_posix()}")
                if path.parent.name == "solutions" and '"execution_count": null' in text:
                    print(f"  execute it: python -m ptcourse.tools.execute {path.relative_to(REPO).as_posix()}")
        for folder in [NOTEBOOKS, *(f for language in translate.EDITIONS for f in translate.edition_folders(language))]:
            for orphan in [p for p in lessons(folder) if p.name not in names]:
                orphan.unlink()
                print(f"removed {orphan.relative_to(REPO).as_posix()} (no solution notebook)")
        for readme in [README, *(README.with_suffix(f".{language}.md") for language in translate.EDITIONS)]:
            if readme.is_file() and readme.read_text(encoding="utf-8") != readme_text(readme):
                readme.write_text(readme_text(readme), encoding="utf-8")
                print(f"wrote {readme.name}'s Open-in-Colab links")
    except BuildError as error:
        print(f"build error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
