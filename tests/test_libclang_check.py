from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Optional

from kdoctor.checks.clang import ClangCheck
from kdoctor.checks.libclang import LibclangCheck
from kdoctor.facts.libclang import parse_ldconfig
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import Package
from kdoctor.pipeline.planner import fix_of
from tests.conftest import make_context, run_check
from tests.fake_system import Answer, FakeSystem

CLANG_14 = "Debian clang version 14.0.6\nTarget: x86_64-pc-linux-gnu\n"
LLVM_14 = "/usr/lib/llvm-14/lib"
LLVM_18 = "/usr/lib/llvm-18/lib"
# what Debian 12's libclang-14-dev and libclang1-14 put in the LLVM directory
LLVM_14_FILES = ["libLLVM-14.so", "libclang-14.so.1", "libclang-cpp.so.14", "libclang.so.1"]
LDCONFIG_DEBIAN = (
    "1024 libs found in cache `/etc/ld.so.cache'\n"
    "\tlibclang-cpp.so.14 (libc6,x86-64) => /lib/x86_64-linux-gnu/libclang-cpp.so.14\n"
    "\tlibclang-14.so.13 (libc6,x86-64) => /lib/x86_64-linux-gnu/libclang-14.so.13\n"
    "\tlibclang-14.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libclang-14.so.1\n"
    "\tlibc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6\n"
)


def machine(
    *,
    programs: Optional[Mapping[str, str]] = None,
    commands: Optional[Mapping[str, Answer]] = None,
    dirs: Optional[Mapping[str, Sequence[str]]] = None,
    clang: Optional[str] = CLANG_14,
) -> FakeSystem:
    all_programs = {"clang": "/usr/bin/clang"} if clang else {}
    all_programs.update(programs or {})
    answers: dict[str, Answer] = {"/usr/bin/clang --version": clang} if clang else {}
    return FakeSystem(programs=all_programs, maybe=answers, commands=commands, dirs=dirs)


def debian_12(**extra: object) -> FakeSystem:
    """clang 14 with llvm-config, the loader cache and /usr/lib/llvm-14 (this machine)."""
    return machine(
        programs={"llvm-config": "/usr/bin/llvm-config", "ldconfig": "/sbin/ldconfig"},
        commands={
            "/usr/bin/llvm-config --libdir": LLVM_14 + "\n",
            "/usr/bin/llvm-config --version": "14.0.6\n",
            "/sbin/ldconfig -p": LDCONFIG_DEBIAN,
        },
        dirs={LLVM_14: LLVM_14_FILES, "/usr/lib": ["llvm-14", "x86_64-linux-gnu"]},
    )


def run(system: FakeSystem, **ctx: object) -> Finding:
    return run_check(LibclangCheck(), make_context(**ctx), system)


def test_debian_12_libclang_from_llvm_config_matches_clang() -> None:
    assert run(debian_12()) == Finding(
        id="libclang",
        status=Status.OK,
        summary="libclang 14 (via llvm-config), same major as clang 14",
        found="14 (/usr/lib/llvm-14/lib/libclang-14.so.1)",
        facts={
            "path": "/usr/lib/llvm-14/lib/libclang-14.so.1",
            "dir": LLVM_14,
            "version": "14",
            "clang_major": 14,
            "source": "llvm-config",
            "candidate": None,
            "missing": [],
        },
    )


def test_clang_probe_is_the_one_the_clang_check_runs() -> None:
    system = debian_12()
    run_check(ClangCheck(), make_context(), system)
    run(system)
    clang_calls = [c for c in system.calls if c[0] == "/usr/bin/clang"]
    assert clang_calls == [("/usr/bin/clang", "--version")] * 2  # one cache key for both


def test_libclang_path_directory_is_the_only_place_looked_at() -> None:
    system = machine(dirs={"/opt/llvm/lib": ["libclang.so", "libclang.so.14.0.6"]})
    finding = run(system, env={"LIBCLANG_PATH": "/opt/llvm/lib/"})
    assert finding.status is Status.OK
    assert finding.summary == "libclang 14.0.6 (via LIBCLANG_PATH), same major as clang 14"
    assert finding.facts["path"] == "/opt/llvm/lib/libclang.so.14.0.6"
    assert finding.facts["source"] == "LIBCLANG_PATH"
    assert finding.facts["dir"] == "/opt/llvm/lib"
    assert system.calls == [("/usr/bin/clang", "--version")]  # no llvm-config, no ldconfig


