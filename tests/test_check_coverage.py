"""Every exercise's check is proven on enough answers: 5 mistakes, 3 correct answers, 1 gaming answer.

The answers live in `tests/test_checks_lessonNN.py` (see `checklib.py`); this test counts them against
the exercises each lesson's check module declares. `pytest tests/test_check_coverage.py -s` prints the table.
"""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

from checklib import KINDS, MINIMUM
from ptcourse.checks import _core
from ptcourse.tools.repo import SOLUTIONS, lessons

TESTS = Path(__file__).parent
LESSONS = [p.name[:2] for p in lessons(SOLUTIONS)]


def answers_of(lesson: str):
    path = TESTS / f"test_checks_lesson{lesson}.py"
    spec = importlib.util.spec_from_file_location(f"_coverage_{lesson}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "answers", None)


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_is_tried_on_enough_answers(lesson):
    checks = importlib.import_module(f"ptcourse.checks.lesson{lesson}")
    answers = answers_of(lesson)
    assert answers is not None, f"tests/test_checks_lesson{lesson}.py defines no `answers = Answers(...)`"
    counts = answers.counts()
    short = []
    for number in _core._EXERCISES[checks.__name__]:
        got = counts.get(number, dict.fromkeys(KINDS, 0))
        print(f"{number}: " + ", ".join(f"{got[kind]} {kind}" for kind in KINDS))
        short += [f"{number}: {got[kind]} {kind} (need {need})" for kind, need in MINIMUM.items() if got[kind] < need]
    assert not short, "; ".join(short)
