"""kernel-headers: the target kernel's build directory (KDIR) exists and kbuild can use it."""

from __future__ import annotations

import os
from typing import Any, Optional

from kdoctor.checks.base import Check, register
from kdoctor.checks.variables import correction
from kdoctor.facts import Facts
from kdoctor.facts.cache_trust import kdir_distrust
from kdoctor.facts.kernel import installed_build_dirs, target_config, target_missing_files
from kdoctor.facts.packages import kernel_packages
from kdoctor.i18n import N_, _
from kdoctor.knowledge.commands import install_shown
from kdoctor.knowledge.packages import (
    package_name,
    package_need,
    stock_flavour,
    unpackaged_kernel,
)
from kdoctor.knowledge.rust_kernels import configured, rust_kernel_cost
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import rust_kernel_record, rust_series_of
from kdoctor.model.choice import TargetSource
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand, Need, RustEnabledKernel, StockKernel


def target_phrase(ctx: Context) -> str:
    """How the target was chosen, in words: the running kernel, --kernel or KDIR."""
    if ctx.target_source == TargetSource.KDIR:
        return _("{kernel} (from {setting})").format(
            kernel=ctx.target_kernel, setting=f"KDIR={ctx.kdir}"
        )
    if ctx.target_source == TargetSource.OPTION:
        return _("{kernel} (from --kernel)").format(kernel=ctx.target_kernel)
    if ctx.target_source == TargetSource.RETARGETED and ctx.toolchain_root:
        return _("kdoctor's Rust-enabled kernel {kernel} (chosen by kdoctor fix)").format(
            kernel=ctx.target_kernel
        )
    if ctx.target_source == TargetSource.RETARGETED:
        return _("the stock kernel {kernel} (chosen by kdoctor fix)").format(
            kernel=ctx.target_kernel
        )
    return _("the running kernel {kernel}").format(kernel=ctx.target_kernel)


def kernel_kind(release: str) -> Optional[str]:
    """Kernels no distribution package serves, recognised by their release string."""
    return unpackaged_kernel(release)


def rust_kernel_complete(facts: Facts) -> bool:
    """The target, a Rust-enabled kernel kdoctor builds, is complete: its record is there and
    its configuration has every option kdoctor sets."""
    ctx = facts.ctx
    series = rust_series_of(ctx.cache_dir, ctx.kdir)
    record = rust_kernel_record(ctx.cache_dir, series) if series else None
    return bool(record and facts.system.is_file(record)) and configured(facts.of(target_config))


def check_command(release: str, kdir: str) -> str:
    """The command that targets an installed kernel (through KDIR when not under /lib/modules)."""
    if kdir == f"/lib/modules/{release}/build":
        return f"kdoctor check --kernel {release}"
    return f"KDIR={kdir} kdoctor check"


def explicit(ctx: Context) -> bool:
    """Whether the person chose the target (``KDIR``, ``--kernel``): kdoctor never switches
    it, and when it is the cause the remedy is to correct that choice."""
    return ctx.target_source in (TargetSource.KDIR, TargetSource.OPTION)


def _packaged_place(ctx: Context) -> bool:
    """Whether the target's build directory is where its headers package puts it."""
    return ctx.kdir.rstrip("/") == f"/lib/modules/{ctx.target_kernel}/build"


