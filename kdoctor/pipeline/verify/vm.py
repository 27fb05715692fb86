"""Verifying in a VM: the target kernel booted in qemu with a busybox initramfs that loads and
unloads the module; the verdict comes from what the guest printed."""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Sequence
from typing import Callable, Optional, Union

from kdoctor.facts import images
from kdoctor.facts.packages import install_command
from kdoctor.i18n import _
from kdoctor.machine.system import System
from kdoctor.machine.trust import refuse_untrusted
from kdoctor.model.cache_layout import tmp_dir
from kdoctor.model.context import Context
from kdoctor.model.finding import Remediation
from kdoctor.pipeline.kernels import image as kernel_image
from kdoctor.pipeline.kernels.download import Downloads
from kdoctor.pipeline.verify import DEFAULT_TIMEOUT
from kdoctor.pipeline.verify import accel as vm_accel
from kdoctor.pipeline.verify import boot as vm_boot
from kdoctor.pipeline.verify import console as vm_console
from kdoctor.pipeline.verify import guest as vm_guest
from kdoctor.pipeline.verify import race as vm_race
from kdoctor.pipeline.verify.result import (
    MESSAGES,
    Problem,
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
    status_words,
    tail,
    taint_letters,
    with_,
)
from kdoctor.pipeline.verify.stages import StageWatch


def verify_vm(
    ctx: Context,
    system: System,
    ko: str,
    *,
    release: str,
    accel: str = "auto",
    timeout: float = DEFAULT_TIMEOUT,
    on_step: Optional[Step] = None,
    on_console: Optional[Callable[[str], None]] = None,
    notes: Sequence[str] = (),
    expected: Sequence[str] = MESSAGES,
    on_stage: Optional[Step] = None,
    on_download: Optional[Downloads] = None,
) -> VerifyResult:
    """Boot ``release`` in qemu, load and unload ``ko``; the ``expected`` messages must appear
    in order (none: loading and unloading must succeed). ``on_stage`` is told each stage of the
    guest's run as its console shows it (boot, insmod, rmmod, messages, power-off), with the
    seconds since qemu started; without it ``on_step`` is told only that qemu boots."""
    step = on_step or (lambda _text: None)
    started = time.monotonic()
    base = VerifyResult(
        mode="vm",
        passed=False,
        summary="",
        kernel=release,
        module=ko,
        notes=tuple(notes),
        expected=tuple(expected),
    )
    tools = _vm_tools(ctx, system, ko)
    if isinstance(tools, Problem):
        return with_(base, summary=tools.summary, remediation=tools.remediation)
    qemu, busybox = tools
    try:
        image = kernel_image.ensure(ctx, system, release, step, on_download)
    except kernel_image.KernelImageError as exc:
        return with_(base, summary=str(exc), remediation=exc.remediation)
    if image.source == "downloaded":
        fetched = _("fetched {package} into {path}").format(package=image.package, path=image.path)
        base = with_(base, notes=(*base.notes, fetched))
    refuse_untrusted(system, ctx.cache_dir, tmp_dir(ctx.cache_dir))  # the guest is built there
    work = system.make_temp_dir("verify-", tmp_dir(ctx.cache_dir))
    runs: list[tuple[vm_boot.Boot, vm_console.ConsoleReport]] = []
    try:
        try:
            initrd = vm_guest.write_initramfs(system, work, busybox, _script(ko), ko)
        except OSError as exc:
            return with_(
                base,
                summary=_("could not build the initramfs: {error}").format(error=exc),
                remediation=Remediation(
                    _("Check that {busybox} and {ko} are readable.").format(busybox=busybox, ko=ko)
                ),
            )
        plan = vm_accel.plan_accel(accel, system, ctx.cache_dir, ctx.running_kernel)
        if plan.note:
            base = with_(base, notes=(*base.notes, plan.note))
        argvs = {a: vm_boot.qemu_argv(qemu, image.path, initrd, a) for a in plan.order}
        if plan.order == ("kvm", "tcg") and on_console is None:  # one console to show at most
            base = _race(ctx, system, base, argvs, release, timeout, step, runs, on_stage)
        else:
            base = _one_after_another(
                ctx,
                system,
                base,
                plan.order,
                argvs,
                release,
                timeout,
                step,
                on_console,
                runs,
                on_stage,
            )
    finally:
        system.remove_tree(work)
    log_path = write_log(ctx, system, release, ko, runs)
    result = judge_vm(base, runs[-1][0], runs[-1][1], module_name(ko))
    timings = dict(result.timings)
    if len(runs) > 1:
        timings["kvm_attempt_s"] = runs[0][0].duration_s
    timings["total_s"] = time.monotonic() - started
    return with_(result, log_path=log_path, timings=timings)


