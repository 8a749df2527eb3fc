"""What every exercise check shares: the verdict a student sees, the failure message, a private RNG.

A check function is decorated with `@exercise("N.M", N_("title"))`. Called from a notebook it prints
one line and never raises for the student's sake, so *Run All* reaches the end of a lesson:

- `✔ Exercise N.M passed: ...` when the answer is right (the check's own `passed(...)`);
- `◌ Exercise N.M — title: not done yet ...` while the stub still raises `NotImplementedError`;
- `✘ Exercise N.M failed: ...` with what was checked, expected, what came out and a hint (on stderr).

Graded (`mode.graded()`: under the grader, nbval and the course's tests) the same check raises instead:
`NotImplementedError` for an unfinished exercise, `CheckFailed` for a wrong answer.
"""
from __future__ import annotations

import contextlib
import functools
import sys
import unicodedata
from typing import Any, Callable, Iterator

import numpy as np
import torch

from ptcourse.checks import mode
from ptcourse.i18n import N_, _

PASS_MARK = "✔"
FAIL_MARK = "✘"
TODO_MARK = "◌"
PASSED, FAILED, NOT_DONE, NOT_CHECKED = N_("passed"), N_("failed"), N_("not done yet"), N_("not checked yet")

# lesson module -> {exercise: title}, in the order the checks are defined; and this kernel's verdicts.
_EXERCISES: dict[str, dict[str, str]] = {}
_VERDICTS: dict[str, str] = {}


class CheckFailed(AssertionError):
    """An exercise check that found a wrong answer (an AssertionError, as notebook readers expect)."""


def exercise(number: str, title: str) -> Callable:
    """Make a function the check of exercise `number`: it reports to a student, or raises when graded."""

    def decorate(check: Callable) -> Callable:
        _EXERCISES.setdefault(check.__module__, {})[number] = title

        @functools.wraps(check)
        def run(*args, **kwargs):
            try:
                result = check(*args, **kwargs)
            except NotImplementedError as stub:
                _VERDICTS[number] = NOT_DONE
                if mode.graded():  # the grader quotes this message: in the notebook's language, as the stub's is not
                    raise NotImplementedError(_("Exercise {number} — {title}: not done yet").format(
                        number=number, title=_(title))) from stub
                print(_("{mark} Exercise {number} — {title}: not done yet. Write your answer in the exercise "
                        "cell above, run that cell, then run this check again.").format(
                    mark=TODO_MARK, number=number, title=_(title)))
                return None
            except CheckFailed as failure:
                _VERDICTS[number] = FAILED
                if mode.graded():
                    raise
                print(f"{FAIL_MARK} {failure}", file=sys.stderr)
                return None
            _VERDICTS[number] = PASSED
            return result

        run.exercise = number
        return run

    return decorate


def passed(exercise: str, message: str) -> None:
    """Print the one line a check prints when the answer is right."""
    print(_("{mark} Exercise {number} passed: {message}").format(mark=PASS_MARK, number=exercise, message=message))


def fail(exercise: str, what: str, expected: Any, got: Any, hint: str) -> None:
    """Raise the failure a student sees: what was checked, expected, what came out, and a hint."""
    raise CheckFailed(
        _("Exercise {number}: {what}").format(number=exercise, what=what) + "\n"
        + _("  expected: {expected}").format(expected=expected) + "\n"
        + _("  got:      {got}").format(got=got) + "\n"
        + _("  hint:     {hint}").format(hint=hint)
    )


def expect(condition: bool, exercise: str, what: str, expected: Any, got: Any, hint: str) -> None:
    """`fail(...)` unless `condition` holds."""
    if not condition:
        fail(exercise, what, expected, got, hint)


@contextlib.contextmanager
def student_code(exercise: str, doing: str, hint: str) -> Iterator[None]:
    """Run the student's code inside; an exception it raises becomes this check's failure, naming `doing`.

    `NotImplementedError` (the stub) and `CheckFailed` pass through untouched.
    """
    try:
        yield
    except (NotImplementedError, CheckFailed):
        raise
    except Exception as error:  # noqa: BLE001 - any exception from student code is the student's to see
        message = str(error).strip().splitlines()
        fail(exercise, _("{doing} raised an exception").format(doing=doing), _("no exception"),
             f"{type(error).__name__}: {message[0] if message else ''}", hint)


def columns(text: str) -> int:
    """How many columns `text` takes in a monospaced output: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)


def progress_of(module: str) -> Callable[[], None]:
    """The `progress()` of a lesson's check module: the state of each of its exercises in this kernel."""

    def progress() -> None:
        """Print every exercise of this lesson with its state: passed, failed, not done yet, not checked yet."""
        exercises = _EXERCISES.get(module, {})
        marks = {PASSED: PASS_MARK, FAILED: FAIL_MARK}
        width = max((columns(_(title)) for title in exercises.values()), default=0)
        print(_("Your progress in this lesson (as of the checks run in this session):"))
        for number, title in sorted(exercises.items(), key=lambda item: [int(n) for n in item[0].split(".")]):
            state = _VERDICTS.get(number, NOT_CHECKED)
            padding = " " * (width - columns(_(title)))
            print(f"  {marks.get(state, TODO_MARK)} {number}  {_(title)}{padding}  {_(state)}")
        done = sum(_VERDICTS.get(n) == PASSED for n in exercises)
        print(_("{done} of {total} exercises passed.").format(done=done, total=len(exercises)))

    return progress


