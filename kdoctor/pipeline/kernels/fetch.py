"""A Debian kernel of any suite as a cached artefact: headers, kbuild tools and image unpacked
into ``<cache>/kernels/<release>/`` so ``KDIR`` points there and the VM boots its image.

Nothing is installed: the packages come through the suite's private apt configuration
(:mod:`kdoctor.pipeline.kernels.archive`) and are unpacked with ``dpkg-deb -x``; ``/boot``,
``/usr/src``, ``/lib/modules`` and dpkg's database are never written. The fetch holds the
tree's lock (``root.lock``), works in a ``.partial-*`` directory and moves the finished tree
into place with one rename; ``tree.json``, written last, records what was fetched, what was
adapted to the host and the sha256 of the files a build relies on, checked before each use.
The paths are :mod:`kdoctor.model.cache_layout`'s, the work directory and the image's placing
:mod:`kdoctor.pipeline.kernels.cache`'s.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from kdoctor.i18n import _
from kdoctor.knowledge import debian_kernels as dk
from kdoctor.knowledge.kernel_config import AUTO_CONF, DOT_CONFIG, parse_config
from kdoctor.machine.system import System
from kdoctor.machine.trust import refuse_untrusted
from kdoctor.model.cache_layout import (
    cached_image,
    headers_in,
    kdir_of,
    manifest_path,
    release_dir,
    tree_dir,
)
from kdoctor.model.finding import Remediation
from kdoctor.pipeline.kernels import archive as ka
from kdoctor.pipeline.kernels.cache import image_damage, place_image, work_dir
from kdoctor.pipeline.kernels.download import Downloads

Step = Callable[[str], None]
UNPACK_TIMEOUT = 300.0
ELF_SUFFIX = ".kdoctor-elf"
#: what a build reads, relative to the headers directory, checked against tree.json
CHECKED = (
    "Makefile",
    ".config",
    "Module.symvers",
    "include/config/auto.conf",
    "scripts/mod/modpost",
)


@dataclass(frozen=True)
class CachedKernel:
    release: str
    suite: str
    kdir: str
    image: str
    adapted: tuple[str, ...] = ()
    packages: tuple[str, ...] = field(default=())


def cached(system: System, cache_dir: str, release: str) -> Optional[CachedKernel]:
    """The kernel fetched before, when its manifest is there (not checked: see damage)."""
    text = system.read_text(manifest_path(cache_dir, release))
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return None
    return CachedKernel(
        release,
        str(data.get("suite", "")),
        kdir_of(cache_dir, release),
        cached_image(cache_dir, release),
        tuple(data.get("adapted", ())),
        tuple(data.get("packages", ())),
    )


def damage(system: System, cache_dir: str, release: str) -> Optional[str]:
    """Why the cached kernel cannot be trusted, or None."""
    text = system.read_text(manifest_path(cache_dir, release)) or ""
    try:
        sums = json.loads(text).get("sha256", {})
    except (ValueError, AttributeError):
        return _("its tree.json is unreadable")
    kdir = kdir_of(cache_dir, release)
    for name, digest in sorted(sums.items()):
        data = system.read_bytes(os.path.join(kdir, name))
        if data is None or hashlib.sha256(data).hexdigest() != digest:
            return _("{file} is missing or differs from what was fetched").format(file=name)
    image = cached_image(cache_dir, release)
    return image_damage(system, image) if system.exists(image) else _("its image is missing")


def ensure(
    system: System,
    cache_dir: str,
    release: str,
    suite: str,
    on_step: Optional[Step] = None,
    on_download: Optional[Downloads] = None,
) -> CachedKernel:
    """The cached kernel ``release`` of ``suite``, fetched when missing or damaged."""
    step = on_step or (lambda _t: None)
    tree = tree_dir(cache_dir, release)
    with system.lock(tree, on_wait=step):
        # its record vouches for what make and the VM will use: never one others could change
        refuse_untrusted(system, cache_dir, release_dir(cache_dir, release))
        refuse_untrusted(system, cache_dir, manifest_path(cache_dir, release))
        found = cached(system, cache_dir, release)
        if found is not None:
            problem = damage(system, cache_dir, release)
            if problem is None:
                return found
            step(
                _("the cached kernel {release} is damaged ({problem}): fetching it again").format(
                    release=release, problem=problem
                )
            )
            system.remove_tree(manifest_path(cache_dir, release))
        return _fetch(system, cache_dir, release, suite, step, on_download)


def _fetch(
    system: System,
    cache_dir: str,
    release: str,
    suite: str,
    step: Step,
    on_download: Optional[Downloads] = None,
) -> CachedKernel:
    archive = ka.archive_for(cache_dir, suite)
    ka.prepare(system, archive)
    ka.update(system, archive, step)
    wanted = ka.packages(system, archive, release)
    debs = ka.download(system, archive, wanted.names(), step, on_download)
    rdir = release_dir(cache_dir, release)
    work = work_dir(system, rdir)
    final = tree_dir(cache_dir, release)
    try:
        root = os.path.join(work, "root")
        for name in (n for n in wanted.names() if n != wanted.image):
            _unpack(system, debs[name], root, step)
        boot = os.path.join(work, "image")
        _unpack(system, debs[wanted.image], boot, step)
        adapted = _adapt(system, root, final, release, step)
        adapted += _wrap_tools(system, archive, root, final, step, on_download)
        _place_image(system, cache_dir, release, boot)
        kdir = headers_in(root, release)
        sums = {}
        for name in CHECKED:
            data = system.read_bytes(os.path.join(kdir, name))
            if data is not None:
                sums[name] = hashlib.sha256(data).hexdigest()
        system.remove_tree(final)
        system.rename(root, final)
        manifest: dict[str, Any] = {
            "release": release,
            "suite": suite,
            "packages": list(wanted.names()),
            "adapted": adapted,
            "sha256": sums,
        }
        system.write_file(manifest_path(cache_dir, release), json.dumps(manifest, indent=1))
        ka.forget(system, archive, list(debs.values()))
    finally:
        system.remove_tree(work)
    step(
        _("kernel {release} ({suite}) is in {path}").format(release=release, suite=suite, path=rdir)
    )
    return CachedKernel(
        release,
        suite,
        kdir_of(cache_dir, release),
        cached_image(cache_dir, release),
        tuple(adapted),
        wanted.names(),
    )


def _unpack(system: System, deb: str, root: str, step: Step) -> None:
    step(_("unpacking {file}").format(file=os.path.basename(deb)))
    got = system.run(["dpkg-deb", "-x", deb, root], timeout=UNPACK_TIMEOUT)
    if not got.ok:
        raise ka.ArchiveError(
            _("could not unpack {file}: {error}").format(file=deb, error=got.describe_failure()),
            Remediation(_("Remove it and rerun."), (f"rm {deb}",)),
        )


def _place_image(system: System, cache_dir: str, release: str, unpacked: str) -> None:
    image = cached_image(cache_dir, release)
    with system.lock(image):
        if system.exists(image) and image_damage(system, image) is None:
            return
        source = os.path.join(unpacked, "boot", f"vmlinuz-{release}")
        if not system.is_file(source):
            raise ka.ArchiveError(
                _("linux-image-{release} has no boot/vmlinuz-{release}").format(release=release),
                Remediation(_("Rerun with another release."), ()),
            )
        data = system.read_bytes(source) or b""
        place_image(system, source, image, hashlib.sha256(data).hexdigest(), release)


def _adapt(system: System, root: str, final: str, release: str, step: Step) -> list[str]:
    """Make the unpacked headers work from the cache and with the host's compiler."""
    done: list[str] = []
    kdir = headers_in(root, release)
    makefile = os.path.join(kdir, "Makefile")
    text = system.read_text(makefile) or ""
    moved = dk.relocated_makefile(text, final)
    if moved != text:
        system.write_file(makefile, moved)
        done.append(_("Makefile includes the common headers from the cache, not /usr/src"))
    # lib/modules/<release>/{build,source}: absolute links into /usr/src, not needed here
    system.remove_tree(os.path.join(root, "lib", "modules"))
    variables = os.path.join(kdir, ".kernelvariables")
    kv = system.read_text(variables)
    named = _named_compiler(kv or "")
    if kv is not None and named and system.which(named) is None and system.which("gcc"):
        system.write_file(variables, dk.host_compiler_variables(kv, "gcc"))
        done.append(
            _("CC: the host's gcc instead of {compiler} (not on this host)").format(compiler=named)
        )
    gcc_major = _gcc_major(system)
    drop = tuple(
        o for o, major in dk.GCC_ONLY_OPTIONS.items() if gcc_major is not None and gcc_major < major
    )
    if system.which("pahole") is None:
        drop += dk.PAHOLE_OPTIONS
    auto = os.path.join(kdir, AUTO_CONF)
    conf = system.read_text(auto, limit=4 << 20)
    drop = tuple(o for o in drop if o in parse_config(conf or ""))
    if conf is not None and drop:
        trimmed = dk.without_options(conf, drop)
        if trimmed != conf:
            system.write_file(auto, trimmed)
            dotconfig = os.path.join(kdir, DOT_CONFIG)  # what kdoctor's checks read
            config = system.read_text(dotconfig, limit=4 << 20)
            if config is not None:
                system.write_file(dotconfig, dk.without_options(config, drop))
            done.append(
                _(
                    "not set for modules: {options} (the host's gcc {version} or missing pahole "
                    "cannot do them)"
                ).format(options=", ".join(drop), version=gcc_major)
            )
    for line in done:
        step(_("adapted: {change}").format(change=line))
    return done


