"""Checks for lesson 04 — custom Datasets.

Each check writes its own small files (CSVs, an image folder, text files) into a temporary folder, from
a private random generator, so it tests the student's class on data it has never seen, with the edge
cases its statement implies.
"""
from __future__ import annotations

import collections
import copy
import math
import multiprocessing
import os
import tempfile
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torch.utils.data._utils import worker as _worker

from ptcourse.checks._core import (EQUAL, describe, exercise, expect, fail, max_diff, passed, plain, private_rng,
                                   progress_of, same, strings, student_code)
from ptcourse.i18n import N_, _

def _shape_and_dtype(value) -> str:
    if isinstance(value, torch.Tensor):
        value = plain(value)
        return _("a {dtype} tensor of shape {shape}").format(dtype=value.dtype, shape=tuple(value.shape))
    return describe(value)


def _length(ex: str, dataset, what: str, hint: str) -> int:
    """len(dataset), run as student code."""
    with student_code(ex, _("len() of {what}").format(what=what), hint):
        return len(dataset)


def _attribute(ex: str, obj, name: str, what: str, hint: str):
    """obj.name, run as student code (a property may raise); None when it is missing."""
    with student_code(ex, what, hint):
        return getattr(obj, name, None)


# --- Exercise 4.1: CsvDataset ----------------------------------------------------------------------
CSV_COLUMNS = ["width", "height", "kind", "depth", "count"]  # the target sits in the middle on purpose
CSV_TARGET = "kind"
CSV_ROWS = 29


def _write_csv(folder: Path, generator: torch.Generator) -> tuple[list[Path], torch.Tensor, torch.Tensor]:
    """Two copies of one CSV, the second without a newline after its last line; its features (float64) and labels.

    The features are on very different scales; the last column holds whole numbers, so that a parser
    that cuts the last character of every line (`line[:-1]`) visibly changes the last row.
    """
    scale = torch.tensor([1.0, 10.0, 0.1])
    shift = torch.tensor([5.0, -20.0, 0.3])
    decimals = torch.randn(CSV_ROWS, 3, generator=generator, dtype=torch.float64) * scale + shift
    counts = torch.randint(100, 1000, (CSV_ROWS, 1), generator=generator)
    labels = torch.randint(0, 3, (CSV_ROWS,), generator=generator)
    lines, values = [",".join(CSV_COLUMNS)], []
    for row, count, label in zip(decimals.tolist(), counts.flatten().tolist(), labels.tolist()):
        text = [f"{v:.4f}" for v in row]
        values.append([float(t) for t in text] + [float(count)])
        lines.append(",".join(text[:2] + [str(label)] + text[2:] + [str(count)]))
    paths = [folder / "table.csv", folder / "no_final_newline.csv"]
    paths[0].write_bytes(("\n".join(lines) + "\n").encode())
    paths[1].write_bytes("\n".join(lines).encode())
    return paths, torch.tensor(values, dtype=torch.float64), labels


