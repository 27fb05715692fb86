"""compat: the known-bad combinations table and the check that reports it before a build."""

from __future__ import annotations

from typing import Any, Optional

import pytest
from packaging.version import Version

from kdoctor.checks.compat import CompatCheck
from kdoctor.knowledge.compat import RULES, Combination, logical_text, matching
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.pipeline.planner import fix_of
from tests.conftest import KDIR, make_context, run_check
from tests.fake_system import FakeSystem

MODULE = "/src/hello-world"
SYSROOT = "/usr"
LIBRARY = "/usr/lib/rustlib/src/rust/library"
Z_HELP_NEW = "    -Z cf-protection=val -- x\n    -Z function-return=val -- x\n"
Z_HELP_163 = "    -Z cf-protection=val -- x\n"
GNU_LD = "GNU ld (GNU Binutils for Debian) {}\nCopyright (C) 2020\n"
# the link rule of hello-world's Kbuild before and after the Debian 11 fix
OLD_KBUILD = (
    "      cmd_rust_ld = \\\n"
    "\t$(LD) $(ld_flags) -r --gc-sections -T $(word 2,$^) -o $@ \\\n"
    "\t\t--whole-archive $<\n"
)
NEW_KBUILD = (
    "      cmd_rust_ld = \\\n"
    "\t$(LD) $(ld_flags) -r --gc-sections -u init_module -u cleanup_module \\\n"
    "\t\t-T $(word 2,$^) -o $@ --whole-archive $<\n"
)
OLD_MAKEFILE = "ifdef CONFIG_RETHUNK\nKRUST_FLAGS += -Zfunction-return=thunk-extern\nendif\n"
NEW_MAKEFILE = (
    "ifneq ($(CONFIG_RETHUNK)$(CONFIG_MITIGATION_RETHUNK),)\n"
    "KRUST_FLAGS += -Zfunction-return=thunk-extern\nendif\n"
    "KBINDGEN_FLAGS += --rust-target=1.63\n"
)


def machine(
    *,
    rustc: Optional[str] = "1.85.1",
    z_help: str = Z_HELP_NEW,
    bindgen: Optional[str] = "0.71.1",
    ld: Optional[str] = "2.44",
    config: str = "CONFIG_MODULES=y\n",
    kbuild: Optional[str] = NEW_KBUILD,
    makefile: Optional[str] = NEW_MAKEFILE,
) -> FakeSystem:
    programs: dict[str, str] = {}
    commands: dict[str, Any] = {}
    files = {f"{LIBRARY}/core/src/lib.rs": "", f"{LIBRARY}/alloc/src/lib.rs": ""}
    if rustc:
        programs["rustc"] = "/usr/bin/rustc"
        commands["/usr/bin/rustc --version"] = f"rustc {rustc}\n"
        commands["/usr/bin/rustc --print sysroot"] = f"{SYSROOT}\n"
        commands["/usr/bin/rustc -Z help"] = z_help
    if bindgen:
        programs["bindgen"] = "/usr/bin/bindgen"
        commands["/usr/bin/bindgen --version"] = f"bindgen {bindgen}\n"
    if ld:
        programs["ld"] = "/usr/bin/ld"
        commands["/usr/bin/ld --version"] = GNU_LD.format(ld)
    if config:
        files[f"{KDIR}/.config"] = config
    if kbuild is not None:
        files[f"{MODULE}/Kbuild"] = kbuild
    if makefile is not None:
        files[f"{MODULE}/Makefile"] = makefile
    return FakeSystem(programs=programs, commands=commands, files=files)


def run(system: FakeSystem, **ctx: Any) -> Finding:
    return run_check(CompatCheck(), make_context(rust_mode="distro", **ctx), system)


RULE_IDS = [
    "kernel-gcc-flags",
    "ld-gc-sections-root",
    "bindgen-unsafe-extern",
    "rethunk-rustc",
    "ibt-rustc",
    "mitigation-rename",
]


def facts(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "tools": {"rustc": "1.85.1", "bindgen": "0.71.1", "ld": "2.44"},
        "kernel": "6.1.0-56-amd64",
        "config": {},
        "module_files": True,
        "rules_checked": RULE_IDS,
        "matched": [],
    }
    base.update(changes)
    return base


def test_a_good_combination_passes_naming_what_it_compared() -> None:
    finding = run(machine())
    assert finding == Finding(
        id="compat",
        status=Status.OK,
        summary=(
            "no known-bad combination (rustc 1.85.1, bindgen 0.71.1, ld 2.44; Linux 6.1.0-56-amd64)"
        ),
        found="rustc 1.85.1, bindgen 0.71.1, ld 2.44",
        facts=facts(),
    )


def test_debian_11_ld_with_the_old_kbuild_fails_before_the_build() -> None:
    system = machine(rustc="1.48.0", z_help="", bindgen="0.55.1", ld="2.35.2", kbuild=OLD_KBUILD)
    finding = run(system)
    assert finding.status is Status.FAIL
    assert finding.summary == (
        "ld 2.35.2 rejects `ld -r --gc-sections` without a root on its command line "
        '("gc-sections requires either an entry or an undefined symbol"), and the module\'s '
        "Kbuild names none"
    )
    assert fix_of(finding) is None
    assert finding.remediation == Remediation(
        "Name the entry points on the link command in the module's Kbuild: "
        "`-u init_module -u cleanup_module` after `--gc-sections` (binutils before 2.36 "
        "ignores a linker script's EXTERN there)."
    )
    assert [m["id"] for m in finding.facts["matched"]] == ["ld-gc-sections-root"]
    assert finding.facts["tools"] == {"rustc": "1.48.0", "bindgen": "0.55.1", "ld": "2.35.2"}


