"""``kdoctor verify``: load the built module, unload it, and find its three messages in order.

In a VM (the target kernel booted in qemu with a busybox initramfs) or, with consent, on the
running kernel. Either way the outcome is one :class:`VerifyResult`; nothing here prints.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional, Union

from kdoctor.facts.loading import explain_insmod_error, host_loading
from kdoctor.facts.packages import install_command
from kdoctor.facts.privileges import sudo_argv
from kdoctor.machine.system import Probe, System
from kdoctor.model.context import Context
from kdoctor.model.finding import Remediation
from kdoctor.pipeline import kernel_image, vm

MESSAGES = ("Hello kernel module!", "My message is on the heap", "Goodbye kernel module!")
KO_NAME = "helloworld.ko"
MODES = ("auto", "vm", "host")

Step = Callable[[str], None]

#: /proc/sys/kernel/tainted bits: (letter, meaning), bit 0 first
TAINT_FLAGS = (
    ("P", "proprietary module"),
    ("F", "module force-loaded"),
    ("S", "kernel running out of specification"),
    ("R", "module force-unloaded"),
    ("M", "machine check"),
    ("B", "bad page"),
    ("U", "tainted by user"),
    ("D", "kernel died (oops or BUG)"),
    ("A", "ACPI table overridden"),
    ("W", "kernel warning"),
    ("C", "staging driver"),
    ("I", "firmware workaround"),
    ("O", "out-of-tree module"),
    ("E", "unsigned module"),
    ("L", "soft lockup"),
    ("K", "live patched"),
    ("X", "auxiliary taint"),
    ("T", "built with struct randomization"),
    ("N", "in-kernel test"),
    ("J", "fwctl used"),
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
        }


# -- small pure pieces -------------------------------------------------------------------------
def taint_letters(value: Optional[int]) -> str:
    if not value:
        return ""
    return "".join(letter for bit, (letter, _) in enumerate(TAINT_FLAGS) if value >> bit & 1)


def taint_meaning(letter: str) -> str:
    return next((meaning for flag, meaning in TAINT_FLAGS if flag == letter), "unknown")


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


def module_release(ko_path: str) -> Optional[str]:
    """The kernel release a .ko was built for (the first word of its ``vermagic``)."""
    try:
        with open(ko_path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    start = data.find(b"vermagic=")
    if start < 0:
        return None
    end = data.find(b"\0", start)
    words = data[start + len("vermagic=") : end].decode(errors="replace").split()
    return words[0] if words else None


def default_ko(ctx: Context) -> str:
    """``helloworld.ko`` in the module directory, or in the cache's copy when that is newer
    (kdoctor builds a read-only module directory in ``<cache>/modules/``)."""
    own = os.path.join(ctx.module_dir, KO_NAME)
    copy = os.path.join(
        ctx.cache_dir, "modules", os.path.basename(ctx.module_dir.rstrip("/")), KO_NAME
    )
    existing = [p for p in (own, copy) if os.path.isfile(p)]
    return max(existing, key=os.path.getmtime) if existing else own


def target_release(ctx: Context, ko_path: str) -> tuple[str, Optional[str]]:
    """The kernel to verify against, and a note when it is not the one the context chose.

    ``--kernel`` wins; otherwise the release the module was built for (its vermagic).
    """
    built_for = module_release(ko_path)
    if ctx.target_source == "--kernel" or built_for is None:
        note = None
        if built_for and built_for != ctx.target_kernel:
            note = f"the module was built for {built_for}, not {ctx.target_kernel}"
        return ctx.target_kernel, note
    if built_for != ctx.target_kernel:
        return built_for, f"booting {built_for}, the kernel the module was built for"
    return built_for, None


# -- choosing where to load ----------------------------------------------------------------
def choose_mode(
    ctx: Context, system: System, requested: str, consent: bool, release: Optional[str] = None
) -> tuple[str, Optional[str]]:
    """ "vm" or "host", and why when the choice was kdoctor's.

    ``release`` is the kernel the module was built for (the target when not given).
    """
    if requested in ("vm", "host"):
        return requested, None
    target = replace(ctx, target_kernel=release) if release else ctx
    loading = host_loading(target, system)
    if not loading.possible:
        return "vm", f"{'; '.join(loading.reasons)}: verifying in a VM"
    if not consent:
        return "vm", (
            f"the running kernel {ctx.running_kernel} could load the module, but kdoctor loads "
            "into it only with --host or --yes: verifying in a VM"
        )
    return "host", None


def _insmod_remediation(error: str, module: str) -> tuple[str, Remediation]:
    """(the cause, when kdoctor knows it, and what to do) for what insmod said."""
    cause, remedy = explain_insmod_error(error)
    if cause.startswith("insmod failed"):  # loading.py's words for "not a known error"
        cause = ""
    commands = (f"rmmod {module}",) if "already loaded" in cause else ()
    return cause, Remediation(remedy.rstrip(".") + ".", commands)


# -- the VM ----------------------------------------------------------------------------------
def verify_vm(
    ctx: Context,
    system: System,
    ko: str,
    *,
    release: str,
    accel: str = "auto",
    timeout: float = vm.DEFAULT_TIMEOUT,
    on_step: Optional[Step] = None,
    on_console: Optional[Callable[[str], None]] = None,
    notes: Sequence[str] = (),
) -> VerifyResult:
    step = on_step or (lambda _text: None)
    started = time.monotonic()
    base = VerifyResult(
        mode="vm", passed=False, summary="", kernel=release, module=ko, notes=tuple(notes)
    )
    tools = _vm_tools(ctx, system, ko)
    if isinstance(tools, _Problem):
        return _with(base, summary=tools.summary, remediation=tools.remediation)
    qemu, busybox = tools
    try:
        image = kernel_image.ensure(ctx, system, release, step)
    except kernel_image.KernelImageError as exc:
        return _with(base, summary=str(exc), remediation=exc.remediation)
    if image.source == "downloaded":
        base = _with(base, notes=(*base.notes, f"fetched {image.package} into {image.path}"))
    scratch = os.path.join(ctx.cache_dir, "tmp")
    os.makedirs(scratch, exist_ok=True)
    work = tempfile.mkdtemp(prefix="verify-", dir=scratch)
    runs: list[tuple[vm.Boot, vm.ConsoleReport]] = []
    try:
        try:
            initrd = vm.write_initramfs(work, busybox, _script(ko), ko)
        except OSError as exc:
            return _with(
                base,
                summary=f"could not build the initramfs: {exc}",
                remediation=Remediation(f"Check that {busybox} and {ko} are readable."),
            )
        plan = vm.plan_accel(accel, system, ctx.cache_dir, ctx.running_kernel)
        if plan.note:
            base = _with(base, notes=(*base.notes, plan.note))
        for i, chosen in enumerate(plan.order):
            last = i == len(plan.order) - 1
            step(f"booting {release} in qemu ({chosen.upper()})")
            run = vm.boot(
                system,
                vm.qemu_argv(qemu, image.path, initrd, chosen),
                accel=chosen,
                timeout=timeout if last else min(timeout, vm.KVM_WINDOW),
                on_console=on_console,
            )
            report = vm.parse_console(run.console)
            runs.append((run, report))
            if chosen != "kvm":
                break
            failure = vm.kvm_failure(run, report)
            vm.remember_kvm(ctx.cache_dir, ctx.running_kernel, failure is None, failure or "")
            if failure is None or last:
                break
            note = f"KVM did not work ({failure}): fell back to TCG"
            base = _with(base, notes=(*base.notes, note))
            step(note)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log_path = write_log(ctx, release, ko, runs)
    result = judge_vm(base, runs[-1][0], runs[-1][1], module_name(ko))
    timings = dict(result.timings)
    if len(runs) > 1:
        timings["kvm_attempt_s"] = runs[0][0].duration_s
    timings["total_s"] = time.monotonic() - started
    return _with(result, log_path=log_path, timings=timings)


@dataclass(frozen=True)
class _Problem:
    summary: str
    remediation: Remediation


def _vm_tools(ctx: Context, system: System, ko: str) -> Union[tuple[str, str], _Problem]:
    """(qemu, a static busybox), or what is missing."""
    if ctx.arch != "x86_64":
        return _Problem(
            f"VM verification runs x86_64 guests only (this machine is {ctx.arch})",
            Remediation("Verify on the running kernel instead: kdoctor verify --host"),
        )
    if not os.path.isfile(ko):
        return _no_module(ko)
    qemu = system.which(vm.QEMU)
    if qemu is None:
        return _Problem(
            f"{vm.QEMU} is not installed",
            Remediation("Install qemu.", (install_command(ctx, ["qemu"]),)),
        )
    busybox = vm.find_busybox(system)
    if busybox is None or not busybox.static:
        what = "no busybox" if busybox is None else f"{busybox.path} is dynamically linked"
        return _Problem(
            f"{what}: the VM needs a statically linked busybox",
            Remediation("Install busybox-static.", (install_command(ctx, ["busybox"]),)),
        )
    return qemu, busybox.path


def _no_module(ko: str) -> _Problem:
    return _Problem(
        f"no module at {ko}",
        Remediation("Build it first, or name the .ko with --ko.", ("kdoctor build",)),
    )


def _script(ko: str) -> str:
    return vm.init_script(os.path.basename(ko), module_name(ko))


def judge_vm(
    base: VerifyResult, run: vm.Boot, report: vm.ConsoleReport, module: str
) -> VerifyResult:
    """The verdict on one VM run."""
    found, missing = match_in_order(report.messages)
    insmod_error: Optional[str] = None
    if report.insmod_rc not in (None, 0):
        said = [e for e in report.tool_errors if e.startswith("insmod")]
        insmod_error = said[0] if said else _status_words("insmod", report.insmod_rc)
    summary, remediation = _vm_verdict(run, report, missing, module, insmod_error)
    passed = summary is None
    return _with(
        base,
        accel=run.accel,
        passed=passed,
        summary=summary or f"loaded, unloaded, all {len(MESSAGES)} messages in order",
        found=found,
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
    run: vm.Boot,
    report: vm.ConsoleReport,
    missing: tuple[str, ...],
    module: str,
    insmod_error: Optional[str],
) -> tuple[Optional[str], Optional[Remediation]]:
    """(what went wrong, what to do), or (None, None) when the module verified."""
    log = Remediation("The full console log has the details.")
    slow = Remediation("Raise --timeout if the machine is just slow; the log shows how far it got.")
    if not report.booted:
        if report.panic:
            return f"the kernel panicked before /init ran: {report.panic}", log
        if run.timed_out:
            return f"the VM showed no sign of /init within {run.timeout:g} s", slow
        said = report.qemu_errors[-1] if report.qemu_errors else run.error
        return f"the kernel did not reach /init: {said or vm.ended(run.exit_code)}", log
    crash = report.panic or report.oops
    if crash:
        when = (
            " while loading the module"
            if report.insmod_rc != 0
            else " while unloading the module"
            if report.rmmod_rc != 0
            else ""
        )
        return f"the kernel crashed{when}: {crash}", Remediation(
            "The module crashed the kernel: the log has the oops with its call trace."
        )
    if report.insmod_rc is None:
        return f"insmod did not return within {run.timeout:g} s", slow
    if report.insmod_rc != 0:
        cause, remediation = _insmod_remediation(insmod_error or "", module)
        return f"insmod failed: {insmod_error}" + (f" ({cause})" if cause else ""), remediation
    if report.rmmod_rc is None:
        return f"rmmod did not return within {run.timeout:g} s", slow
    if report.rmmod_rc != 0:
        said = next((e for e in report.tool_errors if e.startswith("rmmod")), None)
        return f"rmmod failed: {said or f'exit status {report.rmmod_rc}'}", log
    if missing:
        return _missing_summary(report.messages, missing), Remediation(
            "The module loaded and unloaded but did not print everything expected: check "
            "that its init prints the first two and its exit the last, at KERN_INFO or above."
        )
    return None, None


def _status_words(tool: str, status: int) -> str:
    """A shell exit status in words (above 128: killed by signal status - 128)."""
    if status > 128:
        try:
            return f"{tool} was killed by {signal.Signals(status - 128).name}"
        except ValueError:
            pass
    return f"{tool} exited with status {status}"


def _missing_summary(lines: Sequence[str], missing: Sequence[str]) -> str:
    present = [m for m in missing if any(m in line for line in lines)]
    text = f"missing from the kernel log: {', '.join(repr(m) for m in missing)}"
    if present:
        text += f" ({', '.join(repr(m) for m in present)} printed out of order)"
    return text


def _vm_timings(run: vm.Boot, report: vm.ConsoleReport) -> dict[str, float]:
    up = report.uptimes
    timings = {"vm_s": run.duration_s}
    if "boot" in up:
        timings["boot_s"] = up["boot"]
    if "boot" in up and "insmod" in up:
        timings["insmod_s"] = up["insmod"] - up["boot"]
    if "insmod" in up and "rmmod" in up:
        timings["rmmod_s"] = up["rmmod"] - up["insmod"]
    return timings


def _excerpt(report: vm.ConsoleReport, count: int = 25) -> list[str]:
    """The console lines that show what went wrong: from a crash on, else the last ones."""
    crash = report.panic or report.oops
    start = next((i for i, line in enumerate(report.lines) if crash and crash in line), None)
    if start is None:
        return _tail(report.lines, count)
    return [line for line in report.lines[start:] if line.strip()][:count]


def _tail(lines: Sequence[str], count: int = 25) -> list[str]:
    kept = [line for line in lines if line.strip()]
    return kept[-count:]


def write_log(
    ctx: Context, release: str, ko: str, runs: Sequence[tuple[vm.Boot, vm.ConsoleReport]]
) -> str:
    """Every qemu run's full console in ``<cache>/logs/verify-<timestamp>.log``."""
    parts = [f"# kdoctor verify: {ko} on {release}\n"]
    for run, _ in runs:
        ended = "timed out" if run.timed_out else run.error or f"exit {run.exit_code}"
        parts.append(
            f"\n# $ {' '.join(run.argv)}\n# accel {run.accel}: {ended} after "
            f"{run.duration_s:.1f} s\n"
        )
        parts.append(run.console)
    return _write_log(ctx, "".join(parts))


