"""``verify`` tells each stage of the guest's run as its console shows it (boot, insmod, rmmod,
messages, power-off) with the seconds since qemu started, on a terminal and piped; the verdict
and its JSON are the same whether anyone is told or not."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from kdoctor.pipeline.verify import accel as vm_accel
from kdoctor.pipeline.verify import boot as vm_boot
from kdoctor.pipeline.verify import vm as verify_vm
from kdoctor.pipeline.verify.stages import STAGES, StageWatch
from kdoctor.render.text import StepDisplay
from tests.display_console import display_console
from tests.test_verify import console
from tests.test_verify_runs import KO, RELEASE, machine, success, vm_ctx
from tests.test_vm_race import Guests

TCG = f"booting {RELEASE} in qemu (TCG)"
NAMES = ("boot:", "insmod:", "rmmod:", "messages:", "power-off")


def test_each_marker_starts_its_stage_once_with_the_seconds_since_qemu_started() -> None:
    now = [100.0]
    told: list[str] = []
    watch = StageWatch("HEAD", told.append, clock=lambda: now[0])
    for line in console("success").splitlines(keepends=True):
        if "@@kdoctor:" in line:
            now[0] += 2.5
        watch.line(line)
    assert told[0] == "HEAD · boot: the kernel is starting (0.0 s)"
    assert [t.split(" · ")[1].split(" ")[0] for t in told] == list(NAMES)
    assert told[1] == "HEAD · insmod: loading the module (2.5 s)"  # after the boot marker
    assert told[-1].startswith("HEAD · power-off (")
    assert watch.seen == list(STAGES)  # each once, in the guest's order


def test_a_guest_that_never_reaches_init_stays_in_its_boot_stage() -> None:
    told: list[str] = []
    watch = StageWatch("HEAD", told.append)
    for line in console("success").split("Run /init")[0].splitlines():
        watch.line(line)
    assert len(told) == 1 and "boot: the kernel is starting" in told[0]


def comparable(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = result.to_json()
    data.pop("timings", None)
    data.pop("log_path", None)
    return data


def test_stages_are_told_and_the_verdict_and_json_do_not_change() -> None:
    quiet, _ = machine([success()])
    vm_accel.remember_kvm(quiet, vm_ctx().cache_dir, vm_ctx().running_kernel, False, "hung")
    steps: list[str] = []
    plain = verify_vm.verify_vm(vm_ctx(), quiet, KO, release=RELEASE, on_step=steps.append)
    told, _ = machine([success()])
    vm_accel.remember_kvm(told, vm_ctx().cache_dir, vm_ctx().running_kernel, False, "hung")
    stages: list[str] = []
    watched = verify_vm.verify_vm(
        vm_ctx(), told, KO, release=RELEASE, on_step=steps.append, on_stage=stages.append
    )
    assert plain.passed and watched.passed
    assert comparable(plain) == comparable(watched)
    assert steps == [TCG]  # with on_stage the headline comes with the stages
    assert [s.split(" · ")[0] for s in stages] == [TCG] * len(NAMES)
    assert [s.split(" · ")[1].split(" ")[0] for s in stages] == list(NAMES)
    assert all(re.search(r"\(\d+\.\d s\)$", s) for s in stages)


@pytest.fixture
def quick_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vm_boot, "KVM_SPEAK_WINDOW", 0.4)


@pytest.mark.usefixtures("quick_windows")
def test_racing_guests_tell_their_stages_each_under_its_accelerator() -> None:
    system = Guests({"kvm": console("success"), "tcg": console("success")}, {"kvm": 0.1, "tcg": 5})
    stages: list[str] = []
    result = verify_vm.verify_vm(vm_ctx(), system, KO, release=RELEASE, on_stage=stages.append)
    assert result.passed and result.accel == "kvm"
    headline = f"booting {RELEASE} in qemu with KVM and TCG at once"
    assert stages[0] == headline
    kvm = [s for s in stages if s.startswith(f"{headline} · KVM · ")]
    assert [s.split(" · ")[2].split(" ")[0] for s in kvm] == list(NAMES[1:])


def shown(terminal: bool) -> str:
    """What verify's display shows of one run, on a terminal or piped."""
    buffer = io.StringIO()
    out = display_console(buffer, terminal=terminal, width=200)
    system, _ = machine([success()])
    vm_accel.remember_kvm(system, vm_ctx().cache_dir, vm_ctx().running_kernel, False, "hung")
    with StepDisplay(out, "verify") as display:
        if terminal:  # refreshed at every stage, as a terminal would be redrawn
            assert display._progress is not None
            display._progress.refresh_per_second = 1000

            def stage(text: str) -> None:
                display.step(text)
                display._progress.refresh()  # type: ignore[union-attr]

        else:
            stage = display.step
        verify_vm.verify_vm(
            vm_ctx(), system, KO, release=RELEASE, on_step=display.step, on_stage=stage
        )
    return buffer.getvalue()


def test_piped_each_stage_is_one_line() -> None:
    lines = shown(False).splitlines()
    staged = [line for line in lines if line.startswith(f"  {TCG} · ")]
    assert [line.split(" · ")[1].split(" ")[0] for line in staged] == list(NAMES)
    assert "\x1b" not in "\n".join(lines)


def test_on_a_terminal_the_spinner_names_each_stage_with_its_seconds() -> None:
    text = shown(True)
    for name in NAMES:
        assert re.search(re.escape(f"{TCG} · {name}") + r".*\(\d+\.\d s\)", text), name
    assert re.search(r"\d:\d\d:\d\d", text)  # the elapsed time beside it