def test_the_fixed_kbuild_passes_with_the_same_ld() -> None:
    system = machine(rustc="1.48.0", z_help="", bindgen="0.55.1", ld="2.35.2")
    assert run(system).status is Status.OK


def test_newer_ld_accepts_the_old_kbuild() -> None:
    assert run(machine(ld="2.40", kbuild=OLD_KBUILD)).status is Status.OK


def test_rethunk_kernel_and_a_rustc_without_function_return_warns() -> None:
    system = machine(rustc="1.63.0", z_help=Z_HELP_163, bindgen="0.60.1", ld="2.40")
    finding = run(system, target_kernel="6.1.0-56-amd64")
    assert finding.status is Status.OK  # no CONFIG_RETHUNK: nothing to lose
    system = machine(
        rustc="1.63.0", z_help=Z_HELP_163, bindgen="0.60.1", ld="2.40", config="CONFIG_RETHUNK=y\n"
    )
    finding = run(system)
    assert finding.status is Status.WARN
    assert finding.summary.startswith("rustc 1.63.0 has no -Zfunction-return: on this")
    assert finding.facts["config"] == {"CONFIG_RETHUNK": "y"}
    assert finding.facts["matched"] == [
        {
            "id": "rethunk-rustc",
            "status": "warn",
            "summary": finding.summary,
            "remedy": (
                "Build with a rustc that lists -Zfunction-return (1.76 or newer; on Debian 12 "
                "the rustc-web packages, kdoctor's default there)."
            ),
            "seen": (
                "rustc 1.48 with Linux 5.10 (Debian 11), rustc 1.63 with Linux 6.1 (Debian 12)"
            ),
        }
    ]


def test_ibt_kernel_and_old_rustc_warn_and_count_the_others() -> None:
    config = "CONFIG_X86_KERNEL_IBT=y\nCONFIG_MITIGATION_RETHUNK=y\n"
    finding = run(machine(rustc="1.48.0", z_help="", bindgen="0.55.1", config=config))
    assert finding.status is Status.WARN
    assert [m["id"] for m in finding.facts["matched"]] == ["rethunk-rustc", "ibt-rustc"]
    assert finding.summary.endswith("(+1 more)")
    assert finding.remediation is not None
    assert "-Zcf-protection (1.63 and newer do)" in finding.remediation.text


def test_bindgen_0_71_with_rustc_1_63_and_no_rust_target_fails() -> None:
    system = machine(rustc="1.63.0", z_help=Z_HELP_163, makefile=OLD_MAKEFILE)
    finding = run(system)
    assert finding.status is Status.FAIL
    assert finding.summary == (
        "bindgen 0.71.1 writes `unsafe extern` blocks that rustc 1.63.0 rejects (1.82 accepts "
        "them), and the module's build passes no --rust-target"
    )
    # the hello-world Makefile passes --rust-target
    assert run(machine(rustc="1.63.0", z_help=Z_HELP_163)).status is Status.OK


def test_a_makefile_that_only_knows_the_old_mitigation_names_warns_on_linux_6_9() -> None:
    config = "CONFIG_MITIGATION_RETPOLINE=y\nCONFIG_MITIGATION_RETHUNK=y\n"
    finding = run(machine(config=config, makefile=OLD_MAKEFILE + "--rust-target"))
    assert finding.status is Status.WARN
    assert [m["id"] for m in finding.facts["matched"]] == ["mitigation-rename"]
    assert run(machine(config=config)).status is Status.OK
    old_names = machine(config="CONFIG_RETHUNK=y\n", makefile=OLD_MAKEFILE + "--rust-target")
    assert run(old_names).status is Status.OK


def test_a_fresh_machine_has_nothing_to_compare_yet() -> None:
    system = machine(rustc=None, bindgen=None, ld=None, config="")
    assert run(system) == Finding(
        id="compat",
        status=Status.SKIP,
        summary=(
            "nothing to compare yet: no rustc, bindgen or ld, and no kernel configuration "
            f"in {KDIR}"
        ),
        facts=facts(tools={"rustc": None, "bindgen": None, "ld": None}),
        required=False,
    )


def test_an_lld_kernel_is_not_judged_by_gnu_ld_rules() -> None:
    config = "CONFIG_LD_IS_LLD=y\n"
    system = machine(ld="2.35.2", kbuild=OLD_KBUILD, config=config)
    del system.commands["/usr/bin/ld --version"]  # not to be asked
    finding = run(system)
    assert finding.status is Status.OK
    assert finding.facts["tools"]["ld"] is None


def test_unknown_facts_never_match() -> None:
    combo = Combination(tools={"rustc": None, "ld": None}, config={"CONFIG_RETHUNK": "y"})
    assert matching(combo) == []


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_rule_says_where_it_was_seen_and_what_to_do(rule: Any) -> None:
    assert rule.seen and rule.remedy.endswith(".")
    assert rule.describe(Combination(tools={"rustc": Version("1.48")})).count("{") == 0


def test_logical_text_joins_continued_lines() -> None:
    # as make joins them (kdoctor.knowledge.make_text): the backslash, the newline and the
    # whitespace around them become one space; each file's lines follow the last one's
    assert logical_text("a \\\n\tb\nc\n", "d") == "a b\nc\nd"