def _items(ex: str, dataset, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """All `(features, label)` items of a dataset, stacked; checks each item's types on the way."""
    xs, ys = [], []
    n = _length(ex, dataset, what, _("__len__ returns the number of rows kept"))
    for index in range(n):
        with student_code(ex, _("{what}[{index}]").format(what=what, index=index),
                          _("__getitem__ returns (features, label): self.features[index], self.labels[index]")):
            item = dataset[index]
        expect(type(item) in (tuple, list) and len(item) == 2, ex, _("{what}[{index}]").format(what=what, index=index),
               _("a pair (features, label)"), describe(item), _("return self.features[index], self.labels[index]"))
        x, y = item
        ok = isinstance(x, torch.Tensor) and plain(x).dtype == torch.float32 and plain(x).ndim == 1
        expect(ok, ex, _("the features of {what}[{index}]").format(what=what, index=index),
               _("a 1-D float32 tensor"), _shape_and_dtype(x),
               _("convert the table with torch.tensor(..., dtype=torch.float32), one row per item"))
        ok = isinstance(y, torch.Tensor) and plain(y).dtype == torch.int64 and plain(y).ndim == 0
        expect(ok, ex, _("the label of {what}[{index}]").format(what=what, index=index),
               _("an int64 tensor with no dimensions (what nn.CrossEntropyLoss wants, once batched)"),
               _shape_and_dtype(y),
               _("keep the labels as one int64 tensor (.long()) and index it: self.labels[index]"))
        xs.append(plain(x).detach())
        ys.append(plain(y).detach())
    if not xs:
        return torch.zeros(0, 0), torch.zeros(0, dtype=torch.int64)
    widths = {x.shape[0] for x in xs}
    expect(len(widths) == 1, ex, _("the features of every row of {what}").format(what=what),
           _("the same number of features in every row"), sorted(widths), _("one value per column, the target left out"))
    return torch.stack(xs), torch.stack(ys)


def _stats(ex: str, dataset, what: str, d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`dataset.stats`, validated as a pair (mean, std) of tensors of shape (d,)."""
    stats = _attribute(ex, dataset, "stats", what, _("self.stats = (mean, std)"))
    hint = _("store the statistics you used as self.stats = (mean, std), two tensors with one value per feature")
    ok = type(stats) in (tuple, list) and len(stats) == 2
    expect(ok, ex, what, _("a pair (mean, std) of tensors"), describe(stats), hint)
    pair = []
    for value in stats:
        expect(isinstance(value, torch.Tensor) and tuple(plain(value).shape) == (d,), ex, what,
               _("a pair (mean, std) of tensors of shape ({d},)").format(d=d), _shape_and_dtype(value), hint)
        pair.append(plain(value).detach())
    return pair[0], pair[1]


def _normalised(raw: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return (raw - mean.double()) / std.double()


def _features_hint(got: torch.Tensor, raw: torch.Tensor) -> str:
    """The likely mistake behind features that are not `(raw - mean) / std(0)` of these rows."""
    mean = raw.mean(0)
    if same(got, _normalised(raw, mean, raw.std(0, correction=0))):
        return _("use .std(0), which divides by n − 1 (torch's default); numpy's .std() and .std(0, correction=0) "
                 "divide by n")
    if same(got, raw):
        return _("normalise the features: (features - mean) / std")
    return _("compute mean(0) and std(0) of the feature columns and apply (features - mean) / std")


@exercise("4.1", N_("a dataset over a CSV file"))
def csv_dataset(CsvDataset) -> None:
    """CsvDataset(path, target, rows=None, stats=None): features (all other columns, in file order) normalised
    with `stats` or with the mean and `.std(0)` (n − 1) of its own rows, exposed as `.stats`; rows in the order
    given; items (1-D float32 features, 0-dim int64 label)."""
    ex = "4.1"
    with private_rng(401) as generator, tempfile.TemporaryDirectory() as tmp:
        (path, unterminated), raw, labels = _write_csv(Path(tmp), generator)
        n, d = raw.shape
        call = _("CsvDataset(path, {target!r})").format(target=CSV_TARGET)
        with student_code(ex, call, _("read the header with csv.reader, then one list of floats per row")):
            full = CsvDataset(path, CSV_TARGET)
        n_got = _length(ex, full, _("the dataset"), _("__len__ returns the number of rows"))
        expect(n_got == n, ex, _("len() of a dataset over a CSV with a header and {n} rows").format(n=n), n, n_got,
               _("one item per data row: the header line is not a row"))
        x, y = _items(ex, full, _("dataset"))
        expect(x.shape[1] == d, ex,
               _("the number of features (the CSV has {c} columns, one of them the target)").format(c=d + 1), d,
               x.shape[1], _("drop the target column from the features; it is not always the last column"))
        expect(EQUAL(y, labels), ex, _("the labels (the target column, in file order)"), labels.tolist(), y.tolist(),
               _("take the labels from the column named `target`: header.index(target)"))
        want = _normalised(raw, raw.mean(0), raw.std(0))
        expect(same(x, want), ex, _("the features with stats=None"),
               _("each column normalised with its own mean and std(0): (x - mean) / std"), max_diff(x, want),
               _features_hint(x, raw))
        mean, std = _stats(ex, full, _("dataset.stats"), d)
        expect(same(mean, raw.mean(0)) and same(std, raw.std(0)), ex, _("dataset.stats"),
               _("the mean and std(0) of the feature columns"),
               _("mean {mean}, std {std}").format(mean=[round(v, 3) for v in mean.tolist()],
                                                  std=[round(v, 3) for v in std.tolist()]),
               _features_hint(_normalised(raw, mean, std), raw))

        call = _("CsvDataset(path, {target!r}) on a file whose last line has no newline").format(target=CSV_TARGET)
        with student_code(ex, call, _("let csv.reader split the lines: the last line of a file may lack its newline")):
            last = CsvDataset(unterminated, CSV_TARGET)
        x, y = _items(ex, last, _("the dataset over a file without a final newline"))
        expect(len(y) == n and EQUAL(y, labels) and same(x, want), ex, call,
               _("the same {n} rows as with a final newline").format(n=n),
               _("{rows} rows, last row {row}").format(rows=len(y), row=[round(v, 3) for v in x[-1].tolist()] if len(y)
                                                      else None),
               _("let csv.reader split the lines; line[:-1] cuts the last character of a line without a newline"))

        order = torch.randperm(n, generator=generator).tolist()
        train_rows, test_rows = order[:19], order[19:]
        with student_code(ex, _("CsvDataset(path, target, rows=train_rows)"),
                          _("select the rows with table[rows] before computing anything else")):
            train = CsvDataset(path, CSV_TARGET, rows=train_rows)
        x, y = _items(ex, train, _("train"))
        expect(len(y) == len(train_rows), ex,
               _("len() with rows = a list of {k} row numbers").format(k=len(train_rows)), len(train_rows), len(y),
               _("keep only the rows listed in `rows`"))
        expect(EQUAL(y, labels[train_rows]), ex, _("the labels with rows=train_rows (in the order given)"),
               labels[train_rows].tolist(), y.tolist(), _("index the table with rows as given (do not sort them)"))
        train_raw = raw[train_rows]
        mean, std = _stats(ex, train, _("train.stats"), d)
        expect(same(mean, train_raw.mean(0)) and same(std, train_raw.std(0)), ex,
               _("train.stats: the mean and std(0) of the training rows only"),
               _("mean {mean}").format(mean=[round(v, 3) for v in train_raw.mean(0).tolist()]),
               _("mean {mean}").format(mean=[round(v, 3) for v in mean.tolist()]),
               _features_hint(_normalised(train_raw, mean, std), train_raw)
               if same(mean, train_raw.mean(0)) else
               _("select the rows first, then compute the statistics: statistics of the whole file leak the test "
                 "rows into training"))
        want = _normalised(train_raw, train_raw.mean(0), train_raw.std(0))
        expect(same(x, want), ex, _("the training features"), _("the training rows normalised with their own statistics"),
               max_diff(x, want), _("normalise with self.stats, after selecting the rows"))

        given = (mean.clone(), std.clone())
        for rows, which in ((test_rows, _("the {k} test rows").format(k=len(test_rows))), (test_rows[:1], _("one row"))):
            call = _("CsvDataset(path, target, rows=<{which}>, stats=train.stats)").format(which=which)
            with student_code(ex, call, _("when stats is given, use it instead of computing new statistics")):
                test = CsvDataset(path, CSV_TARGET, rows=list(rows), stats=given)
            n_got = _length(ex, test, call, _("__len__ returns the number of rows kept"))
            expect(n_got == len(rows), ex, _("len() of {call}").format(call=call), len(rows), n_got,
                   _("keep only the rows listed in `rows`"))
            x, y = _items(ex, test, _("test"))
            expect(EQUAL(y, labels[rows]), ex, _("the labels of {call}").format(call=call), labels[rows].tolist(),
                   y.tolist(), _("index the table with rows as given"))
            want = _normalised(raw[rows], *given)
            expect(same(x, want), ex, _("the features of {call}").format(call=call),
                   _("the rows normalised with the TRAINING mean and std"), max_diff(x, want),
                   _("when stats is given, normalise with it: the test split must not use its own statistics"))
            got_mean, got_std = _stats(ex, test, _("test.stats"), d)
            expect(same(got_mean, given[0]) and same(got_std, given[1]), ex,
                   _("test.stats when stats=train.stats was given"), _("train.stats"),
                   _("mean {mean}").format(mean=[round(v, 3) for v in got_mean.tolist()]),
                   _("self.stats is the stats given, when given"))
    passed(ex, _("rows in the order given (one row too), labels, float32 features without the target, std(0), "
                 "train-split statistics used for the test split, a file without a final newline"))


# --- Exercise 4.2: ImageFolderDataset --------------------------------------------------------------
FOLDER_CLASSES = {"zebra": 3, "apple": 2, "mango": 1}  # created in this order; labels follow sorted names
IMAGE_HEIGHT, IMAGE_WIDTH = 7, 5  # not square: a transposed image has the wrong shape


def _png(path: Path, generator: torch.Generator) -> np.ndarray:
    pixels = torch.randint(0, 256, (IMAGE_HEIGHT, IMAGE_WIDTH), generator=generator, dtype=torch.uint8).numpy()
    Image.fromarray(pixels).save(path)  # a 2-D uint8 array is a greyscale ("L") image
    return pixels


def _write_folder(root: Path, generator: torch.Generator) -> list[tuple[Path, int, np.ndarray]]:
    """Greyscale PNGs in `root/<class>/` (one class with a single image), plus the `.DS_Store` files macOS
    leaves behind; the expected samples, ordered by class, then by file name."""
    expected = {}
    for name, count in FOLDER_CLASSES.items():
        (root / name).mkdir()
        numbers = torch.randperm(20, generator=generator)[:count].tolist()
        for number in numbers:  # written in random order: the order of a directory listing means nothing
            path = root / name / f"img_{number:02d}.png"
            expected[path] = _png(path, generator)
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "zebra" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    classes = sorted(FOLDER_CLASSES)
    return [(path, classes.index(path.parent.name), expected[path])
            for path in sorted(expected, key=lambda p: (p.parent.name, p.name))]


def _as_image(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(pixels).double().div(255).unsqueeze(0)


def _names_file(value, path: Path) -> bool:
    """`value` is a str or os.PathLike that names the file at `path`."""
    if not isinstance(value, (str, os.PathLike)):
        return False
    try:
        return os.path.samefile(os.fspath(value), path)
    except (OSError, TypeError, ValueError):
        return False


def _short_path(value) -> str:
    """A path as `<folder>/<file>` (the temporary folder's name means nothing to a student)."""
    if isinstance(value, (str, os.PathLike)):
        try:
            path = Path(os.fspath(value))
            return f"{path.parent.name}/{path.name}"
        except (TypeError, ValueError):
            pass
    return describe(value)


@exercise("4.2", N_("an image-folder dataset, decoded lazily"))
def image_folder(ImageFolderDataset) -> None:
    """ImageFolderDataset(root, transform=None): sorted classes, samples by class then file name, float32
    (1, H, W) images in [0, 1], int labels, transform applied, and nothing opened in __init__."""
    ex = "4.2"
    with private_rng(402) as generator, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        expected = _write_folder(root, generator)
        classes = sorted(FOLDER_CLASSES)

        with mock.patch.object(Image, "open", wraps=Image.open) as opened:
            with student_code(ex, _("ImageFolderDataset(root)"),
                              _("list the sub-folders of root, then the .png files in each")):
                dataset = ImageFolderDataset(root)
        expect(opened.call_count == 0, ex, _("images opened by __init__"), 0, opened.call_count,
               _("__init__ should only list file names; open and decode a file in __getitem__"))
        n = _length(ex, dataset, _("dataset"), _("__len__ returns len(self.samples)"))
        expect(n == len(expected), ex,
               _("len() of a folder with {n} .png files (and two .DS_Store files)").format(n=len(expected)),
               len(expected), n,
               _("count only the .png files inside the class folders (a .DS_Store file is neither a class nor an "
                 "image)"))
        hint = _("the sub-folders of root that are directories, sorted by name (a directory listing comes in no "
                 "particular order)")
        got_classes = strings(ex, _("dataset.classes"),
                              _attribute(ex, dataset, "classes", _("dataset.classes"), hint), hint)
        expect(got_classes == classes, ex, _("dataset.classes"), classes, got_classes, hint)
        hint = _("number the sorted class names 0, 1, 2, ...: {name: index for index, name in enumerate(classes)}")
        mapping = _attribute(ex, dataset, "class_to_idx", _("dataset.class_to_idx"), hint)
        want_mapping = {name: i for i, name in enumerate(classes)}
        ok = (type(mapping) is dict and all(type(k) is str and type(v) is int for k, v in dict.items(mapping))
              and dict(mapping) == want_mapping)
        expect(ok, ex, _("dataset.class_to_idx"), _("the dict {want} (str → int)").format(want=want_mapping),
               describe(mapping), hint)
        hint = _("self.samples = [(path, label), ...] for every .png file, by class, then by file name (sort both)")
        samples = _attribute(ex, dataset, "samples", _("dataset.samples"), hint)
        ok = (type(samples) in (list, tuple) and len(samples) == len(expected)
              and all(type(s) in (tuple, list) and len(s) == 2 for s in samples))
        expect(ok, ex, _("dataset.samples"), _("a list of {n} (path, label) pairs").format(n=len(expected)),
               describe(samples), hint)
        for index, ((got_path, got_label), (path, label, _pixels)) in enumerate(zip(samples, expected)):
            expect(_names_file(got_path, path) and type(got_label) is int and got_label == label, ex,
                   _("dataset.samples[{index}]").format(index=index),
                   _("({path}, {label})").format(path=f"{path.parent.name}/{path.name}", label=label),
                   _("({path}, {label})").format(path=_short_path(got_path), label=describe(got_label)), hint)

        for index, (path, label, pixels) in enumerate(expected):
            where = f"{path.parent.name}/{path.name}"
            with student_code(ex, _("dataset[{index}]").format(index=index),
                              _("__getitem__ should return (image, label)")):
                item = dataset[index]
            expect(type(item) in (tuple, list) and len(item) == 2, ex, _("dataset[{index}]").format(index=index),
                   _("a pair (image, label)"), describe(item), _("return image, label"))
            image, got_label = item
            want = _as_image(pixels)
            ok = isinstance(image, torch.Tensor) and plain(image).dtype == torch.float32 and \
                tuple(plain(image).shape) == tuple(want.shape)
            expect(ok, ex, _("the image of dataset[{index}] (a greyscale PNG, {w} wide and {h} high)").format(
                       index=index, w=IMAGE_WIDTH, h=IMAGE_HEIGHT),
                   _("a torch.float32 tensor of shape {shape} (channels, height, width)").format(shape=tuple(want.shape)),
                   _shape_and_dtype(image),
                   _("np.array(Image.open(path)) has shape (height, width); add the channel dimension with "
                     "unsqueeze(0) and convert with .float() / 255"))
            expect(same(image, want), ex, _("the pixels of dataset[{index}] ({where})").format(index=index, where=where),
                   _("the file's pixels / 255, in [0, 1]"), max_diff(image, want),
                   _("samples are ordered by class, then by file name (sort both); scale by 1/255"))
            expect(type(got_label) is int and got_label == label, ex,
                   _("the label of dataset[{index}] ({where})").format(index=index, where=where),
                   _("the int {label}").format(label=label), describe(got_label),
                   _("the label is class_to_idx[the name of the file's folder], a Python int (not a tensor: the "
                     "DataLoader's collate function makes a tensor of a batch of ints)"))

        calls = []

        def transform(image):
            calls.append(image)
            return image * 2 - 1

        with student_code(ex, _("ImageFolderDataset(root, transform=...)"), _("accept a transform argument and keep it")):
            transformed = ImageFolderDataset(root, transform=transform)
        index = len(expected) - 1
        with student_code(ex, _("dataset[{index}] with a transform").format(index=index),
                          _("decode the file first, then call self.transform on the float32 tensor")):
            item = transformed[index]
        expect(type(item) in (tuple, list) and len(item) == 2, ex, _("dataset[{index}] with a transform").format(
            index=index), _("a pair (image, label)"), describe(item), _("return image, label"))
        want = _as_image(expected[index][2])
        ok = len(calls) == 1 and isinstance(calls[0], torch.Tensor) and same(calls[0], want)
        expect(ok, ex, _("what the transform receives"), _("the decoded float32 image tensor, once per __getitem__"),
               _("{n} call(s)").format(n=len(calls)) + (_(" with {what}").format(what=_shape_and_dtype(calls[0]))
                                                        if calls else ""),
               _("call self.transform(image) on the tensor, after decoding, when a transform was given"))
        expect(isinstance(item[0], torch.Tensor) and same(item[0], want * 2 - 1), ex,
               _("the image returned with a transform"), _("the transform's output"), _shape_and_dtype(item[0]),
               _("return what the transform returned"))

        with student_code(ex, _("ImageFolderDataset(root)"), _("list the sub-folders of root, then the .png files")):
            lazy = ImageFolderDataset(root)
        path, _label, _pixels = expected[0]
        fresh = _png(path, generator)  # the file changes after __init__: a lazy dataset sees the new pixels
        with student_code(ex, _("dataset[0] after its file changed"), _("decode the file in __getitem__")):
            image = lazy[0][0]
        expect(isinstance(image, torch.Tensor) and same(image, _as_image(fresh)), ex,
               _("dataset[0] after its file was rewritten (following __init__)"),
               _("the file's new pixels (decoded when asked for)"), _("the pixels the file had during __init__"),
               _("do not decode images in __init__: keep only the paths there, and open the file in __getitem__"))
    passed(ex, _("{n} images in {k} classes (one with a single image): sorted classes, class_to_idx and samples, "
                 "(1, H, W) float32 images, int labels, transform, decoded lazily").format(n=len(expected),
                                                                                      k=len(classes)))


# --- Exercise 4.3: a sharded line stream ------------------------------------------------------------
WORKER_COUNTS = (0, 1, 2, 3)
WORDS = ["apple", "cloud", "river", "stone", "maple", "ember", "frost", "lumen"]


def _stream_files(folder: Path, generator: torch.Generator) -> list[tuple[Path, list[str]]]:
    """Text files and the lines each must yield: the last line never ends with a newline.

    The main file has 23 lines (a prime: 2 or 3 workers cannot share it evenly, so a lost remainder shows),
    with spaces and tabs at the ends of lines, blank lines, and repeated lines. Then a one-line file and
    an empty one.
    """
    picks = torch.randint(0, len(WORDS), (16,), generator=generator).tolist()
    lines = [f"record {i:02d}: {WORDS[k]}" for i, k in enumerate(picks)]
    lines[3] = "   indented record"
    lines[5] = "trailing spaces   "
    lines[8] = "tab at the end\t"
    for position, line in [(2, ""), (7, ""), (8, ""), (11, lines[1]), (14, lines[1]), (15, "   "), (19, lines[9])]:
        lines.insert(position, line)
    files = [(folder / "records.txt", lines), (folder / "one_line.txt", ["a single line"]), (folder / "empty.txt", [])]
    for path, content in files:
        path.write_bytes("\n".join(content).encode())  # no newline after the last line
    return files


def _simulated(dataset, workers: int) -> list[list]:
    """What each worker would yield: `__iter__` on a copy of the dataset, with `get_worker_info()`
    answering as it does inside DataLoader worker `id` of `workers` (the main process when 0)."""
    if workers == 0:
        return [list(dataset)]
    results = []
    try:
        for worker_id in range(workers):
            replica = copy.deepcopy(dataset)  # each worker process unpickles its own copy
            _worker._worker_info = _worker.WorkerInfo(id=worker_id, num_workers=workers, seed=worker_id,
                                                      dataset=replica)
            results.append(list(replica))
    finally:
        _worker._worker_info = None
    return results


def _real(dataset, workers: int) -> list:
    """What a DataLoader with real (forked) workers yields."""
    with warnings.catch_warnings():
        # On a machine with fewer cores than workers, torch warns on stderr; the notebook's output must not
        # depend on the machine.
        warnings.filterwarnings("ignore", message="This DataLoader will create", category=UserWarning)
        loader = DataLoader(dataset, batch_size=None, num_workers=workers, timeout=60)
        return list(loader)


def _mistake_hint(lines: list[str], got: list[str]) -> str | None:
    """The hint for items that differ from the lines by a classic slip in removing the newline, or None."""
    counts = collections.Counter(got)
    if any(item.endswith("\n") for item in got):
        return _("remove the newline at the end of each line: line.rstrip('\\n')")
    slips = [
        (str.strip, _("line.strip() also removes spaces and tabs at both ends, which belong to the line; remove "
                      "only the newline: line.rstrip('\\n')")),
        (str.rstrip, _("line.rstrip() also removes spaces and tabs at the end, which belong to the line; remove "
                       "only the newline: line.rstrip('\\n')")),
        (str.lstrip, _("line.lstrip() removes the spaces at the start of a line, which belong to it; remove only "
                       "the newline: line.rstrip('\\n')")),
    ]
    for slip, hint in slips:
        if counts == collections.Counter(map(slip, lines)) or counts == collections.Counter(
                slip(line) for line in lines if slip(line)):
            return hint
    if lines and counts == collections.Counter(lines[:-1] + [lines[-1][:-1]]):
        return _("the last line of a file may have no newline: line[:-1] then cuts its last character; use "
                 "line.rstrip('\\n')")
    return None


def _compare(ex: str, lines: list[str], shards: list, how: str, file: str) -> None:
    """Every shard a list of str, and together each line of `lines` exactly as often as in the file."""
    for shard in shards:
        for item in shard:
            expect(type(item) is str, ex, _("the items {how} from {file}").format(how=how, file=file),
                   _("str, one per line"), describe(item), _("yield each line as a str, without its newline"))
    got = [item for shard in shards for item in shard]
    want, counts = collections.Counter(lines), collections.Counter(got)
    if counts == want:
        return
    what = _("the lines {how} from {file}").format(how=how, file=file)
    hint = _mistake_hint(lines, got)
    extra = counts - want
    missing = want - counts
    if hint is None and extra and all(line in want for line in extra):
        hint = _("every worker holds its own copy and calls __iter__ on it: keep only this worker's lines "
                 "(get_worker_info().id of get_worker_info().num_workers), e.g. line number % num_workers == id")
    if hint is None and missing and not extra:
        if set(missing) == {""}:
            hint = _("blank lines are lines too: yield each as an empty string")
        elif all(counts[line] > 0 for line in missing):
            hint = _("a line that appears twice in the file must arrive twice: do not drop repeated lines")
        else:
            hint = _("every line must belong to some worker: 23 lines do not divide evenly among 2 or 3 workers "
                     "(check the remainder), and with no workers get_worker_info() is None: yield every line")
    if hint is None:
        hint = _("yield each line of the file exactly as it is, without its newline: line.rstrip('\\n')")
    example = next(iter(extra or missing))
    fail(ex, what, _("the file's {n} lines, each once (a repeated line as often as the file has it)").format(
        n=len(lines)),
         _("{extra} unexpected, {missing} missing, e.g. {example!r}").format(
             extra=sum(extra.values()), missing=sum(missing.values()), example=example), hint)


def _start_method() -> str:
    """The start method DataLoader workers will use (without fixing it, as get_start_method() would)."""
    return multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_all_start_methods()[0]


@exercise("4.3", N_("a line stream that shards itself"))
def sharded_stream(ShardedLines) -> None:
    """ShardedLines(path) yields every line of the file exactly as it is, without its newline: in file order
    without workers; with 1, 2 or 3 workers each line exactly once, no worker more than its fair share.

    The check simulates the workers: for each worker id it calls `__iter__` on a deep copy of the
    dataset while `get_worker_info()` answers as it would inside that worker (it patches the value the
    function returns, so it works however the notebook imported it). Simulating is needed because
    under the spawn start method (macOS, Windows, Python 3.14's forkserver) a class defined in a
    notebook cell cannot reach a worker process; it is also fast and deterministic. When the start
    method is fork (Linux before Python 3.14) the check also runs a real DataLoader with 3 workers.
    """
    ex = "4.3"
    with private_rng(403) as generator, tempfile.TemporaryDirectory() as tmp:
        files = _stream_files(Path(tmp), generator)
        for path, lines in files:
            file = _("a file of {n} line(s)").format(n=len(lines)) if len(lines) < 2 else \
                _("a file of {n} lines with blank, repeated and space-edged lines").format(n=len(lines))
            with student_code(ex, _("ShardedLines(path)"), _("keep the path; open the file in __iter__")):
                dataset = ShardedLines(path)
            for workers in WORKER_COUNTS:
                how = _("with no workers (the main process)") if workers == 0 else _(
                    "from {k} simulated worker(s)").format(k=workers)
                with student_code(ex, _("iterating {how} over {file}").format(how=how, file=file),
                                  _("get_worker_info() is None in the main process (then yield every line); each "
                                    "worker gets a copy of the dataset, so keep only the path in __init__ and open "
                                    "the file in __iter__")):
                    shards = _simulated(dataset, workers)
                _compare(ex, lines, shards, how, file)
                if workers == 0:
                    expect(shards[0] == lines, ex, _("the order of the lines {how}").format(how=how),
                           _("the file's order"), _("another order"), _("without workers, yield the lines in order"))
                    continue
                fair = math.ceil(len(lines) / workers)
                sizes = [len(shard) for shard in shards]
                expect(max(sizes) <= fair, ex, _("the share of each worker {how} from {file}").format(how=how, file=file),
                       _("at most {fair} lines per worker").format(fair=fair),
                       _("{sizes} lines from workers {ids}").format(sizes=sizes, ids=list(range(workers))),
                       _("split the lines among all the workers, e.g. line number % num_workers == id"))
            if _start_method() == "fork" and len(lines) > 2:
                workers = 3  # one real run: the simulation above has covered every number of workers
                how = _("from a DataLoader with num_workers={k}").format(k=workers)
                with student_code(ex, how, _("see the error above")):
                    got = _real(dataset, workers)
                _compare(ex, lines, [got], how, file)
    passed(ex, _("every line exactly as in the file (spaces, blank and repeated lines, no final newline), once, "
                 "with 0, 1, 2 and 3 workers; a one-line and an empty file too"))


progress = progress_of(__name__)
