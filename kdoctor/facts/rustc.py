"""Which Rust compiler the module build will use, by full path, and whether it can build the
module (new enough, with the library sources).

Three sources, chosen by ``ctx.rust_mode`` (``auto``, ``pin``, ``distro``) unless ``RUSTC`` is set:

* ``pin``: the toolchain named by the module's ``rust-toolchain.toml``, installed by rustup;
* ``distro``: the distribution's ``rustc`` (never rustup's shim in ``~/.cargo/bin``, which would
  pick a toolchain by directory), built with ``RUSTC_BOOTSTRAP=1`` as the kernel itself does;
* ``env``: whatever ``RUSTC`` names, as the kernel build would honour it.

Read it as a fact (``facts.of(rust_toolchain)`` in :mod:`kdoctor.facts.rust`), so it is resolved
once per invocation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Optional

from packaging.version import Version

from kdoctor.facts.rustup import (
    PROBE_ENV,
    RUSTC_TIMEOUT,
    PinState,
    find_rustup,
    first_line,
    has_component,
    installed_components,
    is_rustup_shim,
    on_path,
    pin_state,
    probe_failure,
    probe_rustup,
)
from kdoctor.facts.toolchain_pin import pin_label, pin_origin
from kdoctor.i18n import _
from kdoctor.knowledge import versions
from kdoctor.machine.system import System
from kdoctor.model.context import Context

MIN_RUSTC = Version("1.48")
#: where a distribution installs rustc when no such rustc is on PATH
DISTRO_RUSTC = ("/usr/bin/rustc",)
LIBRARY = "lib/rustlib/src/rust/library"
#: files that must exist in the library sources for ``core`` and ``alloc`` to build
LIBRARY_FILES = ("core/src/lib.rs", "alloc/src/lib.rs")

#: where the toolchain came from: the module's pin (through rustup), the distribution, RUSTC,
#: (for a module that pins nothing) the toolchain rustup selects in the module's directory, or
#: the toolchain root a Rust-enabled kernel target was built in
SOURCES = ("pin", "distro", "env", "rustup", "root")


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
    #: the rustc answers but is older than ``MIN_RUSTC`` (the first problem says so)
    too_old: bool = False

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
        return _Inspection(problems=(probe_failure(probe),))
    version = versions.rustc_version(probe.stdout)
    if version is None:
        return _Inspection(
            problems=(
                _("{command} printed something unexpected: {output}").format(
                    command=f"{rustc} --version", output=first_line(probe.output)
                ),
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
        said = probe_failure(sysroot_probe) if not sysroot_probe.ok else _("no path printed")
        problems.append(f"{rustc} --print sysroot: {said}")
    elif has_library(system, library_dir(sysroot)):
        library = library_dir(sysroot)
    else:
        problems.append(
            _("no Rust library sources (rust-src) in {path}").format(path=library_dir(sysroot))
        )
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
    too_old = seen.version is not None and seen.version < MIN_RUSTC
    if too_old:
        problems.insert(
            0,
            _("rustc {version} is too old ({minimum} or newer is needed)").format(
                version=seen.version, minimum=MIN_RUSTC
            ),
        )
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
        too_old=too_old,
    )


def _pin_channel(ctx: Context) -> str:
    channel = ctx.pinned.channel
    for name in ("nightly", "beta"):
        if channel.startswith(name):
            return name
    return "stable"


def _pin(ctx: Context, system: System, state: PinState, reason: str) -> RustToolchain:
    env = {"RUSTUP_TOOLCHAIN": ctx.pinned.channel}
    empty = RustToolchain(
        "pin", None, None, _pin_channel(ctx), None, None, None, env, reason, False, []
    )
    if state.rustup is None or state.installed is None:
        return replace(empty, problems=[state.problem or _("rustup is not installed")])
    if not state.installed:
        missing = _("{toolchain} is not installed").format(toolchain=ctx.pinned.channel)
        return replace(empty, problems=[missing])
    probe = probe_rustup(system, state.rustup, "which", "rustc", "--toolchain", state.name)
    lines = [line.strip() for line in probe.stdout.splitlines() if line.strip()]
    rustc = system.which(lines[-1]) if probe.ok and lines and lines[-1].startswith("/") else None
    if rustc is None:
        why = (
            probe_failure(probe)
            if not probe.ok
            else _("no rustc in {path}").format(path=first_line(probe.stdout))
        )
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
    channel = pin_label(ctx.pinned, ctx.module_dir)
    if state.rustup is None:
        return _("rustup is not installed (needed for {toolchain})").format(toolchain=channel)
    if state.installed is None:
        return _("rustup could not say whether {toolchain} is installed ({problem})").format(
            toolchain=channel, problem=state.problem
        )
    return _("{toolchain} is not installed").format(toolchain=channel)


def _distro(system: System, reason: str) -> RustToolchain:
    looked = ", ".join(DISTRO_RUSTC)
    return _compiler(
        system,
        "distro",
        distro_rustc(system),
        reason,
        _("no distribution rustc (none on PATH outside ~/.cargo/bin, none at {paths})").format(
            paths=looked
        ),
    )


def resolve(
    ctx: Context, system: System, pin: Optional[Callable[[], PinState]] = None
) -> RustToolchain:
    """The toolchain a module build would use, by full path, with why it was chosen.

    ``pin`` answers what rustup says about the pin when that is needed (default: ask rustup);
    the fact :func:`kdoctor.facts.rust.rust_toolchain` passes the shared answer.
    """
    rustc_var = ctx.env.get("RUSTC")
    if rustc_var:
        return _compiler(
            system,
            "env",
            system.which(rustc_var),
            _("{setting} is set (the kernel build uses it)").format(setting=f"RUSTC={rustc_var}"),
            _("{setting}: command not found").format(setting=f"RUSTC={rustc_var}"),
        )
    if ctx.rust_mode == "distro":
        return _distro(system, _("the distribution's rustc (--rust distro)"))
    if ctx.pin is None:
        return _unpinned(ctx, system)
    state = pin() if pin is not None else pin_state(ctx, system)
    pinned_by = pin_origin(ctx.pinned, ctx.module_dir)
    channel = ctx.pinned.channel
    if ctx.rust_mode == "pin":
        reason = _("{toolchain} pinned by {file} (--rust pin)")
        return _pin(ctx, system, state, reason.format(toolchain=channel, file=pinned_by))
    if state.installed:
        reason = _("{toolchain} (pinned by {file}) is installed")
        return _pin(ctx, system, state, reason.format(toolchain=channel, file=pinned_by))
    why = _why_no_pin(ctx, state)
    distro = _distro(system, why)
    if distro.usable:
        using = (
            _(
                "{why}; using the distribution's rustc {version} with RUSTC_BOOTSTRAP=1 as the "
                "kernel does"
            )
            if distro.env
            else _("{why}; using the distribution's rustc {version}")
        )
        return replace(distro, reason=using.format(why=why, version=distro.version))
    reason = _("{why}, and the distribution's rustc is not usable ({problem})").format(
        why=why, problem=distro.problems[0]
    )
    return _pin(ctx, system, state, reason)


def _unpinned(ctx: Context, system: System) -> RustToolchain:
    """A module that pins no toolchain is built with what its environment selects, as cargo
    and rustc would: rustup's toolchain for the module's directory (its override or default),
    else the distribution's rustc. Never another module's pin."""
    if ctx.rust_mode == "pin":
        missing = _(
            "--rust pin: {directory} pins no toolchain (it has no rust-toolchain.toml); "
            "use --rust auto or distro, or add the file"
        ).format(directory=ctx.module_dir)
        return RustToolchain(
            "pin", None, None, None, None, None, None, {}, missing, False, [missing]
        )
    rustup, _on_path = find_rustup(system)
    if rustup is not None:
        probe = probe_rustup(system, rustup, "which", "rustc", cwd=ctx.module_dir)
        lines = [line.strip() for line in probe.stdout.splitlines() if line.strip()]
        if probe.ok and lines and lines[-1].startswith("/"):
            name = os.path.basename(os.path.dirname(os.path.dirname(lines[-1])))
            chosen = _compiler(
                system,
                "rustup",
                system.which(lines[-1]),
                _("the module pins no toolchain; rustup selects {toolchain} in {directory}").format(
                    toolchain=name, directory=ctx.module_dir
                ),
                "rustup which rustc: " + _("{path} is not there").format(path=lines[-1]),
            )
            if chosen.usable:
                return chosen
            distro = _distro(
                system,
                _(
                    "the module pins no toolchain and rustup's {toolchain} is not usable "
                    "({problem}); the distribution's rustc"
                ).format(toolchain=name, problem=chosen.problems[0]),
            )
            return distro if distro.usable else chosen
    return _distro(system, _("the module pins no toolchain; the distribution's rustc"))
