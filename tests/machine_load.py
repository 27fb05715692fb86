"""``KDOCTOR_TEST_LOAD=N``: the tests run on a busy machine -- N processes that each keep a CPU
busy for the whole session (started when pytest configures, killed when it ends; each also
ends by itself once pytest is gone). A test that passes only on a quiet machine fails here."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

#: a CPU hog: a busy loop that ends as soon as its parent (pytest) is gone
HOG = "import os\nparent = os.getppid()\nwhile os.getppid() == parent:\n    pass\n"


def load_wanted(environ: dict[str, str]) -> int:
    """How many hogs ``KDOCTOR_TEST_LOAD`` asks for (0 when unset; an error when not a count)."""
    value = environ.get("KDOCTOR_TEST_LOAD", "").strip()
    if not value:
        return 0
    if not value.isdigit():
        raise ValueError(f"KDOCTOR_TEST_LOAD={value!r}: not a number of processes")
    return int(value)


class MachineLoad:
    """Starts the hogs at configure time and stops them at unconfigure."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.hogs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for _ in range(self.count):
            self.hogs.append(
                subprocess.Popen(
                    [sys.executable, "-c", HOG],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    start_new_session=True,  # a Ctrl-C at the terminal is pytest's, not theirs
                )
            )

    def stop(self) -> None:
        for hog in self.hogs:
            if hog.poll() is None:
                hog.kill()
        for hog in self.hogs:
            hog.wait()
        self.hogs.clear()

    def pytest_report_header(self, config: Any) -> str:
        pids = " ".join(str(h.pid) for h in self.hogs)
        return f"machine load: {self.count} busy processes ({pids}), on {os.cpu_count()} CPUs"

    def pytest_unconfigure(self, config: Any) -> None:
        self.stop()
