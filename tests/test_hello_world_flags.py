"""The hello-world Makefile's kernel-config gates, read from ``make info`` with a fake rustc and
bindgen and a kernel tree that only has the config: the names changed across Linux releases."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kdoctor.model.context import bundled_module_dir
from tests.real_machine import require_tools

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("real_make")]


@pytest.fixture
def real_make() -> None:
    require_tools("make")


RETPOLINE_FEATURE = "-Ctarget-feature=+retpoline-external-thunk,+retpoline-indirect-branches"


def fake_tools(tmp: Path, rustc_version: str, z_help: str) -> tuple[Path, Path]:
    rustc = tmp / "bin" / "rustc"
    bindgen = tmp / "bin" / "bindgen"
    rustc.parent.mkdir(parents=True)
    rustc.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f'  -vV) printf "rustc {rustc_version}\\nrelease: {rustc_version}\\n" ;;\n'
        '  "--print target-list") echo x86_64-unknown-none ;;\n'
        f'  "-Z help") printf "{z_help}" ;;\n'
        f'  "--print sysroot") echo {tmp}/sysroot ;;\n'
        "esac\n"
    )
    bindgen.write_text("#!/bin/sh\necho bindgen 0.71.1\n")
    for tool in (rustc, bindgen):
        tool.chmod(0o755)
    return rustc, bindgen


def krust_flags(tmp: Path, config: str, rustc_version: str = "1.85.1", z_help: str = "") -> str:
    kdir = tmp / "kdir"
    (kdir / "include" / "config").mkdir(parents=True)
    (kdir / "include" / "config" / "auto.conf").write_text(config)
    rustc, bindgen = fake_tools(tmp, rustc_version, z_help)
    out = subprocess.run(
        [
            "make",
            "-s",
            "-C",
            bundled_module_dir(),
            "info",
            f"KDIR={kdir}",
            f"RUSTC={rustc}",
            f"BINDGEN={bindgen}",
            f"RUST_SYSROOT_CACHE={tmp / 'cache'}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("KRUST_FLAGS"))
    return line.split(None, 1)[1]


Z_ALL = "    -Z cf-protection=val -- x\\n    -Z function-return=val -- x\\n"


def test_linux_6_9_and_later_mitigation_names_enable_the_thunks(tmp_path: Path) -> None:
    config = "CONFIG_MITIGATION_RETPOLINE=y\nCONFIG_MITIGATION_RETHUNK=y\n"
    flags = krust_flags(tmp_path, config, z_help=Z_ALL).split()
    assert RETPOLINE_FEATURE in flags
    assert "-Zfunction-return=thunk-extern" in flags


def test_older_names_still_enable_the_thunks(tmp_path: Path) -> None:
    flags = krust_flags(tmp_path, "CONFIG_RETPOLINE=y\nCONFIG_RETHUNK=y\n", z_help=Z_ALL).split()
    assert RETPOLINE_FEATURE in flags
    assert "-Zfunction-return=thunk-extern" in flags


def test_ibt_kernels_get_endbr_when_rustc_can(tmp_path: Path) -> None:
    flags = krust_flags(tmp_path, "CONFIG_X86_KERNEL_IBT=y\n", z_help=Z_ALL).split()
    assert "-Zcf-protection=branch" in flags
    assert RETPOLINE_FEATURE not in flags
    assert "-Zfunction-return=thunk-extern" not in flags


def test_a_rustc_without_the_flags_gets_none_of_them(tmp_path: Path) -> None:
    config = "CONFIG_X86_KERNEL_IBT=y\nCONFIG_MITIGATION_RETHUNK=y\n"
    flags = krust_flags(tmp_path, config, rustc_version="1.48.0", z_help="").split()
    assert "-Zcf-protection=branch" not in flags
    assert "-Zfunction-return=thunk-extern" not in flags


def test_a_kernel_without_the_options_gets_plain_flags(tmp_path: Path) -> None:
    flags = krust_flags(tmp_path, "CONFIG_MODULES=y\n", z_help=Z_ALL)
    assert flags == (
        "-Cpanic=abort -Ccode-model=kernel -Crelocation-model=static -Cno-redzone=y "
        "-Zplt=yes -Copt-level=2 -Cdebuginfo=0 -Cembed-bitcode=no"
    )
