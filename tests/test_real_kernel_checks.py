"""The kernel checks against this machine's real files: the headers of its target kernel (derived
as kdoctor derives it, see tests/real_machine.py; Debian 12 here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kdoctor.checks.kbuild_cmd import KbuildCmdCheck
from kdoctor.checks.kernel_headers import KernelHeadersCheck, check_command
from kdoctor.checks.module_loading import ModuleLoadingCheck
from kdoctor.checks.vm import VmCheck
from kdoctor.facts.kernel import member_cmd_reading, missing_build_files
from kdoctor.machine.runner import Runner
from kdoctor.model.context import Context
from kdoctor.model.finding import Status
from kdoctor.pipeline.planner import fix_of
from tests.conftest import make_context, run_check
from tests.real_machine import RealTarget

#: a kernel no package serves and no build directory exists for (a Firecracker microVM's)
UNSERVED = "6.18.44-fc-v0-no-headers"

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("real_target")]

CLASSIC = (
    "obj-m := helloworld.o\nhelloworld-objs := hello_world.rust.o\n\n"
    "%.rust.o: target/x86_64-linux-kernel/debug/lib%.a\n"
    "\t$(LD) -r -o $@ --whole-archive $<\n"
)
THROUGH_KBUILD = (
    "obj-m := helloworld.o\nhelloworld-objs := hello_world.rust.o\n"
    "targets += hello_world.rust.o\n"
    "cmd_link_rust = $(LD) -r -o $@ --whole-archive $<\n"
    "$(obj)/hello_world.rust.o: $(obj)/libhello_world.a FORCE\n"
    "\t$(call if_changed,link_rust)\n"
)


def running() -> str:
    return Path("/proc/sys/kernel/osrelease").read_text().strip()


def target(real: RealTarget, **overrides: object) -> Context:
    return make_context(
        running_kernel=running(),
        target_kernel=real.release,
        kdir=real.kdir,
        target_source="--kernel",
        **overrides,
    )


def test_the_target_headers_are_usable(real_target: RealTarget) -> None:
    runner = Runner()
    if real_target.headers.startswith("/usr/src/linux-headers-"):
        # Debian splits the headers: scripts/ links into linux-kbuild-<version>
        assert os.path.islink(os.path.join(real_target.headers, "scripts"))
    assert missing_build_files(runner, real_target.headers) == []
    finding = run_check(KernelHeadersCheck(), target(real_target), runner)
    assert finding.status is Status.OK
    assert finding.facts["usable"] is True


def test_a_running_kernel_without_headers_points_at_the_installed_target(
    real_target: RealTarget,
) -> None:
    # the running kernel is a context field: one no package serves and without a build
    # directory, whatever kernel this machine really runs
    kdir = f"/lib/modules/{UNSERVED}/build"
    assert not os.path.exists(kdir)
    ctx = make_context(running_kernel=UNSERVED, target_kernel=UNSERVED, kdir=kdir)
    finding = run_check(KernelHeadersCheck(), ctx, Runner())
    assert finding.status is Status.FAIL
    assert fix_of(finding) == "kernel-target"
    assert real_target.release in finding.facts["installed_targets"]
    assert finding.remediation is not None
    newest = finding.facts["installed_targets"][0]
    command = check_command(newest, finding.facts["installed_kdirs"][newest])
    assert command in finding.remediation.commands


def test_the_targets_modpost_reads_every_member_cmd_file(real_target: RealTarget) -> None:
    reading = member_cmd_reading(Runner(), real_target.kdir, real_target.release)
    assert reading.fatal is True
    # a distribution kernel since 5.19 (Debian 12's 6.1): modpost wants the symbol CRCs
    config = Path(real_target.kdir, ".config").read_text()
    if "CONFIG_MODVERSIONS=y" in config.splitlines():
        assert "CONFIG_MODVERSIONS=y" in reading.why


def test_classic_kbuild_fails_and_if_changed_passes_against_the_target(
    tmp_path: Path, real_target: RealTarget
) -> None:
    (tmp_path / "Kbuild").write_text(CLASSIC)
    finding = run_check(KbuildCmdCheck(), target(real_target, module_dir=str(tmp_path)), Runner())
    assert finding.status is Status.FAIL
    assert finding.facts["cmd_file"] == str(tmp_path / ".hello_world.rust.o.cmd")
    assert finding.facts["line"] == 4

    (tmp_path / "Kbuild").write_text(THROUGH_KBUILD)
    finding = run_check(KbuildCmdCheck(), target(real_target, module_dir=str(tmp_path)), Runner())
    assert finding.status is Status.OK


def test_module_loading_and_vm_observe_this_host(real_target: RealTarget) -> None:
    runner = Runner()
    loading = run_check(ModuleLoadingCheck(), target(real_target), runner)
    assert loading.status in (Status.OK, Status.WARN)
    if not os.path.exists("/proc/modules"):
        assert loading.status is Status.WARN
        assert "Function not implemented" in loading.facts["insmod_errors"]
    vm = run_check(VmCheck(), target(real_target), runner)
    assert vm.status in (Status.OK, Status.WARN, Status.FAIL)
    if os.path.exists("/usr/bin/qemu-system-x86_64"):
        assert vm.facts["qemu_version"] is not None
    busybox = runner.which("busybox")
    if busybox:
        assert vm.facts["busybox_static"] is not has_interpreter(busybox)


def has_interpreter(path: str) -> bool:
    """An independent oracle: does the 64-bit ELF have a PT_INTERP program header?"""
    data = Path(path).read_bytes()
    phoff = int.from_bytes(data[0x20:0x28], "little")
    phentsize = int.from_bytes(data[0x36:0x38], "little")
    phnum = int.from_bytes(data[0x38:0x3A], "little")
    types = [
        int.from_bytes(data[phoff + i * phentsize : phoff + i * phentsize + 4], "little")
        for i in range(phnum)
    ]
    return 3 in types  # PT_INTERP
