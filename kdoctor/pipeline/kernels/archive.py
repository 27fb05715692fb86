"""Debian's archive through a private apt configuration under kdoctor's cache.

Each suite (bullseye, bookworm, trixie) gets ``<cache>/apt/<suite>``: its own ``sources.list``
signed by the host's Debian keyring, its own lists and state, read with ``APT_CONFIG`` so the
host's ``sources.list``, ``apt.conf.d`` and dpkg's database are never read nor changed.
``apt-get update`` and ``apt-get download`` verify what they fetch against the archive's signed
checksums; a ``.deb`` kept from an interrupted run is checked against the same checksums
(``apt-cache show``) before it is used again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from dataclasses import dataclass
from typing import Callable, Optional

from kdoctor.i18n import _
from kdoctor.knowledge import debian_kernels as dk
from kdoctor.machine.system import Probe, System
from kdoctor.machine.trust import refuse_untrusted
from kdoctor.model.cache_layout import PARTIAL, apt_dir
from kdoctor.model.finding import Remediation
from kdoctor.pipeline.kernels.download import Downloads, apt_download

Step = Callable[[str], None]

UPDATE_TIMEOUT = 300.0
QUERY_TIMEOUT = 60.0
DOWNLOAD_TIMEOUT = 900.0
#: lists younger than this are not refreshed
LISTS_FRESH_S = 24 * 3600.0


class ArchiveError(Exception):
    """The archive cannot serve what was asked; ``remediation`` names the next step."""

    def __init__(self, message: str, remediation: Remediation) -> None:
        super().__init__(message)
        self.remediation = remediation


@dataclass(frozen=True)
class Archive:
    """One suite's private apt configuration."""

    suite: str
    base: str

    @property
    def config(self) -> str:
        return os.path.join(self.base, "apt.conf")

    @property
    def debs(self) -> str:
        """Where downloaded packages are kept until they are unpacked."""
        return os.path.join(self.base, "debs")

    @property
    def env(self) -> dict[str, str]:
        return {"APT_CONFIG": self.config}

    def lists_stamp(self) -> str:
        return os.path.join(self.base, "state", "lists", "kdoctor-updated")


def archive_for(cache_dir: str, suite: str) -> Archive:
    return Archive(suite, apt_dir(cache_dir, suite))


def trusted(system: System, archive: Archive) -> None:
    """Refuse (:class:`~kdoctor.machine.trust.UntrustedPlace`, exit 3) a private apt
    configuration another user could change: its ``apt.conf.d`` can make apt run commands, its
    lists name the checksums apt accepts packages by."""
    cache = os.path.dirname(os.path.dirname(archive.base.rstrip("/")))
    refuse_untrusted(system, cache, os.path.join(archive.base, "etc"), tree=True)
    refuse_untrusted(system, cache, archive.config)
    # the directories apt keeps its lists and packages in, not what is in them: apt gives its
    # own sandbox user (_apt) the "partial" and "auxfiles" directories it downloads into
    for sub in ("state", "state/lists", "cache", "cache/archives", "debs"):
        refuse_untrusted(system, cache, os.path.join(archive.base, sub))


def prepare(system: System, archive: Archive, arch: str = "amd64") -> None:
    """Write the suite's configuration and directories (idempotent)."""
    trusted(system, archive)
    base = archive.base
    for sub in (
        "etc/sources.list.d",
        "etc/preferences.d",
        "etc/apt.conf.d",
        "state/lists/partial",
        "cache/archives/partial",
        "debs",
    ):
        system.makedirs(os.path.join(base, sub))
    if not system.is_file(os.path.join(base, "state", "status")):
        system.write_file(os.path.join(base, "state", "status"), "")
    wanted = {
        archive.config: dk.apt_config(base, arch),
        os.path.join(base, "etc", "sources.list"): dk.sources_list(archive.suite),
    }
    for path, text in wanted.items():
        if system.read_text(path) != text:
            system.write_file(path, text)


def has_lists(system: System, archive: Archive) -> bool:
    return system.is_file(archive.lists_stamp())


