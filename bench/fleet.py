#!/usr/bin/env python3
"""Benchmark provisioning a fleet with the Ansible collection against the same hosts one after
another with ./onboard.sh.

Hosts are local-connection hosts on this machine, each with its own HOME, cache, settings and
virtual environment (tests/fleet.py), started fresh on each side. The fleet side runs the role
kdoctor.toolchain.install then the module with ``state: verified`` on every host at once
(Ansible's forks); the other side runs ``./onboard.sh`` per host (HOME, KDOCTOR_VENV,
KDOCTOR_CACHE and KDOCTOR_CONFIG pointed into the host; no link), or with ``--sequential fix``
``kdoctor fix --yes`` per host from one shared virtual environment (no installation counted).
Both sides install from the same local wheelhouse (PIP_FIND_LINKS) and end with the module
built and verified in a VM on every host. Prints both wall times and their ratio.

``--chroots bookworm bullseye`` (root) adds chroot hosts made from the compatibility matrix's
pristine roots (tests/chroot_fleet.py) to the fleet's inventory; the other side runs
``onboard.sh --rust distro`` in a fresh root of each, as the matrix does. Preparing a root (its
copy, mounts and the role's prerequisites) is not counted on either side.

    .venv/bin/python bench/fleet.py [--hosts 3] [--sequential onboard|fix] [--chroots R...]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.chroot_fleet import (  # noqa: E402
    HOUSE_IN_ROOT,
    chroot_host,
    host_vars,
    matrix,
    row_env,
)
from tests.fleet import (  # noqa: E402
    HOST_PATH,
    inventory,
    kdoctor_results,
    playbook,
    venv_python,
    wheelhouse,
)

#: the releases of the matrix's rows (a chroot host per release)
RELEASES = [r.id for r in matrix.ROWS if r.id == r.release]


def fleet_run(root: Path, hosts: int, wheel: Path, house: Path, chroots: list[str]) -> float:
    root.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        roots = {
            r: stack.enter_context(chroot_host(r, wheel, house, root / f"{r}.log")) for r in chroots
        }
        path = inventory(
            root, hosts, wheel, house, {r: host_vars(at, r) for r, at in roots.items()}
        )
        return timed_playbooks(path)


def timed_playbooks(path: Path) -> float:
    started = time.monotonic()
    for name, extra in (("install.yml", ()), ("site.yml", ("-e", "kdoctor_state=verified"))):
        run = playbook(path, name, *extra)
        if run["returncode"] != 0:
            sys.exit(f"{name} failed:\n{run['output'][-4000:]}")
    seconds = time.monotonic() - started
    if name == "site.yml":
        halts = {h: r.get("halt") for h, r in kdoctor_results(run).items()}
        if set(halts.values()) != {"verified"}:
            sys.exit(f"not verified everywhere: {halts}")
    return seconds


def host_env(host: Path, house: Path) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return dict(
        inherited,
        HOME=str(host / "home"),
        PATH=HOST_PATH,
        KDOCTOR_CACHE=str(host / "cache"),
        KDOCTOR_CONFIG=str(host / "etc" / "kdoctor" / "env"),
        KDOCTOR_VENV=str(host / "venv"),
        KDOCTOR_LINK_DIR="",
        PIP_FIND_LINKS=str(house),
        NO_COLOR="1",
    )


def onboard_in_root(release: str, wheel: Path, house: Path, log: Path) -> float:
    """``onboard.sh --rust distro`` in a fresh root of ``release``, as the matrix runs a row;
    seconds it took (the root's preparation not counted)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with chroot_host(release, wheel, house, log) as root:
        matrix.export_source(root, "worktree")
        env = {**matrix.network_env(root), **row_env(release), "PIP_FIND_LINKS": HOUSE_IN_ROOT}
        argv = [f"{matrix.SRC_IN_ROOT}/onboard.sh", "--rust", "distro"]
        status, _out, seconds = matrix.in_root(
            root, argv, env=env, timeout=matrix.ONBOARD_TIMEOUT, log_path=log
        )
        if status != 0:
            sys.exit(f"{release}: onboard.sh failed (exit {status}); see {log}")
        return float(seconds)


def sequential_run(root: Path, hosts: int, house: Path, how: str) -> float:
    shared = root / "shared-venv"
    if how == "fix":  # one virtual environment, made before the clock starts
        subprocess.run([venv_python(), "-m", "venv", str(shared)], check=True)
        pip = [str(shared / "bin" / "pip"), "install", "-q", "--no-index", "--find-links"]
        subprocess.run([*pip, str(house), "kdoctor"], check=True)
    started = time.monotonic()
    for n in range(1, hosts + 1):
        host = root / f"host{n}"
        (host / "home").mkdir(parents=True)
        if how == "onboard":
            argv = [str(REPO / "onboard.sh")]
        else:
            argv = [str(shared / "bin" / "kdoctor"), "fix", "--yes"]
        log = host / "run.log"
        with log.open("w") as out:
            done = subprocess.run(
                argv, env=host_env(host, house), stdout=out, stderr=subprocess.STDOUT
            )
        if done.returncode != 0:
            sys.exit(f"host{n}: {argv[0]} failed (exit {done.returncode}); see {log}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--sequential", choices=("onboard", "fix"), default="onboard")
    parser.add_argument("--chroots", nargs="*", default=[], choices=RELEASES)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="kdoctor-fleet-bench-"))
    house = work / "wheelhouse"
    wheel = wheelhouse(house)
    fleet = fleet_run(work / "fleet", args.hosts, wheel, house, args.chroots)
    one_by_one = sequential_run(work / "sequential", args.hosts, house, args.sequential)
    for release in args.chroots:
        log = work / "sequential" / f"{release}.log"
        one_by_one += onboard_in_root(release, wheel, house, log)
    label = "./onboard.sh" if args.sequential == "onboard" else "kdoctor fix --yes"
    hosts = f"{args.hosts} local + {len(args.chroots)} chroot" if args.chroots else args.hosts
    print(f"{'fleet (ansible-playbook, ' + str(hosts) + ' hosts)':40} {fleet:7.1f} s")
    print(f"{label + ' per host, one after another':40} {one_by_one:7.1f} s")
    print(f"{'fleet / one after another':40} {fleet / one_by_one:7.2f}")
    print(f"(hosts and logs in {work})")


if __name__ == "__main__":
    main()
