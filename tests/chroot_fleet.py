"""Chroot hosts for the fleet tests: a Debian root made from the compatibility matrix's cached
pristine root (scripts/matrix.py), reached by Ansible through community.general's chroot
connection (the ``ansible`` package), in the same inventory as the local hosts.

Everything about a root is the matrix's: the pristine tarball (``ensure_pristine``), a fresh
working copy of it (``restore``; the tarball is only read), /proc, /sys, /dev and the release's
warm apt archive bound into it (``mounted``), the processes left in it ended and every mount
undone afterwards, whatever happens, and the copy removed (``remove_root``)."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
#: where a chroot host's pip finds kdoctor and its dependencies (a copy of the wheelhouse)
HOUSE_IN_ROOT = "/opt/kdoctor-wheelhouse"
#: what the role and kdoctor write on a chroot host (the role's defaults) and what an apt
#: install changes: check mode must leave all of it as it was
WRITTEN = ("opt", "etc", "root", "var/cache/kdoctor", "usr/local", "var/lib/dpkg/status")
#: what the role needs on a managed host (docs/install.md): venv, and packaging for Ansible's
#: pip module (installed once in each fresh root, as onboard.sh installs python3-venv)
PREREQUISITES = ("python3-venv", "python3-packaging")


def _load_matrix() -> Any:
    spec = importlib.util.spec_from_file_location("kdoctor_matrix", ROOT / "scripts" / "matrix.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


matrix = _load_matrix()


def cache_dir() -> Path:
    """The matrix's cache (``KDOCTOR_MATRIX_CACHE``, as tests/test_matrix.py)."""
    return Path(os.environ.get("KDOCTOR_MATRIX_CACHE") or matrix.DEFAULT_CACHE)


def row_env(release: str) -> dict[str, str]:
    """The environment the matrix's row of that release onboards with (its Rust packages)."""
    return dict(next(r.env for r in matrix.ROWS if r.id == release))


def run_in(root: Path, argv: list[str], log_path: Path, env: dict[str, str]) -> None:
    """``argv`` in ``root`` (the matrix's ``in_root``), failing on a non-zero exit."""
    status, _out, _s = matrix.in_root(root, argv, env=env, timeout=600, log_path=log_path)
    if status != 0:
        raise RuntimeError(f"{root.name}: {' '.join(argv)} exited {status} ({log_path})")


def fill_wheelhouse(root: Path, wheel: Path, log_path: Path) -> None:
    """The wheels of kdoctor's dependencies for the root's own python3, when it is not this
    Python's version: resolved by the release's pip in the root (as the matrix's Python-floor
    run installs), from the package index, beside the copied wheelhouse."""
    probe = ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    _status, version, _s = matrix.in_root(root, probe, timeout=60, log_path=log_path)
    if version.strip() == f"{sys.version_info[0]}.{sys.version_info[1]}":
        return
    venv = "/tmp/kdoctor-download"
    env = matrix.network_env(root)
    run_in(root, ["python3", "-m", "venv", venv], log_path, env)
    pip = [f"{venv}/bin/pip", "download", "-q", "--find-links", HOUSE_IN_ROOT]
    run_in(root, [*pip, "-d", HOUSE_IN_ROOT, f"{HOUSE_IN_ROOT}/{wheel.name}"], log_path, env)
    shutil.rmtree(root / venv.lstrip("/"))


@contextlib.contextmanager
def chroot_host(release: str, wheel: Path, house: Path, log_path: Path) -> Iterator[Path]:
    """A fresh root of ``release`` from the matrix's pristine tarball, mounted as the matrix
    mounts its roots, with the role's :data:`PREREQUISITES` and a copy of the wheelhouse;
    unmounted and removed afterwards, whatever happens."""
    cache = cache_dir()
    tarball, _seconds = matrix.ensure_pristine(cache, release)
    archives = cache / release / "archives"
    (archives / "partial").mkdir(parents=True, exist_ok=True)
    root = cache / "work" / f"fleet-{release}"
    try:
        seconds = matrix.restore(tarball, root)
        matrix.log(f"fleet {release}: fresh root from {tarball} in {seconds:.0f} s")
        matrix.copy_resolv_conf(root)
        shutil.copytree(house, root / HOUSE_IN_ROOT.lstrip("/"))
        with matrix.mounted(root, archives):
            apt = {"DEBIAN_FRONTEND": "noninteractive"}
            run_in(root, ["apt-get", "update", "-q"], log_path, apt)
            install = ["apt-get", "install", "-y", "-q", "--no-install-recommends"]
            run_in(root, [*install, *PREREQUISITES], log_path, apt)
            fill_wheelhouse(root, wheel, log_path)
            matrix.log(f"fleet {release}: prepared at {root}")
            yield root
    finally:
        started = time.monotonic()
        matrix.remove_root(root)
        matrix.log(f"fleet {release}: unmounted and removed in {time.monotonic() - started:.0f} s")


def host_vars(root: Path, release: str) -> dict[str, Any]:
    """A chroot host's inventory variables: the role's defaults (/opt/kdoctor, /var/cache/kdoctor,
    /etc/kdoctor/env, ...) as on a real machine, the root's own python3, the distribution's
    Rust (as the matrix's row of that release) and a root login's environment."""
    return {
        "ansible_connection": "community.general.chroot",
        "ansible_host": str(root),
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_remote_tmp": "/tmp/.ansible",
        "kdoctor_python": "/usr/bin/python3",
        "kdoctor_pip_extra_args": f"--no-index --find-links {HOUSE_IN_ROOT}",
        "kdoctor_rust": "distro",
        "host_env": {**matrix.ROOT_ENV, **row_env(release)},
    }


def written_state(root: Path) -> dict[str, str]:
    """Every file, link and directory under :data:`WRITTEN` in ``root``: its digest."""
    seen: dict[str, str] = {}

    def note(path: str) -> None:
        if os.path.islink(path):
            seen[path] = "-> " + os.readlink(path)
        elif os.path.isfile(path):
            seen[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()

    for part in WRITTEN:
        top = root / part
        note(str(top))
        for dirpath, dirnames, filenames in os.walk(top):
            for name in dirnames:
                seen[os.path.join(dirpath, name)] = "dir"
            for name in filenames:
                note(os.path.join(dirpath, name))
    return seen
