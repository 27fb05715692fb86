"""What ``kdoctor fix`` last verified, so a rerun with nothing to change costs about a ``check``.

After a module passes verification, :func:`record` writes ``<cache>/verified/<module>.json``: a
digest of everything the verdict depends on — every file of the module directory and of the
directory it was built in (sources and outputs alike, by content; only ``.git`` and
``__pycache__`` are left out), every file the build's own records say it read outside them
(kbuild's ``.cmd`` files, the ``.d`` dependency files; by identity), the built ``.ko`` (by
content), the target's build directory (its
``.config`` and ``Module.symvers``, by identity), the kernel image the VM booted and the busybox
of its initramfs (by content and identity), the toolchain (rustc, bindgen, the C compiler and
the Rust sysroot's sources, by identity; the variables given to the build) and kdoctor's own
version. :func:`still_verified` recomputes that digest; when it is equal, a rerun of ``fix``
skips the build and the VM boot and says so. Any change to any input is a different digest.
``kdoctor verify`` never reads this: it always loads the module for real.

Hashing the .ko and the kernel image is most of a rerun's extra cost. A :class:`Hashes` keeps
each file's digest with the file's identity (size, mtime in ns, inode, device) before and after
the read, and hands it back only while the file still has that identity; a changed file is
read again. The record keeps those (identity, digest) pairs, so a rerun reads neither file
while both keep the identity they had when they were verified (the trust the bindgen probe
cache gives its inputs); ``fix`` also starts whatever hashing is left (:func:`prewarm`) while
it diagnoses.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

from kdoctor import __version__
from kdoctor.facts.images import find_busybox, kernel_image
from kdoctor.facts.rustc import RustToolchain
from kdoctor.knowledge.rust_kernels import DPKG_STATUS
from kdoctor.machine.system import System
from kdoctor.machine.trust import refuse_untrusted
from kdoctor.model.cache_layout import cached_image, verified_stamp
from kdoctor.model.context import Context

#: directories that hold no input of a build: version control's and Python's caches
_NOT_INPUT_DIRS = frozenset((".git", "__pycache__"))
#: how many files outside the module directory the build's records may name
MAX_DEPS = 20000
#: a module bigger than this is not hashed (its stamp is never trusted)
MAX_FILES = 2000
MAX_FILE_BYTES = 16 << 20
MAX_IMAGE_BYTES = 256 << 20
#: what a build in a toolchain root ran, relative to the root
ROOT_TOOLS = ("usr/bin/rustc", "usr/bin/bindgen", "usr/bin/gcc", "usr/bin/make", DPKG_STATUS)


@dataclass(frozen=True)
class Stamp:
    digest: str
    ko: str
    verified_at: float
    mode: str

    def to_json(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "ko": self.ko,
            "verified_at": self.verified_at,
            "mode": self.mode,
        }


def stamp_path(ctx: Context) -> str:
    name = hashlib.sha256(ctx.module_dir.encode()).hexdigest()[:16]
    return verified_stamp(ctx.cache_dir, name, ctx.target_kernel)


class Hashes:
    """sha256 of whole files, each kept with the identity the file had while it was read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[tuple[str, int], tuple[tuple[int, int, int, int], str]] = {}

    def seed(self, known: Any) -> None:
        """Take the (path, limit, identity, digest) rows a record kept; bad rows are skipped."""
        if not isinstance(known, list):
            return
        for row in known:
            try:
                path, limit, identity, value = row
                key = (str(path), int(limit))
                entry = (tuple(int(n) for n in identity), str(value))
            except (TypeError, ValueError):
                continue
            if len(entry[0]) == 4:
                with self._lock:
                    self._known.setdefault(key, entry)  # type: ignore[arg-type]

    def rows(self) -> list[list[Any]]:
        """What :meth:`seed` takes: every digest known with its file's identity."""
        with self._lock:
            return [[p, n, list(i), v] for (p, n), (i, v) in sorted(self._known.items())]

    def of(self, system: System, path: str, limit: int) -> Optional[str]:
        """The digest of ``path`` (its first ``limit`` bytes), None when it cannot be read."""
        before = system.identity(path)
        with self._lock:
            known = self._known.get((path, limit))
        if known is not None and before is not None and known[0] == before:
            return known[1]
        data = system.read_bytes(path, limit)
        if data is None:
            return None
        value = hashlib.sha256(data).hexdigest()
        if before is not None and system.identity(path) == before:  # unchanged while read
            with self._lock:
                self._known[(path, limit)] = (before, value)
        return value


