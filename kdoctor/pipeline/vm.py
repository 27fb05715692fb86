"""A throwaway qemu guest: the target kernel, a busybox initramfs that loads and unloads one
module, and a parser for what the guest prints on its serial console.

The guest's ``/init`` talks to the host through marker lines (``@@kdoctor:<event> k=v ...``)
on the console; :func:`parse_console` reads them back together with the kernel log dump.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Callable, Optional

from kdoctor.facts import images
from kdoctor.facts.images import BUSYBOX_PLACES, Busybox
from kdoctor.machine.files import write_atomic
from kdoctor.machine.system import System
from kdoctor.pipeline.initramfs import Archive

QEMU = "qemu-system-x86_64"
MEMORY_MB = 512
#: how long a KVM attempt may take before kdoctor gives up on KVM and boots with TCG;
#: a working KVM guest gets through the whole run in a few seconds
KVM_WINDOW = 15.0
DEFAULT_TIMEOUT = 120.0
ACCELS = ("auto", "kvm", "tcg")

MARK = "@@kdoctor:"
APPLETS = ("sh", "mount", "cat", "insmod", "rmmod", "dmesg", "poweroff")

_PRELUDE = f"""#!/bin/sh
# written by kdoctor: load one module, unload it, dump the kernel log, power off
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mark() {{ read up rest < /proc/uptime; echo "{MARK}$1 t=$up $2"; }}
mark boot
"""

_POWEROFF = f"""mark done
poweroff -f
echo "{MARK}poweroff-failed"
"""


def init_script(ko_name: str, module: str) -> str:
    """The guest's ``/init`` for a module at ``/<ko_name>`` whose kernel name is ``module``."""
    ko = shlex.quote("/" + ko_name)
    return (
        _PRELUDE
        + f"""echo "{MARK}taint-before value=$(cat /proc/sys/kernel/tainted)"
insmod {ko}
rc=$?
mark insmod "rc=$rc"
echo "{MARK}taint value=$(cat /proc/sys/kernel/tainted)"
if [ "$rc" = 0 ]; then
    rmmod {shlex.quote(module)}
    rc=$?
    mark rmmod "rc=$rc"
else
    echo "{MARK}rmmod skipped=insmod-failed"
fi
echo "{MARK}dmesg-begin"
dmesg
echo "{MARK}dmesg-end"
"""
        + _POWEROFF
    )


def bare_init_script() -> str:
    """An ``/init`` that only boots and powers off: the baseline a verify run is compared to."""
    return _PRELUDE + _POWEROFF


def find_busybox(system: System, places: Sequence[str] = BUSYBOX_PLACES) -> Optional[Busybox]:
    """A busybox to put in the guest, a statically linked one when there is one."""
    return images.find_busybox(system, is_static_elf, places, canonical=os.path.realpath)


def is_static_elf(path: str) -> bool:
    """True for a 64-bit ELF executable without a program interpreter (statically linked)."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(64)
            if len(header) < 64 or header[:4] != b"\x7fELF" or header[4] != 2:
                return False
            order = "<" if header[5] == 1 else ">"
            phoff = struct.unpack_from(order + "Q", header, 32)[0]
            phentsize, phnum = struct.unpack_from(order + "HH", header, 54)
            handle.seek(phoff)
            table = handle.read(phentsize * phnum)
    except OSError:
        return False
    pt_interp = 3
    return all(
        struct.unpack_from(order + "I", table, i * phentsize)[0] != pt_interp
        for i in range(len(table) // phentsize if phentsize else 0)
    )


def guest_archive(busybox: bytes, script: str, ko: Optional[tuple[str, bytes]] = None) -> Archive:
    """The initramfs: busybox with its applet links, ``/init``, and the module at ``/<name>``."""
    archive = Archive()
    for directory in ("bin", "dev", "proc", "sys", "tmp"):
        archive.add_dir(directory)
    # the kernel opens /dev/console for /init before anything can mount devtmpfs
    archive.add_char_device("dev/console", 5, 1)
    archive.add_file("bin/busybox", busybox, 0o755)
    for applet in APPLETS:
        archive.add_symlink(f"bin/{applet}", "busybox")
    archive.add_file("init", script.encode(), 0o755)
    if ko is not None:
        archive.add_file(ko[0], ko[1], 0o644)
    return archive


def write_initramfs(
    directory: str, busybox_path: str, script: str, ko_path: Optional[str] = None
) -> str:
    """Build the initramfs into ``directory``; returns the file's path."""
    with open(busybox_path, "rb") as handle:
        busybox = handle.read()
    ko: Optional[tuple[str, bytes]] = None
    if ko_path is not None:
        with open(ko_path, "rb") as handle:
            ko = (os.path.basename(ko_path), handle.read())
    path = os.path.join(directory, "initrd.cpio.gz")
    guest_archive(busybox, script, ko).write(path)
    return path


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
            on_console(_ANSI.sub("", line).replace("\r", ""))

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


