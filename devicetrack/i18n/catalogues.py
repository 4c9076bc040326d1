"""Keeping the catalogues: extract the message ids from the code and templates into each
language's `.po` (its translations kept), and compile `.po` to `.mo`.

`devicetrack i18n extract` after adding or changing a message; a translator then fills the
new entries (tests/test_messages.py fails while one is empty or fuzzy); `devicetrack i18n
compile` writes the `.mo` files, which the app loads when they are newer than their `.po`
(else it compiles the `.po` in memory, so a fresh clone needs no build step).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from devicetrack.i18n import DOMAIN, catalogue_path, languages

PACKAGE = Path(__file__).resolve().parent.parent
PROJECT = "devicetrack"
# How the code and templates say "this is a message": N_ marks an id where it is written,
# N_plural a message that counts; the Translator `t` and the templates' `_`/`ngettext`
# translate one where it is shown.
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "N_": None,
    "N_plural": (1, 2),
    "_": None,
    "t": None,
    "gettext": None,
    "ngettext": (1, 2),
    "sort_link": None,  # a template's sortable column heading
}
METHODS = [
    ("**/templates/**.html", "jinja2.ext:babel_extract"),
    ("**/templates/**.txt", "jinja2.ext:babel_extract"),  # the plain-text part of an email
    ("**.py", "python"),
]
_JINJA = {"trim_blocks": "true", "lstrip_blocks": "true", "silent": "false"}
OPTIONS = {"**/templates/**.html": _JINJA, "**/templates/**.txt": _JINJA}
# Long lines, not wrapped: one line per message reads and merges better than wrapped ones.
WIDTH = 0


def template() -> Catalog:
    """Every message id the code and templates use, with the files that use it."""
    catalog = Catalog(project=PROJECT, domain=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE,
        METHODS,
        OPTIONS,
        KEYWORDS,
        comment_tags=("TRANSLATORS:",),
        strip_comment_tags=True,
        directory_filter=lambda path: Path(path).name != "__pycache__",
    ):
        catalog.add(
            message,
            None,
            [(f"devicetrack/{filename}", lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def read(lang: str) -> Catalog:
    with catalogue_path(lang).open("rb") as file:
        return read_po(file, locale=lang, domain=DOMAIN)


def write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        # Files only, no line numbers: an edit elsewhere in a file moves no entry.
        write_po(file, catalog, width=WIDTH, sort_output=True, include_lineno=False)


def extract(langs: Iterable[str] | None = None) -> dict[str, tuple[int, int]]:
    """Bring every language's catalogue in step with the code: new ids added (empty, for a
    translator to fill), ids no longer used dropped, translations kept. Returns, per
    language, (messages, untranslated)."""
    source = template()
    counts: dict[str, tuple[int, int]] = {}
    for lang in langs or languages():
        path = catalogue_path(lang)
        if path.exists():
            catalog = read(lang)
            # No fuzzy guesses: a changed message waits for its translator, it is not
            # matched to a similar one's translation.
            catalog.update(source, no_fuzzy_matching=True, update_creation_date=False)
            catalog.obsolete.clear()
        else:
            catalog = _new_catalogue(lang)
            catalog.update(source, no_fuzzy_matching=True)
        write(catalog, path)
        counts[lang] = (len(catalog), sum(1 for m in catalog if m.id and not _translated(m)))
    return counts


def _new_catalogue(lang: str) -> Catalog:
    return Catalog(
        locale=lang,
        domain=DOMAIN,
        header_comment=(
            f"# The {lang} messages of devicetrack, one per msgid (its English).\n"
            "# Translate msgstr, keeping every {placeholder}; `devicetrack i18n extract`\n"
            "# adds the new messages, `devicetrack i18n compile` writes the .mo file."
        ),
        project=PROJECT,
        version="1",
        copyright_holder=PROJECT,
        msgid_bugs_address="the devicetrack repository's issues",
        last_translator="devicetrack",
        language_team=f"devicetrack {lang}",
        fuzzy=False,
    )


def compile_all(langs: Iterable[str] | None = None) -> list[Path]:
    """Write each language's `.mo` beside its `.po` (fuzzy entries left out)."""
    written = []
    for lang in langs or languages():
        catalog = read(lang)
        target = catalogue_path(lang).with_suffix(".mo")
        with target.open("wb") as file:
            write_mo(file, catalog, use_fuzzy=False)
        written.append(target)
    return written


def _translated(message: object) -> bool:
    string = getattr(message, "string", None)
    if isinstance(string, tuple | list):
        return all(string)
    return bool(string)
