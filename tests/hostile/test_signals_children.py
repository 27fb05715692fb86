"""Ctrl-C, SIGTERM and SIGHUP: kdoctor kills every process group it started, removes its
scratch directories and exits quietly with 128 + the signal, whatever it was doing."""

from __future__ import annotations

import signal
import time

import pytest

from tests.hostile.conftest import Sandbox
from tests.hostile.fakes import alive, finish, kill_leftovers, pids, slow_tool, start, wait_for
from tests.kmod import kernel_module

pytestmark = pytest.mark.hostile

RELEASE = "6.1.0-99-hostile"
SIGNALS = [signal.SIGTERM, signal.SIGHUP, signal.SIGINT]


def _stop_while(sandbox: Sandbox, tool: str, args: tuple[str, ...], sig: int) -> None:
    slow_tool(sandbox, tool)
    proc = start(sandbox, *args)
    try:
        if not wait_for(lambda: len(pids(sandbox, tool)) >= 2):
            result = finish(proc)
            if "no usable Rust toolchain" in result.text:
                pytest.skip("no Rust toolchain on this machine")
            pytest.fail(f"{tool} never started: {result.text}")
        proc.send_signal(sig)
        result = finish(proc, timeout=20)
        assert result.code == 128 + sig, result.text
        assert f"stopped by {signal.Signals(sig).name}" in result.err
        assert result.no_traceback(), result.text
        assert wait_for(lambda: not any(alive(p) for p in pids(sandbox, tool)), timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_leftovers(pids(sandbox, tool))


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_during_build_kills_make_and_its_children(sandbox: Sandbox, sig: int) -> None:
    _stop_while(sandbox, "make", ("build", "--module-dir", str(sandbox.module)), sig)
    sandbox.assert_untouched()


def _vm_ready(sandbox: Sandbox) -> str:
    ko = sandbox.root / "helloworld.ko"
    ko.write_bytes(kernel_module(f"license=GPL\0vermagic={RELEASE} SMP mod_unload \0".encode()))
    image = sandbox.cache / "kernels" / RELEASE / f"vmlinuz-{RELEASE}"
    image.parent.mkdir(parents=True)
    image.write_bytes(b"MZ a kernel image placed by hand")
    return str(ko)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_signal_during_verify_kills_qemu_and_removes_the_scratch_dir(
    sandbox: Sandbox, sig: int
) -> None:
    ko = _vm_ready(sandbox)
    scratch = sandbox.cache / "tmp"
    args = ("verify", "--vm", "--accel", "tcg", "--ko", ko, "--kernel", RELEASE)
    _stop_while(sandbox, "qemu-system-x86_64", args, sig)
    assert not scratch.exists() or [p.name for p in scratch.iterdir()] == []
    sandbox.assert_untouched()


@pytest.mark.parametrize("delay", [0.1, 0.25, 0.5])
def test_ctrl_c_at_any_moment_of_startup_exits_130_without_a_traceback(
    sandbox: Sandbox, delay: float
) -> None:
    proc = start(sandbox, "check", "--json")
    time.sleep(delay)
    if proc.poll() is not None:
        pytest.skip("kdoctor finished before the signal")
    proc.send_signal(signal.SIGINT)
    result = finish(proc)
    assert result.code == 130, result.text
    assert result.no_traceback() and "KeyboardInterrupt" not in result.text
    sandbox.assert_untouched()


def test_sigterm_during_check_stops_its_probes_promptly(sandbox: Sandbox) -> None:
    slow_tool(sandbox, "make")  # build-tools probes `make --version`: it hangs
    proc = start(sandbox, "check", "build-tools")
    try:
        assert wait_for(lambda: len(pids(sandbox, "make")) >= 2)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        result = finish(proc)
        assert result.code == 143 and result.no_traceback(), result.text
        assert time.monotonic() - started < 8
        assert wait_for(lambda: not any(alive(p) for p in pids(sandbox, "make")), timeout=5)
    finally:
        kill_leftovers(pids(sandbox, "make"))
    sandbox.assert_untouched()
