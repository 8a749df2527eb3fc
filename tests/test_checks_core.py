"""The shared helpers every check is built on, and the contract between a check and a student."""
import os

import pytest
import torch

from ptcourse import i18n
from ptcourse.checks import _core, mode
from ptcourse.checks._core import CheckFailed, close, exercise, expect, passed, progress_of, student_code


def test_close_cannot_be_fooled_by_a_tensor_subclass():
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func, types, args=(), kwargs=None):
            if func in (torch.allclose, torch.Tensor.allclose):
                return True
            return super().__torch_function__(func, types, args, kwargs or {})

    assert not close(torch.zeros(3).as_subclass(Liar), torch.ones(3))
    assert close(torch.nn.Parameter(torch.ones(2)), torch.ones(2))


@exercise("98.1", "double")
def check_double(fn):
    with student_code("98.1", "double(3)", "return x + x"):
        got = fn(3)
    expect(got == 6, "98.1", "double(3)", 6, got, "return x + x")
    passed("98.1", "double(3) == 6")


progress = progress_of(__name__)


def stub(x):
    raise NotImplementedError("Exercise 98.1 — double is not done yet")


@pytest.fixture
def student(monkeypatch):
    """A student's kernel: not graded."""
    monkeypatch.setattr(mode, "forced", None)
    monkeypatch.delenv(mode.GRADED_ENV, raising=False)
    monkeypatch.setattr(_core, "_VERDICTS", {})


def test_the_course_pytest_plugin_grades_kernels_started_under_pytest():
    assert os.environ.get(mode.GRADED_ENV) == "1" and mode.graded()


def test_graded_a_stub_raises_and_a_wrong_answer_fails():
    with pytest.raises(NotImplementedError, match="^Exercise 98.1 — double: not done yet$"):
        check_double(stub)
    with pytest.raises(CheckFailed, match="expected: 6"):
        check_double(lambda x: x)


def test_graded_a_stub_is_reported_in_the_notebooks_language():
    """The grader quotes this message; a Korean notebook's stub (code, so English) must not set its language."""
    with i18n.speaking("ko"), pytest.raises(NotImplementedError, match="^연습 문제 98.1 — double: 아직 풀지 않았습니다$"):
        check_double(stub)


def test_a_student_sees_one_line_for_a_stub_and_the_full_message_for_a_wrong_answer(student, capsys):
    assert check_double(stub) is None
    out, err = capsys.readouterr()
    assert out == ("◌ Exercise 98.1 — double: not done yet. Write your answer in the exercise cell above, "
                   "run that cell, then run this check again.\n") and err == ""
    check_double(lambda x: x)
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("✘ Exercise 98.1: double(3)\n  expected: 6\n  got:      3\n  hint:     ")


def test_an_exception_in_student_code_becomes_the_checks_message(student, capsys):
    check_double(lambda x: x + "1")
    err = capsys.readouterr().err
    assert "double(3) raised an exception" in err and "TypeError: unsupported operand" in err
    assert "Traceback" not in err


def test_progress_lists_every_exercise_with_its_state(student, capsys):
    progress()
    check_double(stub)
    progress()
    check_double(lambda x: 2 * x)
    progress()
    lines = capsys.readouterr().out.splitlines()
    assert [line for line in lines if "98.1" in line and "double" in line and "Exercise" not in line] == [
        "  ◌ 98.1  double  not checked yet", "  ◌ 98.1  double  not done yet", "  ✔ 98.1  double  passed"]
    assert lines[-1] == "1 of 1 exercises passed."


def test_forced_grading_wins_over_the_environment(student):
    mode.forced = True
    with pytest.raises(NotImplementedError):
        check_double(stub)
