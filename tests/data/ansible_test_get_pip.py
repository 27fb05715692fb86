# SPDX-License-Identifier: GPL-2.0-only
"""A stand-in for the get-pip.py that ``ansible-test`` downloads to put pip into each virtual
environment it makes (``--venv``, and every sanity test's own): its download site is out of
reach where only package registries are. Like get-pip.py it installs the packages named in its
arguments (``pip==<version>``, ...) over an upgraded pip, here with the pip this Python bundles
(ensurepip) and then from the package index as pip is configured. ansible-test runs it as
``python <its pip wrapper> [options] packages...`` with ``GET_PIP`` naming this file.
tests/ansible_tooling.py copies it where ansible-test's message says the script can be saved."""

from __future__ import annotations

import subprocess
import sys

# get-pip.py's own options, meaningless here (setuptools and wheel are not installed anyway)
OWN = ("--no-setuptools", "--no-wheel")


def main() -> int:
    args = [a for a in sys.argv[1:] if a not in OWN]
    # in a child process: ensurepip empties the pip settings of the process that runs it
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    pip = [sys.executable, "-m", "pip", "install", "--upgrade", "--force-reinstall"]
    return subprocess.call([*pip, *args])


if __name__ == "__main__":
    sys.exit(main())
