"""What to verify and where: the module's kernel (its vermagic), the default module, and
whether to load it into a VM or into the running kernel."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from typing import Optional

from kdoctor.facts.loading import host_loading
from kdoctor.facts.module import read_module
from kdoctor.i18n import _
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import module_copy
from kdoctor.model.context import Context, bundled_module_dir
from kdoctor.pipeline.verify.result import KO_NAME, MESSAGES


def module_release(system: System, ko_path: str) -> Optional[str]:
    """The kernel release a .ko was built for (the first word of its ``vermagic``)."""
    data = system.read_bytes(ko_path)
    if data is None:
        return None
    start = data.find(b"vermagic=")
    if start < 0:
        return None
    end = data.find(b"\0", start)
    words = data[start + len("vermagic=") : end].decode(errors="replace").split()
    return words[0] if words else None


def declared_ko_names(ctx: Context, system: System) -> list[str]:
    """The ``.ko`` files the module's Kbuild declares (``helloworld.ko`` when it declares none
    kdoctor can read)."""
    module = read_module(system, ctx.module_dir, kdir=ctx.kdir, release=ctx.target_kernel)
    return [f"{name}.ko" for name in module.ko_names] or [KO_NAME]


def default_ko(ctx: Context, system: System) -> str:
    """The ``.ko`` the module's Kbuild declares, in the module directory or in the cache's copy,
    whichever is newer (kdoctor builds a read-only module directory in ``<cache>/modules/``);
    the module directory's first declared name when none is built yet."""
    names = declared_ko_names(ctx, system)
    copy_dir = module_copy(ctx.cache_dir, os.path.basename(ctx.module_dir.rstrip("/")))
    candidates = [os.path.join(d, n) for n in names for d in (ctx.module_dir, copy_dir)]
    existing = [p for p in candidates if system.is_file(p)]
    if existing:
        return max(existing, key=lambda p: system.mtime(p) or 0.0)
    return os.path.join(ctx.module_dir, names[0])


def expected_messages(ctx: Context, expect: Sequence[str] = ()) -> tuple[str, ...]:
    """What the kernel log must show, in order: ``--expect`` when given, the bundled
    hello-world's three messages for it, else nothing (loading and unloading must succeed)."""
    if expect:
        return tuple(expect)
    if os.path.normpath(ctx.module_dir) == os.path.normpath(bundled_module_dir()):
        return MESSAGES
    return ()


def target_release(ctx: Context, system: System, ko_path: str) -> tuple[str, Optional[str]]:
    """The kernel to verify against, and a note when it is not the one the context chose.

    ``--kernel`` wins; otherwise the release the module was built for (its vermagic).
    """
    built_for = module_release(system, ko_path)
    if ctx.target_source == "--kernel" or built_for is None:
        note = None
        if built_for and built_for != ctx.target_kernel:
            note = _("the module was built for {release}, not {target}").format(
                release=built_for, target=ctx.target_kernel
            )
        return ctx.target_kernel, note
    if built_for != ctx.target_kernel:
        return built_for, _("booting {release}, the kernel the module was built for").format(
            release=built_for
        )
    return built_for, None


def choose_mode(
    ctx: Context, system: System, requested: str, consent: bool, release: Optional[str] = None
) -> tuple[str, Optional[str]]:
    """ "vm" or "host", and why when the choice was kdoctor's.

    ``release`` is the kernel the module was built for (the target when not given).
    """
    if requested in ("vm", "host"):
        return requested, None
    target = replace(ctx, target_kernel=release) if release else ctx
    loading = host_loading(target, system)
    if not loading.possible:
        return "vm", _("{reasons}: verifying in a VM").format(reasons="; ".join(loading.reasons))
    if not consent:
        return "vm", _(
            "the running kernel {release} could load the module, but kdoctor loads into it only "
            "with --host or --yes: verifying in a VM"
        ).format(release=ctx.running_kernel)
    return "host", None
