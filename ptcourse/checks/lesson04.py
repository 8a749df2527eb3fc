"""Checks for lesson 04 — custom Datasets.

Each check writes its own small files (a CSV, an image folder, a text file) into a temporary folder,
from a private random generator, so it tests the student's class on data it has never seen.
"""
from __future__ import annotations

import collections
import copy
import multiprocessing
import tempfile
import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torch.utils.data._utils import worker as _worker

from ptcourse.checks._core import close, exercise, expect, fail, max_diff, passed, private_rng, progress_of
from ptcourse.i18n import N_


def _call(ex: str, what: str, fn, hint: str):
    """`fn()`, turning an unexpected exception from the student's code into a readable failure."""
    try:
        return fn()
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - any crash of the student's code is reported the same way
        fail(ex, what, "no error", f"{type(error).__name__}: {error}", hint)


# --- Exercise 4.1: CsvDataset ----------------------------------------------------------------------
CSV_COLUMNS = ["width", "height", "kind", "depth", "mass"]  # the target sits in the middle on purpose
CSV_TARGET = "kind"


def _write_csv(folder: Path, generator: torch.Generator) -> tuple[Path, torch.Tensor, torch.Tensor]:
    """A CSV with 4 features on very different scales and an integer label column in the middle."""
    n = 29
    scale = torch.tensor([1.0, 10.0, 0.1, 1000.0])
    shift = torch.tensor([5.0, -20.0, 0.3, 2500.0])
    features = torch.randn(n, 4, generator=generator, dtype=torch.float64) * scale + shift
    labels = torch.randint(0, 3, (n,), generator=generator)
    lines = [",".join(CSV_COLUMNS)]
    values = []
    for row, label in zip(features.tolist(), labels.tolist()):
        text = [f"{v:.4f}" for v in row]
        values.append([float(t) for t in text])
        lines.append(",".join(text[:2] + [str(label)] + text[2:]))
    path = folder / "table.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, torch.tensor(values, dtype=torch.float64), labels