def _race(
    ctx: Context,
    system: System,
    base: VerifyResult,
    argvs: dict[str, list[str]],
    release: str,
    timeout: float,
    step: Step,
    runs: list[tuple[vm_boot.Boot, vm_console.ConsoleReport]],
    on_stage: Optional[Step] = None,
) -> VerifyResult:
    """KVM and TCG booted together (:mod:`vm_race`): ``runs`` gets the runs, the judged last."""
    headline = _("booting {release} in qemu with KVM and TCG at once").format(release=release)
    (on_stage or step)(headline)
    watches = {
        accel: StageWatch(f"{headline} · {accel.upper()}", on_stage, announce=False)
        for accel in ("kvm", "tcg")
        if on_stage is not None
    }
    race = vm_race.boot_both(
        system,
        argvs["kvm"],
        argvs["tcg"],
        timeout=timeout,
        on_line=(lambda accel, line: watches[accel].line(line)) if watches else None,
    )
    runs.extend(race.runs)
    if race.kvm_known:
        works = race.kvm_failure is None
        vm_accel.remember_kvm(
            system, ctx.cache_dir, ctx.running_kernel, works, race.kvm_failure or ""
        )
    if race.kvm_failure:
        note = _("KVM did not work ({why}): fell back to TCG").format(why=race.kvm_failure)
    elif not race.kvm_known:
        note = _("TCG finished before KVM had shown whether it works: KVM's guest was stopped")
    else:
        return base
    step(note)
    return with_(base, notes=(*base.notes, note))


def _one_after_another(
    ctx: Context,
    system: System,
    base: VerifyResult,
    order: tuple[str, ...],
    argvs: dict[str, list[str]],
    release: str,
    timeout: float,
    step: Step,
    on_console: Optional[Callable[[str], None]],
    runs: list[tuple[vm_boot.Boot, vm_console.ConsoleReport]],
    on_stage: Optional[Step] = None,
) -> VerifyResult:
    """Each accelerator of ``order`` in turn until one answers: ``runs`` gets the runs."""
    for i, chosen in enumerate(order):
        last = i == len(order) - 1
        headline = _("booting {release} in qemu ({accel})").format(
            release=release, accel=chosen.upper()
        )
        shown = on_console
        if on_stage is None:
            step(headline)
        else:
            watch = StageWatch(headline, on_stage)
            shown = _both(on_console, watch.line)
        run = vm_boot.attempt(
            system,
            argvs[chosen],
            accel=chosen,
            timeout=timeout,
            then_tcg=not last,
            on_console=shown,
        )
        report = vm_console.parse_console(run.console)
        runs.append((run, report))
        if chosen != "kvm":
            break
        failure = vm_accel.kvm_failure(run, report)
        vm_accel.remember_kvm(
            system, ctx.cache_dir, ctx.running_kernel, failure is None, failure or ""
        )
        if failure is None or last:
            break
        note = _("KVM did not work ({why}): fell back to TCG").format(why=failure)
        base = with_(base, notes=(*base.notes, note))
        step(note)
    return base


def _both(
    first: Optional[Callable[[str], None]], second: Callable[[str], None]
) -> Callable[[str], None]:
    """One console callback telling ``first`` (when there is one), then ``second``."""

    def both(line: str) -> None:
        if first is not None:
            first(line)
        second(line)

    return both


def _vm_tools(ctx: Context, system: System, ko: str) -> Union[tuple[str, str], Problem]:
    """(qemu, a static busybox), or what is missing."""
    if ctx.arch != "x86_64":
        return Problem(
            _("VM verification runs x86_64 guests only (this machine is {arch})").format(
                arch=ctx.arch
            ),
            Remediation(_("Verify on the running kernel instead: kdoctor verify --host")),
        )
    problem = module_problem(system, ko, ctx.arch)
    if problem is not None:
        return problem
    qemu = system.which(vm_boot.QEMU)
    if qemu is None:
        return Problem(
            _("{program} is not installed").format(program=vm_boot.QEMU),
            Remediation(_("Install qemu."), (install_command(ctx, ["qemu"]),)),
        )
    busybox = images.find_busybox(system)
    if busybox is None or not busybox.static:
        what = (
            _("no busybox")
            if busybox is None
            else _("{path} is dynamically linked").format(path=busybox.path)
        )
        return Problem(
            _("{problem}: the VM needs a statically linked busybox").format(problem=what),
            Remediation(_("Install busybox-static."), (install_command(ctx, ["busybox"]),)),
        )
    return qemu, busybox.path


def _script(ko: str) -> str:
    return vm_guest.init_script(os.path.basename(ko), module_name(ko))


