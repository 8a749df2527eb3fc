"""Lesson 04's checks reject the classic mistakes and accept correct answers written differently."""
from __future__ import annotations

import csv
import itertools
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from ptcourse.lessons import datasets as course
from ptcourse.checks import lesson04 as check


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 4.N is not done yet")


# --- Exercise 4.1: CsvDataset ----------------------------------------------------------------------
class GoodCsv(Dataset):
    """The notebook's answer."""

    def __init__(self, path, target, rows=None, stats=None):
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            table = torch.tensor([[float(value) for value in row] for row in reader])
        if rows is not None:
            table = table[rows]
        column = header.index(target)
        features = torch.cat([table[:, :column], table[:, column + 1:]], dim=1)
        self.labels = table[:, column].long()
        self.stats = stats if stats is not None else self.statistics(features)
        self.features = (features - self.stats[0]) / self.stats[1]

    @staticmethod
    def statistics(features):
        return features.mean(0), features.std(0)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return self.features[index], self.labels[index]


class NumpyCsv(Dataset):
    """Different but correct: numpy parsing, population std, normalisation on every __getitem__."""

    def __init__(self, path, target, rows=None, stats=None):
        with open(path) as f:
            names = f.readline().strip().split(",")
        table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        if rows is not None:
            table = table[np.asarray(rows)]
        keep = [i for i, name in enumerate(names) if name != target]
        self.x = torch.from_numpy(table[:, keep]).float()
        self.y = torch.from_numpy(table[:, names.index(target)]).long()
        if stats is None:
            stats = (self.x.mean(0), self.x.std(0, correction=0))
        self.stats = stats

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        mean, std = self.stats
        return (self.x[index] - mean) / std, self.y[index]


