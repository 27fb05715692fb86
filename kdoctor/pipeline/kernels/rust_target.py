"""The context of a Rust-enabled kernel target (``--kernel 6.12+rust``, ``--kernel rust``, or a
``KDIR`` inside kdoctor's Rust-enabled kernels): its tree as ``KDIR``, its release once built
(the spec until then), and the toolchain root the module's build runs in. Choosing one only
reads; building it is :func:`kdoctor.pipeline.kernels.rust_kernel.ensure`'s."""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional

from kdoctor.knowledge import rust_kernels as rk
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import (
    rust_kernel_tree,
    rust_series_of,
    toolchain_root,
)
from kdoctor.model.choice import TargetSource
from kdoctor.model.context import Context
from kdoctor.pipeline.kernels import rust_kernel

Step = Callable[[str], None]


def known_series(system: System, cache_dir: str, spec: str) -> Optional[str]:
    """The series ``spec`` names, when it can be told without building: ``6.12+rust`` ->
    ``6.12``; ``rust`` -> the newest kernel built, else the newest series the backports root
    lists; None when nothing says yet."""
    series = rk.series_of_spec(spec)
    if series:
        return series
    built = rust_kernel.built_series(system, cache_dir)
    if built:
        return built[0]
    root = toolchain_root(cache_dir, rk.TRIXIE_BACKPORTS.name)
    return rust_kernel.newest_in_root(system, root) if system.is_dir(root) else None


def rust_context(
    ctx: Context,
    system: System,
    spec: str,
    *,
    source: TargetSource = TargetSource.OPTION,
    build: bool = False,
    on_step: Optional[Step] = None,
) -> Context:
    """The context building for the Rust-enabled kernel ``spec`` (built first with ``build``)."""
    if build:
        kernel = rust_kernel.ensure(system, ctx.cache_dir, spec, on_step)
        return _context(ctx, spec, kernel.series, kernel.release, source)
    series = known_series(system, ctx.cache_dir, spec)
    found = rust_kernel.recorded(system, ctx.cache_dir, series) if series else None
    release = found.release if found else spec
    return _context(ctx, spec, series or spec, release, source)


def _context(ctx: Context, spec: str, series: str, release: str, source: TargetSource) -> Context:
    root = rk.root_for(series) if rk.series_key(series) != (0, 0) else rk.TRIXIE_BACKPORTS
    env = {k: v for k, v in ctx.env.items() if k != "KDIR"}
    return dataclasses.replace(
        ctx,
        target_kernel=release,
        kdir=rust_kernel_tree(ctx.cache_dir, series),
        target_source=source,
        env=env,
        toolchain_root=toolchain_root(ctx.cache_dir, root.name),
        kernel_spec=spec,
    )


def attached(ctx: Context, system: System) -> Context:
    """A ``KDIR`` (persisted by ``kdoctor fix``, or the person's) inside kdoctor's Rust-enabled
    kernels: the same target as its ``<series>+rust``, keeping how it was chosen."""
    series = rust_series_of(ctx.cache_dir, ctx.kdir)
    if series is None or ctx.toolchain_root is not None:
        return ctx
    found = rust_kernel.recorded(system, ctx.cache_dir, series)
    root = found.root_name if found else rk.root_for(series).name
    return dataclasses.replace(
        ctx,
        target_kernel=found.release if found else ctx.target_kernel,
        toolchain_root=toolchain_root(ctx.cache_dir, root),
        kernel_spec=rk.spec_of(series),
    )
