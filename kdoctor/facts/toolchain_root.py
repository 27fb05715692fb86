"""The toolchain root a Rust-enabled kernel target is built in (``Context.toolchain_root``):
which versions it holds, read from its dpkg database (nothing in it runs on the host: its
programs need the suite's glibc), and the rustc the module's build uses there."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

from kdoctor.facts.rustc import RustToolchain, resolve
from kdoctor.i18n import _
from kdoctor.knowledge.chroot import in_root
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
#: how long asking a rustc in the root its version may take
PROBE_TIMEOUT = 30.0


def root_versions(system: System, root: str) -> dict[str, str]:
    """The :data:`RECORDED` packages' versions the root's dpkg database holds."""
    status = system.read_text(os.path.join(root, DPKG_STATUS), limit=DPKG_STATUS_LIMIT) or ""
    return dpkg_versions(status, RECORDED)


def toolchain_root_versions(facts: Facts) -> dict[str, str]:
    """The target's toolchain root's versions (empty: no root, or not made yet)."""
    root = facts.ctx.toolchain_root
    return root_versions(facts.system, root) if root else {}


def person_rustc(ctx: Context, system: System, value: str) -> RustToolchain:
    """The rustc the person's ``RUSTC`` names, as the build in the root finds it (the build runs
    there: a path means the root's file, a name the root's PATH); when the root has no such
    program, its version on the host is kept to say which one the person meant."""
    root = ctx.toolchain_root or ""
    name = os.path.basename(root)
    inside = value if value.startswith("/") else f"/usr/bin/{value}"
    where = os.path.join(root, inside.lstrip("/"))
    reason = _("{setting} is set (the kernel build uses it)").format(setting=f"RUSTC={value}")
    if system.is_file(where):
        if inside == ROOT_RUSTC:
            return replace(root_toolchain(ctx, system), source="env", reason=reason)
        got = system.probe(
            in_root(root, [inside, "--version"], as_root=system.uid() == 0), timeout=PROBE_TIMEOUT
        )
        words = got.stdout.split() if got.ok else []
        version = words[1] if len(words) > 1 and words[0] == "rustc" else None
        problems = [] if version else [got.describe_failure()]
        return RustToolchain(
            "env", inside, version, None, None, None, None, {}, reason, bool(version), problems
        )
    on_host = resolve(replace(ctx, env={**ctx.env, "RUSTC": value}), system)
    missing = _(
        "{setting} is not in kdoctor's {name} toolchain root, where the module builds (the "
        'build would stop on "{program}: not found")'
    ).format(setting=f"RUSTC={value}", name=name, program=value)
    return replace(on_host, usable=False, problems=[missing, *on_host.problems])


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
