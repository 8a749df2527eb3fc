"""Editions of the course in other languages, generated from the English solutions, and their message catalogs.

    python -m ptcourse.tools.translate stale      # every missing or stale translation, with the English change
    python -m ptcourse.tools.translate sync       # add what is missing to the translation sources (to translate)
    python -m ptcourse.tools.translate catalog    # extract the checks' messages, update the .po, compile the .mo

An edition (`ko/solutions/`, `ko/notebooks/`, written by `python -m ptcourse.tools.build`) is the English
solution notebook with its markdown cells replaced by their translations from one source per lesson,
`translations/<language>/NN_topic.md`, and its setup cell choosing the language; its code cells are the
English ones, so exercises, checks, cell ids and the grader work unchanged. A source holds, for each
markdown cell, the English text it was translated from (with its fingerprint) and the translation:

    <!-- cell l01-00 · en 3f2a9c1b2d4e -->
    <!-- en
    # 01 · nn.Module and nn.Parameter
    -->
    # 01 · nn.Module과 nn.Parameter

A cell whose English text has changed since (another fingerprint) is stale; one with no entry is missing.
"""
from __future__ import annotations

import argparse
import difflib
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ptcourse.tools.repo import REPO, SOLUTIONS, lessons

EDITIONS: tuple[str, ...] = ()  # ("ko",) once the Korean edition lands
TRANSLATIONS = REPO / "translations"
LOCALE = REPO / "ptcourse" / "locale"
HEADER = re.compile(r"^<!-- cell (?P<id>\S+) · en (?P<fingerprint>[0-9a-f]{12}) -->$")
TODO = "TODO: translate"


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:12]


def edition_folders(language: str) -> tuple[Path, Path]:
    """(solutions, notebooks) of an edition."""
    return REPO / language / "solutions", REPO / language / "notebooks"


@dataclass
class Entry:
    cell_id: str
    english: str  # the English text the translation was made from
    translation: str

    @property
    def done(self) -> bool:
        return bool(self.translation.strip()) and not self.translation.strip().startswith(TODO)


def source_path(language: str, lesson: str) -> Path:
    return TRANSLATIONS / language / f"{Path(lesson).stem}.md"


def read_source(path: Path) -> dict[str, Entry]:
    """The entries of a translation source, by cell id (an absent file has none)."""
    if not path.is_file():
        return {}
    entries: dict[str, Entry] = {}
    blocks = re.split(r"^(?=<!-- cell )", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    for block in blocks:
        if not block.startswith("<!-- cell "):
            continue
        header, _, rest = block.partition("\n")
        match = HEADER.match(header.strip())
        if not match or not rest.startswith("<!-- en\n") or "\n-->\n" not in rest:
            raise ValueError(f"{path.name}: a malformed entry starting {header!r}")
        english, _, translation = rest[len("<!-- en\n"):].partition("\n-->\n")
        entry = Entry(match["id"], unescape(english), translation.strip("\n"))
        if fingerprint(entry.english) != match["fingerprint"]:
            raise ValueError(f"{path.name}, cell {entry.cell_id}: the English text and its fingerprint disagree "
                             "(edit translations only below the `-->` line)")
        entries[entry.cell_id] = entry
    return entries


def escape(text: str) -> str:
    return text.replace("-->", "--\u200b>")  # an English text may not close the comment that holds it


def unescape(text: str) -> str:
    return text.replace("--\u200b>", "-->")


def write_source(path: Path, entries: list[Entry]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    parts = [f"<!-- cell {e.cell_id} · en {fingerprint(e.english)} -->\n<!-- en\n{escape(e.english.strip())}\n-->\n"
             f"{e.translation.strip()}\n" for e in entries]
    path.write_text("\n".join(parts), encoding="utf-8")


def english_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "markdown"]


def problems(language: str, solution: Path) -> list[str]:
    """What keeps a lesson's translation from being current: missing and stale cells, each with its English."""
    import nbformat

    nb = nbformat.read(solution, as_version=4)
    entries = read_source(source_path(language, solution.name))
    found = []
    for cell in english_cells(nb):
        entry = entries.get(cell.id)
        where = f"{language}: {solution.name}, cell {cell.id}"
        if entry is None or not entry.done:
            found.append(f"{where} is not translated:\n{indent(cell.source)}")
        elif fingerprint(entry.english) != fingerprint(cell.source):
            diff = difflib.unified_diff(entry.english.strip().splitlines(), cell.source.strip().splitlines(),
                                        "translated from", "English now", lineterm="", n=1)
            found.append(f"{where} is stale: its English text changed:\n{indent(chr(10).join(diff))}")
    unknown = sorted(set(entries) - {c.id for c in english_cells(nb)})
    found += [f"{language}: {solution.name} translates cell {i}, which is no markdown cell of the English lesson"
              for i in unknown]
    return found


def indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.strip().splitlines())


