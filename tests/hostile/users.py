"""A second, real user for the ownership scenarios: one that plants files in kdoctor's cache and
settings (the files really belong to it), and one that runs kdoctor on a machine root
provisioned (``setpriv --reuid --regid --init-groups``).

Running as it needs what it can reach: root's tmp_path (``/tmp/pytest-of-root``) and the test
venv's python (under ``/root`` here) are closed to other users, so such a run uses the system's
``python3`` with a kit (kdoctor, the bundled module and kdoctor's dependencies copied from the
test venv) in a directory everybody may read.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tests.hostile.conftest import BUNDLED, REPO, Result
from tests.real_machine import cannot_run

#: the second user the scenarios create when it is missing (a system user without a home)
STUDENT = "kdoctor-student"
#: what runs kdoctor for that user (the test venv's python is under /root)
SYSTEM_PYTHON = "/usr/bin/python3"


@dataclass(frozen=True)
class User:
    name: str
    uid: int
    gid: int

    def owns(self, path: Path) -> None:
        """Give ``path`` (and everything under it) to this user, as if it had made them."""
        for place in [path, *(path.rglob("*") if path.is_dir() else [])]:
            os.chown(place, self.uid, self.gid, follow_symlinks=False)


def second_user() -> User:
    """The second user, created with useradd when missing; a clear skip (a failure under
    CI=true) where that cannot be done."""
    if os.geteuid() != 0:
        cannot_run("the ownership scenarios need root: to plant files as a second user")
    try:
        entry = pwd.getpwnam(STUDENT)
    except KeyError:
        useradd = shutil.which("useradd") or shutil.which("/usr/sbin/useradd")
        if useradd is None:
            cannot_run("needs useradd (passwd) to create a second user")
        made = subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", STUDENT],
            capture_output=True,
        )
        if made.returncode != 0:
            cannot_run(f"useradd {STUDENT} failed: {made.stderr.decode(errors='replace')}")
        entry = pwd.getpwnam(STUDENT)
    return User(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _dependencies() -> list[str]:
    """The files and packages of kdoctor's dependencies in the test venv, as kdoctor's commands
    import them."""
    probe = (
        "import json, sys, sysconfig, kdoctor.__main__, kdoctor.cli.app, kdoctor.render.text\n"
        "site = sysconfig.get_paths()['purelib']\n"
        "found = set()\n"
        "for name, module in list(sys.modules.items()):\n"
        "    path = getattr(module, '__file__', None) or ''\n"
        "    if path.startswith(site + '/') and '.' not in name:\n"
        "        rel = path[len(site) + 1:].split('/')[0]\n"
        "        found.add(rel)\n"
        "print(json.dumps([site, sorted(found)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, check=True, cwd=str(REPO)
    )
    site, names = json.loads(done.stdout)
    return [os.path.join(site, name) for name in names]


@contextmanager
def made_kit() -> Iterator[Path]:
    """kdoctor, the bundled module and its dependencies where any user may read them."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        cannot_run(f"needs {SYSTEM_PYTHON} to run kdoctor as a second user")
    root = Path(tempfile.mkdtemp(prefix="owner-kit-", dir="/tmp"))
    try:
        root.chmod(0o755)
        shutil.copytree(REPO / "kdoctor", root / "kdoctor", ignore=shutil.ignore_patterns("*.pyc"))
        for path in _dependencies():
            target = root / os.path.basename(path)
            if os.path.isdir(path):
                shutil.copytree(path, target, ignore=shutil.ignore_patterns("*.pyc"))
            else:
                shutil.copy2(path, target)
        shutil.copytree(
            BUNDLED, root / "hello-world", ignore=shutil.ignore_patterns("target", "*.o", "*.ko")
        )
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def open_dir(prefix: str) -> Path:
    """A directory any user may reach, outside root's closed tmp_path (the caller removes it)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


def run_as(
    user: User,
    kit: Path,
    *args: str,
    env: Mapping[str, str],
    cwd: Path,
    timeout: float = 600,
) -> Result:
    """``python3 -m kdoctor ARGS`` as ``user`` (its uid, gid and groups), from ``kit``."""
    setpriv = shutil.which("setpriv") or cannot_run("needs setpriv (util-linux)")
    argv = [
        setpriv,
        f"--reuid={user.uid}",
        f"--regid={user.gid}",
        "--init-groups",
        "--",
        SYSTEM_PYTHON,
        "-m",
        "kdoctor",
        *args,
    ]
    full = {"PYTHONPATH": str(kit), "LANG": "C.UTF-8", "NO_COLOR": "1", "USER": user.name}
    full.update(env)
    proc = subprocess.run(
        argv, env=full, cwd=str(cwd), stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout
    )
    return Result(
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def tree(root: Path) -> dict[str, tuple[int, int, bytes]]:
    """relative path -> (mode, owner, content) of everything under ``root``."""
    state: dict[str, tuple[int, int, bytes]] = {}
    for directory, dirs, names in os.walk(root):
        for name in dirs + names:
            path = Path(directory) / name
            info = path.lstat()
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else b""
            state[str(path.relative_to(root))] = (info.st_mode, info.st_uid, data)
    return state


def path_env(extra: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """A PATH without root's own directories (a second user cannot enter /root)."""
    dirs = [d for d in os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep) if d]
    kept = [d for d in dirs if not d.startswith("/root")]
    return {"PATH": os.pathsep.join(kept or ["/usr/bin", "/bin"]), **(extra or {})}
