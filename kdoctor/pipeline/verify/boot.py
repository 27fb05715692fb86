"""Booting the throwaway qemu guest: its command line and one run of it."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Optional

from kdoctor.machine.system import System
from kdoctor.pipeline.verify.console import ANSI

QEMU = "qemu-system-x86_64"
MEMORY_MB = 512
#: how long a KVM attempt may take before kdoctor gives up on KVM and boots with TCG;
#: a working KVM guest gets through the whole run in a few seconds
KVM_WINDOW = 15.0
#: how long a KVM guest may stay silent before kdoctor stops it: a working KVM guest's kernel
#: prints its first line within a second of SeaBIOS; under nested virtualisation that hangs,
#: it never does (the attempt would otherwise wait the whole KVM_WINDOW)
KVM_SPEAK_WINDOW = 6.0
#: the kernel's first console line
KERNEL_FIRST_LINE = "Linux version "


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
    #: stopped because the kernel printed nothing within this many seconds (None: it spoke,
    #: or no such watch was asked)
    silent: Optional[float] = None


def boot(
    system: System,
    argv: Sequence[str],
    *,
    accel: str,
    timeout: float,
    on_console: Optional[Callable[[str], None]] = None,
    speak_within: Optional[float] = None,
    stop: Optional[threading.Event] = None,
) -> Boot:
    """One run of qemu; with ``speak_within``, stopped early when the kernel has printed
    nothing by then; setting ``stop`` stops it at once (its whole process group)."""
    chunks: list[str] = []
    if stop is None and speak_within:
        stop = threading.Event()
    silent: list[float] = []

    def check_spoke() -> None:
        if not any(KERNEL_FIRST_LINE in chunk for chunk in list(chunks)):
            silent.append(speak_within or 0.0)
            if stop is not None:
                stop.set()

    watch = threading.Timer(speak_within, check_spoke) if speak_within else None
    if watch is not None:
        watch.daemon = True
        watch.start()

    def relay(line: str) -> None:
        chunks.append(line)
        if on_console is not None:  # without escapes: SeaBIOS's ESC c would reset a terminal
            on_console(ANSI.sub("", line).replace("\r", ""))

    try:
        if stop is None:
            probe = system.run(argv, timeout=timeout, on_output=relay)
        else:
            probe = system.run(argv, timeout=timeout, on_output=relay, stop=stop)
    finally:
        if watch is not None:
            watch.cancel()
    return Boot(
        accel=accel,
        argv=tuple(argv),
        exit_code=probe.exit_code,
        timed_out=probe.timed_out,
        error=probe.error,
        duration_s=probe.duration_ms / 1000,
        timeout=timeout,
        console="".join(chunks) or probe.output,
        silent=silent[0] if silent and probe.timed_out else None,
    )


def attempt(
    system: System,
    argv: Sequence[str],
    *,
    accel: str,
    timeout: float,
    then_tcg: bool,
    on_console: Optional[Callable[[str], None]] = None,
    stop: Optional[threading.Event] = None,
) -> Boot:
    """One boot of ``accel``; an attempt TCG takes over from when it fails (``then_tcg``) gets
    at most :data:`KVM_WINDOW` and is stopped once its kernel stays silent for
    :data:`KVM_SPEAK_WINDOW`."""
    return boot(
        system,
        argv,
        accel=accel,
        timeout=min(timeout, KVM_WINDOW) if then_tcg else timeout,
        on_console=on_console,
        speak_within=KVM_SPEAK_WINDOW if then_tcg else None,
        stop=stop,
    )
