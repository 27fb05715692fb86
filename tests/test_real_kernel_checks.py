"""The kernel checks against this machine's real files (Debian 12, headers for 6.1.0-56)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kdoctor.checks.kbuild_cmd import KbuildCmdCheck
from kdoctor.checks.kernel_headers import KernelHeadersCheck
from kdoctor.checks.module_loading import ModuleLoadingCheck
from kdoctor.checks.vm import VmCheck
from kdoctor.facts.kbuild import member_cmd_reading, missing_build_files
from kdoctor.machine.runner import Runner
from kdoctor.model.context import Context
from kdoctor.model.finding import Status
from tests.conftest import make_context, run_check

RELEASE = "6.1.0-56-amd64"
KDIR = f"/lib/modules/{RELEASE}/build"
HEADERS = f"/usr/src/linux-headers-{RELEASE}"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not os.path.isfile(os.path.join(HEADERS, "Makefile")),
        reason=f"Debian's linux-headers-{RELEASE} is not installed",
    ),
]

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


def target_61(**overrides: object) -> Context:
    return make_context(
        running_kernel=running(),
        target_kernel=RELEASE,
        kdir=KDIR,
        target_source="--kernel",
        **overrides,
    )


def test_debian_split_headers_are_usable_through_the_scripts_link() -> None:
    runner = Runner()
    assert os.path.islink(os.path.join(HEADERS, "scripts"))  # into linux-kbuild-6.1
    assert missing_build_files(runner, HEADERS) == []
    finding = run_check(KernelHeadersCheck(), target_61(), runner)
    assert finding.status is Status.OK
    assert finding.facts["usable"] is True


def test_running_kernel_without_headers_points_at_installed_6_1() -> None:
    release = running()
    if os.path.exists(f"/lib/modules/{release}/build"):
        pytest.skip("the running kernel has a build directory here")
    ctx = make_context(
        running_kernel=release, target_kernel=release, kdir=f"/lib/modules/{release}/build"
    )
    finding = run_check(KernelHeadersCheck(), ctx, Runner())
    assert finding.status is Status.FAIL
    assert finding.fix == "kernel-target"
    assert RELEASE in finding.facts["installed_targets"]
    assert finding.remediation is not None
    assert f"kdoctor check --kernel {RELEASE}" in finding.remediation.commands


def test_debian_6_1_modpost_reads_every_member_cmd_file() -> None:
    reading = member_cmd_reading(Runner(), KDIR, RELEASE)
    assert reading.fatal is True
    assert "CONFIG_MODVERSIONS=y" in reading.why


def test_classic_kbuild_fails_and_if_changed_passes_against_6_1(tmp_path: Path) -> None:
    (tmp_path / "Kbuild").write_text(CLASSIC)
    finding = run_check(KbuildCmdCheck(), target_61(module_dir=str(tmp_path)), Runner())
    assert finding.status is Status.FAIL
    assert finding.facts["cmd_file"] == str(tmp_path / ".hello_world.rust.o.cmd")
    assert finding.facts["line"] == 4

    (tmp_path / "Kbuild").write_text(THROUGH_KBUILD)
    finding = run_check(KbuildCmdCheck(), target_61(module_dir=str(tmp_path)), Runner())
    assert finding.status is Status.OK


def test_module_loading_and_vm_observe_this_host() -> None:
    runner = Runner()
    loading = run_check(ModuleLoadingCheck(), target_61(), runner)
    assert loading.status in (Status.OK, Status.WARN)
    if not os.path.exists("/proc/modules"):
        assert loading.status is Status.WARN
        assert "Function not implemented" in loading.facts["insmod_errors"]
    vm = run_check(VmCheck(), target_61(), runner)
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
