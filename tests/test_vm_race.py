"""KVM and TCG booted at once on a host whose KVM is not known yet: the wait is the slower
guest's, not the sum; KVM's run is judged whenever KVM answers; the guest not needed is stopped
(its whole process group); what KVM showed is remembered only when it showed it."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Optional

import pytest

from kdoctor.machine.system import OutputCallback, Probe
from kdoctor.pipeline.verify import accel as vm_accel
from kdoctor.pipeline.verify import boot as vm_boot
from kdoctor.pipeline.verify import race as vm_race
from kdoctor.pipeline.verify import vm as verify_vm
from tests.conftest import tool
from tests.fake_system import FakeSystem
from tests.test_kvm_silent import SEABIOS
from tests.test_runner import is_running, runner_for
from tests.test_verify import QEMU, console
from tests.test_verify_runs import KO, RELEASE, machine, vm_ctx

SPEAKS = SEABIOS + "[    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@...)\n"


class Guests(FakeSystem):
    """A machine whose qemu prints ``lines[accel]``, then runs ``seconds[accel]`` unless
    stopped; each guest's stop, and when it ended, are kept."""

    def __init__(self, lines: Mapping[str, str], seconds: Mapping[str, float]) -> None:
        template, _ = machine([])
        super().__init__(programs=dict(template.programs), files=dict(template.files))
        self.lines, self.seconds = lines, seconds
        self.stopped: dict[str, bool] = {}
        self.spans: dict[str, tuple[float, float]] = {}

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: Optional[float] = None,
        cwd: Optional[str] = None,
        env: Mapping[str, str] | None = None,
        on_output: Optional[OutputCallback] = None,
        stop: Optional[threading.Event] = None,
    ) -> Probe:
        if argv[0] != QEMU:
            return super().run(argv, timeout=timeout, cwd=cwd, env=env, on_output=on_output)
        accel = argv[argv.index("-accel") + 1]
        started = time.monotonic()
        for line in self.lines[accel].splitlines(keepends=True):
            if on_output is not None:
                on_output(line)
        stopped = stop.wait(self.seconds[accel]) if stop is not None else None
        if stopped is None:
            time.sleep(self.seconds[accel])
        self.stopped[accel] = bool(stopped)
        self.spans[accel] = (started, time.monotonic())
        ms = (time.monotonic() - started) * 1000
        probe = Probe(
            argv=tuple(argv),
            exit_code=None if stopped else 0,
            timed_out=bool(stopped),
            stdout=self.lines[accel],
            duration_ms=ms,
            timeout=timeout or 0.0,
        )
        with self._lock:
            self._log.append(probe)
        return probe


@pytest.fixture
def quick_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vm_boot, "KVM_SPEAK_WINDOW", 0.4)


def verify(system: FakeSystem) -> tuple[verify_vm.VerifyResult, float, list[str]]:
    steps: list[str] = []
    started = time.monotonic()
    result = verify_vm.verify_vm(vm_ctx(), system, KO, release=RELEASE, on_step=steps.append)
    return result, time.monotonic() - started, steps


@pytest.mark.usefixtures("quick_windows")
def test_a_hanging_kvm_costs_the_slower_guest_not_the_sum() -> None:
    system = Guests({"kvm": SEABIOS, "tcg": console("success")}, {"kvm": 30.0, "tcg": 1.0})
    result, seconds, steps = verify(system)
    assert result.passed and result.accel == "tcg"
    # together: TCG's guest was running before KVM's was given up on
    assert system.spans["tcg"][0] < system.spans["kvm"][1]
    assert seconds < 0.4 + 1.0 + 3  # (one after another: the speak window, then TCG)
    assert system.stopped == {"kvm": True, "tcg": False}
    assert steps == [
        f"booting {RELEASE} in qemu with KVM and TCG at once",
        "KVM did not work (the kernel printed nothing within 0.4 s (nested KVM hangs)): "
        "fell back to TCG",
    ]
    assert vm_accel.kvm_verdict(system, vm_ctx().cache_dir, vm_ctx().running_kernel) == (
        False,
        "the kernel printed nothing within 0.4 s (nested KVM hangs)",
    )
    assert 0.3 < result.timings["kvm_attempt_s"] < 0.8


