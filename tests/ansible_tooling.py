"""Ansible's own tools on the collection: ``ansible-test`` (sanity, units, integration) with
``--venv`` and the Python running the tests, and ``ansible-lint``, each run in the collection's
directory as its documentation says.

ansible-test makes its virtual environments with a get-pip.py it downloads from a site out of
reach here: when it says so ("The bootstrap script can be manually downloaded and saved to:
PATH"), :func:`ansible_test` saves tests/data/ansible_test_get_pip.py there (in ansible-test's
cache, ``~/.ansible/test/cache``) and runs it again. Its environments stay in
``~/.ansible/test/venv``, so only the first run installs the sanity tests' requirements."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLLECTION = ROOT / "ansible_collections" / "kdoctor" / "toolchain"
GET_PIP = Path(__file__).resolve().parent / "data" / "ansible_test_get_pip.py"
BIN = Path(sys.executable).parent
SAVE_TO = re.compile(r"The bootstrap script can be manually downloaded and saved to: (\S+)")


def tool(name: str) -> str | None:
    """The command beside this Python (the test venv's), else on the PATH."""
    here = BIN / name
    return str(here) if here.exists() else shutil.which(name)


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PATH=f"{BIN}:{env.get('PATH', '')}", ANSIBLE_NOCOLOR="1", NO_COLOR="1")
    return env


def ansible_test(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """``ansible-test ARGS --venv --python X.Y`` in the collection's directory."""
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    argv = [
        tool("ansible-test") or "ansible-test",
        *args,
        "--venv",
        "--python",
        python,
        "--color",
        "no",
    ]
    for _attempt in range(2):
        run = subprocess.run(
            argv, cwd=COLLECTION, env=environment(), capture_output=True, text=True, timeout=timeout
        )
        saved = SAVE_TO.search(run.stdout + run.stderr)
        if run.returncode == 0 or saved is None or Path(saved.group(1)).exists():
            return run
        Path(saved.group(1)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(GET_PIP, saved.group(1))
    return run


def ansible_lint(timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """``ansible-lint --profile production`` in the collection's directory (.ansible-lint)."""
    argv = [
        tool("ansible-lint") or "ansible-lint",
        "--offline",
        "--nocolor",
        "--profile",
        "production",
    ]
    return subprocess.run(
        argv, cwd=COLLECTION, env=environment(), capture_output=True, text=True, timeout=timeout
    )
