"""``kdoctor verify``'s outcome, and the pieces both ways of verifying share.

In a VM (:mod:`kdoctor.pipeline.verify.vm`) or, with consent, on the running kernel
(:mod:`kdoctor.pipeline.verify.host`); either way the outcome is one :class:`VerifyResult`;
nothing here prints.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

from kdoctor.facts.loading import EEXIST, explain_insmod_error, insmod_error_kind
from kdoctor.i18n import N_, _
from kdoctor.knowledge import elf
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import logs_dir
from kdoctor.model.context import Context
from kdoctor.model.finding import Remediation

MESSAGES = ("Hello kernel module!", "My message is on the heap", "Goodbye kernel module!")
KO_NAME = "helloworld.ko"
#: how much of a .ko is read to tell whether it is a kernel module (its section headers are at
#: its end; a module is a few MB at most)
MODULE_HEADER_LIMIT = 64 * 1024 * 1024
MODES = ("auto", "vm", "host")

Step = Callable[[str], None]

#: /proc/sys/kernel/tainted bits: (letter, meaning), bit 0 first
TAINT_FLAGS = (
    ("P", N_("proprietary module")),
    ("F", N_("module force-loaded")),
    ("S", N_("kernel running out of specification")),
    ("R", N_("module force-unloaded")),
    ("M", N_("machine check")),
    ("B", N_("bad page")),
    ("U", N_("tainted by user")),
    ("D", N_("kernel died (oops or BUG)")),
    ("A", N_("ACPI table overridden")),
    ("W", N_("kernel warning")),
    ("C", N_("staging driver")),
    ("I", N_("firmware workaround")),
    ("O", N_("out-of-tree module")),
    ("E", N_("unsigned module")),
    ("L", N_("soft lockup")),
    ("K", N_("live patched")),
    ("X", N_("auxiliary taint")),
    ("T", N_("built with struct randomization")),
    ("N", N_("in-kernel test")),
    ("J", N_("fwctl used")),
)


@dataclass(frozen=True)
class VerifyResult:
    mode: str
    passed: bool
    summary: str
    kernel: str
    module: str
    accel: Optional[str] = None
    expected: tuple[str, ...] = MESSAGES
    found: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    insmod_status: Optional[int] = None
    insmod_error: Optional[str] = None
    rmmod_status: Optional[int] = None
    #: taint letters after loading ("OE"); ``taint_new`` those the module added
    taint: str = ""
    taint_new: str = ""
    timings: Mapping[str, float] = field(default_factory=dict)
    log_path: Optional[str] = None
    console_tail: tuple[str, ...] = ()
    remediation: Optional[Remediation] = None
    notes: tuple[str, ...] = ()
    #: what the kernel logged while the module was loaded and unloaded (its own lines)
    module_log: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "passed": self.passed,
            "summary": self.summary,
            "kernel": self.kernel,
            "module": self.module,
            "accel": self.accel,
            "expected": list(self.expected),
            "found": list(self.found),
            "missing": list(self.missing),
            "insmod_status": self.insmod_status,
            "insmod_error": self.insmod_error,
            "rmmod_status": self.rmmod_status,
            "taint": self.taint,
            "taint_new": self.taint_new,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "log": self.log_path,
            "console_tail": list(self.console_tail),
            "remediation": self.remediation.to_json() if self.remediation else None,
            "notes": list(self.notes),
            "module_log": list(self.module_log),
        }


def passed_summary(expected: Sequence[str]) -> str:
    if len(expected) == 1:
        return _("loaded, unloaded, the expected message printed")
    if expected:
        return _("loaded, unloaded, all {count} messages in order").format(count=len(expected))
    return _("loaded and unloaded (no messages expected: its kernel log lines are shown)")


def taint_letters(value: Optional[int]) -> str:
    if not value:
        return ""
    return "".join(letter for bit, (letter, _m) in enumerate(TAINT_FLAGS) if value >> bit & 1)


def taint_meaning(letter: str) -> str:
    return next((_(meaning) for flag, meaning in TAINT_FLAGS if flag == letter), _("unknown"))


def match_in_order(
    lines: Sequence[str], expected: Sequence[str] = MESSAGES
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(messages found one after another in ``lines``, the rest)."""
    found: list[str] = []
    position = 0
    for message in expected:
        hit = next((i for i in range(position, len(lines)) if message in lines[i]), None)
        if hit is None:
            break
        found.append(message)
        position = hit + 1
    return tuple(found), tuple(expected[len(found) :])


