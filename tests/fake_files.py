"""The file system of the tests' machine (:class:`tests.fake_system.FakeSystem`): files,
directories, symlinks, special files, owners and modes as a few dicts, every change recorded in
``writes``. :class:`FakeFiles` is the half of the fake that answers the file-system questions of
:class:`~kdoctor.machine.system.System`; FakeSystem adds commands and the process's identity."""

from __future__ import annotations

import errno
import io
import os
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable, Optional, TextIO, TypeVar, Union

from kdoctor.machine.files import (
    BYTES_LIMIT,
    TEXT_LIMIT,
    FileRead,
    PlaceError,
    in_the_way,
    kind_of,
    larger_than,
    not_regular,
    not_replaced,
    place_error,
    remedy,
)
from kdoctor.machine.system import Ownership

FileData = Union[str, bytes]
#: who owns a path: (uid, permission bits), or (uid, permission bits, group name)
Owner = Union[tuple[int, int], tuple[int, int, str]]
T = TypeVar("T")


class FakeFiles:
    """An in-memory file system (see :class:`tests.fake_system.FakeSystem` for its tables)."""

    files: dict[str, FileData]
    dirs: dict[str, list[str]]
    programs: dict[str, str]
    mtimes: dict[str, float]
    readonly: list[str]
    symlinks: dict[str, str]
    specials: dict[str, str]
    write_errors: dict[str, int]
    modes: dict[str, int]
    #: who owns what: path -> (uid, permission bits[, group]); any other path that is there is
    #: the fake user's (``user_id``), 0755 for a directory and 0644 for a file
    owners: dict[str, Owner]
    user_id: int
    writes: list[tuple[str, str]]
    locked: list[str]
    held: set[str]
    _temp: int
    _lock: threading.RLock

    def read_file(self, path: str, limit: int = TEXT_LIMIT) -> FileRead:
        path = self.real_path(path) if self.symlinks else path
        if path in self.specials:
            return FileRead(path, problem=not_regular(self.specials[path]))
        data = self.files.get(path)
        if data is None:
            if self.is_dir(path):
                return FileRead(path, problem=not_regular(kind_of(stat.S_IFDIR)))
            return FileRead(path)
        raw = data.encode("utf-8") if isinstance(data, str) else data
        if len(raw) > limit:
            return FileRead(path, problem=larger_than(f"{limit} bytes"))
        return FileRead(path, raw)

    def read_text(self, path: str, limit: int = TEXT_LIMIT) -> Optional[str]:
        data = self.files.get(path)
        if isinstance(data, str) and path not in self.specials and not self.symlinks:
            return data if len(data) <= limit else None
        return self.read_file(path, limit).text()

    def read_bytes(self, path: str, limit: Optional[int] = None) -> Optional[bytes]:
        if limit is None:
            return self.read_file(path, BYTES_LIMIT).data
        found = self.read_file(path, 1 << 62)
        return None if found.data is None else found.data[:limit]

    def exists(self, path: str) -> bool:
        return path in self.files or path in self.programs.values() or self.is_dir(path)

    def is_file(self, path: str) -> bool:
        return path in self.files or path in self.programs.values()

    def is_dir(self, path: str) -> bool:
        prefix = path.rstrip("/") + "/"
        return (
            path in self.dirs
            or any(p.startswith(prefix) for p in self.files)
            or any(p.startswith(prefix) for p in self.dirs)
        )

    def is_writable(self, path: str) -> bool:
        return not any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.readonly)

    def real_path(self, path: str) -> str:
        resolved = os.path.normpath(path if path.startswith("/") else "/" + path)
        for _hop in range(40):  # as many links as the kernel follows
            parts = resolved.split("/")
            for i in range(len(parts), 1, -1):
                link = self.symlinks.get("/".join(parts[:i]))
                if link is not None:
                    resolved = os.path.normpath("/".join([link, *parts[i:]]))
                    break
            else:
                return resolved
        return resolved

    def listdir(self, path: str) -> list[str]:
        names = set(self.dirs.get(path, []))
        prefix = path.rstrip("/") + "/"
        for known in (*self.files, *self.dirs):
            if known.startswith(prefix) and len(known) > len(prefix):
                names.add(known[len(prefix) :].split("/", 1)[0])
        return sorted(names)

    def mtime(self, path: str) -> Optional[float]:
        if path in self.mtimes:
            return self.mtimes[path]
        return 0.0 if self.exists(path) else None

    def identity(self, path: str) -> Optional[tuple[int, int, int, int]]:
        """Size and mtime from ``files``/``mtimes``; a stable per-path inode; device 0."""
        if not self.exists(path):
            return None
        data = self.files.get(path, b"")
        size = len(data.encode() if isinstance(data, str) else data)
        inode = int.from_bytes(path.encode()[-8:].rjust(8, b"\0"), "big") % (1 << 31)
        return (size, int((self.mtime(path) or 0.0) * 1e9), inode, 0)

    def ownership(self, path: str) -> Optional[Ownership]:
        path = self.real_path(path) if self.symlinks else path
        if not self.exists(path) and path not in self.specials:
            return None
        if path in self.specials:
            kind, perms = stat.S_IFCHR, 0o660
        elif self.is_dir(path):
            kind, perms = stat.S_IFDIR, 0o755
        else:
            kind, perms = stat.S_IFREG, 0o644
        owner: Owner = self.owners.get(path, (self.user_id, self.modes.get(path, perms)))
        uid, bits = owner[0], owner[1]
        group = owner[2] if len(owner) == 3 else _name(uid)  # type: ignore[misc]
        return Ownership(uid, uid, kind | bits, _name(uid), group)

    # -- changing files: in memory, each change recorded in ``writes`` ---------------------
    def write_file(
        self,
        path: str,
        data: FileData,
        *,
        backup: bool = False,
        mode: Optional[int] = None,
    ) -> Optional[str]:
        with self._lock:
            path = self.real_path(path) if self.symlinks else path
            self._refuse(path, file=True)
            if path in self.specials:
                raise not_replaced(path, self.specials[path])
            saved: Optional[str] = None
            if backup and path in self.files:
                number = 1
                while f"{path}.~{number}~" in self.files:
                    number += 1
                saved = f"{path}.~{number}~"
                self.files[saved] = self.files[path]
                self.writes.append((saved, "backup"))
            self.files[path] = data
            self.mtimes[path] = time.time()  # written now, as a real file system says
            if mode is not None:
                self.modes[path] = mode
            self.writes.append((path, "write"))
            return saved

    def _refuse(self, path: str, *, file: bool = False) -> None:
        """Fail as the real machine would where ``write_errors`` says so, or a file is in the
        way (a ``file``'s own directory is made as such: a file there EEXISTs)."""
        for root, code in self.write_errors.items():
            if within(path, root):
                raise place_error(path, OSError(code, os.strerror(code), path))
        parent = os.path.dirname(path)
        while parent not in ("", "/"):
            if parent in self.files:
                code = errno.EEXIST if file and parent == os.path.dirname(path) else errno.ENOTDIR
                reason = in_the_way(parent, kind_of(stat.S_IFREG))
                raise PlaceError(path, reason, remedy(code), code)
            parent = os.path.dirname(parent)

    def makedirs(self, path: str) -> None:
        with self._lock:
            self._refuse(path)
            if path in self.files:
                reason = in_the_way(path, kind_of(stat.S_IFREG))
                raise PlaceError(path, reason, remedy(errno.EEXIST), errno.EEXIST)
            if not self.is_dir(path):
                self.dirs[path] = []
            self.writes.append((path, "mkdir"))

    def make_temp_dir(self, prefix: str, parent: str) -> str:
        with self._lock:
            self._refuse(parent)
            self._temp += 1
            path = os.path.join(parent, f"{prefix}{self._temp:04d}")
            self.dirs[path] = []
            self.writes.append((path, "tempdir"))
            return path

    def remove_tree(self, path: str) -> None:
        with self._lock:
            drop(self.files, path)
            drop(self.dirs, path)
            drop(self.mtimes, path)
            drop(self.modes, path)
            parent = self.dirs.get(os.path.dirname(path))
            if parent is not None and os.path.basename(path) in parent:
                parent.remove(os.path.basename(path))
            self.writes.append((path, "remove"))

    def rename(self, source: str, target: str) -> None:
        with self._lock:
            if not self.exists(source):
                raise FileNotFoundError(source)
            move(self.files, source, target)
            move(self.dirs, source, target)
            move(self.mtimes, source, target)
            move(self.modes, source, target)
            parent = self.dirs.get(os.path.dirname(source))
            if parent is not None and os.path.basename(source) in parent:
                parent.remove(os.path.basename(source))
            self.writes.append((target, "rename"))

    def copy_tree(self, source: str, target: str) -> list[str]:
        with self._lock:
            prefix = source.rstrip("/") + "/"
            for path in sorted(p for p in self.files if p.startswith(prefix)):
                rel = path[len(prefix) :]
                if "__pycache__" in rel.split("/")[:-1]:
                    continue
                dst = os.path.join(target, rel)
                if self.files.get(dst) == self.files[path] and self.mtime(dst) == self.mtime(path):
                    continue
                self.files[dst] = self.files[path]
                if path in self.mtimes:
                    self.mtimes[dst] = self.mtimes[path]
                self.writes.append((dst, "copy"))
            if not self.is_dir(target):
                self.dirs[target] = []
            return []  # the fake has no links that dangle

    @contextmanager
    def lock(self, path: str, on_wait: Optional[Callable[[str], None]] = None) -> Iterator[None]:
        self.locked.append(path)
        self.held.add(path)
        try:
            yield
        finally:
            self.held.discard(path)

    def open_log(self, path: str, *, append: bool = False) -> TextIO:
        with self._lock:
            self._refuse(path, file=True)
            if not append or path not in self.files:
                self.files[path] = ""
            self.writes.append((path, "log"))
        return FakeLog(self.files, self._lock, path)


class FakeLog(io.StringIO):
    """A log handle whose every write lands in the fake's ``files`` at once."""

    def __init__(self, files: dict[str, FileData], lock: threading.RLock, path: str) -> None:
        super().__init__()
        self._files = files
        self._lock = lock
        self._path = path

    def write(self, text: str) -> int:
        with self._lock:
            old = self._files.get(self._path, "")
            old = old.decode("utf-8", errors="replace") if isinstance(old, bytes) else old
            self._files[self._path] = old + text
        return super().write(text)


def within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def drop(table: dict[str, T], root: str) -> None:
    for key in [k for k in table if within(k, root)]:
        del table[key]


def move(table: dict[str, T], source: str, target: str) -> None:
    for key in [k for k in table if within(k, source)]:
        table[target + key[len(source) :]] = table.pop(key)


def _name(uid: int) -> str:
    """The fake's user names: root, and the number for everybody else."""
    return "root" if uid == 0 else str(uid)
