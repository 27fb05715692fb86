"""A Rust-enabled kernel as a cached artefact: Debian's ``linux-source-<series>`` configured
with ``CONFIG_RUST=y`` and built, in its toolchain root (:mod:`.toolchain_root`), into
``<cache>/rust-kernels/<series>/linux`` — a tree usable as ``KDIR`` with its Rust artefacts
and a ``bzImage`` the verification VM boots.

Each stage is resumable under the kernel's lock: the source is unpacked into a ``.partial-*``
directory and moved into place with one rename; the configuration is made again unless the
tree's ``.config`` already has every option kdoctor sets; ``make`` itself resumes an
interrupted build. ``kernel.json``, written last, marks the kernel complete and records what
built it (the root's package versions, the kernel's own record of its rustc and bindgen) and
the image's sha256, checked before each use. Nothing goes to ``/boot``, ``/usr/src`` or
``/lib/modules``; the host's dpkg database is never touched (the source package is installed
into the toolchain root).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from kdoctor.i18n import _
from kdoctor.knowledge import rust_kernels as rk
from kdoctor.knowledge.chroot import in_root
from kdoctor.knowledge.kernel_config import parse_config
from kdoctor.knowledge.rust_for_linux import kconfig_bindgen, kconfig_rustc
from kdoctor.machine.system import System
from kdoctor.machine.trust import refuse_untrusted
from kdoctor.model.cache_layout import (
    rust_kernel_dir,
    rust_kernel_image,
    rust_kernel_log,
    rust_kernel_record,
    rust_kernel_tree,
    rust_kernels_dir,
    toolchain_root,
)
from kdoctor.model.finding import Remediation
from kdoctor.pipeline.kernels import toolchain_root as roots
from kdoctor.pipeline.kernels.archive import ArchiveError
from kdoctor.pipeline.kernels.cache import sha256_of, work_dir

Step = Callable[[str], None]

CONFIG_TIMEOUT = 600.0
BUILD_TIMEOUT = 4 * 3600.0
UNPACK_TIMEOUT = 900.0
PROBE_TIMEOUT = 60.0
#: the kernel's own record of its release, written by its build
RELEASE_FILE = "include/config/kernel.release"


@dataclass(frozen=True)
class RustKernel:
    series: str
    release: str
    kdir: str
    image: str
    #: the toolchain root that built it (the module's build runs there too)
    root: str
    root_name: str
    #: package -> version, as the root held them when the kernel was built
    toolchain: dict[str, str] = field(default_factory=dict)
    rustc: Optional[str] = None
    bindgen: Optional[str] = None
    compiler: str = "gcc"
    enabled: tuple[str, ...] = ()
    disabled: tuple[str, ...] = ()
    #: the image's sha256 its build recorded (None: not recorded)
    image_sha256: Optional[str] = None

    @property
    def spec(self) -> str:
        return rk.spec_of(self.series)

    def to_json(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "release": self.release,
            "kdir": self.kdir,
            "image": self.image,
            "root": self.root,
            "toolchain": dict(self.toolchain),
            "rustc": self.rustc,
            "bindgen": self.bindgen,
            "compiler": self.compiler,
            "enabled": list(self.enabled),
            "disabled": list(self.disabled),
        }


def recorded(system: System, cache_dir: str, series: str) -> Optional[RustKernel]:
    """The kernel of ``series`` built before (its record is there; see :func:`damage`)."""
    text = system.read_text(rust_kernel_record(cache_dir, series))
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("release"), str):
        return None
    name = str(data.get("root_name", rk.root_for(series).name))
    toolchain = data.get("toolchain")
    return RustKernel(
        series=series,
        release=data["release"],
        kdir=rust_kernel_tree(cache_dir, series),
        image=rust_kernel_image(cache_dir, series),
        root=toolchain_root(cache_dir, name),
        root_name=name,
        toolchain={str(k): str(v) for k, v in toolchain.items()}
        if isinstance(toolchain, dict)
        else {},
        rustc=data.get("rustc") if isinstance(data.get("rustc"), str) else None,
        bindgen=data.get("bindgen") if isinstance(data.get("bindgen"), str) else None,
        compiler=str(data.get("compiler", "gcc")),
        enabled=tuple(str(o) for o in data.get("enabled", ())),
        disabled=tuple(str(o) for o in data.get("disabled", ())),
        image_sha256=str(data["image_sha256"]) if data.get("image_sha256") else None,
    )


def built_series(system: System, cache_dir: str) -> list[str]:
    """The series whose Rust-enabled kernel is complete in the cache, newest first."""
    names = [
        n
        for n in system.listdir(rust_kernels_dir(cache_dir))
        if rk.series_key(n) != (0, 0) and system.is_file(rust_kernel_record(cache_dir, n))
    ]
    return sorted(names, key=rk.series_key, reverse=True)


def damage(system: System, cache_dir: str, kernel: RustKernel) -> Optional[str]:
    """Why the built kernel cannot be used as it is, else None: its image is not the one its
    build recorded, or its root's toolchain is no longer the one that built it."""
    if sha256_of(system, kernel.image) != kernel.image_sha256:
        return _("its image is missing or differs from the one its build made")
    config = parse_config(system.read_text(os.path.join(kernel.kdir, ".config")) or "")
    if config.get("CONFIG_RUST") != "y":
        return _("its .config no longer has CONFIG_RUST=y")
    if not rk.configured(config):
        return _("its .config lacks options kdoctor sets now")
    now = roots.versions_in(system, kernel.root)
    changed = [p for p, v in kernel.toolchain.items() if now.get(p) != v]
    if changed:
        return _("its toolchain root changed since it was built ({packages})").format(
            packages=", ".join(f"{p} {kernel.toolchain[p]} → {now.get(p, '-')}" for p in changed)
        )
    return None


