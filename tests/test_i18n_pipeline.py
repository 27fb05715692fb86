"""The pipeline speaks through the catalogs: under the pseudo-locale (every translated message
bracketed) what a build, a verification, a kernel fetch or applying a plan tells the person
carries the brackets, and under Spanish it reads in Spanish. An English sentence added to
``kdoctor/pipeline`` without ``_()`` fails here: the scenarios below, and a scan of the
pipeline's source for messages, summaries and remediations built from bare strings."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Optional

import pytest

from kdoctor import i18n
from kdoctor.checks.base import Check
from kdoctor.facts import Facts
from kdoctor.knowledge.packages import image_package_names
from kdoctor.model.finding import Finding, Status
from kdoctor.model.plan import Plan, Step
from kdoctor.pipeline import apply
from kdoctor.pipeline.build import build
from kdoctor.pipeline.diagnose import run_one
from kdoctor.pipeline.kernels import archive as kernel_archive
from kdoctor.pipeline.kernels import fetch as kernel_fetch
from kdoctor.pipeline.kernels import image as kernel_image
from kdoctor.pipeline.kernels.cache import image_damage
from kdoctor.pipeline.verify import accel as vm_accel
from kdoctor.pipeline.verify import host as verify_host
from kdoctor.pipeline.verify import result as verify_result
from kdoctor.pipeline.verify import target as verify_target
from kdoctor.pipeline.verify import vm as verify_vm
from kdoctor.pipeline.verify.console import ConsoleReport
from kdoctor.pipeline.verify.result import MESSAGES, VerifyResult
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply, apt_unknown
from tests.i18n_support import CLOSE, OPEN
from tests.test_verify import RELEASE, a_ko, judged
from tests.test_verify_runs import KO, host, machine, vm_ctx
from tests.test_vm import a_boot

PIPELINE = Path(__file__).resolve().parent.parent / "kdoctor" / "pipeline"
CACHE = "/home/me/.cache/kdoctor"


def said(text: Optional[str]) -> bool:
    """A whole sentence through the catalogs: it opens with the pseudo-locale's bracket."""
    return bool(text) and str(text).startswith(OPEN)


# -- the build ---------------------------------------------------------------------------------
def test_a_refused_build_explains_itself_through_the_catalogs(pseudo: None) -> None:
    system = FakeSystem(files={"/src/hello-world/Makefile": "all:\n"})
    ctx = make_context(cache_dir=CACHE, env={"CC": "gcc; reboot"})
    result = build(ctx, system, rustc=None, toolchain_env={}, log_dir=f"{CACHE}/logs")
    assert result.refused and system.runs == []
    assert said(result.explanations[0].cause)
    assert result.explanations[0].cause.endswith(f"kdoctor did not run make with it{CLOSE}")


def test_a_crashing_check_is_reported_through_the_catalogs(pseudo: None) -> None:
    class Crashing(Check):
        id = "crashing"
        title = "crashes"

        def run(self, facts: Facts) -> Finding:
            raise RuntimeError("garbled")

    finding = run_one(Crashing(), Facts(make_context(), FakeSystem()))
    assert finding.status == Status.ERROR
    assert said(finding.summary) and "RuntimeError: garbled" in finding.summary
    assert finding.remediation is not None and said(finding.remediation.text)