# --- Types: a student's value is validated as, or converted to, the type the statement names ---------
def number(exercise: str, what: str, value, hint: str, *, tensor: bool = False) -> float:
    """`value` as a float, validated: a Python int or float (`bool` is not a number here); with
    `tensor=True` a one-element tensor that holds no graph is accepted too (say so in the statement)."""
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()  # np.mean(...) gives a NumPy scalar: as good as a Python number
    if isinstance(value, torch.Tensor) and tensor:
        expect(value.numel() == 1, exercise, what, _("one number"),
               _("a tensor of shape {shape}").format(shape=tuple(value.shape)), hint)
        expect(not value.requires_grad, exercise, what, _("a number"), _("a tensor that requires grad"), hint)
        return float(plain(value).detach().reshape(()).double().item())
    if type(value) is not float and type(value) is not int:
        got = (_("a tensor ({dtype}, shape {shape})").format(dtype=value.dtype, shape=tuple(value.shape))
               if isinstance(value, torch.Tensor) else describe(value))
        fail(exercise, what, _("a Python float") if not tensor else _("a number"), got, hint)
    return float(value)


def integer(exercise: str, what: str, value, hint: str) -> int:
    """`value` as an int, validated: a Python int or a NumPy integer (not a bool, a float or a tensor)."""
    if isinstance(value, np.integer):
        value = value.item()
    expect(type(value) is int, exercise, what, _("a Python int"), describe(value), hint)
    return value


def strings(exercise: str, what: str, value, hint: str) -> list[str]:
    """`value` as a list of str, validated: a list or tuple whose items are all exactly `str`."""
    ok = type(value) in (list, tuple) and all(type(item) is str for item in value)
    expect(ok, exercise, what, _("a list of str"), describe(value), hint)
    return list(value)


def describe(value) -> str:
    """A short, safe description of any value for a failure message (its type, and its repr if short)."""
    kind = type(value).__name__
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a student's object may break in __repr__
        return kind
    return f"{kind} {text}" if len(text) <= 60 else f"{kind} {text[:57]}..."


# --- Numbers: tolerances a float32 answer meets, and messages with enough digits to show a difference --
FLOAT32 = {"rtol": 1e-4, "atol": 1e-5}  # a correct answer computed in float32, in any order of operations
# Bound when the checks are imported, before any student code runs: an answer that patches torch.allclose or
# torch.equal later (even from inside a function a check calls) cannot make a comparison of a check say yes.
ALLCLOSE, EQUAL = torch.allclose, torch.equal


def near(got: float, want: float, rtol: float = FLOAT32["rtol"], atol: float = FLOAT32["atol"]) -> bool:
    """Two numbers agree as a float32 computation of the same quantity would (NaN never agrees)."""
    return abs(got - want) <= atol + rtol * abs(want)


def digits(x: float) -> str:
    """A number printed with enough digits to tell apart two values that `near` rejects."""
    return f"{x:.8g}"


def plain(t) -> torch.Tensor:
    """`t` as a plain tensor: a subclass that overrides `__torch_function__` cannot fake a comparison."""
    return torch.as_tensor(t).as_subclass(torch.Tensor)


def close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-6, rtol: float = 1e-5) -> bool:
    """Same shape and values within tolerance (False instead of an error on a shape mismatch)."""
    a, b = plain(a), plain(b)
    return a.shape == b.shape and ALLCLOSE(a.to(b.dtype), b, atol=atol, rtol=rtol)


def same(got: torch.Tensor, want: torch.Tensor) -> bool:
    """Same shape and equal to a float32 computation's accuracy, compared in float64 (NaN never agrees)."""
    got = plain(got).detach()
    return got.shape == want.shape and bool(ALLCLOSE(got.double(), want.double(), **FLOAT32))


def identical(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bit-for-bit equal (shape, values), compared as plain tensors."""
    return EQUAL(plain(a), plain(b))


def max_diff(a: torch.Tensor, b: torch.Tensor) -> str:
    """A short description of how far apart two tensors are, for failure messages."""
    a, b = plain(a), plain(b)
    if a.shape != b.shape:
        return _("shape {got} instead of {want}").format(got=tuple(a.shape), want=tuple(b.shape))
    return _("max |difference| = {diff:.3g}").format(diff=(a.double() - b.double()).abs().max().item())


@contextlib.contextmanager
def private_rng(seed: int) -> Iterator[torch.Generator]:
    """Seed torch's global RNG for the check only; the notebook's random stream is left as it was.

    Checks build fresh inputs and models with this, so a notebook's later outputs do not depend on
    whether (or how often) a check ran.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield torch.Generator().manual_seed(seed)