def test_libclang_path_naming_the_file() -> None:
    system = machine(dirs={LLVM_14: LLVM_14_FILES})
    finding = run(system, env={"LIBCLANG_PATH": f"{LLVM_14}/libclang.so.1"})
    assert finding.status is Status.OK
    assert finding.facts["path"] == f"{LLVM_14}/libclang.so.1"
    assert finding.facts["version"] == "14"  # from the llvm-14 directory


def test_libclang_path_without_libclang_points_at_the_one_found_elsewhere() -> None:
    system = debian_12()
    system.dirs["/empty"] = ["README"]
    finding = run(system, env={"LIBCLANG_PATH": "/empty"})
    assert finding.status is Status.FAIL
    assert finding.summary == "LIBCLANG_PATH=/empty holds no libclang (bindgen looks only there)"
    assert fix_of(finding) is None
    assert finding.remediation == Remediation(
        "Point LIBCLANG_PATH at a directory holding libclang, or unset it "
        "(bindgen would then load /usr/lib/llvm-14/lib/libclang-14.so.1).",
        ("export LIBCLANG_PATH=/usr/lib/llvm-14/lib",),
    )
    assert finding.facts["candidate"] == LLVM_14
    assert finding.facts["path"] is None
    assert finding.facts["missing"] == []


def test_libclang_path_without_libclang_and_none_elsewhere_installs_it() -> None:
    finding = run(machine(), env={"LIBCLANG_PATH": "/nowhere"}, is_root=False)
    assert finding.status is Status.FAIL
    assert fix_of(finding) == "packages"
    assert finding.remediation == Remediation(
        "Install libclang, then unset LIBCLANG_PATH or point it at libclang.",
        ("sudo apt-get install -y --no-install-recommends libclang-dev", "unset LIBCLANG_PATH"),
    )
    assert finding.facts["missing"] == ["libclang"]


def test_no_libclang_anywhere_fails_with_the_package() -> None:
    assert run(machine()) == Finding(
        id="libclang",
        status=Status.FAIL,
        summary="libclang is not installed (bindgen cannot parse headers without it)",
        remediation=Remediation(
            "Install libclang (the package with libclang.so).",
            ("apt-get install -y --no-install-recommends libclang-dev",),
        ),
        needs=(Package("libclang", ("libclang-dev",)),),
        facts={
            "path": None,
            "dir": None,
            "version": None,
            "clang_major": 14,
            "source": None,
            "candidate": None,
            "missing": ["libclang"],
        },
    )


def test_loader_cache_alone_is_enough() -> None:
    system = machine(
        programs={"ldconfig": "/sbin/ldconfig"},
        commands={"/sbin/ldconfig -p": LDCONFIG_DEBIAN},
    )
    finding = run(system)
    assert finding.status is Status.OK
    assert finding.facts["source"] == "ldconfig"
    assert finding.facts["path"] == "/lib/x86_64-linux-gnu/libclang-14.so.13"
    assert finding.facts["version"] == "14"


def test_ldconfig_in_sbin_is_found_off_path() -> None:
    system = machine(commands={"/usr/sbin/ldconfig -p": LDCONFIG_DEBIAN})
    system.files["/usr/sbin/ldconfig"] = ""
    system.programs["/usr/sbin/ldconfig"] = "/usr/sbin/ldconfig"  # executable, not on PATH
    finding = run(system)
    assert finding.status is Status.OK
    assert finding.facts["source"] == "ldconfig"


def test_parse_ldconfig_keeps_libclang_of_this_architecture() -> None:
    text = (
        "\tlibclang.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libclang.so.1\n"
        "\tlibclang.so.18.1 (libc6,x86-64) => /usr/lib64/libclang.so.18.1\n"
        "\tlibclang-14.so.1 (libc6) => /usr/lib/i386-linux-gnu/libclang-14.so.1\n"
        "\tlibclang-cpp.so.18.1 (libc6,x86-64) => /usr/lib64/libclang-cpp.so.18.1\n"
        "\tlibclangBasic.a (libc6,x86-64) => /usr/lib64/libclangBasic.a\n"
        "garbage line\n"
    )
    assert parse_ldconfig(text, "x86_64") == [
        "/usr/lib/x86_64-linux-gnu/libclang.so.1",
        "/usr/lib64/libclang.so.18.1",
    ]
    assert parse_ldconfig(text, "riscv64") == [
        "/usr/lib/x86_64-linux-gnu/libclang.so.1",
        "/usr/lib64/libclang.so.18.1",
        "/usr/lib/i386-linux-gnu/libclang-14.so.1",
    ]


