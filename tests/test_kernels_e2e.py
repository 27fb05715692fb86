"""``kdoctor test`` end to end: the bundled hello-world built for Debian's 5.10, 6.1 and 6.12
(fetched from deb.debian.org into kdoctor's cache) and loaded in a VM booting each, while
/boot, /usr/src, /lib/modules and dpkg's database stay exactly as they were."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kdoctor.pipeline.verify import boot as vm_boot
from tests.real_machine import require_tools

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
WATCHED = ("/boot", "/usr/src", "/lib/modules")
STATUS = "/var/lib/dpkg/status"


def snapshot() -> dict[str, object]:
    """Every entry below the watched trees (type, size, mtime, link target) and dpkg's status."""
    seen: dict[str, object] = {}
    for top in WATCHED:
        for base, dirs, files in os.walk(top):
            for name in dirs + files:
                path = os.path.join(base, name)
                info = os.lstat(path)
                link = os.readlink(path) if os.path.islink(path) else None
                seen[path] = (info.st_mode, info.st_size, info.st_mtime_ns, link)
    seen[STATUS] = hashlib.sha256(Path(STATUS).read_bytes()).hexdigest()
    return seen


def test_three_kernels_pass_and_the_system_is_untouched() -> None:
    require_tools(vm_boot.QEMU, "make", "apt-get", "dpkg-deb")
    before = snapshot()
    done = subprocess.run(
        [sys.executable, "-m", "kdoctor", "test", "--kernels", "5.10,6.1,6.12", "--json"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=3600,
    )
    after = snapshot()
    report = json.loads(done.stdout)
    rows = {row["kernel"]: row for row in report["kernels"]}
    assert sorted(rows) == ["5.10", "6.1", "6.12"], done.stderr[-2000:]
    for spec, row in rows.items():
        assert row["passed"], f"{spec}: {row}"
        assert row["messages"] == "3/3" and row["release"].startswith(spec + ".")
    assert done.returncode == 0
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert changed == []
