from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from kdoctor.facts import images
from kdoctor.machine.runner import Runner
from kdoctor.pipeline.verify import accel as vm_accel
from kdoctor.pipeline.verify import boot as vm_boot
from kdoctor.pipeline.verify import console as vm_console
from kdoctor.pipeline.verify import guest as vm_guest
from kdoctor.pipeline.verify.initramfs import read_gzip
from tests.conftest import elf_binary
from tests.fake_system import FakeSystem
from tests.real_machine import require_tools

CONSOLES = Path(__file__).parent / "data" / "consoles"


def console(name: str) -> str:
    return (CONSOLES / f"{name}.txt").read_text()


def a_boot(accel: str = "tcg", **overrides: object) -> vm_boot.Boot:
    fields: dict[str, object] = {
        "accel": accel,
        "argv": ("qemu-system-x86_64",),
        "exit_code": 0,
        "timed_out": False,
        "error": None,
        "duration_s": 6.5,
        "timeout": 120.0,
        "console": "",
    }
    fields.update(overrides)
    return vm_boot.Boot(**fields)  # type: ignore[arg-type]


# -- the guest ---------------------------------------------------------------------------------
def test_init_script_loads_unloads_dumps_and_powers_off_in_that_order() -> None:
    script = vm_guest.init_script("helloworld.ko", "helloworld")
    assert script.startswith("#!/bin/sh\n")
    order = [
        "mount -t devtmpfs devtmpfs /dev",
        "mark boot",
        "insmod /helloworld.ko",
        'mark insmod "rc=$rc"',
        "taint value=$(cat /proc/sys/kernel/tainted)",
        "rmmod helloworld",
        'mark rmmod "rc=$rc"',
        "dmesg-begin",
        "\ndmesg\n",
        "dmesg-end",
        "poweroff -f",
    ]
    positions = [script.index(piece) for piece in order]
    assert positions == sorted(positions)


def test_init_script_quotes_odd_module_file_names() -> None:
    script = vm_guest.init_script("my module.ko", "my_module")
    assert "insmod '/my module.ko'" in script


def test_bare_init_only_boots_and_powers_off() -> None:
    script = vm_guest.bare_init_script()
    assert "mark boot" in script and "poweroff -f" in script
    assert "insmod" not in script and "dmesg" not in script


def test_guest_archive_has_busybox_links_console_init_and_module() -> None:
    archive = vm_guest.guest_archive(b"BB", "#!/bin/sh\n", ("helloworld.ko", b"KO"))
    entries = {e.name: e for e in read_gzip(archive.to_gzip())}
    assert entries["bin/busybox"].data == b"BB"
    assert entries["bin/busybox"].permissions == 0o755
    for applet in ("sh", "mount", "insmod", "rmmod", "dmesg", "poweroff", "cat"):
        assert entries[f"bin/{applet}"].target == "busybox"
    assert stat.S_ISCHR(entries["dev/console"].mode)
    assert entries["dev/console"].rdev == (5, 1)
    assert entries["init"].data == b"#!/bin/sh\n"
    assert entries["init"].permissions == 0o755
    assert entries["helloworld.ko"].data == b"KO"
    assert {"proc", "sys", "dev", "tmp"} <= set(entries)


def test_write_initramfs_reads_busybox_and_module_through_the_system() -> None:
    system = FakeSystem(files={"/bin/busybox": b"bb", "/m/helloworld.ko": b"ko"})
    path = vm_guest.write_initramfs(
        system, "/work", "/bin/busybox", "#!/bin/sh\n", "/m/helloworld.ko"
    )
    assert path == "/work/initrd.cpio.gz"
    assert system.writes == [(path, "write")]
    entries = {e.name: e for e in read_gzip(system.read_bytes(path) or b"")}
    assert entries["helloworld.ko"].data == b"ko" and entries["bin/busybox"].data == b"bb"


