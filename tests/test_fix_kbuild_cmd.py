from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Optional

import pytest

from kdoctor.checks.kbuild_cmd import KbuildCmdCheck
from kdoctor.facts import Facts
from kdoctor.facts.kbuild import objects_without_cmd, parse_kbuild
from kdoctor.fixes.base import Ask, Decision
from kdoctor.fixes.kbuild_cmd import KbuildCmdFix, command_of
from kdoctor.machine.files import write_atomic
from kdoctor.machine.runner import Runner
from kdoctor.machine.system import System
from kdoctor.model.choice import KbuildFixMode
from kdoctor.model.context import Context, bundled_module_dir
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import KbuildCmd
from kdoctor.model.plan import FileEdit, PlanOptions, Step
from kdoctor.pipeline.planner import fix_of
from tests.conftest import make_context, run_check
from tests.fake_system import FakeSystem
from tests.fishinabarrel import fishinabarrel_module
from tests.real_machine import RealTarget, require_tools

MOD = "/src/mod"
CMD = f"{MOD}/.hello_world.rust.o.cmd"
WHY = (
    "kbuild-cmd: hello_world.rust.o built by Kbuild:4 without $(call if_changed,...), so "
    "modpost finds no .cmd file"
)

# fishinabarrel's layout, reduced: a prebuilt static library linked by a hand-written rule
CLASSIC = """\
obj-m := helloworld.o
helloworld-objs := hello_world.rust.o

%.rust.o: lib%.a
\t$(LD) -r -o $@ --whole-archive $<
"""

REWRITTEN = """\
obj-m := helloworld.o
helloworld-objs := hello_world.rust.o

# kdoctor fix: built through if_changed, which writes .hello_world.rust.o.cmd (modpost reads it)
quiet_cmd_link_rust = LD [M]  $@
      cmd_link_rust = $(LD) -r -o $@ --whole-archive $<
targets += hello_world.rust.o

%.rust.o: lib%.a FORCE
\t$(call if_changed,link_rust)
"""

#: an unchanged empty line in a unified diff (one space)
BLANK = " "
DIFF = f"""\
--- {MOD}/Kbuild
+++ {MOD}/Kbuild
@@ -1,5 +1,10 @@
 obj-m := helloworld.o
 helloworld-objs := hello_world.rust.o
{BLANK}
-%.rust.o: lib%.a
-\t$(LD) -r -o $@ --whole-archive $<
+# kdoctor fix: built through if_changed, which writes .hello_world.rust.o.cmd (modpost reads it)
+quiet_cmd_link_rust = LD [M]  $@
+      cmd_link_rust = $(LD) -r -o $@ --whole-archive $<
+targets += hello_world.rust.o
+
+%.rust.o: lib%.a FORCE
+\t$(call if_changed,link_rust)
"""


TOUCH = PlanOptions(kbuild_fix=KbuildFixMode.TOUCH)


def failing(status: Status = Status.FAIL, module_dir: str = MOD) -> Finding:
    return Finding(
        id="kbuild-cmd",
        status=status,
        summary="modpost will stop with `.hello_world.rust.o.cmd: No such file or directory`",
        needs=(KbuildCmd(module_dir, ("hello_world.rust.o",)),),
    )


def machine(kbuild: str = CLASSIC, **files: str) -> FakeSystem:
    return FakeSystem(files={f"{MOD}/Kbuild": kbuild, **files})


def decide(
    ctx: Context, system: System, *findings: Finding, options: Optional[PlanOptions] = None
) -> Decision:
    asks = [Ask(f, n) for f in findings for n in f.needs]
    return KbuildCmdFix().plan(Facts(ctx, system), asks, options or PlanOptions())


def plan(ctx: Context, system: System, *findings: Finding, **kw: PlanOptions) -> list[Step]:
    return decide(ctx, system, *findings, **kw).steps


def notes(ctx: Context, system: System, *findings: Finding, **kw: PlanOptions) -> list[str]:
    return decide(ctx, system, *findings, **kw).notes


def test_the_rule_is_rewritten_to_go_through_if_changed() -> None:
    system = machine()
    ctx = make_context(module_dir=MOD)
    assert plan(ctx, system, failing()) == [
        Step(
            fix="kbuild-cmd",
            findings=("kbuild-cmd",),
            why=WHY,
            edit=FileEdit(path=f"{MOD}/Kbuild", content=REWRITTEN.encode(), diff=DIFF),
        )
    ]
    assert objects_without_cmd(parse_kbuild(REWRITTEN, f"{MOD}/Kbuild"), MOD) == []
    assert notes(ctx, system, failing()) == [
        "Kbuild is rewritten so that kbuild records .hello_world.rust.o.cmd (the old file is "
        "kept as a numbered backup, Kbuild.~N~); `--kbuild-fix touch` only creates the missing "
        "file instead."
    ]
    assert system.runs == []


def test_a_warning_about_a_leftover_cmd_file_is_rewritten_too() -> None:
    system = machine(**{CMD: ""})
    [step] = plan(make_context(module_dir=MOD), system, failing(Status.WARN))
    assert step.edit is not None and step.edit.text == REWRITTEN


