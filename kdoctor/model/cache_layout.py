"""The layout of kdoctor's cache: every path under it, written once.

Plain functions of the cache directory (``Context.cache_dir``) and names; nothing here reads or
changes the machine, so every layer may ask where a thing lives in the cache. What is done with
those paths (making a kernel artefact under its lock, moving it into place with one rename,
trusting it) belongs to the code that makes them: the kernels kdoctor keeps are
:mod:`kdoctor.pipeline.kernels.cache`'s. A lock is ``<artefact>.lock``
(:mod:`kdoctor.machine.locks`), and a Debian archive's inside is
:mod:`kdoctor.pipeline.kernels.archive`'s.

::

    <cache>/                           $KDOCTOR_CACHE, else $XDG_CACHE_HOME/kdoctor
      kernels/<release>/               one kernel kdoctor fetched (or an image put there by hand)
        vmlinuz-<release>[.sha256]     its bootable image, and the sha256 recorded at the fetch
        vmlinuz                        an image put there by hand
        config-<release>               the configuration its image package ships
        root/                          a Debian kernel's unpacked packages (kdoctor fetch-kernel)
          usr/src/linux-headers-<release>/   its KDIR
        tree.json                      written last: what was fetched and adapted, and sha256s
        .partial-*/                    a fetch at work (removed by the next one)
      apt/<suite>/                     a Debian suite's private apt configuration and lists
      rust-kernels/                    Rust-enabled kernels kdoctor builds (kdoctor build-kernel)
        roots/<name>/                  a minimal Debian root holding the toolchain that builds them
        roots/<name>.json              written last: what the root holds (package versions)
        <series>/linux/                one kernel's source, configured and built in place: KDIR
        <series>/kernel.json           written last: release, options, toolchain, image sha256
      test/<release>/module/           kdoctor test's copy of the module, built for <release>
      modules/<name>/                  a module copied to be built (its directory is read-only)
      verified/<module>-<release>.json what a passing verification depended on
      locks/build-<digest>             held while a module directory is built (digest of its path)
      locks/fix                        held while kdoctor fix changes this machine
      logs/                            logs of applying, building and verifying
      tmp/                             scratch directories of a VM verification
      scratch/                         copies of a module for cargo to resolve its crates
      cargo-home/                      the cargo home kdoctor owns (packaged crates)
      rust-sysroot/<key>/              Rust core/alloc built for the kernel (the bundled module's
                                       Makefile: RUST_SYSROOT_CACHE)
      probes/                          probe answers kept between runs
      kvm.json                         whether KVM works on this host, by host kernel release
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Optional

#: the prefix of a half-made artefact's work directory, next to its destination
PARTIAL = ".partial-"


def default_cache_dir(env: Mapping[str, str]) -> str:
    """The cache directory: ``KDOCTOR_CACHE``, else ``$XDG_CACHE_HOME/kdoctor`` (``~/.cache``)."""
    base = env.get("XDG_CACHE_HOME") or os.path.join(env.get("HOME", "/root"), ".cache")
    return env.get("KDOCTOR_CACHE") or os.path.join(base, "kdoctor")


# -- kernels ----------------------------------------------------------------------------------
def kernels_dir(cache_dir: str) -> str:
    """Where kdoctor keeps the kernels it fetched, one directory per release."""
    return os.path.join(cache_dir, "kernels")


def release_dir(cache_dir: str, release: str) -> str:
    """Where kdoctor keeps what it fetched for kernel ``release``."""
    return os.path.join(kernels_dir(cache_dir), release)


def in_kernels(cache_dir: str, path: str) -> bool:
    """``path`` is inside the kernels kdoctor keeps."""
    return path.startswith(kernels_dir(cache_dir) + os.sep)


def cached_image(cache_dir: str, release: str) -> str:
    """Where a fetched (or hand-placed) image of ``release`` lives in kdoctor's cache."""
    return os.path.join(release_dir(cache_dir, release), f"vmlinuz-{release}")


