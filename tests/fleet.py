"""A fleet of hosts on this machine for the Ansible collection's tests and benchmark: each host
is a local-connection host with its own HOME, cache, settings and kdoctor installation (under
``<root>/hostN``), all installed by the role kdoctor.toolchain.install from a wheel of this
working tree and a local wheelhouse (no index needed once the wheelhouse exists). Chroot hosts
(tests/chroot_fleet.py) join the same inventory."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = Path(__file__).resolve().parent / "data" / "fleet"
#: a host without the rustup of this machine's root (its own HOME, the system's PATH)
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def needs_ansible() -> None:
    """Skip the test unless ansible-core is installed here."""
    import pytest  # only the tests need it, not bench/fleet.py

    pytest.importorskip("ansible")
    here = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    if not os.path.exists(here) and shutil.which("ansible-playbook") is None:
        pytest.skip("ansible-core is not installed (pip install ansible-core)")


def host_state(root: Path, hosts: Sequence[str]) -> dict[str, str]:
    """Every file and directory of the local hosts' own state (HOME, cache, settings): its
    digest."""
    seen: dict[str, str] = {}
    for host in hosts:
        for part in ("home", "cache", "etc/kdoctor"):
            for dirpath, dirnames, filenames in os.walk(root / host / part):
                for name in dirnames:
                    seen[os.path.join(dirpath, name)] = "dir"
                for name in filenames:
                    data = Path(dirpath, name).read_bytes()
                    seen[os.path.join(dirpath, name)] = hashlib.sha256(data).hexdigest()
    return seen


def build_collection_script() -> Any:
    path = ROOT / "scripts" / "build_collection.py"
    spec = importlib.util.spec_from_file_location("build_collection", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wheelhouse(into: Path) -> Path:
    """kdoctor's wheel (built from this tree) and every dependency's, in ``into``."""
    wheel = build_collection_script().build_wheel(into)
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "-w", str(into), str(wheel)]
    subprocess.run(pip, check=True, capture_output=True, text=True)
    return Path(wheel)


def venv_python() -> str:
    """A Python with venv support for the hosts' virtual environments."""
    for candidate in ("/usr/bin/python3", sys.executable):
        probe = subprocess.run([candidate, "-c", "import ensurepip, venv"], capture_output=True)
        if probe.returncode == 0:
            return candidate
    raise RuntimeError("no python3 with venv support")


def inventory(
    root: Path,
    hosts: int,
    wheel: Path,
    house: Path,
    chroots: Optional[dict[str, dict[str, Any]]] = None,
) -> Path:
    """An inventory of ``hosts`` local hosts under ``root``, and of ``chroots`` (host name: its
    variables, tests/chroot_fleet.py) in the same group."""
    members: dict[str, Any] = {}
    for n in range(1, hosts + 1):
        host = root / f"host{n}"
        (host / "home").mkdir(parents=True, exist_ok=True)
        members[f"host{n}"] = {
            "kdoctor_prefix": str(host / "opt" / "kdoctor"),
            "kdoctor_cache_dir": str(host / "cache"),
            "kdoctor_config_file": str(host / "etc" / "kdoctor" / "env"),
            "kdoctor_profile_script": str(host / "etc" / "profile.d" / "kdoctor.sh"),
            "kdoctor_link": "",
            "host_env": {"HOME": str(host / "home"), "PATH": HOST_PATH},
        }
    members.update(chroots or {})
    group = {
        "hosts": members,
        "vars": {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "kdoctor_python": venv_python(),
            "kdoctor_wheel": str(wheel),
            "kdoctor_wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
            "kdoctor_pip_extra_args": f"--no-index --find-links {house}",
        },
    }
    path = root / "inventory.json"
    path.write_text(json.dumps({"fleet": group}, indent=1), encoding="utf-8")
    return path


def playbook(
    inventory_path: Path,
    name: str,
    *args: str,
    timeout: float = 3600,
    collections: Path = ROOT,
) -> dict[str, Any]:
    """Run ``tests/data/fleet/<name>`` with the collections under ``collections`` (default this
    repository's): every task's result per host and the recap."""
    record = inventory_path.parent / f"record-{os.getpid()}.json"
    # nothing of the test's own Python leaks in: each host's kdoctor is its own installation
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env = dict(
        inherited,
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_CALLBACK_PLUGINS=str(PLAYBOOKS / "callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="record",
        ANSIBLE_LOCAL_TEMP=str(inventory_path.parent / ".ansible-local"),
        ANSIBLE_REMOTE_TEMP=str(inventory_path.parent / ".ansible-remote"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORKS="10",
        KDOCTOR_RECORD=str(record),
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    )
    argv = ["ansible-playbook", "-i", str(inventory_path), str(PLAYBOOKS / name), *args]
    run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout)
    data: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
    record.unlink()
    data["returncode"] = run.returncode
    data["output"] = run.stdout + run.stderr
    return data


def kdoctor_results(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The kdoctor task's result per host."""
    return {
        r["host"]: r["result"] | {"status": r["status"]}
        for r in data["results"]
        if r["task"].startswith("Bring the host to")
    }
