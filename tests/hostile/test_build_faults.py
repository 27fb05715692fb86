"""The build under faults: a log bounded however much make prints, a full disk said once (exit
3) instead of a second error while closing the log, a make that exits 0 without kbuild is not a
build, and a module path make cannot carry (bad bytes) is built from a copy."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
from pathlib import Path

from kdoctor.pipeline.build import copy_target
from kdoctor.pipeline.build_log import BuildLog
from tests.conftest import make_context
from tests.fake_system import FakeSystem

ROOT = Path(__file__).resolve().parents[2]


class Full(io.StringIO):
    """A log on a disk that fills up after ``room`` characters."""

    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room
        self.closed_once = False

    def write(self, text: str) -> int:
        if self.tell() + len(text) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(text)

    def close(self) -> None:
        if self.closed_once:
            raise AssertionError("closed twice")
        self.closed_once = True
        raise OSError(errno.ENOSPC, "No space left on device (while flushing)")


def test_a_log_keeps_its_head_and_tail_under_its_limit() -> None:
    handle = io.StringIO()
    handle.close = lambda: None  # type: ignore[method-assign]
    log = BuildLog(handle, limit=1000, tail=3)
    for number in range(10_000):
        log.write(f"line {number}\n")
    log.close()
    text = handle.getvalue()
    assert text.startswith("line 0\n") and text.endswith("line 9997\nline 9998\nline 9999\n")
    assert "bytes of output left out of this log" in text
    assert len(text) < 1200


def test_a_full_disk_keeps_the_first_error_and_closes_once() -> None:
    handle = Full(room=20)
    log = BuildLog(handle)
    log.write("first line\n")
    log.write("this one does not fit\n")
    log.write("nor this\n")
    log.close()
    assert handle.closed_once
    assert log.error is not None and "No space left on device" in str(log.error)
    assert "while flushing" not in str(log.error)  # the first error, not the one at close


def test_a_make_that_exits_0_without_kbuild_is_not_a_build(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "make"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    module = tmp_path / "module"
    module.mkdir()
    (module / "Kbuild").write_text("obj-m := stale.o\n")
    (module / "Makefile").write_text("default:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR)\n")
    (module / "stale.ko").write_bytes(b"\x7fELF from last week")
    os.utime(module / "stale.ko", (1_000_000, 1_000_000))
    done = subprocess.run(
        [sys.executable, "-m", "kdoctor", "build", "--json", "--module-dir", str(module)],
        env={
            **os.environ,
            "PATH": f"{fake.parent}:{os.environ['PATH']}",
            "PYTHONPATH": str(ROOT),
            "KDOCTOR_CACHE": str(tmp_path / "cache"),
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert '"ko": null' in done.stdout and '"id": "stale-ko"' in done.stdout


def test_a_module_path_with_bytes_that_are_not_utf_8_is_built_from_a_copy() -> None:
    odd = os.fsdecode(b"/src/m\xe9dulo")  # latin-1 in a UTF-8 system: a surrogate escape
    ctx = make_context(module_dir=odd)
    where = copy_target(ctx, FakeSystem())
    assert where is not None and where.startswith(f"{ctx.cache_dir}/modules/m_dulo-")
    where.encode("utf-8")  # make and the tools get a path they can carry