@register
class KernelHeadersCheck(Check):
    id = "kernel-headers"
    title = N_("the target kernel's build directory (headers, .config, Module.symvers, modpost)")
    variables = ("KDIR",)

    def run(self, facts: Facts) -> Finding:
        ctx, system = facts.ctx, facts.system
        release = ctx.target_kernel
        untrusted = facts.of(kdir_distrust)
        if untrusted is not None:  # a tree another user could change is never built with
            return self.distrusted(untrusted, ctx, kdir=ctx.kdir, release=release)
        missing = facts.of(target_missing_files)
        flavour = stock_flavour(ctx)
        installed = installed_build_dirs(system, flavour)
        others = {r: d for r, d in installed.items() if r != release and d != ctx.kdir}
        package = package_name(ctx.package_manager, "headers", release=release)
        stock = package_name(ctx.package_manager, "stock-headers", flavour=flavour)
        details: dict[str, Any] = {
            "kdir": ctx.kdir,
            "release": release,
            "target_source": ctx.target_source,
            "usable": not missing,
            "missing": missing,
            "package": package,
            "package_known": None,
            "stock_package": stock,
            "installed_targets": list(others),
            "installed_kdirs": others,
            "kernel_kind": kernel_kind(release),
        }
        if ctx.toolchain_root and (missing or not rust_kernel_complete(facts)):
            return self._rust_kernel(ctx, system, details)
        if not missing:
            return self.ok(
                _("headers for {target} at {kdir}").format(
                    target=target_phrase(ctx), kdir=ctx.kdir
                ),
                found=ctx.kdir,
                **details,
            )
        exists = system.exists(ctx.kdir)
        problem = (
            _("{kdir} lacks {files}").format(kdir=ctx.kdir, files=", ".join(missing))
            if exists
            else _("{kdir} does not exist").format(kdir=ctx.kdir)
        )
        known: Optional[bool] = None
        if package:
            # the same query as the vm check's (headers and image together): apt-cache runs once
            known = facts.of(kernel_packages).get(package)
        details["package_known"] = known
        found = ctx.kdir if exists else None
        installable = bool(known or (package and known is None and kernel_kind(release) is None))
        if explicit(ctx) and not (installable and _packaged_place(ctx)):
            finding = self._unservable(ctx, problem, package, stock, others, found, details)
            return self._chosen(facts, finding, others, installable)
        if installable:
            return self._install(ctx, problem, package, known, found, details)
        return self._unservable(ctx, problem, package, stock, others, found, details)

    def _chosen(
        self, facts: Facts, finding: Finding, others: dict[str, str], installable: bool
    ) -> Finding:
        """The target was the person's choice (``KDIR``, ``--kernel``), which kdoctor never
        overrides: the remedy is to correct that choice, said the same way by check and by
        fix (``KDIR`` in kdoctor's own settings file is corrected by fix)."""
        ctx = facts.ctx
        best = next(iter(others.items()), None)
        needs: list[Need] = []
        commands: tuple[str, ...] = ()
        if ctx.target_source == TargetSource.KDIR:
            running = ctx.running_kernel
            own = correction(
                facts,
                self.id,
                "KDIR",
                best[1] if best else None,
                then=_("kdoctor then targets the running kernel {kernel}").format(kernel=running),
            )
            text = own.text
            if installable and ctx.target_kernel == running:
                needs.append(
                    package_need(ctx.package_manager, "headers", release=ctx.target_kernel)
                )
            needs += own.needs
        elif best:
            text = _(
                "Choose a kernel whose headers are installed ({release}): kdoctor fix --kernel "
                "{release}."
            ).format(release=best[0])
            commands = (check_command(*best), f"kdoctor fix --kernel {best[0]}")
        else:
            text = _(
                "Choose a kernel your distribution has headers for with --kernel, or leave "
                "--kernel out (kdoctor then targets the running kernel, or the stock kernel "
                "when no package serves it)."
            )
        if ctx.target_source == TargetSource.OPTION:
            why = _("the target kernel was chosen with --kernel, which kdoctor never overrides")
            needs.append(ByHand(self.id, why, text))
        return self.finding(
            finding.status,
            finding.summary,
            found=finding.found,
            fix_text=text,
            commands=commands,
            needs=needs,
            ctx=ctx,
            **finding.facts,
        )

    def _rust_kernel(self, ctx: Context, system: System, details: dict[str, Any]) -> Finding:
        """A Rust-enabled kernel kdoctor builds: not built yet, half built, or built with
        fewer options than kdoctor sets now."""
        spec = ctx.kernel_spec or ctx.target_kernel
        root = ctx.toolchain_root or ""
        made = system.is_file(os.path.join(root, "usr", "bin", "apt-get"))
        tools = (
            ()
            if made or system.which("debootstrap")
            else (package_need(ctx.package_manager, "debootstrap"),)
        )
        return self.finding(
            Status.FAIL,
            _(
                "kdoctor's Rust-enabled kernel {spec} is not built yet, or not with every option "
                "kdoctor sets now ({kdir})"
            ).format(spec=spec, kdir=ctx.kdir),
            fix_text=rust_kernel_cost(spec),
            needs=(*tools, RustEnabledKernel(spec)),
            ctx=ctx,
            **details,
        )

    def _install(
        self,
        ctx: Context,
        problem: str,
        package: Optional[str],
        known: Optional[bool],
        found: Optional[str],
        details: dict[str, Any],
    ) -> Finding:
        text = (
            _("Install the headers package for {kernel}.")
            if known
            else _(
                "Install the headers package for {kernel} ({manager} could not be asked whether "
                "it exists)."
            )
        )
        return self.finding(
            Status.FAIL,
            _("no usable headers for {target}: {problem}; {package} provides them").format(
                target=target_phrase(ctx), problem=problem, package=package
            ),
            found=found,
            fix_text=text.format(kernel=ctx.target_kernel, manager=ctx.package_manager),
            needs=(package_need(ctx.package_manager, "headers", release=ctx.target_kernel),),
            ctx=ctx,
            **details,
        )

    def _unservable(
        self,
        ctx: Context,
        problem: str,
        package: Optional[str],
        stock: Optional[str],
        others: dict[str, str],
        found: Optional[str],
        details: dict[str, Any],
    ) -> Finding:
        kind = kernel_kind(ctx.target_kernel)
        if kind is not None:
            why = _("{kind}, no package provides its headers").format(kind=kind)
        elif package:
            why = _("{manager} knows no package {package}").format(
                manager=ctx.package_manager, package=package
            )
        else:
            why = _("no package manager kdoctor knows could provide its headers")
        stock_words = (
            _("the stock kernel ({package})").format(package=stock)
            if stock
            else _("the distribution's stock kernel")
        )
        lead = {"target": target_phrase(ctx), "why": why, "problem": problem, "stock": stock_words}
        if others:
            best = next(iter(others))
            summary = _(
                "cannot build for {target}: {why} ({problem}); target {stock} instead: "
                "headers for {installed} are installed"
            ).format(installed=", ".join(others), **lead)
            text = _(
                "Build for a kernel whose headers are installed ({release}) and test the module "
                "in a VM booting that kernel; kdoctor fix switches the target."
            ).format(release=best)
            commands: tuple[str, ...] = (check_command(best, others[best]), "kdoctor fix")
        else:
            summary = _(
                "cannot build for {target}: {why} ({problem}); target {stock} instead"
            ).format(**lead)
            text = _(
                "Install the headers of the distribution's stock kernel, build for it and test "
                "the module in a VM booting it; kdoctor fix does both."
            )
            # by hand only: kdoctor fix installs the headers of the release it retargets to
            headers = package_need(ctx.package_manager, "stock-headers", flavour=stock_flavour(ctx))
            install = (
                install_shown(ctx.package_manager, [headers], ctx.is_root)
                if stock
                else _("install your distribution's kernel headers package")
            )
            commands = (install, "kdoctor fix")
        return self.finding(
            Status.FAIL,
            summary,
            found=found,
            fix_text=text,
            commands=commands,
            needs=(StockKernel(why, stock, tuple(others.items())),),
            ctx=ctx,
            **details,
        )
