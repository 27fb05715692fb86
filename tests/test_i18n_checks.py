"""The checks (kdoctor/checks, catalog kdoctor-checks) speak through the catalogs: under the
pseudo-locale of tests/test_i18n_pseudo.py every summary, remediation and by-hand explanation a
check makes carries the brackets, while what code or a person's shell reads (commands, JSON
facts, check ids, statuses) stays as it is; under Spanish the catalog's sentences come out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kdoctor import i18n
from kdoctor.checks import kernel_range
from kdoctor.checks.base import all_checks, joined
from kdoctor.checks.kbuild_cmd import KbuildCmdCheck
from kdoctor.checks.libclang import LibclangCheck
from kdoctor.checks.os_info import OsCheck
from kdoctor.checks.privileges import PrivilegesCheck
from kdoctor.checks.toolchain import ToolchainCheck
from kdoctor.facts import Facts
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand
from tests.conftest import make_context, run_check
from tests.fake_system import FakeSystem
from tests.i18n_support import CLOSE, OPEN, Pseudo
from tests.test_i18n_pseudo import bare
from tests.test_kbuild_cmd_check import CLASSIC, MOD
from tests.test_kbuild_cmd_check import machine as kbuild_machine
from tests.test_libclang_check import LLVM_18, debian_12
from tests.test_module_kernel_checks import MODULE, PKGNAMES, cargo_module
from tests.test_module_kernel_checks import machine as module_machine


@pytest.fixture(autouse=True)
def english_after() -> Iterator[None]:
    yield
    i18n.activate("en")


@pytest.fixture
def pseudo() -> None:
    i18n.activate("es", Pseudo())


def marked(text: str | None) -> bool:
    return text is not None and OPEN in text and CLOSE in text


def said(finding: Finding) -> list[str]:
    """What a person reads of a finding: its summary, its remediation's text and its by-hand
    explanations."""
    texts = [finding.summary]
    if finding.remediation is not None:
        texts.append(finding.remediation.text)
    for need in finding.needs:
        if isinstance(need, ByHand):
            texts += [need.why, need.remedy]
    return texts


def range_guard() -> Finding:
    """A build.rs guard accepting Linux < 6.0 against a 6.1 target, nothing in range installed."""
    system = module_machine(cargo_module(), commands={PKGNAMES: "linux-headers-6.1.0-50-amd64\n"})
    return run_check(kernel_range.KernelRangeCheck(), make_context(module_dir=MODULE), system)


def libclang_mismatch() -> Finding:
    """bindgen would load libclang 18 while clang is 14: the remedy persists LIBCLANG_PATH."""
    system = debian_12()
    system.dirs[LLVM_18] = ["libclang-18.so.18", "libclang.so.1"]
    system.dirs["/usr/lib"] = ["llvm-14", "llvm-18"]
    return run_check(LibclangCheck(), make_context(), system)


def classic_kbuild() -> Finding:
    """A member object built by a custom rule: modpost will miss its .cmd file."""
    return run_check(
        KbuildCmdCheck(), make_context(module_dir=MOD), kbuild_machine({"Kbuild": CLASSIC})
    )


# -- the pseudo-locale: every sentence through the catalog --------------------------------------
@pytest.mark.usefixtures("pseudo")
def test_every_check_on_a_bare_machine_speaks_through_the_catalogs() -> None:
    report, _system = bare()
    # the toolchain's summary there is kdoctor.facts' reason (another catalog's words)
    others = {("toolchain", 0)}
    unmarked = [
        (f.id, i, text)
        for f in report.findings
        for i, text in enumerate(said(f))
        if text and (f.id, i) not in others and not marked(text)
    ]
    assert unmarked == []
    assert {f.id for f in report.findings} == {c.id for c in all_checks()}


@pytest.mark.usefixtures("pseudo")
def test_a_kernel_range_outside_the_target_explains_and_offers_a_fetch_in_the_catalogs() -> None:
    finding = range_guard()
    assert finding.status is Status.FAIL
    assert all(marked(text) for text in said(finding))
    assert finding.summary.startswith(OPEN + "glue/build.rs:4 `")
    [need] = finding.needs
    assert isinstance(need, ByHand)
    assert OPEN + "Debian 11 (bullseye, Linux 5.10)" not in need.why  # a value, not a sentence
    assert "Debian 11 (bullseye, Linux 5.10)" in need.why
    # the command is the same in every language
    assert finding.remediation is not None
    assert finding.remediation.commands == ("kdoctor fix --kernel 5.10",)


@pytest.mark.usefixtures("pseudo")
def test_a_commands_comment_is_translated_and_the_command_is_not() -> None:
    libclang = libclang_mismatch()
    assert libclang.remediation is not None
    assert libclang.remediation.commands[-1] == (
        f"kdoctor fix   # {OPEN}persists the choice for kdoctor build{CLOSE}"
    )
    assert marked(libclang.summary) and marked(libclang.remediation.text)
    kbuild = classic_kbuild()
    assert kbuild.remediation is not None
    assert kbuild.remediation.commands == (
        f"touch {MOD}/.hello_world.rust.o.cmd",
        f"kdoctor fix   # {OPEN}rewrites the rule to use $(call if_changed,...){CLOSE}",
    )
    # modpost's own words in the summary are not kdoctor's to translate
    assert "`.hello_world.rust.o.cmd: No such file or directory`" in kbuild.summary
    assert marked(kbuild.summary) and marked(kbuild.remediation.text)


@pytest.mark.usefixtures("pseudo")
def test_a_passing_check_says_so_through_the_catalog() -> None:
    root = run_check(PrivilegesCheck(), make_context(is_root=True), FakeSystem())
    assert (root.status, root.summary) == (Status.OK, f"{OPEN}running as root{CLOSE}")
    assert root.facts == {"root": True, "sudo": "none"}  # JSON values stay English
    libclang = run_check(LibclangCheck(), make_context(), debian_12())
    assert libclang.status is Status.OK and marked(libclang.summary)
    os_ok = run_check(
        OsCheck(), make_context(), FakeSystem(programs={"apt-get": "/usr/bin/apt-get"})
    )
    assert os_ok.status is Status.OK and marked(os_ok.summary)


@pytest.mark.usefixtures("pseudo")
def test_a_refused_value_names_its_origin_in_words_and_in_english_json() -> None:
    system = FakeSystem(env={"CC": "gcc;reboot"})
    ctx = make_context(env={"CC": "gcc;reboot"})
    check = next(c for c in all_checks() if c.id == "build-tools")
    finding = check.refused(Facts(ctx, system))
    assert finding is not None and finding.status is Status.FAIL
    assert f"{OPEN}the environment{CLOSE}" in finding.summary
    [refused] = finding.facts["refused"]
    assert (refused["variable"], refused["value"], refused["origin"]) == (
        "CC",
        "gcc;reboot",
        "the environment",
    )


@pytest.mark.usefixtures("pseudo")
def test_lists_join_with_the_catalogs_conjunction() -> None:
    assert joined([]) == ""
    assert joined(["a"]) == "a"
    assert joined(["a", "b", "c"]) == f"{OPEN}{{first}} and {{last}}{CLOSE}".format(
        first="a, b", last="c"
    )


# -- Spanish ------------------------------------------------------------------------------------
def test_the_checks_speak_spanish() -> None:
    i18n.activate("es")
    finding = range_guard()
    assert finding.remediation is not None
    assert finding.remediation.text.startswith("Compile para un kernel en Linux < 6.0: ")
    assert (
        "Elija como destino un kernel dentro del rango: `kdoctor fix --kernel 5.10` descarga las "
        "cabeceras y la imagen del Linux 5.10 de Debian bullseye en la caché de kdoctor"
    ) in finding.remediation.text
    assert finding.remediation.commands == ("kdoctor fix --kernel 5.10",)
    assert "así que el script de compilación detiene la compilación" in finding.summary

    kbuild = classic_kbuild()
    assert kbuild.summary.startswith(
        "modpost se detendrá con `.hello_world.rust.o.cmd: No such file or directory`: "
        "Kbuild:14 compila hello_world.rust.o con `"
    )
    assert kbuild.remediation is not None
    assert kbuild.remediation.commands[-1] == (
        "kdoctor fix   # reescribe la regla para que use $(call if_changed,...)"
    )
    libclang = libclang_mismatch().remediation
    assert libclang is not None
    assert libclang.commands[-1] == "kdoctor fix   # guarda la elección para kdoctor build"
    root = run_check(PrivilegesCheck(), make_context(is_root=True), FakeSystem())
    assert root.summary == "ejecutándose como root"
    assert i18n._(ToolchainCheck.title) == "el toolchain de Rust con el que se compila el módulo"


def test_every_check_title_has_its_spanish() -> None:
    """Titles are class attributes marked with N_() and translated where they are shown."""
    i18n.activate("es")
    assert [c.id for c in all_checks() if i18n._(c.title) == c.title] == []


def test_english_is_unchanged_after_spanish() -> None:
    i18n.activate("es")
    i18n.activate("en")
    root = run_check(PrivilegesCheck(), make_context(is_root=True), FakeSystem())
    assert root.summary == "running as root"
    assert i18n._(ToolchainCheck.title) == "the Rust toolchain the module is built with"
