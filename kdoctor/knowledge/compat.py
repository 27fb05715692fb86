"""Known-bad combinations of tools, target kernels and module build files.

Each :class:`Rule` is data: version bounds on the tools (``rustc``, ``bindgen``, ``ld``), kernel
options that must be set, what rustc's ``-Z help`` must lack, and patterns the module's
``Kbuild``/``Makefile`` must contain or lack. The ``compat`` check gathers a :class:`Combination`
from the machine and reports every rule that matches, before anything is built. The rules come
from running ``scripts/matrix.py`` on Debian 11, 12 and 13 (each names where it was seen).

Pure: nothing here runs or reads anything.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from packaging.version import Version

from kdoctor.i18n import N_, _
from kdoctor.knowledge.make_text import joined
from kdoctor.model.finding import Status

_OPS: dict[str, Callable[[Version, Version], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">=": operator.ge,
    ">": operator.gt,
}


@dataclass(frozen=True)
class Combination:
    """What the machine has; None (or empty) where it is not known yet."""

    #: tool -> version (``rustc``, ``bindgen``, ``ld``: GNU ld only)
    tools: Mapping[str, Optional[Version]] = field(default_factory=dict)
    #: the target kernel's options (``CONFIG_X`` -> value)
    config: Mapping[str, str] = field(default_factory=dict)
    #: what ``RUSTC_BOOTSTRAP=1 rustc -Z help`` printed (None: not asked)
    rustc_z_help: Optional[str] = None
    #: the module's build files (Kbuild and Makefile), continuation lines joined (see
    #: :func:`logical_text`); None when unreadable
    module_text: Optional[str] = None


@dataclass(frozen=True)
class Rule:
    id: str
    status: Status
    #: one line; ``{rustc}``, ``{bindgen}``, ``{ld}`` are filled in with the versions found
    #: (marked with ``N_()``, like the next two: :meth:`describe` translates it)
    summary: str
    #: what to do (in the active language: :attr:`remedy`)
    remedy_msgid: str
    #: where the combination was seen failing (in the active language: :attr:`seen`)
    seen_msgid: str
    #: (tool, operator, version): every bound must hold
    versions: tuple[tuple[str, str, str], ...] = ()
    #: at least one of these kernel options is ``y``
    config_any: tuple[str, ...] = ()
    #: rustc's ``-Z help`` does not list this option
    rustc_lacks: Optional[str] = None
    #: the module's build files match this regular expression
    module_has: Optional[str] = None
    #: ... and do not match this one
    module_lacks: Optional[str] = None
    commands: tuple[str, ...] = ()

    def matches(self, combo: Combination) -> bool:
        """True only when every condition is known to hold (an unknown fact never matches)."""
        for tool, op, bound in self.versions:
            found = combo.tools.get(tool)
            if found is None or not _OPS[op](found, Version(bound)):
                return False
        if self.config_any and not any(combo.config.get(o) == "y" for o in self.config_any):
            return False
        if self.rustc_lacks is not None and (
            combo.rustc_z_help is None or self.rustc_lacks in combo.rustc_z_help
        ):
            return False
        for pattern, wanted in ((self.module_has, True), (self.module_lacks, False)):
            if pattern is None:
                continue
            if combo.module_text is None:
                return False
            if bool(re.search(pattern, combo.module_text, re.MULTILINE)) != wanted:
                return False
        return True

    @property
    def bounds(self) -> dict[str, str]:
        """``{rustc_bound}``, ``{ld_bound}``...: the version each bound of :attr:`versions`
        names, for the sentences that state it."""
        return {f"{tool}_bound": bound for tool, _op, bound in self.versions}

    @property
    def remedy(self) -> str:
        return _(self.remedy_msgid).format_map(self.bounds)

    @property
    def seen(self) -> str:
        return _(self.seen_msgid)

    def describe(self, combo: Combination) -> str:
        found = {tool: str(v) if v else "?" for tool, v in combo.tools.items()}
        return _(self.summary).format_map(_Default({**found, **self.bounds}))

    def to_json(self, combo: Combination) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status.value,
            "summary": self.describe(combo),
            "remedy": self.remedy,
            "seen": self.seen,
        }


class _Default(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "?"


#: a logical line (continuations joined) linking with ``-r --gc-sections`` that names no root
#: on the command line (``-u SYM``, ``--undefined``, ``-e SYM``, ``--entry``)
_LD_NO_ROOT = (
    r"^(?=.*(?<![\w-])-r\b)(?=.*--gc-sections)"
    r"(?!.*(?<![\w-])(?:-u\s*\S|--undefined[= ]|-e\s*\S|--entry[= ])).*$"
)

RULES: tuple[Rule, ...] = (
    Rule(
        id="kernel-gcc-flags",
        status=Status.WARN,
        summary=N_(
            "the target kernel was configured by gcc-{gcc_bound} "
            "(CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT) and kbuild passes -fmin-function-alignment, "
            "which gcc {gcc} rejects"
        ),
        remedy_msgid=N_(
            "Build against the kernel kept in kdoctor's cache (`--kernel <series>`, `kdoctor "
            "test`): its tree leaves that option out for modules; or pass "
            "CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT= on make's command line, or use "
            "gcc-{gcc_bound}."
        ),
        seen_msgid=N_(
            "Debian 12 (gcc 12.2) building for trixie's 6.12.118+deb13 (the .mod.o step "
            "fails); bullseye's 5.10 (gcc-10) and bookworm's 6.1 build with gcc 12"
        ),
        versions=(("gcc", "<", "14"),),
        config_any=("CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT",),
    ),
    Rule(
        id="ld-gc-sections-root",
        status=Status.FAIL,
        summary=N_(
            "ld {ld} rejects `ld -r --gc-sections` without a root on its command line "
            '("gc-sections requires either an entry or an undefined symbol"), and the '
            "module's Kbuild names none"
        ),
        remedy_msgid=N_(
            "Name the entry points on the link command in the module's Kbuild: "
            "`-u init_module -u cleanup_module` after `--gc-sections` (binutils before "
            "{ld_bound} ignores a linker script's EXTERN there)."
        ),
        seen_msgid=N_("Debian 11: binutils 2.35.2 (2.40 on Debian 12 accepts it)"),
        versions=(("ld", "<", "2.36"),),
        module_has=_LD_NO_ROOT,
    ),
    Rule(
        id="bindgen-unsafe-extern",
        status=Status.FAIL,
        summary=N_(
            "bindgen {bindgen} writes `unsafe extern` blocks that rustc {rustc} rejects "
            "({rustc_bound} accepts them), and the module's build passes no --rust-target"
        ),
        remedy_msgid=N_(
            "Pass `--rust-target=1.N` (the rustc's minor version) to bindgen, as kdoctor's "
            "hello-world does, or build with rustc {rustc_bound} or newer."
        ),
        seen_msgid=N_(
            "bindgen 0.71.1 (Debian 13) with rustc 1.63 (Debian 12): "
            '"extern block cannot be declared unsafe"'
        ),
        versions=(("bindgen", ">=", "0.70"), ("rustc", "<", "1.82")),
        module_lacks=r"--rust-target",
    ),
    Rule(
        id="rethunk-rustc",
        status=Status.WARN,
        summary=N_(
            "rustc {rustc} has no -Zfunction-return: on this CONFIG_RETHUNK kernel the "
            "module's returns stay plain `ret`s (objtool: 'naked' return); it loads without "
            "the return-thunk (Retbleed) mitigation"
        ),
        remedy_msgid=N_(
            "Build with a rustc that lists -Zfunction-return (1.76 or newer; on Debian 12 the "
            "rustc-web packages, kdoctor's default there)."
        ),
        seen_msgid=N_(
            "rustc 1.48 with Linux 5.10 (Debian 11), rustc 1.63 with Linux 6.1 (Debian 12)"
        ),
        config_any=("CONFIG_RETHUNK", "CONFIG_MITIGATION_RETHUNK"),
        rustc_lacks="function-return",
    ),
    Rule(
        id="ibt-rustc",
        status=Status.WARN,
        summary=N_(
            "rustc {rustc} has no -Zcf-protection: on this CONFIG_X86_KERNEL_IBT kernel the "
            "module's functions lack ENDBR, and a CPU with indirect branch tracking faults "
            "when the kernel calls init_module (a VM without IBT does not show it)"
        ),
        remedy_msgid=N_("Build with a rustc that lists -Zcf-protection (1.63 and newer do)."),
        seen_msgid=N_(
            "Linux 6.12 (Debian 13) sets CONFIG_X86_KERNEL_IBT; rustc 1.48 lacks the option"
        ),
        config_any=("CONFIG_X86_KERNEL_IBT",),
        rustc_lacks="cf-protection",
    ),
    Rule(
        id="mitigation-rename",
        status=Status.WARN,
        summary=N_(
            "the module's build tests CONFIG_RETPOLINE/CONFIG_RETHUNK, which Linux 6.9 renamed "
            "CONFIG_MITIGATION_*: on this kernel those gates are off, so the module gets no "
            "retpolines or return thunks (objtool: 'indirect call found in "
            "MITIGATION_RETPOLINE build')"
        ),
        remedy_msgid=N_(
            "Test both names in the module's Makefile, e.g. "
            "`ifneq ($(CONFIG_RETHUNK)$(CONFIG_MITIGATION_RETHUNK),)`."
        ),
        seen_msgid=N_("hello-world's first Makefile with Linux 6.12 (Debian 13)"),
        config_any=("CONFIG_MITIGATION_RETPOLINE", "CONFIG_MITIGATION_RETHUNK"),
        module_has=r"CONFIG_(?:RETPOLINE|RETHUNK)\b",
        module_lacks=r"CONFIG_MITIGATION_(?:RETPOLINE|RETHUNK)\b",
    ),
)


def logical_text(*texts: str) -> str:
    """Build files as make reads them: each backslash-continued line joined into one."""
    return joined(*texts)


def matching(combo: Combination, rules: tuple[Rule, ...] = RULES) -> list[Rule]:
    """The rules ``combo`` matches, failures first, in table order."""
    found = [rule for rule in rules if rule.matches(combo)]
    return sorted(found, key=lambda rule: rule.status is not Status.FAIL)
