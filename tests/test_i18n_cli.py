"""kdoctor's own words (the command line and the text report: ``kdoctor/*.py``, ``cli/``,
``render/``) go through the catalogs: under a pseudo-locale that brackets each translated
message, nothing but values (ids, versions, paths, commands) is left outside the brackets; in
Spanish, the report, the errors and the help speak Spanish while every command stays whole."""

from __future__ import annotations

import ast
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from kdoctor import i18n
from kdoctor.knowledge.build_causes import Explanation
from kdoctor.machine.system import Probe
from kdoctor.model.choice import Stopped
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import Package
from kdoctor.model.plan import FileEdit, Plan, Step
from kdoctor.model.report import Report
from kdoctor.pipeline.apply import ApplyResult, StepResult
from kdoctor.pipeline.build import BuildResult
from kdoctor.pipeline.planner import routed
from kdoctor.pipeline.verify.result import VerifyResult
from kdoctor.render import apply_text, report_text, text
from tests.conftest import make_context
from tests.i18n_support import CLOSE, OPEN

ROOT = Path(__file__).resolve().parent.parent
KDOCTOR = [sys.executable, "-m", "kdoctor"]

#: words that are values, not sentences: they stay as they are in every language
NOT_WORDS = {"kdoctor", "insmod", "rmmod", "sudo", "root", "KVM", "ms", "KiB"}


def outside(shown: str) -> str:
    """``shown`` without what the catalogs said (the bracketed parts, however nested)."""
    depth, kept = 0, []
    for char in shown:
        if char == OPEN:
            depth += 1
        elif char == CLOSE:
            depth -= 1
        elif depth == 0:
            kept.append(char)
    assert depth == 0, shown
    return "".join(kept)


def unsaid(shown: str, values: Iterable[str]) -> set[str]:
    """The words of ``shown`` that are neither translated nor one of the ``values`` it shows."""
    rest = outside(shown)
    assert rest != shown, "nothing was translated at all"
    for value in sorted(values, key=len, reverse=True):
        rest = rest.replace(value, " ")
    return set(re.findall(r"[A-Za-z]{2,}", rest)) - NOT_WORDS


def rendered(draw: Any) -> str:
    buffer = io.StringIO()
    draw(Console(file=buffer, width=100, no_color=True, highlight=False))
    return buffer.getvalue()


CTX = make_context()
#: the context's values, as the report's header shows them
CTX_VALUES = (
    CTX.distro.name,
    CTX.running_kernel,
    CTX.target_kernel,
    CTX.target_source,
    CTX.module_dir,
)


def findings() -> tuple[Finding, ...]:
    """As the diagnosis hands them over: each with the planner that repairs it."""
    made = (
        Finding("os", Status.OK, "SAIDOK", found="FOUNDOK"),
        Finding(
            "clang",
            Status.FAIL,
            "SAIDFAIL",
            found="FOUNDFAIL",
            remediation=Remediation("REMEDY", ("apt-get install clang-11",)),
            needs=(Package("clang-11", ("clang-11",)),),
        ),
        Finding("rustup", Status.WARN, "SAIDWARN"),
        Finding("cargo", Status.SKIP, "SAIDSKIP"),
        Finding("vm", Status.ERROR, "SAIDERROR", traceback="Traceback: TRACE"),
    )
    return routed(made)


FINDING_VALUES = (
    "SAIDOK",
    "FOUNDOK",
    "SAIDFAIL",
    "FOUNDFAIL",
    "REMEDY",
    "apt-get install clang-11",
    "packages",
    "SAIDWARN",
    "SAIDSKIP",
    "SAIDERROR",
    "Traceback: TRACE",
    "os",
    "clang",
    "rustup",
    "cargo",
    "vm",
)


