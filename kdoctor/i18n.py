"""kdoctor in the user's language.

Messages are marked with ``_()`` (translated where they are made), ``ngettext()`` (counts) or
``N_()`` (a constant marked for extraction and translated later with ``_(CONSTANT)``). They are
looked up in gettext catalogs, one domain per area of the code (``kdoctor-cli``,
``kdoctor-checks``, ``kdoctor-pipeline``, ...; see ``DOMAINS``), chained so
any message is found in whichever catalog holds it. The catalogs live in ``kdoctor/locale`` and
are made with Babel (``scripts/i18n_catalogs.py``).

The language is ``--lang`` when given, else the environment as GNU gettext reads it:
``LANGUAGE`` (a colon-separated list) unless the locale is C/POSIX, then ``LC_ALL``,
``LC_MESSAGES``, ``LANG``. A language with no catalog is English. Nothing here changes with the
language but text: JSON keys, check ids and statuses are the same in every language, and the
commands kdoctor runs still speak English (``child_locale``) so their output can be read.

English costs nothing: no catalog is opened and ``_`` returns its argument.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Optional, Protocol

#: languages kdoctor speaks (``--lang`` choices); English is the source language
LANGUAGES = ("en", "es")
#: the catalogs, one per area of the code (scripts/i18n_catalogs.py maps each to its directories)
DOMAINS = (
    "kdoctor-cli",
    "kdoctor-checks",
    "kdoctor-knowledge",
    "kdoctor-facts",
    "kdoctor-pipeline",
    "kdoctor-fixes",
)
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


class Translator(Protocol):
    def gettext(self, message: str, /) -> str: ...

    def ngettext(self, singular: str, plural: str, n: int, /) -> str: ...


class _English:
    def gettext(self, message: str, /) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int, /) -> str:
        return singular if n == 1 else plural


_active: Translator = _English()
_language = "en"


def _(message: str) -> str:
    """``message`` in the active language."""
    return _active.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n``, in the active language."""
    return _active.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks ``message`` for the catalogs without translating it (translate at use: ``_(x)``)."""
    return message


def language() -> str:
    """The active language (one of ``LANGUAGES``)."""
    return _language


def _supported(name: str) -> Optional[str]:
    """``es_ES.UTF-8``, ``es_MX``, ``es`` -> ``es``; a language kdoctor does not speak -> None."""
    base = name.split(".", 1)[0].split("@", 1)[0].split("_", 1)[0].split("-", 1)[0].lower()
    return base if base in LANGUAGES else None


def _c_locale(name: str) -> bool:
    return name in ("C", "POSIX") or name.startswith("C.")


def resolve(explicit: Optional[str], env: Mapping[str, str]) -> str:
    """The language to speak: ``explicit`` (``--lang``), else the environment's (see module doc)."""
    if explicit:
        return _supported(explicit) or "en"
    locale_name = next((env[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(k)), "")
    if locale_name and not _c_locale(locale_name):
        for name in env.get("LANGUAGE", "").split(":"):
            if name and (_c_locale(name) or _supported(name)):
                return "en" if _c_locale(name) else _supported(name) or "en"
    if not locale_name or _c_locale(locale_name):
        return "en"
    return _supported(locale_name) or "en"


def take_lang(argv: list[str]) -> Optional[str]:
    """Remove ``--lang X`` / ``--lang=X`` (wherever it stands before ``--``) from ``argv`` and
    return the last value: the language is chosen before the CLI is built, so the option works
    after any command (``kdoctor check --lang es``)."""
    value: Optional[str] = None
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i].startswith("--lang="):
            value = argv.pop(i).split("=", 1)[1]
        elif argv[i] == "--lang":  # the last word: no value, which is refused as none spoken
            argv.pop(i)
            value = argv.pop(i) if i < len(argv) and argv[i] != "--" else ""
        else:
            i += 1
    return value


def catalogs(lang: str, locale_dir: Path = LOCALE_DIR) -> Translator:
    """Every domain's catalog for ``lang``, chained; English when there is none."""
    import gettext as _gettext  # English never opens a catalog

    chain: Optional[_gettext.NullTranslations] = None
    for domain in DOMAINS:
        found = _gettext.translation(domain, str(locale_dir), languages=[lang], fallback=True)
        if isinstance(found, _gettext.GNUTranslations):
            if chain is None:
                chain = found
            else:
                chain.add_fallback(found)
    return chain if chain is not None else _English()


def activate(lang: str, translator: Optional[Translator] = None, *, cli: bool = True) -> None:
    """Speak ``lang`` from now on (``translator``: its catalogs, e.g. a test's pseudo-locale;
    ``cli``: typer's words too — not for ``onboard.sh``, which runs before typer is there)."""
    global _active, _language
    _language = lang if lang in LANGUAGES else "en"
    _active = translator or (catalogs(_language) if _language != "en" else _English())
    if cli and (_language != "en" or translator is not None):
        _translate_typer()


def _translate_typer() -> None:
    """Typer's own words (panel titles, "[default: ...]") through the active catalogs: typer
    marks them for gettext's global domain, which kdoctor does not use, and reads the panel
    titles once, at import, into constants."""
    from typer import core, rich_utils

    for module in (core, rich_utils):
        module._ = _  # type: ignore[attr-defined]
    for name, english in TYPER_WORDS.items():
        setattr(rich_utils, name, _(english))
    _translate_click()


def _translate_click() -> None:
    """Click's words (typer's bundled copy, or click itself under an older typer): the usage
    line, the parser's errors, the options typer adds (``kdoctor.click_words``)."""
    import importlib

    from kdoctor import click_words

    try:  # typer 0.26 and later bundle click ...
        modules = [importlib.import_module(f"typer._click.{m}") for m in _CLICK_MODULES]
    except ImportError:  # ... earlier ones (Python 3.9's) use click itself
        modules = [importlib.import_module(f"click.{m}") for m in _CLICK_MODULES]
    core, formatting, exceptions = modules
    click_words.install(core, formatting, exceptions, gettext=_)


_CLICK_MODULES = ("core", "formatting", "exceptions")


#: typer's words read into constants at import (the msgids are typer's own)
TYPER_WORDS = {
    "DEFAULT_STRING": N_("[default: {}]"),
    "ENVVAR_STRING": N_("[env var: {}]"),
    "REQUIRED_LONG_STRING": N_("[required]"),
    "ARGUMENTS_PANEL_TITLE": N_("Arguments"),
    "OPTIONS_PANEL_TITLE": N_("Options"),
    "COMMANDS_PANEL_TITLE": N_("Commands"),
    "ERRORS_PANEL_TITLE": N_("Error"),
    "ABORTED_TEXT": N_("Aborted."),
    "RICH_HELP": N_("Try [blue]'{command_path} {help_option}'[/] for help."),
}
#: typer's words translated as they are used (listed for the catalogs)
TYPER_MESSAGES = (
    N_("default: {default}"),
    N_("required"),
    N_("env var: {var}"),
    N_("(dynamic)"),
    N_("Aborted!"),
    N_("Missing command."),
    N_("No such command {name!r}."),
)


def child_locale(env: MutableMapping[str, str]) -> None:
    """Make ``env`` (a command's environment) speak English while keeping its character set:
    kdoctor reads what tools print (versions, build errors), whatever language it speaks."""
    everything = env.pop("LC_ALL", "")
    if everything and not _c_locale(everything):
        env["LC_CTYPE"] = everything
    elif everything:
        env["LC_ALL"] = everything
        return
    env.pop("LANGUAGE", None)
    env["LC_MESSAGES"] = "C"
