"""Every read is bounded: only regular files, never a blocking open, never more than a limit;
a caller can tell a missing file from a refused one."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from kdoctor.checks.toolchain import ToolchainCheck
from kdoctor.facts.toolchain_pin import read_own_pin, read_pin
from kdoctor.machine import files
from kdoctor.machine.files import TEXT_LIMIT, read_regular
from kdoctor.machine.runner import Runner
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.finding import Status
from tests.conftest import make_context, run_check
from tests.fake_system import FakeSystem


def _quick(call, *args):  # type: ignore[no-untyped-def]
    """``call(*args)`` in a thread that must finish within 30 s (a blocking open never does)."""
    box: list[object] = []
    worker = threading.Thread(target=lambda: box.append(call(*args)), daemon=True)
    started = time.monotonic()
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), f"{call.__name__} blocked"
    assert time.monotonic() - started < 30
    return box[0]


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "rust-toolchain.toml"
    os.mkfifo(fifo)
    found = _quick(read_regular, str(fifo))
    assert found.data is None and not found.missing
    assert found.problem == "is a FIFO (named pipe), not a regular file"
    assert found.describe() == f"{fifo} is a FIFO (named pipe), not a regular file"
    assert _quick(Runner().read_text, str(fifo)) is None
    assert _quick(Runner().read_bytes, str(fifo)) is None


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/dev/zero", "a character device"),
        ("/dev/null", "a character device"),
        ("/", "a directory"),
    ],
)
def test_devices_and_directories_are_refused(path: str, kind: str) -> None:
    found = _quick(Runner().read_file, path)
    assert found.problem == f"is {kind}, not a regular file"
    assert _quick(Runner().read_bytes, path, 10) is None


def test_a_symlink_to_dev_zero_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "Kbuild"
    link.symlink_to("/dev/zero")
    assert _quick(Runner().read_text, str(link)) is None
    assert "character device" in (_quick(Runner().read_file, str(link)).problem or "")


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "s")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(path)
        assert _quick(read_regular, path).problem == "is a socket, not a regular file"
    finally:
        server.close()


def test_text_is_capped_at_one_mebibyte_and_says_so(tmp_path: Path) -> None:
    big = tmp_path / "Kbuild"
    big.write_bytes(b"#" * (TEXT_LIMIT + 1))
    found = read_regular(str(big))
    assert found.data is None and found.problem == "is larger than 1 MiB (1 MiB)"
    exact = tmp_path / "exact"
    exact.write_bytes(b"#" * TEXT_LIMIT)
    assert Runner().read_text(str(exact)) == "#" * TEXT_LIMIT
    assert Runner().read_text(str(big), limit=TEXT_LIMIT + 1) is not None
    assert Runner().read_bytes(str(big), 4) == b"####"  # a prefix is always fine


def test_missing_and_refused_are_told_apart(tmp_path: Path) -> None:
    assert read_regular(str(tmp_path / "none")).missing
    assert read_regular(str(tmp_path / "none" / "deeper")).missing
    (tmp_path / "file").write_text("x")
    assert read_regular(str(tmp_path / "file" / "below")).missing
    assert read_regular(str(tmp_path / "file")).data == b"x"
    assert not read_regular(str(tmp_path)).missing


def test_an_unreadable_file_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(path: str, flags: int) -> int:
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(files.os, "open", denied)
    assert read_regular(str(tmp_path / "x")).problem == "cannot be read: Permission denied"


def test_the_fake_refuses_what_the_real_machine_refuses() -> None:
    system = FakeSystem(
        files={"/m/Kbuild": "x" * 20, "/m/d/f": "y"},
        specials={"/m/rust-toolchain.toml": "a FIFO (named pipe)"},
    )
    assert system.read_text("/m/rust-toolchain.toml") is None
    assert system.read_file("/m/rust-toolchain.toml").problem == (
        "is a FIFO (named pipe), not a regular file"
    )
    assert system.read_file("/m/d").problem == "is a directory, not a regular file"
    assert system.read_file("/m/nothing").missing
    assert system.read_text("/m/Kbuild", limit=10) is None
    assert system.read_file("/m/Kbuild", limit=10).problem == "is larger than 10 bytes"
    assert system.read_bytes("/m/Kbuild", 3) == b"xxx"


def test_a_pin_file_that_is_a_fifo_is_named_and_the_bundled_pin_stands_in() -> None:
    bundled = os.path.join(bundled_module_dir(), "rust-toolchain.toml")
    with open(bundled, encoding="utf-8") as handle:
        pin_text = handle.read()
    system = FakeSystem(
        files={bundled: pin_text},
        specials={"/m/rust-toolchain.toml": "a FIFO (named pipe)"},
    )
    assert read_pin(system, "/m") is None
    assert read_own_pin(system, "/m") == (
        None,
        "/m/rust-toolchain.toml is a FIFO (named pipe), not a regular file",
    )
    pin, problem = read_own_pin(system, bundled_module_dir())
    assert pin is not None and pin.channel == "nightly-2021-02-12" and problem is None


def test_the_toolchain_check_names_a_refused_pin_file_and_the_cure() -> None:
    problem = "/m/rust-toolchain.toml is a FIFO (named pipe), not a regular file"
    ctx = make_context(module_dir="/m", pin=None, pin_problem=problem)
    fifo = FakeSystem(specials={"/m/rust-toolchain.toml": "a FIFO (named pipe)"})
    finding = run_check(ToolchainCheck(), ctx, fifo)
    assert finding.status is Status.FAIL
    assert finding.summary.startswith(
        "/m/rust-toolchain.toml is a FIFO (named pipe), not a regular file"
    )
    assert finding.remediation is not None
    assert "Replace /m/rust-toolchain.toml with a regular file" in finding.remediation.text
    assert ctx.to_json()["pin"] is None and ctx.to_json()["pin_problem"] == problem


def test_copying_a_module_skips_fifos_and_devices(tmp_path: Path) -> None:
    source = tmp_path / "module"
    source.mkdir()
    (source / "Kbuild").write_text("obj-m := x.o\n")
    os.mkfifo(source / "rust-toolchain.toml")
    (source / "zero").symlink_to("/dev/zero")
    _quick(Runner().copy_tree, str(source), str(tmp_path / "copy"))
    assert sorted(os.listdir(tmp_path / "copy")) == ["Kbuild"]


def test_a_refused_pin_file_gets_the_same_cure_in_spanish() -> None:
    """Whether the pin file was read is asked of the file, not of its sentence: the Spanish
    problem text still gets the cure for a file that is not regular."""
    from kdoctor import i18n

    i18n.activate("es")
    try:
        fifo = FakeSystem(specials={"/m/rust-toolchain.toml": "a FIFO (named pipe)"})
        problem = fifo.read_file("/m/rust-toolchain.toml").describe()
        ctx = make_context(module_dir="/m", pin=None, pin_problem=problem)
        finding = run_check(ToolchainCheck(), ctx, fifo)
        assert finding.remediation is not None
        assert finding.remediation.text.startswith(
            "Sustituya /m/rust-toolchain.toml por un archivo normal"
        )
    finally:
        i18n.activate("en")


def test_check_stays_small_beside_a_tool_that_prints_without_end(tmp_path: Path) -> None:
    """A clang whose --version prints forever: the probe keeps 4 MiB, stops the tool, and the
    check says why; kdoctor's memory stays far below 200 MB."""
    import subprocess
    import sys

    if not os.path.exists("/usr/bin/time"):  # Debian's time (scripts/test.sh installs it)
        pytest.skip("needs /usr/bin/time to measure kdoctor's peak memory")
    fake = tmp_path / "bin" / "clang"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nexec yes "clang version 14.0.6 and more text, without end"\n')
    fake.chmod(0o755)
    done = subprocess.run(
        ["/usr/bin/time", "-f", "peak %M KiB", sys.executable, "-m", "kdoctor", "check", "clang"],
        env={
            **os.environ,
            "PATH": f"{fake.parent}:{os.environ['PATH']}",
            "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
            "KDOCTOR_CACHE": str(tmp_path / "cache"),
            "NO_COLOR": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "printed more than 4 MiB and was stopped" in done.stdout, done.stdout
    peak = int(done.stderr.rsplit("peak ", 1)[1].split()[0])  # kdoctor and its tools, KiB
    assert peak < 200 * 1024
