from __future__ import annotations

import json
import os
import struct
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Optional

import pytest

from kdoctor.machine.fake import FakeSystem, Reply
from kdoctor.machine.system import OutputCallback, Probe
from kdoctor.model.context import Context
from kdoctor.model.finding import Remediation
from kdoctor.pipeline import verify, vm
from kdoctor.pipeline.verify import MESSAGES, VerifyResult
from tests.conftest import make_context

CONSOLES = Path(__file__).parent / "data" / "consoles"
RELEASE = "6.1.0-56-amd64"
QEMU = "/usr/bin/qemu-system-x86_64"
VERMAGIC = b"vermagic=6.1.0-56-amd64 SMP preempt mod_unload modversions \0"


def console(name: str) -> str:
    return (CONSOLES / f"{name}.txt").read_text()


def static_elf(path: Path) -> str:
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 32, 64)
    struct.pack_into("<HH", header, 54, 56, 1)
    path.write_bytes(bytes(header) + struct.pack("<I", 1) + bytes(52))
    return str(path)


def a_ko(directory: Path, name: str = "helloworld.ko", magic: bytes = VERMAGIC) -> str:
    path = directory / name
    path.write_bytes(b"\x7fELF...license=GPL\0" + magic + b"name=helloworld\0")
    return str(path)


# -- pure pieces -------------------------------------------------------------------------------
def test_taint_letters() -> None:
    assert verify.taint_letters(12288) == "OE"
    assert verify.taint_letters(12416) == "DOE"
    assert verify.taint_letters(1 | 512) == "PW"
    assert verify.taint_letters(0) == "" and verify.taint_letters(None) == ""
    assert verify.taint_meaning("E") == "unsigned module"
    assert verify.taint_meaning("?") == "unknown"


def test_messages_must_come_in_order() -> None:
    lines = [
        "[1] Hello kernel module!",
        "[2] My message is on the heap",
        "[3] Goodbye kernel module!",
    ]
    assert verify.match_in_order(lines) == (MESSAGES, ())
    swapped = [lines[1], lines[0], lines[2]]
    assert verify.match_in_order(swapped) == (
        ("Hello kernel module!",),
        ("My message is on the heap", "Goodbye kernel module!"),
    )
    assert verify.match_in_order([]) == ((), MESSAGES)
    # a prefix such as pr_fmt's "helloworld: " does not matter
    assert verify.match_in_order([f"helloworld: {m}" for m in MESSAGES]) == (MESSAGES, ())


def test_module_name_and_release(tmp_path: Path) -> None:
    assert verify.module_name("/x/helloworld.ko") == "helloworld"
    assert verify.module_name("/x/hello-world.ko") == "hello_world"
    assert verify.module_release(a_ko(tmp_path)) == RELEASE
    assert verify.module_release(a_ko(tmp_path, "plain.ko", b"")) is None
    assert verify.module_release(str(tmp_path / "missing.ko")) is None


def test_target_release_follows_the_module_unless_a_kernel_was_named(tmp_path: Path) -> None:
    ko = a_ko(tmp_path)
    running = make_context(running_kernel="6.18.44", target_kernel="6.18.44")
    assert verify.target_release(running, ko) == (
        RELEASE,
        f"booting {RELEASE}, the kernel the module was built for",
    )
    named = make_context(target_kernel="6.1.0-99-amd64", target_source="--kernel")
    assert verify.target_release(named, ko) == (
        "6.1.0-99-amd64",
        f"the module was built for {RELEASE}, not 6.1.0-99-amd64",
    )
    assert verify.target_release(make_context(), ko) == (RELEASE, None)
    unknown = a_ko(tmp_path, "plain.ko", b"")
    assert verify.target_release(running, unknown) == ("6.18.44", None)


def test_default_ko_prefers_the_newest_build(tmp_path: Path) -> None:
    module_dir = tmp_path / "hello-world"
    module_dir.mkdir()
    ctx = make_context(module_dir=str(module_dir), cache_dir=str(tmp_path / "cache"))
    assert verify.default_ko(ctx) == str(module_dir / "helloworld.ko")
    copy_dir = tmp_path / "cache" / "modules" / "hello-world"
    copy_dir.mkdir(parents=True)
    copy = a_ko(copy_dir)
    assert verify.default_ko(ctx) == copy
    own = a_ko(module_dir)
    os.utime(copy, (1, 1))
    assert verify.default_ko(ctx) == own


