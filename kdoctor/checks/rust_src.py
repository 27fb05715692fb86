"""rust-src: the standard library sources the module's ``core``/``alloc`` are compiled from."""

from __future__ import annotations

import re
from typing import Any

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.rust import rust_toolchain
from kdoctor.facts.rustc import library_dir
from kdoctor.i18n import N_, _
from kdoctor.knowledge.packages import package_need, rust_logical
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import RustComponent

#: a sysroot rustup manages: ``~/.rustup/toolchains/<name>``
_RUSTUP_SYSROOT = re.compile(r"/toolchains/([^/]+)/?$")


@register
class RustSrcCheck(Check):
    id = "rust-src"
    host_tool = True
    title = N_("the Rust library sources (rust-src) of the chosen toolchain")

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        chosen = facts.of(rust_toolchain)
        expected = library_dir(chosen.sysroot) if chosen.sysroot else None
        details: dict[str, Any] = {
            "path": chosen.library_src,
            "expected": expected,
            "source": chosen.source,
            "component": None,
            "toolchain": None,
            "logical": [],
            "packages": [],
        }
        if expected is None:
            return self.finding(
                Status.SKIP,
                _("nothing to look at: {problem} (see the toolchain check)").format(
                    problem=chosen.problems[0]
                ),
                required=False,
                **details,
            )
        if chosen.library_src is not None:
            return self.ok(
                _("Rust library sources for rustc {version}").format(version=chosen.version),
                found=chosen.library_src,
                **details,
            )
        missing = _("no Rust library sources in {directory}").format(directory=expected)
        managed = _RUSTUP_SYSROOT.search(chosen.sysroot or "")
        toolchain = ctx.pinned.channel if chosen.source == "pin" else managed and managed.group(1)
        if toolchain:
            details.update(component="rust-src", toolchain=toolchain)
            return self.finding(
                Status.FAIL,
                _("the rust-src component of {toolchain} is not installed ({problem})").format(
                    toolchain=toolchain, problem=missing
                ),
                fix_text=_("Add the rust-src component to {toolchain}.").format(
                    toolchain=toolchain
                ),
                needs=(RustComponent(toolchain, "rust-src"),),
                ctx=ctx,
                **details,
            )
        if chosen.source == "env" and chosen.sysroot != "/usr":
            return self.finding(
                Status.FAIL,
                _("{setting} has {problem}").format(
                    setting=f"RUSTC={ctx.env.get('RUSTC')}", problem=missing
                ),
                fix_text=_(
                    "Install the library sources that belong to that compiler, or point "
                    "RUSTC at a toolchain that has them."
                ),
                **details,
            )
        wanted = package_need(ctx.package_manager, rust_logical(ctx, "rust-src"))
        details.update(logical=[wanted.logical], packages=list(wanted.candidates))
        return self.finding(
            Status.FAIL,
            missing,
            fix_text=_("Install the library sources that match rustc {version}.").format(
                version=chosen.version
            ),
            needs=(wanted,),
            ctx=ctx,
            **details,
        )
