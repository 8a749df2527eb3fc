"""The instructor's grader: submitted notebooks in, a gradebook, its exports and feedback out (docs/grading.md).

One module per job:
- `release`    what a released notebook promises: exercises, points, locked cells, check names;
- `discover`   find each student's notebooks (subfolders, other names) and recognise them by content;
- `submission` read a submitted notebook, match its cells to the release (by id, or by content), restore;
- `scan`       read the student's code for hooks an honest answer never needs (review flags);
- `kernel`     run cells in a fresh kernel under a time, memory and output budget, then kill its processes;
- `incell`     the code that runs inside the student's kernel: the library record, and each check;
- `notebook`   grade one notebook (`grade_notebook`): statuses and points per exercise;
- `integrity`  what a batch must not let a notebook change: read at the start, copied, verified, restored;
- `batch`      grade a folder of students in parallel worker processes (`grade_folder`), or one shard of it;
- `gradebook`  write the gradebook, its exports (wide CSV, Canvas, Gradescope), the feedback; merge shards.
"""
from ptcourse.tools.grading.batch import Gradebook, grade_folder
from ptcourse.tools.grading.kernel import CellResult, Limits
from ptcourse.tools.grading.notebook import STATUSES, NotebookReport, Options, Row, grade_notebook
from ptcourse.tools.grading.release import Release

__all__ = ["CellResult", "Gradebook", "Limits", "NotebookReport", "Options", "Release", "Row", "STATUSES",
           "grade_folder", "grade_notebook"]
