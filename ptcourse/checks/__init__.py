"""Exercise checks, one module per lesson (`from ptcourse.checks import lesson01 as check`).

A check calls the student's code on fresh inputs, compares with a reference, prints one line
(`✔ Exercise N.M passed: ...`) when right, and raises an AssertionError (`CheckFailed`) saying what
was expected, what came out, and a hint when wrong. A stub's NotImplementedError is left to propagate,
so a reader (and the grader) can tell "not attempted" from "wrong".
"""