# -- reading the console ---------------------------------------------------------------------
_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_]|c)")
_MARKER = re.compile(re.escape(MARK) + r"([a-z-]+)((?:\s+[a-z-]+=\S*)*)")
_PANIC = re.compile(r"Kernel panic - not syncing.*")
_OOPS = re.compile(
    r"(?:BUG: .*|Oops: .*|general protection fault.*|kernel BUG at .*|Unable to handle .*)"
)
_TOOL_ERROR = re.compile(r"\b(?:insmod|rmmod): .*")
_QEMU_ERROR = re.compile(r"^qemu(?:-system-\S+)?: .*")


@dataclass(frozen=True)
class ConsoleReport:
    """What the guest said, by marker."""

    booted: bool = False
    finished: bool = False
    #: guest uptime in seconds at each marker (boot, insmod, rmmod, done)
    uptimes: Mapping[str, float] = field(default_factory=dict)
    insmod_rc: Optional[int] = None
    rmmod_rc: Optional[int] = None
    rmmod_skipped: bool = False
    taint_before: Optional[int] = None
    taint_after: Optional[int] = None
    #: the ``dmesg`` dump between its markers (empty when it never came)
    kernel_log: tuple[str, ...] = ()
    kernel_log_complete: bool = False
    #: insmod/rmmod's own complaints ("insmod: can't insert ...")
    tool_errors: tuple[str, ...] = ()
    qemu_errors: tuple[str, ...] = ()
    panic: Optional[str] = None
    oops: Optional[str] = None
    #: every console line, escape sequences and carriage returns removed
    lines: tuple[str, ...] = ()

    @property
    def messages(self) -> tuple[str, ...]:
        """Where to look for the module's messages: the dump, else the console itself."""
        if self.kernel_log:
            return self.kernel_log
        return tuple(line for line in self.lines if MARK not in line)


def clean(text: str) -> list[str]:
    """Console lines without escape sequences, carriage returns or trailing blanks."""
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    return [_ANSI.sub("", line).replace("\r", "").rstrip() for line in lines]


def parse_console(text: str) -> ConsoleReport:
    lines = clean(text)
    uptimes: dict[str, float] = {}
    events: set[str] = set()
    codes: dict[str, Optional[int]] = {}
    kernel_log: list[str] = []
    in_log = False
    for line in lines:
        marker = _MARKER.search(line)
        if marker is None:
            if in_log:
                kernel_log.append(line)
            continue
        event, values = marker.group(1), _values(marker.group(2))
        events.add(event)
        uptime = _number(values.get("t", ""))
        if uptime is not None:
            uptimes[event] = uptime
        if "rc" in values or "value" in values:
            codes[event] = _integer(values.get("rc", values.get("value", "")))
        if "skipped" in values:
            events.add(f"{event}-skipped")
        if event == "dmesg-begin":
            in_log, kernel_log = True, []
        elif event == "dmesg-end":
            in_log = False
    return ConsoleReport(
        booted="boot" in events,
        finished="done" in events,
        uptimes=uptimes,
        insmod_rc=codes.get("insmod"),
        rmmod_rc=codes.get("rmmod"),
        rmmod_skipped="rmmod-skipped" in events,
        taint_before=codes.get("taint-before"),
        taint_after=codes.get("taint"),
        kernel_log=tuple(kernel_log),
        kernel_log_complete="dmesg-end" in events,
        tool_errors=tuple(_found(_TOOL_ERROR, lines)),
        qemu_errors=tuple(line for line in lines if _QEMU_ERROR.match(line)),
        panic=next(iter(_found(_PANIC, lines)), None),
        oops=next(iter(_found(_OOPS, lines)), None),
        lines=tuple(lines),
    )