def _items(ex: str, dataset, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """All `(features, label)` items of a dataset, stacked; checks each item's types on the way."""
    xs, ys = [], []
    for index in range(len(dataset)):
        item = _call(ex, f"{what}[{index}]", lambda: dataset[index], "__getitem__ should return (features, label)")
        expect(
            isinstance(item, (tuple, list)) and len(item) == 2, ex, f"{what}[{index}]",
            "a pair (features, label)", type(item).__name__, "return self.features[index], self.labels[index]",
        )
        x, y = item
        expect(
            torch.is_tensor(x) and x.dtype == torch.float32 and x.ndim == 1, ex, f"the features of {what}[{index}]",
            "a 1-D float32 tensor", f"{x.dtype} tensor of shape {tuple(x.shape)}" if torch.is_tensor(x) else type(x).__name__,
            "convert the table with torch.tensor(..., dtype=torch.float32), one row per item",
        )
        expect(
            torch.is_tensor(y) and y.dtype == torch.int64 and y.ndim == 0, ex, f"the label of {what}[{index}]",
            "an int64 scalar tensor (what nn.CrossEntropyLoss wants, once batched)",
            f"{y.dtype} tensor of shape {tuple(y.shape)}" if torch.is_tensor(y) else f"{type(y).__name__} {y!r}",
            "keep the labels as one int64 tensor (.long()) and index it: self.labels[index]",
        )
        xs.append(x)
        ys.append(y)
    return torch.stack(xs), torch.stack(ys)


def _stats_of(features: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(mean, std) with the sample std (torch's default) and with the population std: both are accepted."""
    mean = features.mean(0)
    return [(mean, features.std(0)), (mean, features.std(0, correction=0))]


def _normalised_like(got: torch.Tensor, raw: torch.Tensor, candidates) -> bool:
    return any(close(got, ((raw - m) / s).float(), atol=1e-4, rtol=1e-4) for m, s in candidates)


@exercise("4.1", N_("a dataset over a CSV file"))
def csv_dataset(CsvDataset) -> None:
    """CsvDataset(path, target, rows=None, stats=None): features (all other columns) normalised with
    `stats` or with the statistics of its own rows, exposed as `.stats`; int64 labels; rows in order."""
    ex = "4.1"
    with private_rng(401) as generator, tempfile.TemporaryDirectory() as tmp:
        path, raw, labels = _write_csv(Path(tmp), generator)
        n, d = raw.shape
        full = _call(ex, f"CsvDataset(path, {CSV_TARGET!r})", lambda: CsvDataset(path, CSV_TARGET),
                     "read the header with csv.reader, then one list of floats per row")
        expect(len(full) == n, ex, f"len() of a dataset over a CSV with a header and {n} rows", n, len(full),
               "one item per data row: the header line is not a row")
        x, y = _items(ex, full, "dataset")
        expect(x.shape[1] == d, ex, f"the number of features (the CSV has {d + 1} columns, one of them the target)",
               d, x.shape[1], "drop the target column from the features; it is not always the last column")
        expect(torch.equal(y, labels), ex, "the labels (the target column, in file order)", labels.tolist(), y.tolist(),
               "take the labels from the column named `target`: header.index(target)")
        expect(_normalised_like(x, raw, _stats_of(raw)), ex, "the features with stats=None",
               "each column normalised with its own mean and std: (x - mean) / std",
               f"column means {[round(v, 3) for v in x.mean(0).tolist()]}, stds {[round(v, 3) for v in x.std(0).tolist()]}",
               "compute mean(0) and std(0) of the feature columns and apply (features - mean) / std")

        order = torch.randperm(n, generator=generator).tolist()
        train_rows, test_rows = order[:19], order[19:]
        train = _call(ex, "CsvDataset(path, target, rows=train_rows)", lambda: CsvDataset(path, CSV_TARGET, rows=train_rows),
                      "select the rows with table[rows] before computing anything else")
        expect(len(train) == len(train_rows), ex, f"len() with rows= a list of {len(train_rows)} row numbers",
               len(train_rows), len(train), "keep only the rows listed in `rows`")
        x, y = _items(ex, train, "train")
        expect(torch.equal(y, labels[train_rows]), ex, "the labels with rows=train_rows (in the order given)",
               labels[train_rows].tolist(), y.tolist(), "index the table with rows as given (do not sort them)")
        train_raw = raw[train_rows]
        stats = getattr(train, "stats", None)
        expect(isinstance(stats, (tuple, list)) and len(stats) == 2, ex, "train.stats",
               "a pair (mean, std) of tensors", repr(stats)[:80], "store the statistics you used as self.stats = (mean, std)")
        good = _stats_of(train_raw)
        stats_ok = any(close(torch.as_tensor(stats[0]).double(), m, atol=1e-3) and
                       close(torch.as_tensor(stats[1]).double(), s, atol=1e-3, rtol=1e-3) for m, s in good)
        expect(stats_ok, ex, "train.stats: the mean and std of the training rows only",
               f"mean {[round(v, 2) for v in good[0][0].tolist()]}",
               f"mean {[round(v, 2) for v in torch.as_tensor(stats[0]).tolist()]}",
               "select the rows first, then compute the statistics: statistics of the whole file leak the "
               "test rows into training")
        expect(_normalised_like(x, train_raw, good), ex, "the training features",
               "the training rows normalised with their own statistics", max_diff(x, ((train_raw - good[0][0]) / good[0][1]).float()),
               "normalise after selecting the rows")

        test = _call(ex, "CsvDataset(path, target, rows=test_rows, stats=train.stats)",
                     lambda: CsvDataset(path, CSV_TARGET, rows=test_rows, stats=stats),
                     "when stats is given, use it instead of computing new statistics")
        x, y = _items(ex, test, "test")
        expect(torch.equal(y, labels[test_rows]), ex, "the labels of the test split", labels[test_rows].tolist(), y.tolist(),
               "index the table with rows as given")
        mean, std = (torch.as_tensor(s).double() for s in stats)
        want = ((raw[test_rows] - mean) / std).float()
        expect(close(x, want, atol=1e-4, rtol=1e-4), ex, "the test features with stats=train.stats",
               "the test rows normalised with the TRAINING mean and std", max_diff(x, want),
               "when stats is given, normalise with it: the test split must not use its own statistics")
    passed(ex, "rows, labels, float32 features without the target, and train-split statistics used for the test split")


# --- Exercise 4.2: ImageFolderDataset --------------------------------------------------------------
FOLDER_CLASSES = {"zebra": 3, "apple": 2, "mango": 4}  # created in this order; labels follow sorted names
IMAGE_HEIGHT, IMAGE_WIDTH = 7, 5  # not square: a transposed image has the wrong shape


def _png(path: Path, generator: torch.Generator) -> np.ndarray:
    pixels = torch.randint(0, 256, (IMAGE_HEIGHT, IMAGE_WIDTH), generator=generator, dtype=torch.uint8).numpy()
    Image.fromarray(pixels, mode="L").save(path)
    return pixels


def _write_folder(root: Path, generator: torch.Generator) -> list[tuple[Path, int, np.ndarray]]:
    """Greyscale PNGs in `root/<class>/`, plus the `.DS_Store` files macOS leaves behind."""
    expected = {}
    for name, count in FOLDER_CLASSES.items():
        (root / name).mkdir()
        numbers = torch.randperm(20, generator=generator)[:count].tolist()
        for number in numbers:  # written in random order: the order of a directory listing means nothing
            path = root / name / f"img_{number:02d}.png"
            expected[path] = _png(path, generator)
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "mango" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    classes = sorted(FOLDER_CLASSES)
    return [(path, classes.index(path.parent.name), expected[path])
            for path in sorted(expected, key=lambda p: (p.parent.name, p.name))]


def _label_value(label):
    if isinstance(label, bool):
        return None
    if isinstance(label, int):
        return label
    if torch.is_tensor(label) and label.ndim == 0 and not label.is_floating_point():
        return int(label)
    return None


@exercise("4.2", N_("an image-folder dataset, decoded lazily"))
def image_folder(ImageFolderDataset) -> None:
    """ImageFolderDataset(root, transform=None): sorted classes, samples by class then file name,
    float32 (1, H, W) images in [0, 1], int labels, transform applied, and nothing opened in __init__."""
    ex = "4.2"
    with private_rng(402) as generator, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        expected = _write_folder(root, generator)
        classes = sorted(FOLDER_CLASSES)

        with mock.patch.object(Image, "open", wraps=Image.open) as opened:
            dataset = _call(ex, "ImageFolderDataset(root)", lambda: ImageFolderDataset(root),
                            "list the sub-folders of root, then the .png files in each")
        expect(opened.call_count == 0, ex, "images opened by __init__", 0, opened.call_count,
               "__init__ should only list file names; open and decode a file in __getitem__")
        expect(len(dataset) == len(expected), ex, f"len() of a folder with {len(expected)} .png files "
               "(and two .DS_Store files)", len(expected), len(dataset),
               "count only the .png files inside the class folders (a .DS_Store file is neither a class nor an image)")
        got_classes = getattr(dataset, "classes", None)
        expect(got_classes == classes, ex, "dataset.classes", classes, got_classes,
               "the sub-folders of root that are directories, sorted by name (a directory listing comes in "
               "no particular order)")
        mapping = getattr(dataset, "class_to_idx", None)
        want_mapping = {name: i for i, name in enumerate(classes)}
        expect(mapping == want_mapping, ex, "dataset.class_to_idx", want_mapping, mapping,
               "number the sorted class names 0, 1, 2, ...")

        for index, (path, label, pixels) in enumerate(expected):
            item = _call(ex, f"dataset[{index}]", lambda: dataset[index], "__getitem__ should return (image, label)")
            expect(isinstance(item, (tuple, list)) and len(item) == 2, ex, f"dataset[{index}]",
                   "a pair (image, label)", type(item).__name__, "return image, label")
            image, got_label = item
            want = torch.from_numpy(pixels).float().div(255).unsqueeze(0)
            shape = f"{image.dtype} tensor of shape {tuple(image.shape)}" if torch.is_tensor(image) else type(image).__name__
            expect(torch.is_tensor(image) and image.dtype == torch.float32 and tuple(image.shape) == tuple(want.shape),
                   ex, f"the image of dataset[{index}] (a greyscale PNG, {IMAGE_WIDTH} wide and {IMAGE_HEIGHT} high)",
                   f"torch.float32 tensor of shape {tuple(want.shape)} (channels, height, width)", shape,
                   "np.array(Image.open(path)) has shape (height, width); add the channel dimension with "
                   "unsqueeze(0) and convert with .float() / 255")
            expect(close(image, want), ex, f"the pixels of dataset[{index}] ({path.parent.name}/{path.name})",
                   "the file's pixels / 255, in [0, 1]", max_diff(image, want),
                   "samples are ordered by class, then by file name (sort both); scale by 1/255")
            expect(_label_value(got_label) == label, ex, f"the label of dataset[{index}] ({path.parent.name}/{path.name})",
                   label, got_label, "the label is class_to_idx[the name of the file's folder], an int")

        calls = []

        def transform(image):
            calls.append(image)
            return image * 2 - 1

        transformed = _call(ex, "ImageFolderDataset(root, transform=...)", lambda: ImageFolderDataset(root, transform=transform),
                            "accept a transform argument and keep it")
        index = len(expected) - 1
        image, _ = _call(ex, f"dataset[{index}] with a transform", lambda: transformed[index],
                        "decode the file first, then call self.transform on the float32 tensor")
        want = torch.from_numpy(expected[index][2]).float().div(255).unsqueeze(0)
        expect(len(calls) == 1 and torch.is_tensor(calls[0]) and close(calls[0], want), ex,
               "what the transform receives", "the decoded float32 image tensor, once per __getitem__",
               f"{len(calls)} call(s)" + (f" with a {type(calls[0]).__name__}" if calls else ""),
               "call self.transform(image) on the tensor, after decoding, when a transform was given")
        expect(close(image, want * 2 - 1), ex, "the image returned with a transform", "the transform's output",
               max_diff(image, want * 2 - 1), "return what the transform returned")

        lazy = ImageFolderDataset(root)
        path, _, _ = expected[0]
        fresh = _png(path, generator)  # the file changes after __init__: a lazy dataset sees the new pixels
        image, _ = _call(ex, "dataset[0] after its file changed", lambda: lazy[0], "decode the file in __getitem__")
        want = torch.from_numpy(fresh).float().div(255).unsqueeze(0)
        expect(close(image, want), ex, "dataset[0] after its file was rewritten (following __init__)",
               "the file's new pixels (decoded when asked for)", "the pixels the file had during __init__",
               "do not decode images in __init__: keep only the paths there, and open the file in __getitem__")
    passed(ex, f"{len(expected)} images in {len(classes)} classes: sorted class mapping, (1, H, W) float32 "
               "images, labels, transform, decoded lazily")


# --- Exercise 4.3: a sharded line stream ------------------------------------------------------------
STREAM_LINES = 23  # prime: no number of workers divides it, so a lost remainder shows
WORKER_COUNTS = (0, 1, 2, 3)


def _write_lines(folder: Path, generator: torch.Generator) -> tuple[Path, list[str]]:
    words = ["apple", "cloud", "river", "stone", "maple", "ember", "frost", "lumen"]
    picks = torch.randint(0, len(words), (STREAM_LINES,), generator=generator).tolist()
    lines = [f"record {i:02d}: {words[k]}" for i, k in enumerate(picks)]
    path = folder / "records.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, lines


def _simulated(dataset, workers: int) -> list[list]:
    """What each worker would yield: `__iter__` on a copy of the dataset, with `get_worker_info()`
    answering as it does inside DataLoader worker `id` of `workers` (the main process when 0)."""
    if workers == 0:
        return [list(dataset)]
    results = []
    try:
        for worker_id in range(workers):
            replica = copy.deepcopy(dataset)  # each worker process unpickles its own copy
            _worker._worker_info = _worker.WorkerInfo(id=worker_id, num_workers=workers, seed=worker_id, dataset=replica)
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


def _compare(ex: str, lines: list[str], got: list, how: str) -> None:
    counts = collections.Counter(got)
    repeated = {line: n for line, n in counts.items() if n > 1}
    missing = [line for line in lines if line not in counts]
    extra = [item for item in counts if item not in set(lines)]
    if extra:
        fail(ex, f"the items {how}", "the file's lines, newline removed", f"{len(extra)} unknown item(s), e.g. {extra[0]!r}",
             "yield each line as a string, without its newline (line.rstrip('\\n'))")
    if repeated:
        line, n = next(iter(repeated.items()))
        fail(ex, f"the lines {how}", "each line exactly once", f"{len(repeated)} line(s) repeated, e.g. {line!r} {n} times",
             "every worker holds its own copy and calls __iter__ on it: keep only this worker's lines "
             "(get_worker_info().id of get_worker_info().num_workers), e.g. line number % num_workers == id")
    if missing:
        fail(ex, f"the lines {how}", f"all {len(lines)} lines", f"{len(missing)} missing, e.g. {missing[0]!r}",
             "every line must belong to some worker: with 23 lines no number of workers divides evenly "
             "(check the remainder), and with no workers get_worker_info() is None: yield every line")


def _start_method() -> str:
    """The start method DataLoader workers will use (without fixing it, as get_start_method() would)."""
    return multiprocessing.get_start_method(allow_none=True) or multiprocessing.get_all_start_methods()[0]


@exercise("4.3", N_("a line stream that shards itself"))
def sharded_stream(ShardedLines) -> None:
    """ShardedLines(path) yields every line of the file exactly once, with 0, 1, 2 or 3 workers.

    The check simulates the workers: for each worker id it calls `__iter__` on a deep copy of the
    dataset while `get_worker_info()` answers as it would inside that worker (it patches the value the
    function returns, so it works however the notebook imported it). Simulating is needed because
    under the spawn start method (macOS, Windows, Python 3.14's forkserver) a class defined in a
    notebook cell cannot reach a worker process; it is also fast and deterministic. When the start
    method is fork (Linux before Python 3.14) the check also runs real DataLoader workers (2 and 3).
    """
    ex = "4.3"
    with private_rng(403) as generator, tempfile.TemporaryDirectory() as tmp:
        path, lines = _write_lines(Path(tmp), generator)
        dataset = _call(ex, "ShardedLines(path)", lambda: ShardedLines(path), "keep the path; open the file in __iter__")
        for workers in WORKER_COUNTS:
            how = "with no workers (the main process)" if workers == 0 else f"from {workers} simulated worker(s)"
            shards = _call(ex, f"iterating {how}", lambda: _simulated(dataset, workers),
                           "get_worker_info() is None in the main process (then yield every line); each worker "
                           "gets a copy of the dataset, so keep only the path in __init__ and open the file in __iter__")
            _compare(ex, lines, [item for shard in shards for item in shard], how)
            idle = [worker_id for worker_id, shard in enumerate(shards) if not shard]
            expect(not idle, ex, f"the share of each worker {how}", f"some of the {STREAM_LINES} lines for every worker",
                   f"nothing from worker(s) {idle}", "split the lines among all the workers, e.g. line number % num_workers == id")
        if _start_method() == "fork":
            for workers in (2, 3):
                how = f"from a DataLoader with num_workers={workers}"
                _compare(ex, lines, _call(ex, how, lambda: _real(dataset, workers), "see the error above"), how)
    passed(ex, f"each of {STREAM_LINES} lines exactly once with 0, 1, 2 and 3 workers")


progress = progress_of(__name__)
