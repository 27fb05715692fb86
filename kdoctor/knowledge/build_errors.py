"""Known module-build failures, recognised in the build log and explained."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Callable, Optional

from kdoctor.i18n import _
from kdoctor.knowledge.build_causes import (
    GENERIC_PATTERNS,
    NOT_FOUND,
    RUST_PATTERNS,
    Explanation,
    Maker,
    not_found,
)
from kdoctor.knowledge.make_causes import MAKE_PATTERNS


def _cmd_file(match: re.Match[str], _log: str) -> Explanation:
    name = match.group(1)
    obj = re.sub(r"^\.|\.cmd$", "", name.rsplit("/", 1)[-1])
    return Explanation(
        "kbuild-cmd",
        _(
            "kbuild expected {file}, the record it keeps of how {object} was built, and the "
            "module's rule for {object} does not go through kbuild's cmd/if_changed helpers, so "
            "nothing wrote it."
        ).format(file=name, object=obj),
        _(
            "Rewrite the rule with $(call if_changed,...) (kdoctor fix --module-dir DIR does it, "
            "keeping a backup), or create the file once: {command}"
        ).format(command=f"touch {name}"),
        match.group(0),
    )


def _undefined(match: re.Match[str], _log: str) -> Explanation:
    return Explanation(
        "modpost-undefined",
        _(
            "modpost found that the module uses {symbol}, which the target kernel does not "
            "export (or exports only to GPL modules)."
        ).format(symbol=match.group(1)),
        _(
            "Check the module's license (GPL-compatible) and that the symbol exists in the "
            "target kernel's Module.symvers; rebuild the bindings for the same kernel you load "
            "into."
        ),
        match.group(0),
    )


def _license(match: re.Match[str], _log: str) -> Explanation:
    return Explanation(
        "modpost-license",
        _("The module declares no MODULE_LICENSE, so modpost refuses it (and GPL-only symbols)."),
        _('Declare a license in the module\'s registration (license: "GPL") and rebuild.'),
        match.group(0),
    )


def _clang_flag(match: re.Match[str], log: str) -> Explanation:
    flag = match.group(1)
    before = log[: match.start()].splitlines()[-3:]
    if any(re.match(r"\s+CC \[M\]\s", line) for line in before):
        return Explanation(
            "compiler-family",
            _(
                "clang rejected {flag} while compiling the module's C code: the module's build "
                "compiles with clang (CC=clang), but the target kernel was built with gcc, whose "
                "flags kbuild hands to the compiler."
            ).format(flag=flag),
            _(
                "Build with the compiler the kernel was built with: drop CC=clang/LLVM=1 (and "
                "CONFIG_CC_IS_CLANG=y) from the module's Makefile or command line; kdoctor check "
                "--module-dir DIR names the kernel's compiler."
            ),
            match.group(0),
        )
    return Explanation(
        "clang-gcc-flag",
        _(
            "clang rejected {flag}, a flag the kernel's headers carry because the target "
            "kernel was built with gcc; bindgen passes kbuild's CFLAGS to libclang."
        ).format(flag=flag),
        _(
            "Update hello-world's bindgen flag filter (or the module's) to drop that flag; rerun "
            "kdoctor check clang libclang to confirm the versions."
        ),
        match.group(0),
    )


def _libclang(match: re.Match[str], _log: str) -> Explanation:
    return Explanation(
        "libclang",
        _("bindgen could not load libclang."),
        _(
            "Install the libclang development package (kdoctor fix does) or point LIBCLANG_PATH "
            "at the directory holding libclang.so; kdoctor check libclang bindgen shows which it "
            "finds."
        ),
        match.group(0),
    )


def _rustc_target(match: re.Match[str], _log: str) -> Explanation:
    return Explanation(
        "rust-target",
        _("rustc does not know the kernel target or cannot find core for it."),
        _(
            "Run kdoctor check toolchain rust-src; the kernel-target libraries are rebuilt from "
            "the toolchain's rust-src when the toolchain changes."
        ),
        match.group(0),
    )


#: explainers of a named cause, in priority order (the first that matches is the main one)
_PATTERNS: tuple[tuple[re.Pattern[str], Maker], ...] = (
    (re.compile(r"(\S*\.cmd): No such file or directory"), _cmd_file),
    (re.compile(r'ERROR: modpost: "([^"]+)" \[[^\]]+\] undefined!'), _undefined),
    (re.compile(r"missing MODULE_LICENSE\(\)[^\n]*"), _license),
    (
        re.compile(r"(?:clang|libclang)?.*?(?:error: )?unknown argument: '([^']+)'"),
        _clang_flag,
    ),
    (re.compile(r"error: unsupported option '([^']+)'"), _clang_flag),
    (
        re.compile(
            r"(?:Unable to find libclang|couldn't load libclang|libclang\S*: cannot open)[^\n]*"
        ),
        _libclang,
    ),
    *RUST_PATTERNS,
    (re.compile(r"error\[E0463\]: can't find crate for `core`[^\n]*"), _rustc_target),
    (re.compile(r"error: Error loading target specification[^\n]*"), _rustc_target),
    *MAKE_PATTERNS,
    *GENERIC_PATTERNS,
)


def explain(log: str, where: Optional[Callable[[], Mapping[str, str]]] = None) -> list[Explanation]:
    """Every known failure the log shows, each once, in the order of the patterns: a program
    the build could not find first (``where``, asked only then, names the setting that named
    it), named causes next, then the generic ones (a rustc error code, a cargo or make error),
    which quote the line that failed."""
    found: list[Explanation] = []
    seen: set[str] = set()
    missing = NOT_FOUND.search(log)
    if missing:
        found.append(not_found(missing, where() if where else {}))
        seen.add(found[0].id)
    for pattern, make in _PATTERNS:
        match = pattern.search(log)
        if match:
            explanation = make(match, log)
            if explanation.id not in seen:
                seen.add(explanation.id)
                found.append(explanation)
    return found
