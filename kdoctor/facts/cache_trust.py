"""Whether the parts of kdoctor's cache a run is about to build with, execute or believe can
be trusted (:mod:`kdoctor.machine.trust`): the kernel tree used as ``KDIR``, the toolchain root
that builds for it, kdoctor's cargo home, the Rust sysroots, a module's copy.

Checks turn a problem into a finding (``kernel-headers``, ``crates``); the stages that build
and verify refuse with it (:func:`refuse_build`, exit 3). Only what is there is looked at: what
is missing kdoctor makes itself.
"""

from __future__ import annotations

import os
from typing import Optional

from kdoctor.facts import Facts
from kdoctor.machine.system import System
from kdoctor.machine.trust import Distrust, UntrustedPlace, distrust_within
from kdoctor.model.cache_layout import (
    cargo_home,
    checksum_path,
    in_kernels,
    in_rust_kernels,
    kernels_dir,
    logs_dir,
    manifest_path,
    release_dir,
    rust_kernel_record,
    rust_series_of,
    rust_sysroot_dir,
    tree_dir,
)
from kdoctor.model.context import Context


def kernel_tree_distrust(system: System, cache_dir: str, kdir: str) -> Optional[Distrust]:
    """Why the kernel tree ``kdir``, when kdoctor keeps it in its cache, cannot be trusted:
    every directory from the cache down to ``kdir``, its Makefile, and around it what kbuild
    reads too (a fetched kernel's other unpacked trees and its record, a built kernel's
    record). None for a tree outside the cache (the system's packages own it)."""
    kdir = os.path.normpath(kdir)
    places: list[str] = []
    if in_kernels(cache_dir, kdir):
        release = os.path.relpath(kdir, kernels_dir(cache_dir)).split(os.sep)[0]
        top = release_dir(cache_dir, release)
        root = tree_dir(cache_dir, release)
        places += [os.path.join(top, name) for name in system.listdir(top)]
        places += [os.path.join(root, name) for name in system.listdir(root)]
        sources = os.path.join(root, "usr", "src")
        places += [os.path.join(sources, name) for name in system.listdir(sources)]
        places.append(manifest_path(cache_dir, release))
    elif in_rust_kernels(cache_dir, kdir):
        series = rust_series_of(cache_dir, kdir)
        if series:
            places.append(rust_kernel_record(cache_dir, series))
    else:
        return None
    for place in (kdir, os.path.join(kdir, "Makefile"), *places):
        found = distrust_within(system, cache_dir, place)
        if found is not None:
            return found
    return None


def cached_image_distrust(
    system: System, cache_dir: str, image: Optional[str]
) -> Optional[Distrust]:
    """Why a kernel image kdoctor keeps in its cache (and the sha256 recorded beside it when it
    was fetched) cannot be trusted; None for an image elsewhere (``/boot``)."""
    if not image or not _inside(cache_dir, image):
        return None
    found = distrust_within(system, cache_dir, image)
    return found or distrust_within(system, cache_dir, checksum_path(image))


def own_cargo_home(ctx: Context) -> Optional[str]:
    """kdoctor's cargo home when the run uses it as ``CARGO_HOME`` (else None: a person's own
    cargo home is theirs)."""
    home = ctx.env.get("CARGO_HOME")
    ours = cargo_home(ctx.cache_dir)
    return ours if home and os.path.normpath(home) == ours else None


def cargo_home_distrust(system: System, ctx: Context) -> Optional[Distrust]:
    """Why kdoctor's cargo home cannot be trusted (its ``config.toml`` can name a
    ``rustc-wrapper`` cargo runs); None when it is trusted or not used."""
    home = own_cargo_home(ctx)
    return distrust_within(system, ctx.cache_dir, home, tree=True) if home else None


def kdir_distrust(facts: Facts) -> Optional[Distrust]:
    """The target's kernel tree, and the toolchain root that builds for it, as a fact."""
    ctx, system = facts.ctx, facts.system
    found = kernel_tree_distrust(system, ctx.cache_dir, ctx.kdir)
    if found is None and ctx.toolchain_root:
        found = distrust_within(system, ctx.cache_dir, ctx.toolchain_root)
    return found


def own_cargo_home_distrust(facts: Facts) -> Optional[Distrust]:
    """:func:`cargo_home_distrust` as a fact."""
    return cargo_home_distrust(facts.system, facts.ctx)


def build_distrust(ctx: Context, system: System, copy: Optional[str]) -> Optional[Distrust]:
    """The first thing a build of the module would use from the cache that another user could
    change: the kernel tree (and toolchain root), kdoctor's cargo home, the Rust sysroots the
    bundled module's Makefile keeps there, the module's copy (``copy``, or the module itself
    when it is one of kdoctor's copies), and where its logs go."""
    cache = ctx.cache_dir
    module = copy or ctx.module_dir
    found = kernel_tree_distrust(system, cache, ctx.kdir)
    if found is None and ctx.toolchain_root:
        found = distrust_within(system, cache, ctx.toolchain_root)
    found = found or cargo_home_distrust(system, ctx)
    found = found or distrust_within(system, cache, rust_sysroot_dir(cache), tree=True)
    if found is None and _inside(cache, module):
        found = distrust_within(system, cache, module, tree=True)
    return found or distrust_within(system, cache, logs_dir(cache))


def refuse_build(ctx: Context, system: System, copy: Optional[str]) -> None:
    """:func:`build_distrust` as an :class:`~kdoctor.machine.trust.UntrustedPlace` (exit 3)."""
    found = build_distrust(ctx, system, copy)
    if found is not None:
        raise UntrustedPlace(found)


def _inside(root: str, path: str) -> bool:
    return os.path.normpath(path).startswith(os.path.normpath(root) + os.sep)
