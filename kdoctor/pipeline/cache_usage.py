"""How much kdoctor's cache holds, by kind and item, measured by ``du`` in one run.

Every entry of the cache is in exactly one part: each item (a kernel, a root, a log directory,
an unknown entry) is handed to ``du`` before the directory holding it, and ``du`` counts what
it has seen once, so the parts add up to ``du -sb <cache>`` exactly: a file hard-linked from
two places is counted once, under the first; what is left of a directory after its items
(locks, records, work directories, the directory itself) is its own part, of its kind.
Sizes are apparent sizes in bytes (``du -b``: what the files hold, not the blocks they take).
``du`` does not follow symlinks (a link is counted as a link, never what it points at); what
it cannot read is counted as far as it could and said (:attr:`CacheUsage.unreadable`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kdoctor.i18n import N_
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import (
    PARTIAL,
    apt_root,
    cache_entry,
    cached_config,
    cached_image,
    checksum_path,
    hand_placed_image,
    kernel_test_root,
    kernels_dir,
    logs_dir,
    modules_dir,
    release_dir,
    rust_kernels_dir,
    rust_sysroot_dir,
    scratch_dir,
    toolchain_roots_dir,
    tree_dir,
)

DU_TIMEOUT = 300.0
#: what a size means, in the JSON (``measure``)
MEASURE = "apparent-size"
#: the kinds, in the order they are shown, with their names for people
KINDS: dict[str, str] = {
    "kernel-trees": N_("kernel trees (Debian kernels' headers and kbuild tools)"),
    "kernel-images": N_("kernel images (and their configurations)"),
    "rust-kernels": N_("Rust-enabled kernels kdoctor built"),
    "toolchain-roots": N_("toolchain roots"),
    "sysroots": N_("Rust sysroots"),
    "apt": N_("private apt configurations and lists"),
    "module-builds": N_("module copies and builds"),
    "logs": N_("logs"),
    "other": N_("other"),
}


@dataclass(frozen=True)
class Part:
    """One path handed to ``du``: what it counts goes to ``kind``, under the item ``unit``."""

    path: str
    kind: str
    unit: str
    #: the rest of a directory whose items were counted before it
    rest: bool = False


@dataclass(frozen=True)
class Item:
    """One thing the cache holds: a kernel, a root, a directory (or what is left of one)."""

    kind: str
    #: relative to the cache directory
    path: str
    bytes: int
    rest: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "path": self.path, "bytes": self.bytes, "rest": self.rest}


@dataclass(frozen=True)
class CacheUsage:
    """The cache's size: the items, each in one kind, adding up to :attr:`total`."""

    cache_dir: str
    items: tuple[Item, ...]
    #: what ``du`` said it could not read or reach (its own words), or why it did not run
    unreadable: tuple[str, ...] = ()
    #: ``du`` could not be run at all (nothing was measured)
    failed: bool = False

    @property
    def total(self) -> int:
        return sum(item.bytes for item in self.items)

    def by_kind(self) -> list[tuple[str, int]]:
        """Every kind with its bytes, in :data:`KINDS` order (empty ones too)."""
        return [(k, sum(i.bytes for i in self.items if i.kind == k)) for k in KINDS]

    def of_kind(self, kind: str) -> list[Item]:
        return sorted((i for i in self.items if i.kind == kind), key=lambda i: (i.rest, i.path))

    def to_json(self) -> dict[str, Any]:
        """``kdoctor cache size --json`` (``schema/cache-size.schema.json``)."""
        return {
            "cache_dir": self.cache_dir,
            "measure": MEASURE,
            "total_bytes": self.total,
            "kinds": [{"kind": k, "bytes": b} for k, b in self.by_kind()],
            "items": [i.to_json() for k in KINDS for i in self.of_kind(k)],
            "unreadable": list(self.unreadable),
            "exit_code": 1 if self.failed else 0,
        }


def _children(system: System, top: str) -> list[str]:
    """The entries of ``top`` that are items: not locks, records or work directories."""
    return [
        os.path.join(top, n)
        for n in system.listdir(top)
        if not n.endswith((".lock", ".json")) and not n.startswith(PARTIAL)
    ]