def digest(
    ctx: Context,
    system: System,
    toolchain: RustToolchain,
    ko: str,
    mode: str,
    hashes: Optional[Hashes] = None,
) -> Optional[str]:
    """The digest of every input of the verdict; None when one cannot be read (never trusted)."""
    hashes = hashes or Hashes()
    sources = _tree(system, ctx.module_dir, skip=ko)
    ko_hash = hashes.of(system, ko, MAX_FILE_BYTES)
    build_dir = os.path.dirname(ko)
    built = sources if build_dir == ctx.module_dir else _tree(system, build_dir, skip=ko)
    read = _read_deps(system, build_dir, ctx.kdir)
    if sources is None or built is None or read is None or ko_hash is None:
        return None
    image = _image(ctx, system, mode)
    image_hash = hashes.of(system, image, MAX_IMAGE_BYTES) if image else _EMPTY
    if image_hash is None:
        return None
    busybox = find_busybox(system) if mode == "vm" else None
    tools: list[Optional[str]] = [toolchain.rustc, toolchain.library_src, toolchain.sysroot]
    tools += [system.which(ctx.env.get(v) or d) for v, d in (("BINDGEN", "bindgen"), ("CC", "cc"))]
    if ctx.toolchain_root:  # the build ran in the root: its tools, and what dpkg says it holds
        tools = [os.path.join(ctx.toolchain_root, p) for p in ROOT_TOOLS]
    material = {
        "kdoctor": __version__,
        "mode": mode,
        "target": [ctx.target_kernel, ctx.kdir],
        "kdir": _identities(
            system, [os.path.join(ctx.kdir, n) for n in (".config", "Module.symvers")]
        ),
        "sources": sources,
        "built": built,
        "read": _identities(system, read),
        "ko": [ko, ko_hash],
        "image": [image, image_hash],
        "busybox": _identities(system, [busybox.path] if busybox else []),
        "tools": _identities(system, [t for t in tools if t]),
        "toolchain": [toolchain.source, toolchain.version, sorted(toolchain.env.items())],
        "env": sorted(ctx.env.items()),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def record(ctx: Context, system: System, toolchain: RustToolchain, ko: str, mode: str) -> None:
    """Remember that ``ko`` passed; a cache that cannot be written only costs the next rerun."""
    hashes = Hashes()
    value = digest(ctx, system, toolchain, ko, mode, hashes)
    if value is None:
        return
    stamp = Stamp(value, ko, time.time(), mode)
    with contextlib.suppress(OSError):  # an UntrustedPlace too: nothing written there
        refuse_untrusted(system, ctx.cache_dir, stamp_path(ctx))
        system.write_file(stamp_path(ctx), json.dumps({**stamp.to_json(), "files": hashes.rows()}))


def _image(ctx: Context, system: System, mode: str) -> str:
    """The image the VM boots: the one verify finds (/boot, the cache, a Rust-enabled kernel's
    tree)."""
    if mode != "vm":
        return ""
    found, _source = kernel_image(ctx, system)
    return found or cached_image(ctx.cache_dir, ctx.target_kernel)


_EMPTY = hashlib.sha256(b"").hexdigest()


def _load(ctx: Context, system: System, hashes: Optional[Hashes] = None) -> Optional[Stamp]:
    """The record, its (identity, digest) rows handed to ``hashes``; one another user could
    have written (or placed) is refused (:class:`~kdoctor.machine.trust.UntrustedPlace`):
    believed, it would skip the build and the VM."""
    refuse_untrusted(system, ctx.cache_dir, stamp_path(ctx))
    raw = system.read_bytes(stamp_path(ctx), 1 << 16)
    if not raw:
        return None
    try:
        data: Mapping[str, Any] = json.loads(raw)
        stamp = Stamp(
            str(data["digest"]), str(data["ko"]), float(data["verified_at"]), str(data["mode"])
        )
    except (ValueError, KeyError, TypeError):
        return None
    if hashes is not None:
        hashes.seed(data.get("files"))
    return stamp


def prewarm(ctx: Context, system: System, hashes: Hashes) -> threading.Thread:
    """Hash, in the background, the .ko and the image the last verification of this module on
    this target names, so :func:`still_verified` finds them done (or does them itself)."""

    def work() -> None:
        with contextlib.suppress(Exception):  # only a head start: still_verified decides
            stamp = _load(ctx, system, hashes)
            if stamp is None:
                return
            hashes.of(system, stamp.ko, MAX_FILE_BYTES)
            image = _image(ctx, system, stamp.mode)
            if image:
                hashes.of(system, image, MAX_IMAGE_BYTES)

    thread = threading.Thread(target=work, name="kdoctor-prewarm", daemon=True)
    thread.start()
    return thread


def still_verified(
    ctx: Context, system: System, toolchain: RustToolchain, hashes: Optional[Hashes] = None
) -> Optional[Stamp]:
    """The last verification of this module on this target, when nothing it depends on changed."""
    hashes = hashes or Hashes()
    stamp = _load(ctx, system, hashes)
    if stamp is None:
        return None
    if digest(ctx, system, toolchain, stamp.ko, stamp.mode, hashes) != stamp.digest:
        return None
    return stamp


def _identities(system: System, paths: Iterable[str]) -> list[Any]:
    return [[p, system.identity(p)] for p in paths]


def _tree(system: System, root: str, skip: str = "") -> Optional[list[list[str]]]:
    """(relative path, sha256) of every file under ``root`` but version control's and Python's
    caches: sources and build outputs alike (a hand-written ``bindings.rs`` or a file under a
    directory named ``target`` is an input like any other), but ``skip`` (the ``.ko``, hashed
    on its own through :class:`Hashes`); None when the tree is too big to
    hash or a file too big to read whole (a stamp that cannot cover an input is not trusted)."""
    found: list[list[str]] = []
    pending = [""]
    while pending:
        rel = pending.pop()
        for name in system.listdir(os.path.join(root, rel)):
            path, sub = os.path.join(root, rel, name), os.path.join(rel, name)
            if system.is_dir(path):
                if name not in _NOT_INPUT_DIRS:
                    pending.append(sub)
                continue
            if path == skip:
                continue
            seen = system.identity(path)
            if seen is None or seen[0] > MAX_FILE_BYTES or len(found) >= MAX_FILES:
                return None
            data = system.read_bytes(path, MAX_FILE_BYTES)
            if data is None:
                return None
            found.append([sub, hashlib.sha256(data).hexdigest()])
    return sorted(found)


def _read_deps(system: System, build_dir: str, kdir: str) -> Optional[list[str]]:
    """Every file the build's own records say it read (kbuild's ``.*.cmd`` ``deps_`` lists and
    the dependency files rustc and gcc write, ``*.d``), outside ``build_dir`` (whose files are
    hashed whole); relative paths are the kernel tree's (kbuild runs there). None when there
    are more than :data:`MAX_DEPS`."""
    found: set[str] = set()
    for name in system.listdir(build_dir):
        if not (name.endswith(".cmd") or name.endswith(".d")):
            continue
        text = system.read_text(os.path.join(build_dir, name), limit=MAX_FILE_BYTES) or ""
        for word in _dep_words(text, cmd=name.endswith(".cmd")):
            path = word if word.startswith("/") else os.path.join(kdir, word)
            if not path.startswith(build_dir.rstrip("/") + "/"):
                found.add(os.path.normpath(path))
        if len(found) > MAX_DEPS:
            return None
    return sorted(found)


def _dep_words(text: str, *, cmd: bool) -> list[str]:
    """The prerequisites a kbuild ``.cmd`` file (its ``deps_X :=`` list) or a make-style
    dependency file (``target: a b \\``) names."""
    words: list[str] = []
    for line in text.replace("\\\n", " ").splitlines():
        if cmd:
            if line.startswith("deps_") and ":=" in line:
                words += line.split(":=", 1)[1].split()
        elif ":" in line and not line.startswith("\t"):
            words += line.split(":", 1)[1].split()
    return [w for w in words if not w.startswith("$(") and w != "\\"]
