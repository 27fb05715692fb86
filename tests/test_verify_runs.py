"""Whole verify runs against a fake machine: a scripted qemu (one reply per boot) and a host
kernel whose insmod taints it and grows its log; both attached as FakeSystem handlers."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Optional, Union

import pytest

from kdoctor.knowledge.packages import image_package_names
from kdoctor.model.context import Context
from kdoctor.model.finding import Remediation
from kdoctor.pipeline.verify import DEFAULT_TIMEOUT
from kdoctor.pipeline.verify import accel as vm_accel
from kdoctor.pipeline.verify import boot as vm_boot
from kdoctor.pipeline.verify import host as verify_host
from kdoctor.pipeline.verify import vm as verify_vm
from kdoctor.pipeline.verify.initramfs import read_gzip
from kdoctor.pipeline.verify.result import MESSAGES
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply, apt_unknown
from tests.test_verify import QEMU, RELEASE, a_ko, console, static_elf

CACHE = "/home/me/.cache/kdoctor"
KO = "/src/hello-world/helloworld.ko"
BUSYBOX = "/usr/bin/busybox"


# -- a whole VM run against a scripted qemu ----------------------------------------------------
Script = Union[Sequence[Reply], Mapping[str, Reply]]


class ScriptedQemu:
    """qemu answers from ``script``: a list, one reply per run in turn; or a reply per
    accelerator, for KVM and TCG booted at once (a TCG guest without one is still booting when
    it is stopped). Each run's initramfs is kept."""

    def __init__(self, system: FakeSystem, script: Script) -> None:
        self.system = system
        self.script = dict(script) if isinstance(script, Mapping) else list(script)
        self.initrds: list[bytes] = []
        self._lock = threading.Lock()

    def __call__(self, argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        initrd = self.system.read_bytes(argv[argv.index("-initrd") + 1])
        assert initrd is not None
        with self._lock:
            self.initrds.append(initrd)
            if isinstance(self.script, list):
                return self.script.pop(0)
            return self.script.pop(argv[argv.index("-accel") + 1], STILL_BOOTING)


def success() -> Reply:
    return Reply(stdout=console("success"))


STILL_BOOTING = Reply(stdout=console("success").split("Run /init")[0], timed_out=True)


def machine(script: Script, **files: str) -> tuple[FakeSystem, ScriptedQemu]:
    system = FakeSystem(
        programs={"qemu-system-x86_64": QEMU, "busybox": BUSYBOX},
        files={
            f"/boot/vmlinuz-{RELEASE}": "",
            "/dev/kvm": "",
            BUSYBOX: static_elf(),
            KO: a_ko(),
            **files,
        },
    )
    qemu = ScriptedQemu(system, script)
    if script:  # no script: qemu is not to be run at all
        system.handlers[QEMU] = qemu
    return system, qemu


def qemu_runs(system: FakeSystem) -> list[tuple[tuple[str, ...], Optional[float]]]:
    """(argv, timeout) of every qemu run, KVM's first (two guests may end in either order)."""
    runs = [(p.argv, p.timeout) for p in system.probes() if p.argv[0] == QEMU]
    return sorted(runs, key=lambda run: run[0][run[0].index("-accel") + 1] != "kvm")


def vm_ctx() -> Context:
    return make_context(cache_dir=CACHE, running_kernel="6.18.44-fc-v782")


ABORT = Reply(
    stdout="qemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: "
    "Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n",
    exit_code=-6,
)


def test_kvm_abort_falls_back_to_tcg_and_is_remembered() -> None:
    system, _ = machine({"kvm": replace(ABORT, duration_ms=900), "tcg": success()})
    ctx, ko = vm_ctx(), KO
    steps: list[str] = []
    result = verify_vm.verify_vm(ctx, system, ko, release=RELEASE, on_step=steps.append)
    assert result.passed and result.accel == "tcg"
    fallback = (
        "KVM did not work (qemu was killed by SIGABRT: qemu-system-x86_64: "
        "../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == "
        "cpu->kvm_msr_buf->nmsrs' failed.): fell back to TCG"
    )
    assert result.notes == (fallback,)
    assert steps == [f"booting {RELEASE} in qemu with KVM and TCG at once", fallback]
    (kvm_argv, kvm_timeout), (tcg_argv, tcg_timeout) = qemu_runs(system)
    assert kvm_argv[1:5] == ("-accel", "kvm", "-cpu", "host") and kvm_timeout == vm_boot.KVM_WINDOW
    assert tcg_argv[1:3] == ("-accel", "tcg") and tcg_timeout == DEFAULT_TIMEOUT
    assert kvm_argv[kvm_argv.index("-kernel") + 1] == f"/boot/vmlinuz-{RELEASE}"
    verdict = json.loads(system.read_text(f"{CACHE}/kvm.json") or "")
    assert verdict["6.18.44-fc-v782"]["works"] is False
    assert result.timings["kvm_attempt_s"] == pytest.approx(0.9)
    # both consoles are in the log; the work directory is gone
    assert result.log_path is not None
    log = system.read_text(result.log_path) or ""
    assert "kvm_buf_set_msrs" in log and "@@kdoctor:done" in log
    assert result.log_path.startswith(f"{CACHE}/logs/verify-")
    assert system.listdir(f"{CACHE}/tmp") == []
    # what changed on the machine: a work directory (made and removed), kvm.json, the log
    kinds = [(kind, path.rsplit("/", 1)[-1]) for path, kind in system.writes]
    assert kinds == [
        ("tempdir", "verify-0001"),
        ("write", "initrd.cpio.gz"),
        ("write", "kvm.json"),
        ("remove", "verify-0001"),
        ("mkdir", "logs"),
        ("write", result.log_path.rsplit("/", 1)[-1]),
    ]
    # qemu is all that ran: the image in /boot was only read
    assert [argv[0] for argv in system.runs] == [QEMU, QEMU]


def test_the_initramfs_carries_the_module_and_the_script() -> None:
    system, qemu = machine([Reply(stdout=console("success"))])
    verify_vm.verify_vm(vm_ctx(), system, KO, release=RELEASE, accel="tcg")
    entries = {e.name: e for e in read_gzip(qemu.initrds[0])}
    assert entries["helloworld.ko"].data == a_ko()
    assert b"insmod /helloworld.ko" in entries["init"].data
    assert b"rmmod helloworld" in entries["init"].data


def test_a_remembered_kvm_failure_goes_straight_to_tcg() -> None:
    system, _ = machine([Reply(stdout=console("success"))])
    ctx, ko = vm_ctx(), KO
    vm_accel.remember_kvm(
        system, ctx.cache_dir, ctx.running_kernel, False, "qemu was killed by SIGABRT"
    )
    result = verify_vm.verify_vm(ctx, system, ko, release=RELEASE)
    assert result.passed and len(qemu_runs(system)) == 1
    assert qemu_runs(system)[0][0][1:3] == ("-accel", "tcg")
    assert result.notes[0].startswith("KVM failed on this host before")
    assert "kvm_attempt_s" not in result.timings


def test_working_kvm_is_used_and_remembered() -> None:
    system, _ = machine({"kvm": success()})
    ctx, ko = vm_ctx(), KO
    result = verify_vm.verify_vm(ctx, system, ko, release=RELEASE)
    assert result.passed and result.accel == "kvm" and result.notes == ()
    assert vm_accel.kvm_verdict(system, ctx.cache_dir, ctx.running_kernel) == (True, "")


def test_kvm_that_boots_but_fails_is_a_real_failure_not_a_fallback() -> None:
    system, _ = machine({"kvm": Reply(stdout=console("insmod_invalid_format"))})
    result = verify_vm.verify_vm(vm_ctx(), system, KO, release=RELEASE)
    assert not result.passed and result.accel == "kvm" and result.notes == ()
    assert "kvm_attempt_s" not in result.timings  # TCG's guest, stopped, is not judged


def test_forced_kvm_does_not_fall_back() -> None:
    system, _ = machine([ABORT])
    result = verify_vm.verify_vm(vm_ctx(), system, KO, release=RELEASE, accel="kvm")
    assert not result.passed and len(qemu_runs(system)) == 1
    assert qemu_runs(system)[0][1] == DEFAULT_TIMEOUT
    assert result.summary.startswith("the kernel did not reach /init: qemu-system-x86_64: ")


def test_timeout_is_passed_to_qemu() -> None:
    hung = Reply(stdout=console("timeout_in_insmod"), timed_out=True)
    system, _ = machine([hung])
    result = verify_vm.verify_vm(vm_ctx(), system, KO, release=RELEASE, accel="tcg", timeout=20)
    assert qemu_runs(system)[0][1] == 20
    assert result.summary == "insmod did not return within 20 s"


def test_missing_qemu_busybox_or_module_stop_before_booting() -> None:
    ctx, ko = vm_ctx(), KO
    system, _ = machine([])
    del system.programs["qemu-system-x86_64"]
    result = verify_vm.verify_vm(ctx, system, ko, release=RELEASE)
    assert result.summary == "qemu-system-x86_64 is not installed"
    assert result.remediation == Remediation(
        "Install qemu.", ("apt-get install -y --no-install-recommends qemu-system-x86",)
    )

    system, _ = machine([])
    del system.programs["busybox"]
    result = verify_vm.verify_vm(ctx, system, ko, release=RELEASE)
    assert result.summary == "no busybox: the VM needs a statically linked busybox"
    assert result.remediation is not None
    assert result.remediation.commands == (
        "apt-get install -y --no-install-recommends busybox-static",
    )

    system, _ = machine([])
    result = verify_vm.verify_vm(ctx, system, "/nope.ko", release=RELEASE)
    assert result.summary == "no module at /nope.ko"
    assert result.remediation == Remediation(
        "Build it first, or name the .ko with --ko.", ("kdoctor build",)
    )
    assert not result.passed and system.runs == [] and system.writes == []


def test_no_kernel_image_is_reported_with_the_next_step() -> None:
    system, _ = machine([])
    del system.files[f"/boot/vmlinuz-{RELEASE}"]
    system.programs.update({"apt-get": "/usr/bin/apt-get", "apt-cache": "/usr/bin/apt-cache"})
    system.programs["dpkg-deb"] = "/usr/bin/dpkg-deb"
    system.commands.update(apt_unknown(*image_package_names("apt", "6.18.44-fc-v782")))
    result = verify_vm.verify_vm(vm_ctx(), system, KO, release="6.18.44-fc-v782")
    assert not result.passed and qemu_runs(system) == []
    assert result.summary.startswith("apt knows no package linux-image-6.18.44-fc-v782")
    assert result.remediation is not None and "apt-get update" in result.remediation.commands


# -- the running kernel ------------------------------------------------------------------------
BOOT_LOG = "[    0.000000] Linux version 6.1.0-56-amd64\n[    1.000000] Run /init as init process\n"
LOADED_LOG = BOOT_LOG + "".join(f"[    9.{i}00000] {m}\n" for i, m in enumerate(MESSAGES, start=1))


def host(
    insmod: Reply, *, root: bool = True, logs: Sequence[str] = (BOOT_LOG, LOADED_LOG)
) -> tuple[FakeSystem, str, Context]:
    """insmod (through ``sudo -n`` unless root) answers ``insmod`` and taints the kernel, each
    dmesg says the next of ``logs``, and rmmod, when it comes to that, succeeds."""
    sudo = "" if root else "sudo -n "
    system = FakeSystem(
        programs={
            "insmod": "/usr/sbin/insmod",
            "rmmod": "/usr/sbin/rmmod",
            "dmesg": "/usr/bin/dmesg",
            "sudo": "/usr/bin/sudo",
        },
        maybe={f"{sudo}rmmod helloworld": ""},
        files={"/proc/sys/kernel/tainted": "0\n", KO: a_ko()},
    )
    remaining = list(logs)

    def dmesg(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        return Reply(stdout=remaining.pop(0))

    def load(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        if insmod.exit_code == 0:
            system.files["/proc/sys/kernel/tainted"] = "12288\n"
        return insmod

    system.handlers.update({f"{sudo}dmesg": dmesg, f"{sudo}insmod {KO}": load})
    return system, KO, make_context(cache_dir=CACHE, is_root=root)


def test_host_success() -> None:
    system, ko, ctx = host(Reply())
    result = verify_host.verify_host(ctx, system, ko)
    assert result.passed and result.mode == "host" and result.kernel == RELEASE
    assert (result.found, result.missing) == (MESSAGES, ())
    assert (result.taint, result.taint_new) == ("OE", "OE")
    assert system.runs == [("dmesg",), ("insmod", ko), ("rmmod", "helloworld"), ("dmesg",)]
    assert result.log_path is not None and "insmod" in (system.read_text(result.log_path) or "")
    assert system.writes == [(f"{CACHE}/logs", "mkdir"), (result.log_path, "write")]


def test_host_without_root_uses_sudo_without_a_prompt() -> None:
    system, ko, ctx = host(Reply(), root=False)
    assert verify_host.verify_host(ctx, system, ko).passed
    assert ("sudo", "-n", "insmod", ko) in system.runs


def test_host_sudo_wanting_a_password() -> None:
    said = Reply(stderr="sudo: a password is required\n", exit_code=1)
    system, ko, ctx = host(said, root=False)
    result = verify_host.verify_host(ctx, system, ko)
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
def test_host_insmod_failures_are_explained(said: str, cause: str) -> None:
    error = f"insmod: ERROR: could not insert module {KO}: {said}"
    system, ko, ctx = host(Reply(stderr=error + "\n", exit_code=1))
    result = verify_host.verify_host(ctx, system, ko)
    assert not result.passed and result.insmod_status == 1 and result.rmmod_status is None
    assert result.insmod_error == error
    assert result.summary.startswith(f"insmod failed: {error} ({cause}")
    assert ("rmmod", "helloworld") not in system.runs
    assert result.remediation is not None
    if said == "File exists":
        assert result.remediation.commands == ("rmmod helloworld",)


def test_host_missing_message() -> None:
    system, ko, ctx = host(Reply(), logs=[BOOT_LOG, BOOT_LOG + "[    9.1] Hello kernel module!\n"])
    result = verify_host.verify_host(ctx, system, ko)
    assert not result.passed
    assert result.missing == MESSAGES[1:]
    assert result.summary == (
        "missing from the kernel log: 'My message is on the heap', 'Goodbye kernel module!'"
    )


def test_new_lines_survive_a_rotated_ring_buffer() -> None:
    assert verify_host._new_lines(["a", "b"], ["a", "b", "c"]) == ["c"]
    assert verify_host._new_lines(["a", "b"], ["b", "c", "d"]) == ["c", "d"]
