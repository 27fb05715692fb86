"""os: which distribution this is and whether kdoctor knows how to install packages on it."""

from __future__ import annotations

from typing import Any

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.i18n import N_, _
from kdoctor.knowledge.packages import INSTALL
from kdoctor.model.finding import Finding, Status

#: what a person installs by hand where kdoctor knows no package manager (logical name, wording)
MANUAL = (
    ("clang", "clang"),
    ("llvm", "llvm"),
    ("libclang", N_("libclang with its development files (libclang.so)")),
    ("bindgen", N_("bindgen (the rust-bindgen command line tool)")),
    ("make", "GNU make"),
    ("gcc", "gcc"),
    ("binutils", "binutils"),
    ("headers", N_("kernel headers for {release}")),
    ("qemu", "qemu (qemu-system-x86_64)"),
    ("busybox", N_("a statically linked busybox")),
)


@register
class OsCheck(Check):
    id = "os"
    title = N_("distribution and package manager")
    required = False

    def run(self, facts: Facts) -> Finding:
        ctx, system = facts.ctx, facts.system
        info = ctx.distro
        name = info.name or info.id
        details: dict[str, Any] = {
            "distro": info.id,
            "version": info.version,
            "name": name,
            "like": list(info.like),
            "codename": info.codename,
            "package_manager": ctx.package_manager,
        }
        manager = ctx.package_manager
        if manager is None or manager not in INSTALL:
            wanted = [_(text).format(release=ctx.target_kernel) for _logical, text in MANUAL]
            return self.finding(
                Status.WARN,
                _(
                    "{name}: kdoctor knows no package manager for it; install packages by hand"
                ).format(name=name),
                found=name,
                fix_text=_(
                    "kdoctor cannot install packages here. Install these with your "
                    "distribution's tools: {packages}."
                ).format(packages="; ".join(wanted)),
                manual=[logical for logical, _text in MANUAL],
                **details,
            )
        tool = INSTALL[manager][0]
        if system.which(tool) is None:
            return self.finding(
                Status.WARN,
                _("{name} uses {manager}, but {tool} is not on PATH").format(
                    name=name, manager=manager, tool=tool
                ),
                found=name,
                fix_text=_(
                    "kdoctor installs packages with {tool}; add its directory to PATH "
                    "(often /usr/bin or /usr/sbin) or install the packages by hand."
                ).format(tool=tool),
                manual=[],
                **details,
            )
        return self.ok(
            _("{name}, packages via {manager}").format(name=name, manager=manager),
            found=name,
            manual=[],
            **details,
        )