def hand_placed_image(cache_dir: str, release: str) -> str:
    """The other name an image put into the cache by hand may have."""
    return os.path.join(release_dir(cache_dir, release), "vmlinuz")


def checksum_path(image: str) -> str:
    """Where the sha256 of a fetched image is recorded (next to it)."""
    return image + ".sha256"


def cached_config(cache_dir: str, release: str) -> str:
    """Where a fetch keeps the configuration the image package ships (``boot/config-*``)."""
    return os.path.join(release_dir(cache_dir, release), f"config-{release}")


def tree_dir(cache_dir: str, release: str) -> str:
    """Where a Debian kernel's unpacked packages are (its lock guards the whole kernel)."""
    return os.path.join(release_dir(cache_dir, release), "root")


def manifest_path(cache_dir: str, release: str) -> str:
    """The fetched kernel's ``tree.json``, written last: its presence marks the fetch complete."""
    return os.path.join(release_dir(cache_dir, release), "tree.json")


def headers_in(root: str, release: str) -> str:
    """The headers directory (KDIR) of ``release`` in an unpacked tree ``root``."""
    return os.path.join(root, "usr", "src", f"linux-headers-{release}")


def kdir_of(cache_dir: str, release: str) -> str:
    """The KDIR of the fetched kernel ``release``."""
    return headers_in(tree_dir(cache_dir, release), release)


# -- Rust-enabled kernels kdoctor builds ---------------------------------------------------------
def rust_kernels_dir(cache_dir: str) -> str:
    """Where the Rust-enabled kernels kdoctor builds and their toolchain roots are."""
    return os.path.join(cache_dir, "rust-kernels")


def in_rust_kernels(cache_dir: str, path: str) -> bool:
    """``path`` is inside the Rust-enabled kernels kdoctor builds."""
    return path.startswith(rust_kernels_dir(cache_dir) + os.sep)


def rust_series_of(cache_dir: str, kdir: str) -> Optional[str]:
    """The series of the Rust-enabled kernel whose tree ``kdir`` is (None: not one)."""
    if not in_rust_kernels(cache_dir, kdir):
        return None
    parts = os.path.relpath(kdir, rust_kernels_dir(cache_dir)).split(os.sep)
    return parts[0] if len(parts) == 2 and parts[1] == "linux" else None


def toolchain_roots_dir(cache_dir: str) -> str:
    return os.path.join(rust_kernels_dir(cache_dir), "roots")


def toolchain_root(cache_dir: str, name: str) -> str:
    """The toolchain root ``name`` (``trixie``, ``trixie-backports``)."""
    return os.path.join(toolchain_roots_dir(cache_dir), name)


def toolchain_root_record(cache_dir: str, name: str) -> str:
    """The root's record, written last: its presence marks the root complete."""
    return toolchain_root(cache_dir, name) + ".json"


def rust_kernel_dir(cache_dir: str, series: str) -> str:
    """What kdoctor keeps for its Rust-enabled kernel of ``series`` (its lock guards it)."""
    return os.path.join(rust_kernels_dir(cache_dir), series)


def rust_kernel_tree(cache_dir: str, series: str) -> str:
    """The kernel's source tree, configured and built in place: its KDIR."""
    return os.path.join(rust_kernel_dir(cache_dir, series), "linux")


def rust_kernel_record(cache_dir: str, series: str) -> str:
    """The kernel's record, written last: its presence marks the build complete."""
    return os.path.join(rust_kernel_dir(cache_dir, series), "kernel.json")


def rust_kernel_log(cache_dir: str, series: str, stage: str) -> str:
    """The log of one stage (``config``, ``build``) of the Rust-enabled kernel of ``series``."""
    return os.path.join(logs_dir(cache_dir), f"rust-kernel-{series}-{stage}.log")


def tree_image(kdir: str) -> str:
    """The bootable image a kernel build leaves in its tree (x86)."""
    return os.path.join(kdir, "arch", "x86", "boot", "bzImage")


def rust_kernel_image(cache_dir: str, series: str) -> str:
    """The bootable image the kernel's build leaves in its tree."""
    return tree_image(rust_kernel_tree(cache_dir, series))


