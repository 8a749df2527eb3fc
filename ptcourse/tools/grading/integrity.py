"""Keep one student's notebook from changing what the next one is graded with.

A notebook runs with the instructor's permissions and could rewrite the check modules, the grader,
the data or the release on disk. So at the start of a batch the grader reads all of them into memory
(`Files`), and every notebook runs with a private copy of the course package written from that
memory (its worker process and its kernel import only the copy). After each notebook the grader
compares its copy and the originals with what it read: a change is restored (the changed version is
kept for the instructor) and the notebooks that could have made it are graded again, one at a time,
to find the one that does. The top of every import folder is watched the same way: a new or changed
module, package, `*.pth` or `sitecustomize.py` there would run in, or shadow a library of, every later
kernel. (Files deeper inside installed libraries are not watched: see docs/grading.md.)
"""
from __future__ import annotations

import os
import shutil
import site
import sys
from dataclasses import dataclass, field
from pathlib import Path

IMPORTABLE = (".py", ".pth", ".so", ".pyd", ".pyc")  # at the top of an import folder: run or imported by later kernels
CACHE = "__pycache__"


def _stat(path: Path):
    try:
        s = path.stat()
    except OSError:
        return None
    return (s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino)  # ctime changes on every write, and cannot be set


def _importable(folder: Path) -> list[Path]:
    """The modules, packages and startup files at the top of an import folder (packages: their __init__.py)."""
    found = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.suffix in IMPORTABLE and entry.is_file():
            found.append(entry)
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            found.append(entry / "__init__.py")
    return found


def _tree(folder: Path) -> list[Path]:
    """The files under `folder` (not following links, not compiled caches)."""
    if folder.is_file():
        return [folder]
    found = []
    for root, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if f != CACHE and not Path(root, f).is_symlink())
        found += [Path(root, f) for f in sorted(files)]
    return found


def import_folders(extra: tuple[str, ...] = ()) -> list[Path]:
    """The folders later kernels import from (and whose *.pth and sitecustomize files they run)."""
    folders = [*extra, *os.environ.get("PYTHONPATH", "").split(os.pathsep), *site.getsitepackages(),
               site.getusersitepackages(), *sys.path[1:]]
    return list(dict.fromkeys(Path(f).resolve() for f in folders if f and Path(f).is_dir()))


@dataclass
class Change:
    path: str  # as shown to the instructor
    before: bytes | None  # None: the file is new
    after: bytes | None  # None: the file was deleted


class Files:
    """The content of the files a batch must not let a notebook change, read once at the start."""

    def __init__(self, trees: dict[str, Path], import_folders: list[Path] = ()):
        self.trees = {label: Path(path).resolve() for label, path in trees.items()}
        self.folders = [f for f in import_folders if not any(f == t or t in f.parents for t in self.trees.values())]
        self.content: dict[Path, bytes] = {}
        self.stats: dict[Path, tuple] = {}
        self.caches: dict[Path, tuple] = {}  # .pyc files of the originals: deleted at the end if they changed
        for path in self._current():
            self.content[path] = path.read_bytes()
            self.stats[path] = _stat(path)
        for folder in self.trees.values():
            for cache in (folder.rglob(f"{CACHE}/*.pyc") if folder.is_dir() else []):
                self.caches[cache] = _stat(cache)

    def _current(self) -> list[Path]:
        return list(dict.fromkeys([*(p for folder in self.trees.values() for p in _tree(folder)),
                                   *(p for folder in self.folders for p in _importable(folder))]))

    def display(self, path: Path) -> str:
        for label, folder in self.trees.items():
            if path == folder or folder in path.parents:
                return label if path == folder else f"{label}/{path.relative_to(folder).as_posix()}"
        return str(path)

    def changes(self) -> list[Change]:
        """What differs on disk from what was read (changed, deleted or new files)."""
        found = []
        current = set(self._current())
        for path in sorted(current | set(self.content)):
            if path in self.content and _stat(path) == self.stats[path]:
                continue
            try:
                now = path.read_bytes()
            except OSError:
                now = None
            before = self.content.get(path)
            if now != before:
                found.append(Change(self.display(path), before, now))
            elif now is not None:
                self.stats[path] = _stat(path)  # touched, same content
        return found

    def restore(self) -> list[Change]:
        """Put back what was read; return what was found changed."""
        found = self.changes()
        by_name = {self.display(p): p for p in self.content}
        for change in found:
            path = by_name.get(change.path)
            if path is None:  # a new file
                path = next((p for p in self._current() if self.display(p) == change.path), None)
                if path is not None:
                    if path.name == "__init__.py" and path.parent.parent in self.folders:
                        shutil.rmtree(path.parent, ignore_errors=True)  # a package a notebook put on the import path
                    else:
                        path.unlink(missing_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.content[path])
            self.stats[path] = _stat(path)
        return found

    def clean_caches(self) -> None:
        """Delete compiled files of the originals that appeared or changed during the batch (Python remakes them)."""
        for folder in self.trees.values():
            for cache in (folder.rglob(f"{CACHE}/*.pyc") if folder.is_dir() else []):
                if self.caches.get(cache) != _stat(cache):
                    cache.unlink(missing_ok=True)

    # --- the private copies -------------------------------------------------------------------------
    def write_copy(self, destination: Path, layout: dict[str, str], links: dict[str, str] | None = None) -> "Copy":
        """Write the trees under `destination` (`layout`: tree label -> folder inside it) from memory.

        `links`: trees that the copy only links to (the data: thousands of files, read-only for the lessons,
        and verified after every notebook like the other originals).
        """
        stats = {}
        for label, where in (links or {}).items():
            (destination / where).parent.mkdir(parents=True, exist_ok=True)
            (destination / where).symlink_to(self.trees[label], target_is_directory=True)
        linked = [self.trees[label] for label in (links or {})]
        for label, folder in self.trees.items():
            if label not in layout:
                continue
            target_root = destination / layout[label]
            for path, data in self.content.items():
                if any(path == other or other in path.parents for other in linked):
                    continue
                if path == folder or folder in path.parents:
                    target = target_root / path.relative_to(folder) if path != folder else target_root
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                    stats[target] = (_stat(target), data)
        return Copy(destination, stats)


@dataclass
class Copy:
    root: Path
    stats: dict[Path, tuple] = field(default_factory=dict)  # path -> (stat, content) right after writing

    def changes(self) -> list[str]:
        """Files of the copy that were changed, deleted or added since it was written (compiled caches aside)."""
        found = []
        current = set(_tree(self.root))
        for path in sorted(current | set(self.stats)):
            if path in self.stats and _stat(path) == self.stats[path][0]:
                continue
            try:
                now = path.read_bytes()
            except OSError:
                now = None
            if path not in self.stats or now != self.stats[path][1]:
                found.append(path.relative_to(self.root).as_posix())
        return found

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
