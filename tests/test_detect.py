"""detect() sees the machine only through the System: os-release, arch, uid, running kernel,
settings file; and the os-release parsing gives what the distro library gives."""

from __future__ import annotations

import os
from pathlib import Path

import distro
import pytest

from kdoctor.facts.context import detect
from kdoctor.facts.distro import parse_os_release, read_distro
from kdoctor.model.choice import RustMode, TargetSource
from kdoctor.model.context import DistroInfo, bundled_module_dir
from tests.fake_system import FakeSystem

PIN = os.path.join(bundled_module_dir(), "rust-toolchain.toml")
PIN_TEXT = '[toolchain]\nchannel = "nightly-2021-02-12"\n'

FEDORA = """NAME="Fedora Linux"
VERSION="40 (Workstation Edition)"
ID=fedora
VERSION_ID=40
VERSION_CODENAME=""
PRETTY_NAME="Fedora Linux 40 (Workstation Edition)"
"""
SAMPLES = {
    "debian12": (
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
        'VERSION_ID="12"\nVERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'
    ),
    "trixie-sid": (
        'PRETTY_NAME="Debian GNU/Linux trixie/sid"\nNAME="Debian GNU/Linux"\n'
        "VERSION_CODENAME=trixie\nID=debian\n"
    ),
    "ubuntu": (
        'PRETTY_NAME="Ubuntu 22.04.4 LTS"\nNAME="Ubuntu"\nVERSION_ID="22.04"\n'
        'VERSION="22.04.4 LTS (Jammy Jellyfish)"\nVERSION_CODENAME=jammy\nID=ubuntu\n'
        "ID_LIKE=debian\nUBUNTU_CODENAME=jammy\n"
    ),
    "fedora": FEDORA,
    "arch": 'NAME="Arch Linux"\nPRETTY_NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling\n',
    "leap": (
        'NAME="openSUSE Leap"\nVERSION="15.5"\nID="opensuse-leap"\n'
        'ID_LIKE="suse opensuse"\nVERSION_ID="15.5"\nPRETTY_NAME="openSUSE Leap 15.5"\n'
    ),
    "rocky": (
        'NAME="Rocky Linux"\nVERSION="9.3 (Blue Onyx)"\nID="rocky"\n'
        'ID_LIKE="rhel centos fedora"\nVERSION_ID="9.3"\n'
        'PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"\n# a comment\n'
    ),
    "escaped": "ID=mine\nPRETTY_NAME='My \"own\" Linux 1.2'\nNAME=My\\ Linux\n",
}


def library_says(tmp_path: Path, text: str, debian_version: str) -> DistroInfo:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "os-release").write_text(text)
    if debian_version:
        (etc / "debian_version").write_text(debian_version + "\n")
    found = distro.LinuxDistribution(
        include_lsb=False, include_uname=False, include_oslevel=False, root_dir=str(tmp_path)
    )
    return DistroInfo(
        id=found.id() or "unknown",
        version=found.version() or "",
        name=found.name(pretty=True) or found.id() or "unknown",
        like=tuple(found.like().split()),
        codename=found.codename() or "",
    )


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_os_release_reads_as_the_distro_library_reads_it(tmp_path: Path, sample: str) -> None:
    debian = "trixie/sid" if sample == "trixie-sid" else ""
    files = {"/etc/os-release": SAMPLES[sample]}
    if debian:
        files["/etc/debian_version"] = debian + "\n"
    ours = read_distro(FakeSystem(files=files))
    assert ours == library_says(tmp_path, SAMPLES[sample], debian)


def test_os_release_details() -> None:
    assert read_distro(FakeSystem(files={"/etc/os-release": SAMPLES["trixie-sid"]})) == (
        DistroInfo("debian", "", "Debian GNU/Linux trixie/sid", (), "trixie")
    )
    leap = read_distro(FakeSystem(files={"/etc/os-release": SAMPLES["leap"]}))
    assert (leap.id, leap.like, leap.version) == ("opensuse", ("suse", "opensuse"), "15.5")
    assert parse_os_release(SAMPLES["escaped"])["pretty_name"] == 'My "own" Linux 1.2'
    assert read_distro(FakeSystem()) == DistroInfo("unknown", "", "unknown")
    assert parse_os_release('ID="unbalanced\n') == {}


def test_detect_from_a_fake_machine() -> None:
    system = FakeSystem(
        files={
            "/etc/os-release": FEDORA,
            "/proc/sys/kernel/osrelease": "6.8.5-301.fc40.aarch64\n",
            "/home/me/.config/kdoctor/env": "export CC=clang\nexport KDOCTOR_RUST=distro\n",
            PIN: PIN_TEXT,
        },
        env={"PATH": "/usr/bin", "HOME": "/home/me"},
        uid=0,
        arch="aarch64",
    )
    ctx = detect(system)
    assert ctx.distro == DistroInfo("fedora", "40", "Fedora Linux 40 (Workstation Edition)", (), "")
    assert ctx.package_manager == "dnf"
    assert (ctx.arch, ctx.is_root) == ("aarch64", True)
    assert ctx.running_kernel == ctx.target_kernel == "6.8.5-301.fc40.aarch64"
    assert ctx.kdir == "/lib/modules/6.8.5-301.fc40.aarch64/build"
    assert ctx.target_source == TargetSource.RUNNING
    assert ctx.rust_mode == RustMode.DISTRO  # from the settings file
    assert ctx.env == {"CC": "clang"}
    assert ctx.settings_file == "/home/me/.config/kdoctor/env"
    assert ctx.cache_dir == "/home/me/.cache/kdoctor"
    assert ctx.pin.channel == "nightly-2021-02-12"
    assert system.writes == [] and system.runs == []


def test_detect_without_proc_asks_the_system_for_the_release_and_reads_kdir() -> None:
    kdir = "/usr/src/linux-headers-6.1.0-56-amd64"
    system = FakeSystem(
        files={
            "/etc/os-release": SAMPLES["debian12"],
            f"{kdir}/include/generated/utsrelease.h": '#define UTS_RELEASE "6.1.0-56-amd64"\n',
            PIN: PIN_TEXT,
        },
        env={"KDIR": kdir, "HOME": "/nowhere"},
        kernel_release="6.18.44-fc-v782",
    )
    ctx = detect(system)
    assert (ctx.arch, ctx.is_root) == ("x86_64", False)
    assert ctx.running_kernel == "6.18.44-fc-v782"
    assert (ctx.target_kernel, ctx.kdir) == ("6.1.0-56-amd64", kdir)
    assert ctx.target_source == TargetSource.KDIR
    assert ctx.distro.codename == "bookworm" and ctx.package_manager == "apt"
