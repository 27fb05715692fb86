"""Rust-enabled kernels, the pure parts: kernel specs (``6.12+rust``, ``rust``), which root
builds which series, package versions read from a dpkg database, the configuration kdoctor
requires, the cost shown in the plan, where they live in the cache, and the command line that
runs a command in a toolchain root (run here through its shell program with fake mount/chroot)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Optional

import pytest

from kdoctor.knowledge import rust_kernels as rk
from kdoctor.knowledge.chroot import BASE_ENV, in_root
from kdoctor.model import cache_layout as layout
from tests.conftest import tool

C = "/home/u/.cache/kdoctor"


# -- specs and series ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "series"),
    [
        ("6.12+rust", "6.12"),
        ("7.3+rust", "7.3"),
        ("10.20+rust", "10.20"),
        ("rust", ""),  # the newest: told once the root's package lists are read
        ("6.12", None),  # a Debian series, not a Rust-enabled kernel
        ("+rust", None),
        ("6+rust", None),
        ("6.12.118+rust", None),
        ("6.12+Rust", None),
        ("6.12+rustx", None),
        ("rust+rust", None),
        ("6.1.0-56-amd64", None),
        ("", None),
    ],
)
def test_a_spec_names_a_series_or_the_newest_or_nothing(spec: str, series: Optional[str]) -> None:
    assert rk.series_of_spec(spec) == series
    assert rk.is_rust_spec(spec) == (series is not None)


@pytest.mark.parametrize("series", ["6.12", "7.2", "10.0"])
def test_spec_of_is_what_series_of_spec_reads_back(series: str) -> None:
    assert rk.series_of_spec(rk.spec_of(series)) == series
    assert rk.is_rust_spec(rk.spec_of(series))


def test_trixie_builds_its_own_series_and_backports_build_every_newer_one() -> None:
    stable = rk.root_for(rk.STABLE_SERIES)
    assert stable.suite == "trixie" and stable.extra == () and stable.prefer is None
    for series in ("7.2", "7.3", "6.13"):
        newer = rk.root_for(series)
        assert newer.suite == "trixie"  # a backport root is a trixie root with backports on
        assert newer.prefer == "trixie-backports" and newer.extra == ("trixie-backports",)
        assert newer != stable
    assert {r.name for r in rk.ROOTS} == {rk.root_for("6.12").name, rk.root_for("7.3").name}


def test_the_newest_series_compares_numbers_not_strings() -> None:
    names = [
        "linux-source-6.12",
        "linux-source-7.9",
        "linux-source-7.10",
        "linux-source",  # the metapackage
        "linux-source-7.10-rt",  # not a series
        "linux-headers-8.0",  # not a source package
    ]
    assert rk.newest_series(names) == "7.10"
    assert rk.newest_series(["linux-source-6.12"]) == "6.12"
    assert rk.newest_series(["linux-source", "linux-headers-7.3"]) is None
    assert rk.newest_series([]) is None
    assert rk.series_key("7.10") > rk.series_key("7.9") > rk.series_key("6.12")
    assert rk.series_key("rust") == (0, 0)


# -- versions from dpkg ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("package_version", "upstream"),
    [
        ("6.12.118-1", "6.12.118"),
        ("1.85.1+dfsg1-1+deb13u1", "1.85.1"),
        ("1.98.1+dfsg1-1~bpo13+1", "1.98.1"),
        ("1:19.0-63", "19.0"),
        ("4:14.2.0-1", "14.2.0"),
        ("0.71.1-4", "0.71.1"),
        ("1.2", "1.2"),  # a native package: no revision
        ("2:1.2~rc1", "1.2"),
    ],
)
def test_upstream_version_drops_epoch_revision_and_suffixes(
    package_version: str, upstream: str
) -> None:
    assert rk.upstream_version(package_version) == upstream


STATUS = """\
Package: rustc
Status: install ok installed
Priority: optional
Version: 1.85.1+dfsg1-1
Description: Rust systems programming language
 Version: 0.0 in a description line is not a field

Package: bindgen
Status: hold ok installed
Version: 0.71.1-4

Package: gcc
Status: deinstall ok config-files
Version: 4:14.2.0-1

Package: libclang-dev
Status: install ok half-installed
Version: 1:19.0-63

Package: rust-src
Status: install ok unpacked
Version: 1.85.1+dfsg1-1

