"""`kdoctor build` turns a known kbuild failure into an explanation, with the log kept on disk."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fishinabarrel import fishinabarrel_module
from tests.test_fix_kbuild_cmd import CLASSIC, REAL_KDIR

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not os.path.isdir(REAL_KDIR), reason=f"needs {REAL_KDIR}"),
    pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc"),
]


def test_the_missing_cmd_file_failure_is_explained(tmp_path: Path) -> None:
    module = fishinabarrel_module(tmp_path, CLASSIC)
    run = subprocess.run(
        [sys.executable, "-m", "kdoctor", "build", "--json", "--module-dir", str(module)],
        capture_output=True,
        text=True,
        env=dict(os.environ, KDIR=REAL_KDIR, NO_COLOR="1", KDOCTOR_CACHE=str(tmp_path / "c")),
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert run.returncode == 1
    data = json.loads(run.stdout)
    assert data["ok"] is False and data["ko"] is None
    [explanation] = [e for e in data["explanations"] if e["id"] == "kbuild-cmd"]
    assert "hello_world.rust.o" in explanation["cause"]
    assert f"touch {module}/.hello_world.rust.o.cmd" in explanation["remedy"]
    log = Path(data["log"]).read_text()
    assert ".hello_world.rust.o.cmd: No such file or directory" in log
