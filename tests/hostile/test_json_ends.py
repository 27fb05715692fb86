"""Every way a ``--json`` run can end leaves one whole document on stdout (or none, when stdout
cannot take it): usage, settings and cache errors, a signal halfway, a closed stdout, a reader
that goes away."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.contract import validate
from tests.signals import foreground

ROOT = Path(__file__).resolve().parents[2]


def env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "KDOCTOR_CACHE": str(tmp_path / "cache"),
        "NO_COLOR": "1",
        **extra,
    }


def kdoctor(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kdoctor", *args],
        env=env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=600,
    )


def one_document(stdout: str) -> dict[str, object]:
    document = json.loads(stdout)  # raises on a cut or doubled document
    assert isinstance(document, dict)
    return document


def test_a_bad_setting_under_json_is_one_error_document(tmp_path: Path) -> None:
    done = kdoctor(tmp_path, "check", "--json", KDOCTOR_RUST="bogus")
    assert done.returncode == 2
    document = one_document(done.stdout)
    validate("error", document)
    assert document["error"] == {"kind": "usage", "message": document["error"]["message"]}  # type: ignore[index]
    assert "KDOCTOR_RUST" in done.stderr


def test_an_unusable_cache_under_json_is_one_error_document(tmp_path: Path) -> None:
    done = kdoctor(tmp_path, "build", "--json", KDOCTOR_CACHE="/proc/kdoctor-cannot-be-here")
    assert done.returncode == 3
    document = one_document(done.stdout)
    validate("error", document)
    assert document["exit_code"] == 3 and document["error"]["kind"] == "files"  # type: ignore[index]


def test_a_signal_halfway_under_json_is_one_error_document(tmp_path: Path) -> None:
    module = tmp_path / "slow module"
    module.mkdir()
    (module / "Kbuild").write_text("obj-m := slow.o\n")
    (module / "Makefile").write_text("default:\n\tsleep 60\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdoctor", "build", "--json", "--module-dir", str(module)],
        env=env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=foreground,  # SIGINT at its default, whatever this run ignores
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((tmp_path / "cache").rglob("build-*.log")):
        time.sleep(0.1)  # the build has begun once its log exists: halfway, whatever the moment
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 130, stderr
    document = one_document(stdout)
    validate("error", document)
    assert document["error"]["kind"] == "interrupted" and document["exit_code"] == 130  # type: ignore[index]


def test_a_closed_stdout_ends_with_the_command_s_own_code(tmp_path: Path) -> None:
    for args in (("list",), ("list", "--json")):
        done = subprocess.run(
            ["sh", "-c", 'exec "$@" >&-', "sh", sys.executable, "-m", "kdoctor", *args],
            env=env(tmp_path),
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


def test_a_reader_that_goes_away_ends_the_run_quietly_with_141(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    # the report is longer than the pipe (F_SETPIPE_SZ: 1031 on Linux, named from Python 3.10)
    fcntl.fcntl(write_end, getattr(fcntl, "F_SETPIPE_SZ", 1031), 4096)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdoctor", "check", "-v"],
        env=env(tmp_path),
        stdout=write_end,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        assert reader.read(100)  # like `kdoctor check -v | head -c 100`
    _out, err = proc.communicate(timeout=600)
    assert proc.returncode == 141, err
    assert b"Traceback" not in err and b"BrokenPipe" not in err