def newest_in_root(system: System, root: str) -> Optional[str]:
    """The newest ``linux-source-<series>`` the root's package lists know."""
    got = system.probe(
        in_root(root, ["apt-cache", "pkgnames", "linux-source-"], as_root=system.uid() == 0),
        timeout=PROBE_TIMEOUT,
    )
    return rk.newest_series(got.stdout.split()) if got.ok else None


def ensure(
    system: System,
    cache_dir: str,
    spec: str,
    on_step: Optional[Step] = None,
    *,
    jobs: Optional[int] = None,
) -> RustKernel:
    """The Rust-enabled kernel ``spec`` names (``6.12+rust``, ``rust``), built when missing,
    damaged or half made."""
    step = on_step or (lambda _t: None)
    series = rk.series_of_spec(spec)
    if series is None:
        raise ValueError(spec)
    suite = rk.root_for(series) if series else rk.TRIXIE_BACKPORTS
    root = roots.ensure(system, cache_dir, suite, step)
    if not series:
        newest = newest_in_root(system, root.path)
        if newest is None:
            raise ArchiveError(
                _("the {name} root's package lists name no linux-source package").format(
                    name=root.name
                ),
                Remediation(
                    _("Check that deb.debian.org is reachable, then run the command again.")
                ),
            )
        series = newest
        suite = rk.root_for(series)
        root = roots.ensure(system, cache_dir, suite, step)
    with system.lock(rust_kernel_dir(cache_dir, series), on_wait=step):
        # built in, and then trusted: never a tree another user could change (exit 3)
        refuse_untrusted(system, cache_dir, rust_kernel_dir(cache_dir, series))
        refuse_untrusted(system, cache_dir, rust_kernel_record(cache_dir, series))
        found = recorded(system, cache_dir, series)
        if found is not None:
            problem = damage(system, cache_dir, found)
            if problem is None:
                return found
            step(
                _("the Rust-enabled kernel {series} must be built again: {problem}").format(
                    series=series, problem=problem
                )
            )
            system.remove_tree(rust_kernel_record(cache_dir, series))
        return _make(system, cache_dir, series, suite, root, step, jobs or os.cpu_count() or 1)