def test_touch_creates_the_missing_cmd_file_instead() -> None:
    ctx = make_context(module_dir=MOD)
    system = machine()
    assert plan(ctx, system, failing(), options=TOUCH) == [
        Step(fix="kbuild-cmd", findings=("kbuild-cmd",), why=WHY, argv=("touch", CMD), timeout=30.0)
    ]
    assert "`make clean` deletes it" in notes(ctx, system, failing(), options=TOUCH)[0]
    # only the CLI's --kbuild-fix (PlanOptions) chooses: the environment no longer does
    by_env = FakeSystem(files=system.files, env={"KDOCTOR_KBUILD_FIX": "touch"})
    env_ctx = make_context(module_dir=MOD, env={"KDOCTOR_KBUILD_FIX": "touch"})
    [step] = plan(env_ctx, by_env, failing())
    assert step.argv == () and step.edit is not None and step.edit.text == REWRITTEN
    assert system.runs == []


def test_touch_with_the_file_already_there_plans_nothing() -> None:
    ctx = make_context(module_dir=MOD)
    assert plan(ctx, machine(**{CMD: ""}), failing(Status.WARN), options=TOUCH) == []


def test_the_bundled_hello_world_is_never_touched() -> None:
    bundled = bundled_module_dir()
    system = FakeSystem(files={f"{bundled}/Kbuild": CLASSIC})
    ctx = make_context(module_dir=bundled)
    assert plan(ctx, system, failing(module_dir=bundled)) == []
    assert notes(ctx, system, failing(module_dir=bundled)) == []


def test_a_passing_check_plans_nothing() -> None:
    system = machine()
    ok = Finding("kbuild-cmd", Status.OK, "the 1 member object of helloworld.ko ...")
    assert plan(make_context(module_dir=MOD), system, ok) == []
    assert notes(make_context(module_dir=MOD), system, ok) == []
    assert system.runs == [] and system.calls == []


EXPLICIT = """\
obj-m := helloworld.o
helloworld-objs := hello_world.rust.o extra.o
cmd_link_hello_world_rust = taken

$(obj)/hello_world.rust.o: $(obj)/libhello_world.a $(src)/link.lds | $(obj)/dir # comment
\t@echo 'linking #1' # say it
\t$(Q)$(LD) -r -T $(word 2,$^) -o $@ \\
\t\t$^
$(obj)/extra.o: $(obj)/extra.bin ; $(call cmd,objcopy)
"""

EXPLICIT_REWRITTEN = """\
obj-m := helloworld.o
helloworld-objs := hello_world.rust.o extra.o
cmd_link_hello_world_rust = taken

# kdoctor fix: built through if_changed, which writes .hello_world.rust.o.cmd (modpost reads it)
quiet_cmd_link_hello_world_rust_2 = LD [M]  $@
      cmd_link_hello_world_rust_2 = echo 'linking $(pound)1'; \
$(LD) -r -T $(word 2,$(real-prereqs)) -o $@ $(real-prereqs)
targets += hello_world.rust.o

$(obj)/hello_world.rust.o: $(obj)/libhello_world.a $(src)/link.lds FORCE | $(obj)/dir
\t$(call if_changed,link_hello_world_rust_2)
# kdoctor fix: built through if_changed, which writes .extra.o.cmd (modpost reads it)
targets += extra.o

$(obj)/extra.o: $(obj)/extra.bin FORCE
\t$(call if_changed,objcopy)
"""


def test_explicit_rules_keep_their_shape_and_kbuild_conventions() -> None:
    system = machine(EXPLICIT)
    [step] = plan(make_context(module_dir=MOD), system, failing())
    assert step.edit is not None
    assert step.edit.text == EXPLICIT_REWRITTEN
    assert objects_without_cmd(parse_kbuild(step.edit.text, f"{MOD}/Kbuild"), MOD) == []


def test_commands_become_one_kbuild_cmd_value() -> None:
    assert command_of(("@rm -f $@ # old", "-$(call cmd,ld) $^", "+sed '/^#/d' $<")) == (
        "rm -f $@; $(cmd_ld) $(real-prereqs); sed '/^$(pound)/d' $<"
    )


# -- for real: kbuild of the target kernel's headers, a C-only stand-in for the Rust object ----
def _make(kdir: str, module: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "-C", kdir, f"M={module}", "modules"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.integration
def test_the_rewrite_makes_a_real_kbuild_build_link_the_module(
    tmp_path: Path, real_target: RealTarget
) -> None:
    require_tools("make", "gcc", "ar")
    kdir = real_target.kdir
    module = fishinabarrel_module(tmp_path, CLASSIC)

    before = _make(kdir, module)
    assert before.returncode != 0
    assert ".hello_world.rust.o.cmd: No such file or directory" in before.stdout + before.stderr

    system = Runner()
    ctx = make_context(module_dir=str(module), kdir=kdir, target_kernel=real_target.release)
    finding = run_check(KbuildCmdCheck(), ctx, system)
    assert (finding.status, fix_of(finding)) == (Status.FAIL, "kbuild-cmd")
    assert finding.needs == (KbuildCmd(str(module), ("hello_world.rust.o",)),)
    [step] = plan(ctx, system, finding)
    assert step.edit is not None and step.edit.path == str(module / "Kbuild")
    write_atomic(step.edit.path, step.edit.content, backup=True)

    after = _make(kdir, module)
    assert after.returncode == 0, after.stdout + after.stderr
    assert (module / "helloworld.ko").is_file()
    assert (module / ".hello_world.rust.o.cmd").is_file()
    assert (module / "Kbuild.~1~").read_text() == CLASSIC
    passed = run_check(KbuildCmdCheck(), ctx, Runner())
    assert passed.status is Status.OK, passed.summary
    assert passed.needs == ()
    assert plan(ctx, Runner(), passed) == []
    # if_changed: nothing is relinked when nothing changed
    again = _make(kdir, module)
    assert again.returncode == 0 and "hello_world.rust.o" not in again.stdout
