"""Fake tools for hostile scenarios: small shell scripts put first on the sandbox's PATH, which
record how they were called (and their process ids) in the sandbox, so a scenario can prove
what ran, what did not, and that nothing it started outlived kdoctor."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from tests.hostile.conftest import Result, Sandbox
from tests.signals import foreground

#: a process that sleeps and leaves a child sleeping too; both pids are recorded
SLOW = """#!/bin/sh
echo "$$" >> "{pids}"
sleep 300 &
echo "$!" >> "{pids}"
echo "  CC [M]  /x/fake.o"
echo "SeaBIOS (fake)"
sleep 301
"""


def fake_bin(sandbox: Sandbox) -> Path:
    """The sandbox's directory of fake tools, first on its PATH."""
    directory = sandbox.root / "fakebin"
    if not directory.is_dir():
        directory.mkdir()
        sandbox.env["PATH"] = f"{directory}{os.pathsep}{sandbox.env['PATH']}"
    return directory


def fake_tool(sandbox: Sandbox, name: str, script: str) -> Path:
    path = fake_bin(sandbox) / name
    path.write_text(script)
    path.chmod(0o755)
    return path


#: the shell that appends a tool's argv to ``{log}`` in the form :func:`calls` reads
RECORD = (
    'for a in "$@"; do printf "x%s" "$a" | base64 -w0; printf " "; done >> "{log}"; echo >> "{log}"'
)


def recording_tool(sandbox: Sandbox, name: str, output: str = "", status: int = 0) -> Path:
    """A tool that appends its argv to ``<name>.calls``: one call a line, each word base64-encoded
    behind an ``x`` (a word may hold anything: newlines, blank lines, nothing at all)."""
    calls = sandbox.root / f"{name}.calls"
    return fake_tool(
        sandbox,
        name,
        f'#!/bin/sh\n{RECORD.format(log=calls)}\nprintf "%s" "{output}"\nexit {status}\n',
    )


def calls(sandbox: Sandbox, name: str) -> list[list[str]]:
    path = sandbox.root / f"{name}.calls"
    if not path.exists():
        return []
    return [
        [base64.b64decode(word).decode("utf-8", "surrogateescape")[1:] for word in line.split()]
        for line in path.read_text().splitlines()
    ]


def make_builds(sandbox: Sandbox) -> list[list[str]]:
    """The runs of the fake make that were builds: kdoctor's own evaluation of the Kbuild
    (``make -f /dev/null --eval ... SHELL=/bin/false``, which runs no recipe) is not one."""
    return [argv for argv in calls(sandbox, "make") if "/dev/null" not in argv]


def slow_tool(sandbox: Sandbox, name: str) -> Path:
    return fake_tool(sandbox, name, SLOW.format(pids=sandbox.root / f"{name}.pids"))


def pids(sandbox: Sandbox, name: str) -> list[int]:
    path = sandbox.root / f"{name}.pids"
    return [int(w) for w in path.read_text().split()] if path.exists() else []


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting for its reaper does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def start(sandbox: Sandbox, *args: str, env: Optional[dict[str, str]] = None) -> subprocess.Popen:
    """``python -m kdoctor ARGS`` in the sandbox, in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "kdoctor", *args],
        env={**sandbox.env, **(env or {})},
        cwd=str(sandbox.root),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=foreground,  # signals at their defaults, whatever this run ignores
    )


def finish(proc: subprocess.Popen, timeout: float = 600) -> Result:
    out, err = proc.communicate(timeout=timeout)
    return Result(proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def wait_for(predicate, timeout: float = 120.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def kill_leftovers(pid_list: list[int]) -> None:
    """Clean up after a failing scenario (only the pids the fake recorded)."""
    for pid in pid_list:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
