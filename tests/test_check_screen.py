"""A healthy machine's ``kdoctor check`` fits one screen: the real command, on this machine, in a
pseudo-terminal of 80 columns and 24 rows, prints at most 24 lines, none wider than 80 columns,
with its colours, every remedy command once and how to see the rest."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.real_machine import ONBOARD, RealTarget, cannot_run

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
#: a terminal's escape sequences (colours, styles)
ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def in_terminal(args: list[str], cwd: Path, columns: int = 80, rows: int = 24) -> tuple[int, str]:
    """``kdoctor args`` with a pseudo-terminal of ``columns`` x ``rows`` as its stdout and
    stderr (COLUMNS and LINES unset: the terminal's size is what counts): its exit code and
    what it printed."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    unset = ("COLUMNS", "LINES", "NO_COLOR", "LANGUAGE")
    env = {k: v for k, v in os.environ.items() if k not in unset and not k.startswith("LC_")}
    env.update({"TERM": "xterm-256color", "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdoctor", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        env=env,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError as exc:  # Linux: EIO once the last writer closed the terminal
            if exc.errno != errno.EIO:
                raise
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    code = proc.wait(timeout=60)
    return code, b"".join(chunks).decode("utf-8", "replace")


def screen_lines(raw: str) -> list[str]:
    """What a person sees, line by line: escape sequences and the terminal's carriage returns
    taken out."""
    return ESCAPES.sub("", raw).replace("\r", "").splitlines()


def joined_commands(lines: list[str]) -> list[str]:
    """The ``$ …`` commands shown, each continued line (`` \\`` at its end) joined to the next,
    without a trailing note."""
    commands: list[str] = []
    current: list[str] = []
    for line in lines:
        text = line.strip()
        if not current and not text.startswith("$ "):
            continue
        text = text[2:] if not current else text
        text = re.sub(r"\s{2,}\(.*\)$", "", text)  # "  (also for: …)"
        if text.endswith(" \\"):
            current.append(text[:-2])
            continue
        current.append(text)
        commands.append(" ".join(current))
        current = []
    return commands


def test_a_healthy_check_fits_an_80_by_24_terminal(real_target: RealTarget, tmp_path: Path) -> None:
    code, raw = in_terminal(["check"], tmp_path)
    document = json.loads(
        subprocess.run(
            [sys.executable, "-m", "kdoctor", "check", "--json"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=300,
            check=False,
        ).stdout
    )
    if code != 0 or document["exit_code"] != 0:
        cannot_run(f"kdoctor check does not pass on this machine (exit {code}): {ONBOARD}")
    lines = screen_lines(raw)
    assert len(lines) <= 24, "\n".join(lines)
    assert [line for line in lines if cell_len(line) > 80] == []
    assert "\x1b[" in raw  # the marks keep their colours on a terminal
    assert lines[0].startswith("kdoctor · ") and "module: bundled hello-world" in lines[0]
    skipped = [c["id"] for c in document["checks"] if c["status"] == "skip"]
    if skipped:
        rows = [line for line in lines if line.startswith("- ")]
        assert len(rows) == 1 and all(check in rows[0] for check in skipped), rows
    wanted = [
        command
        for check in document["checks"]
        if check["status"] in ("warn", "fail", "error") and check["remediation"]
        for command in check["remediation"]["commands"]
    ]
    shown = joined_commands(lines)
    assert sorted(shown) == sorted(set(wanted))  # every one, each once
    assert "kdoctor check -v" in lines[-1]


def test_check_v_trims_a_long_probe_and_says_where_it_is_whole(
    real_target: RealTarget, tmp_path: Path
) -> None:
    _, raw = in_terminal(["check", "-v", "module-dir"], tmp_path, columns=120, rows=40)
    lines = screen_lines(raw)
    left_out = [line for line in lines if "lines left out" in line]
    if not left_out:
        cannot_run("no probe of the module-dir check is long enough to be trimmed here")
    assert all("kdoctor check module-dir -v --json" in line for line in left_out)
    assert [line for line in lines if cell_len(line) > 120] == []