# -- where to load -----------------------------------------------------------------------------
def test_a_kernel_without_modules_means_vm() -> None:
    ctx = make_context(running_kernel="6.18.44-fc-v782", target_kernel="6.18.44-fc-v782")
    mode, why = verify.choose_mode(ctx, FakeSystem(), "auto", consent=True)
    assert mode == "vm"
    assert why == (
        "the running kernel 6.18.44-fc-v782 has no loadable module support (CONFIG_MODULES=n): "
        "verifying in a VM"
    )


def test_a_module_for_another_kernel_means_vm() -> None:
    system = FakeSystem(files={"/proc/modules": "", "/proc/sys/kernel/modules_disabled": "0\n"})
    mode, why = verify.choose_mode(make_context(), system, "auto", True, release="6.1.0-99-amd64")
    assert mode == "vm" and why is not None and "built for 6.1.0-99-amd64" in why


def test_a_capable_host_is_used_only_with_consent() -> None:
    system = FakeSystem(files={"/proc/modules": "", "/proc/sys/kernel/modules_disabled": "0\n"})
    ctx = make_context()
    assert verify.choose_mode(ctx, system, "auto", consent=True) == ("host", None)
    mode, why = verify.choose_mode(ctx, system, "auto", consent=False)
    assert mode == "vm" and why is not None and "only with --host or --yes" in why
    assert verify.choose_mode(ctx, FakeSystem(), "host", consent=True) == ("host", None)
    assert verify.choose_mode(ctx, system, "vm", consent=True) == ("vm", None)


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
    run = vm.Boot(**fields)  # type: ignore[arg-type]
    base = VerifyResult(mode="vm", passed=False, summary="", kernel=RELEASE, module="/m.ko")
    return verify.judge_vm(base, run, vm.parse_console(run.console), "helloworld")


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


# -- a whole VM run against a scripted qemu ----------------------------------------------------
class ScriptedQemu(FakeSystem):
    """qemu answers, one run after another, from ``script``."""

    def __init__(self, script: Sequence[Reply], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.script = list(script)
        self.qemu_runs: list[tuple[tuple[str, ...], Optional[float]]] = []
        self.initrds: list[bytes] = []

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: Optional[float] = None,
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        on_output: Optional[OutputCallback] = None,
    ) -> Probe:
        if argv[0] != QEMU:
            return super().run(argv, timeout=timeout, cwd=cwd, env=env, on_output=on_output)
        self.runs.append(tuple(argv))
        self.qemu_runs.append((tuple(argv), timeout))
        self.initrds.append(Path(argv[argv.index("-initrd") + 1]).read_bytes())
        reply = self.script.pop(0)
        if on_output is not None:
            for line in reply.stdout.splitlines(keepends=True):
                on_output(line)
        code = None if reply.timed_out else reply.exit_code
        return Probe(tuple(argv), code, reply.stdout, timed_out=reply.timed_out, duration_ms=900)


ABORT = Reply(
    stdout="qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: "
    "Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n",
    exit_code=-6,
)


def machine(tmp_path: Path, script: Sequence[Reply], **files: str) -> tuple[ScriptedQemu, str]:
    busybox = static_elf(tmp_path / "busybox")
    system = ScriptedQemu(
        script,
        programs={"qemu-system-x86_64": QEMU, "busybox": busybox},
        files={f"/boot/vmlinuz-{RELEASE}": "", "/dev/kvm": "", **files},
    )
    return system, a_ko(tmp_path)


def vm_ctx(tmp_path: Path) -> Context:
    return make_context(cache_dir=str(tmp_path / "cache"), running_kernel="6.18.44-fc-v782")


