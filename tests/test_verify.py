from __future__ import annotations

import struct
from pathlib import Path

import pytest

from kdoctor.machine.runner import Runner
from kdoctor.model.finding import Remediation
from kdoctor.pipeline.verify import boot as vm_boot
from kdoctor.pipeline.verify import console as vm_console
from kdoctor.pipeline.verify import host as verify_host
from kdoctor.pipeline.verify import result as verify_result
from kdoctor.pipeline.verify import target as verify_target
from kdoctor.pipeline.verify import vm as verify_vm
from kdoctor.pipeline.verify.result import MESSAGES, VerifyResult
from tests.conftest import make_context
from tests.fake_system import FakeSystem
from tests.kmod import kernel_module

CONSOLES = Path(__file__).parent / "data" / "consoles"
RELEASE = "6.1.0-56-amd64"
QEMU = "/usr/bin/qemu-system-x86_64"
VERMAGIC = b"vermagic=6.1.0-56-amd64 SMP preempt mod_unload modversions \0"


def console(name: str) -> str:
    return (CONSOLES / f"{name}.txt").read_text()


def static_elf() -> bytes:
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 32, 64)
    struct.pack_into("<HH", header, 54, 56, 1)
    return bytes(header) + struct.pack("<I", 1) + bytes(52)


def a_ko(magic: bytes = VERMAGIC) -> bytes:
    return kernel_module(b"license=GPL\0" + magic + b"name=helloworld\0")


# -- pure pieces -------------------------------------------------------------------------------
def test_taint_letters() -> None:
    assert verify_result.taint_letters(12288) == "OE"
    assert verify_result.taint_letters(12416) == "DOE"
    assert verify_result.taint_letters(1 | 512) == "PW"
    assert verify_result.taint_letters(0) == "" and verify_result.taint_letters(None) == ""
    assert verify_result.taint_meaning("E") == "unsigned module"
    assert verify_result.taint_meaning("?") == "unknown"


def test_messages_must_come_in_order() -> None:
    lines = [
        "[1] Hello kernel module!",
        "[2] My message is on the heap",
        "[3] Goodbye kernel module!",
    ]
    assert verify_result.match_in_order(lines) == (MESSAGES, ())
    swapped = [lines[1], lines[0], lines[2]]
    assert verify_result.match_in_order(swapped) == (
        ("Hello kernel module!",),
        ("My message is on the heap", "Goodbye kernel module!"),
    )
    assert verify_result.match_in_order([]) == ((), MESSAGES)
    # a prefix such as pr_fmt's "helloworld: " does not matter
    assert verify_result.match_in_order([f"helloworld: {m}" for m in MESSAGES]) == (MESSAGES, ())


def test_module_name_and_release(tmp_path: Path) -> None:
    assert verify_result.module_name("/x/helloworld.ko") == "helloworld"
    assert verify_result.module_name("/x/hello-world.ko") == "hello_world"
    system = FakeSystem(files={"/m/helloworld.ko": a_ko(), "/m/plain.ko": a_ko(b"")})
    assert verify_target.module_release(system, "/m/helloworld.ko") == RELEASE
    assert verify_target.module_release(system, "/m/plain.ko") is None
    assert verify_target.module_release(system, "/m/missing.ko") is None
    (tmp_path / "helloworld.ko").write_bytes(a_ko())
    assert verify_target.module_release(Runner(), str(tmp_path / "helloworld.ko")) == RELEASE


def test_target_release_follows_the_module_unless_a_kernel_was_named() -> None:
    system = FakeSystem(files={"/m/helloworld.ko": a_ko(), "/m/plain.ko": a_ko(b"")})
    ko = "/m/helloworld.ko"
    running = make_context(running_kernel="6.18.44", target_kernel="6.18.44")
    assert verify_target.target_release(running, system, ko) == (
        RELEASE,
        f"booting {RELEASE}, the kernel the module was built for",
    )
    named = make_context(target_kernel="6.1.0-99-amd64", target_source="--kernel")
    assert verify_target.target_release(named, system, ko) == (
        "6.1.0-99-amd64",
        f"the module was built for {RELEASE}, not 6.1.0-99-amd64",
    )
    assert verify_target.target_release(make_context(), system, ko) == (RELEASE, None)
    assert verify_target.target_release(running, system, "/m/plain.ko") == ("6.18.44", None)


def test_default_ko_prefers_the_newest_build() -> None:
    ctx = make_context(module_dir="/src/hello-world", cache_dir="/cache")
    own, copy = "/src/hello-world/helloworld.ko", "/cache/modules/hello-world/helloworld.ko"
    system = FakeSystem()
    assert verify_target.default_ko(ctx, system) == own
    system.files[copy] = a_ko()
    assert verify_target.default_ko(ctx, system) == copy
    system.files[own] = a_ko()
    system.mtimes.update({own: 2.0, copy: 1.0})
    assert verify_target.default_ko(ctx, system) == own
    system.mtimes[copy] = 3.0
    assert verify_target.default_ko(ctx, system) == copy


# -- where to load -----------------------------------------------------------------------------
def test_a_kernel_without_modules_means_vm() -> None:
    ctx = make_context(running_kernel="6.18.44-fc-v782", target_kernel="6.18.44-fc-v782")
    mode, why = verify_target.choose_mode(ctx, FakeSystem(), "auto", consent=True)
    assert mode == "vm"
    assert why == (
        "the running kernel 6.18.44-fc-v782 has no loadable module support (CONFIG_MODULES=n): "
        "verifying in a VM"
    )


