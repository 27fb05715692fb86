"""Ctrl-C, SIGTERM and SIGHUP: kdoctor kills every process group it started, removes its
scratch directories and exits quietly with 128 + the signal, whatever it was doing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile.conftest import Result, Sandbox
from tests.hostile.fakes import alive, finish, kill_leftovers, pids, slow_tool, start, wait_for
from tests.kmod import kernel_module
from tests.signals import foreground

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
        result = finish(proc, timeout=600)
        assert result.code == 128 + sig, result.text
        assert f"stopped by {signal.Signals(sig).name}" in result.err
        assert result.no_traceback(), result.text
        assert wait_for(lambda: not any(alive(p) for p in pids(sandbox, tool)), timeout=30)
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


#: the start-up sweep: milliseconds from kdoctor's first statement to the signal
OFFSETS_MS = [0, 5, 10, 20, 50, 100, 200, 500]
SIGNAL_AT = Path(__file__).with_name("signal_at.py")


def _signal_at(sandbox: Sandbox, sig: int, when: str, *args: str) -> Result:
    """kdoctor ARGS started as its console script does, sent ``sig`` at ``when``
    (tests/hostile/signal_at.py: counted from kdoctor's own first statement, so a busy
    machine's slow interpreter start-up moves nothing)."""
    proc = subprocess.Popen(
        [sys.executable, str(SIGNAL_AT), signal.Signals(sig).name, when, *args],
        env=sandbox.env,
        cwd=str(sandbox.root),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=foreground,
    )
    return finish(proc, timeout=300)


def _stopped_quietly(result: Result, sig: int) -> None:
    name = signal.Signals(sig).name
    assert result.code == 128 + sig, result.text
    assert result.no_traceback() and "KeyboardInterrupt" not in result.text, result.text
    assert f"stopped by {name}" in result.err, result.text
    assert "Exception ignored" not in result.err, result.text


@pytest.mark.parametrize("offset", OFFSETS_MS, ids=lambda ms: f"{ms}ms")
def test_ctrl_c_at_any_moment_of_startup_exits_130_without_a_traceback(
    sandbox: Sandbox, offset: int
) -> None:
    result = _signal_at(sandbox, signal.SIGINT, f"after:{offset}", "check", "--json")
    _stopped_quietly(result, signal.SIGINT)
    if result.out:  # a document on stdout is whole: the report, or the interruption's
        json.loads(result.out)
    sandbox.assert_untouched()


def _first_handler_line() -> int:
    """The line of kdoctor/__main__.py that installs its first handlers (the signal sent as
    it begins finds none in place yet)."""
    entry = Path(__file__).resolve().parents[2] / "kdoctor" / "__main__.py"
    numbered = enumerate(entry.read_text().splitlines(), 1)
    return next(n for n, text in numbered if "signal.signal(" in text)


def _entry_lines(sandbox: Sandbox, *args: str) -> list[int]:
    lines = sandbox.root / "lines"
    proc = subprocess.run(
        [sys.executable, str(SIGNAL_AT), "SIGINT", "lines", *args],
        env={**sandbox.env, "KDOCTOR_TEST_LINES": str(lines)},
        cwd=str(sandbox.root),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return [int(n) for n in lines.read_text().split()]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_a_signal_at_every_statement_of_the_entry_point_exits_quietly(
    sandbox: Sandbox, sig: int
) -> None:
    """Each statement kdoctor's entry point runs, from its first to its last (imports, the
    handlers' installation, the language, the command, its end): a signal as it begins stops
    kdoctor with 128 + signal, its document whole, no traceback."""
    args = ("list", "--json")
    lines = _entry_lines(sandbox, *args)
    assert len(lines) > 20  # the whole entry point ran under the tracer
    first = _first_handler_line()
    for line in lines:
        result = _signal_at(sandbox, sig, f"line:{line}", *args)
        if sig != signal.SIGINT and line <= first:
            # before any handler of kdoctor's, the signal's default action kills the process
            # (a shell says 128 + signal); SIGINT is Python's KeyboardInterrupt, caught there
            assert result.code == -sig and result.text == "", f"line {line}: {result.text}"
            continue
        assert result.code == 128 + sig, f"line {line}: {result.text}"
        assert result.no_traceback() and "Exception ignored" not in result.err, (
            f"line {line}: {result.text}"
        )
        if result.out:
            json.loads(result.out)


def test_sigterm_during_check_stops_its_probes_promptly(sandbox: Sandbox) -> None:
    slow_tool(sandbox, "make")  # build-tools probes `make --version`: it hangs
    proc = start(sandbox, "check", "build-tools")
    try:
        assert wait_for(lambda: len(pids(sandbox, "make")) >= 2)
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        result = finish(proc)
        assert result.code == 143 and result.no_traceback(), result.text
        assert time.monotonic() - started < 60  # promptly: the fake make sleeps 300 s
        assert wait_for(lambda: not any(alive(p) for p in pids(sandbox, "make")), timeout=30)
    finally:
        kill_leftovers(pids(sandbox, "make"))
    sandbox.assert_untouched()
