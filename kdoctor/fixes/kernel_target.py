"""kernel-target: build for the distribution's stock kernel when no package serves the running
one (persisted as ``KDIR``), and fetch the target's image into kdoctor's cache for the VM."""

from __future__ import annotations

import sys
from typing import Optional

from kdoctor.fixes.base import Fix, register
from kdoctor.knowledge.packages import unpackaged_kernel
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding
from kdoctor.model.plan import RETARGETED, Step
from kdoctor.model.report import Report
from kdoctor.pipeline.kernel_image import cached_path


def _finding(report: Report, check_id: str) -> Optional[Finding]:
    return next((f for f in report.findings if f.id == check_id), None)


def _why_unservable(ctx: Context) -> str:
    kind = unpackaged_kernel(ctx.running_kernel)
    return f"{kind}, no package provides its headers" if kind else "no package provides its headers"


def image_to_fetch(ctx: Context, report: Report) -> Optional[str]:
    """The package holding the target's image when the vm check found none on this machine but
    the package manager knows one (what ``kdoctor fetch-image`` unpacks into the cache)."""
    vm = _finding(report, "vm")
    if vm is None or vm.facts.get("image") is not None:
        return None
    package = vm.facts.get("image_package")
    if not package or vm.facts.get("image_package_known") is not True:
        return None
    return str(package)


@register
class KernelTargetFix(Fix):
    id = "kernel-target"
    title = "target the distribution's stock kernel and fetch its image for the VM"
    order = 20

    def plan(self, ctx: Context, report: Report, system: System) -> list[Step]:
        steps: list[Step] = []
        if ctx.target_source == RETARGETED:
            steps.append(
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
        package = image_to_fetch(ctx, report)
        if package is not None and ctx.package_manager == "apt":
            release = ctx.target_kernel
            steps.append(
                Step(
                    fix=self.id,
                    findings=("vm",),
                    why=(
                        f"vm: no image of kernel {release} in /boot or kdoctor's cache; it is "
                        f"unpacked from {package} into {cached_path(ctx, release)} (nothing is "
                        "installed into /boot)"
                    ),
                    argv=(sys.executable, "-m", "kdoctor", "fetch-image", release),
                    label=f"kdoctor fetch-image {release}",
                    network=True,
                    root=False,
                )
            )
        return steps

    def notes(self, ctx: Context, report: Report, system: System) -> list[str]:
        notes: list[str] = []
        if ctx.target_source == RETARGETED:
            notes.append(
                f"The target kernel was switched: the running kernel {ctx.running_kernel} "
                f"cannot be served by any package ({_why_unservable(ctx)}), so kdoctor builds "
                f"for the distribution's stock kernel {ctx.target_kernel} (KDIR={ctx.kdir}, "
                "persisted for later commands) and tests the module in a VM booting it; it "
                "cannot be loaded into the running kernel."
            )
        for finding in self.mine(report):
            if finding.id == "kernel-headers" and ctx.target_source != RETARGETED:
                notes.append(self._kept_target(ctx, finding))
            elif finding.id == "vm" and image_to_fetch(ctx, report) is None:
                notes.append(
                    f"No image of kernel {ctx.target_kernel} to boot in the VM, and no package "
                    f"ships one; copy one to {cached_path(ctx, ctx.target_kernel)} or target a "
                    "distribution kernel (kdoctor check --kernel <release>)."
                )
        if image_to_fetch(ctx, report) is not None and ctx.package_manager != "apt":
            notes.append(
                f"kdoctor fetches kernel images only with apt: install the image of "
                f"{ctx.target_kernel} or copy it to {cached_path(ctx, ctx.target_kernel)}."
            )
        return notes

    @staticmethod
    def _kept_target(ctx: Context, finding: Finding) -> str:
        commands = finding.remediation.commands if finding.remediation else ()
        by_hand = "; ".join(c for c in commands if c != "kdoctor fix")
        if ctx.target_source == "running":
            lead = (
                f"No package serves the running kernel {ctx.target_kernel} and kdoctor found no "
                "stock kernel to build for instead"
            )
        else:
            how = "KDIR" if ctx.target_source == "KDIR" else "--kernel"
            lead = (
                f"No package serves {ctx.target_kernel}, chosen with {how}; kdoctor never "
                "overrides an explicit target"
            )
        return f"{lead}. {finding.summary}" + (f" By hand: {by_hand}." if by_hand else "")
