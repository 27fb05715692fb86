"""A KVM guest whose kernel never speaks (nested KVM hangs after SeaBIOS) is stopped after
vm_boot.KVM_SPEAK_WINDOW instead of the whole KVM_WINDOW, and TCG takes over; a guest that
speaks is left alone; the runner's ``stop`` kills the command's whole group."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

import pytest

from kdoctor.machine.runner import Runner
from kdoctor.machine.system import OutputCallback, Probe
from kdoctor.pipeline.verify import accel as vm_accel
from kdoctor.pipeline.verify import boot as vm_boot
from kdoctor.pipeline.verify import vm as verify_vm
from tests.conftest import tool
from tests.fake_system import FakeSystem, Reply
from tests.test_runner import is_running, runner_for
from tests.test_verify_runs import KO, RELEASE, machine, success, vm_ctx

SEABIOS = "SeaBIOS (version 1.16.2-debian-1.16.2-1)\nBooting from ROM...\n"


class Guest(FakeSystem):
    """qemu that prints ``lines``, then runs ``seconds`` unless stopped."""

    def __init__(self, lines: Sequence[str], seconds: float) -> None:
        super().__init__(programs={"qemu": "/usr/bin/qemu"})
        self.lines, self.seconds = lines, seconds

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: Optional[float] = None,
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        on_output: Optional[OutputCallback] = None,
        stop: Optional[threading.Event] = None,
    ) -> Probe:
        for line in self.lines:
            if on_output is not None:
                on_output(line)
        stopped = stop.wait(self.seconds) if stop is not None else time.sleep(self.seconds)
        if stopped:
            return Probe(argv=tuple(argv), exit_code=None, timed_out=True, timeout=timeout or 0)
        return Probe(argv=tuple(argv), exit_code=0, stdout="".join(self.lines))


def test_a_silent_kvm_guest_is_stopped_at_the_speak_window() -> None:
    started = time.monotonic()
    run = vm_boot.boot(
        Guest([SEABIOS], 120.0), ["qemu"], accel="kvm", timeout=150.0, speak_within=0.3
    )
    assert time.monotonic() - started < 60  # the speak window, not the 120 s guest
    assert run.silent == 0.3 and run.timed_out
    assert vm_accel.kvm_failure(run, vm_accel_report()) == (
        "the kernel printed nothing within 0.3 s (nested KVM hangs)"
    )


def vm_accel_report() -> Any:
    from kdoctor.pipeline.verify.console import parse_console

    return parse_console(SEABIOS)


def test_a_guest_whose_kernel_speaks_runs_to_its_end() -> None:
    lines = [SEABIOS, "[    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@...)\n"]
    run = vm_boot.boot(Guest(lines, 0.8), ["qemu"], accel="kvm", timeout=15.0, speak_within=0.3)
    assert run.silent is None and run.exit_code == 0 and not run.timed_out


def test_without_a_window_nothing_watches() -> None:
    run = vm_boot.boot(Guest([SEABIOS], 0.5), ["qemu"], accel="tcg", timeout=15.0)
    assert run.silent is None and run.exit_code == 0


def test_only_the_kvm_attempt_is_watched(monkeypatch: pytest.MonkeyPatch) -> None:
    system, _ = machine({"kvm": Reply(stdout=SEABIOS, timed_out=True), "tcg": success()})
    asked: list[tuple[str, Optional[float]]] = []
    real = vm_boot.boot

    def spy(*args: Any, **kwargs: Any) -> vm_boot.Boot:
        asked.append((kwargs["accel"], kwargs.get("speak_within")))
        return real(*args, **kwargs)

    monkeypatch.setattr(vm_boot, "boot", spy)
    result = verify_vm.verify_vm(vm_ctx(), system, KO, release=RELEASE)
    assert sorted(asked) == [("kvm", vm_boot.KVM_SPEAK_WINDOW), ("tcg", None)]
    assert result.accel == "tcg"


def test_stop_kills_the_running_command_and_its_children(bin_dir: Path) -> None:
    marker = bin_dir / "pid"
    tool(bin_dir, "guest", f"sleep 60 & echo $! > {marker}; echo booting; sleep 60\n")
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    probe = runner_for(bin_dir).run(["guest"], timeout=30, on_output=lambda _l: None, stop=stop)
    assert time.monotonic() - started < 30  # stopped: not the 60 s it sleeps
    assert probe.timed_out and "booting" in probe.stdout
    time.sleep(0.2)
    assert not is_running(int(marker.read_text()))


def test_a_stop_never_set_changes_nothing(bin_dir: Path) -> None:
    tool(bin_dir, "quick", "echo done\n")
    probe = Runner(env={"PATH": f"{bin_dir}:/usr/bin:/bin"}).run(
        ["quick"], timeout=10, stop=threading.Event()
    )
    assert probe.exit_code == 0 and probe.stdout == "done\n" and not probe.timed_out
