"""Where the course's folders are, wherever a notebook or a test runs from."""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"
SOLUTIONS = REPO / "solutions"
NOTEBOOKS = REPO / "notebooks"


def lessons(folder: Path) -> list[Path]:
    """The lesson notebooks of a folder (`NN_topic.ipynb`), in teaching order."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
