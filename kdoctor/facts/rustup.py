"""What rustup says: where it is, which toolchains it has, which one it picks in the module
directory, and what overrides the pin.

rustup is always asked with ``RUSTUP_AUTO_INSTALL=0`` so that looking never downloads a
toolchain; every probe goes through :meth:`System.probe` (cached per invocation).

Looking never writes either: any rustup command creates its home (``RUSTUP_HOME``, else
``~/.rustup``) with a ``settings.toml`` when there is none, so without one rustup is not run at
all: its answers are known (no toolchain is installed, there is no override, nothing is active),
except its version, asked with ``RUSTUP_HOME`` at a place that cannot be created
(:data:`NO_HOME`): rustup prints its version, then fails to make its home; the version counts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Optional

from kdoctor.facts.toolchain_pin import rustup_home
from kdoctor.i18n import _
from kdoctor.knowledge import versions
from kdoctor.knowledge.commands import shown, toolchain_argv
from kdoctor.machine.system import Probe, System
from kdoctor.model.context import Context
from kdoctor.model.need import Package
from kdoctor.model.need import RustToolchain as RustToolchainNeed

#: seconds each rustup command may take (rustup may be slow on a cold cache or a busy disk)
RUSTUP_TIMEOUT = 15.0
#: seconds each rustc / rustfmt command may take
RUSTC_TIMEOUT = 10.0
#: the oldest distribution rustc kdoctor supports (Debian 11's, with its rust-src)
#: extra environment for every rustup and rustc probe: never install while looking, no colours
#: (rustup colours its lists when stdout is a terminal), and keep error messages to one line
#: (a set RUST_BACKTRACE makes rustup print a stack trace)
PROBE_ENV: Mapping[str, str] = {
    "RUSTUP_AUTO_INSTALL": "0",
    "RUSTUP_TERM_COLOR": "never",
    "RUST_BACKTRACE": "0",
}
#: where rustup is told its home is when it has none, to print its version: nothing can be
#: created under /proc, so rustup writes nothing
NO_HOME = "/proc/kdoctor-no-rustup-home"


@dataclass(frozen=True)
class PinState:
    """What rustup says about the pinned toolchain."""

    #: the pin's full name, e.g. ``nightly-2021-02-12-x86_64-unknown-linux-gnu``
    name: str
    #: rustup's full path, None when rustup is not installed
    rustup: Optional[str]
    #: None when rustup is missing or could not be asked (then ``problem`` says why)
    installed: Optional[bool]
    problem: Optional[str] = None
    toolchains: tuple[str, ...] = ()


@dataclass(frozen=True)
class Active:
    """What ``rustup show active-toolchain`` says inside the module directory."""

    toolchain: Optional[str]
    #: ``env``, ``directory`` (rustup override), ``file`` (rust-toolchain.toml), ``default``,
    #: ``cli`` or ``unknown``
    kind: str
    #: the override's directory, the toolchain file, or the variable's name
    where: Optional[str] = None
    #: why rustup could not say (it failed, hung or printed something else)
    problem: Optional[str] = None
    #: whether the active toolchain is missing (rustup said "is not installed")
    missing: bool = False


@dataclass(frozen=True)
class Override:
    """Something that makes ``rustc`` in the module directory pick another toolchain."""

    kind: str  # "env" or "directory"
    toolchain: str
    path: Optional[str] = None

    def describe(self) -> str:
        if self.kind == "env":
            return f"RUSTUP_TOOLCHAIN={self.toolchain}"
        return _("the rustup override for {path} ({toolchain})").format(
            path=self.path, toolchain=self.toolchain
        )

    def command(self) -> str:
        if self.kind == "env":
            return "unset RUSTUP_TOOLCHAIN"
        return f"rustup override unset --path {self.path}"

    def to_json(self) -> dict[str, Optional[str]]:
        return {"kind": self.kind, "toolchain": self.toolchain, "path": self.path}


# -- names ------------------------------------------------------------------------------------
def host_triple(arch: str) -> str:
    return f"{arch}-unknown-linux-gnu"


def pin_name(ctx: Context) -> str:
    """The pin as rustup names an installed toolchain (with the host triple)."""
    channel = ctx.pinned.channel
    if re.search(r"-unknown-linux-|-apple-darwin|-pc-windows-", channel):
        return channel
    return f"{channel}-{host_triple(ctx.arch)}"


def names_pin(ctx: Context, toolchain: str) -> bool:
    """Whether a rustup toolchain name (short or full) is the pin."""
    channel = ctx.pinned.channel
    if toolchain in (channel, pin_name(ctx)):
        return True
    if not toolchain.startswith(channel + "-"):
        return False
    # "nightly-x86_64-..." is "nightly"; "nightly-2021-02-12-..." is not
    rest = toolchain[len(channel) + 1 :]
    return re.match(r"^[a-z][a-z0-9_]*-[a-z0-9_]+-[a-z0-9_]+", rest) is not None


#: the components the module's build needs, whatever the pin lists
NEEDED_COMPONENTS = ("rust-src", "rustfmt")


def pin_need(ctx: Context, alternative: Sequence[Package] = ()) -> RustToolchainNeed:
    """The pin with everything the module needs, as a need (and ``alternative``, the
    distribution's Rust that may stand in for it under ``--rust auto``)."""
    components = [*ctx.pinned.components]
    components += [c for c in NEEDED_COMPONENTS if c not in components]
    pin = ctx.pinned
    return RustToolchainNeed(pin.channel, pin.profile, tuple(components), tuple(alternative))


def install_command(ctx: Context) -> str:
    """How rustup installs the pin with everything the module needs (as the plan does)."""
    return shown(toolchain_argv(pin_need(ctx)))


def is_rustup_dir(system: System, directory: str) -> bool:
    """Whether ``directory`` holds rustup's shims (``~/.cargo/bin`` or ``$CARGO_HOME/bin``)."""
    directory = directory.rstrip("/")
    if directory.endswith("/.cargo/bin"):
        return True
    cargo_home = system.env.get("CARGO_HOME")
    return bool(cargo_home) and directory == os.path.join(str(cargo_home).rstrip("/"), "bin")


def is_rustup_shim(system: System, path: str) -> bool:
    """Whether ``path`` is one of rustup's shims (it picks a toolchain by directory)."""
    return is_rustup_dir(system, os.path.dirname(path))


def on_path(system: System, name: str) -> list[str]:
    """Every executable called ``name`` on PATH, in PATH order, each once."""
    found: list[str] = []
    for directory in system.env.get("PATH", "").split(os.pathsep):
        if not directory:
            continue
        path = system.which(os.path.join(directory, name))
        if path is not None and path not in found:
            found.append(path)
    return found


# -- rustup -----------------------------------------------------------------------------------
def has_home(system: System) -> bool:
    """Whether rustup has a home to read (``RUSTUP_HOME``, else ``~/.rustup``): without one,
    any rustup command would create it."""
    return system.is_dir(rustup_home(system.env))


def rustup_env(system: System, args: Sequence[str]) -> Mapping[str, str]:
    """The environment rustup is asked ``args`` with (:data:`PROBE_ENV`; without a home, its
    version is asked with ``RUSTUP_HOME`` where nothing can be made)."""
    if tuple(args) == ("--version",) and not has_home(system):
        return {**PROBE_ENV, "RUSTUP_HOME": NO_HOME}
    return PROBE_ENV


def rustfmt_for_tools(system: System) -> dict[str, str]:
    """The environment that keeps a tool running ``rustfmt`` by name (bindgen formats what it
    writes) off rustup's proxy while rustup has no home (the proxy would make one): ``RUSTFMT``
    naming the first other rustfmt on PATH, else a place with none (bindgen then leaves its
    output unformatted). Empty when nothing needs it."""
    found = on_path(system, "rustfmt")
    if has_home(system) or not found or not is_rustup_shim(system, found[0]):
        return {}
    others = [path for path in found if not is_rustup_shim(system, path)]
    return {"RUSTFMT": others[0] if others else os.path.join(NO_HOME, "rustfmt")}


def homeless_answer(rustup: str, args: Sequence[str], cwd: Optional[str] = None) -> Probe:
    """What rustup without a home answers ``args`` (it is not run: it would make its home)."""
    argv = (rustup, *args)
    words = tuple(args)
    if words[:2] == ("toolchain", "list"):
        return Probe(argv, 0, "no installed toolchains\n", cwd=cwd)
    if words[:2] == ("override", "list"):
        return Probe(argv, 0, "no overrides\n", cwd=cwd)
    if "--toolchain" in words:
        name = words[words.index("--toolchain") + 1] if words[-1] != "--toolchain" else "?"
        return Probe(argv, 1, stderr=f"error: toolchain '{name}' is not installed\n", cwd=cwd)
    return Probe(argv, 1, stderr="error: no active toolchain\n", cwd=cwd)


def probe_rustup(system: System, rustup: str, *args: str, cwd: Optional[str] = None) -> Probe:
    """Ask rustup, without colours even from a rustup that ignores ``RUSTUP_TERM_COLOR``;
    without a rustup home, rustup is not run but for its version (see the module's doc)."""
    homeless = not has_home(system)
    if homeless and args != ("--version",):
        return homeless_answer(rustup, args, cwd)
    env = rustup_env(system, args)
    probe = system.probe([rustup, *args], timeout=RUSTUP_TIMEOUT, cwd=cwd, env=env)
    if homeless and probe.stdout.strip() and not probe.timed_out and probe.error is None:
        probe = replace(probe, exit_code=0, stderr="")  # the version, then "could not create"
    return replace(probe, stdout=strip_ansi(probe.stdout), stderr=strip_ansi(probe.stderr))


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def find_rustup(system: System) -> tuple[Optional[str], bool]:
    """(rustup's full path, whether it is on PATH); rustup's own install dir is looked at too."""
    found = system.which("rustup")
    if found is not None:
        return found, True
    homes = [system.env.get("CARGO_HOME"), os.path.join(system.env.get("HOME", "/root"), ".cargo")]
    for home in homes:
        if home:
            path = system.which(os.path.join(home, "bin", "rustup"))
            if path is not None:
                return path, False
    return None, False


def rustup_version(system: System, rustup: str) -> tuple[Optional[str], Optional[str]]:
    """(version, problem) from ``rustup --version``; rustup ≥ 1.28 adds ``info:`` on stderr."""
    probe = probe_rustup(system, rustup, "--version")
    if not probe.ok:
        return None, probe.describe_failure()
    version = versions.word_version(probe.stdout, "rustup") or versions.word_version(
        probe.output, "rustup"
    )
    if version is None:
        return None, _unexpected("rustup --version", probe.output)
    return str(version), None


_LIST_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.+-]*)(?:\s+\([^()]*\))?$")


