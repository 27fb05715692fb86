"""The text report fitted to the terminal (kdoctor/render/report_text.py, kdoctor/render/fit.py):
skipped checks in one row, each remedy command once, wrapped lines hanging under their check,
a header of one line, the verdict saying how to see the rest, and ``-v`` trimming long probes."""

from __future__ import annotations

import io
import subprocess
from dataclasses import replace

import pytest
from rich.console import Console

from kdoctor.machine.system import Probe
from kdoctor.model.choice import ModuleSource
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import Package
from kdoctor.model.report import Report
from kdoctor.pipeline.planner import routed
from kdoctor.render import fit, report_text, text
from tests.conftest import make_context
from tests.real_machine import require_tools
from tests.test_render import shown_commands

PIN = "rustup toolchain install nightly-2021-02-12 --profile minimal --component rust-src"


def terminal(width: int) -> tuple[Console, io.StringIO]:
    """A console as a terminal of ``width`` columns is (wrapping, no colours to strip)."""
    buffer = io.StringIO()
    return Console(file=buffer, width=width, no_color=True, highlight=False), buffer


def pipe() -> tuple[Console, io.StringIO]:
    """kdoctor's console on a pipe (no terminal: 120 columns, nothing wrapped)."""
    buffer = io.StringIO()
    return text.console(buffer), buffer


def report(*findings: Finding, **context: object) -> Report:
    return Report(make_context(**context), routed(findings), 7.0)


def skip(check: str) -> Finding:
    return Finding(check, Status.SKIP, f"{check} does not apply to this module")


def warn(check: str, *commands: str, summary: str = "") -> Finding:
    said = summary or f"{check} is not as pinned"
    return Finding(
        check, Status.WARN, said, found="1.0", remediation=Remediation(f"Fix {check}.", commands)
    )


def test_skipped_checks_are_one_row_naming_them_and_verbose_gives_each_its_own() -> None:
    findings = (
        Finding("os", Status.OK, "Debian 12"),
        skip("kernel-range"),
        Finding("clang", Status.OK, "clang 14"),
        skip("cargo"),
    )
    out, buffer = terminal(80)
    report_text.print_report(report(*findings), out)
    lines = buffer.getvalue().splitlines()
    assert [line for line in lines if line.startswith("- ")] == ["- skipped  kernel-range, cargo"]
    assert [line.split()[1] for line in lines if line.startswith("✔")] == ["os", "clang"]
    out, buffer = terminal(80)
    report_text.print_report(report(*findings), out, verbose=True)
    lines = buffer.getvalue().splitlines()
    assert [line for line in lines if line.startswith("- ")] == [
        "- kernel-range  kernel-range does not apply to this module",
        "- cargo         cargo does not apply to this module",
    ]


def test_a_command_two_checks_give_is_shown_once_under_the_first_naming_the_other() -> None:
    findings = (
        warn("rustup", PIN),
        Finding("clang", Status.OK, "clang 14"),
        warn("toolchain", PIN, "kdoctor verify --vm"),
    )
    for out, buffer in (terminal(100), pipe()):
        report_text.print_report(report(*findings), out)
        lines = buffer.getvalue().splitlines()
        assert shown_commands(lines) == [PIN, "kdoctor verify --vm"]
        rustup, clang = (
            lines.index(next(x for x in lines if "rustup " in x)),
            lines.index(next(x for x in lines if x.startswith("✔ clang"))),
        )
        assert rustup < lines.index(next(x for x in lines if x.strip().startswith("$ rustup")))
        assert "(also for: toolchain)" in "".join(lines[rustup:clang])
        assert "also for" not in "".join(lines[clang:])
        assert "Fix rustup." not in lines  # a warning's sentence is -v's when it has a command


