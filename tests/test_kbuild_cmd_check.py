from __future__ import annotations

from typing import Optional

import pytest

from kdoctor.checks.kbuild_cmd import KbuildCmdCheck
from kdoctor.facts.kbuild import cmd_file_for, objects_without_cmd, parse_kbuild
from kdoctor.knowledge.kernel_release import kdir_uts_release
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.pipeline.planner import fix_of
from tests.conftest import KDIR, make_context, run_check
from tests.fake_system import FakeSystem

MOD = "/src/hello-world"
CMD = f"{MOD}/.hello_world.rust.o.cmd"
WHY_61 = (
    "Linux 6.1.192 modpost reads symbol CRCs from every member object's .cmd file "
    "(CONFIG_MODVERSIONS=y, Linux 5.19+)"
)

# the classic out-of-tree layout: cargo builds a staticlib, a hand-written rule links it into
# the one member object with ld, never telling kbuild what it ran
CLASSIC = """\
obj-m := helloworld.o
helloworld-objs := hello_world.rust.o

ifndef CONFIG_RUST
CARGO ?= cargo
export c_flags

$(src)/target/x86_64-linux-kernel/debug/libhello_world.a: cargo_will_determine_dependencies
\tcd $(src); $(CARGO) build -Z build-std=core,alloc \\
\t\t--target=x86_64-linux-kernel

.PHONY: cargo_will_determine_dependencies

%.rust.o: target/x86_64-linux-kernel/debug/lib%.a
\t$(LD) -r -o $@ --whole-archive $<
endif
"""

# the same module going through kbuild: the command is recorded in .hello_world.rust.o.cmd
IF_CHANGED = """\
obj-m := helloworld.o
helloworld-objs := hello_world.rust.o
targets += hello_world.rust.o

quiet_cmd_link_rust = LD [M]  $@
      cmd_link_rust = $(LD) $(ld_flags) -r -o $@ --whole-archive $<

$(obj)/hello_world.rust.o: $(obj)/target/release/libhello_world.a FORCE
\t$(call if_changed,link_rust)
"""

CMD_ONLY = """\
obj-m := helloworld.o
helloworld-objs := hello_world.rust.o
cmd_link_rust = $(LD) -r -o $@ --whole-archive $<

$(obj)/hello_world.rust.o: $(obj)/libhello_world.a
\t$(call cmd,link_rust)
"""

TOUCHES = """\
obj-m := helloworld.o
helloworld-objs := hello_world.rust.o

$(obj)/%.rust.o: $(obj)/lib%.a
\t$(LD) -r -o $@ --whole-archive $<
\ttouch $(obj)/.hello_world.rust.o.cmd
"""


def kernel(
    release: str = "6.1.192",
    config: str = "CONFIG_MODVERSIONS=y\n# CONFIG_MODULE_SRCVERSION_ALL is not set\n",
    makefile_build: Optional[str] = None,
) -> dict[str, str]:
    files = {
        f"{KDIR}/Makefile": "include /usr/src/linux-headers-6.1.0-56-common/Makefile\n",
        f"{KDIR}/.config": config,
        f"{KDIR}/Module.symvers": "",
        f"{KDIR}/scripts/mod/modpost": "ELF",
        f"{KDIR}/include/generated/autoconf.h": "",
    }
    if release:
        files[f"{KDIR}/include/config/kernel.release"] = release + "\n"
    if makefile_build is not None:
        files[f"{KDIR}/scripts/Makefile.build"] = makefile_build
    return files


def machine(
    module: dict[str, str], kfiles: Optional[dict[str, str]] = None, **dirs: list[str]
) -> FakeSystem:
    files = dict(kernel() if kfiles is None else kfiles)
    files.update({f"{MOD}/{name}": text for name, text in module.items()})
    return FakeSystem(
        programs={"modpost": f"{KDIR}/scripts/mod/modpost"},
        files=files,
        dirs={f"{MOD}/{d}" if d != "root" else MOD: names for d, names in dirs.items()},
    )


def run(system: FakeSystem, **ctx: object) -> Finding:
    return run_check(KbuildCmdCheck(), make_context(module_dir=MOD, **ctx), system)


