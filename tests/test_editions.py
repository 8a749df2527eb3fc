"""Every edition's solutions pass strict nbval with their own stored outputs (the Korean edition's checks
print Korean), exactly as the English solutions do. Heavy: runs with `--heavy` (CI always does)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from ptcourse.tools.repo import REPO, lessons
from ptcourse.tools.translate import EDITIONS, edition_folders

pytestmark = pytest.mark.heavy


@pytest.mark.parametrize("language", EDITIONS)
def test_the_editions_solutions_pass_strict_nbval(language):
    folder = edition_folders(language)[0]
    assert lessons(folder), f"{folder} holds no notebooks (run: python -m ptcourse.tools.build)"
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
                             str(folder.relative_to(REPO))], cwd=REPO, capture_output=True, text=True, timeout=3600)
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
