"""One artefact of kdoctor's cache at a time: an exclusive ``flock`` on ``<artefact>.lock``
next to it, held while the artefact is checked, made or changed, so two kdoctor runs sharing a
cache never trip over each other's half-made files (the second waits, and says so)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable, Optional

from kdoctor.i18n import _
from kdoctor.machine.files import make_dirs, place_error

LOCK_SUFFIX = ".lock"


def lock_path(path: str) -> str:
    return path.rstrip("/") + LOCK_SUFFIX


@contextmanager
def file_lock(path: str, on_wait: Optional[Callable[[str], None]] = None) -> Iterator[None]:
    """Hold the lock of ``path`` (created with its directory when missing); when another
    process holds it, call ``on_wait`` with a sentence saying so, then wait for it."""
    name = lock_path(path)
    make_dirs(os.path.dirname(os.path.abspath(name)))  # a PlaceError when it cannot
    try:
        fd = os.open(name, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise place_error(name, exc) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(_("waiting for {lock} held by another kdoctor").format(lock=name))
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock
