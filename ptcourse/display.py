"""Show code that lives in a module (spawn-safe datasets, collates, samplers) inside a lesson."""
import inspect
from pathlib import Path

from ptcourse.paths import REPO


def show_source(obj) -> None:
    """Print where `obj` is defined (relative to the repository) and its source."""
    path = Path(inspect.getsourcefile(obj)).resolve()
    try:
        where = path.relative_to(REPO)
    except ValueError:
        where = path.name
    print(f"# {where}\n{inspect.getsource(obj)}", end="")