def _found(pattern: re.Pattern[str], lines: Sequence[str]) -> list[str]:
    """The matched part of every line ``pattern`` matches (marker lines excepted)."""
    hits = (pattern.search(line) for line in lines if MARK not in line)
    return [hit.group(0).strip() for hit in hits if hit]


def _values(text: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in text.split())


def _number(text: str) -> Optional[float]:
    try:
        return float(text)
    except ValueError:
        return None


def _integer(text: str) -> Optional[int]:
    try:
        return int(text)
    except ValueError:
        return None


# -- KVM or TCG --------------------------------------------------------------------------------
@dataclass(frozen=True)
class AccelPlan:
    #: accelerators to try, in order (a KVM attempt that fails falls through to TCG)
    order: tuple[str, ...]
    note: Optional[str] = None


def kvm_failure(run: Boot, report: ConsoleReport) -> Optional[str]:
    """Why a KVM run says nothing about the module (None when the guest reached ``/init``)."""
    if report.booted:
        return None
    said = report.qemu_errors[-1] if report.qemu_errors else None
    if run.error:
        return f"qemu could not start: {run.error}"
    if run.timed_out:
        return f"no sign of /init within {run.timeout:g} s (nested KVM hangs)"
    if run.exit_code != 0:
        return ended(run.exit_code) + (f": {said}" if said else "")
    return said or "the guest stopped before /init ran"


def ended(exit_code: Optional[int]) -> str:
    """How qemu ended, in words (a negative status is the signal that killed it)."""
    if exit_code is not None and exit_code < 0:
        try:
            return f"qemu was killed by {signal.Signals(-exit_code).name}"
        except ValueError:
            return f"qemu was killed by signal {-exit_code}"
    return f"qemu exited with status {exit_code}"


def plan_accel(requested: str, system: System, cache_dir: str, host: str) -> AccelPlan:
    if requested in ("kvm", "tcg"):
        return AccelPlan((requested,))
    if not system.exists("/dev/kvm"):
        return AccelPlan(("tcg",), "no /dev/kvm here: emulating with TCG")
    verdict = kvm_verdict(cache_dir, host)
    if verdict is not None and not verdict[0]:
        return AccelPlan(
            ("tcg",),
            f"KVM failed on this host before ({verdict[1]}): using TCG; "
            "--accel kvm tries KVM again",
        )
    return AccelPlan(("kvm", "tcg"))


def _verdict_path(cache_dir: str) -> str:
    return os.path.join(cache_dir, "kvm.json")


def kvm_verdict(cache_dir: str, host: str) -> Optional[tuple[bool, str]]:
    """Whether KVM worked the last time on this host kernel, and why not."""
    try:
        with open(_verdict_path(cache_dir), encoding="utf-8") as handle:
            entry = json.load(handle).get(host)
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("works"), bool):
        return None
    return entry["works"], str(entry.get("reason", ""))


def remember_kvm(cache_dir: str, host: str, works: bool, reason: str = "") -> None:
    path = _verdict_path(cache_dir)
    try:
        with open(path, encoding="utf-8") as handle:
            known = json.load(handle)
        if not isinstance(known, dict):
            known = {}
    except (OSError, ValueError):
        known = {}
    known[host] = {"works": works, "reason": reason}
    write_atomic(path, json.dumps(known, indent=2, sort_keys=True) + "\n")