def test_classic_kbuild_on_debian_6_1_fails_naming_object_rule_and_both_remedies() -> None:
    finding = run(machine({"Kbuild": CLASSIC}))
    recipe = "$(LD) -r -o $@ --whole-archive $<"
    assert finding.status is Status.FAIL
    assert finding.summary == (
        "modpost will stop with `.hello_world.rust.o.cmd: No such file or directory`: "
        f"Kbuild:14 builds hello_world.rust.o with `{recipe}`, not $(call if_changed,...)"
    )
    assert fix_of(finding) == "kbuild-cmd"
    assert finding.found == "Kbuild"
    assert finding.remediation == Remediation(
        f"{WHY_61}. Either rewrite the rule at Kbuild:14 to go through kbuild (put its command "
        "in cmd_<name>, run it with $(call if_changed,<name>), add FORCE to its prerequisites "
        "and `targets += hello_world.rust.o`), or create the missing file before each build "
        "(make clean deletes it again).",
        (f"touch {CMD}", "kdoctor fix   # rewrites the rule to use $(call if_changed,...)"),
    )
    facts = finding.facts
    assert facts["kernel_reads_cmd"] is True
    assert facts["kernel_version"] == "6.1.192"
    assert facts["object"] == "hello_world.rust.o"
    assert facts["file"] == f"{MOD}/Kbuild"
    assert facts["line"] == 14
    assert facts["recipe"] == [recipe]
    assert facts["cmd_file"] == CMD
    assert facts["modules"] == {"helloworld": ["hello_world.rust.o"]}
    assert facts["objects"] == [
        {
            "module": "helloworld",
            "object": "hello_world.rust.o",
            "file": f"{MOD}/Kbuild",
            "line": 14,
            "end_line": 15,
            "targets": ["%.rust.o"],
            "prerequisites": ["target/x86_64-linux-kernel/debug/lib%.a"],
            "recipe": [recipe],
            "uses_cmd_only": False,
            "cmd_file": CMD,
            "touched_in": None,
        }
    ]


def test_makefile_is_read_when_there_is_no_kbuild() -> None:
    makefile = (
        "obj-m := helloworld.o\nhelloworld-objs := hello_world.rust.o\n"
        "KDIR ?= /lib/modules/$(shell uname -r)/build\n\n"
        "%.rust.o: target/x86_64-linux-kernel-module/debug/lib%.a\n"
        "\t$(LD) -r -o $@ --whole-archive $<\n\n"
        "all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR)\n"
    )
    finding = run(machine({"Makefile": makefile}))
    assert finding.status is Status.FAIL
    assert finding.facts["file"] == f"{MOD}/Makefile"
    assert finding.facts["line"] == 5
    assert "Makefile:5 builds hello_world.rust.o" in finding.summary


def test_rule_through_if_changed_passes() -> None:
    finding = run(machine({"Kbuild": IF_CHANGED}))
    assert finding == Finding(
        id="kbuild-cmd",
        status=Status.OK,
        summary="the 1 member object of helloworld.ko is built through kbuild, "
        "so it gets its .cmd file",
        found="Kbuild",
        facts={
            "kdir": KDIR,
            "kernel_version": "6.1.192",
            "kernel_reads_cmd": True,
            "reason": WHY_61,
            "kbuild": f"{MOD}/Kbuild",
            "modules": {"helloworld": ["hello_world.rust.o"]},
            "objects": [],
            "object": None,
            "file": None,
            "line": None,
            "recipe": None,
            "cmd_file": None,
            "touched": [],
            "outside": [],
            "evaluated_by": "text",
            "kbuild_note": "make is not installed; read without make (every conditional "
            "branch counts)",
        },
    )


def test_call_cmd_runs_the_command_but_records_nothing() -> None:
    finding = run(machine({"Kbuild": CMD_ONLY}))
    assert finding.status is Status.FAIL
    assert finding.summary.endswith(
        "Kbuild:5 builds hello_world.rust.o with $(call cmd,...), which records nothing, "
        "not $(call if_changed,...)"
    )
    assert finding.facts["objects"][0]["uses_cmd_only"] is True