def test_the_report_header_lines_probes_and_summary_are_translated(pseudo: None) -> None:
    report = Report(CTX, findings(), 12.0)
    probes = [
        Probe(("make", "-C", "/k"), 0, cwd="/src", duration_ms=3.0),
        Probe(("sleep", "9"), None, timed_out=True),
        Probe(("nope",), None, error="ERRNOENT"),
    ]
    shown = rendered(lambda out: report_text.print_report(report, out, verbose=True, probes=probes))
    values = (*CTX_VALUES, *FINDING_VALUES, "make -C /k", "/src", "sleep 9", "nope", "ERRNOENT")
    assert unsaid(shown, values) == set()
    last = shown.rstrip().splitlines()[-1]
    assert last.startswith(OPEN) and "⟦1 ok⟧" in last and "⟦not ready: " in last


def test_a_ready_summary_and_the_status_words_are_translated(pseudo: None) -> None:
    report = Report(CTX, (Finding("os", Status.OK, "SAIDOK", found="FOUNDOK"),), 3.0)
    line = report_text.summary_line(report).plain
    assert unsaid(line, ()) == set()
    assert "⟦ready: nothing stands in the way⟧" in line
    assert [text.glyph(s).plain.split(" ", 1)[1] for s in Status] == [
        f"{OPEN}{s.value}{CLOSE}" for s in Status
    ]


def test_before_and_after_a_fix_is_translated(pseudo: None) -> None:
    before = Report(CTX, findings(), 1.0)
    after = Report(CTX, tuple(replace(f, status=Status.OK) for f in findings()), 1.0)
    shown = rendered(lambda out: report_text.print_before_after(before, after, out))
    assert unsaid(shown, FINDING_VALUES) == set()
    assert "⟦(was → now)⟧" in shown


def plan() -> Plan:
    edit = FileEdit("/root/.config/kdoctor/env", "CC=clang", "-CC=gcc\n+CC=clang\n")
    return Plan(
        (
            Step("packages", ("clang",), "WHYONE", ("apt-get", "install", "clang-11"), root=True),
            Step("settings", ("clang",), "WHYTWO", edit=edit, label="LABELTWO"),
        ),
        notes=("NOTEONE",),
    )


PLAN_VALUES = (
    "WHYONE",
    "apt-get install clang-11",
    "packages",
    "clang",
    "WHYTWO",
    "LABELTWO",
    "settings",
    "NOTEONE",
    "-CC=gcc",
    "+CC=clang",
)


def test_the_plan_and_an_empty_or_blocked_plan_are_translated(pseudo: None) -> None:
    shown = rendered(lambda out: text.print_plan(plan(), out, sudo=True))
    assert unsaid(shown, PLAN_VALUES) == set()
    assert "⟦plan: 2 steps⟧" in shown
    for blocked in (False, True):
        empty = rendered(
            lambda out, b=blocked: text.print_plan(
                Plan((), ("NOTEONE",)), out, sudo=False, blocked=b
            )
        )
        assert unsaid(empty, ("NOTEONE",)) == set()


def test_applying_the_plan_is_translated(pseudo: None) -> None:
    steps = plan().steps
    ok = StepResult(steps[0], True, 1.0)
    bad = StepResult(steps[1], False, 2.0, exit_code=3, tail=("TAIL",), explanation="EXPLAINED")
    values = (*PLAN_VALUES, "/log", "TAIL", "EXPLAINED", "apt-get update")
    results = [
        ApplyResult((ok, bad), "/log"),
        ApplyResult((ok,), "/log", stopped=Stopped.INTERRUPTED),
        ApplyResult((ok,), "/log", stopped=Stopped.NEEDS_ADMIN, admin_commands=("apt-get update",)),
    ]
    for result in results:
        shown = rendered(lambda out, result=result: apply_text.print_apply(result, out))
        assert unsaid(shown, values) == set(), shown


def build(**changes: Any) -> BuildResult:
    base = BuildResult(True, "/src", "/src/hello.ko", "/build.log", 2.5, ("make",), 0)
    return replace(base, **changes)