class TargetKept(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        super().__init__(path, target, rows, stats)
        self.features = torch.cat([self.features, self.labels[:, None].float()], dim=1)


class LastColumnIsTarget(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        with open(path) as f:
            last = f.readline().strip().split(",")[-1]
        super().__init__(path, last, rows, stats)


class NotNormalised(GoodCsv):
    @staticmethod
    def statistics(features):
        return torch.zeros(features.shape[1]), torch.ones(features.shape[1])


class StatsFromWholeFile(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        everything = GoodCsv(path, target, stats=stats)
        super().__init__(path, target, rows, stats if stats is not None else everything.stats)


class IgnoresGivenStats(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        super().__init__(path, target, rows, None)


class SortsRows(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        super().__init__(path, target, sorted(rows) if rows is not None else None, stats)


class FloatLabels(GoodCsv):
    def __getitem__(self, index):
        return self.features[index], self.labels[index].float()


class IgnoresRows(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        super().__init__(path, target, None, stats)


class NoStatsAttribute(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        super().__init__(path, target, rows, stats)
        del self.stats


@pytest.mark.parametrize("good", [GoodCsv, NumpyCsv, course.CsvDataset])
def test_csv_dataset_accepts_correct_answers(good, capsys):
    check.csv_dataset(good)
    assert "Exercise 4.1 passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [TargetKept, LastColumnIsTarget, NotNormalised, StatsFromWholeFile, IgnoresGivenStats,
                                   SortsRows, FloatLabels, IgnoresRows, NoStatsAttribute])
def test_csv_dataset_rejects_mistakes(wrong):
    with pytest.raises(AssertionError, match="Exercise 4.1"):
        check.csv_dataset(wrong)


def test_csv_dataset_lets_the_stub_raise():
    with pytest.raises(NotImplementedError):
        check.csv_dataset(stub)


# --- Exercise 4.2: ImageFolderDataset --------------------------------------------------------------
class GoodFolder(Dataset):
    """The notebook's answer."""

    def __init__(self, root, transform=None):
        root = Path(root)
        self.transform = transform
        self.classes = sorted(self.class_names(root))
        self.class_to_idx = {name: index for index, name in enumerate(self.classes)}
        self.samples = [(path, self.class_to_idx[name]) for name in self.classes for path in self.files(root / name)]

    def class_names(self, root):
        return [folder.name for folder in root.iterdir() if folder.is_dir()]

    def files(self, folder):
        return sorted(folder.glob("*.png"))

    def __len__(self):
        return len(self.samples)

    def decode(self, path):
        with Image.open(path) as file:
            return torch.from_numpy(np.array(file)).unsqueeze(0).float() / 255

    def __getitem__(self, index):
        path, label = self.samples[index]
        image = self.decode(path)
        return (self.transform(image) if self.transform else image), label


class ScandirFolder(Dataset):
    """Different but correct: os.scandir, tensor labels, raw bytes from PIL."""

    def __init__(self, root, transform=None):
        self.transform = transform
        entries = sorted(e.name for e in os.scandir(root) if e.is_dir())
        self.classes, self.class_to_idx = entries, dict(zip(entries, range(len(entries))))
        self.samples = []
        for name in entries:
            for file in sorted(os.listdir(os.path.join(root, name))):
                if file.lower().endswith(".png"):
                    self.samples.append((os.path.join(root, name, file), torch.tensor(self.class_to_idx[name])))

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        with Image.open(path) as file:
            width, height = file.size
            image = torch.frombuffer(bytearray(file.tobytes()), dtype=torch.uint8).float().div(255).reshape(1, height, width)
        if self.transform is not None:
            image = self.transform(image)
        return image, label


class EagerFolder(GoodFolder):
    def __init__(self, root, transform=None):
        super().__init__(root, transform)
        self.images = [self.decode(path) for path, _ in self.samples]

    def __getitem__(self, index):
        image = self.images[index]
        return (self.transform(image) if self.transform else image), self.samples[index][1]


class ReadsFilesInInit(GoodFolder):
    """Eager without calling Image.open in __init__ (reads the bytes): the file rewritten later shows it."""

    def __init__(self, root, transform=None):
        super().__init__(root, transform)
        self.cache = {}
        for path, _ in self.samples:
            self.cache[path] = path.read_bytes()

    def decode(self, path):
        import io

        with Image.open(io.BytesIO(self.cache[path])) as file:
            return torch.from_numpy(np.array(file)).unsqueeze(0).float() / 255


class OpensInInit(GoodFolder):
    def __init__(self, root, transform=None):
        super().__init__(root, transform)
        for path, _ in self.samples:
            Image.open(path).verify()


class UnsortedClasses(GoodFolder):
    def __init__(self, root, transform=None):
        super().__init__(root, transform)
        self.classes = self.classes[::-1]
        self.class_to_idx = {name: index for index, name in enumerate(self.classes)}
        self.samples = [(path, self.class_to_idx[name]) for name in self.classes for path in self.files(Path(root) / name)]


class UnsortedFiles(GoodFolder):
    def files(self, folder):
        return sorted(folder.glob("*.png"), reverse=True)


class DsStoreCounted(GoodFolder):
    def files(self, folder):
        return sorted(folder.iterdir())


class DsStoreAsClass(GoodFolder):
    def class_names(self, root):
        return [entry.name for entry in root.iterdir()]

    def files(self, folder):
        return sorted(folder.glob("*.png")) if folder.is_dir() else []


class NoChannel(GoodFolder):
    def decode(self, path):
        return super().decode(path)[0]


class Transposed(GoodFolder):
    def decode(self, path):
        return super().decode(path).transpose(1, 2).contiguous()


class Uint8(GoodFolder):
    def decode(self, path):
        with Image.open(path) as file:
            return torch.from_numpy(np.array(file)).unsqueeze(0)


class NotScaled(GoodFolder):
    def decode(self, path):
        return super().decode(path) * 255


class TransformIgnored(GoodFolder):
    def __getitem__(self, index):
        path, label = self.samples[index]
        return self.decode(path), label


class TransformOnPil(GoodFolder):
    def __getitem__(self, index):
        path, label = self.samples[index]
        with Image.open(path) as file:
            file = self.transform(file) if self.transform else file
            return torch.from_numpy(np.array(file)).unsqueeze(0).float() / 255, label


class FloatLabel(GoodFolder):
    def __getitem__(self, index):
        image, label = super().__getitem__(index)
        return image, float(label)


@pytest.mark.parametrize("good", [GoodFolder, ScandirFolder, course.ImageFolderDataset])
def test_image_folder_accepts_correct_answers(good, capsys):
    check.image_folder(good)
    assert "Exercise 4.2 passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [EagerFolder, ReadsFilesInInit, OpensInInit, UnsortedClasses, UnsortedFiles,
                                   DsStoreCounted, DsStoreAsClass, NoChannel, Transposed, Uint8, NotScaled,
                                   TransformIgnored, TransformOnPil, FloatLabel])
def test_image_folder_rejects_mistakes(wrong):
    with pytest.raises(AssertionError, match="Exercise 4.2"):
        check.image_folder(wrong)


def test_image_folder_lets_the_stub_raise():
    with pytest.raises(NotImplementedError):
        check.image_folder(stub)


# --- Exercise 4.3: a sharded line stream -----------------------------------------------------------
class Lines(IterableDataset):
    def __init__(self, path):
        self.path = path

    def lines(self):
        with open(self.path) as f:
            return [line.rstrip("\n") for line in f]


class GoodStrided(Lines):
    """The notebook's answer."""

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        with open(self.path, encoding="utf-8") as f:
            for number, line in enumerate(f):
                if number % workers == worker:
                    yield line.rstrip("\n")


class GoodIslice(Lines):
    """Different but correct: islice over the file, newline stripped by str.strip."""

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        start, step = (info.id, info.num_workers) if info else (0, 1)
        with open(self.path) as f:
            yield from map(str.strip, itertools.islice(f, start, None, step))


class GoodContiguous(Lines):
    """Different but correct: counts the lines, then contiguous chunks rounded up."""

    def __iter__(self):
        lines = self.lines()
        info = get_worker_info()
        if info is None:
            return iter(lines)
        per_worker = math.ceil(len(lines) / info.num_workers)
        return iter(lines[info.id * per_worker:(info.id + 1) * per_worker])


class NoSharding(Lines):
    def __iter__(self):
        return iter(self.lines())


class AssumesWorkers(Lines):
    def __iter__(self):
        info = get_worker_info()
        return iter(self.lines()[info.id::info.num_workers])


class FloorChunks(Lines):
    def __iter__(self):
        lines = self.lines()
        info = get_worker_info()
        if info is None:
            return iter(lines)
        per_worker = len(lines) // info.num_workers
        return iter(lines[info.id * per_worker:(info.id + 1) * per_worker])


class OneWorkerDoesEverything(Lines):
    def __iter__(self):
        info = get_worker_info()
        return iter(self.lines() if info is None or info.id == 0 else [])


class FileOpenedInInit(IterableDataset):
    def __init__(self, path):
        self.file = open(path)  # noqa: SIM115

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        self.file.seek(0)
        for number, line in enumerate(self.file):
            if number % workers == worker:
                yield line.rstrip("\n")


class KeepsNewline(Lines):
    def __iter__(self):
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        with open(self.path) as f:
            for number, line in enumerate(f):
                if number % workers == worker:
                    yield line


class ModuloOffByOne(Lines):
    def __iter__(self):
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        return (line for number, line in enumerate(self.lines(), start=1) if number % workers == worker + 1)


@pytest.mark.parametrize("good", [GoodStrided, GoodIslice, GoodContiguous, course.LineStream])
def test_sharded_stream_accepts_correct_answers(good, capsys):
    check.sharded_stream(good)
    assert "Exercise 4.3 passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [NoSharding, AssumesWorkers, FloorChunks, OneWorkerDoesEverything, FileOpenedInInit,
                                   ModuloOffByOne, KeepsNewline])
def test_sharded_stream_rejects_mistakes(wrong):
    with pytest.raises(AssertionError, match="Exercise 4.3"):
        check.sharded_stream(wrong)


def test_sharded_stream_hints_at_the_newline():
    with pytest.raises(AssertionError, match=r"rstrip"):
        check.sharded_stream(KeepsNewline)


def test_sharded_stream_lets_the_stub_raise():
    class Stub(Lines):
        def __iter__(self):
            raise NotImplementedError("Exercise 4.3 is not done yet")

    with pytest.raises(NotImplementedError):
        check.sharded_stream(Stub)


def test_sharded_stream_leaves_no_worker_info_behind():
    with pytest.raises(AssertionError):
        check.sharded_stream(NoSharding)
    assert get_worker_info() is None


def test_sharded_stream_runs_real_workers_only_under_fork(monkeypatch, capsys):
    """Under spawn the check must not start workers (a notebook class could not reach them)."""
    started = []
    monkeypatch.setattr(check, "_real", lambda dataset, workers: started.append(workers))
    monkeypatch.setattr(check, "_start_method", lambda: "spawn")
    check.sharded_stream(GoodStrided)
    assert started == [] and "Exercise 4.3 passed" in capsys.readouterr().out


# --- the course's datasets ---------------------------------------------------------------------------
def test_course_datasets_survive_pickling():
    """What spawned workers receive: the datasets must pickle and unpickle by reference to this module."""
    import pickle

    for dataset in [course.CsvDataset(course.DATA / "iris.csv", "species"), course.ImageFolderDataset(course.DATA / "digits"),
                    course.ReviewsDataset(), course.LineStream(course.REVIEWS, parse=course.parse_review, skip_header=True)]:
        copy = pickle.loads(pickle.dumps(dataset))
        assert type(copy) is type(dataset)


def test_in_memory_images_getitems_matches_getitem():
    pixels = torch.randint(0, 256, (6, 3, 4, 5), dtype=torch.uint8)
    data = course.InMemoryImages(pixels, torch.arange(6), mean=0.5, std=0.25)
    batch = data.__getitems__([4, 1, 1, 5])
    for (x, y), index in zip(batch, [4, 1, 1, 5]):
        want_x, want_y = data[index]
        assert torch.equal(x, want_x) and torch.equal(y, want_y)


def test_image_folder_decodes_colour(tmp_path):
    (tmp_path / "cat").mkdir()
    Image.fromarray(np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3), mode="RGB").save(tmp_path / "cat" / "a.png")
    image, label = course.ImageFolderDataset(tmp_path)[0]
    assert image.shape == (3, 2, 3) and label == 0
    assert torch.equal(image, torch.arange(18, dtype=torch.float32).reshape(2, 3, 3).permute(2, 0, 1) / 255)
