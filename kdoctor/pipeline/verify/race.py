"""KVM and TCG at once, for a host where kdoctor does not yet know whether KVM works.

One after another, a KVM guest that hangs (nested KVM often does) costs its whole speak window
before TCG even starts. Booted together, the TCG guest is already running when KVM is given up
on, so an unknown host pays for the slower of the two guests instead of their sum. The verdict
is still KVM's whenever KVM answers: the TCG guest is stopped as soon as the KVM guest reaches
``/init``, and only when KVM fails (or TCG finishes first) is TCG's run the one judged. A KVM
guest is waited for until its speak window ends at most, so that whether it hangs is known
(and remembered) after the first run. Both guests read the same kernel and initramfs and write
nothing."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Optional

from kdoctor.machine.system import System
from kdoctor.pipeline.verify import accel as vm_accel
from kdoctor.pipeline.verify import boot as vm_boot
from kdoctor.pipeline.verify import console as vm_console

Run = tuple[vm_boot.Boot, vm_console.ConsoleReport]
#: how long after its speak window a silent KVM guest is given to be stopped by its own watch
GRACE = 0.5


@dataclass(frozen=True)
class Race:
    """What the two guests did."""

    #: the runs to log, the one to judge last (KVM alone when it answered)
    runs: tuple[Run, ...]
    #: why KVM did not work (None: it worked, or it was stopped before it could tell)
    kvm_failure: Optional[str]
    #: whether the KVM run tells if KVM works on this host (False: TCG finished first and the
    #: KVM guest was stopped before it had shown either way)
    kvm_known: bool


def boot_both(
    system: System,
    kvm_argv: Sequence[str],
    tcg_argv: Sequence[str],
    *,
    timeout: float,
    on_line: Optional[Callable[[str, str], None]] = None,
) -> Race:
    """Boot the KVM and the TCG guest together; see the module's docstring for which counts.
    ``on_line`` is told each console line of each guest (its accelerator, the line)."""
    stops = {"kvm": threading.Event(), "tcg": threading.Event()}
    finished: queue.Queue[str] = queue.Queue()
    runs: dict[str, Run] = {}
    errors: list[BaseException] = []

    def guest(accel: str, argv: Sequence[str]) -> None:
        try:
            run = vm_boot.attempt(
                system,
                argv,
                accel=accel,
                timeout=timeout,
                then_tcg=accel == "kvm",
                stop=stops[accel],
                on_console=(lambda line: on_line(accel, line)) if on_line is not None else None,
            )
            runs[accel] = (run, vm_console.parse_console(run.console))
        except Exception as exc:  # raised in the caller's thread if neither guest ran
            errors.append(exc)
        finally:
            finished.put(accel)

    threads = [
        threading.Thread(target=guest, args=(accel, argv), name=f"kdoctor-{accel}", daemon=True)
        for accel, argv in (("kvm", kvm_argv), ("tcg", tcg_argv))
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    first = finished.get()
    if first == "kvm" and "kvm" in runs and vm_accel.kvm_failure(*runs["kvm"]) is None:
        stops["tcg"].set()  # KVM answered: the TCG guest is not needed
    elif first == "tcg":
        # TCG answered first. A KVM guest still silent at the end of its speak window is
        # stopped by its own watch (and remembered as failing, so the next run boots TCG
        # alone); one that spoke is not waited for beyond that window.
        left = vm_boot.KVM_SPEAK_WINDOW - (time.monotonic() - started)
        try:
            finished.get(timeout=max(left, 0.0) + GRACE)
        except queue.Empty:
            stops["kvm"].set()
    for thread in threads:
        thread.join()
    if not runs:
        raise errors[0]
    return _outcome(runs, stopped_kvm=first == "tcg")


def _outcome(runs: dict[str, Run], *, stopped_kvm: bool) -> Race:
    kvm, tcg = runs.get("kvm"), runs.get("tcg")
    failure = vm_accel.kvm_failure(*kvm) if kvm is not None else None
    if kvm is not None and failure is None:  # KVM reached /init (even as it was being stopped)
        return Race((kvm,), None, True)
    if tcg is None:  # TCG's thread died: KVM's failed run is all there is to judge
        return Race(tuple(r for r in (kvm,) if r is not None), failure, kvm is not None)
    if kvm is None:  # KVM's thread died: it told nothing
        return Race((tcg,), None, False)
    if stopped_kvm and kvm[0].timed_out and kvm[0].silent is None:
        return Race((kvm, tcg), None, False)  # stopped by kdoctor before it showed either way
    return Race((kvm, tcg), failure, True)