def test_waiting_for_the_package_manager_lock_is_said_through_the_catalogs(
    pseudo: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 77 (apt-get)"
    tries: list[int] = []

    def apt_get(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        tries.append(1)
        return Reply() if len(tries) > 1 else Reply(stdout=held + "\n", exit_code=100)

    system = FakeSystem(programs={"apt-get": "/usr/bin/apt-get"}, handlers={"apt-get": apt_get})
    monkeypatch.setattr(apply, "sleep", lambda s: None)
    lines: list[str] = []
    refresh = Step("packages", ("clang",), "refresh", argv=("apt-get", "update"), lock_wait=60)
    result = apply.apply_plan(
        Plan((refresh,)), make_context(), system, log_dir="/logs", on_line=lines.append
    )
    assert result.ok
    notes = [line for line in lines if "lock is held" in line]
    assert notes == [
        f"kdoctor: {OPEN}the package manager lock is held; retrying (up to 60 s){CLOSE}\n"
    ]


# -- verifying in a VM -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "boot"),
    [
        ("success", {}),
        ("missing_goodbye", {}),
        ("insmod_invalid_format", {}),
        ("oops_in_init", {}),
        ("panic_in_init", {}),
        ("timeout_in_insmod", {"exit_code": None, "timed_out": True, "timeout": 20.0}),
        ("success", {"console": "qemu-system-x86_64: no kernel\n", "exit_code": 1}),
        ("success", {"console": "SeaBIOS\n", "exit_code": None, "timed_out": True}),
        ("success", {"console": "Kernel panic - not syncing: VFS\n", "exit_code": 0}),
        ("success", {"console": "", "exit_code": -9}),
    ],
)
def test_every_vm_verdict_speaks_through_the_catalogs(
    pseudo: None, name: str, boot: dict[str, object]
) -> None:
    result = judged(name, **boot)
    assert said(result.summary), result.summary
    if result.remediation is not None and name != "insmod_invalid_format":
        assert said(result.remediation.text), result.remediation.text


@pytest.mark.parametrize(
    "report",
    [
        ConsoleReport(booted=True, insmod_rc=None),
        ConsoleReport(booted=True, insmod_rc=0, rmmod_rc=None),
        ConsoleReport(booted=True, insmod_rc=0, rmmod_rc=1),
        ConsoleReport(booted=True, insmod_rc=0, rmmod_rc=1, oops="BUG: x"),
        ConsoleReport(booted=True, insmod_rc=0, rmmod_rc=0, oops="BUG: x"),
    ],
)
def test_a_vm_run_that_stops_after_init_speaks_through_the_catalogs(
    pseudo: None, report: ConsoleReport
) -> None:
    base = VerifyResult(mode="vm", passed=False, summary="", kernel=RELEASE, module="/m.ko")
    result = verify_vm.judge_vm(base, a_boot(), report, "helloworld")
    assert said(result.summary), result.summary
    assert result.remediation is not None and said(result.remediation.text)


def test_an_insmod_that_said_nothing_is_described_through_the_catalogs(pseudo: None) -> None:
    base = VerifyResult(mode="vm", passed=False, summary="", kernel=RELEASE, module="/m.ko")
    report = ConsoleReport(booted=True, insmod_rc=1)
    result = verify_vm.judge_vm(base, a_boot(), report, "helloworld")
    assert said(result.summary) and said(result.insmod_error)


def test_what_stops_a_vm_before_it_boots_speaks_through_the_catalogs(pseudo: None) -> None:
    system, _qemu = machine([])
    del system.programs["qemu-system-x86_64"]
    missing_qemu = verify_vm.verify_vm(vm_ctx(), system, KO, release=RELEASE)
    system, _qemu = machine([])
    del system.programs["busybox"]
    missing_busybox = verify_vm.verify_vm(vm_ctx(), system, KO, release=RELEASE)
    system, _qemu = machine([])
    missing_ko = verify_vm.verify_vm(vm_ctx(), system, "/nope.ko", release=RELEASE)
    system, _qemu = machine([], **{"/nope.ko": "not an ELF"})
    not_a_module = verify_vm.verify_vm(vm_ctx(), system, "/nope.ko", release=RELEASE)
    arm = verify_vm.verify_vm(make_context(arch="aarch64"), system, KO, release=RELEASE)
    for result in (missing_qemu, missing_busybox, missing_ko, not_a_module, arm):
        assert said(result.summary), result.summary
        assert result.remediation is not None and said(result.remediation.text)


def test_kvm_and_tcg_are_explained_through_the_catalogs(pseudo: None) -> None:
    quiet = ConsoleReport()
    failures = [
        vm_accel.kvm_failure(a_boot("kvm", error="boom"), quiet),
        vm_accel.kvm_failure(a_boot("kvm", timed_out=True, exit_code=None, silent=6.0), quiet),
        vm_accel.kvm_failure(a_boot("kvm", timed_out=True, exit_code=None), quiet),
        vm_accel.kvm_failure(a_boot("kvm", exit_code=-6), quiet),
        vm_accel.kvm_failure(a_boot("kvm", exit_code=-200), quiet),
        vm_accel.kvm_failure(a_boot("kvm", exit_code=3), quiet),
        vm_accel.kvm_failure(a_boot("kvm"), quiet),
    ]
    assert all(said(f) for f in failures), failures
    no_kvm = vm_accel.plan_accel("auto", FakeSystem(), CACHE, RELEASE)
    system = FakeSystem(files={"/dev/kvm": ""})
    vm_accel.remember_kvm(system, CACHE, RELEASE, False, "it hung")
    failed_before = vm_accel.plan_accel("auto", system, CACHE, RELEASE)
    assert said(no_kvm.note) and said(failed_before.note)


# -- verifying on the running kernel, and where to verify --------------------------------------
def test_host_verdicts_speak_through_the_catalogs(pseudo: None) -> None:
    password = Reply(stderr="sudo: a password is required\n", exit_code=1)
    unknown = Reply(stderr="insmod: something odd\n", exit_code=1)
    known = Reply(stderr=f"insmod: ERROR: could not insert module {KO}: File exists\n", exit_code=1)
    for reply in (password, unknown, known):
        system, ko, ctx = host(reply, root=reply is password)
        result = verify_host.verify_host(ctx, system, ko)
        assert said(result.summary), result.summary
        if reply is password:
            assert result.remediation is not None and said(result.remediation.text)
    system, ko, ctx = host(Reply(), logs=["", ""])
    missing = verify_host.verify_host(ctx, system, ko)
    assert said(missing.summary) and missing.remediation is not None
    assert said(missing.remediation.text)
    system, ko, ctx = host(Reply(), root=False)
    del system.programs["sudo"]
    system.handlers.clear()  # nothing runs without sudo
    no_sudo = verify_host.verify_host(ctx, system, ko)
    assert said(no_sudo.summary) and no_sudo.remediation is not None
    assert said(no_sudo.remediation.text)


def test_passing_and_the_notes_on_where_to_verify_speak_through_the_catalogs(
    pseudo: None,
) -> None:
    assert all(said(verify_result.passed_summary(e)) for e in (MESSAGES, MESSAGES[:1], ()))
    assert said(verify_result.taint_meaning("E")) and said(verify_result.taint_meaning("?"))
    assert said(verify_result.status_words("insmod", 137))
    assert said(verify_result.status_words("insmod", 1))
    system = FakeSystem(files={"/m/helloworld.ko": a_ko()})
    running = make_context(running_kernel="6.18.44", target_kernel="6.18.44")
    named = make_context(target_kernel="6.1.0-99-amd64", target_source="--kernel")
    for ctx in (running, named):
        assert said(verify_target.target_release(ctx, system, "/m/helloworld.ko")[1])
    capable = FakeSystem(files={"/proc/modules": "", "/proc/sys/kernel/modules_disabled": "0\n"})
    assert said(verify_target.choose_mode(make_context(), capable, "auto", consent=False)[1])
    fc = make_context(running_kernel="6.18.44-fc-v782", target_kernel="6.18.44-fc-v782")
    assert said(verify_target.choose_mode(fc, FakeSystem(), "auto", consent=True)[1])


# -- kernels: the archive, the cache and the image ---------------------------------------------
def test_kernel_fetch_errors_speak_through_the_catalogs(pseudo: None) -> None:
    unknown = kernel_archive.unknown_release("9.9", {"bookworm": ["6.1.0-56-amd64"]})
    assert said(str(unknown)) and said(unknown.remediation.text)
    archive = kernel_archive.archive_for(CACHE, "bookworm")
    offline = FakeSystem(
        programs={"apt-get": "/usr/bin/apt-get"},
        commands={
            "apt-get update": Reply(stderr="E: no network", exit_code=100),
            "apt-get download linux-headers-6.1.0-99-amd64": Reply(
                stderr="E: no network", exit_code=100
            ),
        },
    )
    with pytest.raises(kernel_archive.ArchiveError) as read:
        kernel_archive.update(offline, archive, force=True)
    assert said(str(read.value)) and said(read.value.remediation.text)
    steps: list[str] = []
    with pytest.raises(kernel_archive.ArchiveError) as fetched:
        kernel_archive.download(offline, archive, ("linux-headers-6.1.0-99-amd64",), steps.append)
    assert said(str(fetched.value)) and said(fetched.value.remediation.text)
    assert steps and all(said(s) for s in steps)
    assert said(kernel_fetch.damage(FakeSystem(), CACHE, "6.1.0-99-amd64"))


@pytest.mark.parametrize(
    ("manager", "tools"),
    [
        ("dnf", ()),  # kdoctor fetches images only with apt
        ("apt", ("apt-get", "apt-cache")),  # dpkg-deb is missing
        ("apt", ("apt-get", "apt-cache", "dpkg-deb")),  # apt knows no such package
    ],
)
def test_kernel_image_errors_speak_through_the_catalogs(
    pseudo: None, manager: str, tools: tuple[str, ...]
) -> None:
    ctx = make_context(cache_dir=CACHE, package_manager=manager)
    system = FakeSystem(programs={tool: f"/usr/bin/{tool}" for tool in tools})
    if "dpkg-deb" in tools:
        system.commands.update(apt_unknown(*image_package_names("apt", "6.1.0-99-amd64")))
    with pytest.raises(kernel_image.KernelImageError) as failed:
        kernel_image.fetch(ctx, system, "6.1.0-99-amd64")
    assert said(str(failed.value)) and said(failed.value.remediation.text)


def test_a_damaged_cached_image_is_described_through_the_catalogs(pseudo: None) -> None:
    assert said(image_damage(FakeSystem(files={"/i": ""}), "/i"))


# -- in Spanish --------------------------------------------------------------------------------
def test_the_pipeline_speaks_spanish(spanish: None) -> None:
    assert verify_result.passed_summary(MESSAGES) == "cargado, descargado, los 3 mensajes en orden"
    assert verify_result.taint_meaning("E") == "módulo sin firmar"
    assert vm_accel.ended(1) == "qemu terminó con el código de salida 1"
    assert judged("timeout_in_insmod", exit_code=None, timed_out=True, timeout=20.0).summary == (
        "insmod no terminó en 20 s"
    )
    unknown = kernel_archive.unknown_release("9.9", {"bookworm": []})
    assert str(unknown).startswith("ninguna suite de Debian ofrece el kernel 9.9; ")
    assert unknown.remediation.text.startswith("Pase a --kernel una serie (")
    with pytest.raises(kernel_image.KernelImageError) as failed:
        kernel_image.fetch(make_context(package_manager="dnf"), FakeSystem(), "6.1.0-99-amd64")
    assert str(failed.value) == (
        "no hay imagen del kernel 6.1.0-99-amd64 en /boot, y kdoctor solo descarga imágenes con apt"
    )
    system = FakeSystem(files={"/src/hello-world/Makefile": "all:\n"})
    ctx = make_context(cache_dir=CACHE, env={"CC": "gcc; reboot"})
    refused = build(ctx, system, rustc=None, toolchain_env={}, log_dir=f"{CACHE}/logs")
    assert refused.explanations[0].cause.endswith("; kdoctor no ha ejecutado make con ese valor")


def test_english_is_unchanged_after_spanish(spanish: None) -> None:
    i18n.activate("en")
    assert vm_accel.ended(1) == "qemu exited with status 1"
    assert verify_result.passed_summary(MESSAGES) == "loaded, unloaded, all 3 messages in order"


# -- no bare sentence in the pipeline's source ------------------------------------------------
#: calls whose first argument is a sentence a person reads
SENTENCES = {
    "Remediation",
    "ArchiveError",
    "KernelImageError",
    "Problem",
    "FileNotFoundError",
    "AccelPlan",
}
#: keyword arguments that are sentences a person reads
SENTENCE_KEYWORDS = {"summary", "explanation", "note", "error"}


def _bare(node: ast.expr) -> bool:
    """English text built without the catalogs: a string or an f-string with a word in it, or
    a sum with one (punctuation added to a translated sentence is not English)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and any(c.isalpha() for c in node.value)
    if isinstance(node, ast.JoinedStr):
        return any(_bare(part) for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _bare(node.left) or _bare(node.right)
    return False


def _sentences(tree: ast.AST) -> Iterator[tuple[int, ast.expr]]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", ""))
        if name in SENTENCES and node.args:
            yield node.lineno, node.args[-1 if name == "AccelPlan" else 0]
        for keyword in node.keywords if name != "format" else ():  # format: the values
            if keyword.arg in SENTENCE_KEYWORDS:
                yield node.lineno, keyword.value


def test_no_sentence_in_the_pipeline_is_made_without_the_catalogs() -> None:
    bare = [
        f"{path.name}:{line}"
        for path in sorted(PIPELINE.glob("*.py"))
        for line, value in _sentences(ast.parse(path.read_text()))
        if _bare(value) and not (isinstance(value, ast.Constant) and value.value == "interrupted")
    ]
    assert bare == []


def test_the_scan_finds_a_bare_sentence() -> None:
    source = (
        'Remediation(f"Install {x}.")\nProblem(_("ok"), r)\nf(summary="said")\n'
        '_("a: {error}").format(error=f"{e}")\n'
    )
    assert [line for line, value in _sentences(ast.parse(source)) if _bare(value)] == [1, 3]
