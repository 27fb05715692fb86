"""The target kernel named by ``--kernel``: the host's build directory when it has one, else a
Debian kernel of any suite (a release, or a series: its newest release) kept in kdoctor's cache
(:mod:`kdoctor.pipeline.kernels.fetch`)."""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

from kdoctor.facts.kernel import missing_build_files
from kdoctor.knowledge import debian_kernels as dk
from kdoctor.knowledge import rust_kernels as rk
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import kdir_of
from kdoctor.model.choice import TargetSource
from kdoctor.model.context import Context
from kdoctor.pipeline.kernels import archive as ka
from kdoctor.pipeline.kernels import fetch as kernel_fetch
from kdoctor.pipeline.kernels.download import Downloads
from kdoctor.pipeline.kernels.rust_target import attached, rust_context

Step = Callable[[str], None]


def target_for(
    ctx: Context,
    system: System,
    spec: str,
    on_step: Optional[Step] = None,
    *,
    fetch: bool = True,
    on_download: Optional[Downloads] = None,
) -> tuple[Context, tuple[str, ...]]:
    """The context building for ``spec`` (a release or a series): the host's own build
    directory when it has one for that release, else the cached kernel (fetched when
    ``fetch``). Returns the context and what was adapted in the cached tree. A Rust-enabled
    kernel (``6.12+rust``, ``rust``) is built when ``fetch`` (which takes minutes)."""
    if rk.is_rust_spec(spec):
        return rust_context(ctx, system, spec, build=fetch, on_step=on_step), ()
    installed = f"/lib/modules/{spec}/build"
    if not dk.is_series(spec) and not missing_build_files(system, installed):
        return _retarget(ctx, spec, installed), ()
    release, suite = ka.resolve(system, ctx.cache_dir, spec, on_step, refresh=fetch)
    installed = f"/lib/modules/{release}/build"
    if not missing_build_files(system, installed):
        return _retarget(ctx, release, installed), ()
    if not fetch:
        return _retarget(ctx, release, kdir_of(ctx.cache_dir, release)), ()
    got = kernel_fetch.ensure(system, ctx.cache_dir, release, suite, on_step, on_download)
    return _retarget(ctx, release, got.kdir), got.adapted


def _retarget(ctx: Context, release: str, kdir: str) -> Context:
    env = {k: v for k, v in ctx.env.items() if k != "KDIR"}
    return dataclasses.replace(
        ctx, target_kernel=release, kdir=kdir, target_source=TargetSource.OPTION, env=env
    )


def selected(ctx: Context, system: System) -> Context:
    """``--kernel`` resolved without changing anything: a series, or a release of another
    Debian suite the host has no build directory for, points ``KDIR`` into kdoctor's cache
    (where ``kdoctor fetch-kernel``, a step of ``fix``'s plan, puts it); a Rust-enabled kernel
    spec, or a ``KDIR`` in kdoctor's Rust-enabled kernels, is that kernel's target."""
    spec = ctx.target_kernel
    if ctx.target_source == TargetSource.OPTION and rk.is_rust_spec(spec):
        return rust_context(ctx, system, spec)
    if ctx.target_source != TargetSource.OPTION or dk.suite_of(spec) is None:
        return attached(ctx, system)
    if not dk.is_series(spec) and not missing_build_files(system, ctx.kdir):
        return ctx
    if not dk.is_series(spec) and dk.suite_of(spec) == ctx.distro.codename:
        return ctx  # the host's own archive serves it: its packages, as before
    try:
        return target_for(ctx, system, spec, fetch=False)[0]
    except ka.ArchiveError:
        return _retarget(ctx, spec, kdir_of(ctx.cache_dir, spec))
