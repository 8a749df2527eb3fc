"""A submission of another edition (the Korean one) is graded exactly as the English one: the same points
and statuses, against its own release; its feedback is written in its language."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from ptcourse.tools.grading import Options, grade_folder
from ptcourse.tools.grading.discover import edition_of
from ptcourse.tools.grading.gradebook import write
from ptcourse.tools.repo import NOTEBOOKS, SOLUTIONS
from ptcourse.tools.translate import EDITIONS, edition_folders

HANGUL = re.compile(r"[\uac00-\ud7a3]")
LESSON = "01_nn_module.ipynb"


def test_the_edition_of_a_notebook_comes_from_its_metadata_or_its_setup_cell(tmp_path):
    notebook = tmp_path / "n.ipynb"
    notebook.write_text(json.dumps({"metadata": {"course": {"language": "ko"}}, "cells": []}))
    assert edition_of(notebook) == "ko"
    notebook.write_text(json.dumps({"metadata": {}, "cells": [{"source": ["import ptcourse\n", "ptcourse.set_language('ko')"]}]}))
    assert edition_of(notebook) == "ko"  # as Colab saves it: no course metadata
    notebook.write_text(json.dumps({"metadata": {}, "cells": []}))
    assert edition_of(notebook) == "en"


@pytest.mark.heavy
@pytest.mark.parametrize("language", EDITIONS)
def test_an_edition_is_graded_like_the_english_one_and_gets_feedback_in_its_language(language, tmp_path):
    solutions, notebooks = edition_folders(language)
    cases = {"en-solution": SOLUTIONS, "en-release": NOTEBOOKS,
             f"{language}-solution": solutions, f"{language}-release": notebooks}
    for student, folder in cases.items():
        (tmp_path / "in" / student).mkdir(parents=True)
        shutil.copy(folder / LESSON, tmp_path / "in" / student / LESSON)
    book = grade_folder(tmp_path / "in", NOTEBOOKS, only=["01"], workers=2, options=Options())
    write(book, tmp_path / "out")
    verdicts = {student: [(r.exercise, r.status, r.points) for r in book.report(student, LESSON).rows] for student in cases}
    assert verdicts[f"{language}-solution"] == verdicts["en-solution"] and all(
        status == "passed" for _, status, _ in verdicts["en-solution"])
    assert verdicts[f"{language}-release"] == verdicts["en-release"] and all(
        status == "not attempted" for _, status, _ in verdicts["en-release"])
    feedback = (tmp_path / "out" / "feedback" / f"{language}-release.md").read_text(encoding="utf-8")
    assert HANGUL.search(feedback.splitlines()[0]), feedback[:300]  # the heading
    assert HANGUL.search(book.report(f"{language}-release", LESSON).rows[0].detail)  # the check's own message
    english = (tmp_path / "out" / "feedback" / "en-release.md").read_text(encoding="utf-8")
    assert not HANGUL.search(english)