def parse_toolchain_list(text: str) -> Optional[list[str]]:
    """Toolchain names from ``rustup toolchain list``; None when the output is not such a list."""
    names: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line == "no installed toolchains":
            continue
        match = _LIST_LINE.match(line)
        if match is None:
            return None
        names.append(match.group(1))
    return names


def pin_state(ctx: Context, system: System) -> PinState:
    rustup, _on_path = find_rustup(system)
    if ctx.pin is None:
        nothing = _("{directory} pins no toolchain").format(directory=ctx.module_dir)
        return PinState("", rustup, False, nothing)
    name = pin_name(ctx)
    if rustup is None:
        return PinState(name, None, None, _("rustup is not installed"))
    probe = probe_rustup(system, rustup, "toolchain", "list")
    if not probe.ok:
        return PinState(name, rustup, None, f"rustup toolchain list: {probe_failure(probe)}")
    names = parse_toolchain_list(probe.stdout)
    if names is None:
        unexpected = _unexpected("rustup toolchain list", probe.stdout)
        return PinState(name, rustup, None, unexpected)
    installed = any(names_pin(ctx, n) for n in names)
    return PinState(name, rustup, installed, None, tuple(names))


def installed_components(system: System, rustup: str, toolchain: str) -> Optional[list[str]]:
    """Components rustup lists as installed for ``toolchain`` (None: rustup could not say)."""
    probe = probe_rustup(
        system, rustup, "component", "list", "--installed", "--toolchain", toolchain
    )
    if not probe.ok:
        return None
    return [line.strip() for line in probe.stdout.splitlines() if line.strip()]


