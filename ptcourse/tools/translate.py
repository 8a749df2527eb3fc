"""Editions of the course in other languages, generated from the English solutions, and their message catalogs.

    python -m ptcourse.tools.translate stale      # every missing or stale translation, with the English change
    python -m ptcourse.tools.translate sync       # add what is missing to the translation sources (to translate)
    python -m ptcourse.tools.translate catalog    # extract the checks' messages, update the .po files, compile

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
import datetime
import difflib
import hashlib
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from ptcourse import i18n
from ptcourse.tools.repo import REPO, SOLUTIONS, lessons

EDITIONS = tuple(language for language in i18n.LANGUAGES if language != "en")  # the languages a check speaks
TRANSLATIONS = REPO / "translations"
LOCALE = i18n.LOCALE  # compiled catalogs, shipped in the package
HEADER = re.compile(r"^<!-- cell (?P<id>\S+) · en (?P<fingerprint>[0-9a-f]{12}) -->$")
TODO = "TODO: translate"
# Catalog headers carry dates; fixed ones keep the .po and .mo files byte-for-byte reproducible.
FIXED_DATE = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


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
        elif fingerprint(entry.english) == fingerprint(cell.source) and (lost := kept(cell.source) - kept_in(entry.translation)):
            found.append(f"{where}: the translation drops what must stay verbatim: {sorted(lost)}")
        elif fingerprint(entry.english) == fingerprint(cell.source) and (shown := unclosed_emphasis(entry.translation)):
            found.append(f"{where}: Markdown will print these asterisks instead of bold/italic: {shown} "
                         "(write **용어**(term)이, not **용어(term)**이)")
        elif fingerprint(entry.english) != fingerprint(cell.source):
            diff = difflib.unified_diff(entry.english.strip().splitlines(), cell.source.strip().splitlines(),
                                        "translated from", "English now", lineterm="", n=1)
            found.append(f"{where} is stale: its English text changed:\n{indent(chr(10).join(diff))}")
    unknown = sorted(set(entries) - {c.id for c in english_cells(nb)})
    found += [f"{language}: {solution.name} translates cell {i}, which is no markdown cell of the English lesson"
              for i in unknown]
    return found


def fields(message: str) -> set[str]:
    """The `{name}` / `{name:.3g}` fields of a message, which its translation must keep exactly."""
    return set(re.findall(r"(?<!\{)\{[^{}]*\}(?!\})", message))


def kept(english: str) -> set[str]:
    """What a translated cell must keep verbatim: code blocks and inline code (a span may wrap over one line
    break), math, links' targets and headings' numbers; whitespace inside a span does not count."""
    blocks = re.findall(r"^```.*?^```", english, flags=re.MULTILINE | re.DOTALL)
    text = re.sub(r"^```.*?^```", "", english, flags=re.MULTILINE | re.DOTALL)
    displays = re.findall(r"\$\$.+?\$\$", text, flags=re.DOTALL)
    text = re.sub(r"\$\$.+?\$\$", "", text, flags=re.DOTALL)
    spans = set(blocks) | set(displays)
    spans |= set(re.findall(r"`[^`\n]+(?:\n[^`\n]+)?`", text)) | set(re.findall(r"\$[^$\n]+\$", text))
    spans = {" ".join(span.split()) for span in spans}
    spans |= set(re.findall(r"\]\(([^)\s]+)\)", text))
    spans |= set(re.findall(r"^#+ (\d+(?:\.\d+)*)\b", text, flags=re.MULTILINE))
    return spans


def unclosed_emphasis(text: str) -> list[str]:
    """Emphasis CommonMark does not close: a closing `*`/`**` after punctuation and before a letter (as
    `**term(용어)**이` is written in Korean) is not right-flanking, so the asterisks show."""
    return re.findall(r"\*{1,2}[^*\n]*?[^\w\s*]\*{1,2}(?=\w)", text)


def kept_in(translation: str) -> set[str]:
    return kept(translation) | set(re.findall(r"\S+", translation))


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
# The sources are one .po file per lesson's checks (`lessonNN.po`) and one for the rest (`course.po`), in
# translations/<language>/messages/, so that lessons can be translated side by side; they compile into
# the one catalog the package reads, ptcourse/locale/<language>/LC_MESSAGES/ptcourse.mo.
def messages_folder(language: str) -> Path:
    return TRANSLATIONS / language / "messages"


def compiled_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo"


def source_of(location: str) -> str:
    """Which .po file a message belongs to, from where it first appears (`ptcourse/checks/lesson05.py`)."""
    match = re.search(r"checks/(lesson\d\d)\.py$", location)
    return f"{match.group(1) if match else 'course'}.po"


def extract() -> dict[str, "object"]:
    """Every message marked `_()` / `N_()` in the course package: {po file name: Babel catalog}."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir

    found: dict[str, list] = {}
    for filename, lineno, message, comments, context in sorted(extract_from_dir(
            str(REPO / "ptcourse"), method_map=[("**.py", "python")], keywords={"_": None, "N_": None}),
            key=lambda item: (item[0], item[1])):
        found.setdefault(message, []).append((f"ptcourse/{filename}", lineno))
    catalogs: dict[str, Catalog] = {}
    for message, locations in found.items():
        name = source_of(locations[0][0])
        catalog = catalogs.setdefault(name, Catalog(project="ptcourse", fuzzy=False, creation_date=FIXED_DATE))
        catalog.add(message, locations=locations)
    return catalogs


