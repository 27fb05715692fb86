"""``KDOCTOR_TEST_LOAD``: the hogs that make the machine busy start, keep a CPU busy, and stop."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.machine_load import MachineLoad, load_wanted


def test_the_load_asked_is_read_from_the_environment() -> None:
    assert load_wanted({}) == 0
    assert load_wanted({"KDOCTOR_TEST_LOAD": ""}) == 0
    assert load_wanted({"KDOCTOR_TEST_LOAD": " 3 "}) == 3
    with pytest.raises(ValueError, match="not a number of processes"):
        load_wanted({"KDOCTOR_TEST_LOAD": "lots"})


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_hogs_keep_a_cpu_busy_and_are_stopped() -> None:
    load = MachineLoad(2)
    load.start()
    try:
        pids = [h.pid for h in load.hogs]
        assert len(pids) == 2 and all(h.poll() is None for h in load.hogs)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and min(cpu_ticks(p) for p in pids) < 5:
            time.sleep(0.05)
        assert min(cpu_ticks(p) for p in pids) >= 5  # each used CPU time: they spin
        assert "2 busy processes" in load.pytest_report_header(None)
    finally:
        load.stop()
    assert load.hogs == []
    assert all(not Path(f"/proc/{p}").exists() for p in pids)