def has_component(installed: Sequence[str], component: str) -> bool:
    """Whether ``component`` is listed: ``rustfmt`` matches ``rustfmt-x86_64-unknown-linux-gnu``
    (and the old ``rustfmt-preview``)."""
    return any(c == component or c.startswith(component + "-") for c in installed)


_ACTIVE = re.compile(r"^(\S+)(?:\s+\((.*)\))?\s*$")
_NOT_INSTALLED = re.compile(r"toolchain '([^']+)' is not installed")
_QUOTED = re.compile(r"'([^']+)'")


def _classify(reason: str) -> tuple[str, Optional[str]]:
    quoted = _QUOTED.search(reason)
    where = quoted.group(1) if quoted else None
    if "RUSTUP_TOOLCHAIN" in reason or "environment" in reason:
        return "env", "RUSTUP_TOOLCHAIN"
    if "directory override" in reason:
        return "directory", where
    if "toolchain file" in reason or "overridden by" in reason:
        return "file", where
    if "command line" in reason or "+toolchain" in reason:
        return "cli", None
    if "default" in reason:
        return "default", None
    return "unknown", where


def parse_active(probe: Probe) -> Active:
    """Both rustup generations: ``NAME (directory override for '/p')``, ``NAME (overridden by
    '/p/rust-toolchain.toml')``, ``NAME (default)``, ``NAME (environment override by
    RUSTUP_TOOLCHAIN)``; a failure naming an uninstalled toolchain still tells which one."""
    if probe.ok:
        lines = [line.strip() for line in probe.stdout.splitlines() if line.strip()]
        match = _ACTIVE.match(lines[0]) if lines else None
        if match is None or _LIST_LINE.match(match.group(1)) is None:
            unexpected = _unexpected("rustup show active-toolchain", probe.stdout)
            return Active(None, "unknown", problem=unexpected)
        kind, where = _classify(match.group(2) or "")
        return Active(match.group(1), kind, where)
    missing = _NOT_INSTALLED.search(probe.output) if not probe.timed_out else None
    if missing:
        rest = probe.output[missing.end() :]
        kind, where = _classify(rest)
        return Active(missing.group(1), kind, where, probe_failure(probe), missing=True)
    return Active(None, "unknown", problem=f"rustup show active-toolchain: {probe_failure(probe)}")


