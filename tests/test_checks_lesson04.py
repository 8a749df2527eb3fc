"""Lesson 04's checks reject the classic mistakes with the hint each deserves, accept correct answers written
differently, and cannot be gamed; plus the course's own datasets."""
from __future__ import annotations

import csv
import io
import itertools
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from checklib import Answers, Liar
from ptcourse.checks import lesson04 as check
from ptcourse.lessons import datasets as course

answers = Answers(check)
test_answer = answers.test()


class Anything:
    """Equal to everything."""

    def __eq__(self, other):
        return True

    def __hash__(self):
        return 0


test_a_stub_is_reported_as_not_done = answers.stub_test(check.csv_dataset, check.image_folder)


# --- Exercise 4.1: CsvDataset ----------------------------------------------------------------------
@answers.correct("4.1", "the notebook's answer")
class GoodCsv(Dataset):
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


@answers.correct("4.1", "numpy parsing in float64, normalised on every __getitem__")
class NumpyCsv(Dataset):
    def __init__(self, path, target, rows=None, stats=None):
        with open(path) as f:
            names = f.readline().strip().split(",")
        table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        if rows is not None:
            table = table[np.asarray(rows)]
        keep = [i for i, name in enumerate(names) if name != target]
        self.x = torch.from_numpy(table[:, keep])
        self.y = torch.from_numpy(table[:, names.index(target)]).long()
        self.stats = stats if stats is not None else (self.x.mean(0), self.x.std(0, unbiased=True))

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        mean, std = self.stats
        return ((self.x[index] - mean) / std).float(), self.y[index]


@answers.correct("4.1", "a DictReader, rows picked one by one, statistics as a list")
class DictReaderCsv(Dataset):
    def __init__(self, path, target, rows=None, stats=None):
        with open(path, newline="") as f:
            records = list(csv.DictReader(f))
        records = records if rows is None else [records[i] for i in rows]
        names = [name for name in records[0] if name != target]
        features = torch.tensor([[float(r[name]) for name in names] for r in records], dtype=torch.float32)
        self.labels = torch.tensor([int(r[target]) for r in records])
        if stats is None:
            stats = [features.mean(dim=0), torch.sqrt(((features - features.mean(0)) ** 2).sum(0) / (len(features) - 1))]
        self.stats = stats
        self.features = (features - stats[0]) / stats[1]

    def __len__(self):
        return self.labels.shape[0]

    def __getitem__(self, index):
        return self.features[index], self.labels[index]


answers.correct("4.1", "the course's CsvDataset", course.CsvDataset)


@answers.mistake("4.1", "numpy's population std (divides by n)", match=r"divides by n − 1")
class PopulationStd(GoodCsv):
    @staticmethod
    def statistics(features):
        return features.mean(0), torch.from_numpy(features.numpy().std(0))


