"""vm: what ``kdoctor verify --vm`` needs to boot the target kernel: qemu, KVM (or TCG), a
static busybox for the initramfs and a kernel image for the target."""

from __future__ import annotations

from typing import Any, Optional

from kdoctor.checks.base import Check, register
from kdoctor.facts.loading import host_loading
from kdoctor.knowledge import versions
from kdoctor.knowledge.packages import (
    image_package_names,
    kernel_package_names,
    known_packages,
    package_needs,
)
from kdoctor.machine.system import System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import KernelImage, Need

KVM = "/dev/kvm"
BUSYBOX_PLACES = ("/bin/busybox", "/usr/bin/busybox", "/usr/lib/initramfs-tools/bin/busybox")
_QEMU_ARCH = {"i686": "i386", "i586": "i386", "armv7l": "arm", "arm64": "aarch64"}


def qemu_command(arch: str) -> str:
    return f"qemu-system-{_QEMU_ARCH.get(arch, arch)}"


def kvm_usable(system: System) -> bool:
    """``/dev/kvm`` exists and this user may open it read-write (what qemu -enable-kvm does)."""
    if not system.exists(KVM):
        return False
    return system.probe(["test", "-r", KVM, "-a", "-w", KVM]).ok


def is_static(system: System, path: str) -> bool:
    """Whether an executable needs no dynamic loader (``ldd``, else its ELF interpreter)."""
    if system.which("ldd") is not None:
        out = system.probe(["ldd", path]).output
        if "not a dynamic executable" in out or "statically linked" in out:
            return True
        if "=>" in out or "ld-linux" in out or "ld-musl" in out:
            return False
    head = (system.read_text(path) or "")[:4096]  # PT_INTERP lives near the start
    return "ld-linux" not in head and "ld-musl" not in head


def image_paths(ctx: Context) -> tuple[tuple[str, str], ...]:
    """Where an image of the target may already be, with its source (what verify looks at)."""
    release, cache = ctx.target_kernel, f"{ctx.cache_dir}/kernels/{ctx.target_kernel}"
    return (
        (f"/boot/vmlinuz-{release}", "boot"),
        (f"/lib/modules/{release}/vmlinuz", "boot"),
        (f"{cache}/vmlinuz-{release}", "cache"),
        (f"{cache}/vmlinuz", "cache"),
    )


def kernel_image(ctx: Context, system: System) -> tuple[Optional[str], Optional[str]]:
    """(path, source) of a bootable image for the target: /boot, else kdoctor's cache."""
    for path, source in image_paths(ctx):
        if system.exists(path):
            return path, source
    return None, None


def image_packages(ctx: Context) -> tuple[str, ...]:
    """Packages that ship the target's image (Debian/Ubuntu also name unsigned variants)."""
    return image_package_names(ctx.package_manager, ctx.target_kernel)


def find_busybox(system: System) -> tuple[Optional[str], bool]:
    """(path, static): a statically linked busybox when there is one, else the first found."""
    seen: list[str] = []
    for name in ("busybox", *BUSYBOX_PLACES):
        path = system.which(name)
        if path and path not in seen:
            seen.append(path)
    for path in seen:
        if is_static(system, path):
            return path, True
    return (seen[0], False) if seen else (None, False)


@register
class VmCheck(Check):
    id = "vm"
    title = "qemu, KVM, static busybox and a kernel image to test the module in a VM"
    order = 85

    def run(self, ctx: Context, system: System) -> Finding:
        qemu = system.which(qemu_command(ctx.arch))
        qemu_version = None
        if qemu:
            probe = system.probe([qemu, "--version"])
            parsed = versions.word_version(probe.output, "emulator") if probe.ok else None
            qemu_version = str(parsed) if parsed else None
        kvm = kvm_usable(system)
        busybox, static = find_busybox(system)
        image, source = kernel_image(ctx, system)
        candidates = image_packages(ctx)
        image_package = candidates[0] if candidates else None
        image_known: Optional[bool] = None
        if image is None and candidates:
            # one query for every candidate, the same the kernel-headers check makes
            names = kernel_package_names(ctx.package_manager, ctx.target_kernel)
            answers = known_packages(system, ctx.package_manager, names)
            for name in candidates:
                known = answers.get(name)
                if known is not None:  # True if any is known, False if some answered no
                    image_known = known
                if known:
                    image_package, source = name, "package"
                    break
        host = host_loading(ctx, system)
        missing = [name for name, ok in (("qemu", qemu), ("busybox", busybox and static)) if not ok]
        facts: dict[str, Any] = {
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
        state = "not accessible" if system.exists(KVM) else "missing"
        accel = (
            "KVM (verify falls back to TCG if nested KVM fails)"
            if kvm
            else f"TCG (software emulation; {KVM} {state})"
        )
        # an image a package ships is fetched into the cache by kdoctor fix (or verify)
        fetch: tuple[Need, ...] = ()
        if image is None and image_known and image_package:
            fetch = (KernelImage(ctx.target_kernel, image_package),)
        if not missing and source is not None:
            where = image if image else f"{image_package} (verify downloads it into the cache)"
            return self.finding(
                Status.OK,
                f"qemu {qemu_version or '?'}, {accel}, static busybox, kernel image {where}",
                found=qemu,
                needs=fetch,
                ctx=ctx,
                **facts,
            )
        problems = []
        if "qemu" in missing:
            problems.append(f"{qemu_command(ctx.arch)} is not installed")
        if busybox and not static:
            problems.append(f"{busybox} is dynamically linked (the initramfs needs a static one)")
        elif not busybox:
            problems.append("busybox is not installed")
        if source is None:
            problems.append(_no_image(ctx, image_package, image_known))
        tail = (
            ""
            if host.possible
            else " — and this host cannot load modules, so a VM is the only test"
        )
        commands: list[str] = []
        texts: list[str] = []
        if missing:
            texts.append("Install the missing packages.")
        if source is None:
            commands.append("kdoctor fix   # targets the stock kernel and fetches its image")
            texts.append(
                "Target a kernel your distribution packages an image for; verify downloads that "
                "image into kdoctor's cache (nothing is installed into /boot)."
            )
        return self.finding(
            Status.WARN if host.possible else Status.FAIL,
            f"cannot test in a VM: {'; '.join(problems)}{tail}",
            found=qemu,
            fix_text=" ".join(texts),
            commands=tuple(commands),
            needs=(*package_needs(ctx.package_manager, missing), *fetch),
            ctx=ctx,
            required=not host.possible,
            **facts,
        )


def _no_image(ctx: Context, package: Optional[str], known: Optional[bool]) -> str:
    where = f"no /boot/vmlinuz-{ctx.target_kernel} or cached image"
    if package is None:
        return f"{where} for {ctx.target_kernel}"
    if known is None:
        return f"{where}, and {ctx.package_manager} could not be asked about {package}"
    return f"{where}, and {ctx.package_manager} knows no package {package}"