def active_toolchain(ctx: Context, system: System, rustup: str) -> Active:
    return parse_active(
        probe_rustup(system, rustup, "show", "active-toolchain", cwd=ctx.module_dir)
    )


def parse_overrides(text: str) -> list[tuple[str, str]]:
    """(directory, toolchain) pairs from ``rustup override list`` (``DIR<pad>\\tTOOLCHAIN``)."""
    pairs: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == "no overrides" or line.startswith(("info:", "warning:")):
            continue
        if "\t" in line:
            path, _tab, toolchain = line.rpartition("\t")
        else:
            parts = line.rsplit(None, 1)
            if len(parts) != 2:
                continue
            path, toolchain = parts
        path = path.strip()
        if path.endswith("(not a directory)"):
            path = path[: -len("(not a directory)")].strip()
        if path.startswith("/") and toolchain.strip():
            pairs.append((path, toolchain.strip()))
    return pairs


def _within(path: str, ancestor: str) -> bool:
    ancestor = ancestor.rstrip("/") or "/"
    return path == ancestor or path.startswith(ancestor.rstrip("/") + "/")


def find_override(
    ctx: Context, system: System, rustup: str, active: Optional[Active] = None
) -> Optional[Override]:
    """An override that makes ``rustc`` in the module directory pick something other than the
    pin: ``RUSTUP_TOOLCHAIN``, else the nearest ``rustup override`` that beats the pin's file."""
    from_env = ctx.env.get("RUSTUP_TOOLCHAIN")
    if from_env:  # beats every directory override and toolchain file
        return None if names_pin(ctx, from_env) else Override("env", from_env)
    if active is not None and active.toolchain:
        if active.kind == "directory" and not names_pin(ctx, active.toolchain):
            return Override("directory", active.toolchain, active.where)
        if names_pin(ctx, active.toolchain):
            return None
    probe = probe_rustup(system, rustup, "override", "list")
    if not probe.ok:
        return None
    module = ctx.module_dir.rstrip("/")
    pin_dir = os.path.dirname(ctx.pinned.path) if ctx.pinned.path else ""
    # rustup walks up from the directory; at each level an override beats a toolchain file
    applicable = [
        (path, toolchain)
        for path, toolchain in parse_overrides(probe.stdout)
        if _within(module, path)
        and (not pin_dir or not _within(module, pin_dir) or _within(path, pin_dir))
    ]
    if not applicable:
        return None
    path, toolchain = max(applicable, key=lambda pair: len(pair[0]))
    if names_pin(ctx, toolchain):
        return None
    return Override("directory", toolchain, path)


# -- helpers ----------------------------------------------------------------------------------
def probe_failure(probe: Probe) -> str:
    return probe.describe_failure()


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            shown = line.strip()
            return repr(shown[:60]) if not shown.isprintable() else shown[:80]
    return _("(nothing)")


def _unexpected(command: str, output: str) -> str:
    return _("{command} printed something unexpected: {output}").format(
        command=command, output=first_line(output)
    )
