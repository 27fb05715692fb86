"""rust-src: the standard library sources the module's ``core``/``alloc`` are compiled from."""

from __future__ import annotations

import re
from typing import Any

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts, rust
from kdoctor.knowledge.packages import package_need, rust_logical
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import RustComponent

#: a sysroot rustup manages: ``~/.rustup/toolchains/<name>``
_RUSTUP_SYSROOT = re.compile(r"/toolchains/([^/]+)/?$")


@register
class RustSrcCheck(Check):
    id = "rust-src"
    title = "the Rust library sources (rust-src) of the chosen toolchain"
    order = 62

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        chosen = facts.of(rust.rust_toolchain)
        expected = rust.library_dir(chosen.sysroot) if chosen.sysroot else None
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
                f"nothing to look at: {chosen.problems[0]} (see the toolchain check)",
                required=False,
                **details,
            )
        if chosen.library_src is not None:
            return self.ok(
                f"Rust library sources for rustc {chosen.version}",
                found=chosen.library_src,
                **details,
            )
        missing = f"no Rust library sources in {expected}"
        managed = _RUSTUP_SYSROOT.search(chosen.sysroot or "")
        toolchain = ctx.pinned.channel if chosen.source == "pin" else managed and managed.group(1)
        if toolchain:
            details.update(component="rust-src", toolchain=toolchain)
            return self.finding(
                Status.FAIL,
                f"the rust-src component of {toolchain} is not installed ({missing})",
                fix_text=f"Add the rust-src component to {toolchain}.",
                needs=(RustComponent(toolchain, "rust-src"),),
                ctx=ctx,
                **details,
            )
        if chosen.source == "env" and chosen.sysroot != "/usr":
            return self.finding(
                Status.FAIL,
                f"RUSTC={ctx.env.get('RUSTC')} has {missing}",
                fix_text="Install the library sources that belong to that compiler, or point "
                "RUSTC at a toolchain that has them.",
                **details,
            )
        wanted = package_need(ctx.package_manager, rust_logical(ctx, "rust-src"))
        details.update(logical=[wanted.logical], packages=list(wanted.candidates))
        return self.finding(
            Status.FAIL,
            missing,
            fix_text=f"Install the library sources that match rustc {chosen.version}.",
            needs=(wanted,),
            ctx=ctx,
            **details,
        )
