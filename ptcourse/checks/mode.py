"""Whether checks are graded (raise on an unfinished or wrong exercise) or speak to a student (print a line).

Kept free of heavy imports: the pytest plugin that switches grading on for nbval imports it.
"""
from __future__ import annotations

import os

GRADED_ENV = "PTCOURSE_GRADED"  # "1": set by the course's pytest plugin and by the grader for their kernels
forced: bool | None = None  # set by the grader on its fresh import of the checks; wins over the variable


def graded() -> bool:
    """True under the grader, nbval and the course's tests; False in a student's notebook."""
    if forced is not None:
        return forced
    return os.environ.get(GRADED_ENV, "") not in ("", "0")