def test_write_initramfs_on_disk(tmp_path: Path) -> None:
    (tmp_path / "busybox").write_bytes(b"bb")
    (tmp_path / "helloworld.ko").write_bytes(b"ko")
    path = vm_guest.write_initramfs(
        Runner(),
        str(tmp_path),
        str(tmp_path / "busybox"),
        "#!/bin/sh\n",
        str(tmp_path / "helloworld.ko"),
    )
    names = [e.name for e in read_gzip(Path(path).read_bytes())]
    assert path == str(tmp_path / "initrd.cpio.gz")
    assert "helloworld.ko" in names and "bin/busybox" in names


def test_write_initramfs_without_busybox_is_an_oserror() -> None:
    with pytest.raises(OSError):
        vm_guest.write_initramfs(FakeSystem(), "/work", "/bin/busybox", "#!/bin/sh\n")


def test_static_elf_detection(tmp_path: Path) -> None:
    system = FakeSystem(
        files={
            "/s": elf_binary(interp=False),
            "/d": elf_binary(interp=True),
            "/script": "#!/bin/sh\n",
        }
    )
    assert images.is_static_elf(system, "/s")
    assert not images.is_static_elf(system, "/d")
    assert not images.is_static_elf(system, "/script")
    assert not images.is_static_elf(system, "/missing")
    (tmp_path / "static").write_bytes(elf_binary(interp=False))
    assert images.is_static_elf(Runner(), str(tmp_path / "static"))


def test_find_busybox_prefers_a_static_one() -> None:
    dynamic, static = "/bin/busybox", "/usr/lib/initramfs-tools/bin/busybox"
    files = {dynamic: elf_binary(interp=True), static: elf_binary(interp=False)}
    # the static one is not on PATH but at a well-known place
    system = FakeSystem(programs={"busybox": dynamic, "initramfs-busybox": static}, files=files)
    assert images.find_busybox(system, (static,)) == images.Busybox(static, True)
    only_dynamic = FakeSystem(programs={"busybox": dynamic}, files=files)
    assert images.find_busybox(only_dynamic) == images.Busybox(dynamic, False)
    assert images.find_busybox(FakeSystem(programs={})) is None


@pytest.mark.integration
def test_this_machines_busybox_is_found() -> None:
    require_tools("busybox")
    found = images.find_busybox(Runner())
    assert found is not None
    if shutil.which("file"):
        said = subprocess.run(["file", "-L", found.path], capture_output=True, text=True).stdout
        assert found.static == ("statically linked" in said)


# -- qemu ----------------------------------------------------------------------------------------
def test_qemu_argv_for_tcg_and_kvm() -> None:
    tcg = vm_boot.qemu_argv("/usr/bin/qemu-system-x86_64", "/k/vmlinuz", "/t/initrd", "tcg")
    assert tcg == [
        "/usr/bin/qemu-system-x86_64",
        "-accel",
        "tcg",
        "-m",
        "512",
        "-smp",
        "1",
        "-nographic",
        "-no-reboot",
        "-nic",
        "none",
        "-kernel",
        "/k/vmlinuz",
        "-initrd",
        "/t/initrd",
        "-append",
        "console=ttyS0 panic=-1 rdinit=/init",
    ]
    kvm = vm_boot.qemu_argv("qemu", "/k", "/i", "kvm")
    assert kvm[1:5] == ["-accel", "kvm", "-cpu", "host"]


def test_boot_collects_the_streamed_console() -> None:
    argv = ["qemu-system-x86_64", "-accel", "tcg"]
    system = FakeSystem(
        programs={"qemu-system-x86_64": "/usr/bin/qemu-system-x86_64"},
        commands={" ".join(argv): "\x1bc\x1b[?7lline one\r\nline two\n"},
    )
    seen: list[str] = []
    run = vm_boot.boot(system, argv, accel="tcg", timeout=30, on_console=seen.append)
    assert run.console == "\x1bc\x1b[?7lline one\r\nline two\n"
    # what is shown live has no escape sequences that could reset a terminal
    assert seen == ["line one\n", "line two\n"]
    assert run.exit_code == 0 and not run.timed_out and run.accel == "tcg"
    assert system.runs == [tuple(argv)]