def test_rule_that_touches_the_cmd_file_itself_is_a_workaround_warning() -> None:
    finding = run(machine({"Kbuild": TOUCHES}))
    assert finding.status is Status.WARN
    assert finding.summary.startswith(
        "hello_world.rust.o gets .hello_world.rust.o.cmd only from a `touch` in Kbuild"
    )
    assert "rebuilds are not tracked" in finding.summary
    assert finding.facts["objects"] == []
    assert [t["object"] for t in finding.facts["touched"]] == ["hello_world.rust.o"]
    assert finding.remediation is not None and "if_changed" in finding.remediation.text
    assert finding.needs == ()  # kdoctor fix does not claim to repair it


def test_existing_cmd_file_only_postpones_the_failure() -> None:
    system = machine({"Kbuild": CLASSIC, ".hello_world.rust.o.cmd": ""})
    finding = run(system)
    assert finding.status is Status.WARN
    assert finding.summary == (
        "hello_world.rust.o links only because .hello_world.rust.o.cmd already exists "
        "(Kbuild:14 does not use $(call if_changed,...)); make clean deletes it and modpost "
        "then stops"
    )
    assert fix_of(finding) == "kbuild-cmd"
    assert finding.remediation is not None
    assert finding.remediation.commands == (
        "kdoctor fix   # rewrites the rule to use $(call if_changed,...)",
    )


def test_kernels_before_5_8_only_warn_so_the_check_passes() -> None:
    finding = run(machine({"Kbuild": CLASSIC}, kernel(release="5.4.0-150-generic")))
    assert finding.status is Status.OK
    assert finding.summary == (
        "not affected: Linux 5.4.0 only warns about a missing member .cmd file (fatal since 5.8); "
        "hello_world.rust.o (Kbuild:14) records none"
    )
    assert fix_of(finding) is None
    assert finding.facts["kernel_reads_cmd"] is False
    assert finding.facts["object"] == "hello_world.rust.o"


def test_5_10_reads_cmd_only_for_srcversion() -> None:
    plain = kernel(release="5.10.0-30-amd64", config="CONFIG_MODVERSIONS=y\n")
    finding = run(machine({"Kbuild": CLASSIC}, plain))
    assert finding.status is Status.OK
    assert finding.summary.startswith(
        "not affected: Linux 5.10.0 reads member .cmd files only for CONFIG_MODVERSIONS (5.19+) "
        "or srcversion, and neither applies"
    )
    srcversion_all = kernel(
        release="5.10.0-30-amd64", config="CONFIG_MODVERSIONS=y\nCONFIG_MODULE_SRCVERSION_ALL=y\n"
    )
    finding = run(machine({"Kbuild": CLASSIC}, srcversion_all))
    assert finding.status is Status.FAIL
    assert finding.facts["reason"] == (
        "Linux 5.10.0 modpost checksums every member object's sources, listed in its .cmd file, "
        "for srcversion (CONFIG_MODULE_SRCVERSION_ALL=y; a missing one is fatal since 5.8)"
    )


def test_module_version_makes_5_10_read_the_cmd_file() -> None:
    system = machine(
        {"Kbuild": CLASSIC, "src/lib.rs": 'static VERSION: [u8; 12] = *b"version=1.0\\0";\n'},
        kernel(release="5.10.0-30-amd64", config=""),
        src=["lib.rs"],
    )
    finding = run(system)
    assert finding.status is Status.FAIL
    assert "(the module has a version;" in str(finding.facts["reason"])


def test_6_1_without_modversions_is_not_affected() -> None:
    finding = run(machine({"Kbuild": CLASSIC}, kernel(config="# CONFIG_MODVERSIONS is not set\n")))
    assert finding.status is Status.OK
    assert finding.facts["kernel_reads_cmd"] is False


