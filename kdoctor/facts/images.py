"""What ``kdoctor verify --vm`` boots: the target kernel's image and a busybox for the guest.

Where an image of a release may be (``/boot``, ``/lib/modules/<release>``, kdoctor's cache) and
where busybox may be are written here once, for the vm check and for verify.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from kdoctor.machine.system import System
from kdoctor.model.context import Context

if TYPE_CHECKING:
    from kdoctor.facts import Facts

BUSYBOX_PLACES = ("/bin/busybox", "/usr/bin/busybox", "/usr/lib/initramfs-tools/bin/busybox")


# -- kernel images ------------------------------------------------------------------------
def installed_images(release: str) -> tuple[tuple[str, str], ...]:
    """(path, source) of the image an installed kernel ``release`` has: ``boot`` or
    ``modules``."""
    return ((f"/boot/vmlinuz-{release}", "boot"), (f"/lib/modules/{release}/vmlinuz", "modules"))


def release_dir(cache_dir: str, release: str) -> str:
    """Where kdoctor keeps what it fetched for kernel ``release``."""
    return os.path.join(cache_dir, "kernels", release)


def cached_image(cache_dir: str, release: str) -> str:
    """Where a fetched (or hand-placed) image of ``release`` lives in kdoctor's cache."""
    return os.path.join(release_dir(cache_dir, release), f"vmlinuz-{release}")


def image_paths(ctx: Context) -> tuple[tuple[str, str], ...]:
    """Where an image of the target may already be, with where that is (``boot`` or ``cache``),
    as the vm check reports it."""
    release = ctx.target_kernel
    return (
        *((path, "boot") for path, _ in installed_images(release)),
        (cached_image(ctx.cache_dir, release), "cache"),
        (os.path.join(release_dir(ctx.cache_dir, release), "vmlinuz"), "cache"),
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


def find_busybox(
    system: System,
    is_static: Callable[[str], bool],
    places: Sequence[str] = BUSYBOX_PLACES,
    canonical: Callable[[str], str] = lambda path: path,
) -> Optional[Busybox]:
    """A busybox for the guest: a statically linked one when there is one, else the first
    found. ``is_static`` tells a static one; ``canonical`` names a file once (realpath)."""
    seen: list[str] = []
    for name in ("busybox", *places):
        path = system.which(name)
        if path and canonical(path) not in seen:
            seen.append(canonical(path))
    for path in seen:
        if is_static(path):
            return Busybox(path, True)
    return Busybox(seen[0], False) if seen else None


def is_static(system: System, path: str) -> bool:
    """Whether an executable needs no dynamic loader (``ldd``, else its ELF interpreter)."""
    if system.which("ldd") is not None:
        out = system.probe(["ldd", path]).output
        if "not a dynamic executable" in out or "statically linked" in out:
            return True
        if "=>" in out or "ld-linux" in out or "ld-musl" in out:
            return False
    head = (system.read_text(path) or "")[:4096]  # PT_INTERP lives near the start
    return "ld-linux" not in head and "ld-musl" not in head


def busybox(facts: Facts) -> Optional[Busybox]:
    """The busybox the vm check reports (asked through the system, ``ldd`` when there is one)."""
    system = facts.system
    return find_busybox(system, lambda path: is_static(system, path))
