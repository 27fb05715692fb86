"""Downloads a person can follow: ``apt-get download`` run in a work directory, each file's
progress told as it grows.

apt prints ``Get:<n> <uri> <suite> <arch> <package> <arch> <version> [<size>]`` as it starts a
package (the size it announces, rounded: ``[19.3 MB]``) and writes the ``.deb`` straight into
its working directory, so the bytes so far are that file's size, looked at a few times a second
(through :class:`~kdoctor.machine.system.System`); when apt is done each file is told once more,
finished, with its exact size. Nothing about the download itself changes: the same command, the
same directory, the same answer.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Callable, Optional

from kdoctor.machine.system import Probe, System

#: how often a growing file is looked at
POLL_S = 0.2
_UNITS = {"B": 1, "kB": 1000, "MB": 1000**2, "GB": 1000**3}


@dataclass(frozen=True)
class Transfer:
    """One file on its way: its name (the package), bytes so far, the size announced."""

    name: str
    done: int
    #: the size apt announced (rounded), or the exact size once finished; None: not known
    total: Optional[int]
    seconds: float
    finished: bool = False


Downloads = Callable[[Transfer], None]


def announced(line: str) -> Optional[tuple[str, int]]:
    """(package, bytes) of apt's ``Get:`` line, or None when ``line`` is not one."""
    words = line.split()
    if len(words) < 8 or not words[0].startswith("Get:") or not words[-1].endswith("]"):
        return None
    number, unit = words[-2].lstrip("["), words[-1].rstrip("]")
    try:
        size = float(number.replace(",", ""))
    except ValueError:
        return None
    if unit not in _UNITS:
        return None
    return words[-5], int(size * _UNITS[unit])


def package_of(deb: str) -> str:
    """The package a ``.deb``'s file name is of (``gcc-12_12.2.0-14_amd64.deb``: gcc-12)."""
    return deb.split("_", 1)[0]


def apt_download(
    system: System,
    argv: Sequence[str],
    *,
    cwd: str,
    timeout: float,
    env: Optional[Mapping[str, str]] = None,
    on_download: Optional[Downloads] = None,
) -> Probe:
    """Run ``argv`` (an ``apt-get download``) in ``cwd``; ``on_download`` is told each
    ``.deb`` appearing there as it grows, and once more when apt has ended."""
    if on_download is None:
        return system.run(argv, cwd=cwd, env=env, timeout=timeout)
    tell = on_download
    sizes: dict[str, int] = {}
    began: dict[str, float] = {}
    lock = threading.Lock()
    done = threading.Event()

    def heard(line: str) -> None:
        found = announced(line)
        if found is not None:
            with lock:
                sizes[found[0]] = found[1]
                began.setdefault(found[0], time.monotonic())

    def look(finished: bool) -> None:
        for deb in system.listdir(cwd):
            if not deb.endswith(".deb"):
                continue
            known = system.identity(os.path.join(cwd, deb))
            if known is None:
                continue
            name = package_of(deb)
            with lock:
                start = began.setdefault(name, time.monotonic())
                total = known[0] if finished else sizes.get(name)
            tell(Transfer(name, known[0], total, time.monotonic() - start, finished))

    def watch() -> None:
        while not done.wait(POLL_S):
            look(False)

    watcher = threading.Thread(target=watch, name="kdoctor-download", daemon=True)
    watcher.start()
    try:
        got = system.run(argv, cwd=cwd, env=env, timeout=timeout, on_output=heard)
    finally:
        done.set()
        watcher.join()
    if got.ok:
        look(True)
    return got
