"""Datasets the lessons share, kept in a module so that DataLoader worker processes can import them.

A worker started with *spawn* (macOS, Windows; forkserver on Linux from Python 3.14) receives the
dataset by pickling and re-imports its class by module and name. A class defined in a notebook cell
lives in `__main__`, which the worker cannot import; every class and function here can, so it works
with any start method. Callables passed in (`transform`, `parse`) must be importable too.

Map-style (`__getitem__` + `__len__`):
    CsvDataset          rows of a CSV file: (float32 features, int64 label), normalised
    ImageFolderDataset  `root/<class>/<file>.png`, decoded lazily: (float32 image C×H×W, int label)
    InMemoryImages      small image sets held as uint8; `__getitems__` normalises a whole batch at once
    ReviewsDataset      one-line reviews of `data/reviews.tsv`: (text, int label)
Iterable-style (`__iter__`):
    LineStream          the lines of a text file, streamed; each line once whatever the number of workers
    RangeStream         `range(start, end)`, NOT sharded: the duplication pitfall of lesson 04
    ShardedRangeStream  `range(start, end)`, sharded inside `__iter__` with `get_worker_info()`
    split_range_among_workers  a `worker_init_fn` that shards a `RangeStream` from outside
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from ptcourse.lessons.paths import DATA

REVIEWS = DATA / "reviews.tsv"
REVIEW_CLASSES = ("negative", "positive")  # label 0, label 1
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")

Stats = tuple[torch.Tensor, torch.Tensor]


class CsvDataset(Dataset):
    """The rows of a CSV file with a header line, as `(features, label)`: float32 features, int64 label.

    path:   the CSV file; its first line names the columns
    target: the label column; every other column is a feature, in file order
    rows:   the row numbers to keep (0 = first row after the header), in that order; all rows if None
    stats:  `(mean, std)` to normalise the features with, e.g. the training split's `.stats`;
            if None they are computed from this dataset's own rows (`mean(0)`, `std(0)`)

    The table is parsed and normalised once, in `__init__`: it is small (569 × 30 floats is 68 KB),
    and parsing text on every `__getitem__` would repeat the same work each epoch.
    """

    def __init__(self, path: str | Path, target: str, rows: Sequence[int] | None = None, stats: Stats | None = None):
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader)
            table = torch.tensor([[float(value) for value in row] for row in reader], dtype=torch.float64)
        label_column = header.index(target)
        if rows is not None:
            table = table[torch.as_tensor(rows, dtype=torch.long)]
        features = torch.cat([table[:, :label_column], table[:, label_column + 1:]], dim=1).float()
        self.feature_names = header[:label_column] + header[label_column + 1:]
        self.labels = table[:, label_column].long()
        self.stats = stats if stats is not None else (features.mean(0), features.std(0))
        mean, std = self.stats
        self.features = (features - mean) / std

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.features[index], self.labels[index]


def pil_to_pixels(image: Image.Image) -> torch.Tensor:
    """An 8-bit PIL image → a uint8 tensor `(channels, height, width)`."""
    pixels = torch.from_numpy(np.array(image, dtype=np.uint8))  # (H, W) or (H, W, C)
    return pixels.unsqueeze(0) if pixels.ndim == 2 else pixels.permute(2, 0, 1).contiguous()


def read_pixels(path: str | Path, mode: str | None = None) -> torch.Tensor:
    """One 8-bit image file → a uint8 tensor `(channels, height, width)`."""
    with Image.open(path) as image:
        return pil_to_pixels(image if mode is None else image.convert(mode))


def decode_image(path: str | Path, mode: str | None = None) -> torch.Tensor:
    """One 8-bit image file → a float32 tensor `(channels, height, width)` with values in [0, 1]."""
    return read_pixels(path, mode).float().div(255)


class ImageFolderDataset(Dataset):
    """Images stored as `root/<class name>/<file>`, decoded lazily, as `(image, label)` pairs.

    root:       the folder; each sub-folder is a class, and labels follow the sorted folder names
    transform:  optional callable applied to each decoded image tensor (e.g. a torchvision v2 transform)
    mode:       optional PIL mode to convert to before decoding ("L" grey, "RGB")
    extensions: the file endings that count as images; other files (macOS's `.DS_Store`) are skipped

    `__init__` only lists file names (`classes`, `class_to_idx`, `samples`); `__getitem__` opens and
    decodes one file with PIL, into a float32 tensor `(channels, height, width)` with values in [0, 1].
    Samples are ordered by class, then by file name.
    """

    def __init__(
        self,
        root: str | Path,
        transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
        *,
        mode: str | None = None,
        extensions: Sequence[str] = IMAGE_EXTENSIONS,
    ):
        self.root = Path(root)
        self.transform = transform
        self.mode = mode
        self.classes = sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
        self.class_to_idx = {name: label for label, name in enumerate(self.classes)}
        self.samples = [
            (path, label)
            for name, label in self.class_to_idx.items()
            for path in sorted((self.root / name).iterdir())
            if path.is_file() and path.suffix.lower() in extensions
        ]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        image = decode_image(path, self.mode)
        if self.transform is not None:
            image = self.transform(image)
        return image, label


class InMemoryImages(Dataset):
    """Images held in memory as one uint8 tensor, normalised to float32 on fetch: `(image, label)` pairs.

    images:    uint8 tensor `(N, C, H, W)`: a quarter of the memory the same images take as float32
    labels:    tensor `(N,)`
    mean, std: each fetched image is `(pixels / 255 - mean) / std`

    `__getitem__` converts one image. `__getitems__`, which a DataLoader calls instead with the whole
    list of a batch's indices, converts the batch with one tensor operation per step, not one per image;
    both give the same numbers.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, mean: float = 0.0, std: float = 1.0):
        if images.dtype != torch.uint8 or images.ndim != 4:
            raise ValueError(f"images must be uint8 (N, C, H, W), got {images.dtype} {tuple(images.shape)}")
        self.images, self.labels = images, torch.as_tensor(labels)
        self.mean, self.std = mean, std

    @classmethod
    def from_folder(cls, folder: ImageFolderDataset, mean: float = 0.0, std: float = 1.0) -> "InMemoryImages":
        """Decode every image of a (small!) `ImageFolderDataset` once, into memory."""
        images = torch.stack([read_pixels(path, folder.mode) for path, _ in folder.samples])
        labels = torch.tensor([label for _, label in folder.samples])
        return cls(images, labels, mean, std)

    def __len__(self) -> int:
        return len(self.labels)

    def _normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        return (pixels.float() / 255 - self.mean) / self.std

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._normalise(self.images[index]), self.labels[index]

    def __getitems__(self, indices: list[int]) -> list[tuple[torch.Tensor, torch.Tensor]]:
        index = torch.as_tensor(indices, dtype=torch.long)
        return list(zip(self._normalise(self.images[index]), self.labels[index]))


