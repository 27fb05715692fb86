"""Kernels as cached artefacts: the private apt configuration, release and series resolution,
unpacking and relocation, the unknown-release message, locks, interrupted and damaged fetches."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Callable, Optional

import pytest
from packaging.version import Version

from kdoctor.knowledge import debian_kernels as dk
from kdoctor.model.cache_layout import tree_dir
from kdoctor.pipeline.kernels import archive as ka
from kdoctor.pipeline.kernels import fetch as kernel_fetch
from tests.fake_system import FakeSystem, Reply

CACHE = "/home/u/.cache/kdoctor"
R510 = "5.10.0-46-amd64"
R612 = "6.12.118+deb13-amd64"

SEARCH = {
    "bullseye": f"linux-headers-5.10.0-45-amd64 - x\nlinux-headers-{R510} - x\n"
    "linux-headers-5.10.0-46-cloud-amd64 - x\nlinux-headers-6.1.0-0.deb11.52-amd64 - x\n",
    "bookworm": "linux-headers-6.1.0-57-amd64 - x\nlinux-headers-6.1.0-9-amd64 - x\n",
    "trixie": f"linux-headers-{R612} - x\nlinux-headers-6.12.41+deb13-amd64 - x\n",
}
ELF_NEW = b"\x7fELF....GLIBC_2.34\x00GLIBC_2.38\x00"
ELF_OLD = b"\x7fELF....GLIBC_2.34\x00"


def _deb_contents(release: str, name: str) -> dict[str, bytes]:
    common = f"linux-headers-{release.rsplit('-', 1)[0]}-common"
    kdir = f"usr/src/linux-headers-{release}"
    if name == f"linux-headers-{release}":
        return {
            f"{kdir}/Makefile": f"include /usr/src/{common}/Makefile\n".encode(),
            f"{kdir}/.config": b"CONFIG_MODULES=y\nCONFIG_DEBUG_INFO_BTF_MODULES=y\n",
            f"{kdir}/Module.symvers": b"0x1\tprintk\tvmlinux\tEXPORT_SYMBOL\n",
            f"{kdir}/.kernelvariables": b"CCACHE = ccache\nCC = $(CROSS_COMPILE)gcc-14\n",
            f"{kdir}/include/config/auto.conf": b"CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT=y\n"
            b"CONFIG_DEBUG_INFO_BTF_MODULES=y\nCONFIG_MODULES=y\n",
            f"lib/modules/{release}/build": b"(absolute link)",
        }
    if name.startswith("linux-kbuild-"):
        return {
            f"usr/lib/{name}/scripts/mod/modpost": ELF_NEW,
            f"usr/lib/{name}/scripts/basic/fixdep": ELF_OLD,
            f"usr/lib/{name}/scripts/Makefile.build": b"# make\n",
        }
    if name.startswith("linux-image-"):
        return {f"boot/vmlinuz-{release}": b"MZ kernel " + release.encode()}
    if name == "libc6":
        return {"usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": b"\x7fELF loader"}
    return {f"{common_path(name)}/Makefile": b"# the common Makefile\n"}


def common_path(name: str) -> str:
    return f"usr/src/{name}"


class ArchiveMachine(FakeSystem):
    """A machine whose apt answers from the private configuration only, whose downloads and
    dpkg-deb write into the fake file system, and whose locks really exclude each other."""

    def __init__(self, release: str = R612, **kwargs: object) -> None:
        self.kernel = release
        self.downloads: list[tuple[str, ...]] = []
        self.apt_configs: list[str] = []
        self.fail_unpack: Optional[str] = None
        self.real_locks: dict[str, threading.Lock] = {}
        programs = {
            n: f"/usr/bin/{n}" for n in ("apt-get", "apt-cache", "dpkg-deb", "getconf", "gcc")
        }
        super().__init__(
            programs=programs,
            maybe_handlers={  # the whole machine: what a test asks of it is its business
                "apt-get": self._apt_get,
                "apt-cache": self._apt_cache,
                "dpkg-deb": self._dpkg_deb,
            },
            maybe={"getconf GNU_LIBC_VERSION": "glibc 2.36\n", "gcc -dumpversion": "12\n"},
            kernel_release="6.1.0-50-amd64",
            **kwargs,  # type: ignore[arg-type]
        )

    # apt through APT_CONFIG only
    def _suite(self, env: Mapping[str, str]) -> str:
        config = env.get("APT_CONFIG", "")
        assert config.startswith(f"{CACHE}/apt/"), "apt must use the private configuration"
        self.apt_configs.append(config)
        return config.split("/")[-2]

    def _apt_get(
        self, argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]
    ) -> Optional[Reply]:
        self._suite(env)
        if argv[1] == "update":
            return Reply()
        assert argv[1] == "download" and cwd
        self.downloads.append(argv[2:])
        for name in argv[2:]:
            self.files[os.path.join(cwd, f"{name}_1_amd64.deb")] = _debfile(name)
        return Reply()

    def _apt_cache(
        self, argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]
    ) -> Optional[Reply]:
        suite = self._suite(env)
        if argv[1] == "search":
            return Reply(SEARCH[suite])
        if argv[1] == "depends":
            release = argv[2][len("linux-headers-") :]
            base = release.rsplit("-", 1)[0]
            kbuild = "linux-kbuild-6.12.118+deb13" if "6.12" in release else "linux-kbuild-5.10"
            return Reply(
                f"{argv[2]}\n  Depends: linux-headers-{base}-common\n"
                f"  Depends: {kbuild}\n  Depends: gcc-14\n"
            )
        if argv[1] == "show":
            name = argv[-1]
            return Reply(f"Package: {name}\nSHA256: {hashlib.sha256(_debfile(name)).hexdigest()}\n")
        return None

    def _dpkg_deb(
        self, argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]
    ) -> Optional[Reply]:
        deb, root = argv[2], argv[3]
        name = os.path.basename(deb).split("_", 1)[0]
        if self.fail_unpack and name.startswith(self.fail_unpack):
            return Reply(stderr="dpkg-deb: killed", exit_code=137)
        for rel, data in _deb_contents(self.kernel, name).items():
            self.files[os.path.join(root, rel)] = data
        return Reply()

    @contextmanager
    def lock(self, path: str, on_wait: Optional[Callable[[str], None]] = None) -> Iterator[None]:
        with self._lock:
            real = self.real_locks.setdefault(path, threading.Lock())
        with real:
            self.locked.append(path)
            yield


def _debfile(name: str) -> bytes:
    return f"!<arch> deb of {name}".encode()


# -- pure knowledge -------------------------------------------------------------------------
def test_the_private_apt_configuration_names_only_the_cache() -> None:
    base = f"{CACHE}/apt/trixie"
    text = dk.apt_config(base)
    for key in (
        "Dir::State ",
        "Dir::State::status",
        "Dir::Cache ",
        "Dir::Etc ",
        "Dir::Etc::sourcelist",
        "Dir::Etc::parts",
    ):
        line = next(line for line in text.splitlines() if line.startswith(key))
        assert f'"{base}/' in line
    assert '"/etc/apt' not in text and "/var/lib/dpkg" not in text
    sources = dk.sources_list("trixie")
    assert "signed-by=/usr/share/keyrings/debian-archive-keyring.gpg" in sources
    assert " trixie main" in sources and "trixie-security main" in sources


@pytest.mark.parametrize(
    ("spec", "suite"),
    [
        ("5.10", "bullseye"),
        ("6.1", "bookworm"),
        ("6.12", "trixie"),
        (R510, "bullseye"),
        ("6.1.0-50-amd64", "bookworm"),
        (R612, "trixie"),
        ("6.1.0-0.deb11.52-amd64", "bullseye"),
        ("4.19", None),
        ("6.6.1-custom", None),
    ],
)
def test_a_release_or_series_belongs_to_its_suite(spec: str, suite: Optional[str]) -> None:
    assert dk.suite_of(spec) == suite


def test_the_newest_release_of_a_series_is_the_suites_own() -> None:
    found = dk.releases_in(SEARCH["bullseye"])
    assert found[0] == "6.1.0-0.deb11.52-amd64"  # a backport is listed ...
    assert dk.newest_of(found, "5.10") == R510  # ... but never the series' newest
    assert "5.10.0-46-cloud-amd64" not in found
    assert dk.newest_of(dk.releases_in(SEARCH["bookworm"]), "6.1") == "6.1.0-57-amd64"


def test_unpacked_paths_are_relocated_and_the_host_compiler_named() -> None:
    root = f"{CACHE}/kernels/{R612}/root"
    moved = dk.relocated_makefile("include /usr/src/linux-headers-6.12-common/Makefile\n", root)
    assert moved == f"include {root}/usr/src/linux-headers-6.12-common/Makefile\n"
    kv = dk.host_compiler_variables("CCACHE = ccache\nCC = $(CROSS_COMPILE)gcc-14\n", "gcc")
    assert kv == "CCACHE = ccache\nCC = gcc\n"
    conf = dk.without_options("CONFIG_A=y\nCONFIG_DEBUG_INFO_BTF_MODULES=y\n", dk.PAHOLE_OPTIONS)
    assert conf == "CONFIG_A=y\n"
    assert dk.glibc_needed(ELF_NEW) == Version("2.38")
    assert dk.glibc_of("glibc 2.36") == Version("2.36")


# -- resolution and the archive -------------------------------------------------------------
def test_a_series_resolves_to_the_newest_release_through_the_private_apt() -> None:
    system = ArchiveMachine()
    assert ka.resolve(system, CACHE, "6.12") == (R612, "trixie")
    assert ka.resolve(system, CACHE, "5.10") == (R510, "bullseye")
    assert system.read_text(f"{CACHE}/apt/trixie/etc/sources.list") == dk.sources_list("trixie")
    assert not any(p.startswith(("/etc/", "/var/lib/dpkg")) for p, _ in system.writes)


def test_without_refresh_nothing_is_written_and_unread_suites_are_skipped() -> None:
    system = ArchiveMachine()
    with pytest.raises(ka.ArchiveError):
        ka.resolve(system, CACHE, "6.12", refresh=False)
    assert system.writes == [] and system.runs == []


def test_an_unknown_release_lists_what_the_archive_offers() -> None:
    system = ArchiveMachine()
    with pytest.raises(ka.ArchiveError) as caught:
        ka.resolve(system, CACHE, "6.6")
    message = str(caught.value)
    assert "no Debian suite offers kernel 6.6" in message
    for suite, release in (("bullseye", R510), ("bookworm", "6.1.0-57-amd64"), ("trixie", R612)):
        assert f"{suite} (" in message and release in message
    # each suite lists its own series first, not a backport
    assert "bullseye (5.10): 5.10.0-46-amd64, 5.10.0-45-amd64;" in message
    assert "kdoctor test --kernels 5.10" in caught.value.remediation.commands


# -- fetching -------------------------------------------------------------------------------
def _fetch(
    system: ArchiveMachine, release: str = R612, suite: str = "trixie"
) -> kernel_fetch.CachedKernel:
    return kernel_fetch.ensure(system, CACHE, release, suite)


def test_a_fetch_unpacks_relocates_and_adapts_into_the_cache_only() -> None:
    system = ArchiveMachine()
    got = _fetch(system)
    root = tree_dir(CACHE, R612)
    assert got.kdir == f"{root}/usr/src/linux-headers-{R612}"
    assert system.read_text(f"{got.kdir}/Makefile") == (
        f"include {root}/usr/src/linux-headers-6.12.118+deb13-common/Makefile\n"
    )
    assert "CC = gcc\n" in (system.read_text(f"{got.kdir}/.kernelvariables") or "")
    auto = system.read_text(f"{got.kdir}/include/config/auto.conf") or ""
    assert "MIN_FUNCTION_ALIGNMENT" not in auto and "CONFIG_MODULES=y" in auto
    assert "BTF_MODULES" not in (system.read_text(f"{got.kdir}/.config") or "")
    assert not system.exists(f"{root}/lib/modules")
    # modpost needs GLIBC_2.38: wrapped to run with trixie's loader; fixdep untouched
    modpost = f"{root}/usr/lib/linux-kbuild-6.12.118+deb13/scripts/mod/modpost"
    wrapper = system.read_text(modpost) or ""
    assert wrapper.startswith("#!/bin/sh\nexec ") and f"{root}/usr/lib/x86_64-linux-gnu" in wrapper
    assert system.read_bytes(modpost + kernel_fetch.ELF_SUFFIX) == ELF_NEW
    assert system.modes[modpost] == 0o755
    assert (
        system.read_bytes(f"{root}/usr/lib/linux-kbuild-6.12.118+deb13/scripts/basic/fixdep")
        == ELF_OLD
    )
    assert system.read_bytes(got.image) == f"MZ kernel {R612}".encode()
    assert kernel_fetch.damage(system, CACHE, R612) is None
    debs = system.listdir(f"{CACHE}/apt/trixie/debs")
    assert not [n for n in debs if n.endswith(".deb")]  # unpacked for good: not kept twice
    for path, _ in system.writes:
        assert path.startswith(CACHE + "/"), path
    assert not any(p.startswith(("/boot", "/usr/src", "/lib/modules")) for p in system.files)


def test_a_second_run_reuses_the_tree_without_downloading() -> None:
    system = ArchiveMachine()
    _fetch(system)
    first = len(system.downloads)
    _fetch(system)
    assert len(system.downloads) == first


def test_an_interrupted_fetch_is_finished_by_the_rerun() -> None:
    system = ArchiveMachine()
    system.fail_unpack = "linux-image-"
    with pytest.raises(ka.ArchiveError):
        _fetch(system)
    rdir = f"{CACHE}/kernels/{R612}"
    assert kernel_fetch.cached(system, CACHE, R612) is None  # no manifest: not complete
    system.dirs[f"{rdir}/.partial-killed"] = []  # what a killed run leaves
    system.fail_unpack = None
    downloads = len(system.downloads)
    got = _fetch(system)
    assert kernel_fetch.damage(system, CACHE, R612) is None and got.release == R612
    assert not any(n.startswith(".partial-") for n in system.listdir(rdir))
    # the packages downloaded before were verified and kept: only libc6 was fetched again
    assert all(names == ("libc6",) for names in system.downloads[downloads:])


def test_a_damaged_cached_artefact_is_detected_and_fetched_again() -> None:
    system = ArchiveMachine()
    got = _fetch(system)
    system.files[f"{got.kdir}/Module.symvers"] = b"truncated"
    assert "Module.symvers" in (kernel_fetch.damage(system, CACHE, R612) or "")
    system.files[f"{CACHE}/apt/trixie/debs/linux-headers-{R612}_1_amd64.deb"] = b"bitrot"
    steps: list[str] = []
    kernel_fetch.ensure(system, CACHE, R612, "trixie", steps.append)
    assert any("damaged (Module.symvers" in s for s in steps)
    assert kernel_fetch.damage(system, CACHE, R612) is None
    # the rotten .deb failed the archive's checksum and was downloaded again
    assert any(f"linux-headers-{R612}" in names for names in system.downloads[1:])


def test_a_damaged_image_is_named_as_the_image() -> None:
    system = ArchiveMachine()
    got = _fetch(system)
    system.files[got.image] = b"MZ changed"
    assert "sha256" in (kernel_fetch.damage(system, CACHE, R612) or "")


def test_concurrent_fetches_share_one_download() -> None:
    system = ArchiveMachine()
    results: list[kernel_fetch.CachedKernel] = []
    threads = [threading.Thread(target=lambda: results.append(_fetch(system))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3 and len({r.kdir for r in results}) == 1
    headers = [names for names in system.downloads if f"linux-headers-{R612}" in names]
    assert len(headers) == 1  # the others waited for the lock and found the tree
    assert tree_dir(CACHE, R612) in system.locked
