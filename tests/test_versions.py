"""Banner parsing against what real tools print, vendor by vendor."""

from __future__ import annotations

from typing import Optional

import pytest
from packaging.version import Version

from kdoctor.knowledge import versions

# -- clang -----------------------------------------------------------------------------------

CLANG_BANNERS = [
    # Debian 10 (buster)
    (
        "clang version 7.0.1-8+deb10u2 (tags/RELEASE_701/final)\nTarget: x86_64-pc-linux-gnu\n",
        "7.0.1",
    ),
    # Debian 11 (bullseye)
    (
        "Debian clang version 11.0.1-2\nTarget: x86_64-pc-linux-gnu\nThread model: posix\n"
        "InstalledDir: /usr/bin\n",
        "11.0.1",
    ),
    # Debian 12 (bookworm), this machine
    (
        "Debian clang version 14.0.6\nTarget: x86_64-pc-linux-gnu\nThread model: posix\n"
        "InstalledDir: /usr/bin\n",
        "14.0.6",
    ),
    # Debian 13 (trixie)
    ("Debian clang version 19.1.7 (3+b1)\nTarget: x86_64-pc-linux-gnu\n", "19.1.7"),
    # Ubuntu 18.04
    ("clang version 6.0.0-1ubuntu2 (tags/RELEASE_600/final)\n", "6.0.0"),
    # Ubuntu 20.04
    ("clang version 10.0.0-4ubuntu1 \nTarget: x86_64-pc-linux-gnu\n", "10.0.0"),
    ("Ubuntu clang version 12.0.0-3ubuntu1~20.04.5\n", "12.0.0"),
    # Ubuntu 22.04
    ("Ubuntu clang version 14.0.0-1ubuntu1.1\nTarget: x86_64-pc-linux-gnu\n", "14.0.0"),
    # Ubuntu 24.04
    ("Ubuntu clang version 18.1.3 (1ubuntu1)\nTarget: x86_64-pc-linux-gnu\n", "18.1.3"),
    # apt.llvm.org snapshot
    (
        "Ubuntu clang version 20.0.0 (++20241105083134+aa0cc1b0e1e4-1~exp1~20241105083150.2175)\n",
        "20.0.0",
    ),
    # Fedora
    (
        "clang version 18.1.8 (Fedora 18.1.8-1.fc40)\nTarget: x86_64-redhat-linux-gnu\n",
        "18.1.8",
    ),
    ("clang version 19.1.0-rc3 (Fedora 19.1.0~rc3-1.fc42)\n", "19.1.0"),
    # Arch
    ("clang version 18.1.8\nTarget: x86_64-pc-linux-gnu\n", "18.1.8"),
    # Homebrew
    ("Homebrew clang version 17.0.6\nTarget: arm64-apple-darwin23.2.0\n", "17.0.6"),
    # Apple
    (
        "Apple clang version 15.0.0 (clang-1500.1.0.2.5)\nTarget: arm64-apple-darwin23.2.0\n",
        "15.0.0",
    ),
    # Apple before Xcode 10.2 said "Apple LLVM"
    (
        "Apple LLVM version 10.0.0 (clang-1000.11.45.5)\nTarget: x86_64-apple-darwin18.2.0\n",
        "10.0.0",
    ),
    # source builds and release candidates
    (
        "clang version 19.0.0git (https://github.com/llvm/llvm-project.git 0a1b2c3d4e5f)\n",
        "19.0.0",
    ),
    ("clang version 17.0.0rc3\n", "17.0.0"),
    (
        "clang version 18.1.0rc "
        "(https://github.com/llvm/llvm-project 461274b81d8641eab64d494accddc81d7db8a09e)\n",
        "18.1.0",
    ),
    ("clang version 3.4 (tags/RELEASE_34/final)\n", "3.4"),
    # Android NDK / platform prebuilts
    (
        "Android (7019983 based on r365631c3) clang version 9.0.3 "
        "(https://android.googlesource.com/toolchain/llvm-project "
        "e4b3f6ddb5b8e5d24b8bb25e6f5a3eb9c9bd0d21) (based on LLVM 9.0.3svn)\n",
        "9.0.3",
    ),
    (
        "Android (8490178, based on r450784d) clang version 14.0.6 "
        "(https://android.googlesource.com/toolchain/llvm-project "
        "4c603efb0cca074e9238af8b4106c30add4418f6)\n",
        "14.0.6",
    ),
    # AMD's AOCC
    ("AMD clang version 16.0.3 (CLANG: AOCC_4.1.0-Build#270 2023_07_10)\n", "16.0.3"),
]