def _named_compiler(kernelvariables: str) -> Optional[str]:
    """The compiler Debian's ``.kernelvariables`` names (``gcc-10``, ``gcc-14``)."""
    for line in kernelvariables.splitlines():
        name, _sep, value = line.partition("=")
        if name.strip() == "CC" and value.split():
            return value.split()[-1].replace("$(CROSS_COMPILE)", "") or None
    return None


def _gcc_major(system: System) -> Optional[int]:
    got = system.probe(["gcc", "-dumpversion"], timeout=10)
    head = got.stdout.strip().split(".")[0] if got.ok else ""
    return int(head) if head.isdigit() else None


def _walk(system: System, top: str) -> list[str]:
    found: list[str] = []
    for name in system.listdir(top):
        path = os.path.join(top, name)
        if system.is_dir(path):
            found += _walk(system, path)
        elif system.is_file(path):
            found.append(path)
    return found


def _wrap_tools(
    system: System,
    archive: ka.Archive,
    root: str,
    final: str,
    step: Step,
    on_download: Optional[Downloads] = None,
) -> list[str]:
    """The suite's kbuild tools that need a newer C library than the host's run through the
    suite's own loader and libc, fetched into the tree (trixie's modpost and objtool)."""
    host = dk.glibc_of(system.probe(["getconf", "GNU_LIBC_VERSION"], timeout=10).stdout)
    lib = os.path.join(root, "usr", "lib")
    needy: list[str] = []
    for kbuild in (n for n in system.listdir(lib) if n.startswith("linux-kbuild-")):
        for path in _walk(system, os.path.join(lib, kbuild)):
            if system.read_bytes(path, limit=4) != b"\x7fELF":
                continue
            needed = dk.glibc_needed(system.read_bytes(path) or b"")
            if host is not None and needed is not None and needed > host:
                needy.append(path)
    if not needy:
        return []
    debs = ka.download(system, archive, ("libc6",), step, on_download)
    _unpack(system, debs["libc6"], root, step)
    ka.forget(system, archive, [debs["libc6"]])
    libdir = os.path.join("usr", "lib", "x86_64-linux-gnu")
    loader = os.path.join(final, libdir, "ld-linux-x86-64.so.2")
    for path in needy:
        real = path + ELF_SUFFIX
        system.rename(path, real)
        inside = os.path.relpath(real, root)
        script = dk.wrapper_script(loader, os.path.join(final, libdir), os.path.join(final, inside))
        system.write_file(path, script, mode=0o755)
    names = ", ".join(sorted(os.path.basename(p) for p in needy))
    return [
        _(
            "{tools} run with {suite}'s C library (they need a newer glibc than the host's {glibc})"
        ).format(tools=names, suite=archive.suite, glibc=host)
    ]
