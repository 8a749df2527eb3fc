"""Grading with plain nbval stays honest (docs/grading.md, "Grading one notebook with plain nbval").

In a student's notebook a check prints a line and never raises, so that Run All reaches the end. The
course's pytest plugin makes the kernels that nbval starts graded, so the command the docs give still
fails every unfinished and every wrong exercise's check cell, and no other cell. These tests run that
exact command (read from the docs) from the clone's root, without the variable the plugin sets.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from ptcourse.checks.mode import GRADED_ENV
from ptcourse.tools.build import render
from ptcourse.tools.conventions import CHECK, tags
from ptcourse.tools.repo import REPO, SOLUTIONS

FIXTURES = Path(__file__).parent / "fixtures" / "grading"
DOCS = REPO / "docs" / "grading.md"


def docs_command() -> str:
    """The command in the docs' section on plain nbval, for the notebook it names."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Grading one notebook with plain nbval"):]
    block = re.search(r"```bash\n(.*?)\n```", section, re.S).group(1).strip()
    assert block.endswith("SUBMISSIONS/ada/01_nn_module.ipynb"), block
    return block.removesuffix("SUBMISSIONS/ada/01_nn_module.ipynb")


def run_nbval(notebooks: list[Path], python_path: str = "") -> tuple[dict[Path, set[int]], str]:
    """Run the docs' command on the notebooks; return the failed cells (nbval's code-cell numbers) of each."""
    env = {k: v for k, v in os.environ.items() if k != GRADED_ENV}  # the plugin, not this test, must set it
    if python_path:
        env["PYTHONPATH"] = os.pathsep.join([python_path, env.get("PYTHONPATH", "")])
    command = (docs_command().replace(" python ", f" {shlex.quote(sys.executable)} ", 1)
               + " ".join(shlex.quote(str(path)) for path in notebooks))
    done = subprocess.run(["bash", "-c", command], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    output = done.stdout + done.stderr
    failed: dict[Path, set[int]] = {path: set() for path in notebooks}
    for line in output.splitlines():
        match = re.match(r"FAILED (\S+)::Cell (\d+)", line)
        if match:
            path = next(p for p in notebooks if match.group(1).endswith(p.name) and p.parent.name in match.group(1))
            failed[path].add(int(match.group(2)))
    return failed, output


def check_cells(text: str) -> set[int]:
    """nbval's numbers of the check cells (it numbers the code cells from 0)."""
    code = [c for c in nbformat.reads(text, as_version=4).cells if c.cell_type == "code"]
    return {i for i, c in enumerate(code) if CHECK in tags(c)}


def code_cell(text: str, cell_id: str) -> int:
    code = [c for c in nbformat.reads(text, as_version=4).cells if c.cell_type == "code"]
    return next(i for i, c in enumerate(code) if c.id == cell_id)


def submissions(tmp_path: Path, solution: Path, exercise: str, wrong: str) -> tuple[Path, Path]:
    """The untouched release and a solution with one wrong answer, as SUBMISSIONS/<student>/<lesson>."""
    release = tmp_path / "SUBMISSIONS" / "ada" / solution.name
    one_wrong = tmp_path / "SUBMISSIONS" / "bob" / solution.name
    for path in (release, one_wrong):
        path.parent.mkdir(parents=True)
    release.write_text(render(solution), encoding="utf-8")
    nb = json.loads(solution.read_text(encoding="utf-8"))
    next(c for c in nb["cells"] if c.get("id") == exercise)["source"] = wrong
    one_wrong.write_text(json.dumps(nb), encoding="utf-8")
    return release, one_wrong


def test_plain_nbval_fails_exactly_the_unfinished_and_wrong_checks(tmp_path):
    """On the fixture lesson (its checks speak to a student or raise, as the course's do)."""
    solution = FIXTURES / "solutions" / "99_tiny.ipynb"
    wrong = "# Exercise 99.2 — mean\ndef mean(xs):\n    return sum(xs)"
    release, one_wrong = submissions(tmp_path, solution, "ex-99-2", wrong)
    failed, output = run_nbval([release, one_wrong], python_path=str(FIXTURES))
    assert failed[release] == check_cells(release.read_text(encoding="utf-8")), output
    assert failed[one_wrong] == {code_cell(one_wrong.read_text(encoding="utf-8"), "check-99-2")}, output
    assert re.search(r"\b4 failed, 18 passed\b", output), output


@pytest.mark.heavy
def test_plain_nbval_on_a_real_lesson(tmp_path):
    """The same on lesson 01 with the course's own checks (about a minute: two kernels import torch)."""
    solution = next(SOLUTIONS.glob("01_*.ipynb"))
    wrong = ("# Exercise 1.1 — MyLinear\nclass MyLinear(nn.Module):\n"
             "    def __init__(self, in_features, out_features, bias=True):\n        super().__init__()\n"
             "        self.weight = nn.Parameter(torch.randn(out_features, in_features))\n"
             "        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None\n\n"
             "    def forward(self, x):\n        return x @ self.weight.T  # forgets the bias\n")
    release, one_wrong = submissions(tmp_path, solution, "ex-1-1", wrong)
    failed, output = run_nbval([release, one_wrong])
    assert failed[release] == check_cells(release.read_text(encoding="utf-8")), output
    assert failed[one_wrong] == {code_cell(one_wrong.read_text(encoding="utf-8"), "check-1-1")}, output