@pytest.mark.parametrize(("banner", "expected"), CLANG_BANNERS)
def test_clang_banners(banner: str, expected: str) -> None:
    assert versions.clang_version(banner) == Version(expected)
    assert versions.is_clang_banner(banner)


@pytest.mark.parametrize(
    "banner",
    [
        "gcc (Debian 12.2.0-14) 12.2.0\n",
        "Intel(R) oneAPI DPC++/C++ Compiler 2024.0.0 (2024.0.0.20231017)\n",
        "",
        "\x00\x01garbage",
        "bash: clang: command not found\n",
    ],
)
def test_not_clang(banner: str) -> None:
    assert versions.clang_version(banner) is None
    assert not versions.is_clang_banner(banner)


def test_clang_as_kernel_config_text() -> None:
    # CONFIG_CC_VERSION_TEXT of a clang-built kernel is the first banner line
    assert versions.clang_version("Ubuntu clang version 18.1.3 (1ubuntu1)") == Version("18.1.3")


# -- gcc ---------------------------------------------------------------------------------------

GCC_BANNERS = [
    (
        "gcc-12 (Debian 12.2.0-14) 12.2.0\nCopyright (C) 2022 Free Software Foundation, Inc.\n",
        "12.2.0",
    ),
    ("gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\n", "12.2.0"),
    ("gcc (Debian 12.2.0-14+deb12u1) 12.2.0\n", "12.2.0"),
    ("gcc (Debian 10.2.1-6) 10.2.1 20210110\n", "10.2.1"),
    ("gcc (Debian 14.2.0-19) 14.2.0\n", "14.2.0"),
    ("gcc (Ubuntu 9.4.0-1ubuntu1~20.04.2) 9.4.0\n", "9.4.0"),
    ("gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0\n", "11.4.0"),
    ("gcc (Ubuntu 13.2.0-23ubuntu4) 13.2.0\n", "13.2.0"),
    ("gcc (GCC) 14.2.1 20240912 (Red Hat 14.2.1-3)\n", "14.2.1"),
    ("gcc (GCC) 4.8.5 20150623 (Red Hat 4.8.5-44)\n", "4.8.5"),
    (
        "gcc (SUSE Linux) 13.3.1 20240807 [revision 8ef3a0a1f1d5ba17e33fc5c0e7dc85a6d0f54b4b]\n",
        "13.3.1",
    ),
    ("gcc (GCC) 14.2.1 20250207\n", "14.2.1"),  # Arch
    ("x86_64-linux-gnu-gcc-12 (Debian 12.2.0-14) 12.2.0\n", "12.2.0"),
    ("x86_64-pc-linux-gnu-gcc (Gentoo 13.2.1_p20240113-r1 p12) 13.2.1 20240113\n", "13.2.1"),
    ("gcc (Alpine 13.2.1_git20231014) 13.2.1 20231014\n", "13.2.1"),
    ("gcc (Homebrew GCC 14.2.0_1) 14.2.0\n", "14.2.0"),
    ("cc (Debian 12.2.0-14) 12.2.0\n", "12.2.0"),
    ("gcc (crosstool-NG 1.25.0 (custom)) 12.2.0\n", "12.2.0"),
]


@pytest.mark.parametrize(("banner", "expected"), GCC_BANNERS)
def test_gcc_banners(banner: str, expected: str) -> None:
    assert versions.gcc_version(banner) == Version(expected)
    assert not versions.is_clang_banner(banner)


@pytest.mark.parametrize(
    "banner",
    [
        "Apple clang version 15.0.0 (clang-1500.1.0.2.5)\n",  # macOS `gcc` is clang
        "Debian clang version 14.0.6\n",
        "gcc: command not found\n",
        "",
    ],
)
def test_not_gcc(banner: str) -> None:
    assert versions.gcc_version(banner) is None


# -- rustc -------------------------------------------------------------------------------------

