"""KVM or TCG: which accelerator to boot the guest with, and what kdoctor remembers about KVM
on this host (``<cache>/kvm.json``, keyed by the host's kernel release)."""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass
from typing import Optional

from kdoctor.machine.system import System
from kdoctor.model.choice import Accel
from kdoctor.pipeline.vm_boot import Boot
from kdoctor.pipeline.vm_console import ConsoleReport

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
        return f"qemu could not start: {run.error}"
    if run.silent is not None:
        return f"the kernel printed nothing within {run.silent:g} s (nested KVM hangs)"
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
    verdict = kvm_verdict(system, cache_dir, host)
    if verdict is not None and not verdict[0]:
        return AccelPlan(
            ("tcg",),
            f"KVM failed on this host before ({verdict[1]}): using TCG; "
            "--accel kvm tries KVM again",
        )
    return AccelPlan(("kvm", "tcg"))


def _verdict_path(cache_dir: str) -> str:
    return os.path.join(cache_dir, "kvm.json")


def kvm_verdict(system: System, cache_dir: str, host: str) -> Optional[tuple[bool, str]]:
    """Whether KVM worked the last time on this host kernel, and why not."""
    try:
        entry = json.loads(system.read_text(_verdict_path(cache_dir)) or "").get(host)
    except (ValueError, AttributeError):
        return None
    if not isinstance(entry, dict) or not isinstance(entry.get("works"), bool):
        return None
    return entry["works"], str(entry.get("reason", ""))


def remember_kvm(system: System, cache_dir: str, host: str, works: bool, reason: str = "") -> None:
    path = _verdict_path(cache_dir)
    with system.lock(path):  # read, change, write: one kdoctor at a time
        try:
            known = json.loads(system.read_text(path) or "")
            if not isinstance(known, dict):
                known = {}
        except ValueError:
            known = {}
        known[host] = {"works": works, "reason": reason}
        system.write_file(path, json.dumps(known, indent=2, sort_keys=True) + "\n")