def parse_review(line: str) -> tuple[str, int]:
    """`"positive<TAB>Happy"` → `("Happy", 1)` (labels: 0 negative, 1 positive)."""
    label, text = line.rstrip("\r\n").split("\t", 1)
    return text, REVIEW_CLASSES.index(label)


class ReviewsDataset(Dataset):
    """One-line reviews from a `label<TAB>text` file with a header line, as `(text, label)` pairs.

    path:      default `data/reviews.tsv` (80 reviews, 40 positive and 40 negative)
    transform: optional callable applied to each text (a tokenizer, an encoder)
    `classes` names the labels: 0 negative, 1 positive. The file is tiny: it is read in `__init__`.
    """

    classes = REVIEW_CLASSES

    def __init__(self, path: str | Path = REVIEWS, transform: Callable[[str], object] | None = None):
        with open(path, encoding="utf-8") as f:
            next(f)  # the header line: label, text
            rows = [parse_review(line) for line in f if line.strip()]
        self.texts = [text for text, _ in rows]
        self.labels = [label for _, label in rows]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[object, int]:
        text = self.texts[index]
        return (self.transform(text) if self.transform is not None else text), self.labels[index]


class LineStream(IterableDataset):
    """The lines of a text file, read one at a time (newline removed), optionally parsed.

    path:        the file
    parse:       optional callable applied to each line, e.g. `parse_review` (a module-level
                 function, so that spawned workers can unpickle it)
    skip_header: skip the file's first line

    Each DataLoader worker holds its own copy and reads the whole file, but keeps only every
    `num_workers`-th line, starting at its own id; so each line arrives exactly once, whatever the
    number of workers, without knowing the number of lines in advance.
    """

    def __init__(self, path: str | Path, parse: Callable[[str], object] | None = None, skip_header: bool = False):
        self.path = Path(path)
        self.parse = parse
        self.skip_header = skip_header

    def __iter__(self) -> Iterator[object]:
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        with open(self.path, encoding="utf-8") as f:
            if self.skip_header:
                next(f, None)
            for number, line in enumerate(f):
                if number % workers == worker:  # parse only this worker's lines
                    line = line.rstrip("\r\n")
                    yield self.parse(line) if self.parse is not None else line


class RangeStream(IterableDataset):
    """The numbers `start, ..., end - 1`, NOT sharded: with 2 workers every number arrives twice."""

    def __init__(self, start: int, end: int):
        self.start, self.end = start, end

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.start, self.end))


class ShardedRangeStream(IterableDataset):
    """The numbers `start, ..., end - 1`, each worker yielding its own contiguous slice."""

    def __init__(self, start: int, end: int):
        self.start, self.end = start, end

    def __iter__(self) -> Iterator[int]:
        info = get_worker_info()
        if info is None:  # no workers: the main process yields everything
            return iter(range(self.start, self.end))
        per_worker = math.ceil((self.end - self.start) / info.num_workers)
        first = self.start + info.id * per_worker
        return iter(range(first, min(first + per_worker, self.end)))


def split_range_among_workers(worker_id: int) -> None:
    """A `worker_init_fn`: shrink this worker's copy of a `RangeStream` to its own contiguous slice."""
    info = get_worker_info()
    dataset = info.dataset  # this worker's own copy; changing it affects no other worker
    start, end = dataset.start, dataset.end
    per_worker = math.ceil((end - start) / info.num_workers)
    dataset.start = start + worker_id * per_worker
    dataset.end = min(dataset.start + per_worker, end)
