"""vm: what ``kdoctor verify --vm`` needs to boot the target kernel: qemu, KVM (or TCG), a
static busybox for the initramfs and a kernel image for the target."""

from __future__ import annotations

from typing import Any, Optional

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.cache_trust import cached_image_distrust
from kdoctor.facts.images import busybox as busybox_fact
from kdoctor.facts.images import target_image
from kdoctor.facts.kvm import KVM, join_command, kvm_group, kvm_usable
from kdoctor.facts.loading import module_loading
from kdoctor.facts.packages import kernel_packages
from kdoctor.i18n import N_, _
from kdoctor.knowledge import versions
from kdoctor.knowledge.packages import (
    image_package_names,
    package_needs,
)
from kdoctor.model.cache_layout import cached_image
from kdoctor.model.choice import TargetSource
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import KernelImage, Need

_QEMU_ARCH = {"i686": "i386", "i586": "i386", "armv7l": "arm", "arm64": "aarch64"}


def qemu_command(arch: str) -> str:
    return f"qemu-system-{_QEMU_ARCH.get(arch, arch)}"


def image_packages(ctx: Context) -> tuple[str, ...]:
    """Packages that ship the target's image (Debian/Ubuntu also name unsigned variants)."""
    return image_package_names(ctx.package_manager, ctx.target_kernel)


@register
class VmCheck(Check):
    id = "vm"
    title = N_("qemu, KVM, static busybox and a kernel image to test the module in a VM")

    def run(self, facts: Facts) -> Finding:
        ctx, system = facts.ctx, facts.system
        qemu = system.which(qemu_command(ctx.arch))
        qemu_version = None
        if qemu:
            probe = system.probe([qemu, "--version"])
            parsed = versions.word_version(probe.output, "emulator") if probe.ok else None
            qemu_version = str(parsed) if parsed else None
        kvm = kvm_usable(system)
        box = facts.of(busybox_fact)
        busybox, static = (box.path, box.static) if box else (None, False)
        image, source = facts.of(target_image)
        untrusted = (
            cached_image_distrust(system, ctx.cache_dir, image) if source == "cache" else None
        )
        if untrusted is not None:  # booted and believed: never one another user could change
            return self.distrusted(untrusted, ctx, image=image)
        candidates = () if ctx.toolchain_root else image_packages(ctx)
        image_package = candidates[0] if candidates else None
        if image is None and ctx.toolchain_root:  # kdoctor's Rust-enabled kernel: built with it
            source = "kernel build"
        image_known: Optional[bool] = None
        if image is None and candidates:
            # one query for every candidate, the same the kernel-headers check makes
            answers = facts.of(kernel_packages)
            for name in candidates:
                known = answers.get(name)
                if known is not None:  # True if any is known, False if some answered no
                    image_known = known
                if known:
                    image_package, source = name, "package"
                    break
        host = facts.of(module_loading)
        missing = [name for name, ok in (("qemu", qemu), ("busybox", busybox and static)) if not ok]
        details: dict[str, Any] = {
            "qemu": qemu,
            "qemu_version": qemu_version,
            "kvm": kvm,
            "accel": "kvm" if kvm else "tcg",
            "busybox": busybox,
            "busybox_static": static,
            "image": image,
            "image_package": image_package,
            "image_package_known": image_known,
            "image_source": source,
            "missing": missing,
            "host_can_load": host.possible,
        }
        state = _("missing")
        if system.exists(KVM) and not kvm:
            group = kvm_group(system)
            details["kvm_group"] = group
            state = _(
                "not accessible: join group {group} with `{command}`, then log in again"
            ).format(group=group, command=join_command(system, group))
        accel = (
            _("KVM (verify falls back to TCG if nested KVM fails)")
            if kvm
            else _("TCG (software emulation; {device} {state})").format(device=KVM, state=state)
        )
        # an image a package ships is fetched into the cache by kdoctor fix (or verify)
        fetch: tuple[Need, ...] = ()
        if image is None and image_known and image_package:
            fetch = (KernelImage(ctx.target_kernel, image_package),)
        if not missing and source is not None:
            where = (
                image
                if image
                else _("the one its build makes ({command})").format(
                    command=f"kdoctor build-kernel {ctx.kernel_spec}"
                )
                if ctx.toolchain_root
                else _("{package} (verify downloads it into the cache)").format(
                    package=image_package
                )
            )
            return self.finding(
                Status.OK,
                _("qemu {version}, {accel}, static busybox, kernel image {image}").format(
                    version=qemu_version or "?", accel=accel, image=where
                ),
                found=qemu,
                needs=fetch,
                ctx=ctx,
                **details,
            )
        problems = []
        if "qemu" in missing:
            problems.append(_("{command} is not installed").format(command=qemu_command(ctx.arch)))
        if busybox and not static:
            problems.append(
                _("{path} is dynamically linked (the initramfs needs a static one)").format(
                    path=busybox
                )
            )
        elif not busybox:
            problems.append(_("busybox is not installed"))
        if source is None:
            problems.append(_no_image(ctx, image_package, image_known))
        summary = (
            _("cannot test in a VM: {problems}")
            if host.possible
            else _(
                "cannot test in a VM: {problems} — and this host cannot load modules, so a VM "
                "is the only test"
            )
        )
        commands: list[str] = []
        texts: list[str] = []
        if missing:
            texts.append(_("Install the missing packages."))
        if source is None:
            if ctx.target_source == TargetSource.RUNNING:
                commands.append(
                    "kdoctor fix   # " + _("targets the stock kernel and fetches its image")
                )
            texts.append(
                _(
                    "Target a kernel your distribution packages an image for; verify downloads "
                    "that image into kdoctor's cache (nothing is installed into /boot). Or copy "
                    "an image of {kernel} to {path}."
                ).format(
                    kernel=ctx.target_kernel,
                    path=cached_image(ctx.cache_dir, ctx.target_kernel),
                )
            )
        return self.finding(
            Status.WARN if host.possible else Status.FAIL,
            summary.format(problems="; ".join(problems)),
            found=qemu,
            fix_text=" ".join(texts),
            commands=tuple(commands),
            needs=(*package_needs(ctx.package_manager, missing), *fetch),
            ctx=ctx,
            required=not host.possible,
            **details,
        )


def _no_image(ctx: Context, package: Optional[str], known: Optional[bool]) -> str:
    if package is None:
        said = _("no {image} or cached image for {kernel}")
    elif known is None:
        said = _("no {image} or cached image, and {manager} could not be asked about {package}")
    else:
        said = _("no {image} or cached image, and {manager} knows no package {package}")
    return said.format(
        image=f"/boot/vmlinuz-{ctx.target_kernel}",
        kernel=ctx.target_kernel,
        manager=ctx.package_manager,
        package=package,
    )
