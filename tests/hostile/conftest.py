"""A sandbox for hostile-input scenarios: each scenario runs the real ``kdoctor`` CLI in a
subprocess with its own ``HOME``, config and cache, a copy of the bundled module, no stdin and
a hard timeout, and can prove that nothing outside its own files changed.

Usage in a scenario::

    def test_something(sandbox: Sandbox) -> None:
        result = sandbox.run("check", "--json")
        assert result.code == 2
        assert "which line" in result.err
        sandbox.assert_untouched()
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "hello-world"

#: places outside a scenario that kdoctor must never touch while a scenario runs (top level only
#: for the shared temporary directory, where unrelated programs come and go)
WATCHED_TREES = ("/boot", "/usr/src", "/lib/modules", "/etc/apt/sources.list.d")
WATCHED_TMP_PREFIXES = ("kdoctor", "verify-", "pwned", "build-")


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def no_traceback(self) -> bool:
        return "Traceback (most recent call last)" not in self.text


def _tree_state(root: str) -> dict[str, tuple[int, int, int]]:
    """path -> (size, mtime_ns, mode) of everything under ``root`` (not following links)."""
    state: dict[str, tuple[int, int, int]] = {}
    if not os.path.lexists(root):
        return state
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue
            state[path] = (info.st_size, info.st_mtime_ns, info.st_mode)
    return state


def _tmp_names() -> set[str]:
    tmp = os.environ.get("TMPDIR", "/tmp")
    try:
        names = os.listdir(tmp)
    except OSError:
        return set()
    # the sandbox's own self-test marker, made by other test runs sharing this /tmp, is theirs
    others = re.compile(rf"pwned-sandbox-(?!{os.getpid()}$)\d+$")
    return {n for n in names if n.startswith(WATCHED_TMP_PREFIXES) and not others.match(n)}


@dataclass
class Sandbox:
    root: Path
    home: Path
    cache: Path
    config: Path
    module: Path
    tmp: Path
    env: dict[str, str] = field(default_factory=dict)
    _before: dict[str, dict[str, tuple[int, int, int]]] = field(default_factory=dict)
    _tmp_before: set[str] = field(default_factory=set)

    def run(
        self,
        *args: str,
        env: Optional[Mapping[str, Optional[str]]] = None,
        timeout: float = 600,  # a bound only a hung kdoctor reaches (a busy machine is slow)
        cwd: Optional[Path] = None,
    ) -> Result:
        """``python -m kdoctor ARGS`` in the sandbox; ``env`` values of None remove a variable."""
        merged = dict(self.env)
        for key, value in (env or {}).items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        proc = subprocess.run(
            [sys.executable, "-m", "kdoctor", *args],
            env=merged,
            cwd=str(cwd or self.root),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
        )
        return Result(
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )

    def changed_outside(self) -> list[str]:
        """Watched places outside the sandbox that differ from when the scenario began."""
        changed: list[str] = []
        for root, before in self._before.items():
            after = _tree_state(root)
            changed += sorted(p for p in set(before) | set(after) if before.get(p) != after.get(p))
        changed += sorted(_tmp_names() - self._tmp_before)
        return changed

    def assert_untouched(self) -> None:
        assert self.changed_outside() == []


_BASELINE: dict[str, dict[str, tuple[int, int, int]]] = {}


def _baseline() -> dict[str, dict[str, tuple[int, int, int]]]:
    """The watched trees as the first scenario of the session found them (walking /usr/src
    takes most of a second; nothing may change them during the session anyway)."""
    if not _BASELINE:
        _BASELINE.update({r: _tree_state(r) for r in WATCHED_TREES})
    return _BASELINE


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    root = tmp_path / "scenario"
    home, cache, tmp = root / "home", root / "cache", root / "tmp"
    config = home / ".config" / "kdoctor" / "env"
    for directory in (home, cache, tmp, config.parent):
        directory.mkdir(parents=True)
    module = root / "module"
    shutil.copytree(BUNDLED, module, ignore=shutil.ignore_patterns("target", "*.o", "*.ko"))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "KDOCTOR_CACHE": str(cache),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(REPO),
        "NO_COLOR": "1",
    }
    box = Sandbox(root, home, cache, config, module, tmp, env)
    box._before = _baseline()
    box._tmp_before = _tmp_names()
    yield box


# -- a second, real user (tests/hostile/users.py) -------------------------------------------------
@pytest.fixture(scope="session")
def student() -> object:
    """The second user of the ownership scenarios (created with useradd when missing)."""
    from tests.hostile.users import second_user

    return second_user()


@pytest.fixture(scope="session")
def kit() -> Iterator[Path]:
    """kdoctor and its dependencies where the second user may read them."""
    from tests.hostile.users import made_kit

    with made_kit() as root:
        yield root
