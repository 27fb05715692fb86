from __future__ import annotations

import io

from rich.console import Console

from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import Package
from kdoctor.model.plan import FileEdit, Plan, Step
from kdoctor.model.report import Report
from kdoctor.render import jsonout, text
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
    report = Report(make_context(), (Finding("os", Status.OK, "Debian 12"), failing), 12.0)
    out, buffer = plain()
    text.print_report(report, out)
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
    text.print_report(report, out)
    assert "Traceback" not in buffer.getvalue()
    out, buffer = plain()
    text.print_report(report, out, verbose=True)
    shown = buffer.getvalue()
    assert "traceback of os:" in shown
    assert '  File "os_info.py", line 3' in shown and "  RuntimeError: garbled" in shown
    assert jsonout.report_json(report)["checks"][0]["traceback"] == crashed.traceback
