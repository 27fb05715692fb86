"""The toolchain root a Rust-enabled kernel target is built in (``Context.toolchain_root``):
which versions it holds, read from its dpkg database (nothing in it runs on the host: its
programs need the suite's glibc), and the rustc the module's build uses there."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from kdoctor.facts.rustc import RustToolchain
from kdoctor.i18n import _
from kdoctor.knowledge.rust_kernels import (
    DPKG_STATUS,
    DPKG_STATUS_LIMIT,
    RECORDED,
    dpkg_versions,
    upstream_version,
)
from kdoctor.machine.system import System
from kdoctor.model.context import Context

if TYPE_CHECKING:
    from kdoctor.facts import Facts

#: where the root's rustc is, inside the root
ROOT_RUSTC = "/usr/bin/rustc"


def root_versions(system: System, root: str) -> dict[str, str]:
    """The :data:`RECORDED` packages' versions the root's dpkg database holds."""
    status = system.read_text(os.path.join(root, DPKG_STATUS), limit=DPKG_STATUS_LIMIT) or ""
    return dpkg_versions(status, RECORDED)


def toolchain_root_versions(facts: Facts) -> dict[str, str]:
    """The target's toolchain root's versions (empty: no root, or not made yet)."""
    root = facts.ctx.toolchain_root
    return root_versions(facts.system, root) if root else {}


def root_toolchain(ctx: Context, system: System) -> RustToolchain:
    """The rustc the module's build uses in the target's toolchain root (the kernel's)."""
    root = ctx.toolchain_root or ""
    versions = root_versions(system, root)
    rustc = versions.get("rustc")
    version = upstream_version(rustc) if rustc else None
    name = os.path.basename(root)
    usable = version is not None and system.is_file(os.path.join(root, ROOT_RUSTC.lstrip("/")))
    return RustToolchain(
        source="root",
        rustc=ROOT_RUSTC,
        version=version,
        channel=None,
        sysroot="/usr",
        library_src="/usr/lib/rustlib/src/rust/library",
        rustfmt=None,
        env={},
        reason=_("the rustc of kdoctor's {name} toolchain root, which built the kernel").format(
            name=name
        ),
        usable=usable,
        problems=[]
        if usable
        else [
            _("kdoctor's {name} toolchain root is not made yet (kdoctor fix makes it)").format(
                name=name
            )
        ],
    )
