"""A gzip'd ``newc`` cpio archive (the Linux initramfs format), written in Python.

Deterministic by construction: entries keep the order they were added in, inode numbers
count up from 1, owners are root and every timestamp is ``mtime`` (0 unless asked), and the
gzip header carries neither a name nor a time. The same inputs give the same bytes.
"""

from __future__ import annotations

import gzip
import io
import stat
from dataclasses import dataclass

from kdoctor.machine.system import System

MAGIC = b"070701"
TRAILER = "TRAILER!!!"
_FIELDS = 13  # ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor
# namesize check
_HEADER = len(MAGIC) + 8 * _FIELDS


@dataclass(frozen=True)
class Entry:
    """One archive member: ``name`` has no leading slash, ``mode`` includes the file type."""

    name: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)
    mtime: int = 0

    @property
    def is_dir(self) -> bool:
        return stat.S_ISDIR(self.mode)

    @property
    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self.mode)

    @property
    def target(self) -> str:
        """Where a symlink points."""
        return self.data.decode()

    @property
    def permissions(self) -> int:
        return stat.S_IMODE(self.mode)


class Archive:
    """Collects entries; parent directories are added (0755) before anything inside them."""

    def __init__(self, mtime: int = 0) -> None:
        self.mtime = mtime
        self._entries: list[Entry] = []
        self._names: set[str] = set()

    def add_dir(self, path: str, mode: int = 0o755) -> None:
        name = _name(path)
        if name in self._names:
            return
        self._parents(name)
        self._add(Entry(name, stat.S_IFDIR | mode, mtime=self.mtime))

    def add_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        name = _name(path)
        self._parents(name)
        self._add(Entry(name, stat.S_IFREG | mode, data, mtime=self.mtime))

    def add_symlink(self, path: str, target: str) -> None:
        name = _name(path)
        self._parents(name)
        self._add(Entry(name, stat.S_IFLNK | 0o777, target.encode(), mtime=self.mtime))

    def add_char_device(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        name = _name(path)
        self._parents(name)
        self._add(Entry(name, stat.S_IFCHR | mode, rdev=(major, minor), mtime=self.mtime))

    def entries(self) -> list[Entry]:
        return list(self._entries)

    def to_newc(self) -> bytes:
        out = io.BytesIO()
        for ino, entry in enumerate(self._entries, start=1):
            nlink = 2 if entry.is_dir else 1
            _write_member(out, entry, ino, nlink)
        _write_member(out, Entry(TRAILER, 0), 0, 1)
        return out.getvalue()

    def to_gzip(self, level: int = 6) -> bytes:
        out = io.BytesIO()
        # filename="" and mtime=0 keep the gzip header free of anything that varies
        with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=level) as z:
            z.write(self.to_newc())
        return out.getvalue()

    def write(self, system: System, path: str) -> None:
        """Write the gzip'd archive to ``path``."""
        system.write_file(path, self.to_gzip())

    def _parents(self, name: str) -> None:
        parts = name.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            self.add_dir("/".join(parts[:depth]))

    def _add(self, entry: Entry) -> None:
        if entry.name in self._names:
            raise ValueError(f"{entry.name!r} is already in the archive")
        self._names.add(entry.name)
        self._entries.append(entry)


def parse_newc(data: bytes) -> list[Entry]:
    """The members of an (uncompressed) newc archive, up to its trailer."""
    entries: list[Entry] = []
    pos = 0
    while True:
        header = data[pos : pos + _HEADER]
        if len(header) < _HEADER or not header.startswith(MAGIC):
            raise ValueError(f"no newc header at offset {pos}")
        fields = [int(header[6 + 8 * i : 14 + 8 * i], 16) for i in range(_FIELDS)]
        mode, mtime, size = fields[1], fields[5], fields[6]
        rdev, namesize = (fields[9], fields[10]), fields[11]
        name_start = pos + _HEADER
        name = data[name_start : name_start + namesize - 1].decode()
        pos = _align(name_start + namesize)
        body = data[pos : pos + size]
        pos = _align(pos + size)
        if name == TRAILER:
            return entries
        entries.append(Entry(name, mode, body, rdev, mtime))


def read_gzip(data: bytes) -> list[Entry]:
    return parse_newc(gzip.decompress(data))


def _write_member(out: io.BytesIO, entry: Entry, ino: int, nlink: int) -> None:
    name = entry.name.encode() + b"\0"
    fields = (
        ino,
        entry.mode,
        0,  # uid
        0,  # gid
        nlink,
        entry.mtime,
        len(entry.data),
        0,  # devmajor
        0,  # devminor
        entry.rdev[0],
        entry.rdev[1],
        len(name),
        0,  # check
    )
    out.write(MAGIC + b"".join(b"%08X" % value for value in fields))
    out.write(name)
    out.write(b"\0" * (_align(_HEADER + len(name)) - _HEADER - len(name)))
    out.write(entry.data)
    out.write(b"\0" * (_align(len(entry.data)) - len(entry.data)))


def _align(offset: int) -> int:
    return (offset + 3) & ~3


def _name(path: str) -> str:
    name = path.strip("/")
    if not name or ".." in name.split("/"):
        raise ValueError(f"not a path inside the archive: {path!r}")
    return name
