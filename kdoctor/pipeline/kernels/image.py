"""The target kernel's bootable image, for the VM.

Found in ``/boot`` (or ``/lib/modules/<release>/vmlinuz``) when the kernel is installed,
otherwise fetched from the distribution's package and unpacked into kdoctor's cache
(``<cache>/kernels/<release>/``). Nothing is installed: ``/boot`` and the boot configuration
are only ever read.

A fetch works in a ``.partial-*`` directory next to its destination and moves the image into
place with one rename, so an interrupted fetch leaves nothing a rerun trips over; it holds the
image's lock (``vmlinuz-<release>.lock``) throughout and records the image's sha256 next to it
(``vmlinuz-<release>.sha256``), which is checked before each use
(:mod:`kdoctor.pipeline.kernels.cache`; the paths are :mod:`kdoctor.model.cache_layout`'s).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Optional

from kdoctor.facts import images
from kdoctor.facts.cache_trust import cached_image_distrust
from kdoctor.facts.privileges import sudo_prefix
from kdoctor.i18n import _
from kdoctor.knowledge.packages import apt_has_candidate, image_package_names
from kdoctor.machine.system import System
from kdoctor.machine.trust import UntrustedPlace
from kdoctor.model.cache_layout import (
    cached_config,
    cached_image,
    checksum_path,
    release_dir,
    tree_image,
)
from kdoctor.model.context import Context
from kdoctor.model.finding import Remediation
from kdoctor.pipeline.kernels.cache import image_damage, place_image, sha256_of, work_dir
from kdoctor.pipeline.kernels.download import Downloads, apt_download

Step = Callable[[str], None]

DOWNLOAD_TIMEOUT = 900.0
UNPACK_TIMEOUT = 300.0


class KernelImageError(Exception):
    """No image for the release; ``remediation`` names the next step."""

    def __init__(self, message: str, remediation: Remediation) -> None:
        super().__init__(message)
        self.remediation = remediation


@dataclass(frozen=True)
class KernelImage:
    path: str
    #: "boot" (/boot), "modules" (/lib/modules/<release>), "cache", "downloaded", or "tree"
    #: (the image a Rust-enabled kernel kdoctor built left in its tree)
    source: str
    package: Optional[str] = None


def installed_paths(release: str) -> tuple[str, ...]:
    return tuple(path for path, _source in images.installed_images(release))


def locate(ctx: Context, system: System, release: str) -> Optional[KernelImage]:
    """The image of an installed kernel, or one fetched before (or, for a Rust-enabled kernel
    kdoctor built, the one in its tree); None when there is none."""
    if ctx.toolchain_root:
        tree = tree_image(ctx.kdir)
        return KernelImage(tree, "tree") if system.is_file(tree) else None
    for path, source in images.installed_images(release):
        if system.exists(path):
            return KernelImage(path, source)
    cached = cached_image(ctx.cache_dir, release)
    if system.is_file(cached):
        return KernelImage(cached, "cache")
    return None


def ensure(
    ctx: Context,
    system: System,
    release: str,
    on_step: Optional[Step] = None,
    on_download: Optional[Downloads] = None,
) -> KernelImage:
    """The image for ``release``, fetching it into the cache when it is nowhere yet, or when
    the cached one no longer matches the checksum recorded when it was fetched. The cached image
    is locked while it is checked or fetched: a second kdoctor on the same cache waits (and
    says so through ``on_step``) instead of deleting the first one's download."""
    found = locate(ctx, system, release)
    if found is not None and found.source != "cache":
        _trusted(ctx, system, found.path)  # a Rust-enabled kernel's tree is in the cache too
        return found
    if ctx.toolchain_root:
        raise KernelImageError(
            _("kernel {release} has no image in {kdir}: its build has not finished").format(
                release=release, kdir=ctx.kdir
            ),
            Remediation(
                _("Build it: {command}").format(
                    command=f"kdoctor build-kernel {ctx.kernel_spec or release}"
                )
            ),
        )
    step = on_step or (lambda _text: None)
    path = cached_image(ctx.cache_dir, release)
    with system.lock(path, on_wait=step):
        found = locate(ctx, system, release)
        if found is not None:
            _trusted(ctx, system, found.path)
            problem = image_damage(system, path)
            if problem is None:
                return found
            step(
                _("the cached image {path} is damaged ({problem}): fetching it again").format(
                    path=path, problem=problem
                )
            )
            system.remove_tree(path)
            system.remove_tree(checksum_path(path))
        return fetch(ctx, system, release, on_step, on_download)


def _trusted(ctx: Context, system: System, image: str) -> None:
    """Refuse (exit 3) an image in the cache, or its recorded sha256, that another user could
    have put there: the VM would boot it, and its checksum would vouch for it."""
    found = cached_image_distrust(system, ctx.cache_dir, image)
    if found is not None:
        raise UntrustedPlace(found)


def config_path(ctx: Context, image: KernelImage, release: str) -> str:
    """Where the kernel's configuration sits next to its image: ``/boot/config-<release>`` for
    an installed kernel, ``config-<release>`` in the cache for a fetched one."""
    if image.source == "tree":
        return os.path.join(ctx.kdir, ".config")
    if image.source in ("cache", "downloaded"):
        return cached_config(ctx.cache_dir, release)
    return os.path.join("/boot", f"config-{release}")


def candidate_packages(release: str) -> tuple[str, ...]:
    """Debian and Ubuntu names of the package that ships ``/boot/vmlinuz-<release>``."""
    return image_package_names("apt", release)


