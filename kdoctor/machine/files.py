"""Reading and writing the files kdoctor touches, safely.

Reading is bounded: only regular files are read (a FIFO, device, socket or directory is refused
without blocking: opened with ``O_NONBLOCK``, checked with ``fstat``), and no more than a limit
(:data:`TEXT_LIMIT`, 1 MiB, for the text files kdoctor parses; :data:`BYTES_LIMIT` for binaries).
A caller can tell a missing file from a refused one (:class:`FileRead`).

Writing keeps what a person has: a symlink is written through (its target is edited), the old
file is kept as a numbered backup that never replaces an earlier one (``env.~1~``, ``env.~2~``,
like ``cp --backup=numbered``), the new content lands atomically (a temporary file in the same
directory, fsync, rename, fsync of the directory) with the old file's mode and owner. A failure
is a :class:`PlaceError` naming the path, why, and what to do.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import tempfile
from dataclasses import dataclass
from typing import Optional, TextIO, Union

from kdoctor.i18n import N_, _

#: the most kdoctor reads of a text file it parses (Kbuild, settings, rust-toolchain.toml, ...)
TEXT_LIMIT = 1 << 20
#: the most kdoctor reads of a binary file whole (a module, busybox)
BYTES_LIMIT = 512 << 20

_KINDS = (
    (stat.S_ISREG, N_("a file")),
    (stat.S_ISFIFO, N_("a FIFO (named pipe)")),
    (stat.S_ISCHR, N_("a character device")),
    (stat.S_ISBLK, N_("a block device")),
    (stat.S_ISSOCK, N_("a socket")),
    (stat.S_ISDIR, N_("a directory")),
)
_NOT_REGULAR = N_("not a regular file")


def kind_of(mode: int) -> str:
    """What a file of ``mode`` is, in words ("a file", "a FIFO (named pipe)", ...)."""
    return _(next((name for test, name in _KINDS if test(mode)), _NOT_REGULAR))


@dataclass(frozen=True)
class FileRead:
    """What reading a file gave: its bytes, or why it was refused, or neither (missing)."""

    path: str
    data: Optional[bytes] = None
    #: why it was not read: "is a FIFO (named pipe), not a regular file", "is larger than ..."
    problem: Optional[str] = None

    @property
    def missing(self) -> bool:
        return self.data is None and self.problem is None

    def text(self) -> Optional[str]:
        """The bytes as text (invalid UTF-8 shown as U+FFFD); None when not read."""
        return None if self.data is None else self.data.decode("utf-8", errors="replace")

    def describe(self) -> str:
        """``<path> <problem>`` (or ``<path> does not exist``)."""
        return f"{self.path} {self.problem or _('does not exist')}"


def read_regular(path: str, limit: int = TEXT_LIMIT, *, prefix: bool = False) -> FileRead:
    """Read ``path`` if it is a regular file of at most ``limit`` bytes (with ``prefix``, its
    first ``limit`` bytes whatever its size). Never blocks on a FIFO or a device."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return FileRead(path)
    except NotADirectoryError:
        return FileRead(path)
    except OSError as exc:  # a socket cannot be opened at all (ENXIO): say what it is
        with contextlib.suppress(OSError):
            mode = os.stat(path).st_mode
            if not stat.S_ISREG(mode):
                return FileRead(path, problem=not_regular(kind_of(mode)))
        return FileRead(path, problem=unreadable(exc))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return FileRead(path, problem=not_regular(kind_of(info.st_mode)))
        if info.st_size > limit and not prefix:
            return FileRead(
                path,
                problem=_("is larger than {limit} ({size})").format(
                    limit=_size(limit), size=_size(info.st_size)
                ),
            )
        chunks: list[bytes] = []
        left = limit + (0 if prefix else 1)  # one more: a file that grew while being read
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            return FileRead(path, problem=larger_than(_size(limit)))
        return FileRead(path, data)
    except OSError as exc:
        return FileRead(path, problem=unreadable(exc))
    finally:
        os.close(fd)


def not_regular(kind: str) -> str:
    """Why a file of ``kind`` (in words) is not read: "is a FIFO (named pipe), not a regular
    file"."""
    return _("is {kind}, not a regular file").format(kind=kind)


def larger_than(limit: str) -> str:
    return _("is larger than {limit}").format(limit=limit)