def test_unknown_version_is_decided_from_makefile_build() -> None:
    marker = (
        "gen_symversions =\t\t\t\t\t\t\t\t\\\n"
        "\tif $(NM) $@ 2>/dev/null | grep -q __ksymtab; then\t\t\t\\\n"
        "\t\t$(call cmd_gensymtypes_$(1),$(KBUILD_SYMTYPES),$(@:.o=.symtypes)) \\\n"
        "\t\t\t>> $(dot-target).cmd;\t\t\t\t\t\\\n"
        "\tfi\n"
    )
    affected = kernel(release="", makefile_build=marker)
    finding = run(machine({"Kbuild": CLASSIC}, affected), target_kernel="custom")
    assert finding.status is Status.FAIL
    assert finding.facts["kernel_version"] is None

    unknown = kernel(release="", makefile_build="# nothing telling\n")
    finding = run(machine({"Kbuild": CLASSIC}, unknown), target_kernel="custom")
    assert finding.status is Status.WARN
    assert finding.summary.endswith(
        "; on Linux 5.8+ modpost may stop with `.hello_world.rust.o.cmd: No such file or directory`"
    )
    assert fix_of(finding) == "kbuild-cmd"


def test_missing_headers_skip_the_check() -> None:
    system = FakeSystem(files={f"{MOD}/Kbuild": CLASSIC})
    finding = run(system)
    assert finding == Finding(
        id="kbuild-cmd",
        status=Status.SKIP,
        summary="needs usable headers for 6.1.0-56-amd64 first (see kernel-headers)",
        facts={"kdir": KDIR},
    )


def test_module_without_kbuild_or_makefile_is_skipped() -> None:
    finding = run(machine({}))
    assert finding.status is Status.SKIP
    assert finding.summary == f"no Kbuild or Makefile in {MOD}"


# -- the parser the kbuild-cmd fix reuses -------------------------------------------------


def test_parser_reads_members_variables_and_precedence() -> None:
    text = (
        "RUST_LIB := $(obj)/target/release/libmod.a\n"
        "MEMBERS = glue.o \\\n    rust_part.o\n"
        "obj-$(CONFIG_SAMPLE) += sample.o\n"
        "sample-y := $(MEMBERS)\n"
        "obj-m += other.o\n"
        "rust_part.o: CFLAGS += -DX\n"  # target-specific variable, not a rule
        "define long_cmd\n  $(LD) -r\nendef\n"
        "%.o: %.a\n\t$(LD) -r -o $@ $<\n"
        "$(obj)/rust_part.o: $(RUST_LIB) ; $(LD) -r -o $@ --whole-archive $<\n"
    )
    kbuild = parse_kbuild(text, "/m/Kbuild")
    assert kbuild.modules() == {"sample": ["glue.o", "rust_part.o"], "other": ["other.o"]}
    rule = kbuild.rule_for("rust_part.o")
    assert rule is not None
    assert rule.line == 13 and rule.end_line == 13
    assert rule.prerequisites == ("$(RUST_LIB)",)
    assert rule.recipe == ("$(LD) -r -o $@ --whole-archive $<",)
    assert kbuild.expand(rule.prerequisites[0]) == "$(obj)/target/release/libmod.a"
    pattern = kbuild.rule_for("glue.o")
    assert pattern is not None and pattern.targets == ("%.o",)
    assert len(kbuild.rules) == 2


def test_parser_keeps_recipes_across_conditionals_and_comments() -> None:
    text = (
        "obj-m := m.o\nm-objs := a.o\n"
        "$(obj)/a.o: $(obj)/liba.a FORCE\n"
        "# a comment between recipe lines\n"
        "ifdef CONFIG_X\n"
        "\t$(call if_changed,ld_a)\n"
        "endif\n"
    )
    kbuild = parse_kbuild(text, "/m/Kbuild")
    rule = kbuild.rule_for("a.o")
    assert rule is not None
    assert rule.saves_cmd
    assert rule.end_line == 6
    assert objects_without_cmd(kbuild, "/m") == []