def parts(system: System, cache_dir: str) -> list[Part]:
    """Every path to hand to ``du``, items before the directories holding them, so each byte
    is counted once and in its kind; the cache directory itself last."""

    def each(kind: str, top: str, *, skip: tuple[str, ...] = ()) -> Iterator[Part]:
        for path in _children(system, top):
            if path not in skip:
                yield Part(path, kind, path)
        yield Part(top, kind, top, rest=True)

    found: list[Part] = []
    kernels = kernels_dir(cache_dir)
    for release in (os.path.basename(p) for p in _children(system, kernels)):
        rdir = release_dir(cache_dir, release)
        found.append(Part(tree_dir(cache_dir, release), "kernel-trees", rdir))
        image = cached_image(cache_dir, release)
        for path in (
            image,
            checksum_path(image),
            hand_placed_image(cache_dir, release),
            cached_config(cache_dir, release),
        ):
            if system.exists(path):
                found.append(Part(path, "kernel-images", rdir))
        found.append(Part(rdir, "kernel-trees", rdir))
    found.append(Part(kernels, "kernel-trees", kernels, rest=True))
    roots = toolchain_roots_dir(cache_dir)
    for path in _children(system, roots):
        found.append(Part(path, "toolchain-roots", path))
        if system.exists(path + ".json"):
            found.append(Part(path + ".json", "toolchain-roots", path))
    found.append(Part(roots, "toolchain-roots", roots, rest=True))
    found += each("rust-kernels", rust_kernels_dir(cache_dir), skip=(roots,))
    found += each("sysroots", rust_sysroot_dir(cache_dir))
    found += each("apt", apt_root(cache_dir))
    found += each("module-builds", modules_dir(cache_dir))
    found += each("module-builds", kernel_test_root(cache_dir))
    found.append(Part(scratch_dir(cache_dir), "module-builds", scratch_dir(cache_dir)))
    found.append(Part(logs_dir(cache_dir), "logs", logs_dir(cache_dir)))
    known = {p.path for p in found}
    for name in system.listdir(cache_dir):
        path = cache_entry(cache_dir, name)
        if path not in known:
            found.append(Part(path, "other", path))
    found.append(Part(cache_dir, "other", cache_dir, rest=True))
    return [p for p in found if p.path == cache_dir or _inside(system, p.path)]


def _inside(system: System, path: str) -> bool:
    """``path`` is there and reached without a symlink on the way (a symlink itself is counted
    as a link; what is below one is never handed to ``du``, which would follow it)."""
    parent = os.path.dirname(path)
    return system.real_path(parent) == parent and system.exists(path)


def measure(system: System, cache_dir: str) -> CacheUsage:
    """The cache's size, by item (see the module's docstring); a cache that is not there
    holds nothing."""
    top = system.real_path(cache_dir) if system.is_dir(cache_dir) else cache_dir
    if not system.is_dir(top):
        return CacheUsage(top, ())
    wanted = parts(system, top)
    got = system.run(["du", "-s", "-b", "-0", "--", *(p.path for p in wanted)], timeout=DU_TIMEOUT)
    said = tuple(line for line in got.stderr.splitlines() if line.strip())
    if got.exit_code is None or (not got.stdout and got.exit_code != 0):
        return CacheUsage(top, (), said or (got.describe_failure(),), failed=True)
    by_path = {p.path: p for p in wanted}
    sums: dict[tuple[str, str, bool], int] = {}
    for record in got.stdout.split("\0"):
        size, _tab, path = record.lstrip("\n").partition("\t")
        if not size.strip().isdigit():
            continue
        part = by_path.get(path) or Part(path, "other", path)
        key = (part.kind, _relative(part.unit, top), part.rest)
        sums[key] = sums.get(key, 0) + int(size)
    items = tuple(Item(kind, path, size, rest) for (kind, path, rest), size in sums.items())
    return CacheUsage(top, items, said)


def _relative(path: str, top: str) -> str:
    return "." if path == top else os.path.relpath(path, top)


def sizes_of(system: System, cache_dir: str, paths: list[str]) -> list[tuple[str, int]]:
    """(path relative to the cache, bytes) of each of ``paths`` that is there, as ``du -sb``
    counts them in one run (a file hard-linked from two of them counted once)."""
    there = [p for p in paths if system.exists(p)]
    if not there:
        return []
    got = system.run(["du", "-s", "-b", "-0", "--", *there], timeout=DU_TIMEOUT)
    sizes = dict.fromkeys(there, 0)
    for record in got.stdout.split("\0"):
        size, _tab, path = record.lstrip("\n").partition("\t")
        if size.strip().isdigit() and path in sizes:
            sizes[path] = int(size)
    return [(_relative(p, cache_dir), sizes[p]) for p in there]
