"""Show, inside a lesson, code that lives in a module (`show_source`), the error a mistake raises (`show_error`)
and the warning it gives (`show_warning`)."""
import contextlib
import inspect
import re
import warnings
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


@contextlib.contextmanager
def show_warning(*expected: type[Warning]) -> Iterator[None]:
    """Run the block, which must warn with one of `expected`; print each such warning as Python names it.

    Every run shows the warning, including PyTorch's warn-once ones (a second run of the cell would
    otherwise print nothing), and never a file path: "(Triggered internally at ...)" is cut.
    """
    import torch

    warn_always = torch.is_warn_always_enabled()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.set_warn_always(True)
        try:
            yield
        finally:
            torch.set_warn_always(warn_always)
    shown = [w for w in caught if issubclass(w.category, expected)]
    for w in caught:
        if w not in shown:  # not part of the demonstration: let it through as usual
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for w in shown:
        message = re.sub(r"\s*\(Triggered internally at .*\)\s*$", "", str(w.message), flags=re.S)
        print(f"{w.category.__name__}: {message}")
    if not shown:
        names = " or ".join(e.__name__ for e in expected)
        raise AssertionError(f"this demonstration expected a {names}, but the code gave none")