def test_a_build_and_its_failures_are_translated(pseudo: None) -> None:
    why = Explanation("id", "CAUSE", "REMEDYTWO", "EVIDENCE")
    refusal = Explanation("unsafe-value", "CAUSE", "REMEDYTWO", "EVIDENCE")
    results = [
        build(),
        build(ok=False, ko=None, exit_code=2, cause="LINE", tail=("TAIL",)),
        build(ok=False, ko=None, exit_code=2, explanations=(why,)),
        build(ok=False, ko=None, exit_code=None, explanations=(refusal,)),
    ]
    values = ("/src/hello.ko", "/build.log", "LINE", "TAIL", "CAUSE", "REMEDYTWO")
    for result in results:
        shown = rendered(lambda out, result=result: text.print_build(result, out))
        assert unsaid(shown, values) == set(), shown
    toolchain: Any = SimpleNamespace(reason="REASON", problems=("PROBLEM",))
    shown = rendered(lambda out: text.print_no_toolchain(toolchain, out))
    values = ("REASON", "PROBLEM", "kdoctor check toolchain rust-src; kdoctor fix")
    assert unsaid(shown, values) == set()


def test_verification_is_translated(pseudo: None) -> None:
    result = VerifyResult(
        "vm",
        False,
        "SUMMARY",
        "6.1.0-56-amd64",
        "/src/hello.ko",
        accel="kvm",
        expected=("MSGONE", "MSGTWO"),
        found=("MSGONE",),
        insmod_status=0,
        rmmod_status=None,
        taint="O",
        taint_new="O",
        timings={"boot_s": 1.0, "insmod_s": 0.1, "rmmod_s": 0.1, "vm_s": 2, "total_s": 3},
        log_path="/verify.log",
        console_tail=("CONSOLE",),
        remediation=Remediation("ADVICE", ("kdoctor verify --vm",)),
        notes=("NOTEV",),
        module_log=("KLOG",),
    )
    values = (
        "SUMMARY",
        "6.1.0-56-amd64",
        "hello.ko",
        "MSGONE",
        "MSGTWO",
        "/verify.log",
        "CONSOLE",
        "ADVICE",
        "kdoctor verify --vm",
        "NOTEV",
        "KLOG",
    )
    for shown_result in (result, replace(result, mode="host", passed=True, insmod_status=1)):
        shown = rendered(lambda out, r=shown_result: text.print_verify(r, out))
        # the taint flag's meaning is the pipeline's sentence, not this area's
        assert unsaid(shown.replace("out-of-tree module", ""), values) == set(), shown


def test_the_kernels_table_and_the_cache_sizes_are_translated(pseudo: None) -> None:
    from kdoctor.pipeline.multi_kernel import KernelRun, TestReport
    from kdoctor.render.kernels_text import size_lines, test_table

    ok = KernelRun("6.12", "6.12.9-amd64", "ok", "ok", "ok", "3/3", 21.5, log="/l")
    bad = KernelRun("5.10", "5.10.1-amd64", "no toolchain", error="ERROR", log="/b.log")
    bad = replace(bad, adapted=("ADAPTED",))
    lines = test_table(TestReport((ok, bad), 30.0, "/m"))
    values = ("6.12.9-amd64", "5.10.1-amd64", "ERROR", "/b.log", "ADAPTED")
    assert unsaid("\n".join(lines), values) == set()
    sizes = size_lines([("kernels/6.1", 2048)], 2048)
    assert unsaid("\n".join(sizes), ("kernels/6.1", "KiB")) == set()


def provision_result(**changes: Any) -> Any:
    from kdoctor.pipeline.provision import ProvisionResult

    blocked = Finding("clang", Status.FAIL, "SAIDFAIL")
    report = Report(CTX, (blocked,), 1.0)
    return ProvisionResult(CTX, report, plan(), CTX, **changes)


