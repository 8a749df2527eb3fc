"""The language of everything a student reads from the course's code: check messages and progress.

Messages are marked in the code as `_("...")` (or `N_("...")` where a string is stored and translated
later) and translated with gettext catalogs: `ptcourse/locale/<language>/LC_MESSAGES/ptcourse.po`,
compiled to `ptcourse.mo` by `python -m ptcourse.tools.translate`. A notebook's setup cell chooses the
language once (`ptcourse.set_language("ko")`); English, the default, needs no catalog.
"""
from __future__ import annotations

import contextlib
import gettext
import os
from pathlib import Path

LOCALE = Path(__file__).with_name("locale")
DOMAIN = "ptcourse"
LANGUAGES = ("en", "ko")
LANGUAGE_ENV = "PTCOURSE_LANGUAGE"  # a default for kernels that never run a setup cell (tests, the grader)

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def set_language(language: str) -> None:
    """Show every later check message and progress summary in `language` ("en" or "ko")."""
    global _translation, _language
    if language not in LANGUAGES:
        raise ValueError(f"the course speaks {', '.join(LANGUAGES)}, not {language!r}")
    if language == "en":
        _translation = gettext.NullTranslations()
    else:
        _translation = gettext.translation(DOMAIN, LOCALE, [language])
    _language = language


@contextlib.contextmanager
def speaking(language_: str):
    """Within the block, messages are in `language_`; afterwards in the language chosen before."""
    before = _language
    set_language(language_)
    try:
        yield
    finally:
        set_language(before)


def language() -> str:
    """The language chosen last ("en" unless a setup cell or PTCOURSE_LANGUAGE chose another)."""
    return _language


def _(message: str) -> str:
    """`message` in the chosen language."""
    return _translation.gettext(message)


def N_(message: str) -> str:
    """Marks a message for translation without translating it yet (translate it with `_` when shown)."""
    return message


if os.environ.get(LANGUAGE_ENV, "en") != "en":
    set_language(os.environ[LANGUAGE_ENV])