def test_one_kdoctor_fix_advice_for_every_check_its_planner_repairs() -> None:
    def missing(check: str, package: str) -> Finding:
        install = f"apt-get install {package}"
        return Finding(
            check,
            Status.FAIL,
            f"{package} is missing",
            remediation=Remediation(f"Install {package}.", (install,)),
            needs=(Package(package, (package,)),),
        )

    out, buffer = terminal(100)
    report_text.print_report(report(missing("clang", "clang"), missing("bindgen", "bindgen")), out)
    shown = buffer.getvalue()
    assert "    Install clang." in shown.splitlines()  # a failure says what to do in words too
    assert shown.count("kdoctor can do this: kdoctor fix (fix 'packages')") == 1
    assert "kdoctor fix (fix 'packages') (also for: bindgen)" in shown
    assert shown_commands(shown.splitlines()) == [
        "apt-get install clang",
        "apt-get install bindgen",
    ]


def test_a_failures_wrapped_summary_hangs_under_its_text() -> None:
    long = "the target kernel's headers are missing: " + "kbuild needs them " * 6
    findings = (Finding("os", Status.OK, "Debian 12"), Finding("kernel-headers", Status.FAIL, long))
    out, buffer = terminal(60)
    report_text.print_report(report(*findings), out)
    lines = buffer.getvalue().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("✘ kernel-headers  "))
    column = len("✘ kernel-headers  ")
    docs = lines.index(next(x for x in lines if "docs: README.md#check-kernel-headers" in x))
    rest = lines[first + 1 : docs]  # the summary's lines, then where the check is documented
    assert len(rest) >= 2
    assert all(line[:column].isspace() and not line[column].isspace() for line in rest)
    assert " ".join([lines[first][column:], *(x.strip() for x in rest)]) == long.strip()
    assert all(len(line) <= 60 for line in lines)
    out, buffer = pipe()
    report_text.print_report(report(*findings), out)
    assert f"✘ kernel-headers  {long}" in buffer.getvalue().splitlines()  # a pipe: one line


def test_a_warning_is_one_line_on_a_terminal_and_whole_in_a_pipe() -> None:
    said = "nightly-2021-02-12 is not installed; using the distribution's rustc 1.96.0 " * 2
    finding = warn("toolchain", PIN, summary=said.strip())
    out, buffer = terminal(80)
    report_text.print_report(report(finding), out)
    row = next(x for x in buffer.getvalue().splitlines() if x.startswith("! toolchain"))
    kept = row.removeprefix("! toolchain  ").removesuffix("…")
    assert row.endswith("…") and 70 <= len(row) <= 80  # after a word, and its punctuation
    assert said.startswith(kept) and said[len(kept) :].startswith((" ", "; ", ", "))
    out, buffer = pipe()
    report_text.print_report(report(finding), out)
    assert f"! toolchain  {said.strip()}" in buffer.getvalue().splitlines()


def test_a_failure_without_a_command_says_what_to_do_in_words() -> None:
    failing = Finding(
        "clang",
        Status.FAIL,
        "CLANG=/no/clang is not installed",
        found="/no/clang",
        remediation=Remediation("Unset CLANG, or set CLANG=clang-14."),
    )
    out, buffer = terminal(80)
    report_text.print_report(report(failing), out)
    shown = buffer.getvalue()
    assert "    Unset CLANG, or set CLANG=clang-14." in shown.splitlines()
    assert "found:" not in shown and shown.splitlines()[-1].endswith("more: kdoctor check -v")


def test_a_warning_without_a_command_says_what_to_do_on_one_line() -> None:
    advice = "Test the module in a VM that boots the target kernel instead " * 3
    finding = Finding(
        "module-loading", Status.WARN, "no loading here", remediation=Remediation(advice)
    )
    out, buffer = terminal(80)
    report_text.print_report(report(finding), out)
    lines = buffer.getvalue().splitlines()
    at = lines.index("! module-loading  no loading here")
    kept = lines[at + 1].removeprefix("    ").removesuffix("…")
    assert lines[at + 1].endswith("…") and 70 <= len(lines[at + 1]) <= 80
    assert advice.startswith(kept) and advice[len(kept)] == " "  # cut after a word
    assert lines[at + 2].startswith("1 warn")