def _make(
    system: System,
    cache_dir: str,
    series: str,
    suite: rk.RootSuite,
    root: roots.ToolchainRoot,
    step: Step,
    jobs: int,
) -> RustKernel:
    tree = rust_kernel_tree(cache_dir, series)
    if not system.is_file(os.path.join(tree, "Makefile")):
        _unpack(system, cache_dir, series, suite, root, step)
    config = parse_config(system.read_text(os.path.join(tree, ".config")) or "")
    if not rk.configured(config):
        _configure(system, cache_dir, series, root, step)
    _build(system, cache_dir, series, root, step, jobs)
    return _record(system, cache_dir, series, root)


def _run(
    system: System,
    cache_dir: str,
    series: str,
    root: roots.ToolchainRoot,
    argv: list[str],
    timeout: float,
    on_line: Optional[Callable[[str], None]] = None,
    log: Optional[str] = None,
) -> str:
    """Run ``argv`` in the root with the kernel's directory bound; its output, or an error."""
    handle = system.open_log(log, append=True) if log else None
    try:

        def relay(line: str) -> None:
            if handle is not None:
                handle.write(line)
                handle.flush()
            if on_line is not None:
                on_line(line)

        got = system.run(
            in_root(
                root.path,
                argv,
                binds=[rust_kernel_dir(cache_dir, series)],
                as_root=system.uid() == 0,
            ),
            timeout=timeout,
            on_output=relay,
        )
    finally:
        if handle is not None:
            handle.close()
    if not got.ok:
        tail = "\n".join(got.stdout.splitlines()[-12:])
        raise ArchiveError(
            _("{command} failed in the {name} root: {error}").format(
                command=" ".join(argv[:4]), name=root.name, error=got.describe_failure()
            )
            + (f"\n{tail}" if tail else ""),
            Remediation(
                _("Read {log}; run the same kdoctor command again to resume.").format(
                    log=log or _("the output above")
                )
            ),
        )
    return got.stdout


def _unpack(
    system: System,
    cache_dir: str,
    series: str,
    suite: rk.RootSuite,
    root: roots.ToolchainRoot,
    step: Step,
) -> None:
    package = rk.source_package(series)
    tarball = os.path.join(root.path, "usr", "src", f"{package}.tar.xz")
    if not system.is_file(tarball):
        step(_("installing {package} into the {name} root").format(package=package, name=root.name))
        roots.install_packages(system, root.path, suite, [package], step)
    step(_("unpacking {package}").format(package=package))
    work = work_dir(system, rust_kernel_dir(cache_dir, series))
    try:
        got = system.run(["tar", "-xf", tarball, "-C", work], timeout=UNPACK_TIMEOUT)
        unpacked = os.path.join(work, package)
        if not got.ok or not system.is_file(os.path.join(unpacked, "Makefile")):
            raise ArchiveError(
                _("unpacking {tarball} failed: {error}").format(
                    tarball=tarball, error=got.describe_failure()
                ),
                Remediation(_("Free some disk space and run the same command again.")),
            )
        tree = rust_kernel_tree(cache_dir, series)
        system.remove_tree(tree)
        system.rename(unpacked, tree)
    finally:
        system.remove_tree(work)


