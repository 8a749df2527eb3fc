"""What the grader needs from a released (student) notebook: exercises, points, locked cells, check names."""
from __future__ import annotations

import ast
from dataclasses import asdict, dataclass
from pathlib import Path

from ptcourse.tools.conventions import CHECK, LOCKED
from ptcourse.tools.conventions import tags as cell_tags  # cells here are plain dicts: workers never import nbformat

CHECK_PACKAGES = ("ptcourse.checks",)


@dataclass(frozen=True)
class Exercise:
    number: str  # "1.2"
    title: str  # "Exercise 1.2 — repair TinyNet"
    points: float
    check_id: str  # the check cell's id


@dataclass
class Release:
    """One released notebook, the reference a submission is matched against (by cell id)."""

    name: str  # "01_nn_module.ipynb"
    cells: list[dict]  # {"id", "cell_type", "source", "metadata": {"tags"}}, in release order
    exercises: list[Exercise]
    locked_ids: list[str]
    # name a check cell uses -> (module, attribute or None), from the release's own imports
    check_names: dict[str, tuple[str, str | None]]

    @classmethod
    def load(cls, path: Path, check_packages: tuple[str, ...] = CHECK_PACKAGES) -> "Release":
        # Imported here: nbformat takes seconds to import, and worker processes only get a Release's dict.
        import nbformat

        from ptcourse.tools.build import exercise_title

        nb = nbformat.read(path, as_version=4)
        cells = [{"id": c.id, "cell_type": c.cell_type, "source": c.source, "metadata": {"tags": cell_tags(c)}}
                 for c in nb.cells]
        titles = {t.split()[1]: t for t in map(exercise_title, nb.cells) if t and len(t.split()) > 1}
        checks = [c for c in nb.cells if CHECK in cell_tags(c)]
        exercises = []
        for cell in checks:
            number = str(cell.metadata["course"]["exercise"])
            exercises.append(Exercise(number, titles.get(number, f"Exercise {number}"),
                                      cell.metadata["course"]["points"], cell.id))
        return cls(path.name, cells, exercises, [c.id for c in nb.cells if LOCKED in cell_tags(c)],
                   check_bindings(cells, checks, check_packages))

    @property
    def max_points(self) -> float:
        return sum(e.points for e in self.exercises)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Release":
        return cls(**{**data, "exercises": [Exercise(**e) for e in data["exercises"]],
                      "check_names": {k: tuple(v) for k, v in data["check_names"].items()}})


def _parse(source: str) -> ast.AST:
    try:
        return ast.parse(source)
    except SyntaxError:  # IPython magics: such a cell imports no check module the grader could rebind
        return ast.Module(body=[], type_ignores=[])


def check_bindings(cells, check_cells, packages: tuple[str, ...]) -> dict[str, tuple[str, str | None]]:
    """Names the check cells use that the release binds by importing from a check package.

    `from ptcourse.checks import lesson01 as check` gives {"check": ("ptcourse.checks", "lesson01")}:
    the grader runs each check cell with these names bound to a fresh import, whatever the
    student's notebook did to them.
    """

    def is_check_module(name: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in packages)

    used = {node.id for cell in check_cells for node in ast.walk(_parse(cell["source"])) if isinstance(node, ast.Name)}
    bound: dict[str, tuple[str, str | None]] = {}
    for tree in [_parse(cell["source"]) for cell in cells if cell["cell_type"] == "code"]:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    name = alias.asname or alias.name.split(".")[0]
                    module = alias.name if alias.asname else name
                    if name in used and is_check_module(module):
                        bound[name] = (module, None)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    name = alias.asname or alias.name
                    if name in used and (is_check_module(node.module) or is_check_module(f"{node.module}.{alias.name}")):
                        bound[name] = (node.module, alias.name)
    return bound
