"""`python -m ptcourse.tools.grading.worker JOB.json`: grade one submitted notebook in a process of its own.

The batch starts one of these per notebook, so that nothing a submission does (or the grader's own
memory for it) can touch another. The report goes to the JSON file the job names.
"""
from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import psutil

from ptcourse.tools.grading.kernel import kill
from ptcourse.tools.grading.notebook import Options, grade_notebook
from ptcourse.tools.grading.release import Release


def adopt_orphans() -> None:
    """On Linux, processes orphaned below this one (a dead kernel's workers) become its children."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        except (OSError, AttributeError):
            pass


def main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    adopt_orphans()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # the batch's last resort: still kill the kernel
    try:
        report = grade_notebook(Path(job["submission"]), Release.from_dict(job["release"]),
                                Options.from_dict(job["options"]), job["student"])
    finally:
        kill(psutil.Process().children(recursive=True))  # with adopt_orphans: also the lost ones
    Path(job["result"]).write_text(json.dumps(report.to_dict()), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
