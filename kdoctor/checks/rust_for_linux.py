"""rust-for-linux: a Rust-for-Linux module (kbuild compiles its ``.rs`` itself) needs a target
kernel built with ``CONFIG_RUST=y``, that build's ``rust/`` artefacts in the build directory, and
the rustc it was built with (see :mod:`kdoctor.knowledge.rust_for_linux`). Skipped for every
other kind of module."""

from __future__ import annotations

import os
from typing import Any

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.bindgen import bindgen_version
from kdoctor.facts.kernel import target_missing_files
from kdoctor.facts.kernel_rust import KernelRust, MacroKeys, kernel_rust, macro_key_check
from kdoctor.facts.module import module_info
from kdoctor.facts.packages import rust_artefacts_package
from kdoctor.facts.rust import rust_toolchain
from kdoctor.facts.toolchain_root import toolchain_root_versions
from kdoctor.i18n import N_, _
from kdoctor.knowledge import rust_kernels as rk
from kdoctor.knowledge.rust_for_linux import options_text, same_version
from kdoctor.knowledge.rust_kernels import upstream_version
from kdoctor.model.choice import TargetSource
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.finding import Finding, Status
from kdoctor.model.module import ModuleKind
from kdoctor.model.need import ByHand, Need, Package, RustEnabledKernel


def kdoctor_chose(facts: Facts) -> bool:
    """The target was not the person's choice: the running kernel, kdoctor fix's switch, or a
    ``KDIR`` kdoctor persisted in its settings (not one from the person's environment)."""
    ctx = facts.ctx
    if ctx.target_source in (TargetSource.RUNNING, TargetSource.RETARGETED):
        return True
    return ctx.target_source == TargetSource.KDIR and facts.system.env.get("KDIR") != ctx.kdir