def read_catalogs(language: str) -> dict[str, "object"]:
    from babel.messages.pofile import read_po

    catalogs = {}
    for po in sorted(messages_folder(language).glob("*.po")):
        with open(po, "rb") as f:
            catalogs[po.name] = read_po(f)
    return catalogs


def merged(language: str):
    """The language's .po files as one catalog (what the .mo holds), the same bytes every time."""
    from babel.messages.catalog import Catalog

    catalog = Catalog(locale=language, project="ptcourse", fuzzy=False, creation_date=FIXED_DATE,
                      revision_date=FIXED_DATE)
    for part in read_catalogs(language).values():
        for message in part:
            if message.id and message.string and not message.fuzzy:
                catalog.add(message.id, message.string)
    return catalog


def catalog_problems(language: str) -> list[str]:
    """English messages without a translation, and a compiled catalog out of date with its sources."""
    sources = read_catalogs(language)
    found = []
    for name, template in extract().items():
        source = sources.get(name)
        for message in template:
            if not message.id:
                continue  # the catalog's header
            translation = source.get(message.id) if source is not None else None
            where = f"{message.locations[0][0]}:{message.locations[0][1]}"
            if translation is None or not translation.string or translation.fuzzy:
                found.append(f"{language}: the message {message.id!r} ({where}) has no translation in "
                             f"translations/{language}/messages/{name}")
            elif fields(translation.string) != fields(message.id):
                found.append(f"{language}: the translation of {message.id!r} ({where}) has the fields "
                             f"{sorted(fields(translation.string))}, not {sorted(fields(message.id))}")
    mo = compiled_path(language)
    if not mo.is_file() or mo.read_bytes() != compiled(merged(language)):
        found.append(f"{language}: {mo.relative_to(REPO)} is not compiled from translations/{language}/messages/ "
                     "(run: python -m ptcourse.tools.translate catalog)")
    return found


def compiled(catalog) -> bytes:
    import io

    from babel.messages.mofile import write_mo

    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def update_catalog(language: str) -> None:
    """Merge the extracted messages into the language's .po files (new ones untranslated; gone ones
    dropped), then compile the package's .mo from them."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import write_po

    folder = messages_folder(language)
    folder.mkdir(parents=True, exist_ok=True)
    sources = read_catalogs(language)
    templates = extract()
    for name in set(sources) - set(templates):
        (folder / name).unlink()
    for name, template in templates.items():
        catalog = sources.get(name) or Catalog(locale=language, project="ptcourse", creation_date=FIXED_DATE,
                                               revision_date=FIXED_DATE)
        catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
        catalog.obsolete.clear()
        with open(folder / name, "wb") as f:
            write_po(f, catalog, width=100, omit_header=False, sort_output=False)
    mo = compiled_path(language)
    mo.parent.mkdir(parents=True, exist_ok=True)
    mo.write_bytes(compiled(merged(language)))


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
    print(f"updated {messages_folder(args.language).relative_to(REPO)}/*.po and compiled "
          f"{compiled_path(args.language).relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
