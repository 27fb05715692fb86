"""kernel-target: build for the distribution's stock kernel when no package serves the running
one (persisted as ``KDIR``), and fetch the target's image into kdoctor's cache for the VM."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Optional, cast

from kdoctor.facts import Facts
from kdoctor.facts.images import kept_in_cache
from kdoctor.fixes.base import Ask, Decision, Fix, asks_of, register
from kdoctor.i18n import _
from kdoctor.knowledge.packages import unpackaged_kernel
from kdoctor.knowledge.rust_kernels import rust_kernel_cost
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import cached_image, manifest_path, release_dir
from kdoctor.model.choice import TargetSource
from kdoctor.model.context import Context
from kdoctor.model.need import KernelImage, RustEnabledKernel, StockKernel
from kdoctor.model.plan import PlanOptions, Step


def _why_unservable(ctx: Context) -> str:
    kind = unpackaged_kernel(ctx.running_kernel)
    if kind:
        return _("{kind}, no package provides its headers").format(kind=kind)
    return _("no package provides its headers")


@register
class KernelTargetFix(Fix):
    id = "kernel-target"
    title = "target the distribution's stock kernel and fetch its image for the VM"
    order = 20
    handles = (StockKernel, KernelImage, RustEnabledKernel)

    def plan(self, facts: Facts, asks: Sequence[Ask], options: PlanOptions) -> Decision:
        ctx = facts.ctx
        decision = Decision()
        if ctx.toolchain_root:
            return self._rust_kernel(facts, asks)
        for ask in asks_of(asks, RustEnabledKernel):  # the plan is made for that target
            decision.notes.append(ask.finding.summary)
        if ctx.target_source == TargetSource.RETARGETED:
            switched = {  # what the step and the note both say
                "running": ctx.running_kernel,
                "why": _why_unservable(ctx),
                "target": ctx.target_kernel,
                "kdir": ctx.kdir,
            }
            decision.steps.append(
                Step(
                    fix=self.id,
                    findings=("kernel-headers",),
                    why=_(
                        "kernel-headers: the running kernel {running} cannot be "
                        "served by any package ({why}); build for the "
                        "distribution's stock kernel {target} instead "
                        "(KDIR={kdir})"
                    ).format(**switched),
                    settings={"KDIR": ctx.kdir},
                )
            )
            decision.notes.append(
                _(
                    "The target kernel was switched: the running kernel {running} "
                    "cannot be served by any package ({why}), so kdoctor builds "
                    "for the distribution's stock kernel {target} (KDIR={kdir}, "
                    "persisted for later commands) and tests the module in a VM booting it; it "
                    "cannot be loaded into the running kernel."
                ).format(**switched)
            )
        else:
            for ask in asks_of(asks, StockKernel):
                decision.notes.append(self._kept_target(ctx, ask))
        fetch = self._fetch_step(ctx, facts.system)
        if fetch is not None:
            decision.steps.append(fetch)
        images = asks_of(asks, KernelImage)
        for ask in images:
            image = cast(KernelImage, ask.need)
            cached = cached_image(ctx.cache_dir, image.release)
            if ctx.package_manager != "apt":
                decision.notes.append(
                    _(
                        "kdoctor fetches kernel images only with apt: install the image of "
                        "{release} or copy it to {cached}."
                    ).format(release=image.release, cached=cached)
                )
                continue
            decision.steps.append(
                Step(
                    fix=self.id,
                    findings=(ask.finding.id,),
                    why=_(
                        "{check}: no image of kernel {release} in /boot or "
                        "kdoctor's cache; it is unpacked from {package} into "
                        "{cached} (nothing is installed into /boot)"
                    ).format(
                        check=ask.finding.id,
                        release=image.release,
                        package=image.package,
                        cached=cached,
                    ),
                    argv=(sys.executable, "-m", "kdoctor", "fetch-image", image.release),
                    label=f"kdoctor fetch-image {image.release}",
                    network=True,
                    root=False,
                )
            )
        return decision

    def _rust_kernel(self, facts: Facts, asks: Sequence[Ask]) -> Decision:
        """The target is a Rust-enabled kernel kdoctor builds: build it when a finding needs
        it; persist it as ``KDIR`` when kdoctor chose it (later commands build for it too)."""
        ctx = facts.ctx
        decision = Decision()
        spec = ctx.kernel_spec or ctx.target_kernel
        wanted = asks_of(asks, RustEnabledKernel)
        if ctx.target_source == TargetSource.RETARGETED:
            decision.steps.append(
                Step(
                    fix=self.id,
                    findings=("rust-for-linux",),
                    why=_(
                        "rust-for-linux: the module needs a kernel with CONFIG_RUST=y; build "
                        "for kdoctor's Rust-enabled kernel {spec} (KDIR={kdir})"
                    ).format(spec=spec, kdir=ctx.kdir),
                    settings={"KDIR": ctx.kdir},
                )
            )
        if wanted and not ctx.is_root:  # debootstrap and chroot; root's own cache, never a
            # cache another user can write (root would run what is in it)
            decision.notes.append(
                _(
                    "Building kdoctor's Rust-enabled kernel {spec} needs root (its toolchain root "
                    "is made with debootstrap and entered with chroot): {command}"
                ).format(spec=spec, command=f"sudo kdoctor fix --kernel {spec}")
            )
        elif wanted:
            decision.steps.append(
                Step(
                    fix=self.id,
                    findings=tuple(dict.fromkeys(a.finding.id for a in wanted)),
                    why=_("{check}: build kdoctor's Rust-enabled kernel {spec}; {cost}").format(
                        check=wanted[0].finding.id, spec=spec, cost=rust_kernel_cost(spec)
                    ),
                    argv=(sys.executable, "-m", "kdoctor", "build-kernel", spec),
                    label=f"kdoctor build-kernel {spec}",
                    network=True,
                    root=False,
                )
            )
        return decision

    def _fetch_step(self, ctx: Context, system: System) -> Optional[Step]:
        """``--kernel`` named a Debian kernel kept in kdoctor's cache that is not there yet:
        fetching it (headers, kbuild tools, image; nothing installed) is a step."""
        if ctx.target_source != TargetSource.OPTION or not kept_in_cache(ctx):
            return None
        if system.is_file(manifest_path(ctx.cache_dir, ctx.target_kernel)):
            return None
        return Step(
            fix=self.id,
            findings=("kernel-headers",),
            why=_(
                "kernel-headers: kernel {release} is fetched from Debian's archive "
                "(headers, kbuild tools and image) and unpacked into "
                "{directory}; nothing is installed"
            ).format(
                release=ctx.target_kernel, directory=release_dir(ctx.cache_dir, ctx.target_kernel)
            ),
            argv=(sys.executable, "-m", "kdoctor", "fetch-kernel", ctx.target_kernel),
            label=f"kdoctor fetch-kernel {ctx.target_kernel}",
            network=True,
            root=False,
        )

    @staticmethod
    def _kept_target(ctx: Context, ask: Ask) -> str:
        finding = ask.finding
        commands = finding.remediation.commands if finding.remediation else ()
        by_hand = "; ".join(c for c in commands if c != "kdoctor fix")
        if ctx.target_source == TargetSource.RUNNING:
            lead = _(
                "No package serves the running kernel {release} and kdoctor found no "
                "stock kernel to build for instead"
            ).format(release=ctx.target_kernel)
        else:
            how = "KDIR" if ctx.target_source == TargetSource.KDIR else "--kernel"
            lead = _(
                "No package serves {release}, chosen with {how}; kdoctor never "
                "overrides an explicit target"
            ).format(release=ctx.target_kernel, how=how)
        if by_hand:
            return _("{lead}. {summary} By hand: {commands}.").format(
                lead=lead, summary=finding.summary, commands=by_hand
            )
        return f"{lead}. {finding.summary}"
