#!/usr/bin/env python3
"""Build the Ansible collection kdoctor.toolchain with the kdoctor wheel it ships.

Builds the wheel of this repository into ``ansible_collections/kdoctor/toolchain/files/`` (the
role ``kdoctor.toolchain.install`` installs it when no ``kdoctor_version`` is given), checks
that the collection's version is kdoctor's, and with ``--tarball DIR`` also runs
``ansible-galaxy collection build`` into DIR.

    python scripts/build_collection.py [--tarball dist/]

Python standard library only (plus pip, and ansible-galaxy for --tarball).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLLECTION = REPO / "ansible_collections" / "kdoctor" / "toolchain"
#: kdoctor's distribution name (pyproject.toml) as a wheel's file name spells it: ``kdoctor`` on
#: the package index is another project
WHEEL_PREFIX = "kdoctor_rust-"


def kdoctor_version() -> str:
    text = (REPO / "kdoctor" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    assert match, "kdoctor/__init__.py has no __version__"
    return match.group(1)


def collection_version() -> str:
    text = (COLLECTION / "galaxy.yml").read_text(encoding="utf-8")
    match = re.search(r"^version: (\S+)$", text, re.M)
    assert match, "galaxy.yml has no version"
    return match.group(1)


def build_wheel(into: Path) -> Path:
    """The wheel of a copy of the working tree (no stale build/ directory leaks in)."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "kdoctor"
        ignore = shutil.ignore_patterns(
            ".git", ".venv*", "build", "*.egg-info", "ansible_collections", "__pycache__"
        )
        shutil.copytree(REPO, tree, ignore=ignore)
        out = Path(tmp) / "out"
        pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(tree)]
        subprocess.run(pip, check=True)
        [wheel] = out.glob(WHEEL_PREFIX + "*.whl")
        into.mkdir(parents=True, exist_ok=True)
        for old in into.glob(WHEEL_PREFIX + "*.whl"):
            old.unlink()
        return Path(shutil.copy2(wheel, into / wheel.name))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", metavar="DIR", help="also build the collection tarball")
    args = parser.parse_args()
    if collection_version() != kdoctor_version():
        print(
            f"galaxy.yml says {collection_version()}, kdoctor is {kdoctor_version()}",
            file=sys.stderr,
        )
        return 1
    wheel = build_wheel(COLLECTION / "files")
    print(wheel)
    if args.tarball:
        galaxy = ["ansible-galaxy", "collection", "build", "--force", "--output-path"]
        subprocess.run([*galaxy, args.tarball, str(COLLECTION)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
