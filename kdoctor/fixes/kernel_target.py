"""kernel-target: build for the distribution's stock kernel when no package serves the running
one (persisted as ``KDIR``), and fetch the target's image into kdoctor's cache for the VM."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Optional, cast

from kdoctor.facts.images import cached_image, release_dir
from kdoctor.fixes.base import Ask, Decision, Fix, asks_of, register
from kdoctor.knowledge.packages import unpackaged_kernel
from kdoctor.machine.system import System
from kdoctor.model.choice import TargetSource
from kdoctor.model.context import Context
from kdoctor.model.need import KernelImage, StockKernel
from kdoctor.model.plan import PlanOptions, Step


def _why_unservable(ctx: Context) -> str:
    kind = unpackaged_kernel(ctx.running_kernel)
    return f"{kind}, no package provides its headers" if kind else "no package provides its headers"


@register
class KernelTargetFix(Fix):
    id = "kernel-target"
    title = "target the distribution's stock kernel and fetch its image for the VM"
    order = 20

    def plan(
        self, ctx: Context, asks: Sequence[Ask], system: System, options: PlanOptions
    ) -> Decision:
        decision = Decision()
        if ctx.target_source == TargetSource.RETARGETED:
            decision.steps.append(
                Step(
                    fix=self.id,
                    findings=("kernel-headers",),
                    why=(
                        f"kernel-headers: the running kernel {ctx.running_kernel} cannot be "
                        f"served by any package ({_why_unservable(ctx)}); build for the "
                        f"distribution's stock kernel {ctx.target_kernel} instead "
                        f"(KDIR={ctx.kdir})"
                    ),
                    settings={"KDIR": ctx.kdir},
                )
            )
            decision.notes.append(
                f"The target kernel was switched: the running kernel {ctx.running_kernel} "
                f"cannot be served by any package ({_why_unservable(ctx)}), so kdoctor builds "
                f"for the distribution's stock kernel {ctx.target_kernel} (KDIR={ctx.kdir}, "
                "persisted for later commands) and tests the module in a VM booting it; it "
                "cannot be loaded into the running kernel."
            )
        else:
            for ask in asks_of(asks, StockKernel):
                decision.notes.append(self._kept_target(ctx, ask))
        fetch = self._fetch_step(ctx, system)
        if fetch is not None:
            decision.steps.append(fetch)
        images = asks_of(asks, KernelImage)
        for ask in images:
            image = cast(KernelImage, ask.need)
            cached = cached_image(ctx.cache_dir, image.release)
            if ctx.package_manager != "apt":
                decision.notes.append(
                    f"kdoctor fetches kernel images only with apt: install the image of "
                    f"{image.release} or copy it to {cached}."
                )
                continue
            decision.steps.append(
                Step(
                    fix=self.id,
                    findings=(ask.finding.id,),
                    why=(
                        f"{ask.finding.id}: no image of kernel {image.release} in /boot or "
                        f"kdoctor's cache; it is unpacked from {image.package} into "
                        f"{cached} (nothing is installed into /boot)"
                    ),
                    argv=(sys.executable, "-m", "kdoctor", "fetch-image", image.release),
                    label=f"kdoctor fetch-image {image.release}",
                    network=True,
                    root=False,
                )
            )
        return decision

    def _fetch_step(self, ctx: Context, system: System) -> Optional[Step]:
        """``--kernel`` named a Debian kernel kept in kdoctor's cache that is not there yet:
        fetching it (headers, kbuild tools, image; nothing installed) is a step."""
        kernels = os.path.join(ctx.cache_dir, "kernels") + os.sep
        if ctx.target_source != TargetSource.OPTION or not ctx.kdir.startswith(kernels):
            return None
        if system.is_file(os.path.join(release_dir(ctx.cache_dir, ctx.target_kernel), "tree.json")):
            return None
        return Step(
            fix=self.id,
            findings=("kernel-headers",),
            why=(
                f"kernel-headers: kernel {ctx.target_kernel} is fetched from Debian's archive "
                f"(headers, kbuild tools and image) and unpacked into "
                f"{release_dir(ctx.cache_dir, ctx.target_kernel)}; nothing is installed"
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
            lead = (
                f"No package serves the running kernel {ctx.target_kernel} and kdoctor found no "
                "stock kernel to build for instead"
            )
        else:
            how = "KDIR" if ctx.target_source == TargetSource.KDIR else "--kernel"
            lead = (
                f"No package serves {ctx.target_kernel}, chosen with {how}; kdoctor never "
                "overrides an explicit target"
            )
        return f"{lead}. {finding.summary}" + (f" By hand: {by_hand}." if by_hand else "")