def judge_vm(
    base: VerifyResult, run: vm_boot.Boot, report: vm_console.ConsoleReport, module: str
) -> VerifyResult:
    """The verdict on one VM run."""
    found, missing = match_in_order(report.messages, base.expected)
    insmod_error: Optional[str] = None
    if report.insmod_rc not in (None, 0):
        said = [e for e in report.tool_errors if e.startswith("insmod")]
        insmod_error = said[0] if said else status_words("insmod", report.insmod_rc)
    summary, remediation = _vm_verdict(run, report, missing, module, insmod_error)
    passed = summary is None
    return with_(
        base,
        accel=run.accel,
        passed=passed,
        summary=summary or passed_summary(base.expected),
        found=found,
        module_log=vm_console.module_lines(report),
        missing=missing,
        insmod_status=report.insmod_rc,
        insmod_error=insmod_error,
        rmmod_status=report.rmmod_rc,
        taint=taint_letters(report.taint_after),
        taint_new=taint_letters((report.taint_after or 0) & ~(report.taint_before or 0)),
        timings=_vm_timings(run, report),
        console_tail=() if passed else tuple(_excerpt(report)),
        remediation=remediation,
    )


def _vm_verdict(
    run: vm_boot.Boot,
    report: vm_console.ConsoleReport,
    missing: tuple[str, ...],
    module: str,
    insmod_error: Optional[str],
) -> tuple[Optional[str], Optional[Remediation]]:
    """(what went wrong, what to do), or (None, None) when the module verified."""
    log = Remediation(_("The full console log has the details."))
    slow = Remediation(
        _("Raise --timeout if the machine is just slow; the log shows how far it got.")
    )
    seconds = f"{run.timeout:g}"
    if not report.booted:
        if report.panic:
            return _("the kernel panicked before /init ran: {panic}").format(
                panic=report.panic
            ), log
        if run.timed_out:
            return _("the VM showed no sign of /init within {seconds} s").format(
                seconds=seconds
            ), slow
        said = report.qemu_errors[-1] if report.qemu_errors else run.error
        return _("the kernel did not reach /init: {error}").format(
            error=said or vm_accel.ended(run.exit_code)
        ), log
    crash = report.panic or report.oops
    if crash:
        if report.insmod_rc != 0:
            crashed = _("the kernel crashed while loading the module: {crash}")
        elif report.rmmod_rc != 0:
            crashed = _("the kernel crashed while unloading the module: {crash}")
        else:
            crashed = _("the kernel crashed: {crash}")
        return crashed.format(crash=crash), Remediation(
            _("The module crashed the kernel: the log has the oops with its call trace.")
        )
    if report.insmod_rc is None:
        return _("insmod did not return within {seconds} s").format(seconds=seconds), slow
    if report.insmod_rc != 0:
        cause, remediation = insmod_remediation(insmod_error or "", module)
        return insmod_failed(insmod_error, cause), remediation
    if report.rmmod_rc is None:
        return _("rmmod did not return within {seconds} s").format(seconds=seconds), slow
    if report.rmmod_rc != 0:
        said = next((e for e in report.tool_errors if e.startswith("rmmod")), None)
        why = said or _("exit status {status}").format(status=report.rmmod_rc)
        return _("rmmod failed: {error}").format(error=why), log
    if missing:
        return missing_summary(report.messages, missing), Remediation(
            _(
                "The module loaded and unloaded but did not print everything expected: check "
                "that its init prints the first two and its exit the last, at KERN_INFO or above."
            )
        )
    return None, None


def _vm_timings(run: vm_boot.Boot, report: vm_console.ConsoleReport) -> dict[str, float]:
    up = report.uptimes
    timings = {"vm_s": run.duration_s}
    if "boot" in up:
        timings["boot_s"] = up["boot"]
    if "boot" in up and "insmod" in up:
        timings["insmod_s"] = up["insmod"] - up["boot"]
    if "insmod" in up and "rmmod" in up:
        timings["rmmod_s"] = up["rmmod"] - up["insmod"]
    return timings


def _excerpt(report: vm_console.ConsoleReport, count: int = 25) -> list[str]:
    """The console lines that show what went wrong: from a crash on, else the last ones."""
    crash = report.panic or report.oops
    start = next((i for i, line in enumerate(report.lines) if crash and crash in line), None)
    if start is None:
        return tail(report.lines, count)
    return [line for line in report.lines[start:] if line.strip()][:count]


def write_log(
    ctx: Context,
    system: System,
    release: str,
    ko: str,
    runs: Sequence[tuple[vm_boot.Boot, vm_console.ConsoleReport]],
) -> str:
    """Every qemu run's full console in ``<cache>/logs/verify-<timestamp>.log``."""
    parts = [f"# kdoctor verify: {ko} on {release}\n"]
    for run, _report in runs:
        ended = "timed out" if run.timed_out else run.error or f"exit {run.exit_code}"
        parts.append(
            f"\n# $ {shlex.join(run.argv)}\n# accel {run.accel}: {ended} after "
            f"{run.duration_s:.1f} s\n"
        )
        parts.append(run.console)
    return save_log(ctx, system, "".join(parts))
