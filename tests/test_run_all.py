"""Run All on every untouched student notebook reaches the last cell, in a runner that ignores cell tags.

Google Colab and some editors ignore the `raises-exception` tag, so the notebooks are run here with
every tag removed, in a student's (ungraded) kernel: no cell may raise, every check prints its one
"not done yet" line, and the progress cell lists every exercise as not done.
"""
from __future__ import annotations

import pytest
from nbclient import NotebookClient

from ptcourse.checks import mode
from ptcourse.tools.build import build_notebook
from ptcourse.tools.conventions import CHECK, GPU, tags
from ptcourse.tools.framing import PROGRESS_ID
from ptcourse.tools.repo import SOLUTIONS, lessons


@pytest.mark.parametrize("solution", lessons(SOLUTIONS), ids=lambda p: p.name)
def test_run_all_reaches_the_last_cell_of_the_untouched_student_notebook(solution, monkeypatch):
    monkeypatch.delenv(mode.GRADED_ENV, raising=False)  # the kernel is a student's, not graded
    nb = build_notebook(solution)
    checks = {c.id: c.metadata["course"]["exercise"] for c in nb.cells if CHECK in tags(c)}
    gpu = {c.id for c in nb.cells if GPU in tags(c)}
    for cell in nb.cells:
        cell.metadata.pop("tags", None)
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(SOLUTIONS)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "Run All stopped before the last cell"
    for cell in code:
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        if cell.id in checks:
            assert text.startswith(f"◌ Exercise {checks[cell.id]} — ") and text.count("\n") == 1, text
        elif cell.id == PROGRESS_ID:
            assert f"0 of {len(checks)} exercises passed." in text and text.count("not done yet") == len(checks)
        elif cell.id not in gpu:
            stderr = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stderr")
            assert "Traceback" not in stderr, (cell.id, stderr)
