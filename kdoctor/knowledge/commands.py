"""The commands that satisfy needs: one source for what a finding tells a person to run and
what a plan's step runs, so the two cannot disagree. Shown commands are ``shlex.join``-quoted."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from typing import Optional

from kdoctor.i18n import _
from kdoctor.knowledge.cargo import source_replacement
from kdoctor.knowledge.packages import INSTALL
from kdoctor.model.need import (
    CargoSource,
    Need,
    Package,
    RustComponent,
    RustEnabledKernel,
    RustOverride,
    RustToolchain,
    Rustup,
    Setting,
)

#: the official rustup installer as a person would paste it (kdoctor runs it only with consent)
RUSTUP_INSTALLER = "curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"
#: where snapd puts rustup
SNAP_RUSTUP = ("snap", "install", "rustup", "--classic")


#: the options each kdoctor command takes of those that choose the module and the target
CHOOSING_OPTIONS = {
    "check": ("--module-dir", "--kernel"),
    "fix": ("--module-dir", "--kernel"),
    "build": ("--module-dir", "--kernel"),
    "build-sysroot": ("--module-dir", "--kernel"),
    "verify": ("--module-dir", "--kernel"),
    "test": ("--module-dir",),
}
_KDOCTOR = re.compile(
    r"(?<![\w/.-])kdoctor (" + "|".join(sorted(CHOOSING_OPTIONS, key=len, reverse=True)) + r")"
    "(?![\\w'\u2019-])"
)
#: what follows a kdoctor command to run (rather than one a sentence speaks of, as in
#: "kdoctor fix cannot repair this"): nothing, an option, a comment, punctuation
_RUN = re.compile(r"$|\s+[-#]|\s*[.;:,)`'\"\n]|\s*$")
#: ... or, after ``kdoctor check``, the ids of checks
_IDS = re.compile(r"\s+[a-z][a-z-]*(?:\s|$|[;.,)`])")
#: one word of a command written in a sentence (``$(uname -r)`` is one)
_WORD = re.compile(r"[ \t]+((?:'[^'\n]*'|\"[^\"\n]*\"|\$\([^)\n]*\)|,(?=\S)|[^\s;|&)`,'\"])+)")
#: kdoctor's options that take a value (the word after them is not an argument)
_VALUED = frozenset(
    (
        *("--kernel", "--module-dir", "--rust", "--ko", "--expect", "--kbuild-fix", "--accel"),
        *("--timeout", "--kernels", "--expect-plan", "--lang"),
    )
)


def _options_end(text: str, start: int) -> int:
    """Where the options written after a kdoctor command at ``start`` end (a check's ids, a
    sentence's next word or its punctuation come after)."""
    position, value = start, False
    while True:
        word = _WORD.match(text, position)
        if word is None:
            return position
        bare = word.group(1).rstrip(".:")
        if not (value or bare.startswith("-")):
            return position
        value = not value and bare in _VALUED
        position = word.start(1) + len(bare)
        if bare != word.group(1):
            return position


def carried(text: str, options: Sequence[str]) -> str:
    """``text`` (a command, or a sentence naming commands) with each ``kdoctor`` command in it
    keeping ``options``, the person's ``--module-dir DIR`` and ``--kernel RELEASE``, after
    the options it has: rerun without them, the command would look at another module or
    kernel. An option the command names already is left as it is (a ``--kernel`` the advice
    chose, ``KDIR=... kdoctor check``); ``--module-dir DIR`` written as a placeholder gets the
    directory. A sentence about a command ("kdoctor fix cannot repair this") is no command."""
    pairs = list(zip(options[::2], options[1::2]))
    if not pairs:
        return text
    for option, value in pairs:
        if option == "--module-dir":
            text = text.replace("--module-dir DIR", shlex.join([option, value]))
    pieces: list[str] = []
    done = 0
    for match in _KDOCTOR.finditer(text):
        rest = text[match.end() :]
        quoted = text[: match.start()].endswith("`")
        said = not (_RUN.match(rest) or (match.group(1) == "check" and _IDS.match(rest)))
        if said and not quoted:
            continue  # a sentence about the command, not one to run
        end = _options_end(text, match.end())
        own = text[match.end() : end]
        before = text[: match.start()].rstrip()
        added: list[str] = []
        for option, value in pairs:
            named = re.search(r"(?:^|\s)" + re.escape(option) + r"(?:[=\s]|$)", own)
            if option not in CHOOSING_OPTIONS[match.group(1)] or named:
                continue
            if option == "--kernel" and re.search(r"(?:^|\s)KDIR=\S*$", before):
                continue
            added += [option, value]
        if added:
            pieces += [text[done:end], " " + shlex.join(added)]
            done = end
    return "".join(pieces) + text[done:]


def shown(argv: Sequence[str], *, root: bool = False, is_root: bool = True) -> str:
    """``argv`` quoted for a shell, behind ``sudo`` when it needs root and kdoctor is not."""
    return shlex.join([*(["sudo"] if root and not is_root else []), *argv])


def package_names(packages: Iterable[Package]) -> list[str]:
    """The concrete names to install, each once, in order (a need with no candidate: none)."""
    return list(dict.fromkeys(p.name for p in packages if p.name))


def install_argv(
    manager: Optional[str], names: Sequence[str], options: Sequence[str] = ()
) -> Optional[list[str]]:
    """The package manager's non-interactive install of ``names`` (``options`` before them);
    None for an unknown package manager or no names."""
    if manager not in INSTALL or not names:
        return None
    return [*INSTALL[manager], *options, *names]


def install_shown(manager: Optional[str], packages: Sequence[Package], is_root: bool) -> str:
    argv = install_argv(manager, package_names(packages))
    if argv is None:
        words = " ".join(dict.fromkeys(p.words() for p in packages))
        return _("install {packages} with your distribution's package manager").format(
            packages=words
        )
    return shown(argv, root=True, is_root=is_root)


def toolchain_argv(need: RustToolchain, rustup: str = "rustup") -> list[str]:
    argv = [rustup, "toolchain", "install", need.channel, "--profile", need.profile]
    for component in need.components:
        argv += ["--component", component]
    return argv


def component_argv(needs: Sequence[RustComponent], rustup: str = "rustup") -> list[str]:
    """One ``rustup component add`` for components of the same toolchain."""
    components = [n.component for n in needs]
    return [rustup, "component", "add", *components, "--toolchain", needs[0].toolchain]


def override_argv(need: RustOverride, rustup: str = "rustup") -> list[str]:
    """Unset a directory override (an override from RUSTUP_TOOLCHAIN has no path)."""
    return [rustup, "override", "unset", "--path", need.path or "."]


def export_shown(settings: Sequence[Setting]) -> str:
    """``export CC=clang-15 CLANG=clang-15`` (``unset`` for settings that are removed)."""
    kept = [s for s in settings if s.value is not None]
    dropped = [s.key for s in settings if s.value is None]
    parts = []
    if kept:
        parts.append(shlex.join(["export", *(f"{s.key}={s.value}" for s in kept)]))
    if dropped:
        parts.append(shlex.join(["unset", *dropped]))
    return "; ".join(parts)


def need_commands(needs: Sequence[Need], *, manager: Optional[str], is_root: bool) -> list[str]:
    """What a person runs to satisfy ``needs`` by hand (packages together in one command)."""
    commands: list[str] = []
    packages = [n for n in needs if isinstance(n, Package)]
    components = [n for n in needs if isinstance(n, RustComponent)]
    settings = [n for n in needs if isinstance(n, Setting)]
    for need in needs:
        if isinstance(need, Rustup):
            commands.append(_rustup_shown(need, manager, is_root))
        elif isinstance(need, RustToolchain):
            commands.append(shown(toolchain_argv(need)))
            if need.alternative:
                commands.append(install_shown(manager, need.alternative, is_root))
        elif isinstance(need, CargoSource):
            commands.append(cargo_source_shown(need))
        elif isinstance(need, RustEnabledKernel):
            commands.append(shown(["kdoctor", "build-kernel", need.spec]))
        elif isinstance(need, RustOverride):
            unset = ["unset", "RUSTUP_TOOLCHAIN"]
            commands.append(shown(override_argv(need) if need.path else unset))
    if packages:
        commands.insert(0, install_shown(manager, packages, is_root))
    if components:
        commands.append(shown(component_argv(components)))
    if settings:
        commands.append(export_shown(settings))
    return commands


def cargo_source_argvs(need: CargoSource) -> list[list[str]]:
    """Gather the crates of ``need.directories`` as links in one directory (the first
    directory's crate wins a name both have)."""
    argvs = [["rm", "-rf", need.crates], ["mkdir", "-p", need.crates]]
    argvs += [["cp", "-rsn", f"{d.rstrip('/')}/.", need.crates] for d in need.directories]
    return argvs


def cargo_source_shown(need: CargoSource) -> str:
    """Gather the crates and write the source replacement into kdoctor's cargo home
    (``CARGO_HOME`` is a setting need of its own)."""
    config = shlex.quote(source_replacement(need.crates))
    return " && ".join(
        [shown(argv) for argv in cargo_source_argvs(need)]
        + [f"printf %s {config} > {shlex.quote(need.config)}"]
    )


def _rustup_shown(need: Rustup, manager: Optional[str], is_root: bool) -> str:
    if need.package is not None:
        return install_shown(manager, [need.package], is_root)
    if need.snap:
        return shown(SNAP_RUSTUP, root=True, is_root=is_root)
    return RUSTUP_INSTALLER