# -- the console ---------------------------------------------------------------------------------
def test_parse_success() -> None:
    report = vm_console.parse_console(console("success"))
    assert report.booted and report.finished
    assert report.insmod_rc == 0 and report.rmmod_rc == 0 and not report.rmmod_skipped
    assert report.taint_before == 0 and report.taint_after == 12288
    assert report.uptimes == {"boot": 2.65, "insmod": 2.69, "rmmod": 2.71, "done": 2.85}
    assert report.kernel_log_complete
    assert report.kernel_log[0].startswith("[    0.000000] Linux version 6.1.0-56-amd64 ")
    assert report.kernel_log[-3:] == (
        "[    2.736822] Hello kernel module!",
        "[    2.737009] My message is on the heap",
        "[    2.761760] Goodbye kernel module!",
    )
    assert report.messages == report.kernel_log
    assert report.panic is None and report.oops is None
    assert report.tool_errors == () and report.qemu_errors == ()
    # escape sequences from SeaBIOS are gone
    assert not any("\x1b" in line for line in report.lines)


def test_parse_accepts_carriage_returns() -> None:
    report = vm_console.parse_console(console("success").replace("\n", "\r\n"))
    assert (
        report.insmod_rc == 0 and report.kernel_log[-1] == "[    2.761760] Goodbye kernel module!"
    )


def test_parse_missing_message() -> None:
    report = vm_console.parse_console(console("missing_goodbye"))
    assert report.insmod_rc == 0 and report.rmmod_rc == 0 and report.finished
    assert not any("Goodbye" in line for line in report.kernel_log)


def test_parse_insmod_failure() -> None:
    report = vm_console.parse_console(console("insmod_invalid_format"))
    assert report.insmod_rc == 8
    assert report.rmmod_rc is None and report.rmmod_skipped
    assert report.tool_errors == ("insmod: can't insert '/helloworld.ko': invalid module format",)
    assert report.taint_after == 0
    assert report.kernel_log[-1] == "[    3.212120] Invalid ELF section header overflow"


def test_parse_oops() -> None:
    report = vm_console.parse_console(console("oops_in_init"))
    assert report.oops == "BUG: kernel NULL pointer dereference, address: 0000000000000000"
    assert report.panic is None
    assert report.insmod_rc == 137 and report.taint_after == 12416
    assert report.finished


def test_parse_panic() -> None:
    report = vm_console.parse_console(console("panic_in_init"))
    assert report.booted and not report.finished
    assert report.panic == "Kernel panic - not syncing: helloworld gave up"
    assert report.insmod_rc is None and report.kernel_log == ()
    # without a dump the console itself is searched, marker lines left out
    assert "[    2.214992] Hello kernel module!" in report.messages
    assert not any(vm_guest.MARK in line for line in report.messages)


def test_parse_timeout_mid_insmod() -> None:
    report = vm_console.parse_console(console("timeout_in_insmod"))
    assert report.booted and not report.finished
    assert report.insmod_rc is None and report.uptimes == {"boot": 3.31}
    assert report.messages[-1] == "[    3.400607] Hello kernel module!"


def test_parse_nothing() -> None:
    report = vm_console.parse_console("")
    assert report == vm_console.ConsoleReport()


def test_parse_marker_split_by_kernel_output_on_the_same_line() -> None:
    text = "[    2.7] Hello kernel module!@@kdoctor:insmod t=2.69 rc=0\n"
    assert vm_console.parse_console(text).insmod_rc == 0


# -- KVM or TCG ----------------------------------------------------------------------------------
def test_kvm_that_reached_init_is_kept_whatever_happened_next() -> None:
    report = vm_console.parse_console(console("oops_in_init"))
    assert vm_accel.kvm_failure(a_boot("kvm"), report) is None


def test_kvm_abort_falls_back() -> None:
    text = (
        "qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: "
        "Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n"
    )
    run = a_boot("kvm", exit_code=-6, console=text)
    assert vm_accel.kvm_failure(run, vm_console.parse_console(text)) == (
        "qemu was killed by SIGABRT: qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: "
        "kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed."
    )