Package: make
Status: install ok installed
Version: 4.4.1-2
"""


def test_dpkg_versions_keeps_the_installed_packages_asked_for() -> None:
    found = rk.dpkg_versions(STATUS, rk.RECORDED)
    # removed (config files left), half-installed and unpacked are not installed; make is not
    # asked for; a held package is installed all the same
    assert found == {"rustc": "1.85.1+dfsg1-1", "bindgen": "0.71.1-4"}
    assert rk.dpkg_versions(STATUS, ("make",)) == {"make": "4.4.1-2"}
    assert rk.dpkg_versions("", rk.RECORDED) == {}


# -- the configuration ----------------------------------------------------------------------------
def config(**changes: str) -> dict[str, str]:
    """A configuration with every option kdoctor sets, then ``changes`` (option -> value)."""
    values = {f"CONFIG_{o}": "y" for o in rk.ENABLE}
    values.update({f"CONFIG_{k}": v for k, v in changes.items()})
    return {k: v for k, v in values.items() if v}


def test_configured_needs_every_enabled_option_on_and_every_disabled_one_off() -> None:
    assert rk.configured(config())
    assert rk.configured(config(MODVERSIONS="n", GCC_PLUGINS=""))  # off, or absent
    for option in rk.ENABLE:
        assert not rk.configured(config(**{option: ""})), option
        assert not rk.configured(config(**{option: "m"})), option
    for option in rk.DISABLE:
        assert not rk.configured(config(**{option: "y"})), option
    assert not rk.configured({})


def test_rust_is_among_the_options_set_and_its_blockers_are_kept_off() -> None:
    assert "RUST" in rk.ENABLE and "MODULES" in rk.ENABLE and "PRINTK_TIME" in rk.ENABLE
    assert not set(rk.ENABLE) & set(rk.DISABLE)
    assert set(rk.RECORDED) <= set(rk.TOOLCHAIN_PACKAGES)


def test_the_cost_names_the_source_package_the_root_and_every_option() -> None:
    stable = rk.rust_kernel_cost("6.12+rust")
    newer = rk.rust_kernel_cost("7.3+rust")
    newest = rk.rust_kernel_cost("rust")
    assert "linux-source-6.12" in stable and f"the {rk.TRIXIE.name} toolchain" in stable
    assert "linux-source-7.3" in newer and f"the {rk.TRIXIE_BACKPORTS.name} toolchain" in newer
    assert "the newest linux-source" in newest and rk.TRIXIE_BACKPORTS.name in newest
    minutes = rk.ROOT_MINUTES + rk.BUILD_MINUTES
    for said in (stable, newer, newest):
        assert f"{rk.DOWNLOAD_MB} MB" in said and f"{minutes} min" in said
        assert "nothing is installed on the host" in said
        assert ", ".join(rk.ENABLE) in said and ", ".join(rk.DISABLE) in said


# -- where they live in the cache -------------------------------------------------------------
def test_the_rust_kernels_paths_under_the_cache() -> None:
    top = f"{C}/rust-kernels"
    assert layout.rust_kernels_dir(C) == top
    assert layout.toolchain_roots_dir(C) == f"{top}/roots"
    assert layout.toolchain_root(C, "trixie") == f"{top}/roots/trixie"
    assert layout.toolchain_root_record(C, "trixie") == f"{top}/roots/trixie.json"
    assert layout.rust_kernel_dir(C, "6.12") == f"{top}/6.12"
    assert layout.rust_kernel_tree(C, "6.12") == f"{top}/6.12/linux"
    assert layout.rust_kernel_record(C, "6.12") == f"{top}/6.12/kernel.json"
    assert layout.rust_kernel_image(C, "6.12") == f"{top}/6.12/linux/arch/x86/boot/bzImage"
    assert layout.rust_kernel_log(C, "6.12", "build") == f"{C}/logs/rust-kernel-6.12-build.log"


def test_a_kdir_is_a_rust_kernel_only_when_it_is_a_series_tree() -> None:
    tree = layout.rust_kernel_tree(C, "7.3")
    assert layout.in_rust_kernels(C, tree)
    assert layout.rust_series_of(C, tree) == "7.3"
    assert layout.rust_series_of(C, tree + "/") == "7.3"
    assert layout.rust_series_of(C, os.path.join(tree, "arch")) is None
    assert layout.rust_series_of(C, layout.rust_kernel_dir(C, "7.3")) is None
    assert layout.rust_series_of(C, layout.toolchain_root(C, "trixie")) is None
    assert not layout.in_rust_kernels(C, layout.rust_kernels_dir(C))
    assert not layout.in_rust_kernels(C, f"{C}/rust-kernelsx/7.3/linux")
    assert layout.rust_series_of(C, f"{C}/rust-kernelsx/7.3/linux") is None
    assert layout.rust_series_of(C, layout.kdir_of(C, "6.1.0-56-amd64")) is None
    assert layout.rust_series_of("/other/cache", tree) is None


# -- the command line that enters a root --------------------------------------------------------
ROOT = f"{C}/rust-kernels/roots/trixie"


def entered(argv: list[str]) -> tuple[list[str], list[str]]:
    """(unshare's options, what follows ``sh -c PROGRAM``) of an :func:`in_root` argv."""
    i = argv.index("sh")
    return argv[:i], argv[i + 3 :]


def test_as_root_no_user_namespace_otherwise_root_is_mapped() -> None:
    head, _rest = entered(in_root(ROOT, ["true"]))
    assert head == ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--"]
    head, _rest = entered(in_root(ROOT, ["true"], as_root=False))
    assert "--map-root-user" in head and head[-1] == "--"
    assert set(head) - {"--map-root-user"} == {
        "unshare", "--mount", "--pid", "--fork", "--kill-child", "--"
    }  # fmt: skip


def test_the_arguments_count_the_binds_and_the_environment_is_only_what_is_asked() -> None:
    argv = in_root(
        ROOT,
        ["make", "-C", "/src/m"],
        binds=["/src/m/", "/cache", "/src/m", "/"],
        env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/opt/bin"},
        cwd="/src/m",
    )
    _head, rest = entered(argv)
    # trailing slashes dropped, each directory once, in order; "/" stays "/"
    assert rest[:6] == ["kdoctor-root", ROOT, "3", "/src/m", "/cache", "/"]
    assert rest[6:10] == ["env", "-i", "-C", "/src/m"]
    variables = rest[10:-3]
    assert variables == [
        "PATH=/opt/bin",  # what is asked wins over the base
        f"HOME={BASE_ENV['HOME']}",
        f"LC_ALL={BASE_ENV['LC_ALL']}",
        "DEBIAN_FRONTEND=noninteractive",
    ]
    assert rest[-3:] == ["make", "-C", "/src/m"]
    plain = entered(in_root(ROOT, ["true"]))[1]
    assert plain[:6] == ["kdoctor-root", ROOT, "0", "env", "-i", "-C"]
    assert plain[6] == "/" and plain[-1] == "true"
    assert plain[7:-1] == [f"{k}={v}" for k, v in BASE_ENV.items()]


def fake_tools(bin_dir: Path, log: Path, *, mount_fails: bool = False) -> None:
    """mkdir, mount and chroot that write their arguments (one a line, then ``--``) to ``log``."""
    record = f'printf "%s\\n" "${{0##*/}}" "$@" -- >> "{log}"\n'
    tool(bin_dir, "mkdir", record)
    tool(bin_dir, "mount", record + ("exit 32\n" if mount_fails else ""))
    tool(bin_dir, "chroot", record)


def calls(log: Path) -> list[list[str]]:
    found: list[list[str]] = [[]]
    for line in log.read_text().splitlines():
        if line == "--":
            found.append([])
        else:
            found[-1].append(line)
    return [c for c in found if c]


def run_program(argv: list[str], bin_dir: Path) -> subprocess.CompletedProcess[str]:
    """The shell part of an :func:`in_root` argv, run with only ``bin_dir`` on PATH."""
    i = argv.index("sh")
    return subprocess.run(
        ["/bin/sh", *argv[i + 1 :]],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_program_binds_each_directory_at_its_own_path_then_enters_the_root(
    tmp_path: Path, bin_dir: Path
) -> None:
    log = tmp_path / "log"
    fake_tools(bin_dir, log)
    module = "/src/my module"  # a space, and shell syntax: never interpolated
    argv = in_root(ROOT, ["make", "M=$(id)", "x y"], binds=[module, "/c;d"], cwd=module)
    done = run_program(argv, bin_dir)
    assert done.returncode == 0, done.stderr
    variables = [f"{k}={v}" for k, v in BASE_ENV.items()]
    assert calls(log) == [
        ["mkdir", "-p", ROOT + module],
        ["mount", "--bind", module, ROOT + module],
        ["mkdir", "-p", ROOT + "/c;d"],
        ["mount", "--bind", "/c;d", ROOT + "/c;d"],
        ["mount", "-t", "proc", "proc", f"{ROOT}/proc"],
        ["mount", "--rbind", "/dev", f"{ROOT}/dev"],
        ["chroot", ROOT, "env", "-i", "-C", module, *variables, "make", "M=$(id)", "x y"],
    ]


def test_the_program_stops_at_the_first_failing_mount(tmp_path: Path, bin_dir: Path) -> None:
    log = tmp_path / "log"
    fake_tools(bin_dir, log, mount_fails=True)
    done = run_program(in_root(ROOT, ["true"], binds=["/src/m"]), bin_dir)
    assert done.returncode == 32
    assert [c[0] for c in calls(log)] == ["mkdir", "mount"]  # never chroot