def unreadable(exc: OSError) -> str:
    return _("cannot be read: {error}").format(error=exc.strerror or exc)


def _size(n: int) -> str:
    if n >= 1 << 20:
        return f"{n / (1 << 20):g} MiB"
    return f"{n} bytes" if n < 1 << 10 else f"{n / (1 << 10):g} KiB"


class PlaceError(OSError):
    """A file or directory kdoctor must write cannot be used; ``str()`` says which, why and what
    to do. An OSError, so callers that handle OSError keep doing so."""

    def __init__(self, path: str, reason: str, remedy: str, code: int = 0) -> None:
        super().__init__(code, reason, path)
        self.path = path
        self.reason = reason
        self.remedy = remedy

    def __str__(self) -> str:
        return _("cannot write {path}: {reason}; {remedy}").format(
            path=self.path, reason=self.reason, remedy=self.remedy
        )


#: what to do about each error (translated where a PlaceError is made)
_REMEDIES = {
    errno.ENOSPC: N_("the disk is full: free some space there and run kdoctor again"),
    errno.EDQUOT: N_("your disk quota is used up: free some space and run kdoctor again"),
    errno.EROFS: N_(
        "it is on a read-only file system: point kdoctor elsewhere (KDOCTOR_CACHE for "
        "the cache, KDOCTOR_CONFIG for the settings file) or remount it read-write"
    ),
    errno.EACCES: N_("you may not write there: fix its permissions or point kdoctor elsewhere"),
    errno.EPERM: N_("you may not write there: fix its permissions or point kdoctor elsewhere"),
    errno.ENOTDIR: N_(
        "move that file away or point kdoctor elsewhere (KDOCTOR_CACHE for the "
        "cache, KDOCTOR_CONFIG for the settings file)"
    ),
    errno.EEXIST: N_(
        "move it away or point kdoctor elsewhere (KDOCTOR_CACHE for the cache, "
        "KDOCTOR_CONFIG for the settings file)"
    ),
}
_ANY_REMEDY = N_("check that path and run kdoctor again")


def place_error(path: str, exc: OSError) -> PlaceError:
    """``exc`` (raised while writing ``path``) as a PlaceError that says what to do."""
    if isinstance(exc, PlaceError):
        return exc
    code = exc.errno or 0
    where = exc.filename if isinstance(exc.filename, str) else path
    reason = exc.strerror or str(exc)
    if code == errno.ENOTDIR:
        reason = _file_in_the_way(where) or reason
    return PlaceError(where, reason, remedy(code), code)


def remedy(code: int) -> str:
    """What to do when writing failed with errno ``code``."""
    return _(_REMEDIES.get(code, _ANY_REMEDY))


def in_the_way(path: str, kind: str) -> str:
    """Why nothing is made under ``path``: it is ``kind`` (in words), not a directory."""
    return _("{path} is {kind}, not a directory").format(path=path, kind=kind)


def not_replaced(path: str, kind: str) -> PlaceError:
    """kdoctor does not write over ``path``, which is ``kind`` (a FIFO, a device, ...)."""
    return PlaceError(
        path,
        _("it is {kind}, not a regular file").format(kind=kind),
        _("replace it with a regular file (or remove it) and run kdoctor again"),
    )


def _file_in_the_way(path: str) -> Optional[str]:
    """What the first part of ``path`` that exists but is not a directory is, in words."""
    parts = os.path.abspath(path).split(os.sep)
    for end in range(2, len(parts) + 1):
        prefix = os.sep.join(parts[:end])
        if os.path.lexists(prefix) and not os.path.isdir(prefix):
            if os.path.islink(prefix):
                return _("{path} is a symlink to {target}, not a directory").format(
                    path=prefix, target=os.readlink(prefix)
                )
            return in_the_way(prefix, kind_of(os.stat(prefix).st_mode))
    return None


def make_dirs(path: str) -> None:
    """``os.makedirs(path, exist_ok=True)``, failing with a PlaceError."""
    try:
        os.makedirs(path, exist_ok=True)
    except FileExistsError as exc:  # a file (or a dangling link) where the directory goes
        reason = _file_in_the_way(path) or _("it exists and is not a directory")
        raise PlaceError(path, reason, remedy(errno.EEXIST), exc.errno or 0) from exc
    except OSError as exc:
        raise place_error(path, exc) from exc