@pytest.mark.usefixtures("quick_windows")
def test_a_working_kvm_is_judged_and_the_tcg_guest_stopped() -> None:
    system = Guests({"kvm": console("success"), "tcg": SPEAKS}, {"kvm": 0.2, "tcg": 30.0})
    result, seconds, steps = verify(system)
    assert result.passed and result.accel == "kvm" and result.notes == ()
    assert seconds < 3 and system.stopped == {"kvm": False, "tcg": True}
    assert steps == [f"booting {RELEASE} in qemu with KVM and TCG at once"]
    assert vm_accel.kvm_verdict(system, vm_ctx().cache_dir, vm_ctx().running_kernel) == (True, "")


@pytest.mark.usefixtures("quick_windows")
def test_tcg_first_waits_for_kvm_only_to_its_speak_window() -> None:
    system = Guests({"kvm": SPEAKS, "tcg": console("success")}, {"kvm": 30.0, "tcg": 0.1})
    result, seconds, _ = verify(system)
    assert result.passed and result.accel == "tcg" and 0.3 < seconds < 2
    assert system.stopped == {"kvm": True, "tcg": False}
    assert result.notes == (
        "TCG finished before KVM had shown whether it works: KVM's guest was stopped",
    )
    assert vm_accel.kvm_verdict(system, vm_ctx().cache_dir, vm_ctx().running_kernel) is None
    assert not system.exists(f"{vm_ctx().cache_dir}/kvm.json")


@pytest.mark.usefixtures("quick_windows")
def test_tcg_first_and_a_silent_kvm_is_remembered_as_failing() -> None:
    system = Guests({"kvm": SEABIOS, "tcg": console("success")}, {"kvm": 30.0, "tcg": 0.1})
    result, seconds, _ = verify(system)
    assert result.passed and result.accel == "tcg" and seconds < 2
    assert vm_accel.kvm_verdict(system, vm_ctx().cache_dir, vm_ctx().running_kernel) == (
        False,
        "the kernel printed nothing within 0.4 s (nested KVM hangs)",
    )
    result, _, steps = verify(system)  # the next run boots TCG alone
    assert steps == [f"booting {RELEASE} in qemu (TCG)"]


@pytest.mark.usefixtures("quick_windows")
def test_a_console_to_show_keeps_one_guest_at_a_time() -> None:
    system = Guests({"kvm": SEABIOS, "tcg": console("success")}, {"kvm": 30.0, "tcg": 0.2})
    shown: list[str] = []
    result = verify_vm.verify_vm(
        vm_ctx(), system, KO, release=RELEASE, on_console=shown.append, on_step=shown.append
    )
    assert result.passed and result.accel == "tcg"
    assert shown.index(f"booting {RELEASE} in qemu (KVM)") < shown.index(
        f"booting {RELEASE} in qemu (TCG)"
    )


def test_a_known_accelerator_is_not_raced() -> None:
    system = Guests({"kvm": SEABIOS, "tcg": console("success")}, {"kvm": 30.0, "tcg": 0.2})
    ctx = vm_ctx()
    vm_accel.remember_kvm(system, ctx.cache_dir, ctx.running_kernel, False, "it hung")
    result, _, steps = verify(system)
    assert result.accel == "tcg" and "kvm" not in system.stopped
    assert steps == [f"booting {RELEASE} in qemu (TCG)"]


def test_real_guests_the_stopped_one_leaves_no_process(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vm_boot, "KVM_SPEAK_WINDOW", 1.0)
    pid_file = bin_dir / "kvm-child"
    tool(
        bin_dir,
        "qemu",
        'case "$2" in\n'
        f"  kvm) sleep 60 & echo $! > {pid_file}; echo 'Linux version 6.1'; sleep 60 ;;\n"
        "  *) sleep 0.3; echo 'Run /init as init process'; echo @@kdoctor:done ;;\n"
        "esac\n",
    )
    started = time.monotonic()
    race = vm_race.boot_both(
        runner_for(bin_dir), ["qemu", "-accel", "kvm"], ["qemu", "-accel", "tcg"], timeout=60
    )
    assert time.monotonic() - started < 30  # not the 60 s the kvm guest would take
    assert [run.accel for run, _ in race.runs] == ["kvm", "tcg"]
    assert race.runs[0][0].timed_out and not race.kvm_known and race.kvm_failure is None
    time.sleep(0.2)
    assert not is_running(int(pid_file.read_text()))