RUSTC_BANNERS = [
    # (banner, version, channel, commit date)
    ("rustc 1.75.0 (82e1608df 2023-12-21)\n", "1.75.0", "stable", "2023-12-21"),
    ("rustc 1.95.0 (59807616e 2026-04-14)\n", "1.95.0", "stable", "2026-04-14"),
    ("rustc 1.52.0-nightly (152f66092 2021-02-17)\n", "1.52.0", "nightly", "2021-02-17"),
    ("rustc 1.51.0-nightly (a2f8f6281 2021-01-27)\n", "1.51.0", "nightly", "2021-01-27"),
    ("rustc 1.76.0-beta.1 (0e09125c6 2023-12-21)\n", "1.76.0", "beta", "2023-12-21"),
    ("rustc 1.0.0-beta (9854143cb 2015-04-02) (built 2015-04-02)\n", "1.0.0", "beta", "2015-04-02"),
    # Debian/Ubuntu packages
    (
        "rustc 1.85.0 (4d91de4e4 2025-02-17) (built from a source tarball)\n",
        "1.85.0",
        "stable",
        "2025-02-17",
    ),
    (
        "rustc 1.96.0 (ac68faa20 2026-05-25) (built from a source tarball)\n",
        "1.96.0",
        "stable",
        "2026-05-25",
    ),
    ("rustc 1.63.0\n", "1.63.0", "stable", None),  # Debian 12's plain rustc
    ("rustc 1.48.0\n", "1.48.0", "stable", None),
    # other vendors
    (
        "rustc 1.83.0 (90b35a623 2024-11-26) (Fedora 1.83.0-1.fc41)\n",
        "1.83.0",
        "stable",
        "2024-11-26",
    ),
    ("rustc 1.83.0 (90b35a623 2024-11-26) (Homebrew)\n", "1.83.0", "stable", "2024-11-26"),
    ("rustc 1.76.0 (07dca489a 2024-02-04) (Alpine Linux)\n", "1.76.0", "stable", "2024-02-04"),
    ("rustc 1.86.0-dev\n", "1.86.0", "nightly", None),  # a source build
    # rustc -vV
    (
        "rustc 1.75.0 (82e1608df 2023-12-21)\nbinary: rustc\n"
        "commit-hash: 82e1608dfa6e0b5569232559e3d385fea5a93112\ncommit-date: 2023-12-21\n"
        "host: x86_64-unknown-linux-gnu\nrelease: 1.75.0\nLLVM version: 17.0.6\n",
        "1.75.0",
        "stable",
        "2023-12-21",
    ),
]


@pytest.mark.parametrize(("banner", "version", "channel", "date"), RUSTC_BANNERS)
def test_rustc_banners(banner: str, version: str, channel: str, date: Optional[str]) -> None:
    assert versions.rustc_version(banner) == Version(version)
    assert versions.rustc_channel(banner) == channel
    assert versions.rustc_commit_date(banner) == date


@pytest.mark.parametrize(
    "banner",
    [
        "error: toolchain 'nightly-2021-02-12-x86_64-unknown-linux-gnu' is not installed\n",
        "rustup 1.27.1 (54dd3d00f 2024-04-24)\n",
        "",
    ],
)
def test_not_rustc(banner: str) -> None:
    assert versions.rustc_version(banner) is None
    assert versions.rustc_channel(banner) is None


# -- bindgen, make, qemu, rustup (word_version) ------------------------------------------------

WORD_BANNERS = [
    ("bindgen 0.55.1\n", "bindgen", "0.55.1"),
    ("bindgen 0.56.0\n", "bindgen", "0.56.0"),
    ("bindgen 0.60.1\n", "bindgen", "0.60.1"),
    ("bindgen 0.69.4\n", "bindgen", "0.69.4"),
    ("bindgen 0.71.1\n", "bindgen", "0.71.1"),
    ("bindgen 0.71.1\nClang: Debian clang version 19.1.7 (3+b1)\n", "bindgen", "0.71.1"),
    ("bindgen-cli 0.70.1\n", "bindgen", "0.70.1"),
    ("GNU Make 4.3\nBuilt for x86_64-pc-linux-gnu\n", "Make", "4.3"),
    ("GNU Make 4.4.1\nBuilt for x86_64-redhat-linux-gnu\n", "Make", "4.4.1"),
    ("GNU Make 4.2.1\nBuilt for x86_64-pc-linux-gnu\n", "Make", "4.2.1"),
    ("GNU Make 3.81\nCopyright (C) 2006  Free Software Foundation, Inc.\n", "Make", "3.81"),
    ("QEMU emulator version 7.2.11 (Debian 1:7.2+dfsg-7+deb12u7)\n", "QEMU emulator", "7.2.11"),
    ("rustup 1.27.1 (54dd3d00f 2024-04-24)\n", "rustup", "1.27.1"),
    ("LLD 14.0.6 (compatible with GNU linkers)\n", "LLD", "14.0.6"),
]


@pytest.mark.parametrize(("banner", "word", "expected"), WORD_BANNERS)
def test_word_banners(banner: str, word: str, expected: str) -> None:
    assert versions.word_version(banner, word) == Version(expected)


@pytest.mark.parametrize(
    ("banner", "word"),
    [
        ("bindgen unknown\n", "bindgen"),
        ("make: *** No targets specified and no makefile found.  Stop.\n", "Make"),
        ("", "bindgen"),
        ("bmake 20220208\n", "Make"),  # BSD make is not GNU Make
    ],
)
def test_word_version_without_a_number(banner: str, word: str) -> None:
    assert versions.word_version(banner, word) is None


