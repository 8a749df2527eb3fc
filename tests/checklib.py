"""Every lesson's check tests in one shape: answers of three kinds, each run through the check it targets.

    from checklib import Answers
    answers = Answers(lesson01)                         # the lesson's check module

    @answers.mistake("1.1", "forgets the bias", match="bias")
    class NoBias(nn.Module): ...

    @answers.correct("1.1", "forward with einsum")
    class EinsumLinear(nn.Module): ...

    answers.gaming("1.3", "returns an object equal to anything", lambda model, trainable_only=False: Anything())

    test_answer = answers.test()                        # one pytest case per answer
    test_a_stub_is_reported_as_not_done = answers.stub_test(lesson01.my_linear, ...)

A mistake or a gaming answer must make its check raise `CheckFailed` (whose message matches `match`,
when given: name the hint the student should get); a correct answer must pass. Checks run graded here
(the course's pytest plugin), so they raise instead of printing. `tests/test_check_coverage.py` requires,
for every exercise of every lesson, at least 5 mistakes, 3 correct answers and 1 gaming answer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

import pytest
import torch

from ptcourse.checks._core import CheckFailed

KINDS = ("mistake", "correct", "gaming")
MINIMUM = {"mistake": 5, "correct": 3, "gaming": 1}

class Anything:
    """Equal to everything, with whatever attribute a check might ask for: the classic object that fools
    `got == want`."""

    shape = dtype = device = None

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__

    def __getattr__(self, name):
        return lambda *args, **kwargs: self


class Liar(torch.Tensor):
    """A tensor that answers every comparison with "equal"."""

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.equal, torch.allclose, torch.Tensor.equal, torch.Tensor.allclose, torch.Tensor.__eq__):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


def stub(*args, **kwargs):
    """What a student notebook's exercise cell holds before it is answered."""
    raise NotImplementedError("Exercise N.M is not done yet")


@dataclass
class Answer:
    exercise: str
    kind: str
    name: str
    value: Any  # what the check cell passes to the check: a function, a class, ...
    match: str | None = None

class Answers:
    """The answers tried against one lesson's checks."""

    def __init__(self, checks: ModuleType):
        self.checks = checks
        self.items: list[Answer] = []

    def check(self, exercise: str) -> Callable:
        found = [f for f in vars(self.checks).values() if getattr(f, "exercise", None) == exercise]
        assert len(found) == 1, f"{self.checks.__name__} has no single check for exercise {exercise}"
        return found[0]

    def add(self, kind: str, exercise: str, name: str, value: Any = None, match: str | None = None):
        """Register an answer; without `value`, returns a decorator that registers what it decorates."""
        assert kind in KINDS

        def register(value):
            self.items.append(Answer(exercise, kind, name, value, match))
            return value

        return register if value is None else register(value)

    def mistake(self, exercise: str, name: str, value: Any = None, match: str | None = None):
        return self.add("mistake", exercise, name, value, match)

    def correct(self, exercise: str, name: str, value: Any = None):
        return self.add("correct", exercise, name, value)

    def gaming(self, exercise: str, name: str, value: Any = None, match: str | None = None):
        return self.add("gaming", exercise, name, value, match)

    def counts(self) -> dict[str, dict[str, int]]:
        """{exercise: {kind: number of answers}}."""
        table: dict[str, dict[str, int]] = {}
        for answer in self.items:
            table.setdefault(answer.exercise, dict.fromkeys(KINDS, 0))[answer.kind] += 1
        return table

    def stub_test(self, *runs: Callable) -> Callable:
        """A pytest test: each of `runs` (a check, or a call of one) reports a stub as not done."""

        @pytest.mark.parametrize("run", runs)
        def test_a_stub_is_reported_as_not_done(run):
            with pytest.raises(NotImplementedError):
                run(stub)

        return test_a_stub_is_reported_as_not_done

    def test(self) -> Callable:
        """A pytest test function with one case per registered answer."""

        @pytest.mark.parametrize("answer", self.items, ids=lambda a: f"{a.exercise}-{a.kind}-{a.name}")
        def test_answer(answer: Answer):
            check = self.check(answer.exercise)
            if answer.kind == "correct":
                check(answer.value)
                return
            with pytest.raises(CheckFailed) as failure:
                check(answer.value)
            if answer.match:
                assert re.search(answer.match, str(failure.value), re.S), str(failure.value)

        return test_answer
