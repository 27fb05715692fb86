#!/usr/bin/env python3
"""kdoctor's translation catalogs, made with Babel: one gettext domain per area of the code.

    .venv/bin/python scripts/i18n_catalogs.py update [DOMAIN...]   # extract into each .po
    .venv/bin/python scripts/i18n_catalogs.py compile [DOMAIN...]  # .po -> .mo (both committed)
    .venv/bin/python scripts/i18n_catalogs.py check [DOMAIN...]    # what the tests check

DOMAIN is e.g. ``kdoctor-checks`` (default: every one; see AREAS).

A translator edits ``kdoctor/locale/es/LC_MESSAGES/<domain>.po`` after ``update`` and runs
``compile``. ``check`` fails on a message with no translation (or a fuzzy one), a translation
whose ``{placeholders}`` differ from the English, a catalog entry no code uses any more, and a
``.mo`` that is not the compiled ``.po``.
"""

from __future__ import annotations

import io
import string
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "kdoctor"
LOCALE_DIR = PACKAGE / "locale"
#: the languages with a catalog (English is the source)
TRANSLATED = ("es",)
#: each domain's files, as globs under kdoctor/ (kdoctor.i18n.DOMAINS lists the same names)
AREAS: dict[str, tuple[str, ...]] = {
    "kdoctor-cli": ("*.py", "cli/*.py", "render/*.py"),
    "kdoctor-checks": ("checks/*.py",),
    "kdoctor-knowledge": ("knowledge/*.py",),
    "kdoctor-facts": ("facts/*.py", "model/*.py"),
    "kdoctor-pipeline": ("pipeline/**/*.py",),
    "kdoctor-fixes": ("fixes/*.py", "machine/*.py"),
}


def sources(domain: str) -> list[Path]:
    return sorted({p for pattern in AREAS[domain] for p in PACKAGE.glob(pattern)})


def template(domain: str) -> Catalog:
    """Every message the domain's code marks, with where it is used."""
    catalog = Catalog(domain=domain, project="kdoctor", charset="utf-8")
    for path in sources(domain):
        for lineno, message, comments, context in extract_from_file(
            "python", str(path), keywords=DEFAULT_KEYWORDS, comment_tags=("Translators:",)
        ):
            location = (str(path.relative_to(ROOT)), lineno)
            catalog.add(message, locations=[location], auto_comments=comments, context=context)
    return catalog


def po_path(lang: str, domain: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


#: each language's plural rule as GNU gettext writes it (CLDR's Spanish has a third form, for
#: millions, that no message here needs)
PLURAL_FORMS = {"es": "nplurals=2; plural=(n != 1);"}


def read(path: Path, lang: str, domain: str) -> Catalog:
    if path.exists():
        with path.open("rb") as handle:
            return read_po(handle, locale=lang, domain=domain)
    catalog = Catalog(
        locale=lang,
        domain=domain,
        project="kdoctor",
        copyright_holder="the kdoctor authors",
        last_translator="the kdoctor authors",
        language_team="Spanish",
        msgid_bugs_address="",
        charset="utf-8",
        fuzzy=False,
    )
    catalog.mime_headers = [
        *[(k, v) for k, v in catalog.mime_headers if k != "Plural-Forms"],
        ("Plural-Forms", PLURAL_FORMS[lang]),
    ]
    return catalog


def write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = io.BytesIO()
    # no line numbers: they would change with every edit of the code
    write_po(out, catalog, width=100, include_lineno=False, ignore_obsolete=True)
    path.write_bytes(out.getvalue())


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def update(domains: list[str]) -> None:
    for domain in domains:
        fresh = template(domain)
        for lang in TRANSLATED:
            path = po_path(lang, domain)
            catalog = read(path, lang, domain)
            created = catalog.creation_date
            catalog.update(fresh, no_fuzzy_matching=True, update_header_comment=False)
            catalog.creation_date = created  # no churn: the date the catalog was started
            write(path, catalog)


def compile_all(domains: list[str]) -> None:
    for domain in domains:
        for lang in TRANSLATED:
            catalog = read(po_path(lang, domain), lang, domain)
            po_path(lang, domain).with_suffix(".mo").write_bytes(compiled(catalog))


def _fields(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {"<unbalanced braces>"}


def _strings(message: Message) -> tuple[list[str], list[str]]:
    ids = list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]
    strs = list(message.string) if isinstance(message.string, (list, tuple)) else [message.string]
    return [str(i) for i in ids], [str(s or "") for s in strs]


def problems(lang: str, domain: str) -> Iterator[str]:
    """What keeps ``lang``'s catalog of ``domain`` from being complete and current."""
    path = po_path(lang, domain)
    if not path.exists():
        yield f"{path.relative_to(ROOT)}: missing (run scripts/i18n_catalogs.py update)"
        return
    catalog = read(path, lang, domain)
    used = template(domain)
    for message in used:
        if not message.id:
            continue
        key = message.id if not isinstance(message.id, (list, tuple)) else message.id[0]
        where = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
        found = catalog.get(message.id, message.context)
        if found is None:
            yield f"{domain}: not in the {lang} catalog: {key!r} ({where})"
            continue
        ids, strs = _strings(found)
        if found.fuzzy or not all(strs):
            yield f"{domain}: no {lang} translation: {key!r} ({where})"
            continue
        english = set().union(*(_fields(i) for i in ids))
        for text in strs:
            if _fields(text) != english:
                yield (
                    f"{domain}: {lang} placeholders {sorted(_fields(text))} differ from"
                    f" {sorted(english)}: {key!r}"
                )
    for message in catalog:
        if message.id and used.get(message.id, message.context) is None:
            yield f"{domain}: {lang} entry no code uses (run update): {message.id!r}"
    mo = path.with_suffix(".mo")
    if not mo.exists() or mo.read_bytes() != compiled(catalog):
        yield f"{mo.relative_to(ROOT)}: not the compiled .po (run scripts/i18n_catalogs.py compile)"


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    domains = argv[1:] or list(AREAS)
    unknown = [d for d in domains if d not in AREAS]
    if unknown:
        print(f"unknown domain(s) {unknown}; the domains are {list(AREAS)}")
        return 2
    if command == "update":
        update(domains)
    elif command == "compile":
        compile_all(domains)
    elif command == "check":
        found = [p for domain in domains for lang in TRANSLATED for p in problems(lang, domain)]
        for line in found:
            print(line)
        print(f"{len(found)} problem(s)")
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