def test_bindgen_loads_the_newest_so_a_second_llvm_shadows_clangs() -> None:
    system = debian_12()
    system.dirs[LLVM_18] = ["libclang-18.so.18", "libclang.so.1"]
    system.dirs["/usr/lib"] = ["llvm-14", "llvm-18"]
    finding = run(system)
    assert finding.status is Status.WARN
    assert finding.summary == (
        "bindgen would load libclang 18 but clang is 14: headers are parsed by a different "
        "clang than the one that compiles them"
    )
    assert fix_of(finding) == "settings"
    assert finding.remediation == Remediation(
        "Point bindgen at libclang 14 with LIBCLANG_PATH.",
        (
            "export LIBCLANG_PATH=/usr/lib/llvm-14/lib",
            "kdoctor fix   # persists the choice for kdoctor build",
        ),
    )
    assert finding.facts["path"] == f"{LLVM_18}/libclang-18.so.18"
    assert finding.facts["source"] == "search"
    assert finding.facts["candidate"] == LLVM_14


def test_only_a_different_major_installs_the_matching_libclang() -> None:
    system = machine(dirs={"/usr/lib": ["llvm-18"], LLVM_18: ["libclang-18.so.18"]})
    finding = run(system)
    assert finding.status is Status.WARN
    assert fix_of(finding) == "packages"
    assert finding.remediation == Remediation(
        "Install libclang 14, then point bindgen at it with LIBCLANG_PATH "
        "(or use clang 18 for the whole build).",
        ("apt-get install -y --no-install-recommends libclang-14-dev",),
    )
    assert finding.facts["missing"] == ["libclang-n"]
    assert finding.facts["package_values"] == {"n": 14}
    assert finding.facts["clang_major"] == 14


def test_versioned_llvm_config_and_its_version_when_names_say_nothing() -> None:
    system = machine(
        programs={"llvm-config-17": "/usr/bin/llvm-config-17"},
        commands={
            "/usr/bin/llvm-config-17 --libdir": "/opt/llvm/lib\n",
            "/usr/bin/llvm-config-17 --version": "17.0.6\n",
            "/usr/bin/clang --version": "clang version 17.0.6\n",
        },
        dirs={"/usr/bin": ["clang", "llvm-config-17"], "/opt/llvm/lib": ["libclang.so"]},
    )
    finding = run(system)
    assert finding.status is Status.OK
    assert finding.summary == "libclang 17.0.6 (via llvm-config), same major as clang 17"
    assert finding.facts["path"] == "/opt/llvm/lib/libclang.so"


def test_fedora_layout_found_by_searching() -> None:
    system = machine(
        commands={"/usr/bin/clang --version": "clang version 18.1.8 (Fedora 18.1.8-1.fc40)\n"},
        dirs={"/usr/lib64": ["libclang-cpp.so.18.1", "libclang.so.18.1", "libclang.so.18"]},
    )
    finding = run(system)
    assert finding.status is Status.OK
    assert finding.facts["path"] == "/usr/lib64/libclang.so.18.1"
    assert finding.facts["version"] == "18.1"


def test_version_unknown_is_still_ok() -> None:
    finding = run(machine(dirs={"/usr/lib64": ["libclang.so"]}))
    assert finding.status is Status.OK
    assert finding.summary == "libclang found via search, its version is not in its name"
    assert finding.facts["version"] is None
    assert finding.found == "? (/usr/lib64/libclang.so)"


def test_without_clang_the_pairing_is_not_judged() -> None:
    finding = run(machine(clang=None, dirs={"/usr/lib": ["llvm-18"], LLVM_18: ["libclang.so.1"]}))
    assert finding.status is Status.OK
    assert finding.summary == "libclang 18 (via search)"
    assert finding.facts["clang_major"] is None


def test_clang_chosen_by_env_is_the_one_compared() -> None:
    system = debian_12()
    system.programs["clang-18"] = "/usr/bin/clang-18"
    system.commands["/usr/bin/clang-18 --version"] = "Debian clang version 18.1.8\n"
    finding = run(system, env={"CLANG": "clang-18"})
    assert finding.status is Status.WARN
    assert finding.facts["clang_major"] == 18
    assert fix_of(finding) == "packages"
    assert finding.remediation is not None
    assert finding.remediation.commands == (
        "apt-get install -y --no-install-recommends libclang-18-dev",
    )
