from __future__ import annotations

import io

import pytest
from rich.console import Console

from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import Package
from kdoctor.model.plan import FileEdit, Plan, Step
from kdoctor.model.report import Report
from kdoctor.pipeline.planner import routed
from kdoctor.render import jsonout, report_text, text
from tests.conftest import make_context


def plain() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return text.console(buffer), buffer


def test_report_has_table_remediations_and_summary_without_escape_codes() -> None:
    failing = Finding(
        "clang",
        Status.FAIL,
        "clang 8.0.1 is too old",
        found="8.0.1 (/usr/bin/clang)",
        remediation=Remediation("Install clang 11.", ("apt-get install clang-11",)),
        needs=(Package("clang-11", ("clang-11",)),),
    )
    # as the diagnosis hands them over: each with the planner that repairs it
    findings = routed((Finding("os", Status.OK, "Debian 12"), failing))
    report = Report(make_context(), findings, 12.0)
    out, buffer = plain()
    report_text.print_report(report, out)
    shown = buffer.getvalue()
    assert "\x1b[" not in shown
    assert "clang 8.0.1 is too old" in shown and "$ apt-get install clang-11" in shown
    assert "kdoctor fix (fix 'packages')" in shown
    assert "not ready: clang" in shown
    assert jsonout.report_json(report)["exit_code"] == 1


def test_plan_shows_sudo_for_root_steps_and_the_diff_of_edits() -> None:
    plan = Plan(
        (
            Step(
                "packages",
                ("clang",),
                "clang is missing",
                argv=("apt-get", "install", "clang"),
                root=True,
            ),
            Step(
                "kbuild-cmd",
                ("kbuild-cmd",),
                "rule",
                edit=FileEdit("/m/Kbuild", "new", "-old\n+new\n"),
            ),
        ),
        ("using the distribution's rustc",),
    )
    out, buffer = plain()
    text.print_plan(plan, out, sudo=True)
    shown = buffer.getvalue()
    assert "note: using the distribution's rustc" in shown
    assert "1. sudo apt-get install clang [root]" in shown
    assert "2. write /m/Kbuild" in shown and "+new" in shown


def test_step_display_prints_plain_lines_without_a_terminal() -> None:
    out, buffer = plain()
    step = Step("packages", ("clang",), "why", argv=("apt-get", "install", "clang"))
    with text.StepDisplay(out, "fix") as display:
        display.plan_step(step, 1, 2)
        display.output("Unpacking clang-14 ...\n")
        display.plan_step(step, 1, 2)
    assert buffer.getvalue().splitlines() == ["fix …", "  [1/2] apt-get install clang"]


def test_a_crashed_checks_traceback_is_shown_with_verbose_only() -> None:
    crashed = Finding(
        "os",
        Status.ERROR,
        "the check crashed: RuntimeError: garbled",
        traceback='Traceback (most recent call last):\n  File "os_info.py", line 3\n'
        "RuntimeError: garbled\n",
    )
    report = Report(make_context(), (crashed,), 1.0)
    out, buffer = plain()
    report_text.print_report(report, out)
    assert "Traceback" not in buffer.getvalue()
    out, buffer = plain()
    report_text.print_report(report, out, verbose=True)
    shown = buffer.getvalue()
    assert "traceback of os:" in shown
    assert '  File "os_info.py", line 3' in shown and "  RuntimeError: garbled" in shown
    assert jsonout.report_json(report)["checks"][0]["traceback"] == crashed.traceback


LONG = (
    "rustup toolchain install nightly-2021-02-12 --profile minimal --component rust-src "
    "--component rustfmt"
)


def sized(width: int) -> tuple[Console, io.StringIO]:
    """A terminal-like console of ``width`` columns (wrapping prose as a terminal would)."""
    buffer = io.StringIO()
    return Console(file=buffer, width=width, no_color=True, highlight=False), buffer


def problem_report() -> Report:
    warn = Finding(
        "toolchain",
        Status.WARN,
        "nightly-2021-02-12 is not installed; using the distribution's rustc 1.96.0 with "
        "RUSTC_BOOTSTRAP=1 as the kernel does",
        found="1.96.0 (/usr/bin/rustc)",
        remediation=Remediation("To build with the pinned toolchain, install it:", (LONG,)),
    )
    ok = Finding("clang", Status.OK, "clang 14.0.6 (chosen by default)", found="14.0.6 (clang)")
    return Report(make_context(), (ok, warn), 5.0)


def shown_commands(lines: list[str]) -> list[str]:
    """The ``$ …`` commands of a report, each line that ends with `` \\`` joined to the next as
    a shell joins them."""
    commands: list[str] = []
    current: list[str] = []
    for line in (line.strip() for line in lines):
        if not current and not line.startswith("$ "):
            continue
        words = line[2:] if not current else line
        if words.endswith(" \\"):
            current.append(words[:-2])
            continue
        commands.append(" ".join([*current, words]))
        current = []
    return commands


@pytest.mark.parametrize("width", [20, 40, 80, 120])
def test_every_json_command_is_given_whole_at_any_width(width: int) -> None:
    report = problem_report()
    out, buffer = sized(width)
    report_text.print_report(report, out)
    lines = buffer.getvalue().splitlines()
    commands = [
        c
        for check in jsonout.report_json(report)["checks"]
        if check["remediation"]
        for c in check["remediation"]["commands"]
    ]
    assert commands == [LONG]
    assert shown_commands(lines) == commands
    # a line wider than the terminal is one word too long to break (a command is never cut)
    wide = [line.strip().removeprefix("$ ").removesuffix(" \\") for line in lines]
    assert [words for words, line in zip(wide, lines) if len(line) > width and " " in words] == []


def test_each_check_is_one_line_and_a_problem_is_said_once() -> None:
    report = problem_report()
    out, buffer = sized(200)
    report_text.print_report(report, out)
    shown = buffer.getvalue()
    assert shown.count("nightly-2021-02-12 is not installed") == 1
    ok_lines = [line for line in shown.splitlines() if "clang" in line and "✔" in line]
    assert ok_lines == ["✔ clang      14.0.6 (clang)"]
    assert "found: 1.96.0 (/usr/bin/rustc)" not in shown  # a detail: -v says it
    # header, two checks, the command, the verdict with how to see the rest
    assert len(shown.splitlines()) == 5
    assert shown.splitlines()[-1].endswith("; more: kdoctor check -v")


def test_verbose_gives_every_check_its_details() -> None:
    report = problem_report()
    out, buffer = sized(200)
    report_text.print_report(report, out, verbose=True)
    shown = buffer.getvalue()
    assert "clang 14.0.6 (chosen by default)" in shown
    assert "found: 1.96.0 (/usr/bin/rustc)" in shown
    assert "To build with the pinned toolchain, install it:" in shown
    assert "kdoctor check -v" not in shown  # nothing was left out