def sync(language: str, solution: Path) -> int:
    """Add an entry (English text, translation to do) for every markdown cell that has none; keep the rest.

    Entries follow the English cell order; a translated but stale entry keeps its old English text
    (so `stale` can show what changed) until a translator updates both.
    """
    import nbformat

    nb = nbformat.read(solution, as_version=4)
    path = source_path(language, solution.name)
    entries = read_source(path)
    ordered, added = [], 0
    for cell in english_cells(nb):
        entry = entries.get(cell.id)
        if entry is None:
            entry, added = Entry(cell.id, cell.source, f"{TODO}"), added + 1
        elif not entry.done:
            entry = Entry(cell.id, cell.source, entry.translation)
        ordered.append(entry)
    write_source(path, ordered)
    return added


def translated(nb, language: str, lesson: str):
    """`nb` (an English notebook) with its markdown cells in `language` where a translation exists."""
    entries = read_source(source_path(language, lesson))
    for cell in english_cells(nb):
        entry = entries.get(cell.id)
        if entry is not None and entry.done:
            cell.source = entry.translation
    nb.metadata.setdefault("course", {})["language"] = language
    return nb


# --- Message catalogs (gettext) ----------------------------------------------------------------------
def catalog_paths(language: str) -> tuple[Path, Path]:
    folder = LOCALE / language / "LC_MESSAGES"
    return folder / "ptcourse.po", folder / "ptcourse.mo"


def extract():
    """Every message marked `_()` / `N_()` in the course package, as a Babel catalog."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    template = Catalog(project="ptcourse", fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
            str(REPO / "ptcourse"), method_map=[("**.py", "python")], keywords={"_": None, "N_": None}):
        template.add(message, locations=[(f"ptcourse/{filename}", lineno)], auto_comments=comments, context=context)
    return template


def catalog_problems(language: str) -> list[str]:
    """English messages without a translation, and a compiled catalog out of date with its .po."""
    from babel.messages.pofile import read_po

    po, mo = catalog_paths(language)
    if not po.is_file():
        return [f"{language}: {po.relative_to(REPO)} is missing (run: python -m ptcourse.tools.translate catalog)"]
    with open(po, "rb") as f:
        catalog = read_po(f)
    found = []
    for message in extract():
        if not message.id:
            continue  # the catalog's header
        translation = catalog.get(message.id)
        if translation is None or not translation.string or translation.fuzzy:
            found.append(f"{language}: the message {message.id!r} ({message.locations[0][0]}) has no translation")
    if not mo.is_file() or mo.read_bytes() != compiled(catalog):
        found.append(f"{language}: {mo.relative_to(REPO)} is not compiled from its .po "
                     "(run: python -m ptcourse.tools.translate catalog)")
    return found


def compiled(catalog) -> bytes:
    import io

    from babel.messages.mofile import write_mo

    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def update_catalog(language: str) -> None:
    """Merge the extracted messages into the language's .po (new ones untranslated), then compile the .mo."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    po, mo = catalog_paths(language)
    po.parent.mkdir(parents=True, exist_ok=True)
    if po.is_file():
        with open(po, "rb") as f:
            catalog = read_po(f)
    else:
        catalog = Catalog(locale=language, project="ptcourse")
    catalog.update(extract(), no_fuzzy_matching=True)
    catalog.obsolete.clear()
    with open(po, "wb") as f:
        write_po(f, catalog, width=100, omit_header=False, sort_output=False)
    mo.write_bytes(compiled(catalog))


def stale_everything() -> list[str]:
    found = []
    for language in EDITIONS:
        for solution in lessons(SOLUTIONS):
            found += problems(language, solution)
        found += catalog_problems(language)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["stale", "sync", "catalog"])
    parser.add_argument("--language", choices=EDITIONS, default=EDITIONS[0])
    args = parser.parse_args(argv)
    if args.command == "stale":
        found = stale_everything()
        print("\n".join(found) or "every translation is current")
        return 1 if found else 0
    if args.command == "sync":
        for solution in lessons(SOLUTIONS):
            added = sync(args.language, solution)
            if added:
                print(f"{source_path(args.language, solution.name).relative_to(REPO)}: {added} cells to translate")
        return 0
    update_catalog(args.language)
    print(f"updated {catalog_paths(args.language)[0].relative_to(REPO)} and compiled its .mo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
