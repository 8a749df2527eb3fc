"""Grade a folder of submitted notebooks: a gradebook, its exports, and one feedback file per student.

    python -m ptcourse.tools.grade SUBMISSIONS                 # SUBMISSIONS/<student>/<NN_topic>.ipynb
    python -m ptcourse.tools.grade SUBMISSIONS --out grading-output --only 01 02 --workers 4 --cell-timeout 60
    python -m ptcourse.tools.grade SUBMISSIONS --shard 3/8 --out parts     # one of 8 parts: parts/shard-3-of-8.json
    python -m ptcourse.tools.grade merge parts --out grading-output        # the 8 parts: the whole gradebook

Each notebook runs in a fresh kernel of its own, with its check and locked cells restored from the
release (`notebooks/`, or --release). Writes OUT/gradebook.csv, gradebook-wide.csv, canvas.csv,
gradescope/<student>.json, feedback/<student>.md, batch.md and timings.csv. See docs/grading.md.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ptcourse.tools.build import stale
from ptcourse.tools.grading.batch import default_workers, grade_folder
from ptcourse.tools.grading.gradebook import MergeError, merge, read_roster, write
from ptcourse.tools.grading.kernel import Limits
from ptcourse.tools.grading.notebook import PHASES, Options
from ptcourse.tools.repo import NOTEBOOKS, lessons


def shard(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise argparse.ArgumentTypeError(f"expected K/N with 1 <= K <= N (e.g. 3/8), not {text!r}")
    return int(match.group(1)), int(match.group(2))


def summary(book, out: Path, written: Path) -> None:
    if book.shard[1] > 1:
        print(f"graded {len(book.submitted)} notebooks (shard {book.shard[0]} of {book.shard[1]}) in "
              f"{book.seconds:.1f} s; wrote {written}")
        return
    print(f"graded {len(book.submitted)} notebooks in {book.seconds:.1f} s; wrote {written} and the other files "
          f"in {out}/ (see {out / 'batch.md'})")
    timed = [r for r in book.reports if r.timings]
    if timed:
        spent = {phase: sum(r.timings.get(phase, 0) for r in timed) for phase in PHASES}
        whole = sum(r.seconds for r in timed)
        parts = ", ".join(f"{phase} {seconds / whole:.0%}" for phase, seconds in spent.items())
        print(f"  where the time went (of {whole:.0f} s in {len(timed)} notebooks): {parts}")
    for note in book.batch_notes:
        print(f"  note: {note}")
    for student, (points, most) in book.totals().items():
        print(f"  {student:24} {points:g} / {most:g}")


def merge_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m ptcourse.tools.grade merge",
                                     description="Join the gradebooks of a sharded batch into the whole one.")
    parser.add_argument("parts", type=Path, nargs="+", help="shard-K-of-N.json files, or folders holding them")
    parser.add_argument("--out", type=Path, default=Path("grading-output"), help="where to write (default: %(default)s)")
    parser.add_argument("--roster", type=Path, help="a gradebook exported from Canvas, for canvas.csv's student columns")
    args = parser.parse_args(argv)
    try:
        book = merge(args.parts)
    except MergeError as problem:
        parser.error(str(problem))
    written = write(book, args.out, read_roster(args.roster) if args.roster else None)
    summary(book, args.out, written)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["merge"]:
        return merge_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m ptcourse.tools.grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", type=Path, help="a folder with one subfolder of notebooks per student")
    parser.add_argument("--out", type=Path, default=Path("grading-output"), help="where to write (default: %(default)s)")
    parser.add_argument("--release", type=Path, default=NOTEBOOKS,
                        help="the released notebooks the students were given (default: notebooks/)")
    parser.add_argument("--only", nargs="+", metavar="LESSON", help="grade only these lessons (e.g. 01 03)")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="notebooks graded at once (default: the number of cores, %(default)s here)")
    parser.add_argument("--shard", type=shard, default=(1, 1), metavar="K/N",
                        help="grade only the K-th of N parts of the batch (join the parts with `merge`)")
    parser.add_argument("--roster", type=Path, help="a gradebook exported from Canvas, for canvas.csv's student columns")
    limits = Limits()
    parser.add_argument("--cell-timeout", type=float, default=limits.cell_timeout, help="seconds (default %(default)g)")
    parser.add_argument("--notebook-timeout", type=float, default=limits.notebook_timeout,
                        help="seconds for all cells of one notebook (default %(default)g)")
    parser.add_argument("--memory-limit", type=float, default=limits.memory_bytes / 2**30,
                        help="GB for one kernel and its workers (default %(default)g)")
    parser.add_argument("--output-limit", type=float, default=limits.output_bytes / 2**20,
                        help="MB one notebook may print, stdout and stderr together (default %(default)g)")
    parser.add_argument("--gpu", action="store_true", help="also run cells tagged gpu (needs CUDA)")
    parser.add_argument("--check-package", action="append", metavar="NAME",
                        help="a package of check modules (default: ptcourse.checks; repeatable)")
    parser.add_argument("--python-path", action="append", default=[], metavar="DIR",
                        help="an extra import folder for the kernels (for check packages outside ptcourse)")
    args = parser.parse_args(argv)

    if not args.submissions.is_dir():
        parser.error(f"{args.submissions} is not a folder")
    if not lessons(args.release):
        parser.error(f"{args.release} holds no released notebooks (NN_topic.ipynb)")
    if args.roster and not args.roster.is_file():
        parser.error(f"{args.roster} is not a file")
    # The release and its editions (a Korean submission is graded against ko/notebooks/); not the READMEs.
    if args.release.resolve() == NOTEBOOKS.resolve() and (problems := stale(readme=None)):
        print("warning: the released notebooks differ from what python -m ptcourse.tools.build writes; grading "
              "against them anyway:\n  " + "\n  ".join(problems), file=sys.stderr)
    options = Options(
        Limits(args.cell_timeout, args.notebook_timeout, int(args.memory_limit * 2**30), int(args.output_limit * 2**20)),
        gpu=args.gpu,
        check_packages=tuple(args.check_package or Options().check_packages),
        python_path=tuple(str(Path(p).resolve()) for p in args.python_path),
    )
    if not any(d.is_dir() for d in args.submissions.iterdir()):
        parser.error(f"{args.submissions} has no student folders (expected {args.submissions}/<student>/NN_topic.ipynb)")
    book = grade_folder(args.submissions, args.release, args.only, args.workers, options, shard=args.shard)
    written = write(book, args.out, read_roster(args.roster) if args.roster else None)
    summary(book, args.out, written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