def _write_log(ctx: Context, text: str) -> str:
    directory = os.path.join(ctx.cache_dir, "logs")
    os.makedirs(directory, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = os.path.join(directory, f"verify-{stamp}.log")
    n = 1
    while os.path.exists(path):
        n += 1
        path = os.path.join(directory, f"verify-{stamp}-{n}.log")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


# -- the running kernel ------------------------------------------------------------------------
def verify_host(
    ctx: Context,
    system: System,
    ko: str,
    *,
    on_step: Optional[Step] = None,
    notes: Sequence[str] = (),
) -> VerifyResult:
    """insmod and rmmod on the running kernel; the caller has the person's consent."""
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
    )
    if not os.path.isfile(ko):
        missing_ko = _no_module(ko)
        return _with(base, summary=missing_ko.summary, remediation=missing_ko.remediation)
    sudo = sudo_argv(ctx)
    if sudo and system.which("sudo") is None:
        return _with(
            base,
            summary="loading a module needs root, and sudo is not installed",
            remediation=Remediation("Run kdoctor verify --host as root."),
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
    found, missing = match_in_order(new)
    base = _with(
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
    log_path = _write_log(
        ctx, f"# kdoctor verify --host: {ko} on {ctx.running_kernel}\n" + "".join(transcript)
    )
    return _with(
        base,
        passed=summary is None,
        summary=summary or f"loaded, unloaded, all {len(MESSAGES)} messages in order",
        insmod_error=error,
        remediation=remediation,
        timings=timings,
        log_path=log_path,
        console_tail=() if summary is None else tuple(_tail(new)),
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
            f"sudo cannot run insmod without a password: {error}",
            Remediation("Authenticate first, then rerun.", ("sudo -v",)),
            error,
        )
    if not loaded.ok:
        error = error or loaded.describe_failure()
        cause, remediation = _insmod_remediation(error, module)
        return f"insmod failed: {error}" + (f" ({cause})" if cause else ""), remediation, error
    if unloaded is None or not unloaded.ok:
        why = unloaded.describe_failure() if unloaded is not None else "not run"
        return (
            f"rmmod failed: {why}",
            Remediation("Unload it by hand.", (f"rmmod {module}",)),
            None,
        )
    if missing:
        return (
            _missing_summary(new, missing),
            Remediation(
                "The module loaded and unloaded but its messages are not in the kernel log: "
                "check its printing, or that dmesg is readable (kernel.dmesg_restrict)."
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
    return f"\n# $ {' '.join(probe.argv)}  ({ended})\n{probe.output}\n"


def _with(result: VerifyResult, **changes: Any) -> VerifyResult:
    return replace(result, **changes)
