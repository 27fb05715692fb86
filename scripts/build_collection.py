#!/usr/bin/env python3
"""Build the Ansible collection kdoctor.toolchain, with the kdoctor wheel it ships.

    python scripts/build_collection.py                   # dist/kdoctor-toolchain-<version>.tar.gz
    python scripts/build_collection.py --output-path DIR # the tarball into DIR
    python scripts/build_collection.py --in-place        # only the wheel, into files/

The tarball is the collection as ``ansible-galaxy collection build`` makes it from a copy of
``ansible_collections/kdoctor/toolchain`` whose ``files/`` holds the wheel of this working tree
(``kdoctor_rust-<version>-py3-none-any.whl``): ``ansible-galaxy collection install`` of it is
all a controller needs for the role ``kdoctor.toolchain.install`` to install kdoctor. The
working tree is left as it is. ``--in-place`` builds the wheel into the collection's own
``files/`` instead, to use the collection from the repository (ANSIBLE_COLLECTIONS_PATH=.).
The collection's version must be kdoctor's.

Python standard library only (plus pip, and ansible-galaxy for the tarball).
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


def build_tarball(output: Path) -> Path:
    """The collection's tarball in ``output``, built from a copy holding the wheel."""
    galaxy = shutil.which("ansible-galaxy") or str(Path(sys.executable).parent / "ansible-galaxy")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "toolchain"
        # what ansible-test leaves (tests/output, the integration inventory), a stale wheel
        ignore = shutil.ignore_patterns(
            "__pycache__", "output", "inventory", WHEEL_PREFIX + "*.whl"
        )
        shutil.copytree(COLLECTION, copy, ignore=ignore)
        build_wheel(copy / "files")
        output.mkdir(parents=True, exist_ok=True)
        argv = [galaxy, "collection", "build", "--force", "--output-path", str(output), str(copy)]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return output / f"kdoctor-toolchain-{collection_version()}.tar.gz"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output-path", metavar="DIR", default=str(REPO / "dist"), help="where the tarball goes"
    )
    parser.add_argument(
        "--in-place", action="store_true", help="only build the wheel into the collection's files/"
    )
    args = parser.parse_args()
    if collection_version() != kdoctor_version():
        print(
            f"galaxy.yml says {collection_version()}, kdoctor is {kdoctor_version()}",
            file=sys.stderr,
        )
        return 1
    if args.in_place:
        print(build_wheel(COLLECTION / "files"))
    else:
        print(build_tarball(Path(args.output_path).resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