# -- linkers -----------------------------------------------------------------------------------

LD_BANNERS = [
    (
        "GNU ld (GNU Binutils for Debian) 2.40\nCopyright (C) 2023 Free Software Foundation\n",
        "2.40",
    ),
    ("GNU ld (GNU Binutils for Debian) 2.35.2\n", "2.35.2"),
    ("GNU ld (GNU Binutils for Debian) 2.44\n", "2.44"),
    ("GNU ld (GNU Binutils for Ubuntu) 2.34\n", "2.34"),
    ("GNU ld (GNU Binutils for Ubuntu) 2.38\n", "2.38"),
    ("GNU ld (GNU Binutils for Ubuntu) 2.42\n", "2.42"),
    ("GNU ld version 2.41-38.fc40\n", "2.41"),  # Fedora
    ("GNU ld version 2.30-123.el8\n", "2.30"),  # RHEL 8
    ("GNU ld (GNU Binutils) 2.43.1\n", "2.43.1"),  # Arch
    ("GNU ld (Gentoo 2.42 p3) 2.42.0\n", "2.42.0"),
    ("GNU ld (GNU Binutils; openSUSE Tumbleweed) 2.43.1.20241105-1.1\n", "2.43.1.20241105"),
    ("GNU ld (crosstool-NG 1.25.0) 2.38\n", "2.38"),
    ("LLD 14.0.6 (compatible with GNU linkers)\n", "14.0.6"),
    ("Debian LLD 14.0.6 (compatible with GNU linkers)\n", "14.0.6"),
    ("Ubuntu LLD 18.1.3 (compatible with GNU linkers)\n", "18.1.3"),
    ("Homebrew LLD 19.1.6 (compatible with GNU linkers)\n", "19.1.6"),
]


@pytest.mark.parametrize(("banner", "expected"), LD_BANNERS)
def test_ld_banners(banner: str, expected: str) -> None:
    assert versions.ld_version(banner) == Version(expected)


@pytest.mark.parametrize(
    "banner",
    [
        "GNU gold (GNU Binutils for Debian 2.40) 1.16\n",
        "@(#)PROGRAM:ld  PROJECT:ld64-1022.1\n",
        "",
    ],
)
def test_not_a_known_linker(banner: str) -> None:
    assert versions.ld_version(banner) is None


# -- libclang file names -----------------------------------------------------------------------

LIBCLANG_FILES = [
    ("/lib/x86_64-linux-gnu/libclang-14.so.1", "14"),
    ("/lib/x86_64-linux-gnu/libclang-14.so.13", "14"),  # Debian 12's odd soname
    ("/usr/lib/x86_64-linux-gnu/libclang-18.so.18", "18"),
    ("/usr/lib/llvm-14/lib/libclang-14.0.6.so", "14.0.6"),
    ("/usr/lib/llvm-14/lib/libclang.so.1", "14"),  # from the llvm-N directory
    ("/usr/lib/llvm-19/lib/libclang.so", "19"),
    ("/usr/lib64/libclang.so.18.1", "18.1"),  # Fedora
    ("/usr/lib/libclang.so.19.1.7", "19.1.7"),  # Arch
    ("/usr/lib64/llvm15/lib/libclang.so", "15"),  # Fedora compat packages
    ("/opt/homebrew/opt/llvm@17/lib/libclang.dylib", "17"),
]


@pytest.mark.parametrize(("path", "expected"), LIBCLANG_FILES)
def test_libclang_file_versions(path: str, expected: str) -> None:
    assert versions.libclang_version(path) == Version(expected)


@pytest.mark.parametrize(
    "path",
    [
        "/usr/lib/libclang.so",
        "/usr/lib/x86_64-linux-gnu/libclang.so.1",  # an ABI number, not LLVM's version
        "/usr/lib64/libclang.so.13",
    ],
)
def test_libclang_file_without_a_version(path: str) -> None:
    assert versions.libclang_version(path) is None


# -- kernel .config numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [("120200", "12.2.0"), ("140201", "14.2.1"), ("140006", "14.0.6"), ("90400", "9.4.0")],
)
def test_kconfig_versions(number: str, expected: str) -> None:
    assert versions.kconfig_version(number) == Version(expected)


@pytest.mark.parametrize("number", ["0", "", "y", "abc"])
def test_kconfig_version_absent(number: str) -> None:
    assert versions.kconfig_version(number) is None


def test_parse_tolerates_suffixes() -> None:
    assert versions.parse("1.2.3-rc2") == Version("1.2.3")
    assert versions.parse("v0.60.1") == Version("0.60.1")
    assert versions.parse("2.40+dfsg") == Version("2.40")
    assert versions.parse("unknown") is None
