"""Execute solution notebooks in place, the way the tests run them, so stored outputs match.

    python -m ptcourse.tools.execute                         # every solution notebook
    python -m ptcourse.tools.execute solutions/01_*.ipynb    # some of them
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from ptcourse.checks.mode import GRADED_ENV
from ptcourse.tools.conventions import deterministic_env
from ptcourse.tools.repo import SOLUTIONS, lessons

CELL_TIMEOUT_S = 120
# Absolute paths (a venv's site-packages, this checkout) in stored tracebacks say where the maintainer
# worked, not what the lesson teaches; nbval does not compare tracebacks, so rewrite them to PATH/.
ABSOLUTE_PATH = re.compile(r"(?:/[^/\s'\"<>:]+)+/(?=(?:site-packages|solutions|notebooks|data|tests|ptcourse)/)")


def execute(path: Path, timeout: int = CELL_TIMEOUT_S) -> None:
    """Run every cell of one notebook in a fresh kernel (cwd: its folder) and store the outputs."""
    deterministic_env()
    os.environ[GRADED_ENV] = "1"  # a check that fails in a solution stops the run, as under nbval
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    client.execute()
    merge_streams(nb)
    scrub_tracebacks(nb)
    nbformat.write(nb, path)


# A progress bar rewrites its line with "\r"; a notebook shows only the last state, so store only that.
REWRITTEN = re.compile(r"^.*\r(?=[^\n])", re.MULTILINE)


def merge_streams(nb) -> None:
    """Join consecutive outputs of one stream and keep only the last state of a rewritten line: how prints
    were chunked and how often a bar redrew is timing, not content, and a re-run would otherwise change
    the stored file although no text changed."""
    for cell in nb.cells:
        merged = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (previous is not None and output.get("output_type") == "stream" == previous.get("output_type")
                    and output["name"] == previous["name"]):
                previous["text"] += output["text"]
            else:
                merged.append(output)
        for output in merged:
            if output.get("output_type") == "stream" and "\r" in output["text"]:
                output["text"] = REWRITTEN.sub("", output["text"])
        if "outputs" in cell:
            cell["outputs"] = merged


def scrub_tracebacks(nb) -> None:
    """Replace absolute paths in the tracebacks of error outputs with `PATH/`."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [ABSOLUTE_PATH.sub("PATH/", line) for line in output["traceback"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: all of solutions/)")
    args = parser.parse_args(argv)
    for path in args.paths or lessons(SOLUTIONS):
        print(f"executing {path} ...", flush=True)
        execute(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