# -- Debian's archive ---------------------------------------------------------------------------
def apt_root(cache_dir: str) -> str:
    """Where the suites' private apt configurations are."""
    return os.path.join(cache_dir, "apt")


def apt_dir(cache_dir: str, suite: str) -> str:
    """The private apt configuration, lists and state of Debian ``suite``."""
    return os.path.join(apt_root(cache_dir.rstrip("/") or "/"), suite)


# -- builds and verifications -------------------------------------------------------------------
def kernel_test_root(cache_dir: str) -> str:
    """Where ``kdoctor test`` builds, one directory per kernel release."""
    return os.path.join(cache_dir, "test")


def kernel_test_dir(cache_dir: str, release: str) -> str:
    """What ``kdoctor test`` keeps for kernel ``release``."""
    return os.path.join(kernel_test_root(cache_dir), release)


def kernel_test_module(cache_dir: str, release: str) -> str:
    """``kdoctor test``'s copy of the module, built for kernel ``release``."""
    return os.path.join(kernel_test_dir(cache_dir, release), "module")


def module_copy(cache_dir: str, name: str) -> str:
    """Where a module is copied to be built when its own directory will not do."""
    return os.path.join(modules_dir(cache_dir), name)


def verified_stamp(cache_dir: str, module: str, release: str) -> str:
    """The record of a passing verification of ``module`` (a digest of its directory's name)
    for kernel ``release``."""
    return os.path.join(cache_dir, "verified", f"{module}-{release}.json")


def locks_dir(cache_dir: str) -> str:
    """Where the locks of things that are not artefacts of the cache live."""
    return os.path.join(cache_dir, "locks")


def build_lock(cache_dir: str, module_dir: str) -> str:
    """The lock held while ``module_dir`` is built (two builds of one directory break each
    other); named by a digest of the directory's path, so nothing is written beside it."""
    digest = hashlib.sha256(module_dir.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return os.path.join(locks_dir(cache_dir), f"build-{digest}")


def fix_lock(cache_dir: str) -> str:
    """The lock held while ``kdoctor fix`` changes the machine and builds (a second one waits,
    then diagnoses what the first left)."""
    return os.path.join(locks_dir(cache_dir), "fix")


def logs_dir(cache_dir: str) -> str:
    """Where the logs of applying, building and verifying go."""
    return os.path.join(cache_dir, "logs")


def tmp_dir(cache_dir: str) -> str:
    """Where a VM verification makes its scratch directories."""
    return os.path.join(cache_dir, "tmp")


def kvm_verdicts(cache_dir: str) -> str:
    """Whether KVM works on this host, by the host's kernel release."""
    return os.path.join(cache_dir, "kvm.json")


# -- facts kept between runs --------------------------------------------------------------------
def probes_dir(cache_dir: str) -> str:
    """Probe answers kept between runs (:class:`kdoctor.machine.probe_cache.ProbeCache`)."""
    return os.path.join(cache_dir, "probes")


def cargo_home(cache_dir: str) -> str:
    """The cargo home kdoctor owns (its config.toml holds the packaged-crates source)."""
    return os.path.join(cache_dir, "cargo-home")


def rust_sysroot_dir(cache_dir: str) -> str:
    """Where the bundled module's Makefile keeps the Rust sysroots it builds for the kernel
    (``RUST_SYSROOT_CACHE``, one directory per toolchain and flags)."""
    return os.path.join(cache_dir, "rust-sysroot")


def scratch_dir(cache_dir: str) -> str:
    """Where a module is copied for cargo to resolve its crates (it is never changed)."""
    return os.path.join(cache_dir, "scratch")


def modules_dir(cache_dir: str) -> str:
    """Where modules are copied to be built (:func:`module_copy`)."""
    return os.path.join(cache_dir, "modules")


def cache_entry(cache_dir: str, name: str) -> str:
    """The entry ``name`` right under the cache directory (what ``kdoctor cache size`` counts
    as other when it is none of the layout's)."""
    return os.path.join(cache_dir, name)