def test_the_header_is_one_line_naming_the_module_in_words() -> None:
    findings = (Finding("os", Status.OK, "Debian 12"),)
    running = "6.18.44-fc-v1300-with-a-long-name"
    out, buffer = terminal(80)
    report_text.print_report(report(*findings, running_kernel=running), out)
    header = buffer.getvalue().splitlines()[0]
    # the distribution goes first (the os row says it), then the running kernel
    assert header == "kdoctor · target 6.1.0-56-amd64 (running) · module: bundled hello-world"
    out, buffer = terminal(200)
    report_text.print_report(report(*findings, running_kernel=running), out)
    assert buffer.getvalue().splitlines()[0] == (
        "kdoctor · Debian GNU/Linux 12 (bookworm) · running 6.18.44-fc-v1300-with-a-long-name"
        " · target 6.1.0-56-amd64 (running) · module: bundled hello-world"
    )
    out, buffer = terminal(40)
    report_text.print_report(report(*findings), out)
    header = buffer.getvalue().splitlines()[0]
    assert len(header) == 40 and header.endswith("…")
    here = report(*findings, module_source=ModuleSource.CURRENT, module_dir="/home/me/src/mine")
    out, buffer = terminal(100)
    report_text.print_report(here, out)
    assert buffer.getvalue().splitlines()[0].endswith("module: mine (from the current directory)")
    out, buffer = terminal(100)
    report_text.print_report(here, out, verbose=True)
    assert "/home/me/src/mine" in "".join(buffer.getvalue().splitlines()[:3])


def test_the_verdict_says_how_to_see_the_rest_on_its_line_when_it_fits() -> None:
    findings = (Finding("os", Status.OK, "Debian 12", found="12"),)
    shown = {}
    for width in (100, 70, 60):
        out, buffer = terminal(width)
        report_text.print_report(report(*findings), out, command="kdoctor check os")
        shown[width] = buffer.getvalue().splitlines()
    assert shown[100][-1] == (
        "1 ok in 7 ms — ready: nothing stands in the way; more: kdoctor check os -v"
    )
    # without the time when that is what it takes; else on a line of its own
    assert shown[70][-1] == "1 ok — ready: nothing stands in the way; more: kdoctor check os -v"
    assert shown[60][-2:] == [
        "1 ok in 7 ms — ready: nothing stands in the way",
        "more: kdoctor check os -v",
    ]
    given = report(*findings, module_source=ModuleSource.OPTION, module_dir="/m")
    out, buffer = terminal(120)
    report_text.print_report(given, out)
    lines = buffer.getvalue().splitlines()
    assert lines[-1].endswith("more: kdoctor check -v --module-dir /m")
    assert lines[0].endswith("· module: m")


def test_nothing_left_out_says_nothing_more() -> None:
    out, buffer = terminal(80)
    report_text.print_report(report(Finding("os", Status.OK, "Debian 12")), out)
    assert buffer.getvalue().splitlines()[-1] == "1 ok in 7 ms — ready: nothing stands in the way"