def choose_package(system: System, release: str) -> Optional[str]:
    """The first candidate apt knows and can download (``apt-cache policy``)."""
    for name in candidate_packages(release):
        policy = system.probe(["apt-cache", "policy", name], timeout=30)
        if policy.ok and apt_has_candidate(policy.stdout, name):
            return name
    return None


def fetch(
    ctx: Context,
    system: System,
    release: str,
    on_step: Optional[Step] = None,
    on_download: Optional[Downloads] = None,
) -> KernelImage:
    step = on_step or (lambda _text: None)
    if ctx.package_manager != "apt":
        raise KernelImageError(
            _(
                "no image of kernel {release} in /boot, and kdoctor fetches images only with apt"
            ).format(release=release),
            _by_hand(ctx, release),
        )
    missing = [tool for tool in ("apt-get", "apt-cache", "dpkg-deb") if not system.which(tool)]
    if missing:
        raise KernelImageError(
            _("cannot fetch the image of kernel {release}: {tools} not found").format(
                release=release, tools=", ".join(missing)
            ),
            _by_hand(ctx, release),
        )
    package = choose_package(system, release)
    if package is None:
        raise KernelImageError(
            _(
                "apt knows no package {packages}: kernel {release} is not a kernel of this "
                "distribution"
            ).format(packages=_either(candidate_packages(release)[:2]), release=release),
            Remediation(
                _(
                    "Refresh the package lists if they are old, or verify against a distribution "
                    "kernel (pass --kernel with its release and rebuild the module for it); "
                    "a self-built kernel's image can be copied to {path}."
                ).format(path=cached_image(ctx.cache_dir, release)),
                (
                    sudo_prefix(ctx) + "apt-get update",
                    "apt-cache search --names-only '^linux-image-[0-9]'",
                ),
            ),
        )
    destination = release_dir(ctx.cache_dir, release)
    work = work_dir(system, destination)
    try:
        step(_("downloading {package} (apt-get download)").format(package=package))
        got = apt_download(
            system,
            ["apt-get", "download", package],
            cwd=work,
            timeout=DOWNLOAD_TIMEOUT,
            on_download=on_download,
        )
        debs = sorted(name for name in system.listdir(work) if name.endswith(".deb"))
        if not got.ok or not debs:
            raise KernelImageError(
                _("could not download {package}: {error}").format(
                    package=package, error=got.describe_failure()
                ),
                Remediation(
                    _(
                        "Check the network and the apt sources, then rerun; or download "
                        "{package} on another machine and unpack it by hand."
                    ).format(package=package),
                    (
                        f"cd {destination} && apt-get download {package}",
                        f"dpkg-deb -x {package}_*.deb x && mv x/boot/vmlinuz-{release} . "
                        "&& rm -r x",
                    ),
                ),
            )
        step(_("unpacking {file}").format(file=debs[0]))
        root = os.path.join(work, "root")
        unpacked = system.run(
            ["dpkg-deb", "-x", os.path.join(work, debs[0]), root], timeout=UNPACK_TIMEOUT
        )
        image = _image_in(system, root, release)
        if not unpacked.ok or image is None:
            why = unpacked.describe_failure() if not unpacked.ok else _("it has no boot/vmlinuz-*")
            raise KernelImageError(
                _("could not unpack the image from {file}: {error}").format(
                    file=debs[0], error=why
                ),
                Remediation(
                    _("Unpack it by hand into {path}.").format(path=destination),
                    (f"dpkg-deb -c {debs[0]} | grep boot/",),
                ),
            )
        config = os.path.join(root, "boot", f"config-{release}")
        if system.is_file(config):
            system.rename(config, cached_config(ctx.cache_dir, release))
        digest = sha256_of(system, image) or ""
        place_image(system, image, cached_image(ctx.cache_dir, release), digest, release)
    finally:
        system.remove_tree(work)
    return KernelImage(cached_image(ctx.cache_dir, release), "downloaded", package)


def _image_in(system: System, root: str, release: str) -> Optional[str]:
    boot = os.path.join(root, "boot")
    exact = os.path.join(boot, f"vmlinuz-{release}")
    if system.is_file(exact):
        return exact
    others = sorted(n for n in system.listdir(boot) if n.startswith("vmlinuz-"))
    return os.path.join(boot, others[0]) if others else None


def _by_hand(ctx: Context, release: str) -> Remediation:
    destination = release_dir(ctx.cache_dir, release)
    commands: Sequence[str]
    if ctx.package_manager == "dnf":
        commands = (
            f"dnf download kernel-core-{release}",
            f"rpm2cpio kernel-core-{release}.rpm | cpio -idm ./lib/modules/{release}/vmlinuz",
            f"mkdir -p {destination} && mv lib/modules/{release}/vmlinuz "
            f"{cached_image(ctx.cache_dir, release)}",
        )
    else:
        commands = (
            f"mkdir -p {destination}",
            "cp "
            + _("<the image of {release}>").format(release=release)
            + f" {cached_image(ctx.cache_dir, release)}",
        )
    return Remediation(
        _(
            "Get the bootable image (vmlinuz) of kernel {release} from its package without "
            "installing it, and put it at {path}; then rerun."
        ).format(release=release, path=cached_image(ctx.cache_dir, release)),
        tuple(commands),
    )


def _either(names: Sequence[str]) -> str:
    """``a`` or ``a or b``, in words."""
    if len(names) < 2:
        return "".join(names)
    return _("{package} or {other}").format(package=names[0], other=names[1])