@answers.mistake("4.1", "keeps the target among the features", match="drop the target column")
class TargetKept(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        super().__init__(path, target, rows, stats)
        self.features = torch.cat([self.features, self.labels[:, None].float()], dim=1)


@answers.mistake("4.1", "assumes the target is the last column", match="column named `target`")
class LastColumnIsTarget(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        with open(path) as f:
            last = f.readline().strip().split(",")[-1]
        super().__init__(path, last, rows, stats)


@answers.mistake("4.1", "does not normalise", match="normalise the features")
class NotNormalised(GoodCsv):
    @staticmethod
    def statistics(features):
        return torch.zeros(features.shape[1]), torch.ones(features.shape[1])


@answers.mistake("4.1", "statistics of the whole file", match="leak the test rows")
class StatsFromWholeFile(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        everything = GoodCsv(path, target, stats=stats)
        super().__init__(path, target, rows, stats if stats is not None else everything.stats)


@answers.mistake("4.1", "ignores the stats given", match="TRAINING mean and std")
class IgnoresGivenStats(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        super().__init__(path, target, rows, None)


@answers.mistake("4.1", "sorts the rows", match="do not sort them")
class SortsRows(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        super().__init__(path, target, sorted(rows) if rows is not None else None, stats)


@answers.mistake("4.1", "float labels", match="int64")
class FloatLabels(GoodCsv):
    def __getitem__(self, index):
        return self.features[index], self.labels[index].float()


@answers.mistake("4.1", "Python int labels", match="int64 tensor")
class IntLabels(GoodCsv):
    def __getitem__(self, index):
        return self.features[index], int(self.labels[index])


@answers.mistake("4.1", "float64 features", match="1-D float32 tensor")
class DoubleFeatures(NumpyCsv):
    def __getitem__(self, index):
        mean, std = self.stats
        return (self.x[index] - mean) / std, self.y[index]


@answers.mistake("4.1", "ignores rows", match="keep only the rows listed")
class IgnoresRows(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        super().__init__(path, target, None, stats)


@answers.mistake("4.1", "no stats attribute", match=r"self\.stats = \(mean, std\)")
class NoStatsAttribute(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        super().__init__(path, target, rows, stats)
        del self.stats


@answers.mistake("4.1", "squeezes the table: one row loses its dimension", match=r"one row.*raised an exception.*TypeError")
class SqueezesRows(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        super().__init__(path, target, rows, stats)
        self.features, self.labels = self.features.squeeze(), self.labels.squeeze()


@answers.mistake("4.1", "splits lines itself and cuts the last character", match=r"line\[:-1\]")
class CutsLastCharacter(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        with open(path) as f:
            lines = [line[:-1].split(",") for line in f]
        header, table = lines[0], torch.tensor([[float(v) for v in row] for row in lines[1:]])
        table = table if rows is None else table[rows]
        column = header.index(target)
        features = torch.cat([table[:, :column], table[:, column + 1:]], dim=1)
        self.labels = table[:, column].long()
        self.stats = stats if stats is not None else self.statistics(features)
        self.features = (features - self.stats[0]) / self.stats[1]


@answers.mistake("4.1", "a header counted as a row", match="the header line is not a row")
class HeaderAsRow(GoodCsv):
    def __len__(self):
        return len(self.labels) + 1


@answers.gaming("4.1", "stats equal to anything", match=r"a pair \(mean, std\) of tensors")
class AnythingStats(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        super().__init__(path, target, rows, stats)
        self.stats = (Anything(), Anything())


@answers.gaming("4.1", "labels that report every comparison as a match, and torch.equal patched", match="labels")
class LyingLabels(GoodCsv):
    def __init__(self, path, target, rows=None, stats=None):
        super().__init__(path, target, rows, stats)
        self.labels = torch.zeros_like(self.labels).as_subclass(Liar)
        torch.equal = lambda *args: True


# --- Exercise 4.2: ImageFolderDataset --------------------------------------------------------------
@answers.correct("4.2", "the notebook's answer")
class GoodFolder(Dataset):
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


@answers.correct("4.2", "os.scandir, str paths, raw bytes from PIL")
class ScandirFolder(Dataset):
    def __init__(self, root, transform=None):
        self.transform = transform
        entries = sorted(e.name for e in os.scandir(root) if e.is_dir())
        self.classes, self.class_to_idx = entries, dict(zip(entries, range(len(entries))))
        self.samples = []
        for name in entries:
            for file in sorted(os.listdir(os.path.join(root, name))):
                if file.lower().endswith(".png"):
                    self.samples.append((os.path.join(root, name, file), self.class_to_idx[name]))

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        with Image.open(path) as file:
            width, height = file.size
            data = bytearray(file.tobytes())
        image = torch.frombuffer(data, dtype=torch.uint8).float().div(255).reshape(1, height, width)
        if self.transform is not None:
            image = self.transform(image)
        return image, label


@answers.correct("4.2", "glob over */*.png, sorted by (class, name), torchvision's PILToTensor")
class GlobFolder(Dataset):
    def __init__(self, root, transform=None):
        from torchvision.transforms import PILToTensor

        self.to_tensor, self.transform = PILToTensor(), transform
        self.classes = sorted(p.name for p in Path(root).iterdir() if p.is_dir())
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        files = sorted(Path(root).glob("*/*.png"), key=lambda p: (p.parent.name, p.name))
        self.samples = [(str(p), self.class_to_idx[p.parent.name]) for p in files]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        with Image.open(path) as file:
            image = self.to_tensor(file).to(torch.float32) / 255.0
        return (image if self.transform is None else self.transform(image)), label


answers.correct("4.2", "the course's ImageFolderDataset", course.ImageFolderDataset)


@answers.mistake("4.2", "tensor labels", match="a Python int")
class TensorLabels(GoodFolder):
    def __getitem__(self, index):
        image, label = super().__getitem__(index)
        return image, torch.tensor(label)


@answers.mistake("4.2", "decodes every image in __init__", match="decode|open")
class EagerFolder(GoodFolder):
    def __init__(self, root, transform=None):
        super().__init__(root, transform)
        self.images = [self.decode(path) for path, _ in self.samples]

    def __getitem__(self, index):
        image = self.images[index]
        return (self.transform(image) if self.transform else image), self.samples[index][1]


@answers.mistake("4.2", "reads the files' bytes in __init__", match="do not decode images in __init__")
class ReadsFilesInInit(GoodFolder):
    def __init__(self, root, transform=None):
        super().__init__(root, transform)
        self.cache = {path: path.read_bytes() for path, _ in self.samples}

    def decode(self, path):
        with Image.open(io.BytesIO(self.cache[path])) as file:
            return torch.from_numpy(np.array(file)).unsqueeze(0).float() / 255


@answers.mistake("4.2", "verifies every image in __init__", match="open and decode a file in __getitem__")
class OpensInInit(GoodFolder):
    def __init__(self, root, transform=None):
        super().__init__(root, transform)
        for path, _ in self.samples:
            Image.open(path).verify()


@answers.mistake("4.2", "unsorted classes", match="sorted by name")
class UnsortedClasses(GoodFolder):
    def __init__(self, root, transform=None):
        super().__init__(root, transform)
        self.classes = self.classes[::-1]
        self.class_to_idx = {name: index for index, name in enumerate(self.classes)}
        self.samples = [(path, self.class_to_idx[name]) for name in self.classes for path in self.files(Path(root) / name)]


@answers.mistake("4.2", "unsorted files", match=r"by class, then by file name")
class UnsortedFiles(GoodFolder):
    def files(self, folder):
        return sorted(folder.glob("*.png"), reverse=True)


@answers.mistake("4.2", ".DS_Store counted as an image", match=r"count only the \.png files")
class DsStoreCounted(GoodFolder):
    def files(self, folder):
        return sorted(folder.iterdir())


@answers.mistake("4.2", ".DS_Store taken for a class", match="that are directories")
class DsStoreAsClass(GoodFolder):
    def class_names(self, root):
        return [entry.name for entry in root.iterdir()]

    def files(self, folder):
        return sorted(folder.glob("*.png")) if folder.is_dir() else []


@answers.mistake("4.2", "no channel dimension", match=r"unsqueeze\(0\)")
class NoChannel(GoodFolder):
    def decode(self, path):
        return super().decode(path)[0]


@answers.mistake("4.2", "width and height swapped", match="channels, height, width")
class Transposed(GoodFolder):
    def decode(self, path):
        return super().decode(path).transpose(1, 2).contiguous()


@answers.mistake("4.2", "uint8 pixels", match="float32")
class Uint8(GoodFolder):
    def decode(self, path):
        with Image.open(path) as file:
            return torch.from_numpy(np.array(file)).unsqueeze(0)


@answers.mistake("4.2", "not scaled to [0, 1]", match="scale by 1/255")
class NotScaled(GoodFolder):
    def decode(self, path):
        return super().decode(path) * 255


@answers.mistake("4.2", "transform ignored", match="call self.transform")
class TransformIgnored(GoodFolder):
    def __getitem__(self, index):
        path, label = self.samples[index]
        return self.decode(path), label


@answers.mistake("4.2", "transform applied to the PIL image", match="call self.transform")
class TransformOnPil(GoodFolder):
    def __getitem__(self, index):
        path, label = self.samples[index]
        with Image.open(path) as file:
            file = self.transform(file) if self.transform else file
            return torch.from_numpy(np.array(file)).unsqueeze(0).float() / 255, label


@answers.mistake("4.2", "float labels", match="a Python int")
class FloatLabel(GoodFolder):
    def __getitem__(self, index):
        image, label = super().__getitem__(index)
        return image, float(label)


@answers.mistake("4.2", "classes taken from the image files only, as a set", match="a list of str")
class ClassesAsSet(GoodFolder):
    def __init__(self, root, transform=None):
        super().__init__(root, transform)
        self.classes = set(self.classes)


@answers.mistake("4.2", "samples holds paths only", match=r"\(path, label\) pairs")
class PathsOnly(GoodFolder):
    def __init__(self, root, transform=None):
        super().__init__(root, transform)
        self.labels = [label for _, label in self.samples]
        self.samples = [path for path, _ in self.samples]

    def __getitem__(self, index):
        image = self.decode(self.samples[index])
        return (self.transform(image) if self.transform else image), self.labels[index]


@answers.gaming("4.2", "class_to_idx equal to anything", match=r"the dict \{'apple': 0")
class AnythingMapping(GoodFolder):
    def __init__(self, root, transform=None):
        super().__init__(root, transform)
        self.class_to_idx = Anything()


@answers.gaming("4.2", "classes equal to anything", match="a list of str")
class AnythingClasses(GoodFolder):
    def __init__(self, root, transform=None):
        super().__init__(root, transform)
        self.classes = Anything()


@answers.gaming("4.2", "a dict subclass whose == is always true", match=r"the dict \{'apple': 0")
class LyingDict(GoodFolder):
    def __init__(self, root, transform=None):
        super().__init__(root, transform)

        class AlwaysEqual(dict):
            def __eq__(self, other):
                return True

        self.class_to_idx = AlwaysEqual(zebra=0)


@answers.gaming("4.2", "images that report every comparison as a match", match="pixels of dataset")
class LyingImages(GoodFolder):
    def decode(self, path):
        return torch.zeros_like(super().decode(path)).as_subclass(Liar)


# --- Exercise 4.3: a sharded line stream -----------------------------------------------------------
class Lines(IterableDataset):
    def __init__(self, path):
        self.path = path

    def lines(self):
        with open(self.path) as f:
            return [line.rstrip("\n") for line in f]

    def share(self):
        info = get_worker_info()
        return (0, 1) if info is None else (info.id, info.num_workers)


@answers.correct("4.3", "the notebook's answer: deal by position")
class GoodStrided(Lines):
    def __iter__(self):
        worker, workers = self.share()
        with open(self.path, encoding="utf-8") as f:
            for number, line in enumerate(f):
                if number % workers == worker:
                    yield line.rstrip("\n")


@answers.correct("4.3", "islice over the file, splitlines")
class GoodIslice(Lines):
    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        start, step = (info.id, info.num_workers) if info else (0, 1)
        with open(self.path) as f:
            for line in itertools.islice(f, start, None, step):
                yield line.splitlines()[0] if line.strip("\n") else ""


@answers.correct("4.3", "contiguous chunks, rounded up")
class GoodContiguous(Lines):
    def __iter__(self):
        lines = self.lines()
        info = get_worker_info()
        if info is None:
            return iter(lines)
        per_worker = math.ceil(len(lines) / info.num_workers)
        return iter(lines[info.id * per_worker:(info.id + 1) * per_worker])


@answers.correct("4.3", "read().split('\\n'), dealt from the end")
class GoodSplit(Lines):
    def __iter__(self):
        with open(self.path, encoding="utf-8") as f:
            text = f.read()
        lines = text.split("\n")
        if text.endswith("\n") or not text:
            lines.pop()
        worker, workers = self.share()
        return iter([line for number, line in enumerate(lines) if (len(lines) - 1 - number) % workers == worker])


answers.correct("4.3", "the course's LineStream", course.LineStream)


@answers.mistake("4.3", "line.strip()", match=r"line\.strip\(\) also removes")
class Strips(Lines):
    def __iter__(self):
        worker, workers = self.share()
        with open(self.path) as f:
            yield from map(str.strip, itertools.islice(f, worker, None, workers))


@answers.mistake("4.3", "line.rstrip()", match=r"line\.rstrip\(\) also removes")
class RStrips(Lines):
    def __iter__(self):
        worker, workers = self.share()
        with open(self.path) as f:
            for number, line in enumerate(f):
                if number % workers == worker:
                    yield line.rstrip()


@answers.mistake("4.3", "line[:-1]", match=r"line\[:-1\] then cuts")
class Chops(Lines):
    def __iter__(self):
        worker, workers = self.share()
        with open(self.path) as f:
            for number, line in enumerate(f):
                if number % workers == worker:
                    yield line[:-1]


@answers.mistake("4.3", "drops blank lines", match="blank lines are lines too")
class DropsBlankLines(Lines):
    def __iter__(self):
        worker, workers = self.share()
        lines = [line for line in self.lines() if line]
        return iter(lines[worker::workers])


@answers.mistake("4.3", "drops repeated lines", match="must arrive twice")
class DropsRepeats(Lines):
    def __iter__(self):
        worker, workers = self.share()
        lines = list(dict.fromkeys(self.lines()))
        return iter(lines[worker::workers])


@answers.mistake("4.3", "no sharding", match="keep only this worker's lines")
class NoSharding(Lines):
    def __iter__(self):
        return iter(self.lines())


@answers.mistake("4.3", "assumes workers", match=r"raised an exception.*AttributeError")
class AssumesWorkers(Lines):
    def __iter__(self):
        info = get_worker_info()
        return iter(self.lines()[info.id::info.num_workers])


@answers.mistake("4.3", "chunks rounded down", match="check the remainder")
class FloorChunks(Lines):
    def __iter__(self):
        lines = self.lines()
        info = get_worker_info()
        if info is None:
            return iter(lines)
        per_worker = len(lines) // info.num_workers
        return iter(lines[info.id * per_worker:(info.id + 1) * per_worker])


@answers.mistake("4.3", "worker 0 does everything", match="split the lines among all the workers")
class OneWorkerDoesEverything(Lines):
    def __iter__(self):
        info = get_worker_info()
        return iter(self.lines() if info is None or info.id == 0 else [])


@answers.mistake("4.3", "opens the file in __init__", match=r"raised an exception.*open the file in __iter__")
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


@answers.mistake("4.3", "keeps the newline", match=r"line\.rstrip\('\\n'\)")
class KeepsNewline(Lines):
    def __iter__(self):
        worker, workers = self.share()
        with open(self.path) as f:
            for number, line in enumerate(f):
                if number % workers == worker:
                    yield line


@answers.mistake("4.3", "modulo off by one", match="check the remainder")
class ModuloOffByOne(Lines):
    def __iter__(self):
        worker, workers = self.share()
        return (line for number, line in enumerate(self.lines(), start=1) if number % workers == worker + 1)


@answers.mistake("4.3", "a set of lines: order lost, repeats dropped", match="must arrive twice|order")
class SetOfLines(Lines):
    def __iter__(self):
        worker, workers = self.share()
        return iter(sorted(set(self.lines()))[worker::workers])


class EverythingString(str):
    def __eq__(self, other):
        return True

    def __hash__(self):
        return 0


@answers.gaming("4.3", "yields strings equal to every line", match="str, one per line")
class EqualToEveryLine(Lines):
    def __iter__(self):
        worker, workers = self.share()
        return (EverythingString("?") for number, _ in enumerate(self.lines()) if number % workers == worker)


@answers.gaming("4.3", "swallows its own exceptions and yields nothing", match="missing")
class SwallowsErrors(Lines):
    def __iter__(self):
        try:
            info = get_worker_info()
            yield from self.lines()[info.id::info.num_workers]
        except Exception:  # noqa: BLE001
            return


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
    Image.fromarray(np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)).save(tmp_path / "cat" / "a.png")
    image, label = course.ImageFolderDataset(tmp_path)[0]
    assert image.shape == (3, 2, 3) and label == 0
    assert torch.equal(image, torch.arange(18, dtype=torch.float32).reshape(2, 3, 3).permute(2, 0, 1) / 255)