def update(
    system: System, archive: Archive, on_step: Optional[Step] = None, *, force: bool = False
) -> None:
    """``apt-get update`` on the private configuration, unless its lists are fresh."""
    stamp = archive.lists_stamp()
    when = system.mtime(stamp)
    if not force and when is not None and time.time() - when < LISTS_FRESH_S:
        return
    with system.lock(os.path.join(archive.base, "lists")):
        if on_step:
            on_step(
                _("reading the {suite} archive (apt-get update, private configuration)").format(
                    suite=archive.suite
                )
            )
        trusted(system, archive)
        got = system.run(["apt-get", "update"], env=archive.env, timeout=UPDATE_TIMEOUT)
        if not got.ok:
            raise ArchiveError(
                _("could not read the {suite} archive: {error}").format(
                    suite=archive.suite, error=got.describe_failure()
                ),
                Remediation(
                    _("Check that deb.debian.org is reachable, then rerun."),
                    (f"APT_CONFIG={archive.config} apt-get update",),
                ),
            )
        system.write_file(stamp, f"{time.time():.0f}\n")


def _query(system: System, archive: Archive, argv: list[str]) -> Probe:
    trusted(system, archive)
    return system.run(argv, env=archive.env, timeout=QUERY_TIMEOUT)


def releases(system: System, archive: Archive, flavour: str = "amd64") -> list[str]:
    """Every kernel release of ``flavour`` the suite has headers for, newest first."""
    got = _query(system, archive, ["apt-cache", "search", "--names-only", "^linux-headers-[0-9]"])
    return dk.releases_in(got.stdout, flavour) if got.ok else []


def unknown_release(spec: str, offered: dict[str, list[str]]) -> ArchiveError:
    """The error for a release or series no suite has, listing what the archive offers."""
    lines = []
    for suite, found in offered.items():
        own = [r for r in found if dk.series_of(r) == dk.SUITES[suite]]
        shown = (own or found)[:4]
        lines.append(f"{suite} ({dk.SUITES[suite]}): {', '.join(shown) or _('nothing found')}")
    return ArchiveError(
        _("no Debian suite offers kernel {kernel}; the archive offers: {offered}").format(
            kernel=spec, offered="; ".join(lines)
        ),
        Remediation(
            _("Pass --kernel a series ({series}) or one of the releases listed.").format(
                series=", ".join(dk.SERIES)
            ),
            tuple(f"kdoctor test --kernels {s}" for s in dk.SERIES),
        ),
    )


def resolve(
    system: System,
    cache_dir: str,
    spec: str,
    on_step: Optional[Step] = None,
    *,
    refresh: bool = True,
) -> tuple[str, str]:
    """(release, suite) for a release or a series (the newest of the series); an
    :class:`ArchiveError` listing what the archive offers when no suite has it. Without
    ``refresh`` only lists already read are used (nothing is downloaded)."""
    suites = [dk.suite_of(spec)] if dk.suite_of(spec) else list(dk.SUITES)
    offered: dict[str, list[str]] = {}
    flavour = "amd64" if dk.is_series(spec) else dk.flavour_of(spec)
    for suite in (s for s in suites if s):
        archive = archive_for(cache_dir, suite)
        if refresh:
            prepare(system, archive)
            update(system, archive, on_step)
        elif not has_lists(system, archive):
            continue
        found = releases(system, archive, flavour)
        offered[suite] = found
        if dk.is_series(spec):
            newest = dk.newest_of(found, spec)
            if newest:
                return newest, suite
        elif spec in found:
            return spec, suite
    if len(offered) < len(dk.SUITES) and refresh:
        for suite in dk.SUITES:
            if suite not in offered:
                archive = archive_for(cache_dir, suite)
                prepare(system, archive)
                update(system, archive, on_step)
                offered[suite] = releases(system, archive)
    raise unknown_release(spec, {s: offered.get(s, []) for s in dk.SUITES})