def test_what_fix_says_when_it_stops_is_translated(pseudo: None) -> None:
    from kdoctor.cli.fix_view import FixView
    from kdoctor.pipeline.provision import Halt
    from kdoctor.pipeline.verify.stamp import Stamp

    stamp = Stamp("d" * 64, "/src/hello.ko", 0.0, "vm")
    runs = [
        provision_result(halt=Halt.DRY_RUN),
        provision_result(halt=Halt.PLAN_CHANGED),
        provision_result(halt=Halt.STILL_FAILING),
        provision_result(halt=Halt.VERIFIED, reused=stamp),
    ]
    for result in runs:
        shown = rendered(lambda out, r=result: FixView(out).ended(r))
        values = (
            result.plan_digest,
            "fix --yes --expect-plan DIGEST",
            "--dry-run",
            "SAIDFAIL",
            "clang",
            "/src/hello.ko",
            "kdoctor fix --yes --reverify",
            "kdoctor verify",
            "vm",
        )
        assert unsaid(shown, values) == set(), shown


def test_usage_errors_are_translated(pseudo: None) -> None:
    from kdoctor.cli.options import unknown_checks_message, usage_error

    said = unknown_checks_message("clangg,nope")
    assert unsaid(said, ["clang", "libclang", "clangg", "nope", "os", "vm", "-"]) <= {
        "build",
        "tools",
        "compiler",
        "family",
        "kernel",
        "headers",
        "range",
        "rust",
        "for",
        "linux",
        "bindgen",
        "kbuild",
        "cmd",
        "rustup",
        "toolchain",
        "src",
        "rustfmt",
        "cargo",
        "compat",
        "module",
        "target",
        "crates",
        "loading",
        "privileges",
    }  # the ids of the known checks
    assert all(line.startswith(OPEN) for line in said.splitlines())
    assert usage_error("BAD").startswith(OPEN)


