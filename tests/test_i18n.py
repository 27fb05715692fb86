"""kdoctor in Spanish: the language chosen as GNU gettext would (and by --lang), catalogs that are
complete and compiled, tools that keep speaking English to kdoctor, and JSON that does not
change with the language."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kdoctor import i18n
from kdoctor.machine.runner import Runner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import i18n_catalogs  # noqa: E402

KDOCTOR = [sys.executable, "-m", "kdoctor"]


@pytest.mark.parametrize(
    ("explicit", "env", "expected"),
    [
        (None, {}, "en"),
        (None, {"LANG": "es_ES.UTF-8"}, "es"),
        (None, {"LANG": "es_MX.utf8"}, "es"),
        (None, {"LANG": "en_US.UTF-8", "LC_MESSAGES": "es_AR.UTF-8"}, "es"),
        (None, {"LANG": "es_ES.UTF-8", "LC_ALL": "C"}, "en"),  # LC_ALL wins
        (None, {"LANG": "es_ES.UTF-8", "LC_ALL": "C.UTF-8"}, "en"),
        (None, {"LANG": "en_GB.UTF-8", "LANGUAGE": "fr:es:en"}, "es"),  # first spoken one
        (None, {"LANG": "es_ES.UTF-8", "LANGUAGE": "en"}, "en"),
        (None, {"LANG": "C.UTF-8", "LANGUAGE": "es"}, "en"),  # GNU: LANGUAGE needs a locale
        (None, {"LANG": "fr_FR.UTF-8"}, "en"),  # a language without a catalog
        ("es", {"LANG": "C"}, "es"),
        ("en", {"LANG": "es_ES.UTF-8"}, "en"),
        ("es_ES.UTF-8", {}, "es"),
    ],
)
def test_the_language_is_chosen_as_gnu_gettext_chooses_it(
    explicit: str | None, env: dict[str, str], expected: str
) -> None:
    assert i18n.resolve(explicit, env) == expected


def test_lang_is_taken_out_of_the_arguments_wherever_it_stands() -> None:
    argv = ["check", "--lang", "es", "--json", "--lang=en", "--", "--lang", "x"]
    assert i18n.take_lang(argv) == "en"
    assert argv == ["check", "--json", "--", "--lang", "x"]
    assert i18n.take_lang(["check"]) is None
    trailing = ["check", "--lang"]
    assert i18n.take_lang(trailing) == "" and trailing == ["check"]  # refused, not left to typer


def test_spanish_is_spoken_after_activation_and_english_costs_nothing(spanish: None) -> None:
    assert i18n.language() == "es"
    assert i18n._("Options") == "Opciones"
    assert i18n._("no such message, ever") == "no such message, ever"
    i18n.activate("en")
    assert i18n._("Options") == "Options"
    assert i18n.ngettext("one check", "{n} checks", 2) == "{n} checks"
    assert i18n.N_("Options") == "Options"


def test_every_domain_has_a_catalog_and_an_area() -> None:
    assert tuple(i18n_catalogs.AREAS) == i18n.DOMAINS
    covered = {p for domain in i18n.DOMAINS for p in i18n_catalogs.sources(domain)}
    code = {p for p in (ROOT / "kdoctor").rglob("*.py") if "hello" not in str(p)}
    assert code - covered == set(), "every source file belongs to one catalog"


def test_the_spanish_catalogs_are_complete_current_and_compiled() -> None:
    """Fails on a marked message with no Spanish (or a fuzzy one), different placeholders, a
    translation no code uses, or a .mo that is not the compiled .po."""
    problems = [
        p
        for domain in i18n.DOMAINS
        for lang in ("es",)
        for p in i18n_catalogs.problems(lang, domain)
    ]
    assert problems == []


def test_commands_kdoctor_runs_speak_english_in_the_users_character_set() -> None:
    env = {
        "PATH": os.environ["PATH"],
        "LANG": "es_ES.UTF-8",
        "LANGUAGE": "es",
        "LC_ALL": "es_ES.UTF-8",
    }
    probe = Runner(env).probe(["env"])
    seen = dict(line.split("=", 1) for line in probe.stdout.splitlines() if "=" in line)
    assert seen.get("LC_MESSAGES") == "C" and "LANGUAGE" not in seen and "LC_ALL" not in seen
    assert seen["LC_CTYPE"] == "es_ES.UTF-8" and seen["LANG"] == "es_ES.UTF-8"
    plain = Runner({"PATH": os.environ["PATH"], "LC_ALL": "C"}).probe(["env"])
    assert "LC_ALL=C" in plain.stdout.splitlines()


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    full.update(env, COLUMNS="100")
    return subprocess.run(
        [*KDOCTOR, *args],
        capture_output=True,
        text=True,
        env=full,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["check", "--help"], {"LANG": "es_ES.UTF-8"}),
        (["check", "--help", "--lang", "es"], {}),
        (["--lang=es", "check", "--help"], {"LANG": "C.UTF-8"}),
    ],
)
def test_help_speaks_spanish_from_the_environment_or_lang(
    args: list[str], env: dict[str, str]
) -> None:
    proc = _run(args, **env)
    assert proc.returncode == 0, proc.stderr
    assert "Opciones" in proc.stdout and "Options" not in proc.stdout
    # click's own words, which it does not mark for translation, too
    assert "Uso: kdoctor check" in proc.stdout and "Usage:" not in proc.stdout
    assert "Muestra este mensaje y sale." in proc.stdout


def test_english_help_keeps_clicks_words() -> None:
    proc = _run(["check", "--help"], LANG="C.UTF-8")
    assert "Usage: kdoctor check" in proc.stdout and "Show this message and exit." in proc.stdout


def test_lang_without_a_value_is_a_usage_error_naming_the_choices() -> None:
    proc = _run(["check", "--lang"])
    assert proc.returncode == 2 and "--lang ''" in proc.stderr and "en or es" in proc.stderr
    assert "No such option" not in proc.stderr


def test_an_unknown_language_is_a_usage_error_naming_the_choices() -> None:
    proc = _run(["check", "--lang", "fr"])
    assert proc.returncode == 2
    assert "'fr'" in proc.stderr and "en or es" in proc.stderr and "Traceback" not in proc.stderr


def _shape(value: object) -> object:
    """The JSON with every text replaced by its type: keys, ids, statuses, numbers and booleans
    stay, so two languages' documents compare equal when only their sentences differ."""
    if isinstance(value, dict):
        return {
            k: v if k in ("id", "status", "kind", "schema_version") else _shape(v)
            for k, v in value.items()
            if k != "duration_ms"  # a time, not a word
        }
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__ if isinstance(value, str) else value


@pytest.mark.integration
def test_json_keys_ids_and_statuses_do_not_change_with_the_language() -> None:
    english = json.loads(_run(["check", "--json"], LANG="C.UTF-8").stdout)
    spanish = json.loads(_run(["check", "--json"], LANG="es_ES.UTF-8").stdout)
    assert _shape(spanish) == _shape(english)
    assert [c["status"] for c in spanish["checks"]] == [c["status"] for c in english["checks"]]
