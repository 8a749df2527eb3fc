"""Show, inside a lesson, code that lives in a module (`show_source`) and the error a mistake raises (`show_error`)."""
import contextlib
import inspect
from pathlib import PurePosixPath
from typing import Iterator


def source_name(obj) -> str:
    """Where `obj` is defined, as its module's path inside its package (`torch/utils/data/sampler.py`).

    Derived from the module's dotted name, so it reads the same wherever the course or its virtual
    environment is installed.
    """
    module = inspect.getmodule(obj)
    parts = module.__name__.split(".")
    if PurePosixPath(inspect.getsourcefile(obj)).name == "__init__.py":
        parts.append("__init__")
    return "/".join(parts) + ".py"


def show_source(obj) -> None:
    """Print where `obj` is defined and its source."""
    print(f"# {source_name(obj)}\n{inspect.getsource(obj)}", end="")


@contextlib.contextmanager
def show_error(*expected: type[BaseException], lines: tuple[str, ...] = ()) -> Iterator[None]:
    """Run the block, which must raise one of `expected`; print that error as Python names it, and go on.

    Lessons show a mistake's error this way instead of letting the cell fail, so that Run All reaches
    the end of the notebook everywhere (Colab and some editors ignore the `raises-exception` tag).
    With `lines`, a long message is cut to its lines that contain one of these strings (all of it if none does).
    """
    try:
        yield
    except expected as error:
        message = str(error)
        kept = [line.strip() for line in message.splitlines() if any(text in line for text in lines)]
        message = "\n".join(kept) if kept else message
        print(f"{type(error).__name__}: {message}")
    else:
        names = " or ".join(e.__name__ for e in expected)
        raise AssertionError(f"this demonstration expected {names}, but the code raised nothing")