def test_a_module_for_another_kernel_means_vm() -> None:
    system = FakeSystem(files={"/proc/modules": "", "/proc/sys/kernel/modules_disabled": "0\n"})
    mode, why = verify_target.choose_mode(
        make_context(), system, "auto", True, release="6.1.0-99-amd64"
    )
    assert mode == "vm" and why is not None and "built for 6.1.0-99-amd64" in why


def test_a_capable_host_is_used_only_with_consent() -> None:
    system = FakeSystem(files={"/proc/modules": "", "/proc/sys/kernel/modules_disabled": "0\n"})
    ctx = make_context()
    assert verify_target.choose_mode(ctx, system, "auto", consent=True) == ("host", None)
    mode, why = verify_target.choose_mode(ctx, system, "auto", consent=False)
    assert mode == "vm" and why is not None and "only with --host or --yes" in why
    assert verify_target.choose_mode(ctx, FakeSystem(), "host", consent=True) == ("host", None)
    assert verify_target.choose_mode(ctx, system, "vm", consent=True) == ("vm", None)


# -- judging a VM run --------------------------------------------------------------------------
def judged(name: str, **boot: object) -> VerifyResult:
    fields: dict[str, object] = {
        "accel": "tcg",
        "argv": (QEMU,),
        "exit_code": 0,
        "timed_out": False,
        "error": None,
        "duration_s": 6.5,
        "timeout": 120.0,
        "console": console(name),
    }
    fields.update(boot)
    run = vm_boot.Boot(**fields)  # type: ignore[arg-type]
    base = VerifyResult(mode="vm", passed=False, summary="", kernel=RELEASE, module="/m.ko")
    return verify_vm.judge_vm(base, run, vm_console.parse_console(run.console), "helloworld")


def test_judge_success() -> None:
    result = judged("success")
    assert result.passed
    assert result.summary == "loaded, unloaded, all 3 messages in order"
    assert (result.found, result.missing) == (MESSAGES, ())
    assert (result.insmod_status, result.rmmod_status, result.insmod_error) == (0, 0, None)
    assert (result.taint, result.taint_new) == ("OE", "OE")
    assert result.timings == pytest.approx(
        {"vm_s": 6.5, "boot_s": 2.65, "insmod_s": 0.04, "rmmod_s": 0.02}
    )
    assert result.console_tail == () and result.remediation is None
    assert result.accel == "tcg"


def test_judge_missing_message() -> None:
    result = judged("missing_goodbye")
    assert not result.passed
    assert result.summary == "missing from the kernel log: 'Goodbye kernel module!'"
    assert result.found == MESSAGES[:2] and result.missing == MESSAGES[2:]
    assert (result.insmod_status, result.rmmod_status) == (0, 0)
    assert result.remediation is not None and "its exit the last" in result.remediation.text
    assert result.console_tail[-1] == "[    3.344905] reboot: Power down"


def test_judge_insmod_failure_explains_the_cause() -> None:
    result = judged("insmod_invalid_format")
    assert not result.passed
    assert result.summary.startswith(
        "insmod failed: insmod: can't insert '/helloworld.ko': invalid module format (the "
        "module was built for a different kernel"
    )
    assert result.insmod_status == 8 and result.rmmod_status is None
    assert result.insmod_error == "insmod: can't insert '/helloworld.ko': invalid module format"
    assert result.remediation is not None and "kdoctor verify --vm" in result.remediation.text
    assert result.found == () and result.taint == ""


def test_judge_oops_shows_the_crash() -> None:
    result = judged("oops_in_init")
    assert not result.passed
    assert result.summary == (
        "the kernel crashed while loading the module: BUG: kernel NULL pointer dereference, "
        "address: 0000000000000000"
    )
    assert result.insmod_error == "insmod was killed by SIGKILL"
    assert result.taint == "DOE"
    assert result.found == ("Hello kernel module!",)
    assert result.console_tail[0].endswith(
        "BUG: kernel NULL pointer dereference, address: 0000000000000000"
    )
    assert any("do_init_module" in line for line in result.console_tail)


def test_judge_panic() -> None:
    result = judged("panic_in_init")
    assert not result.passed
    assert result.summary == (
        "the kernel crashed while loading the module: Kernel panic - not syncing: "
        "helloworld gave up"
    )
    assert result.insmod_status is None and result.rmmod_status is None
    assert result.found == ("Hello kernel module!",)
    assert result.remediation == Remediation(
        "The module crashed the kernel: the log has the oops with its call trace."
    )


def test_judge_timeout() -> None:
    result = judged("timeout_in_insmod", exit_code=None, timed_out=True, timeout=20.0)
    assert not result.passed
    assert result.summary == "insmod did not return within 20 s"
    assert result.found == ("Hello kernel module!",)
    assert result.console_tail[-1] == "[    3.400607] Hello kernel module!"
    assert result.timings == pytest.approx({"vm_s": 6.5, "boot_s": 3.31})


def test_judge_no_boot_names_qemus_complaint() -> None:
    text = "qemu-system-x86_64: could not open kernel file '/boot/vmlinuz-x': Permission denied\n"
    result = judged("success", console=text, exit_code=1)
    assert result.summary == (
        "the kernel did not reach /init: qemu-system-x86_64: could not open kernel file "
        "'/boot/vmlinuz-x': Permission denied"
    )
    silent = judged("success", console="SeaBIOS\n", exit_code=None, timed_out=True)
    assert silent.summary == "the VM showed no sign of /init within 120 s"


def test_new_lines_survive_a_rotated_ring_buffer() -> None:
    assert verify_host._new_lines(["a", "b"], ["a", "b", "c"]) == ["c"]
    assert verify_host._new_lines(["a", "b"], ["b", "c", "d"]) == ["c", "d"]
