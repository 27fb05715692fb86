"""compiler-family: the module's build files do not force another compiler family on kbuild than
the one the target kernel was built with (``CC=clang``/``LLVM=1``/``CONFIG_CC_IS_CLANG=y`` on a
gcc-built kernel, ``CC = gcc`` on a clang-built one); see
:mod:`kdoctor.knowledge.compiler_family`."""

from __future__ import annotations

import os
from typing import Any

from kdoctor.checks.base import Check, register
from kdoctor.checks.build_tools import KernelCompiler, gcc_command, kernel_compiler
from kdoctor.checks.variables import ENVIRONMENT, correction, origin
from kdoctor.facts import Facts
from kdoctor.facts.kernel import target_config
from kdoctor.facts.module import module_info
from kdoctor.facts.module_kernel import compiler_overrides
from kdoctor.i18n import N_, _
from kdoctor.knowledge.compiler_family import Override, passed_override, rejected_flags
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand, Need


@register
class CompilerFamilyCheck(Check):
    id = "compiler-family"
    title = N_("the module's build files leave kbuild the kernel's compiler family")

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        config = facts.of(target_config)
        kernel = kernel_compiler(config)
        overrides = [*facts.of(compiler_overrides), *_passed(facts)]
        linker = "lld" if config.get("CONFIG_LD_IS_LLD") == "y" else "bfd"
        details: dict[str, Any] = {
            "kernel_family": kernel.family if kernel else None,
            "kernel_cc_text": kernel.text if kernel else None,
            "kernel_linker": linker if kernel else None,
            "overrides": [o.to_json() for o in overrides],
        }
        if kernel is None:
            return self.finding(
                Status.SKIP,
                _("no .config in {kdir} to tell the kernel's compiler (see kernel-headers)").format(
                    kdir=ctx.kdir
                ),
                **details,
            )
        compiler = [o for o in overrides if o.family and o.family != kernel.family]
        linkers = [o for o in overrides if o.linker and o.linker != linker]
        details["mismatched"] = [o.to_json() for o in compiler or linkers]
        shown_kernel = kernel.text or kernel.family
        if compiler:
            return self._mismatch(facts, kernel, compiler, config, details)
        if linkers:
            first = linkers[0]
            return self.finding(
                Status.WARN,
                _(
                    "{location} forces `{text}` ({how}), but {kernel} was linked with {linker}"
                ).format(
                    location=first.location,
                    text=first.text,
                    how=first.how,
                    kernel=ctx.target_kernel,
                    linker="ld.lld" if linker == "lld" else "GNU ld",
                ),
                found=first.location,
                fix_text=_(
                    "Remove `{text}` from {location} unless you know the "
                    "kernel's build accepts that linker."
                ).format(text=first.text, location=first.location),
                required=False,
                **details,
            )
        if overrides:
            texts = ", ".join(f"`{o.text}` ({o.location})" for o in overrides)
            return self.ok(
                _("{overrides} agree with the kernel's compiler ({kernel})").format(
                    overrides=texts, kernel=shown_kernel
                ),
                **details,
            )
        return self.ok(
            _(
                "the module's build files force no compiler; kbuild uses the kernel's ({kernel})"
            ).format(kernel=shown_kernel),
            **details,
        )

    def _mismatch(
        self,
        facts: Facts,
        kernel: KernelCompiler,
        compiler: list[Override],
        config: dict[str, str],
        details: dict[str, Any],
    ) -> Finding:
        ctx = facts.ctx
        first = compiler[0]
        same_place = [o for o in compiler if o.location == first.location]
        texts = " ".join(o.text for o in same_place)
        forced = first.family
        names = [f"{name}.mod.o" for name in facts.of(module_info).ko_names]
        at = names[0] if names else _("the first C object")
        flags = rejected_flags(config, kernel.family)
        if flags and forced == "clang":
            consequence = _(
                "kbuild then compiles {object} and any C source with clang and the gcc-only flags "
                "of this kernel's build: clang stops with {error}"
            ).format(object=at, error=f"\"clang: error: unknown argument: '{flags[0]}'\"")
        else:
            consequence = _(
                "kbuild then compiles {object} and any C source with {forced} and the flags of "
                "this kernel's {family} build, which {forced} rejects"
            ).format(object=at, forced=forced, family=kernel.family)
        cc = gcc_command(kernel) if kernel.family == "gcc" else "clang"
        details["consequence"] = consequence
        details["rejected_flags"] = flags
        if not first.line:  # variables of the environment or of kdoctor's settings file
            remedies: list[str] = []
            needs: tuple[Need, ...] = ()
            for passed in (o for o in compiler if not o.line):
                mine = origin(facts, passed.variable) == ENVIRONMENT
                own = correction(
                    facts,
                    self.id,
                    passed.variable,
                    cc if passed.variable == "CC" and mine else None,
                    then=_("kbuild then uses the kernel's compiler"),
                )
                remedies.append(own.text)
                needs += own.needs
            remedy = " ".join(remedies)
        else:
            remedy = _(
                "Remove `{text}` from {location} (kbuild takes the compiler from the "
                "kernel's build), or set CC to the kernel's compiler ({setting})."
            ).format(text=texts, location=first.location, setting=f"CC={cc}")
            needs = (
                ByHand(
                    self.id,
                    _("{path} is the module's own file and kdoctor does not edit it").format(
                        path=os.path.join(ctx.module_dir, first.file)
                    ),
                    remedy,
                ),
            )
        return self.finding(
            Status.FAIL,
            _(
                "{location} forces `{text}` ({how}) on {kernel}, built by {compiler}; {consequence}"
            ).format(
                location=first.location,
                text=texts,
                how=first.how,
                kernel=ctx.target_kernel,
                compiler=kernel.text or kernel.family,
                consequence=consequence,
            ),
            found=first.location,
            fix_text=remedy,
            needs=needs,
            ctx=ctx,
            **details,
        )


def _passed(facts: Facts) -> list[Override]:
    """``CC`` and ``LLVM`` as ``kdoctor build`` passes them to make (from the environment or
    kdoctor's settings file): they reach kbuild whatever the module's files say."""
    found: list[Override] = []
    for variable in ("CC", "LLVM"):
        value = facts.ctx.env.get(variable)
        if not value:
            continue
        where = (
            _("the environment")
            if origin(facts, variable) == ENVIRONMENT
            else _("kdoctor's settings file {path}").format(path=facts.ctx.settings_file)
        )
        override = passed_override(variable, value, where)
        if override is not None:
            found.append(override)
    return found
