"""Switching the target to the distribution's stock kernel when no package serves the running one.

A running kernel that no package has headers for (WSL2, a cloud microVM's, a self-built one)
cannot have a module built for it. When that kernel is only the default target (nobody passed
``--kernel`` or ``KDIR``), kdoctor builds for the distribution's stock kernel instead and tests
the module in a VM booting it. Planning only reads: the new target is a context, not a change.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Optional

from kdoctor.knowledge.packages import package_name, stock_flavour, unpackaged_kernel
from kdoctor.machine.system import System
from kdoctor.model.choice import TargetSource
from kdoctor.model.context import Context
from kdoctor.model.need import RustEnabledKernel, StockKernel
from kdoctor.model.report import Report
from kdoctor.pipeline.kernels.rust_target import rust_context

#: how long ``apt-cache depends`` may take (it reads every package list)
DEPENDS_TIMEOUT = 30.0

_DEPENDS = re.compile(r"^\s*\|?Depends:\s*linux-headers-(\d\S*)\s*$", re.MULTILINE)


def retarget(ctx: Context, report: Report, system: System) -> Optional[Context]:
    """The context for the distribution's stock kernel when the running kernel, the default
    target, cannot be served by any package (a finding needs a :class:`StockKernel`), or for
    kdoctor's Rust-enabled kernel when a Rust-for-Linux module's target, not chosen by the
    person, has no Rust (a :class:`RustEnabledKernel`); None when the target stays as it is."""
    rust = next(
        (n for f in report.findings for n in f.needs if isinstance(n, RustEnabledKernel)), None
    )
    if rust is not None and ctx.toolchain_root is None:  # the check saw kdoctor chose the target
        return rust_context(ctx, system, rust.spec, source=TargetSource.RETARGETED)
    if ctx.target_source != TargetSource.RUNNING:
        return None  # an explicit --kernel or KDIR is never overridden
    wanted = next((n for f in report.findings for n in f.needs if isinstance(n, StockKernel)), None)
    if wanted is None:
        return None
    stock = stock_target(ctx, wanted, system)
    if stock is None or stock[0] == ctx.target_kernel:
        return None
    release, kdir = stock
    return dataclasses.replace(
        ctx, target_kernel=release, kdir=kdir, target_source=TargetSource.RETARGETED
    )


def stock_target(ctx: Context, wanted: StockKernel, system: System) -> Optional[tuple[str, str]]:
    """(release, build directory) of the distribution's stock kernel: the newest one whose
    headers are installed, else the one the stock headers metapackage installs."""
    for release, kdir in wanted.installed:
        if unpackaged_kernel(release) is None and release != ctx.target_kernel:
            return release, kdir
    packaged = metapackage_release(ctx, wanted.package, system)
    return (packaged, f"/lib/modules/{packaged}/build") if packaged else None


def metapackage_release(ctx: Context, stock: Optional[str], system: System) -> Optional[str]:
    """The release the stock headers metapackage depends on (apt: ``linux-headers-amd64`` →
    ``linux-headers-6.1.0-56-amd64`` → ``6.1.0-56-amd64``); None elsewhere or when unknown."""
    if ctx.package_manager != "apt":
        return None
    flavour = stock_flavour(ctx)
    stock = stock or package_name("apt", "stock-headers", flavour=flavour)
    if not stock:
        return None
    probe = system.probe(["apt-cache", "depends", stock], timeout=DEPENDS_TIMEOUT)
    if not probe.ok:
        return None
    releases: list[str] = _DEPENDS.findall(probe.stdout)
    same_flavour = [r for r in releases if r.endswith(f"-{flavour}")]
    return next(iter(same_flavour or releases), None)
