"""Where the course's data files are: `data/` of a clone, or the copy inside an installed package."""
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # ptcourse/


def _data_folder() -> Path:
    installed = _PACKAGE / "data"  # a wheel carries the repository's data/ as ptcourse/data/
    return installed if installed.is_dir() else _PACKAGE.parent / "data"


DATA = _data_folder()