def numbered_backup(path: str) -> str:
    """Copy ``path`` to the next free ``path.~N~`` (never replacing an earlier backup), keeping
    its mode and times; returns the backup's path."""
    directory, name = os.path.split(path)
    taken = [0]
    for entry in os.listdir(directory or "."):
        middle = entry[len(name) + 2 : -1]
        if entry.startswith(name + ".~") and entry.endswith("~") and middle.isdigit():
            taken.append(int(middle))
    number = max(taken) + 1
    while True:
        backup = f"{path}.~{number}~"
        try:
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            number += 1
            continue
        break
    try:
        with open(path, "rb") as source, os.fdopen(fd, "wb") as target:
            while True:
                chunk = source.read(1 << 16)
                if not chunk:
                    break
                target.write(chunk)
            target.flush()
            os.fsync(target.fileno())
        info = os.stat(path)
        os.chmod(backup, info.st_mode & 0o7777)
        os.utime(backup, ns=(info.st_atime_ns, info.st_mtime_ns))
    except BaseException:
        os.unlink(backup)
        raise
    return backup


def write_target(path: str) -> str:
    """Where writing ``path`` lands: the file a symlink (chain) points to, else ``path``."""
    return os.path.realpath(path) if os.path.islink(path) else path


def write_atomic(
    path: str, text: Union[str, bytes], *, backup: bool = False, mode: Optional[int] = None
) -> Optional[str]:
    """Replace ``path`` with ``text`` (bytes, or text written as UTF-8) atomically.

    A symlink is written through; the old file is kept as a numbered backup when ``backup``;
    the new file keeps the old one's mode and owner (``mode`` sets the permissions instead; a
    new file gets 0666 less the umask). Returns the backup's path when one was made. Raises
    :class:`PlaceError` (an OSError) when it cannot, leaving the old file as it was.
    """
    target = write_target(path)
    directory = os.path.dirname(os.path.abspath(target))
    try:
        make_dirs(directory)
    except PlaceError as exc:  # name the file being written, and what is in its way
        raise PlaceError(target, exc.reason, exc.remedy, exc.errno or 0) from exc
    try:
        return _replace(target, directory, text, backup, mode)
    except OSError as exc:
        raise place_error(target, exc) from exc


def _replace(
    target: str, directory: str, text: Union[str, bytes], backup: bool, mode: Optional[int]
) -> Optional[str]:
    old: Optional[os.stat_result] = None
    with contextlib.suppress(FileNotFoundError):
        old = os.stat(target)
    if old is not None and not stat.S_ISREG(old.st_mode):
        raise not_replaced(target, kind_of(old.st_mode))
    saved = numbered_backup(target) if backup and old is not None else None
    fd, tmp = tempfile.mkstemp(prefix=".kdoctor-", dir=directory)
    try:
        data = text.encode("utf-8") if isinstance(text, str) else text
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if old is not None:
            with contextlib.suppress(PermissionError):  # not ours to give away: it is ours
                os.chown(tmp, old.st_uid, old.st_gid)
        if mode is not None:
            os.chmod(tmp, mode)
        elif old is not None:
            os.chmod(tmp, old.st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        for leftover in (tmp, saved):  # the old file stays as it was, alone
            if leftover and os.path.lexists(leftover):
                os.unlink(leftover)
        raise
    _sync_dir(directory)
    return saved


def _sync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory; the rename is done either way
    finally:
        os.close(fd)


class _Log(io.TextIOWrapper):
    """A log whose write failures (a full disk) are PlaceErrors naming the log."""

    path = ""

    def write(self, s: str) -> int:
        try:
            return super().write(s)
        except OSError as exc:
            raise place_error(self.path, exc) from exc

    def flush(self) -> None:
        try:
            super().flush()
        except OSError as exc:
            raise place_error(self.path, exc) from exc


def open_log(path: str, *, append: bool = False) -> TextIO:
    """A UTF-8 text handle on ``path`` (its directory created); failures are PlaceErrors."""
    make_dirs(os.path.dirname(os.path.abspath(path)))
    try:
        raw = open(path, "ab" if append else "wb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise place_error(path, exc) from exc
    log = _Log(raw, encoding="utf-8", errors="replace", line_buffering=False)
    log.path = path
    return log
