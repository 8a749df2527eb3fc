"""Where a clone's folders are: the maintainer's and instructor's tools work from a clone of the course."""
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
SOLUTIONS = REPO / "solutions"
NOTEBOOKS = REPO / "notebooks"
README = REPO / "README.md"


def lessons(folder: Path) -> list[Path]:
    """The lesson notebooks of a folder (`NN_topic.ipynb`), in teaching order."""
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))
