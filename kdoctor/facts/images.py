"""What ``kdoctor verify --vm`` boots: the target kernel's image and a busybox for the guest.

Where an image of a release may be (``/boot``, ``/lib/modules/<release>``, kdoctor's cache) and
where busybox may be are written here once, for the vm check and for verify (the cache's paths
are :mod:`kdoctor.model.cache_layout`'s).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from kdoctor.machine.system import System
from kdoctor.model.cache_layout import cached_image, hand_placed_image, in_kernels, tree_image
from kdoctor.model.context import Context

if TYPE_CHECKING:
    from kdoctor.facts import Facts

BUSYBOX_PLACES = ("/bin/busybox", "/usr/bin/busybox", "/usr/lib/initramfs-tools/bin/busybox")


# -- kernel images ------------------------------------------------------------------------
def installed_images(release: str) -> tuple[tuple[str, str], ...]:
    """(path, source) of the image an installed kernel ``release`` has: ``boot`` or
    ``modules``."""
    return ((f"/boot/vmlinuz-{release}", "boot"), (f"/lib/modules/{release}/vmlinuz", "modules"))


def kept_in_cache(ctx: Context) -> bool:
    """The target's build directory is a tree in kdoctor's cache (``kdoctor fetch-kernel``
    brings it), not one a package installs."""
    return in_kernels(ctx.cache_dir, ctx.kdir)


def image_paths(ctx: Context) -> tuple[tuple[str, str], ...]:
    """Where an image of the target may already be, with where that is (``boot`` or ``cache``),
    as the vm check reports it."""
    release = ctx.target_kernel
    if ctx.toolchain_root:  # a Rust-enabled kernel kdoctor built: the image its build made
        return ((tree_image(ctx.kdir), "cache"),)
    return (
        *((path, "boot") for path, _ in installed_images(release)),
        (cached_image(ctx.cache_dir, release), "cache"),
        (hand_placed_image(ctx.cache_dir, release), "cache"),
    )


def kernel_image(ctx: Context, system: System) -> tuple[Optional[str], Optional[str]]:
    """(path, source) of a bootable image for the target: /boot, else kdoctor's cache."""
    for path, source in image_paths(ctx):
        if system.exists(path):
            return path, source
    return None, None


def target_image(facts: Facts) -> tuple[Optional[str], Optional[str]]:
    """(path, source) of the target's image already on this machine ((None, None): none)."""
    return kernel_image(facts.ctx, facts.system)


# -- busybox --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Busybox:
    path: str
    static: bool


def find_busybox(system: System, places: Sequence[str] = BUSYBOX_PLACES) -> Optional[Busybox]:
    """A busybox for the guest: a statically linked one when there is one, else the first
    found; each file once, by its real path."""
    seen: list[str] = []
    for name in ("busybox", *places):
        path = system.which(name)
        if path and system.real_path(path) not in seen:
            seen.append(system.real_path(path))
    for path in seen:
        if is_static_elf(system, path):
            return Busybox(path, True)
    return Busybox(seen[0], False) if seen else None


def is_static_elf(system: System, path: str) -> bool:
    """True for a 64-bit ELF executable without a program interpreter (statically linked)."""
    header = system.read_bytes(path, 64)
    if header is None or len(header) < 64 or header[:4] != b"\x7fELF" or header[4] != 2:
        return False
    order = "<" if header[5] == 1 else ">"
    phoff = struct.unpack_from(order + "Q", header, 32)[0]
    phentsize, phnum = struct.unpack_from(order + "HH", header, 54)
    data = system.read_bytes(path, phoff + phentsize * phnum) or b""
    table = data[phoff:]
    pt_interp = 3
    return all(
        struct.unpack_from(order + "I", table, i * phentsize)[0] != pt_interp
        for i in range(len(table) // phentsize if phentsize else 0)
    )


def busybox(facts: Facts) -> Optional[Busybox]:
    """The busybox the vm check reports and verify puts in the guest."""
    return find_busybox(facts.system)