def module_name(ko_path: str) -> str:
    """The name the kernel knows a module by: its file name, dashes as underscores."""
    name = os.path.basename(ko_path)
    return (name[:-3] if name.endswith(".ko") else name).replace("-", "_")


def insmod_remediation(error: str, module: str) -> tuple[str, Remediation]:
    """(the cause, when kdoctor knows it, and what to do) for what insmod said."""
    cause, remedy = explain_insmod_error(error)
    known = insmod_error_kind(error)
    if known is None:  # only insmod's own words: not a cause kdoctor knows
        cause = ""
    commands = (f"rmmod {module}",) if known == EEXIST else ()
    return cause, Remediation(remedy.rstrip(".") + ".", commands)


def insmod_failed(error: Optional[str], cause: str) -> str:
    """The summary of a failed insmod: what it said, and its cause when kdoctor knows it."""
    if cause:
        return _("insmod failed: {error} ({cause})").format(error=error, cause=cause)
    return _("insmod failed: {error}").format(error=error)


@dataclass(frozen=True)
class Problem:
    summary: str
    remediation: Remediation


def no_module(ko: str) -> Problem:
    return Problem(
        _("no module at {path}").format(path=ko),
        Remediation(_("Build it first, or name the .ko with --ko."), ("kdoctor build",)),
    )


def module_problem(system: System, ko: str, arch: Optional[str] = None) -> Optional[Problem]:
    """Why ``ko`` cannot be verified before anything boots or loads: it is missing, it is not
    a kernel module at all, or it was built for another architecture than ``arch`` (so no
    version magic or loader message is blamed for it)."""
    if not system.is_file(ko):
        return no_module(ko)
    header = system.read_bytes(ko, MODULE_HEADER_LIMIT) or b""
    if arch:  # its ELF header says it at once, whatever else it holds
        other = elf.architecture_problem(header, arch)
        if other:
            return Problem(
                _("{path} cannot load into a {arch} kernel: {why}").format(
                    path=ko, arch=arch, why=other
                ),
                Remediation(
                    _("Build it for {arch} (kdoctor build), or name that module with --ko.").format(
                        arch=arch
                    ),
                    ("kdoctor build",),
                ),
            )
    why = elf.module_problem(header)
    if why is None:
        return None
    return Problem(
        _("{path} is not a kernel module: {why}").format(path=ko, why=why),
        Remediation(
            _("Name a .ko built by kbuild with --ko, or build one first."), ("kdoctor build",)
        ),
    )


def status_words(tool: str, status: int) -> str:
    """A shell exit status in words (above 128: killed by signal status - 128)."""
    if status > 128:
        try:
            name = signal.Signals(status - 128).name
            return _("{tool} was killed by {signal}").format(tool=tool, signal=name)
        except ValueError:
            pass
    return _("{tool} exited with status {status}").format(tool=tool, status=status)


def missing_summary(lines: Sequence[str], missing: Sequence[str]) -> str:
    present = [m for m in missing if any(m in line for line in lines)]
    absent = ", ".join(repr(m) for m in missing)
    if present:
        return _("missing from the kernel log: {messages} ({present} printed out of order)").format(
            messages=absent, present=", ".join(repr(m) for m in present)
        )
    return _("missing from the kernel log: {messages}").format(messages=absent)


def tail(lines: Sequence[str], count: int = 25) -> list[str]:
    kept = [line for line in lines if line.strip()]
    return kept[-count:]


def save_log(ctx: Context, system: System, text: str) -> str:
    """``text`` in a new ``<cache>/logs/verify-<timestamp>[-n].log``; returns its path."""
    directory = logs_dir(ctx.cache_dir)
    system.makedirs(directory)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = os.path.join(directory, f"verify-{stamp}.log")
    n = 1
    while system.exists(path):
        n += 1
        path = os.path.join(directory, f"verify-{stamp}-{n}.log")
    system.write_file(path, text)
    return path


def with_(result: VerifyResult, **changes: Any) -> VerifyResult:
    return replace(result, **changes)