def test_every_help_text_of_the_command_line_goes_through_the_catalogs() -> None:
    """Help texts are made as the CLI is built, in the language kdoctor.__main__ chose: each
    ``help=``/``epilog=`` is a ``_()`` call (or a value made with one), never a bare string,
    and every command has such a help (a docstring would stay English)."""
    bare = []
    for path in sorted((ROOT / "kdoctor" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if keyword.arg in ("help", "epilog") and isinstance(
                        keyword.value, (ast.Constant, ast.JoinedStr, ast.BinOp)
                    ):
                        bare.append(f"{path.name}:{node.lineno}")
    assert bare == []
    from kdoctor.cli.app import app
    from kdoctor.cli.kernels import cache_app

    assert [c.name for c in app.registered_commands if not c.help] == []
    assert [c.name for c in cache_app.registered_commands if not c.help] == []


def test_the_command_helps_and_their_examples_are_translated(pseudo: None) -> None:
    from kdoctor.cli.help_text import EXAMPLES, helps

    for command, said in helps(plain=False).items():
        commands = [line for line, _what in EXAMPLES[command]]
        assert unsaid(said, commands) == set(), said
        assert f"{OPEN}Examples:{CLOSE}" in said


def test_spanish_is_spoken_by_the_report_and_the_errors(spanish: None) -> None:
    from kdoctor.cli.options import unknown_checks_message

    report = Report(CTX, findings(), 12.0)
    shown = rendered(lambda out: report_text.print_report(report, out))
    assert "kdoctor puede hacerlo: kdoctor fix (el paso packages del plan)" in shown
    assert "1 ok, 1 aviso, 1 fallo, 1 omitida, 1 error" in shown and "no está listo: " in shown
    shown = rendered(lambda out: report_text.print_report(report, out, verbose=True))
    assert "· en ejecución 6.1.0-56-amd64 · destino 6.1.0-56-amd64" in shown
    assert "1 ok, 1 aviso, 1 fallo, 1 omitida, 1 error en 12 ms — no está listo: " in shown
    assert "encontrado: FOUNDFAIL" in shown
    said = unknown_checks_message("clangg")
    assert said.startswith("comprobación desconocida: clangg; ¿quería decir clang o libclang?")
    assert "⟦" not in shown + said
    i18n.activate("en")
    assert "not ready: " in report_text.summary_line(report).plain


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    """kdoctor as a person runs it, in the environment's language (``COLUMNS=80``)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    full.update({"PYTHONPATH": str(ROOT), "COLUMNS": "80", "TERM": "dumb"}, **env)
    return subprocess.run(
        [*KDOCTOR, *args],
        capture_output=True,
        text=True,
        env=full,
        stdin=subprocess.DEVNULL,
        timeout=120,
        cwd=ROOT,
    )


@pytest.mark.parametrize(
    ("command", "spanish"),
    [
        ("build", "Compila el módulo con el toolchain y las variables que kdoctor diagnosticó."),
        ("verify", "Carga el módulo compilado, lo descarga y confirma sus mensajes en orden."),
    ],
)
def test_the_help_of_build_and_verify_speaks_spanish(command: str, spanish: str) -> None:
    proc = _run([command, "--help"], LANG="es_ES.UTF-8")
    assert proc.returncode == 0, proc.stderr
    assert spanish in proc.stdout
    assert "Ejemplos:" in proc.stdout and "Opciones" in proc.stdout
    assert "More detail" not in proc.stdout and "Examples:" not in proc.stdout
    for line in proc.stdout.splitlines():  # each example is whole, with its comment
        if line.strip().startswith(f"kdoctor {command}"):
            assert " # " in line and len(line) <= 80


def test_a_bad_check_id_is_a_spanish_usage_error_and_the_json_keeps_its_shape() -> None:
    proc = _run(["check", "clangg", "--json"], LANG="es_ES.UTF-8")
    assert proc.returncode == 2
    assert "comprobación desconocida: clangg" in proc.stderr
    document = json.loads(proc.stdout)
    assert document["error"]["kind"] == "usage"
    assert document["error"]["message"].startswith("comprobación desconocida: clangg")


@pytest.mark.integration
def test_check_speaks_spanish_and_shows_every_json_command_whole() -> None:
    spanish = _run(["check"], LANG="es_ES.UTF-8")
    document = json.loads(_run(["check", "--json"], LANG="es_ES.UTF-8").stdout)
    assert spanish.returncode == document["exit_code"], spanish.stderr
    lines = spanish.stdout.splitlines()
    assert "· en ejecución " in lines[0] and "· destino " in lines[0] and "running" not in lines[0]
    assert re.search(r" en \d+ ms — (listo: nada lo impide|no está listo: )", lines[-1])
    shown = [line.strip() for line in lines]
    commands = [
        c
        for check in document["checks"]
        if check["remediation"]
        for c in check["remediation"]["commands"]
    ]
    for command in commands:
        assert f"$ {command}" in shown


@pytest.mark.integration
def test_fix_dry_run_speaks_spanish() -> None:
    proc = _run(["fix", "--dry-run"], LANG="es_ES.UTF-8")
    assert "Traceback" not in proc.stderr
    assert "simulación: no se ha cambiado nada" in proc.stdout
    assert "dry run" not in proc.stdout
    assert "nota: " in proc.stdout or "plan: " in proc.stdout or "listo" in proc.stdout


def test_the_spanish_readme_names_every_check_and_both_readmes_link_each_other() -> None:
    from kdoctor.checks.base import all_checks

    spanish = (ROOT / "README.es.md").read_text(encoding="utf-8")
    english = (ROOT / "README.md").read_text(encoding="utf-8")
    table = re.findall(r"^\| `([a-z-]+)` \|", spanish, flags=re.MULTILINE)
    assert table == [c.id for c in all_checks()]
    assert "(README.md)" in spanish.split("\n## ", 1)[0]
    assert "(README.es.md)" in english.split("\n## ", 1)[0]
    blocks = "".join(b.split("```", 1)[0] for b in spanish.split("```sh\n")[1:])
    commands = re.findall(r"^kdoctor ([a-z-]+.*?)\s*(?:#|$)", blocks, flags=re.MULTILINE)
    assert len(commands) == 6
    for command in commands:  # each parses: --help stops before running
        assert _run([*command.split(), "--help"]).returncode == 0, command
