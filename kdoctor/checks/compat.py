"""compat: combinations of rustc, bindgen, ld, the target kernel and the module's build files that
are known to fail or to lose a mitigation (the table in :mod:`kdoctor.knowledge.compat`), before a
build."""

from __future__ import annotations

import os
from typing import Any, Optional

from packaging.version import InvalidVersion, Version

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.bindgen import bindgen_version
from kdoctor.facts.kernel import target_config
from kdoctor.facts.rust import rust_toolchain
from kdoctor.facts.rustup import PROBE_ENV, RUSTC_TIMEOUT
from kdoctor.i18n import N_, _
from kdoctor.knowledge import versions
from kdoctor.knowledge.compat import RULES, Combination, logical_text, matching
from kdoctor.machine.system import System
from kdoctor.model.finding import Finding, Status

#: the module's build files the rules read
BUILD_FILES = ("Kbuild", "Makefile")


def gather(facts: Facts) -> Combination:
    """Versions, kernel options, rustc's unstable options and the module's build files."""
    ctx, system = facts.ctx, facts.system
    config = facts.of(target_config)
    chosen = facts.of(rust_toolchain)
    z_help: Optional[str] = None
    if chosen.rustc and chosen.version:
        probe = system.probe(
            [chosen.rustc, "-Z", "help"],
            timeout=RUSTC_TIMEOUT,
            env={**PROBE_ENV, **chosen.env, "RUSTC_BOOTSTRAP": "1"},
        )
        z_help = probe.stdout if probe.ok else None
    texts = [system.read_text(os.path.join(ctx.module_dir, name)) for name in BUILD_FILES]
    present = [text for text in texts if text is not None]
    gcc = _gcc(system) if config.get("CONFIG_CC_IS_GCC") == "y" else None
    return Combination(
        tools={
            **({"gcc": gcc} if gcc else {}),
            "rustc": Version(chosen.version) if chosen.version else None,
            "bindgen": facts.of(bindgen_version),
            "ld": None if config.get("CONFIG_LD_IS_LLD") == "y" else _gnu_ld(system),
        },
        config=config,
        rustc_z_help=z_help,
        module_text=logical_text(*present) if present else None,
    )


def _gcc(system: System) -> Optional[Version]:
    """The host gcc's version (what builds the module's C parts for a gcc-built kernel)."""
    if system.which("gcc") is None:
        return None
    probe = system.probe(["gcc", "-dumpfullversion", "-dumpversion"])
    try:
        return Version(probe.stdout.strip()) if probe.ok and probe.stdout.strip() else None
    except InvalidVersion:
        return None


def _gnu_ld(system: System) -> Optional[Version]:
    """GNU ld's version (what kbuild links with unless the kernel was linked by LLD)."""
    path = system.which("ld")
    if path is None:
        return None
    probe = system.probe([path, "--version"])
    if not probe.ok or "GNU ld" not in probe.output:
        return None
    return versions.ld_version(probe.output)


@register
class CompatCheck(Check):
    id = "compat"
    host_tool = True
    title = N_("no known-bad combination of rustc, bindgen, ld, kernel and module build files")

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        combo = gather(facts)
        known = {tool: str(v) for tool, v in combo.tools.items() if v is not None}
        found = ", ".join(f"{tool} {v}" for tool, v in known.items())
        details: dict[str, Any] = {
            "tools": {tool: str(v) if v else None for tool, v in combo.tools.items()},
            "kernel": ctx.target_kernel,
            "config": {
                option: combo.config[option]
                for rule in RULES
                for option in rule.config_any
                if option in combo.config
            },
            "module_files": combo.module_text is not None,
            "rules_checked": [rule.id for rule in RULES],
            "matched": [],
        }
        if not known and not combo.config:
            return self.finding(
                Status.SKIP,
                _(
                    "nothing to compare yet: no rustc, bindgen or ld, and no kernel configuration "
                    "in {kdir}"
                ).format(kdir=ctx.kdir),
                required=False,
                **details,
            )
        matched = matching(combo)
        if not matched:
            return self.ok(
                _("no known-bad combination ({found}; Linux {kernel})").format(
                    found=found or _("no tools yet"), kernel=ctx.target_kernel
                ),
                found=found or None,
                **details,
            )
        details["matched"] = [rule.to_json(combo) for rule in matched]
        worst = Status.FAIL if matched[0].status is Status.FAIL else Status.WARN
        summary = matched[0].describe(combo)
        if len(matched) > 1:
            summary = _("{problem} (+{n} more)").format(problem=summary, n=len(matched) - 1)
        return self.finding(
            worst,
            summary,
            found=found or None,
            fix_text=" ".join(rule.remedy for rule in matched),
            commands=tuple(c for rule in matched for c in rule.commands),
            **details,
        )
