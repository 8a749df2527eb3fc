"""The instructor's grader: submitted notebooks in, a gradebook and feedback out (docs/grading.md).

One module per job:
- `release`    what a released notebook promises: exercises, points, locked cells, check names;
- `submission` read a submitted notebook, match its cells to the release by id, restore, flag tampering;
- `kernel`     run cells in a fresh kernel under a time, memory and output budget, then kill its processes;
- `incell`     the code that runs a check inside the student's kernel, from fresh check modules;
- `notebook`   grade one notebook (`grade_notebook`): statuses and points per exercise;
- `batch`      grade a folder of students in parallel worker processes (`grade_folder`);
- `gradebook`  write gradebook.csv and the feedback files.
"""
from ptcourse.tools.grading.batch import Gradebook, grade_folder
from ptcourse.tools.grading.kernel import CellResult, Limits
from ptcourse.tools.grading.notebook import STATUSES, NotebookReport, Options, Row, grade_notebook
from ptcourse.tools.grading.release import Release

__all__ = ["CellResult", "Gradebook", "Limits", "NotebookReport", "Options", "Release", "Row", "STATUSES",
           "grade_folder", "grade_notebook"]
