"""Build failures of cargo-driven and Rust-for-Linux modules, the generic causes (a rustc error
code, cargo's or make's error line), and how to find the first cause line of a build log
(never a backtrace frame). :mod:`kdoctor.knowledge.build_errors` holds the whole table."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Callable, Optional

from kdoctor.i18n import _


@dataclass(frozen=True)
class Explanation:
    id: str
    cause: str
    remedy: str
    #: the log line (or lines) that show the cause, quoted as they are
    evidence: str


Maker = Callable[["re.Match[str]", str], Explanation]


def _rustup_no_toolchain(match: re.Match[str], _log: str) -> Explanation:
    tool = match.group(1)
    return Explanation(
        "rustup-no-toolchain",
        _(
            "`{tool}` is rustup's proxy, and rustup has no toolchain for the module's directory "
            "(no default, no override, no rust-toolchain file), so it runs nothing."
        ).format(tool=tool),
        _(
            "Run kdoctor check --module-dir DIR: it names a {tool} the module's toolchain can "
            "run. Or give rustup a toolchain: `rustup default <toolchain>`, `rustup override set "
            "<toolchain>` in the module directory, or the module's own rust-toolchain file."
        ).format(tool=tool),
        match.group(0),
    )


def _no_subcommand(match: re.Match[str], _log: str) -> Explanation:
    command = match.group(1)
    return Explanation(
        "cargo-subcommand",
        _(
            "cargo has no `{command}` subcommand: the module's build runs `cargo {command}`, "
            "which comes from the separate cargo-{command} crate (the 2019 generation built core "
            "for a custom target with it)."
        ).format(command=command),
        _(
            "Install cargo-{command} for the module's toolchain (it needs crates.io), or build "
            "with `cargo build -Z build-std=core,alloc --target <target>` on a nightly toolchain, "
            "which replaced it."
        ).format(command=command),
        match.group(0),
    )


def _unknown_target(match: re.Match[str], _log: str) -> Explanation:
    target = match.group(1)
    return Explanation(
        "rust-target-unknown",
        _(
            "this rustc has no built-in target {target}: the module names a target that later "
            "rustc releases removed (or never had)."
        ).format(target=target),
        _(
            "Build with a toolchain from the module's era that still has the target (the "
            "module's rust-toolchain file), or give the module a target JSON file; `rustc "
            "--print target-list` lists the built-in targets. kdoctor check --module-dir DIR "
            "checks it."
        ),
        match.group(0),
    )


def _custom_target_unstable(match: re.Match[str], _log: str) -> Explanation:
    return Explanation(
        "rust-target-json-unstable",
        _(
            "the module's target is a JSON file, and this rustc accepts custom targets only with "
            "`-Zunstable-options`, which a stable toolchain refuses."
        ),
        _(
            "Build with a nightly toolchain (or RUSTC_BOOTSTRAP=1) and pass -Zunstable-options, "
            "or pin the module's toolchain in its rust-toolchain file."
        ),
        match.group(0),
    )


def _target_field(match: re.Match[str], _log: str) -> Explanation:
    field = match.group(1)
    return Explanation(
        "rust-target-json-field",
        _(
            "the module's target JSON has the field `{field}`, which this rustc no longer knows: "
            "the file was written for an older rustc."
        ).format(field=field),
        _(
            "Update the target JSON for this rustc (remove or rename `{field}`; "
            "`eliminate-frame-pointer` became `frame-pointer`), or build with the toolchain the "
            "module pins."
        ).format(field=field),
        match.group(0),
    )


def _rust_for_linux(match: re.Match[str], _log: str) -> Explanation:
    return Explanation(
        "rust-for-linux",
        _(
            "kbuild compiles the module's .rs source itself, which needs {file} and the rest of "
            "the kernel's rust/ artefacts: the target kernel was built without CONFIG_RUST, so "
            "its build tree has none (Debian's stock kernels ship none)."
        ).format(file=match.group(1)),
        _(
            "Build against a kernel built with CONFIG_RUST=y (whose build tree has rust/), a "
            "distribution that ships the Rust artefacts for its kernels, or rewrite the module in "
            "the kbuild-rustc style of kdoctor's bundled hello-world."
        ),
        match.group(0),
    )


def _rustc_error(match: re.Match[str], _log: str) -> Explanation:
    location = re.search(r"\n\s*--> (\S+)", match.string[match.end() : match.end() + 400])
    code, message = match.group(1), match.group(2)
    cause = (
        _("rustc stopped on error {code} at {location}: {message}")
        if location
        else _("rustc stopped on error {code}: {message}")
    )
    return Explanation(
        f"rustc-{code}",
        cause.format(code=code, location=location.group(1) if location else "", message=message),
        _(
            "Read the error in the log (`rustc --explain {code}` describes it); when the module "
            "built elsewhere, its toolchain pin or its crates may not match this machine "
            "(kdoctor check --module-dir DIR)."
        ).format(code=code),
        match.group(0),
    )


def _cargo_failed(match: re.Match[str], log: str) -> Explanation:
    causes = re.findall(r"Caused by:\n\s+(\S[^\n]*)", log[match.end() :])
    # Translators: {what} is cargo's own words after "failed to"
    cause = _("cargo failed to {what} (cause: {cause})") if causes else _("cargo failed to {what}")
    return Explanation(
        "cargo",
        cause.format(what=match.group(1), cause=causes[-1] if causes else ""),
        _(
            "Read cargo's `Caused by:` lines in the log; kdoctor check --module-dir DIR checks "
            "the module's cargo, target and crates."
        ),
        match.group(0),
    )


def _no_rule(match: re.Match[str], _log: str) -> Explanation:
    cause = (
        _(
            "make has no way to build {target}, which {needed_by} needs: no source file for it "
            "and no rule in the module's Kbuild or Makefile makes it."
        )
        if match.group(2)
        else _(
            "make has no way to build {target}: no source file for it and no rule in the "
            "module's Kbuild or Makefile makes it."
        )
    )
    return Explanation(
        "make-no-rule",
        cause.format(target=match.group(1), needed_by=match.group(2) or ""),
        _(
            "Check the object names in the module's Kbuild (obj-m, <module>-objs/-y) against "
            "its source files, and that the rule (or the cargo build) meant to produce it runs."
        ),
        match.group(0),
    )


def _module_key(match: re.Match[str], _log: str) -> Explanation:
    key, valid = match.group(1), match.group(2)
    return Explanation(
        "module-key",
        _(
            "The module's module! uses the key {key}, which the target kernel's module! macro "
            "does not know (it knows {valid})."
        ).format(key=key, valid=valid),
        _(
            'Use a key the target kernel knows (6.12 takes author: "..."; 6.13 and newer '
            "authors: [...]), or build for a kernel that knows it (kdoctor fix --kernel rust)."
        ),
        match.group(0),
    )


#: a shell or make that could not find the program a recipe runs (dash, bash, make's own exec)
NOT_FOUND = re.compile(
    r"^(?:/(?:usr/)?bin/)?(?:ba|da)?sh: (?:line )?\d+: (?P<sh>[^\s:]+): (?:command )?not found"
    r"[ \t]*$"
    r"|^(?:/(?:usr/)?bin/)?(?:ba|da)?sh: (?P<shell>[^\s:]+): (?:command )?not found[ \t]*$"
    r"|^make(?:\[\d+\])?: (?P<make>[^\s:*]+(?<!\.cmd)): "
    r"(?:No such file or directory|Command not found)[ \t]*$"
    r"|^(?P<bare>[^\s:]+): command not found[ \t]*$",
    re.MULTILINE,
)


def not_found(match: re.Match[str], where: Mapping[str, str]) -> Explanation:
    """The build ran a program that is not installed; ``where`` tells, by program, which
    setting named it (the module's Makefile or Kbuild, the environment, kdoctor's settings)."""
    tool = next(group for group in match.groups() if group)
    setting = where.get(tool) or where.get(tool.rsplit("/", 1)[-1])
    if setting:
        cause = _("the build runs {tool}, which is not installed: {setting} names it").format(
            tool=tool, setting=setting
        )
        remedy = _(
            "Install {tool}, or correct or remove {setting}; kdoctor check --module-dir DIR "
            "checks the tools a module's build files and the environment set."
        ).format(tool=tool, setting=setting)
    else:
        cause = _("the build runs {tool}, which is not installed (or not on PATH).").format(
            tool=tool
        )
        remedy = _(
            "Install {tool} or put it on PATH; if a variable names it (RUSTC, BINDGEN, CC, LD, "
            "HOSTCC or LLVM, in the module's Makefile or Kbuild or in the environment), correct "
            "it or remove it."
        ).format(tool=tool)
    return Explanation("command-not-found", cause, remedy, match.group(0).strip())


RUST_PATTERNS: tuple[tuple[re.Pattern[str], Maker], ...] = (
    (re.compile(r'[Uu]nknown key "(\w+)"\. Valid keys are: \[([^\]\n]*)\]'), _module_key),
    (re.compile(r"rustup could not choose a version of (\S+) to run[^\n]*"), _rustup_no_toolchain),
    (re.compile(r"error: no such (?:sub)?command: `([^`]+)`"), _no_subcommand),
    (
        re.compile(r'could not find specification for target "([^"]+)"[^\n]*', re.IGNORECASE),
        _unknown_target,
    ),
    (
        re.compile(r"error: [^\n]*custom targets are unstable and require `-Zunstable-options`"),
        _custom_target_unstable,
    ),
    (
        re.compile(r"error loading target specification: [^\n]*?unknown field `([^`]+)`"),
        _target_field,
    ),
    (re.compile(r'target file "([^"]*rust/target\.json)" does not exist'), _rust_for_linux),
)

GENERIC_PATTERNS: tuple[tuple[re.Pattern[str], Maker], ...] = (
    (re.compile(r"No rule to make target '([^']+)'(?:, needed by '([^']+)')?"), _no_rule),
    (re.compile(r"error\[(E\d{4})\]: ([^\n]+)"), _rustc_error),
    (re.compile(r"error: failed to ([^\n]+)"), _cargo_failed),
)

# -- the first cause line ---------------------------------------------------------------------
#: a line that states why a build failed, in the order tools print them
_CAUSE = re.compile(
    r"error\[E\d+\]:|^\s*error:|^\S*: error:|No rule to make target|No such file or directory"
    r"|^ERROR: |undefined!|panicked at|fatal error:|^\s*\S*clang\S*: error:"
    r"|: not found\s*$|: [Cc]ommand not found\s*$"
)
#: what follows the cause and never explains it
_NOT_A_CAUSE = re.compile(
    r"error: aborting due to|error: could not compile|make(?:\[\d+\])?: \*\*\* \[|"
    r"^\s*\d+: |^\s+at \S+:\d+|Stack backtrace:|^note: run with `RUST_BACKTRACE"
)
#: a frame of a Rust backtrace (rustup's and cargo's errors print one with RUST_BACKTRACE)
_FRAME = re.compile(r"^\s*(?:\d+: \S|at \S+:\d+(?::\d+)?$|Stack backtrace:$|<unknown>$)")


def first_cause(log: str) -> Optional[str]:
    """The first line of ``log`` that states why the build failed, stripped; None when none."""
    for line in log.splitlines():
        if _CAUSE.search(line) and not _NOT_A_CAUSE.search(line):
            return line.strip()
    return None


def without_backtrace(lines: list[str]) -> list[str]:
    """``lines`` without the frames of a Rust backtrace."""
    return [line for line in lines if not _FRAME.match(line)]
