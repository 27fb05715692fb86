"""Which Rust toolchain the module build will use, and what rustup says about the pinned one.

Three sources, chosen by ``ctx.rust_mode`` (``auto``, ``pin``, ``distro``) unless ``RUSTC`` is set:

* ``pin``: the toolchain named by the module's ``rust-toolchain.toml``, installed by rustup;
* ``distro``: the distribution's ``rustc`` (never rustup's shim in ``~/.cargo/bin``, which would
  pick a toolchain by directory), built with ``RUSTC_BOOTSTRAP=1`` as the kernel itself does;
* ``env``: whatever ``RUSTC`` names, as the kernel build would honour it.

Everything here only observes, through :meth:`System.probe` (cached per invocation), so each check
may call :func:`resolve` again. rustup is always asked with ``RUSTUP_AUTO_INSTALL=0`` so that
looking never downloads a toolchain.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from packaging.version import Version

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
MIN_RUSTC = Version("1.48")
#: where a distribution installs rustc when no such rustc is on PATH
DISTRO_RUSTC = ("/usr/bin/rustc",)
#: extra environment for every rustup and rustc probe: never install while looking, no colours
#: (rustup colours its lists when stdout is a terminal), and keep error messages to one line
#: (a set RUST_BACKTRACE makes rustup print a stack trace)
PROBE_ENV: Mapping[str, str] = {
    "RUSTUP_AUTO_INSTALL": "0",
    "RUSTUP_TERM_COLOR": "never",
    "RUST_BACKTRACE": "0",
}
#: the standard library sources, relative to a sysroot
LIBRARY = "lib/rustlib/src/rust/library"
#: files that must exist in the library sources for ``core`` and ``alloc`` to build
LIBRARY_FILES = ("core/src/lib.rs", "alloc/src/lib.rs")

SOURCES = ("pin", "distro", "env")


@dataclass(frozen=True)
class RustToolchain:
    """The Rust compiler a build would use, by full path, and what else it needs."""

    source: str
    rustc: Optional[str]
    version: Optional[str]
    channel: Optional[str]
    sysroot: Optional[str]
    library_src: Optional[str]
    rustfmt: Optional[str]
    env: dict[str, str]
    reason: str
    usable: bool
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "rustc": self.rustc,
            "version": self.version,
            "channel": self.channel,
            "sysroot": self.sysroot,
            "library_src": self.library_src,
            "rustfmt": self.rustfmt,
            "env": dict(self.env),
            "reason": self.reason,
            "usable": self.usable,
            "problems": list(self.problems),
        }


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
        return f"the rustup override for {self.path} ({self.toolchain})"

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
    channel = ctx.pin.channel
    if re.search(r"-unknown-linux-|-apple-darwin|-pc-windows-", channel):
        return channel
    return f"{channel}-{host_triple(ctx.arch)}"


def names_pin(ctx: Context, toolchain: str) -> bool:
    """Whether a rustup toolchain name (short or full) is the pin."""
    channel = ctx.pin.channel
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
    components = [*ctx.pin.components]
    components += [c for c in NEEDED_COMPONENTS if c not in components]
    return RustToolchainNeed(
        ctx.pin.channel, ctx.pin.profile, tuple(components), tuple(alternative)
    )


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
def probe_rustup(system: System, rustup: str, *args: str, cwd: Optional[str] = None) -> Probe:
    """Ask rustup, without colours even from a rustup that ignores ``RUSTUP_TERM_COLOR``."""
    probe = system.probe([rustup, *args], timeout=RUSTUP_TIMEOUT, cwd=cwd, env=PROBE_ENV)
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
        return None, f"rustup --version printed something unexpected: {_first_line(probe.output)}"
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
    name = pin_name(ctx)
    rustup, _ = find_rustup(system)
    if rustup is None:
        return PinState(name, None, None, "rustup is not installed")
    probe = probe_rustup(system, rustup, "toolchain", "list")
    if not probe.ok:
        return PinState(name, rustup, None, f"rustup toolchain list: {_failure(probe)}")
    names = parse_toolchain_list(probe.stdout)
    if names is None:
        return PinState(
            name,
            rustup,
            None,
            f"rustup toolchain list printed something unexpected: {_first_line(probe.stdout)}",
        )
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
            return Active(
                None,
                "unknown",
                problem="rustup show active-toolchain printed something unexpected: "
                + _first_line(probe.stdout),
            )
        kind, where = _classify(match.group(2) or "")
        return Active(match.group(1), kind, where)
    missing = _NOT_INSTALLED.search(probe.output) if not probe.timed_out else None
    if missing:
        rest = probe.output[missing.end() :]
        kind, where = _classify(rest)
        return Active(missing.group(1), kind, where, _failure(probe), missing=True)
    return Active(None, "unknown", problem=f"rustup show active-toolchain: {_failure(probe)}")


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
            path, _, toolchain = line.rpartition("\t")
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
    pin_dir = os.path.dirname(ctx.pin.path) if ctx.pin.path else ""
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


# -- rustc ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Inspection:
    version: Optional[Version] = None
    channel: Optional[str] = None
    sysroot: Optional[str] = None
    library_src: Optional[str] = None
    problems: tuple[str, ...] = ()


def library_dir(sysroot: str) -> str:
    return os.path.join(sysroot, LIBRARY)


def has_library(system: System, library: str) -> bool:
    return all(system.exists(os.path.join(library, name)) for name in LIBRARY_FILES)


def _inspect(system: System, rustc: str) -> _Inspection:
    probe = system.probe([rustc, "--version"], timeout=RUSTC_TIMEOUT, env=PROBE_ENV)
    if not probe.ok:
        return _Inspection(problems=(_failure(probe),))
    version = versions.rustc_version(probe.stdout)
    if version is None:
        return _Inspection(
            problems=(
                f"{rustc} --version printed something unexpected: {_first_line(probe.output)}",
            )
        )
    channel = versions.rustc_channel(probe.stdout)
    problems: list[str] = []
    sysroot_probe = system.probe(
        [rustc, "--print", "sysroot"], timeout=RUSTC_TIMEOUT, env=PROBE_ENV
    )
    lines = [line.strip() for line in sysroot_probe.stdout.splitlines() if line.strip()]
    sysroot = lines[-1] if sysroot_probe.ok and lines and lines[-1].startswith("/") else None
    library: Optional[str] = None
    if sysroot is None:
        problems.append(
            f"{rustc} --print sysroot: "
            + (_failure(sysroot_probe) if not sysroot_probe.ok else "no path printed")
        )
    elif has_library(system, library_dir(sysroot)):
        library = library_dir(sysroot)
    else:
        problems.append(f"no Rust library sources (rust-src) in {library_dir(sysroot)}")
    return _Inspection(version, channel, sysroot, library, tuple(problems))


def _sibling(system: System, path: str, name: str) -> Optional[str]:
    return system.which(os.path.join(os.path.dirname(path), name))


def find_rustfmt(system: System, rustc: Optional[str]) -> Optional[str]:
    """rustfmt next to ``rustc``, else the first on PATH that is not rustup's shim."""
    if rustc:
        sibling = _sibling(system, rustc, "rustfmt")
        if sibling is not None:
            return sibling
    for path in on_path(system, "rustfmt"):
        if not is_rustup_shim(system, path):
            return path
    return None


