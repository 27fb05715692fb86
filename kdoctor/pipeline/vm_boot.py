"""Booting the throwaway qemu guest: its command line and one run of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Optional

from kdoctor.machine.system import System
from kdoctor.pipeline.vm_console import ANSI

QEMU = "qemu-system-x86_64"
MEMORY_MB = 512
#: how long a KVM attempt may take before kdoctor gives up on KVM and boots with TCG;
#: a working KVM guest gets through the whole run in a few seconds
KVM_WINDOW = 15.0
DEFAULT_TIMEOUT = 120.0


def kernel_cmdline() -> str:
    return "console=ttyS0 panic=-1 rdinit=/init"


def qemu_argv(qemu: str, kernel: str, initrd: str, accel: str) -> list[str]:
    argv = [qemu, "-accel", accel]
    if accel == "kvm":
        argv += ["-cpu", "host"]
    return [
        *argv,
        "-m",
        str(MEMORY_MB),
        "-smp",
        "1",
        "-nographic",
        "-no-reboot",
        "-nic",
        "none",
        "-kernel",
        kernel,
        "-initrd",
        initrd,
        "-append",
        kernel_cmdline(),
    ]


@dataclass(frozen=True)
class Boot:
    """One qemu run."""

    accel: str
    argv: tuple[str, ...]
    exit_code: Optional[int]
    timed_out: bool
    error: Optional[str]
    duration_s: float
    timeout: float
    console: str


def boot(
    system: System,
    argv: Sequence[str],
    *,
    accel: str,
    timeout: float,
    on_console: Optional[Callable[[str], None]] = None,
) -> Boot:
    chunks: list[str] = []

    def relay(line: str) -> None:
        chunks.append(line)
        if on_console is not None:  # without escapes: SeaBIOS's ESC c would reset a terminal
            on_console(ANSI.sub("", line).replace("\r", ""))

    probe = system.run(argv, timeout=timeout, on_output=relay)
    return Boot(
        accel=accel,
        argv=tuple(argv),
        exit_code=probe.exit_code,
        timed_out=probe.timed_out,
        error=probe.error,
        duration_s=probe.duration_ms / 1000,
        timeout=timeout,
        console="".join(chunks) or probe.output,
    )
