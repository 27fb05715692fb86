"""Verifying on the running kernel: insmod, rmmod, and the kernel log between them (the
caller has the person's consent)."""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from typing import Optional

from kdoctor.facts.privileges import sudo_argv
from kdoctor.i18n import _
from kdoctor.machine.system import Probe, System
from kdoctor.model.context import Context
from kdoctor.model.finding import Remediation
from kdoctor.pipeline.verify.result import (
    MESSAGES,
    Step,
    VerifyResult,
    insmod_failed,
    insmod_remediation,
    match_in_order,
    missing_summary,
    module_name,
    module_problem,
    passed_summary,
    save_log,
    tail,
    taint_letters,
    with_,
)


def verify_host(
    ctx: Context,
    system: System,
    ko: str,
    *,
    on_step: Optional[Step] = None,
    notes: Sequence[str] = (),
    expected: Sequence[str] = MESSAGES,
) -> VerifyResult:
    """insmod and rmmod on the running kernel; the caller has the person's consent. The
    ``expected`` messages must appear in order (none: loading and unloading must succeed)."""
    step = on_step or (lambda _text: None)
    started = time.monotonic()
    module = module_name(ko)
    base = VerifyResult(
        mode="host",
        passed=False,
        summary="",
        kernel=ctx.running_kernel,
        module=ko,
        notes=tuple(notes),
        expected=tuple(expected),
    )
    missing_ko = module_problem(system, ko, ctx.arch)
    if missing_ko is not None:
        return with_(base, summary=missing_ko.summary, remediation=missing_ko.remediation)
    sudo = sudo_argv(ctx)
    if sudo and system.which("sudo") is None:
        return with_(
            base,
            summary=_("loading a module needs root, and sudo is not installed"),
            remediation=Remediation(_("Run kdoctor verify --host as root.")),
        )
    transcript: list[str] = []
    before = _kernel_log(system, sudo, transcript)
    taint_before = _taint(system)
    step(f"insmod {ko}")
    loaded = system.run([*sudo, "insmod", ko], timeout=60)
    transcript.append(_transcribe(loaded))
    taint_after = _taint(system)
    timings = {"insmod_s": loaded.duration_ms / 1000}
    unloaded = None
    if loaded.ok:
        step(f"rmmod {module}")
        unloaded = system.run([*sudo, "rmmod", module], timeout=60)
        transcript.append(_transcribe(unloaded))
        timings["rmmod_s"] = unloaded.duration_ms / 1000
    after = _kernel_log(system, sudo, transcript)
    new = _new_lines(before, after)
    found, missing = match_in_order(new, expected)
    base = with_(
        base,
        found=found,
        missing=missing,
        insmod_status=loaded.exit_code,
        rmmod_status=unloaded.exit_code if unloaded else None,
        taint=taint_letters(taint_after),
        taint_new=taint_letters((taint_after or 0) & ~(taint_before or 0)),
    )
    summary, remediation, error = _host_verdict(loaded, unloaded, new, missing, module)
    timings["total_s"] = time.monotonic() - started
    log_path = save_log(
        ctx,
        system,
        f"# kdoctor verify --host: {ko} on {ctx.running_kernel}\n" + "".join(transcript),
    )
    return with_(
        base,
        passed=summary is None,
        summary=summary or passed_summary(expected),
        insmod_error=error,
        module_log=tuple(line for line in new if line.strip()),
        remediation=remediation,
        timings=timings,
        log_path=log_path,
        console_tail=() if summary is None else tuple(tail(new)),
    )


def _host_verdict(
    loaded: Probe,
    unloaded: Optional[Probe],
    new: Sequence[str],
    missing: tuple[str, ...],
    module: str,
) -> tuple[Optional[str], Optional[Remediation], Optional[str]]:
    said = (loaded.stderr or loaded.stdout).strip().splitlines()
    error = said[-1] if said else None
    if "sudo:" in (error or ""):
        return (
            _("sudo cannot run insmod without a password: {error}").format(error=error),
            Remediation(_("Authenticate first, then rerun."), ("sudo -v",)),
            error,
        )
    if not loaded.ok:
        error = error or loaded.describe_failure()
        cause, remediation = insmod_remediation(error, module)
        return insmod_failed(error, cause), remediation, error
    if unloaded is None or not unloaded.ok:
        why = unloaded.describe_failure() if unloaded is not None else _("not run")
        return (
            _("rmmod failed: {error}").format(error=why),
            Remediation(_("Unload it by hand."), (f"rmmod {module}",)),
            None,
        )
    if missing:
        return (
            missing_summary(new, missing),
            Remediation(
                _(
                    "The module loaded and unloaded but its messages are not in the kernel log: "
                    "check its printing, or that dmesg is readable (kernel.dmesg_restrict)."
                )
            ),
            None,
        )
    return None, None, None


def _kernel_log(system: System, sudo: Sequence[str], transcript: list[str]) -> list[str]:
    """The kernel log now: dmesg, else the journal's kernel messages."""
    for argv in (("dmesg",), ("journalctl", "-k", "-b", "--no-pager", "-o", "short-monotonic")):
        probe = system.run([*sudo, *argv], timeout=30)
        transcript.append(_transcribe(probe))
        if probe.ok and probe.stdout.strip():
            return probe.stdout.splitlines()
    return []


def _new_lines(before: Sequence[str], after: Sequence[str]) -> list[str]:
    """What the kernel logged between two snapshots (the ring buffer may have rotated)."""
    if list(after[: len(before)]) == list(before):
        return list(after[len(before) :])
    seen = set(before)
    return [line for line in after if line not in seen]


def _taint(system: System) -> Optional[int]:
    text = system.read_text("/proc/sys/kernel/tainted")
    try:
        return int(text.strip()) if text else None
    except ValueError:
        return None


def _transcribe(probe: Probe) -> str:
    ended = probe.error or ("timed out" if probe.timed_out else f"exit {probe.exit_code}")
    return f"\n# $ {shlex.join(probe.argv)}  ({ended})\n{probe.output}\n"