def test_kvm_abort_falls_back_to_tcg_and_is_remembered(tmp_path: Path) -> None:
    system, ko = machine(tmp_path, [ABORT, Reply(stdout=console("success"))])
    ctx = vm_ctx(tmp_path)
    steps: list[str] = []
    result = verify.verify_vm(ctx, system, ko, release=RELEASE, on_step=steps.append)
    assert result.passed and result.accel == "tcg"
    fallback = (
        "KVM did not work (qemu was killed by SIGABRT: qemu-system-x86_64: "
        "../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == "
        "cpu->kvm_msr_buf->nmsrs' failed.): fell back to TCG"
    )
    assert result.notes == (fallback,)
    assert steps == [
        f"booting {RELEASE} in qemu (KVM)",
        fallback,
        f"booting {RELEASE} in qemu (TCG)",
    ]
    (kvm_argv, kvm_timeout), (tcg_argv, tcg_timeout) = system.qemu_runs
    assert kvm_argv[1:5] == ("-accel", "kvm", "-cpu", "host") and kvm_timeout == vm.KVM_WINDOW
    assert tcg_argv[1:3] == ("-accel", "tcg") and tcg_timeout == vm.DEFAULT_TIMEOUT
    assert kvm_argv[kvm_argv.index("-kernel") + 1] == f"/boot/vmlinuz-{RELEASE}"
    verdict = json.loads((tmp_path / "cache" / "kvm.json").read_text())
    assert verdict["6.18.44-fc-v782"]["works"] is False
    assert result.timings["kvm_attempt_s"] == pytest.approx(0.9)
    # both consoles are in the log; the work directory is gone
    assert result.log_path is not None
    log = Path(result.log_path).read_text()
    assert "kvm_buf_set_msrs" in log and "@@kdoctor:done" in log
    assert Path(result.log_path).parent == tmp_path / "cache" / "logs"
    assert Path(result.log_path).name.startswith("verify-")
    assert os.listdir(tmp_path / "cache" / "tmp") == []
    # qemu is all that ran: the image in /boot was only read
    assert [argv[0] for argv in system.runs] == [QEMU, QEMU]


def test_the_initramfs_carries_the_module_and_the_script(tmp_path: Path) -> None:
    system, ko = machine(tmp_path, [Reply(stdout=console("success"))])
    verify.verify_vm(vm_ctx(tmp_path), system, ko, release=RELEASE, accel="tcg")
    from kdoctor.pipeline.initramfs import read_gzip

    entries = {e.name: e for e in read_gzip(system.initrds[0])}
    assert entries["helloworld.ko"].data == Path(ko).read_bytes()
    assert b"insmod /helloworld.ko" in entries["init"].data
    assert b"rmmod helloworld" in entries["init"].data


def test_a_remembered_kvm_failure_goes_straight_to_tcg(tmp_path: Path) -> None:
    system, ko = machine(tmp_path, [Reply(stdout=console("success"))])
    ctx = vm_ctx(tmp_path)
    vm.remember_kvm(ctx.cache_dir, ctx.running_kernel, False, "qemu was killed by SIGABRT")
    result = verify.verify_vm(ctx, system, ko, release=RELEASE)
    assert result.passed and len(system.qemu_runs) == 1
    assert system.qemu_runs[0][0][1:3] == ("-accel", "tcg")
    assert result.notes[0].startswith("KVM failed on this host before")
    assert "kvm_attempt_s" not in result.timings


def test_working_kvm_is_used_and_remembered(tmp_path: Path) -> None:
    system, ko = machine(tmp_path, [Reply(stdout=console("success"))])
    ctx = vm_ctx(tmp_path)
    result = verify.verify_vm(ctx, system, ko, release=RELEASE)
    assert result.passed and result.accel == "kvm" and result.notes == ()
    assert vm.kvm_verdict(ctx.cache_dir, ctx.running_kernel) == (True, "")


def test_kvm_that_boots_but_fails_is_a_real_failure_not_a_fallback(tmp_path: Path) -> None:
    system, ko = machine(tmp_path, [Reply(stdout=console("insmod_invalid_format"))])
    result = verify.verify_vm(vm_ctx(tmp_path), system, ko, release=RELEASE)
    assert not result.passed and result.accel == "kvm" and len(system.qemu_runs) == 1


