"""Every sentence kdoctor says goes through the catalogs: under a pseudo-locale that brackets each
translated message, each finding's summary and remediation, each plan step's explanation and
note, click's and typer's own sentences (usage line, parser errors, their options' help), the
yes/no question and every word of ``./onboard.sh`` carry the brackets. An English sentence
missing its ``_()`` shows up here as unbracketed. (Values inside a sentence — versions, paths,
commands — are not translated, and need not be.)"""

from __future__ import annotations

import string
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from kdoctor import i18n
from kdoctor.checks.base import all_checks

# built here, in English, as the program builds it before any language is chosen: the help
# texts made at import stay English for the other tests of the session
from kdoctor.cli.app import app
from kdoctor.facts import Facts
from kdoctor.machine.system import System
from kdoctor.model.report import Report
from kdoctor.pipeline.diagnose import run_checks
from kdoctor.pipeline.planner import make_plan
from tests.conftest import make_context
from tests.fake_system import FakeSystem, apt_archive

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import i18n_catalogs

from tests.i18n_support import CLOSE, OPEN, Pseudo, whole


@pytest.fixture(autouse=True)
def pseudo() -> Iterator[None]:
    i18n.activate("es", Pseudo())
    yield
    i18n.activate("en")


def bare() -> tuple[Report, System]:
    """A machine with nothing installed: every check has something to say and to remedy."""
    system = FakeSystem(
        programs={"apt-cache": "/usr/bin/apt-cache", "dpkg-query": "/usr/bin/dpkg-query"},
        env={"PATH": "/usr/bin:/bin", "HOME": "/home/me"},
        maybe_handlers={"apt-cache": apt_archive()},
    )
    ctx = make_context(is_root=False, settings_file="/home/me/.config/kdoctor/env")
    return run_checks(all_checks(), Facts(ctx, system)), system


def unmarked(text: str | None) -> bool:
    return bool(text) and OPEN not in str(text)


def test_every_finding_on_a_bare_machine_speaks_through_the_catalogs() -> None:
    report, _system = bare()
    said = [
        (f.id, field, text)
        for f in report.findings
        for field, text in (
            ("summary", f.summary),
            ("remediation", f.remediation.text if f.remediation else None),
        )
        if unmarked(text)
    ]
    assert said == []


def test_every_step_and_note_of_the_plan_speaks_through_the_catalogs() -> None:
    report, system = bare()
    plan = make_plan(Facts(report.context, system), report)
    assert plan.steps
    said = [("step", s.fix, s.why) for s in plan.steps if unmarked(s.why)]
    said += [("note", "", n) for n in plan.notes if unmarked(n)]
    assert said == []


def test_the_title_of_every_check_is_in_the_catalog() -> None:
    """Titles are class attributes marked with N_() and translated where they are shown."""
    marked = {m.id for m in i18n_catalogs.template("kdoctor-checks")}
    assert [c.id for c in all_checks() if c.title not in marked] == []


def parse_error(args: list[str]) -> Exception:
    """The usage error click raises for ``kdoctor ARGS`` (nothing run, nothing printed)."""
    command = typer.main.get_command(app)
    with pytest.raises(Exception) as raised:
        command.main(args, prog_name="kdoctor", standalone_mode=False)
    return raised.value


@pytest.mark.parametrize(
    "args",
    [
        ["chek"],
        ["check", "--jsn"],
        ["check", "--rust", "foo"],
        ["check", "--kernel"],
        ["verify", "--timeout", "x"],
        ["list", "extra"],
        ["build-kernel"],
    ],
)
def test_clicks_errors_and_usage_line_speak_through_the_catalogs(args: list[str]) -> None:
    """A mistyped command line: click's sentence is one translated message (with the sentence
    it wraps, as in ``Invalid value for '--rust': 'foo' is not one of ...``, translated too),
    and so are the usage line's words."""
    error: Any = parse_error(args)
    said = error.format_message()
    assert whole(said), said
    assert said.count(OPEN) == said.count(CLOSE)
    if error.ctx is not None:
        usage = error.ctx.get_usage()
        assert f"{OPEN}Usage: {CLOSE}" in usage and f"{OPEN}[OPTIONS]{CLOSE}" in usage, usage


def test_every_click_sentence_is_recognised_with_its_values() -> None:
    """Each sentence click and typer end with, its fields filled, is matched by its own
    message (not a shorter one that would swallow part of it) and said through the catalogs."""
    from kdoctor.click_words import MESSAGES, translate

    for message in MESSAGES:
        fields = {name for _t, name, _s, _c in string.Formatter().parse(message) if name}
        values = {name: f"V{name}" for name in fields}
        assert translate(message.format(**values)) == f"{OPEN}{message}{CLOSE}".format(**values)


def test_the_help_of_typers_own_options_speaks_through_the_catalogs() -> None:
    command = typer.main.get_command(app)
    ctx = command.make_context("kdoctor", ["--help"], resilient_parsing=True)
    helps = {p.name: getattr(p, "help", None) for p in command.get_params(ctx)}
    assert whole(helps["install_completion"]) and whole(helps["show_completion"]), helps
    assert whole(command.get_help_option(ctx).help)  # type: ignore[union-attr]


def test_every_word_of_the_onboarding_script_speaks_through_the_catalogs() -> None:
    from kdoctor.onboard_words import MESSAGES, say

    for key, message in MESSAGES.items():
        fields = {name for _t, name, _s, _c in string.Formatter().parse(message) if name}
        assert whole(say(key, {name: "VALUE" for name in fields})), key


def test_the_yes_no_question_speaks_through_the_catalogs(monkeypatch: Any, capsys: Any) -> None:
    """Its suffix, the answers it takes and what it says to an answer it does not."""
    import io

    from kdoctor.cli import ask

    monkeypatch.setattr(sys, "stdin", io.StringIO("maybe\ny\n"))
    assert ask.confirm("QUESTION") is True
    out, err = capsys.readouterr()
    assert out.startswith(f"QUESTION {OPEN}[y/N]{CLOSE}: ")
    assert whole(err.strip()), err
