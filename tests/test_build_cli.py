"""`kdoctor build` turns a known kbuild failure into an explanation, with the log kept on disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fishinabarrel import fishinabarrel_module
from tests.real_machine import RealTarget, require_tools
from tests.test_fix_kbuild_cmd import CLASSIC

pytestmark = pytest.mark.integration


def test_the_missing_cmd_file_failure_is_explained(tmp_path: Path, real_target: RealTarget) -> None:
    require_tools("make", "gcc", "ar")
    module = fishinabarrel_module(tmp_path, CLASSIC)
    run = subprocess.run(
        [sys.executable, "-m", "kdoctor", "build", "--json", "--module-dir", str(module)],
        capture_output=True,
        text=True,
        env=dict(
            os.environ, KDIR=real_target.kdir, NO_COLOR="1", KDOCTOR_CACHE=str(tmp_path / "c")
        ),
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