def distro_rustc(system: System) -> Optional[str]:
    """The distribution's rustc: the first on PATH outside rustup's shims, else /usr/bin/rustc."""
    for path in on_path(system, "rustc"):
        if not is_rustup_shim(system, path):
            return path
    for path in DISTRO_RUSTC:
        found = system.which(path)
        if found is not None:
            return found
    return None


def _bootstrap(channel: Optional[str]) -> dict[str, str]:
    return {} if channel == "nightly" else {"RUSTC_BOOTSTRAP": "1"}


def _compiler(
    system: System, source: str, rustc: Optional[str], reason: str, missing: str
) -> RustToolchain:
    """A distro or RUSTC compiler: found, answering, new enough, with library sources."""
    if rustc is None:
        return RustToolchain(
            source, None, None, None, None, None, None, {}, reason, False, [missing]
        )
    seen = _inspect(system, rustc)
    problems = list(seen.problems)
    if seen.version is not None and seen.version < MIN_RUSTC:
        problems.insert(0, f"rustc {seen.version} is too old ({MIN_RUSTC} or newer is needed)")
    return RustToolchain(
        source=source,
        rustc=rustc,
        version=str(seen.version) if seen.version else None,
        channel=seen.channel,
        sysroot=seen.sysroot,
        library_src=seen.library_src,
        rustfmt=find_rustfmt(system, rustc),
        env=_bootstrap(seen.channel) if seen.version else {},
        reason=reason,
        usable=not problems,
        problems=problems,
    )


