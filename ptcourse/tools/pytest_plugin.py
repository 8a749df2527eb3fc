"""A pytest plugin the installed course registers: kernels started under pytest are graded.

A check in a notebook prints a line and carries on when an exercise is unfinished or wrong, so that
Run All reaches the end of a lesson. Under pytest (nbval, the course's own tests) the same check must
fail its cell instead: this plugin sets the variable that the checks read, and kernels inherit it.
"""
import os

from ptcourse.checks.mode import GRADED_ENV


def pytest_configure(config):
    os.environ[GRADED_ENV] = "1"
