"""The Korean edition cannot drift from the English one (and every message a student reads is Korean there).

Each translated markdown cell records the English text it was made from, with its fingerprint; a cell
whose English changed since, or that has no translation, fails here with the lesson, the cell id and
the English change (`python -m ptcourse.tools.translate stale` lists them all). The same holds for the
checks' messages: an English message without its Korean counterpart fails, and so does a compiled
catalog that is older than its sources.
"""
from __future__ import annotations

import pytest

from ptcourse import i18n
from ptcourse.checks._core import NOT_DONE, PASSED
from ptcourse.tools import translate
from ptcourse.tools.repo import SOLUTIONS, lessons


@pytest.mark.parametrize("language", translate.EDITIONS)
@pytest.mark.parametrize("solution", lessons(SOLUTIONS), ids=lambda p: p.name)
def test_every_markdown_cell_has_a_current_translation(language, solution):
    problems = translate.problems(language, solution)
    assert not problems, "\n" + "\n".join(problems) + "\n(python -m ptcourse.tools.translate stale lists them all)"


@pytest.mark.parametrize("language", translate.EDITIONS)
def test_every_message_has_a_translation_and_the_catalog_is_compiled(language):
    problems = translate.catalog_problems(language)
    assert not problems, "\n" + "\n".join(problems[:40]) + f"\n({len(problems)} in all)"


@pytest.mark.parametrize("language", translate.EDITIONS)
def test_choosing_the_language_changes_what_the_checks_print(language):
    with i18n.speaking(language):
        assert i18n._(PASSED) != PASSED and i18n._(NOT_DONE) != NOT_DONE
    assert i18n._(PASSED) == PASSED
