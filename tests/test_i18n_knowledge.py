"""kdoctor's knowledge speaks through the catalogs: under a pseudo-locale that brackets every
translated message, each sentence the knowledge layer makes for a person (build-failure
explanations, refused values, failed steps, known-bad combinations, ...) comes out bracketed
whole, so an unmarked sentence added to kdoctor/knowledge fails here. And the Spanish catalog
answers for them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from packaging.version import Version

from kdoctor import i18n
from kdoctor.checks.base import select
from kdoctor.facts import Facts
from kdoctor.knowledge import (
    build_errors,
    cargo,
    commands,
    compat,
    compiler_family,
    elf,
    kernel_range,
    packages,
    rust_for_linux,
    safe_values,
    step_errors,
)
from kdoctor.knowledge.build_errors import explain
from kdoctor.model.need import Package
from tests.conftest import make_context
from tests.fake_system import FakeSystem
from tests.i18n_support import OPEN, whole
from tests.kmod import elf as elf_file
from tests.kmod import kernel_module

LOGS = Path(__file__).parent / "data" / "build_logs"


# -- build failures -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(p.stem for p in LOGS.glob("*.log")))
def test_every_captured_build_log_is_explained_in_the_active_language(
    pseudo: None, name: str
) -> None:
    explanations = explain((LOGS / f"{name}.log").read_text())
    assert explanations, f"{name} is not recognised"
    said = [(e.id, t) for e in explanations for t in (e.cause, e.remedy) if not whole(t)]
    assert said == []
    # the evidence is the log's own line, quoted as it is
    assert all(OPEN not in e.evidence for e in explanations)


#: a log line each explainer recognises (several for the explainers whose sentence varies)
SAMPLES = (
    "/src/.hello.rust.o.cmd: No such file or directory",
    'ERROR: modpost: "rust_begin_unwind" [/src/hello.ko] undefined!',
    "ERROR: modpost: missing MODULE_LICENSE() in /src/hello.o",
    "  CC [M]  /src/hello.mod.o\nclang: error: unknown argument: '-mrecord-mcount'",
    "error: unknown argument: '-mrecord-mcount'",
    "clang: error: unsupported option '-mfentry' for target",
    "thread 'main' panicked at 'Unable to find libclang: nothing'",
    "error: rustup could not choose a version of cargo to run, because one wasn't specified",
    "error: no such command: `xbuild`",
    'error: could not find specification for target "x86_64-linux-kernel"',
    "error: error loading target specification: custom targets are unstable and require "
    "`-Zunstable-options`",
    "error: error loading target specification: unknown field `eliminate-frame-pointer`",
    'target file "./rust/target.json" does not exist',
    'error: unknown key "author". Valid keys are: ["type", "name", "authors"].',
    "kdoctor: make exited 0, but kbuild never ran and /src/m.ko is from an earlier build",
    "error[E0463]: can't find crate for `core`",
    "error: Error loading target specification: Could not find specification",
    "make: Entering directory '/src'\nmake: *** No targets specified and no makefile found.  Stop.",
    "make: *** No targets.  Stop.",
    "make[1]: *** /lib/modules/6.18.0/build: No such file or directory.  Stop.",
    "make[2]: *** No rule to make target 'missing.o', needed by 'hello.o'.  Stop.",
    "make[2]: *** No rule to make target 'missing.o'.  Stop.",
    "error[E0308]: mismatched types\n --> src/lib.rs:1:21",
    "error[E0308]: mismatched types",
    "error: failed to get `foo` as a dependency of package `bar`\n\nCaused by:\n  no such file",
    "error: failed to get `foo` as a dependency of package `bar`",
)


def test_every_build_failure_explainer_speaks_through_the_catalogs(pseudo: None) -> None:
    makers = {make for _pattern, make in build_errors._PATTERNS}
    used = set()
    for sample in SAMPLES:
        for pattern, make in build_errors._PATTERNS:
            match = pattern.search(sample)
            if match:
                used.add(make)
                explanation = make(match, sample)
                assert whole(explanation.cause), (sample, explanation.cause)
                assert whole(explanation.remedy), (sample, explanation.remedy)
    assert makers - used == set(), "an explainer with no sample here: add one to SAMPLES"


# -- refused values -----------------------------------------------------------------------------
@pytest.mark.parametrize("char", [*safe_values._SYNTAX, "\n", "\x7f", " "])
def test_every_reason_to_refuse_a_value_is_translated(pseudo: None, char: str) -> None:
    reason = safe_values.unsafe_reason(f"/opt/a{char}b")
    assert whole(reason)
    if char in safe_values._SYNTAX:  # the effect inside the sentence is translated too
        assert reason is not None and f"{OPEN}{OPEN}" not in reason and reason.count(OPEN) == 2


@pytest.mark.parametrize("name", ["CC", "KDIR", safe_values.MODULE_DIRECTORY])
def test_a_refused_value_is_described_and_remedied_in_the_active_language(
    pseudo: None, name: str
) -> None:
    for origin in ("", "the environment"):
        described = safe_values.describe(name, "/a;b", "it contains ';'", origin)
        assert whole(described) and "/a;b" in described
    remedy = safe_values.remedy(name)
    assert whole(remedy) and f"({OPEN}" in remedy  # the allowed characters, translated
    assert safe_values.remedy("CC") != safe_values.remedy("KDIR")  # words allowed in CC


def test_the_owning_check_refuses_a_value_in_the_active_language(pseudo: None) -> None:
    env = {"CLANG": "clang;reboot"}
    [owner] = select(["clang"])
    finding = owner.refused(Facts(make_context(env=env), FakeSystem(env=env)))
    assert finding is not None and finding.remediation is not None
    assert whole(finding.summary) and "CLANG='clang;reboot'" in finding.summary
    assert whole(finding.remediation.text)


# -- failed steps -------------------------------------------------------------------------------
STEP_OUTPUTS = (
    ("E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to fix", "apt-get"),
    ("E: Could not get lock /var/lib/dpkg/lock-frontend", "apt-get install -y clang"),
    (
        "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 42",
        "apt-get install -y clang",
    ),
    (
        "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 42 (apt)",
        "apt-get install -y clang",
    ),
    ("Temporary failure resolving 'deb.debian.org'", "apt-get update"),
    ("W: Network is unreachable", "apt-get update"),
    ("E: Package 'clang-99' has no installation candidate", "apt-get install -y clang-99"),
    ("error: could not download file from 'https://static.rust-lang.org/x'", "rustup update"),
    (
        "error: could not download file",
        "rustup toolchain install nightly-2021-02-12 --profile minimal",
    ),
)


@pytest.mark.parametrize(("output", "display"), STEP_OUTPUTS)
def test_every_failed_step_is_explained_in_the_active_language(
    pseudo: None, output: str, display: str
) -> None:
    assert whole(step_errors.explain_step_failure(output, display))


# -- known-bad combinations, compilers, targets, ranges, kernels --------------------------------
@pytest.mark.parametrize("rule", compat.RULES, ids=lambda r: r.id)
def test_every_known_bad_combination_is_told_in_the_active_language(
    pseudo: None, rule: compat.Rule
) -> None:
    combo = compat.Combination(tools={"rustc": Version("1.63"), "gcc": Version("12.2")})
    assert whole(rule.describe(combo)) and whole(rule.remedy) and whole(rule.seen)
    shown = rule.to_json(combo)
    assert all(whole(shown[k]) for k in ("summary", "remedy", "seen"))
    assert shown["id"] == rule.id and OPEN not in shown["status"]


def test_how_a_build_file_forces_a_compiler_is_translated(pseudo: None) -> None:
    passed = compiler_family.read_overrides(
        "Makefile", "all:\n\t$(MAKE) -C $(KDIR) M=$(PWD) CC=clang\n", read_by_kbuild=False
    )
    assigned = compiler_family.read_overrides("Kbuild", "CC = clang\n", read_by_kbuild=True)
    exported = compiler_family.read_overrides("Makefile", "export LLVM=1\n", read_by_kbuild=False)
    hows = [o.how for o in (*passed, *assigned, *exported)]
    assert len(hows) == 3 and all(whole(h) for h in hows)
    assert "Kbuild" in hows[1]
    assert passed[0].to_json()["variable"] == "CC"  # what code reads stays as it is


def test_gone_targets_and_renamed_fields_are_told_in_the_active_language(pseudo: None) -> None:
    assert all(whole(t.fate) for t in cargo.GONE_TARGETS.values())
    assert all(whole(v) for v in cargo.RENAMED_SPEC_FIELDS.values())
    assert whole(cargo.RENAMED_SPEC_FIELDS.get("eliminate-frame-pointer"))
    assert cargo.RENAMED_SPEC_FIELDS.get("no-such-field") is None
    assert "eliminate-frame-pointer" in cargo.RENAMED_SPEC_FIELDS


def test_ranges_kernels_and_rust_for_linux_options_are_translated(pseudo: None) -> None:
    assert whole(kernel_range.KernelRange().describe())
    bounded = kernel_range.KernelRange(low=kernel_range.Bound((6, 0, 0), True))
    assert bounded.describe() == "Linux >= 6.0"  # numbers, not a sentence
    for release in ("5.15.90.1-microsoft-standard-WSL2", "5.10.0-fc-1", "6.8.0+"):
        assert whole(packages.unpackaged_kernel(release))
    assert packages.unpackaged_kernel("6.1.0-56-amd64") is None
    for distro in ("debian", "fedora"):
        text = rust_for_linux.options_text(distro, "/usr/share/kdoctor/hello-world")
        assert whole(text) and text.count(OPEN) == 2  # the clause about stock kernels too


def test_an_install_without_a_known_package_manager_is_told_in_words(pseudo: None) -> None:
    shown = commands.install_shown(None, [Package("clang-15", ())], is_root=True)
    assert whole(shown) and "clang-15" in shown
    # a real command stays a command
    argv = commands.install_shown("apt", [Package("clang", ("clang",))], is_root=True)
    assert OPEN not in argv


@pytest.mark.parametrize(
    "data",
    [
        b"not an elf at all" * 8,
        b"\x7fELF" + bytes([9, 9]) + bytes(120),
        elf_file({".text": b"\xc3"}, e_type=2),
        elf_file({".text": b"\xc3"}, e_type=3),
        elf_file({".text": b"\xc3"}, e_type=4),
        elf_file({".text": b"\xc3"}, e_type=7),
        elf_file({".text": b"\xc3"})[:-64],
        elf_file({".text": b"\xc3"}),
    ],
)
def test_why_a_file_is_no_kernel_module_is_translated(pseudo: None, data: bytes) -> None:
    assert whole(elf.module_problem(data))


def test_a_kernel_module_has_no_problem_to_tell(pseudo: None) -> None:
    assert elf.module_problem(kernel_module(b"license=GPL\0")) is None


# -- the Spanish catalog ------------------------------------------------------------------------
def test_the_knowledge_speaks_spanish(spanish: None) -> None:
    [xbuild] = explain((LOGS / "cargo-no-xbuild.log").read_text())[:1]
    assert xbuild.cause.startswith("cargo no tiene el subcomando `xbuild`")
    assert xbuild.remedy.startswith("Instale cargo-xbuild para el toolchain del módulo")
    assert xbuild.id == "cargo-subcommand"  # ids stay as they are
    assert safe_values.unsafe_reason("a;b") == (
        "contiene ';': el shell ejecuta otro comando después de él"
    )
    assert safe_values.describe("CC", "a;b", "x", "KDOCTOR_CC") == (
        "CC='a;b' (de KDOCTOR_CC) se rechaza: x"
    )
    assert kernel_range.KernelRange().describe() == "cualquier kernel"
    [ibt] = [r for r in compat.RULES if r.id == "ibt-rustc"]
    assert (
        ibt.remedy
        == "Compile con un rustc que incluya -Zcf-protection (la 1.63 y posteriores lo incluyen)."
    )
    assert ibt.describe(compat.Combination(tools={"rustc": Version("1.48")})).startswith(
        "rustc 1.48 no tiene -Zcf-protection"
    )
    lock = step_errors.explain_step_failure(
        "Could not get lock /var/lib/dpkg/lock. It is held by process 7 (apt)", "apt-get"
    )
    assert lock is not None and lock.startswith(
        "Otro gestor de paquetes tiene el bloqueo (proceso 7, apt)"
    )
    assert re.search(r"^es un ejecutable", elf.module_problem(elf_file({}, e_type=2)) or "")
    i18n.activate("en")
    assert kernel_range.KernelRange().describe() == "any kernel"