def _pin_channel(ctx: Context) -> str:
    channel = ctx.pin.channel
    for name in ("nightly", "beta"):
        if channel.startswith(name):
            return name
    return "stable"


def _pin(ctx: Context, system: System, state: PinState, reason: str) -> RustToolchain:
    env = {"RUSTUP_TOOLCHAIN": ctx.pin.channel}
    empty = RustToolchain(
        "pin", None, None, _pin_channel(ctx), None, None, None, env, reason, False, []
    )
    if state.rustup is None or state.installed is None:
        return replace(empty, problems=[state.problem or "rustup is not installed"])
    if not state.installed:
        return replace(empty, problems=[f"{ctx.pin.channel} is not installed"])
    probe = probe_rustup(system, state.rustup, "which", "rustc", "--toolchain", state.name)
    lines = [line.strip() for line in probe.stdout.splitlines() if line.strip()]
    rustc = system.which(lines[-1]) if probe.ok and lines and lines[-1].startswith("/") else None
    if rustc is None:
        why = _failure(probe) if not probe.ok else f"no rustc in {_first_line(probe.stdout)}"
        return replace(empty, problems=[f"rustup which rustc --toolchain {state.name}: {why}"])
    seen = _inspect(system, rustc)
    components = installed_components(system, state.rustup, state.name) or []
    rustfmt = _sibling(system, rustc, "rustfmt") if has_component(components, "rustfmt") else None
    channel = seen.channel or _pin_channel(ctx)
    if seen.version is not None and channel != "nightly":
        env.update(_bootstrap(channel))
    return RustToolchain(
        source="pin",
        rustc=rustc,
        version=str(seen.version) if seen.version else None,
        channel=channel,
        sysroot=seen.sysroot,
        library_src=seen.library_src,
        rustfmt=rustfmt,
        env=env,
        reason=reason,
        usable=not seen.problems,
        problems=list(seen.problems),
    )


def _why_no_pin(ctx: Context, state: PinState) -> str:
    if state.rustup is None:
        return f"rustup is not installed (needed for {ctx.pin.channel})"
    if state.installed is None:
        return f"rustup could not say whether {ctx.pin.channel} is installed ({state.problem})"
    return f"{ctx.pin.channel} is not installed"


def _distro(system: System, reason: str) -> RustToolchain:
    looked = ", ".join(DISTRO_RUSTC)
    return _compiler(
        system,
        "distro",
        distro_rustc(system),
        reason,
        f"no distribution rustc (none on PATH outside ~/.cargo/bin, none at {looked})",
    )


def resolve(ctx: Context, system: System) -> RustToolchain:
    """The toolchain a module build would use, by full path, with why it was chosen."""
    rustc_var = ctx.env.get("RUSTC")
    if rustc_var:
        return _compiler(
            system,
            "env",
            system.which(rustc_var),
            f"RUSTC={rustc_var} is set (the kernel build uses it)",
            f"RUSTC={rustc_var}: command not found",
        )
    if ctx.rust_mode == "distro":
        return _distro(system, "the distribution's rustc (--rust distro)")
    state = pin_state(ctx, system)
    pinned_by = os.path.basename(ctx.pin.path) or "rust-toolchain.toml"
    if ctx.rust_mode == "pin":
        return _pin(ctx, system, state, f"{ctx.pin.channel} pinned by {pinned_by} (--rust pin)")
    if state.installed:
        return _pin(ctx, system, state, f"{ctx.pin.channel} (pinned by {pinned_by}) is installed")
    why = _why_no_pin(ctx, state)
    distro = _distro(system, why)
    if distro.usable:
        how = " with RUSTC_BOOTSTRAP=1 as the kernel does" if distro.env else ""
        return replace(
            distro, reason=f"{why}; using the distribution's rustc {distro.version}{how}"
        )
    reason = f"{why}, and the distribution's rustc is not usable ({distro.problems[0]})"
    return _pin(ctx, system, state, reason)


# -- helpers ----------------------------------------------------------------------------------
def _failure(probe: Probe) -> str:
    return probe.describe_failure()


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            shown = line.strip()
            return repr(shown[:60]) if not shown.isprintable() else shown[:80]
    return "(nothing)"