def test_forced_kvm_does_not_fall_back(tmp_path: Path) -> None:
    system, ko = machine(tmp_path, [ABORT])
    result = verify.verify_vm(vm_ctx(tmp_path), system, ko, release=RELEASE, accel="kvm")
    assert not result.passed and len(system.qemu_runs) == 1
    assert system.qemu_runs[0][1] == vm.DEFAULT_TIMEOUT
    assert result.summary.startswith("the kernel did not reach /init: qemu-system-x86_64: ")


def test_timeout_is_passed_to_qemu(tmp_path: Path) -> None:
    hung = Reply(stdout=console("timeout_in_insmod"), timed_out=True)
    system, ko = machine(tmp_path, [hung])
    result = verify.verify_vm(
        vm_ctx(tmp_path), system, ko, release=RELEASE, accel="tcg", timeout=20
    )
    assert system.qemu_runs[0][1] == 20
    assert result.summary == "insmod did not return within 20 s"


def test_missing_qemu_busybox_or_module_stop_before_booting(tmp_path: Path) -> None:
    ctx = vm_ctx(tmp_path)
    system, ko = machine(tmp_path, [])
    del system.programs["qemu-system-x86_64"]
    result = verify.verify_vm(ctx, system, ko, release=RELEASE)
    assert result.summary == "qemu-system-x86_64 is not installed"
    assert result.remediation == Remediation(
        "Install qemu.", ("apt-get install -y --no-install-recommends qemu-system-x86",)
    )

    system, ko = machine(tmp_path, [])
    del system.programs["busybox"]
    result = verify.verify_vm(ctx, system, ko, release=RELEASE)
    assert result.summary == "no busybox: the VM needs a statically linked busybox"
    assert result.remediation is not None
    assert result.remediation.commands == (
        "apt-get install -y --no-install-recommends busybox-static",
    )

    system, _ = machine(tmp_path, [])
    result = verify.verify_vm(ctx, system, str(tmp_path / "nope.ko"), release=RELEASE)
    assert result.summary == f"no module at {tmp_path / 'nope.ko'}"
    assert result.remediation == Remediation(
        "Build it first, or name the .ko with --ko.", ("kdoctor build",)
    )
    assert not result.passed and system.runs == []


def test_no_kernel_image_is_reported_with_the_next_step(tmp_path: Path) -> None:
    system, ko = machine(tmp_path, [])
    del system.files[f"/boot/vmlinuz-{RELEASE}"]
    system.programs.update({"apt-get": "/usr/bin/apt-get", "apt-cache": "/usr/bin/apt-cache"})
    system.programs["dpkg-deb"] = "/usr/bin/dpkg-deb"
    result = verify.verify_vm(vm_ctx(tmp_path), system, ko, release="6.18.44-fc-v782")
    assert not result.passed and system.qemu_runs == []
    assert result.summary.startswith("apt knows no package linux-image-6.18.44-fc-v782")
    assert result.remediation is not None and "apt-get update" in result.remediation.commands


# -- the running kernel ------------------------------------------------------------------------
BOOT_LOG = "[    0.000000] Linux version 6.1.0-56-amd64\n[    1.000000] Run /init as init process\n"
LOADED_LOG = BOOT_LOG + "".join(f"[    9.{i}00000] {m}\n" for i, m in enumerate(MESSAGES, start=1))