def test_static_pattern_and_double_colon_rules() -> None:
    text = (
        "obj-m := m.o\nm-objs := a.rust.o b.o\n"
        "$(obj)/a.rust.o: %.rust.o: %.a\n\tcp $< $@\n"
        "$(obj)/b.o:: b.a\n\t$(call if_changed_dep,cc_o_c)\n"
    )
    kbuild = parse_kbuild(text, "/m/Kbuild")
    unsaved = objects_without_cmd(kbuild, "/m")
    assert [(u.object, u.line, u.recipe) for u in unsaved] == [("a.rust.o", 3, ("cp $< $@",))]


def test_cmd_file_sits_next_to_the_object() -> None:
    assert cmd_file_for("/m", "hello_world.rust.o") == "/m/.hello_world.rust.o.cmd"
    assert cmd_file_for("/m", "rust/glue.o") == "/m/rust/.glue.o.cmd"


def test_uts_release_names_the_debian_abi_not_the_upstream_version() -> None:
    files = kernel()
    files[f"{KDIR}/include/generated/utsrelease.h"] = '#define UTS_RELEASE "6.1.0-56-amd64"\n'
    assert kdir_uts_release(FakeSystem(files=files), KDIR) == "6.1.0-56-amd64"
    assert kdir_uts_release(FakeSystem(files=kernel()), KDIR) == "6.1.192"
    assert kdir_uts_release(FakeSystem(), KDIR) is None


# the rule in Kbuild records nothing; the Makefile `make -C <module>` runs creates the .cmd
# file itself (tests/fixtures/modules/touch-in-makefile)
KBUILD_NO_TOUCH = """\
obj-m := helloworld.o
helloworld-objs := hello_world.rust.o

$(obj)/hello_world.rust.o: $(src)/libhello_world.a
\t$(LD) -r -o $@ --whole-archive $<
"""


def outer(recipe: str, goal: str = "all:\n") -> str:
    return f"KDIR ?= /lib/modules/$(shell uname -r)/build\n\n{goal}{recipe}\nclean:\n\trm -f x\n"


KBUILD_CALL = "\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules\n"


@pytest.mark.parametrize(
    "makefile",
    [
        outer("\ttouch .hello_world.rust.o.cmd\n" + KBUILD_CALL),
        outer("\t@touch $(CURDIR)/.hello_world.rust.o.cmd; " + KBUILD_CALL.lstrip()),
        # in a prerequisite of the default goal: make runs it first
        outer(KBUILD_CALL + "\ncmdfile:\n\ttouch .hello_world.rust.o.cmd\n", "all: cmdfile\n"),
        outer("\t: > .hello_world.rust.o.cmd\n" + KBUILD_CALL),
    ],
    ids=["before-the-call", "same-line", "prerequisite", "redirect"],
)
def test_a_makefile_that_touches_the_cmd_file_before_calling_kbuild_warns(makefile: str) -> None:
    finding = run(machine({"Kbuild": KBUILD_NO_TOUCH, "Makefile": makefile}))
    assert finding.status is Status.WARN, finding.summary
    assert finding.summary.startswith(
        "hello_world.rust.o gets .hello_world.rust.o.cmd only from a `touch` in Makefile "
        "(Kbuild:4 does not use $(call if_changed,...))"
    )
    [touched] = finding.facts["touched"]
    assert touched["touched_in"].startswith("Makefile:")
    assert finding.facts["objects"] == [] and finding.needs == ()


@pytest.mark.parametrize(
    "makefile",
    [
        outer(KBUILD_CALL + "\ttouch .hello_world.rust.o.cmd\n"),  # too late: modpost ran
        outer(KBUILD_CALL, "all:\n")
        + "\nunused:\n\ttouch .hello_world.rust.o.cmd\n",  # never run by the default goal
        outer("\ttouch .other.o.cmd\n" + KBUILD_CALL),  # another file
    ],
    ids=["after-the-call", "another-target", "another-file"],
)
def test_a_touch_that_does_not_come_before_kbuild_still_fails(makefile: str) -> None:
    finding = run(machine({"Kbuild": KBUILD_NO_TOUCH, "Makefile": makefile}))
    assert finding.status is Status.FAIL, finding.summary
    assert finding.summary.startswith(
        "modpost will stop with `.hello_world.rust.o.cmd: No such file or directory`"
    )
    assert finding.facts["touched"] == []
