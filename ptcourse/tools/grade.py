"""Grade a folder of submitted notebooks: one gradebook CSV and one feedback file per student.

    python -m ptcourse.tools.grade SUBMISSIONS                 # SUBMISSIONS/<student>/<NN_topic>.ipynb
    python -m ptcourse.tools.grade SUBMISSIONS --out grading-output --only 01 02 --workers 4 --cell-timeout 60

Each notebook runs in a fresh kernel of its own, with its check and locked cells restored from the
release (`notebooks/`, or --release). Writes OUT/gradebook.csv and OUT/feedback/<student>.md.
See docs/grading.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ptcourse.tools.build import stale
from ptcourse.tools.grading.batch import default_workers, grade_folder
from ptcourse.tools.grading.gradebook import write
from ptcourse.tools.grading.kernel import Limits
from ptcourse.tools.grading.notebook import Options
from ptcourse.tools.repo import NOTEBOOKS, lessons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ptcourse.tools.grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", type=Path, help="a folder with one subfolder of notebooks per student")
    parser.add_argument("--out", type=Path, default=Path("grading-output"), help="where to write (default: %(default)s)")
    parser.add_argument("--release", type=Path, default=NOTEBOOKS,
                        help="the released notebooks the students were given (default: notebooks/)")
    parser.add_argument("--only", nargs="+", metavar="LESSON", help="grade only these lessons (e.g. 01 03)")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="notebooks graded at once (default: the number of cores, %(default)s here)")
    limits = Limits()
    parser.add_argument("--cell-timeout", type=float, default=limits.cell_timeout, help="seconds (default %(default)g)")
    parser.add_argument("--notebook-timeout", type=float, default=limits.notebook_timeout,
                        help="seconds for all cells of one notebook (default %(default)g)")
    parser.add_argument("--memory-limit", type=float, default=limits.memory_bytes / 2**30,
                        help="GB for one kernel and its workers (default %(default)g)")
    parser.add_argument("--output-limit", type=float, default=limits.output_bytes / 2**20,
                        help="MB one notebook may print (default %(default)g)")
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
    if args.release.resolve() == NOTEBOOKS.resolve() and stale():
        print("warning: notebooks/ differs from what python -m ptcourse.tools.build writes; grading against it anyway",
              file=sys.stderr)
    options = Options(
        Limits(args.cell_timeout, args.notebook_timeout, int(args.memory_limit * 2**30), int(args.output_limit * 2**20)),
        gpu=args.gpu,
        check_packages=tuple(args.check_package or Options().check_packages),
        python_path=tuple(str(Path(p).resolve()) for p in args.python_path),
    )
    if not any(d.is_dir() for d in args.submissions.iterdir()):
        parser.error(f"{args.submissions} has no student folders (expected {args.submissions}/<student>/NN_topic.ipynb)")
    book = grade_folder(args.submissions, args.release, args.only, args.workers, options)
    csv_path = write(book, args.out)
    print(f"graded {len(book.submitted)} notebooks in {book.seconds:.1f} s; wrote {csv_path} and {args.out / 'feedback'}/")
    for student, (points, most) in book.totals().items():
        print(f"  {student:24} {points:g} / {most:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