def packages(system: System, archive: Archive, release: str) -> dk.KernelPackages:
    got = _query(system, archive, ["apt-cache", "depends", f"linux-headers-{release}"])
    if not got.ok:
        raise ArchiveError(
            _("the {suite} archive has no linux-headers-{release}").format(
                suite=archive.suite, release=release
            ),
            Remediation(_("Rerun with a release the archive offers."), ()),
        )
    found = dk.packages_for(release, got.stdout)
    for image in (found.image, f"{found.image}-unsigned"):  # the signed one may lag behind
        if archive_sha256(system, archive, image):
            return dataclasses.replace(found, image=image)
    raise ArchiveError(
        _("the {suite} archive has headers but no image of kernel {release}").format(
            suite=archive.suite, release=release
        ),
        Remediation(_("Pass --kernel an older release of the series."), ()),
    )


def archive_sha256(system: System, archive: Archive, package: str) -> Optional[str]:
    """The SHA256 the archive's signed lists give for ``package``'s candidate."""
    got = _query(system, archive, ["apt-cache", "show", "--no-all-versions", package])
    for line in got.stdout.splitlines():
        if line.startswith("SHA256:"):
            return line.split(":", 1)[1].strip()
    return None


def forget(system: System, archive: Archive, paths: list[str]) -> None:
    """Drop downloaded packages once what they hold is unpacked for good."""
    for path in paths:
        if os.path.dirname(path) == archive.debs:
            system.remove_tree(path)


def kept_deb(system: System, archive: Archive, package: str) -> Optional[str]:
    """A ``.deb`` of ``package`` downloaded before whose checksum is the archive's."""
    names = [
        n
        for n in system.listdir(archive.debs)
        if n.startswith(f"{package}_") and n.endswith(".deb")
    ]
    if not names:
        return None
    path = os.path.join(archive.debs, names[-1])
    data = system.read_bytes(path)
    wanted = archive_sha256(system, archive, package)
    if data is not None and wanted and hashlib.sha256(data).hexdigest() == wanted:
        return path
    system.remove_tree(path)  # damaged or stale: downloaded again
    return None


def download(
    system: System,
    archive: Archive,
    names: tuple[str, ...],
    on_step: Optional[Step] = None,
    on_download: Optional[Downloads] = None,
) -> dict[str, str]:
    """package -> .deb path: those kept (and verified) reused, the others downloaded (apt
    verifies them) into a partial directory and moved into ``debs`` one by one."""
    trusted(system, archive)
    found: dict[str, str] = {}
    missing = []
    for name in names:
        with system.lock(os.path.join(archive.debs, name)):
            kept = kept_deb(system, archive, name)
        if kept:
            found[name] = kept
        else:
            missing.append(name)
    if missing:
        if on_step:
            on_step(
                _("downloading {packages} from {suite}").format(
                    packages=", ".join(missing), suite=archive.suite
                )
            )
        work = system.make_temp_dir(PARTIAL, archive.debs)
        try:
            got = apt_download(
                system,
                ["apt-get", "download", *missing],
                cwd=work,
                env=archive.env,
                timeout=DOWNLOAD_TIMEOUT,
                on_download=on_download,
            )
            if not got.ok:
                raise ArchiveError(
                    _("could not download {packages}: {error}").format(
                        packages=", ".join(missing), error=got.describe_failure()
                    ),
                    Remediation(
                        _("Check the network, then rerun (what was fetched is kept)."),
                        (f"APT_CONFIG={archive.config} apt-get download " + " ".join(missing),),
                    ),
                )
            for deb in system.listdir(work):
                name = deb.split("_", 1)[0]
                if name in missing and deb.endswith(".deb"):
                    target = os.path.join(archive.debs, deb)
                    system.rename(os.path.join(work, deb), target)
                    found[name] = target
        finally:
            system.remove_tree(work)
    absent = [n for n in names if n not in found]
    if absent:
        raise ArchiveError(
            _("apt-get download gave no {packages}").format(packages=", ".join(absent)),
            Remediation(_("Rerun; the archive may be changing."), ()),
        )
    return found
