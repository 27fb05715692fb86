from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from kdoctor.machine import lifecycle
from kdoctor.machine import runner as runner_module
from kdoctor.machine.runner import Runner
from tests.conftest import tool
from tests.signals import HANDLERS, STOPPED, at_moment, handled_by, pid_in, wait_until


def is_running(pid: int) -> bool:
    """Alive and not a zombie waiting for init to reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def runner_for(bin_dir: Path) -> Runner:
    return Runner(env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(bin_dir)})


def test_probe_runs_at_most_once_even_when_asked_concurrently(bin_dir: Path) -> None:
    counter = bin_dir / "count"
    tool(bin_dir, "slow", f"echo x >> {counter}; sleep 0.3; echo v1.2\n")
    runner = runner_for(bin_dir)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(runner.probe(["slow"]))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.read_text().count("x") == 1
    assert {r.stdout for r in results} == {"v1.2\n"}
    assert len(runner.probes()) == 1


def test_exit_code_stdout_and_stderr_are_kept(bin_dir: Path) -> None:
    tool(bin_dir, "t", "echo out; echo err >&2; exit 3\n")
    probe = runner_for(bin_dir).probe(["t"])
    assert (probe.exit_code, probe.stdout, probe.stderr, probe.ok) == (3, "out\n", "err\n", False)
    assert probe.describe_failure() == "t exited with status 3: err"


def test_missing_command_is_a_result_not_an_exception(bin_dir: Path) -> None:
    probe = runner_for(bin_dir).probe(["no-such-tool", "--version"])
    assert probe.error == "command not found"
    assert probe.describe_failure() == "no-such-tool: command not found"


def test_hung_probe_is_killed_with_its_children(bin_dir: Path) -> None:
    marker = bin_dir / "pid"
    tool(bin_dir, "hang", f"sleep 60 & echo $! > {marker}; sleep 60\n")
    started = time.monotonic()
    probe = runner_for(bin_dir).probe(["hang"], timeout=1)
    assert time.monotonic() - started < 30  # killed at 1 s: not the 60 s it sleeps
    assert probe.timed_out and probe.describe_failure() == "hang did not answer within 1 s (killed)"
    time.sleep(0.2)
    assert not is_running(int(marker.read_text()))


@pytest.mark.parametrize("handler", HANDLERS)
def test_ctrl_c_stops_the_running_command_and_propagates(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, handler: str
) -> None:
    """A signal that arrives just after the command started, before kdoctor waits for it."""
    marker = bin_dir / "pid"
    tool(bin_dir, "long", f"echo $$ > {marker}; exec sleep 60\n")
    runner = runner_for(bin_dir)
    reached = at_moment(monkeypatch, "started", ready=pid_in(marker))
    started = time.monotonic()
    with handled_by(handler), pytest.raises(STOPPED[handler]):
        runner.run(["long"])
    assert reached() == 1
    assert time.monotonic() - started < 45  # stopped, not waited for (it sleeps 60 s)
    assert wait_until(lambda: not is_running(int(marker.read_text())))
    assert lifecycle.running() == []


@pytest.mark.parametrize("handler", HANDLERS)
def test_ctrl_c_before_the_command_starts_starts_nothing(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, handler: str
) -> None:
    """A signal between arming (signals deferred) and starting the command: nothing starts."""
    marker = bin_dir / "ran"
    tool(bin_dir, "long", f"touch {marker}; exec sleep 60\n")
    reached = at_moment(monkeypatch, "armed")
    with handled_by(handler), pytest.raises(STOPPED[handler]):
        runner_for(bin_dir).run(["long"])
    assert reached() == 1 and not marker.exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_while_a_command_starts_stop_it_with_their_own_code(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch, sig: int
) -> None:
    marker = bin_dir / "pid"
    tool(bin_dir, "long", f"echo $$ > {marker}; exec sleep 60\n")
    at_moment(monkeypatch, "started", sig, ready=pid_in(marker))
    with handled_by("kdoctor"), pytest.raises(lifecycle.Interrupted) as stopped:
        runner_for(bin_dir).run(["long"])
    assert stopped.value.exit_code == 128 + sig
    assert wait_until(lambda: not is_running(int(marker.read_text())))


def test_run_streams_output_and_is_never_cached(bin_dir: Path) -> None:
    counter = bin_dir / "count"
    tool(bin_dir, "step", f"echo x >> {counter}; echo one; echo two >&2\n")
    runner = runner_for(bin_dir)
    lines: list[str] = []
    runner.run(["step"], on_output=lines.append)
    runner.run(["step"])
    assert lines == ["one\n", "two\n"]
    assert counter.read_text().count("x") == 2


def test_which_follows_the_given_path(bin_dir: Path) -> None:
    path = tool(bin_dir, "clang", "true\n")
    runner = runner_for(bin_dir)
    assert runner.which("clang") == path
    assert runner.which(path) == path
    assert runner.which(str(bin_dir / "absent")) is None


def test_a_tool_printing_without_end_is_stopped_and_its_output_bounded(bin_dir: Path) -> None:
    tool(bin_dir, "chatty", "yes 'a long line of version text' & yes 'and more' >&2\nwait\n")
    probe = runner_for(bin_dir).probe(["chatty"], timeout=60)
    assert probe.error is not None and "printed more than 4 MiB" in probe.error
    assert len(probe.stdout) <= runner_module.PROBE_OUTPUT_LIMIT
    assert probe.duration_ms < 30_000  # stopped at the limit, not at the timeout


def test_a_long_command_keeps_the_head_and_the_tail_of_its_output(bin_dir: Path) -> None:
    tool(bin_dir, "build", "echo FIRST; seq 1 400000; echo LAST\n")
    seen: list[str] = []
    probe = runner_for(bin_dir).run(["build"], on_output=seen.append, timeout=120)
    assert probe.ok and len(seen) == 400002  # every line reached the caller
    assert probe.stdout.startswith("FIRST\n") and probe.stdout.endswith("LAST\n")
    assert "bytes of output left out" in probe.stdout
    assert len(probe.stdout) < 3 * runner_module.KEPT_OUTPUT


def test_children_die_with_kdoctor_even_when_it_is_killed(bin_dir: Path) -> None:
    """SIGKILL leaves kdoctor no chance to stop its children: the kernel does it."""
    marker = bin_dir / "pid"
    tool(bin_dir, "long", f"echo $$ > {marker}; exec sleep 60\n")
    script = (
        "from kdoctor.machine.runner import Runner; "
        f"Runner(env={{'PATH': '{bin_dir}:/usr/bin:/bin'}}).run(['long'], timeout=120)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    for _ in range(100):
        if marker.exists() and marker.read_text().strip():
            break
        time.sleep(0.05)
    child = int(marker.read_text())
    assert is_running(child)
    parent.kill()
    parent.wait()
    for _ in range(50):
        if not is_running(child):
            break
        time.sleep(0.05)
    assert not is_running(child)


def test_scratch_directories_of_a_dead_kdoctor_are_swept_and_a_live_one_s_kept(
    tmp_path: Path,
) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()  # its pid names no process now
    left = tmp_path / f"verify-{dead.pid}-abc"
    (left / "initramfs").mkdir(parents=True)
    live = tmp_path / f"verify-{os.getppid()}-def"
    live.mkdir()
    other = tmp_path / "kept-by-nobody"
    other.mkdir()
    made = Runner().make_temp_dir("verify-", str(tmp_path))
    assert not left.exists()  # what a SIGKILLed run left
    assert live.exists() and other.exists()
    assert os.path.basename(made).startswith(f"verify-{os.getpid()}-")