def test_kvm_hang_falls_back() -> None:
    text = "SeaBIOS (version 1.16.2)\nBooting from ROM...\nProbing EDD (edd=off to disable)... ok\n"
    run = a_boot("kvm", exit_code=None, timed_out=True, timeout=15.0, console=text)
    assert vm_accel.kvm_failure(run, vm_console.parse_console(text)) == (
        "no sign of /init within 15 s (nested KVM hangs)"
    )


def test_kvm_permission_error_falls_back() -> None:
    text = "Could not access KVM kernel module: Permission denied\nqemu-system-x86_64: failed to initialize kvm: Permission denied\n"  # noqa: E501
    run = a_boot("kvm", exit_code=1, console=text)
    assert vm_accel.kvm_failure(run, vm_console.parse_console(text)) == (
        "qemu exited with status 1: qemu-system-x86_64: failed to initialize kvm: Permission denied"
    )


def test_kvm_guest_that_stopped_before_init_falls_back() -> None:
    run = a_boot("kvm", exit_code=0, console="[ 0.1] Linux version 6.1\n")
    assert vm_accel.kvm_failure(run, vm_console.parse_console(run.console)) == (
        "the guest stopped before /init ran"
    )


def test_plan_without_dev_kvm_is_tcg() -> None:
    plan = vm_accel.plan_accel("auto", FakeSystem(), "/cache", "6.18")
    assert plan == vm_accel.AccelPlan(("tcg",), "no /dev/kvm here: emulating with TCG")


def test_plan_with_dev_kvm_tries_kvm_then_tcg() -> None:
    system = FakeSystem(files={"/dev/kvm": ""})
    plan = vm_accel.plan_accel("auto", system, "/cache", "6.18")
    assert plan == vm_accel.AccelPlan(("kvm", "tcg"))


def test_plan_remembers_that_kvm_failed_on_this_host_kernel() -> None:
    system = FakeSystem(files={"/dev/kvm": ""})
    vm_accel.remember_kvm(system, "/cache", "6.18", False, "qemu was killed by SIGABRT")
    plan = vm_accel.plan_accel("auto", system, "/cache", "6.18")
    assert plan.order == ("tcg",)
    assert plan.note == (
        "KVM failed on this host before (qemu was killed by SIGABRT): using TCG; "
        "--accel kvm tries KVM again"
    )
    # another host kernel is not judged by this one
    assert vm_accel.plan_accel("auto", system, "/cache", "6.19").order == ("kvm", "tcg")
    # asking for KVM tries it regardless
    assert vm_accel.plan_accel("kvm", system, "/cache", "6.18") == vm_accel.AccelPlan(("kvm",))
    assert vm_accel.plan_accel("tcg", system, "/cache", "6.18") == vm_accel.AccelPlan(("tcg",))


def test_verdict_file_round_trip_and_garbage() -> None:
    system = FakeSystem()
    vm_accel.remember_kvm(system, "/cache", "a", True)
    vm_accel.remember_kvm(system, "/cache", "b", False, "hung")
    assert system.writes == [("/cache/kvm.json", "write")] * 2
    assert vm_accel.kvm_verdict(system, "/cache", "a") == (True, "")
    assert vm_accel.kvm_verdict(system, "/cache", "b") == (False, "hung")
    assert vm_accel.kvm_verdict(system, "/cache", "c") is None
    assert json.loads(system.read_text("/cache/kvm.json") or "")["b"] == {
        "works": False,
        "reason": "hung",
    }
    system.files["/cache/kvm.json"] = "not json"
    assert vm_accel.kvm_verdict(system, "/cache", "a") is None
    vm_accel.remember_kvm(system, "/cache", "a", True)
    assert vm_accel.kvm_verdict(system, "/cache", "a") == (True, "")


def test_the_verdict_file_on_disk(tmp_path: Path) -> None:
    vm_accel.remember_kvm(Runner(), str(tmp_path), "a", False, "hung")
    assert json.loads((tmp_path / "kvm.json").read_text())["a"]["works"] is False
    assert vm_accel.kvm_verdict(Runner(), str(tmp_path), "a") == (False, "hung")