@register
class RustForLinuxCheck(Check):
    id = "rust-for-linux"
    title = N_("a Rust-for-Linux module's kernel: CONFIG_RUST, its rust/ artefacts, its rustc")

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        module = facts.of(module_info)
        if module.kind != ModuleKind.RUST_FOR_LINUX:
            return self.finding(
                Status.SKIP,
                _("not a Rust-for-Linux module (kind: {kind})").format(kind=module.kind),
                kind=module.kind,
            )
        if facts.of(target_missing_files):
            return self.finding(
                Status.SKIP,
                _("needs usable headers for {kernel} first (see kernel-headers)").format(
                    kernel=ctx.target_kernel
                ),
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
        person = facts.system.env.get("RUSTC") if ctx.toolchain_root else None
        if person and not toolchain.usable:  # not in the root, where the module builds
            remedy = _(
                "Unset RUSTC: the module builds in kdoctor's {root} toolchain root with rustc "
                "{version}, the kernel's own."
            ).format(root=os.path.basename(ctx.toolchain_root or ""), version=rust.rustc)
            return self.finding(
                Status.FAIL,
                (
                    _(
                        "{problem}; {kernel}'s Rust crates were compiled by rustc {version}, and "
                        "RUSTC names rustc {chosen}"
                    )
                    if chosen
                    else _("{problem}; {kernel}'s Rust crates were compiled by rustc {version}")
                ).format(
                    problem=toolchain.problems[0] if toolchain.problems else person,
                    kernel=ctx.target_kernel,
                    version=rust.rustc,
                    chosen=chosen,
                ),
                found=f"RUSTC={person}",
                fix_text=remedy,
                needs=(ByHand(self.id, _("only your shell can unset RUSTC"), remedy),),
                ctx=ctx,
                **details,
            )
        if rust.rustc and chosen and not same_version(rust.rustc, chosen):
            remedy = _(
                "Build with rustc {version}: install it ({install}) and point RUSTC at it "
                "({setting})."
            ).format(
                version=rust.rustc,
                install=f"rustup toolchain install {rust.rustc} --profile minimal "
                "--component rust-src",
                setting=f"RUSTC=$(rustup which rustc --toolchain {rust.rustc})",
            )
            needs: tuple[Need, ...] = (
                ByHand(
                    self.id,
                    _("kdoctor does not yet choose a rustc by the kernel's version"),
                    remedy,
                ),
            )
            if person:  # the person's RUSTC names another rustc in the root
                remedy = _(
                    "Unset RUSTC: the module builds in kdoctor's {root} toolchain root with "
                    "rustc {version}, the kernel's own."
                ).format(root=os.path.basename(ctx.toolchain_root or ""), version=rust.rustc)
                needs = (ByHand(self.id, _("only your shell can unset RUSTC"), remedy),)
            elif ctx.toolchain_root:  # the root's rustc changed since the kernel was built
                spec = ctx.kernel_spec or ctx.target_kernel
                remedy = _(
                    "kdoctor's {root} toolchain root now has rustc {chosen}: build {spec} again "
                    "with it ({command})."
                ).format(
                    root=os.path.basename(ctx.toolchain_root),
                    chosen=chosen,
                    spec=spec,
                    command=f"kdoctor build-kernel {spec}",
                )
                needs = (RustEnabledKernel(spec),)
            return self.finding(
                Status.FAIL,
                _(
                    "{kernel}'s Rust crates were compiled by rustc {version} "
                    "({source}), but the build would use rustc {chosen}: rustc loads crate "
                    "metadata only from its own version ({error})"
                ).format(
                    kernel=ctx.target_kernel,
                    version=rust.rustc,
                    source=rust.rustc_from_text,
                    chosen=chosen,
                    error="error[E0514]: found crate `kernel` compiled by an incompatible "
                    "version of rustc",
                ),
                found=f"rustc {chosen}",
                fix_text=remedy,
                needs=needs,
                ctx=ctx,
                **details,
            )
        keys = facts.of(macro_key_check)
        if keys.known is not None and keys.unknown:
            return self._unknown_keys(facts, keys, details)
        bindgen: object = None
        if ctx.toolchain_root:  # the module's build runs in the root, with the root's bindgen
            root_bindgen = facts.of(toolchain_root_versions).get("bindgen")
            bindgen = upstream_version(root_bindgen) if root_bindgen else None
            details["toolchain_root"] = ctx.toolchain_root
            details["kernel_compiler"] = "clang" if rust.llvm else "gcc"
        else:
            bindgen = facts.of(bindgen_version)
        details["bindgen_version"] = str(bindgen) if bindgen else None
        if rust.bindgen and bindgen and not same_version(rust.bindgen, str(bindgen)):
            return self.finding(
                Status.WARN,
                _(
                    "{kernel} recorded bindgen {recorded}, this machine's is "
                    "{version}: the module's build does not run bindgen, but bindings it "
                    "generates itself would not match the kernel's"
                ).format(kernel=ctx.target_kernel, recorded=rust.bindgen, version=bindgen),
                found=f"bindgen {bindgen}",
                fix_text=_(
                    "Use bindgen {version} (BINDGEN=...) if the module runs bindgen."
                ).format(version=rust.bindgen),
                required=False,
                **details,
            )
        said = (
            _(
                "{kernel} has CONFIG_RUST=y and its rust/ artefacts, built by rustc {version} "
                "(the build's too)"
            )
            if rust.rustc
            else _("{kernel} has CONFIG_RUST=y and its rust/ artefacts")
        )
        if ctx.toolchain_root:
            said = _(
                "{kernel} has CONFIG_RUST=y and its rust/ artefacts, built by rustc {version} "
                "and bindgen {bindgen} with {compiler} in kdoctor's {root} toolchain root, where "
                "the module builds too"
            )
        return self.ok(
            said.format(
                kernel=ctx.target_kernel,
                version=rust.rustc,
                bindgen=bindgen,
                compiler=details.get("kernel_compiler"),
                root=os.path.basename(ctx.toolchain_root or ""),
            ),
            found=ctx.kdir,
            **details,
        )

    def _unknown_keys(self, facts: Facts, keys: MacroKeys, details: dict[str, Any]) -> Finding:
        ctx = facts.ctx
        known = sorted(keys.known or ())
        used = sorted({key for _file, key in keys.unknown})
        files = sorted({name for name, _key in keys.unknown})
        hints = []
        if "authors" in used and "author" in known:
            hints.append(
                _("{kernel}'s module! takes one author: {key}").format(
                    kernel=ctx.target_kernel, key='author: "..."'
                )
            )
        if "author" in used and "authors" in known:
            hints.append(
                _("{kernel}'s module! takes a list: {key}").format(
                    kernel=ctx.target_kernel, key='authors: ["..."]'
                )
            )
        other = rk.spec_of(rk.STABLE_SERIES) if "author" in used else rk.NEWEST
        remedy = _(
            "Use the keys {kernel}'s module! knows, or build for a kernel whose module! knows "
            "them: {command}."
        ).format(kernel=ctx.target_kernel, command=f"kdoctor fix --kernel {other}")
        if hints:
            remedy = "; ".join(hints) + ". " + remedy
        return self.finding(
            Status.FAIL,
            _(
                "module! in {files} uses {keys}, which {kernel}'s module! does not know (it "
                'knows {known}): the build would stop on "Unknown key"'
            ).format(
                files=", ".join(files),
                keys=", ".join(used),
                kernel=ctx.target_kernel,
                known=", ".join(known),
            ),
            found=", ".join(used),
            fix_text=remedy,
            needs=(ByHand(self.id, _("only the module's author can change its source"), remedy),),
            ctx=ctx,
            unknown_keys=used,
            known_keys=known,
            **details,
        )

    def _no_rust(self, facts: Facts, rust: KernelRust, details: dict[str, Any]) -> Finding:
        ctx = facts.ctx
        signs = [_("CONFIG_RUST is not set")]
        if rust.have_rust:
            signs.append(_("CONFIG_HAVE_RUST=y only says the architecture could have it"))
        if rust.rustc_version_option is not None:
            signs.append(f"CONFIG_RUSTC_VERSION={rust.rustc_version_option}")
        if not rust.has_rust_dir:
            signs.append(_("{kdir} has no rust/ directory").format(kdir=ctx.kdir))
        first = rust.needed[0] if rust.needed else "rust/"
        remedy = options_text(ctx.distro.id, bundled_module_dir())
        if kdoctor_chose(facts):  # not the person's choice: kdoctor fix may switch it
            spec = rk.spec_of(rk.STABLE_SERIES)
            return self.finding(
                Status.FAIL,
                _(
                    "{kernel} was built without Rust support ({signs}): kbuild cannot compile "
                    "this module's .rs; kdoctor fix builds for its Rust-enabled kernel {spec} "
                    "instead"
                ).format(kernel=ctx.target_kernel, signs="; ".join(signs), spec=spec),
                found=ctx.kdir,
                fix_text=_(
                    "A Rust-for-Linux module builds only against a kernel with CONFIG_RUST=y "
                    "and its rust/ artefacts. {cost}"
                ).format(cost=rk.rust_kernel_cost(spec)),
                needs=(RustEnabledKernel(spec),),
                ctx=ctx,
                **details,
            )
        remedy = _(
            "Build for kdoctor's Rust-enabled kernel instead: {command}. Or: {options}"
        ).format(
            command=f"kdoctor fix --kernel {rk.spec_of(rk.STABLE_SERIES)}",
            options=remedy,
        )
        return self.finding(
            Status.FAIL,
            _(
                "{kernel} was built without Rust support ({signs}): kbuild "
                "cannot compile this module's .rs (it would stop on the missing {first})"
            ).format(kernel=ctx.target_kernel, signs="; ".join(signs), first=first),
            found=ctx.kdir,
            fix_text=remedy,
            needs=(
                ByHand(
                    self.id,
                    _(
                        "no package kdoctor can install gives {kernel} Rust support; it "
                        "takes a kernel built with CONFIG_RUST=y"
                    ).format(kernel=ctx.target_kernel),
                    remedy,
                ),
            ),
            ctx=ctx,
            **details,
        )

    def _missing(self, facts: Facts, rust: KernelRust, details: dict[str, Any]) -> Finding:
        ctx = facts.ctx
        package = facts.of(rust_artefacts_package)
        summary = _(
            "{kernel} has CONFIG_RUST=y, but {kdir} lacks {files}, which kbuild reads to compile "
            "a module's .rs"
        ).format(kernel=ctx.target_kernel, kdir=ctx.kdir, files=", ".join(rust.missing))
        if package:  # the distribution ships them beside the headers: the packages planner
            return self.finding(
                Status.FAIL,
                summary,
                found=ctx.kdir,
                needs=(Package("rust-artefacts", (package,)),),
                ctx=ctx,
                rust_artefacts_package=package,
                **details,
            )
        remedy = _(
            "Install the Rust artefacts of {kernel}'s build (Ubuntu: "
            "{package}), or point KDIR at the kernel tree it was built "
            "in, where the build left them."
        ).format(kernel=ctx.target_kernel, package=f"linux-lib-rust-{ctx.target_kernel}")
        return self.finding(
            Status.FAIL,
            _(
                "{kernel} has CONFIG_RUST=y, but {kdir} lacks "
                "{files}, which kbuild reads to compile a module's .rs"
            ).format(kernel=ctx.target_kernel, kdir=ctx.kdir, files=", ".join(rust.missing)),
            found=ctx.kdir,
            fix_text=remedy,
            needs=(
                ByHand(self.id, _("kdoctor knows no package that ships these artefacts"), remedy),
            ),
            ctx=ctx,
            **details,
        )