def test_a_long_probe_shows_its_first_and_last_lines_and_where_it_is_whole() -> None:
    long = "\n".join(f"line {n}" for n in range(1, 51))
    short = "\n".join(f"row {n}" for n in range(1, 22))
    probes = [
        Probe(("make", f"--eval={long}"), 0, cwd="/m", duration_ms=4.0),
        Probe(("make", f"--eval={short}"), 0, duration_ms=2.0),
    ]
    out, buffer = terminal(100)
    report_text.print_probes(probes, out, whole="kdoctor check -v --json")
    lines = buffer.getvalue().splitlines()
    assert (
        "line 10"
        in lines[
            lines.index("    … 30 lines left out (the whole command: kdoctor check -v --json) …")
            - 1
        ]
    )
    kept = [x.strip() for x in lines if "line " in x and "left out" not in x]
    assert len(kept) == 20
    assert kept[0] == "make '--eval=line 1" and kept[10] == "line 41"
    assert kept[-1] == "line 50'  (in /m) → exit 0, 4 ms"
    rows = [x.strip() for x in lines if "row " in x]  # 21 lines: nothing to save
    assert len(rows) == 21 and rows[-1] == "row 21' → exit 0, 2 ms"
    out, buffer = terminal(100)
    report_text.print_probes(probes[:1], out)
    assert "    … 30 lines left out …" in buffer.getvalue().splitlines()


def test_a_narrow_terminal_starts_a_long_rows_text_on_the_next_line() -> None:
    failing = Finding("a-very-long-check-id", Status.FAIL, "it failed in a way worth saying")
    out, buffer = terminal(30)
    report_text.print_report(report(failing), out)
    lines = buffer.getvalue().splitlines()
    at = lines.index("✘ a-very-long-check-id")
    assert lines[at + 1 : at + 3] == ["    it failed in a way worth", "    saying"]
    assert all(len(line) <= 30 for line in lines)


@pytest.mark.parametrize(
    "command",
    [
        PIN + " --component rustfmt",
        "export LIBCLANG_PATH='/opt/llvm 14/lib' CC=\"clang  -fuse-ld=lld\" X=a\\ b Y=$(echo 1 2)",
        "printf %s 'a b c d e f g h' --and --more --words --to --break # a comment that stays",
    ],
)
def test_a_broken_command_is_the_same_command_to_a_shell(command: str) -> None:
    require_tools("sh")

    def arguments(script: str) -> bytes:
        said = f'set -- {script}\nprintf "%s\\0" "$@"'
        return subprocess.run(["sh", "-c", said], capture_output=True, check=True).stdout

    for width in (12, 24, 40):
        lines = fit.command_lines(command, width, width - 4)
        assert len(lines) > 1
        assert all(line.endswith(fit.CONTINUED) for line in lines[:-1])
        for line, limit in zip(lines, [width] + [width - 4] * len(lines)):
            words = fit.shell_words(line.removesuffix(fit.CONTINUED))
            assert len(line) <= limit or len(words) == 1, (line, limit)
        assert arguments("\n    ".join(lines)) == arguments(command)
    assert fit.command_lines("short", 80, 76) == ["short"]


def test_shell_words_keep_quotes_escapes_and_a_comment_whole() -> None:
    words = fit.shell_words("a 'b c' \"d  e\" f\\ g #h i")
    assert words == ["a", "'b c'", '"d  e"', "f\\ g", "#h i"]


def test_trimming_leaves_out_only_what_saves_lines() -> None:
    assert fit.trimmed([str(n) for n in range(21)], 10, 10) == ([str(n) for n in range(21)], 0, [])
    head, left_out, tail = fit.trimmed([str(n) for n in range(22)], 10, 10)
    assert (head[-1], left_out, tail[0]) == ("9", 2, "12")


def test_before_and_after_a_fix_folds_the_unchanged_skips_and_shows_the_changed() -> None:
    before = report(skip("cargo"), skip("crates"), warn("rustup", PIN))
    after_findings = (
        skip("cargo"),
        Finding("crates", Status.OK, "vendored"),
        replace(warn("rustup", PIN), status=Status.OK, summary="rustup 1.29", found=None),
    )
    after = report(*after_findings)
    out, buffer = terminal(80)
    report_text.print_before_after(before, after, out)
    lines = buffer.getvalue().splitlines()
    assert "    - skipped  cargo" in lines
    assert any(line.startswith("- → ✔ crates") for line in lines)
    assert any(line.startswith("! → ✔ rustup") for line in lines)
