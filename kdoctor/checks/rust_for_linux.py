"""rust-for-linux: a Rust-for-Linux module (kbuild compiles its ``.rs`` itself) needs a target
kernel built with ``CONFIG_RUST=y``, that build's ``rust/`` artefacts in the build directory, and
the rustc it was built with (see :mod:`kdoctor.knowledge.rust_for_linux`). Skipped for every
other kind of module."""

from __future__ import annotations

from typing import Any

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.bindgen import bindgen_version
from kdoctor.facts.kernel import target_missing_files
from kdoctor.facts.kernel_rust import KernelRust, kernel_rust
from kdoctor.facts.module import module_info
from kdoctor.facts.rust import rust_toolchain
from kdoctor.knowledge.rust_for_linux import options_text, same_version
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.finding import Finding, Status
from kdoctor.model.module import ModuleKind
from kdoctor.model.need import ByHand


@register
class RustForLinuxCheck(Check):
    id = "rust-for-linux"
    title = "a Rust-for-Linux module's kernel: CONFIG_RUST, its rust/ artefacts, its rustc"
    order = 34

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        module = facts.of(module_info)
        if module.kind != ModuleKind.RUST_FOR_LINUX:
            return self.finding(
                Status.SKIP, f"not a Rust-for-Linux module (kind: {module.kind})", kind=module.kind
            )
        if facts.of(target_missing_files):
            return self.finding(
                Status.SKIP,
                f"needs usable headers for {ctx.target_kernel} first (see kernel-headers)",
                kdir=ctx.kdir,
            )
        rust = facts.of(kernel_rust)
        details: dict[str, Any] = {"kdir": ctx.kdir, **rust.to_json()}
        if not rust.enabled:
            return self._no_rust(facts, rust, details)
        if rust.missing:
            return self._missing(facts, rust, details)
        toolchain = facts.of(rust_toolchain)
        chosen = toolchain.version
        details["rustc"] = toolchain.rustc
        details["rustc_version"] = chosen
        if rust.rustc and chosen and not same_version(rust.rustc, chosen):
            remedy = (
                f"Build with rustc {rust.rustc}: install it (rustup toolchain install "
                f"{rust.rustc} --profile minimal --component rust-src) and point RUSTC at it "
                f"(RUSTC=$(rustup which rustc --toolchain {rust.rustc}))."
            )
            return self.finding(
                Status.FAIL,
                f"{ctx.target_kernel}'s Rust crates were compiled by rustc {rust.rustc} "
                f"({rust.rustc_from}), but the build would use rustc {chosen}: rustc loads crate "
                "metadata only from its own version (error[E0514]: found crate `kernel` "
                "compiled by an incompatible version of rustc)",
                found=f"rustc {chosen}",
                fix_text=remedy,
                needs=(
                    ByHand(
                        self.id,
                        "kdoctor does not yet choose a rustc by the kernel's version",
                        remedy,
                    ),
                ),
                ctx=ctx,
                **details,
            )
        bindgen = facts.of(bindgen_version)
        details["bindgen_version"] = str(bindgen) if bindgen else None
        if rust.bindgen and bindgen and not same_version(rust.bindgen, str(bindgen)):
            return self.finding(
                Status.WARN,
                f"{ctx.target_kernel} recorded bindgen {rust.bindgen}, this machine's is "
                f"{bindgen}: the module's build does not run bindgen, but bindings it "
                "generates itself would not match the kernel's",
                found=f"bindgen {bindgen}",
                fix_text=f"Use bindgen {rust.bindgen} (BINDGEN=...) if the module runs bindgen.",
                required=False,
                **details,
            )
        return self.ok(
            f"{ctx.target_kernel} has CONFIG_RUST=y and its rust/ artefacts"
            + (f", built by rustc {rust.rustc} (the build's too)" if rust.rustc else ""),
            found=ctx.kdir,
            **details,
        )

    def _no_rust(self, facts: Facts, rust: KernelRust, details: dict[str, Any]) -> Finding:
        ctx = facts.ctx
        signs = ["CONFIG_RUST is not set"]
        if rust.have_rust:
            signs.append("CONFIG_HAVE_RUST=y only says the architecture could have it")
        if rust.rustc_version_option is not None:
            signs.append(f"CONFIG_RUSTC_VERSION={rust.rustc_version_option}")
        if not rust.has_rust_dir:
            signs.append(f"{ctx.kdir} has no rust/ directory")
        first = rust.needed[0] if rust.needed else "rust/"
        remedy = options_text(ctx.distro.id, bundled_module_dir())
        return self.finding(
            Status.FAIL,
            f"{ctx.target_kernel} was built without Rust support ({'; '.join(signs)}): kbuild "
            f"cannot compile this module's .rs (it would stop on the missing {first})",
            found=ctx.kdir,
            fix_text=remedy,
            needs=(
                ByHand(
                    self.id,
                    f"no package kdoctor can install gives {ctx.target_kernel} Rust support; it "
                    "takes a kernel built with CONFIG_RUST=y",
                    remedy,
                ),
            ),
            ctx=ctx,
            **details,
        )

    def _missing(self, facts: Facts, rust: KernelRust, details: dict[str, Any]) -> Finding:
        ctx = facts.ctx
        remedy = (
            f"Install the Rust artefacts of {ctx.target_kernel}'s build (Ubuntu: "
            f"linux-lib-rust-{ctx.target_kernel}), or point KDIR at the kernel tree it was built "
            "in, where the build left them."
        )
        return self.finding(
            Status.FAIL,
            f"{ctx.target_kernel} has CONFIG_RUST=y, but {ctx.kdir} lacks "
            f"{', '.join(rust.missing)}, which kbuild reads to compile a module's .rs",
            found=ctx.kdir,
            fix_text=remedy,
            needs=(ByHand(self.id, "kdoctor knows no package that ships these artefacts", remedy),),
            ctx=ctx,
            **details,
        )
