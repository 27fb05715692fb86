"""The bindgen the module build runs (``BINDGEN``, else ``bindgen``) and its version."""

from __future__ import annotations

import fnmatch
import os
from typing import TYPE_CHECKING, Optional

from packaging.version import Version

from kdoctor.knowledge import versions
from kdoctor.machine.probe_cache import ProbeCache
from kdoctor.machine.system import Probe, System
from kdoctor.model.cache_layout import probes_dir
from kdoctor.model.context import Context

if TYPE_CHECKING:
    from kdoctor.facts import Facts

#: how long ``bindgen --version`` may take
VERSION_TIMEOUT = 10.0


def bindgen_command(ctx: Context) -> tuple[str, str]:
    """(command, source): ``BINDGEN`` when set, else ``bindgen`` (``default``)."""
    if ctx.env.get("BINDGEN"):
        return ctx.env["BINDGEN"], "BINDGEN"
    return "bindgen", "default"


def bindgen_path(facts: Facts) -> Optional[str]:
    """The bindgen the build runs, by full path (None: not installed)."""
    return facts.system.which(bindgen_command(facts.ctx)[0])


def bindgen_told(facts: Facts) -> Optional[Probe]:
    """What ``bindgen --version`` said (None: bindgen is not installed)."""
    path = facts.of(bindgen_path)
    if path is None:
        return None
    return facts.system.probe([path, "--version"], timeout=VERSION_TIMEOUT)


def bindgen_version(facts: Facts) -> Optional[Version]:
    """bindgen's version (None: not installed, not answering, or unreadable)."""
    told = facts.of(bindgen_told)
    if told is None or not told.ok:
        return None
    return versions.word_version(told.output, "bindgen")


#: where libclang is looked for by bindgen (clang-sys) besides LIBCLANG_PATH and llvm-config
LIBCLANG_DIRS = (
    "/usr/lib/llvm-*/lib",
    "/usr/lib/*-linux-gnu*",
    "/usr/lib64",
    "/usr/lib",
    "/usr/local/lib",
)
#: variables that change which libclang bindgen loads or how
LIBCLANG_ENV = ("LIBCLANG_PATH", "LLVM_CONFIG_PATH", "LD_LIBRARY_PATH", "CLANG_PATH")


def probe_cache(ctx: Context) -> ProbeCache:
    """Kept probe answers of this invocation (under the cache directory; ``--fresh`` skips)."""
    return ProbeCache(
        probes_dir(ctx.cache_dir), fresh=ctx.fresh, store=not ctx.dry_run, root=ctx.cache_dir
    )


def translation_inputs(ctx: Context, system: System, bindgen: str, header: str) -> tuple[str, ...]:
    """Every file whose change could change what bindgen says when translating ``header``:
    bindgen itself, the header, the dynamic loader's cache, ``llvm-config``, and each libclang
    (and the directory holding it) where clang-sys looks, LIBCLANG_PATH first."""
    inputs = [system.real_path(bindgen), header, "/etc/ld.so.cache"]
    llvm_config = system.which(ctx.env.get("LLVM_CONFIG_PATH") or "llvm-config")
    if llvm_config:
        inputs.append(system.real_path(llvm_config))
    directories: list[str] = []
    for name in LIBCLANG_ENV:
        value = ctx.env.get(name) or system.env.get(name)
        if value:
            inputs.append(f"env:{name}={value}")  # not a file: its identity is None, its name is
            directories += [d for d in value.split(":") if d]
    for pattern in LIBCLANG_DIRS:
        directories += _expand(system, pattern)
    for directory in dict.fromkeys(directories):
        if not system.is_dir(directory):
            continue
        inputs.append(directory)
        names = [n for n in system.listdir(directory) if n.startswith("libclang")]
        inputs += [os.path.join(directory, n) for n in names]
    return tuple(inputs)


def _expand(system: System, pattern: str) -> list[str]:
    """``pattern``'s matches (``*`` within one name), through the System door."""
    found = ["/"]
    for part in pattern.strip("/").split("/"):
        step: list[str] = []
        for base in found:
            if "*" in part:
                names = fnmatch.filter(system.listdir(base), part)
                step += [os.path.join(base, n) for n in sorted(names)]
            else:
                step.append(os.path.join(base, part))
        found = step
    return [p for p in found if system.is_dir(p)]