class HostKernel(FakeSystem):
    """insmod taints the kernel and makes dmesg grow; answers otherwise come from ``commands``."""

    def __init__(self, logs: Sequence[str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.logs = list(logs)

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: Optional[float] = None,
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        on_output: Optional[OutputCallback] = None,
    ) -> Probe:
        words = [a for a in argv if a not in ("sudo", "-n")]
        if words[0] == "dmesg":
            self.runs.append(tuple(argv))
            return Probe(tuple(argv), 0, self.logs.pop(0))
        result = super().run(argv, timeout=timeout, cwd=cwd, env=env, on_output=on_output)
        if words[0] == "insmod" and result.ok:
            self.files["/proc/sys/kernel/tainted"] = "12288\n"
        return result


def host(tmp_path: Path, insmod: Reply, *, root: bool = True) -> tuple[HostKernel, str, Context]:
    ko = a_ko(tmp_path)
    sudo = "" if root else "sudo -n "
    system = HostKernel(
        [BOOT_LOG, LOADED_LOG],
        programs={
            "insmod": "/usr/sbin/insmod",
            "rmmod": "/usr/sbin/rmmod",
            "dmesg": "/usr/bin/dmesg",
            "sudo": "/usr/bin/sudo",
        },
        commands={f"{sudo}insmod {ko}": insmod, f"{sudo}rmmod helloworld": ""},
        files={"/proc/sys/kernel/tainted": "0\n"},
    )
    return system, ko, make_context(cache_dir=str(tmp_path / "cache"), is_root=root)


def test_host_success(tmp_path: Path) -> None:
    system, ko, ctx = host(tmp_path, Reply())
    result = verify.verify_host(ctx, system, ko)
    assert result.passed and result.mode == "host" and result.kernel == RELEASE
    assert (result.found, result.missing) == (MESSAGES, ())
    assert (result.taint, result.taint_new) == ("OE", "OE")
    assert system.runs == [("dmesg",), ("insmod", ko), ("rmmod", "helloworld"), ("dmesg",)]
    assert result.log_path is not None and "insmod" in Path(result.log_path).read_text()


def test_host_without_root_uses_sudo_without_a_prompt(tmp_path: Path) -> None:
    system, ko, ctx = host(tmp_path, Reply(), root=False)
    assert verify.verify_host(ctx, system, ko).passed
    assert ("sudo", "-n", "insmod", ko) in system.runs


def test_host_sudo_wanting_a_password(tmp_path: Path) -> None:
    said = Reply(stderr="sudo: a password is required\n", exit_code=1)
    system, ko, ctx = host(tmp_path, said, root=False)
    result = verify.verify_host(ctx, system, ko)
    assert not result.passed
    assert result.summary == (
        "sudo cannot run insmod without a password: sudo: a password is required"
    )
    assert result.remediation == Remediation("Authenticate first, then rerun.", ("sudo -v",))


@pytest.mark.parametrize(
    ("said", "cause"),
    [
        ("Key was rejected by service", "the kernel enforces module signatures"),
        ("Required key not available", "the kernel requires a module signature"),
        ("Operation not permitted", "insmod ran without root, module loading is disabled"),
        ("Invalid module format", "the module was built for a different kernel"),
        ("File exists", "a module with the same name is already loaded"),
    ],
)
def test_host_insmod_failures_are_explained(tmp_path: Path, said: str, cause: str) -> None:
    error = f"insmod: ERROR: could not insert module {tmp_path}/helloworld.ko: {said}"
    system, ko, ctx = host(tmp_path, Reply(stderr=error + "\n", exit_code=1))
    result = verify.verify_host(ctx, system, ko)
    assert not result.passed and result.insmod_status == 1 and result.rmmod_status is None
    assert result.insmod_error == error
    assert result.summary.startswith(f"insmod failed: {error} ({cause}")
    assert ("rmmod", "helloworld") not in system.runs
    assert result.remediation is not None
    if said == "File exists":
        assert result.remediation.commands == ("rmmod helloworld",)


def test_host_missing_message(tmp_path: Path) -> None:
    system, ko, ctx = host(tmp_path, Reply())
    system.logs = [BOOT_LOG, BOOT_LOG + "[    9.1] Hello kernel module!\n"]
    result = verify.verify_host(ctx, system, ko)
    assert not result.passed
    assert result.missing == MESSAGES[1:]
    assert result.summary == (
        "missing from the kernel log: 'My message is on the heap', 'Goodbye kernel module!'"
    )


def test_new_lines_survive_a_rotated_ring_buffer() -> None:
    assert verify._new_lines(["a", "b"], ["a", "b", "c"]) == ["c"]
    assert verify._new_lines(["a", "b"], ["b", "c", "d"]) == ["c", "d"]
