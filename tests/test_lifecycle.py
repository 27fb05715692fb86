"""What kdoctor starts it stops: process groups recorded while they run, a stopping run that
starts nothing new, watchdogs that cannot be armed, and cache locks that wait visibly."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdoctor.machine import lifecycle
from kdoctor.machine.runner import Runner
from kdoctor.render.encoding import AsciiFallback, encodable


@pytest.fixture(autouse=True)
def clean_lifecycle() -> Iterator[None]:
    lifecycle.reset()
    yield
    lifecycle.reset()


def test_a_running_command_is_recorded_and_forgotten_when_it_ends(tmp_path: Path) -> None:
    seen: list[list[int]] = []
    # the pause lets the runner record the process before its first line arrives (the
    # recording happens just after the start; a loaded machine may print first)
    probe = Runner().run(
        ["sh", "-c", "sleep 0.3; echo $$"], on_output=lambda _l: seen.append(lifecycle.running())
    )
    assert probe.ok and seen and int(probe.stdout.strip()) in seen[0]
    assert lifecycle.running() == []


def test_a_stopping_run_starts_no_new_command() -> None:
    lifecycle._stopping = 15
    probe = Runner().run(["true"])
    assert not probe.ok and probe.error == "not started: kdoctor is stopping"


@pytest.mark.parametrize("timeout", [1e300, float("inf"), float("nan"), -1.0])
def test_a_watchdog_that_cannot_be_armed_is_an_error_not_a_thread_traceback(
    timeout: float, capsys: pytest.CaptureFixture[str]
) -> None:
    probe = Runner().run(["true"], timeout=timeout)
    assert not probe.ok and "cannot be armed as a watchdog" in (probe.error or "")
    assert "Traceback" not in capsys.readouterr().err


def test_shutdown_kills_recorded_groups_and_removes_scratch_dirs(tmp_path: Path) -> None:
    import subprocess

    child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    lifecycle.track(child.pid)
    scratch = Runner().make_temp_dir("verify-", str(tmp_path))
    lifecycle.shutdown(grace=1.0)
    assert child.wait(timeout=30) != 0
    assert not os.path.exists(scratch) and lifecycle.running() == []


def test_removing_a_scratch_dir_forgets_it(tmp_path: Path) -> None:
    runner = Runner()
    scratch = runner.make_temp_dir("verify-", str(tmp_path))
    runner.remove_tree(scratch)
    os.makedirs(scratch)  # someone else's directory by that name now
    lifecycle.shutdown(grace=0)
    assert os.path.isdir(scratch)


def test_a_held_lock_makes_the_second_holder_wait_and_say_so(tmp_path: Path) -> None:
    artefact = str(tmp_path / "kernels" / "vmlinuz-x")
    runner = Runner()
    said: list[str] = []
    order: list[str] = []
    held = threading.Event()

    def first() -> None:
        with runner.lock(artefact):
            held.set()
            time.sleep(0.5)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    held.wait(5)
    with runner.lock(artefact, on_wait=said.append):
        order.append("second in")
    thread.join()
    assert said == [f"waiting for {artefact}.lock held by another kdoctor"]
    assert order == ["first done", "second in"]


def test_a_free_lock_is_taken_without_a_word(tmp_path: Path) -> None:
    said: list[str] = []
    with Runner().lock(str(tmp_path / "a"), on_wait=said.append):
        pass
    assert said == [] and (tmp_path / "a.lock").exists()


def test_a_stream_without_the_symbols_gets_ascii_ones() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii")
    out = encodable(stream)
    assert isinstance(out, AsciiFallback)
    out.write("✔ ok · ✘ fail … → zoë\n")
    out.flush()
    assert raw.getvalue() == b"+ ok - x fail ... -> zo\\xeb\n"
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    assert encodable(utf8) is utf8


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_signal_whose_raise_is_swallowed_is_acted_on_at_the_next_safe_point() -> None:
    """A handler that runs inside a finalizer raises into nothing ("Exception ignored in"):
    the signal stays pending and the next safe point raises it."""
    import gc
    import signal

    from tests.signals import handled_by, send

    class Finalized:
        def __del__(self) -> None:
            send(signal.SIGTERM)  # handled here, inside __del__: its raise is swallowed

    with handled_by("kdoctor"):
        Finalized()
        gc.collect()
        assert lifecycle.stopping() == signal.SIGTERM
        with pytest.raises(lifecycle.Interrupted) as stopped:
            lifecycle.check()
        assert stopped.value.exit_code == 143
        lifecycle.handled()  # whoever stops for it says so
        lifecycle.check()


def test_a_signal_in_a_deferred_section_is_raised_at_its_end_not_inside() -> None:
    import signal

    from tests.signals import handled_by, send

    reached: list[str] = []
    with handled_by("kdoctor"), pytest.raises(lifecycle.Interrupted):
        with lifecycle.starting():
            send(signal.SIGINT)
            reached.append("after the signal")
        reached.append("after the section")
    assert reached == ["after the signal"]


def test_a_signal_ignored_when_kdoctor_started_stays_ignored() -> None:
    """``nohup kdoctor fix``: SIGHUP was ignored by whoever started kdoctor."""
    import signal

    saved = {sig: signal.getsignal(sig) for sig in lifecycle.HANDLED}
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        lifecycle.install()
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is lifecycle._handler
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