def _configure(
    system: System, cache_dir: str, series: str, root: roots.ToolchainRoot, step: Step
) -> None:
    tree = rust_kernel_tree(cache_dir, series)
    log = rust_kernel_log(cache_dir, series, "config")

    def run(argv: list[str]) -> str:
        return _run(system, cache_dir, series, root, argv, CONFIG_TIMEOUT, log=log)

    step(_("checking that the {name} root's toolchain can build Rust").format(name=root.name))
    run(["make", "-C", tree, "rustavailable"])
    step(
        _("configuring: tinyconfig, then {enabled} on and {disabled} off").format(
            enabled=", ".join(rk.ENABLE), disabled=", ".join(rk.DISABLE)
        )
    )
    run(["make", "-C", tree, "tinyconfig"])
    switches: list[str] = []
    for option in rk.ENABLE:
        switches += ["--enable", option]
    for option in rk.DISABLE:
        switches += ["--disable", option]
    switches += ["--set-str", "LOCALVERSION", rk.LOCALVERSION]
    run([os.path.join(tree, "scripts", "config"), "--file", os.path.join(tree, ".config"),
         *switches])  # fmt: skip
    run(["make", "-C", tree, "olddefconfig"])
    config = parse_config(system.read_text(os.path.join(tree, ".config")) or "")
    dropped = [o for o in rk.ENABLE if config.get(f"CONFIG_{o}") != "y"]
    if dropped:
        raise ArchiveError(
            _("olddefconfig dropped {options}: something they depend on is missing").format(
                options=", ".join(f"CONFIG_{o}" for o in dropped)
            ),
            Remediation(_("Read {log} and make rustavailable's answer in it.").format(log=log)),
        )
    kept = [o for o in rk.DISABLE if config.get(f"CONFIG_{o}") == "y"]
    if kept:  # rk.configured would reject this .config: the kernel would be rebuilt every time
        raise ArchiveError(
            _("olddefconfig turned {options} back on: something selects them").format(
                options=", ".join(f"CONFIG_{o}" for o in kept)
            ),
            Remediation(_("Read {log} and make rustavailable's answer in it.").format(log=log)),
        )


def _build(
    system: System,
    cache_dir: str,
    series: str,
    root: roots.ToolchainRoot,
    step: Step,
    jobs: int,
) -> None:
    tree = rust_kernel_tree(cache_dir, series)
    log = rust_kernel_log(cache_dir, series, "build")
    step(
        _(
            "building kernel {series} with Rust ({jobs} jobs; about {minutes} min on 2 cores; "
            "log: {log})"
        ).format(series=series, jobs=jobs, minutes=rk.BUILD_MINUTES, log=log)
    )
    started = time.monotonic()
    done = [0, 0.0]  # objects, when last told

    def on_line(line: str) -> None:
        words = line.split()
        if len(words) >= 2 and words[0].isupper():
            done[0] += 1
            now = time.monotonic()
            if words[0] in ("RUSTC", "LD", "BUILD") or now - done[1] > 30:
                done[1] = now
                step(
                    _("{stage} {what} ({count} steps, {minutes:.0f} min)").format(
                        stage=words[0],
                        what=os.path.basename(words[-1]),
                        count=done[0],
                        minutes=(now - started) / 60,
                    )
                )

    _run(
        system, cache_dir, series, root, ["make", "-C", tree, f"-j{jobs}", "bzImage", "modules"],
        BUILD_TIMEOUT, on_line, log,
    )  # fmt: skip


def _record(system: System, cache_dir: str, series: str, root: roots.ToolchainRoot) -> RustKernel:
    tree = rust_kernel_tree(cache_dir, series)
    release = (system.read_text(os.path.join(tree, RELEASE_FILE)) or "").strip()
    config = parse_config(system.read_text(os.path.join(tree, ".config")) or "")
    image = rust_kernel_image(cache_dir, series)
    kernel = RustKernel(
        series=series,
        release=release,
        kdir=tree,
        image=image,
        root=root.path,
        root_name=root.name,
        toolchain=roots.versions_in(system, root.path),
        rustc=kconfig_rustc(config),
        bindgen=kconfig_bindgen(config),
        compiler="clang" if config.get("CONFIG_CC_IS_CLANG") == "y" else "gcc",
        enabled=rk.ENABLE,
        disabled=rk.DISABLE,
        image_sha256=sha256_of(system, image),
    )
    data = {
        **kernel.to_json(),
        "root_name": root.name,
        "image_sha256": kernel.image_sha256,
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    system.write_file(rust_kernel_record(cache_dir, series), json.dumps(data, indent=1))
    return kernel
