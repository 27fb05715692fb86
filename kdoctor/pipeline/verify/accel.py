"""KVM or TCG: which accelerator to boot the guest with, and what kdoctor remembers about KVM
on this host (``<cache>/kvm.json``, keyed by the host's kernel release)."""

from __future__ import annotations

import contextlib
import json
import signal
from dataclasses import dataclass
from typing import Optional

from kdoctor.facts.kvm import KVM, kvm_closed
from kdoctor.i18n import _
from kdoctor.machine.system import System
from kdoctor.machine.trust import distrust_within, refuse_untrusted
from kdoctor.model.cache_layout import kvm_verdicts
from kdoctor.model.choice import Accel
from kdoctor.pipeline.verify.boot import Boot
from kdoctor.pipeline.verify.console import ConsoleReport

ACCELS = Accel.values()


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
        return _("qemu could not start: {error}").format(error=run.error)
    if run.silent is not None:
        return _("the kernel printed nothing within {seconds} s (nested KVM hangs)").format(
            seconds=f"{run.silent:g}"
        )
    if run.timed_out:
        return _("no sign of /init within {seconds} s (nested KVM hangs)").format(
            seconds=f"{run.timeout:g}"
        )
    if run.exit_code != 0:
        return ended(run.exit_code) + (f": {said}" if said else "")
    return said or _("the guest stopped before /init ran")


def ended(exit_code: Optional[int]) -> str:
    """How qemu ended, in words (a negative status is the signal that killed it)."""
    if exit_code is not None and exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
            return _("qemu was killed by {signal}").format(signal=name)
        except ValueError:
            return _("qemu was killed by signal {number}").format(number=-exit_code)
    return _("qemu exited with status {status}").format(status=exit_code)


def plan_accel(requested: str, system: System, cache_dir: str, host: str) -> AccelPlan:
    if requested in ("kvm", "tcg"):
        return AccelPlan((requested,))
    if not system.exists(KVM):
        return AccelPlan(("tcg",), _("no /dev/kvm here: emulating with TCG"))
    closed = kvm_closed(system)
    if closed is not None:  # qemu would only fail to open it
        return AccelPlan(("tcg",), _("{why}: emulating with TCG").format(why=closed))
    verdict = kvm_verdict(system, cache_dir, host)
    if verdict is not None and not verdict[0]:
        return AccelPlan(
            ("tcg",),
            _(
                "KVM failed on this host before ({why}): using TCG; --accel kvm tries KVM again"
            ).format(why=verdict[1]),
        )
    return AccelPlan(("kvm", "tcg"))


def kvm_verdict(system: System, cache_dir: str, host: str) -> Optional[tuple[bool, str]]:
    """Whether KVM worked the last time on this host kernel, and why not; a record another
    user could have written is refused (:class:`~kdoctor.machine.trust.UntrustedPlace`)."""
    refuse_untrusted(system, cache_dir, kvm_verdicts(cache_dir))
    try:
        entry = json.loads(system.read_text(kvm_verdicts(cache_dir)) or "").get(host)
    except (ValueError, AttributeError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("works"), bool):
        return None
    return entry["works"], str(entry.get("reason", ""))


def remember_kvm(system: System, cache_dir: str, host: str, works: bool, reason: str = "") -> None:
    """Keep whether KVM worked; a cache this user cannot write (another user's), or that
    another user could change, only costs finding it out again."""
    path = kvm_verdicts(cache_dir)
    if distrust_within(system, cache_dir, path) is not None:
        return
    with contextlib.suppress(OSError):
        _remember(system, path, host, works, reason)


def _remember(system: System, path: str, host: str, works: bool, reason: str) -> None:
    with system.lock(path):  # read, change, write: one kdoctor at a time
        try:
            known = json.loads(system.read_text(path) or "")
            if not isinstance(known, dict):
                known = {}
        except ValueError:
            known = {}
        known[host] = {"works": works, "reason": reason}
        system.write_file(path, json.dumps(known, indent=2, sort_keys=True) + "\n")
