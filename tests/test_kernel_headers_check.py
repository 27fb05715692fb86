from __future__ import annotations

from typing import Optional

from kdoctor.checks.kernel_headers import KernelHeadersCheck, kernel_kind
from kdoctor.facts.kernel import installed_build_dirs, missing_build_files
from kdoctor.facts.packages import known_to_manager
from kdoctor.knowledge.packages import kernel_package_names
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import ByHand, Setting
from kdoctor.pipeline.planner import fix_of
from tests.conftest import KDIR, make_context, run_check
from tests.fake_system import FakeSystem, Reply, apt_unknown

FC = "6.18.44-fc-v782"
FC_KDIR = f"/lib/modules/{FC}/build"
COMPLETE = (
    "Makefile",
    ".config",
    "Module.symvers",
    "scripts/mod/modpost",
    "include/generated/autoconf.h",
)
ALL_MISSING = [
    "Makefile",
    ".config",
    "Module.symvers",
    "scripts/mod/modpost",
    "include/generated/autoconf.h or include/config/auto.conf",
]
POLICY_KNOWN = (
    "linux-headers-6.1.0-57-amd64:\n  Installed: (none)\n  Candidate: 6.1.193-1\n"
    "  Version table:\n     6.1.193-1 500\n"
)


def build_dir(kdir: str, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """The files of a usable build directory (Debian's split one reads the same)."""
    return {f"{kdir}/{name}": "x" for name in COMPLETE if name not in skip}


def machine(
    files: Optional[dict[str, str]] = None,
    modules: tuple[str, ...] = (),
    usr_src: tuple[str, ...] = (),
    commands: Optional[dict[str, object]] = None,
    executable: tuple[str, ...] = (),
) -> FakeSystem:
    programs = {"apt-cache": "/usr/bin/apt-cache"}
    for index, kdir in enumerate(executable):
        programs[f"modpost{index}"] = f"{kdir}/scripts/mod/modpost"
    return FakeSystem(
        programs=programs,
        files=files or {},
        dirs={"/lib/modules": list(modules), "/usr/src": list(usr_src)},
        commands=commands or {},  # type: ignore[arg-type]
    )


def run(system: FakeSystem, **ctx: object) -> Finding:
    return run_check(KernelHeadersCheck(), make_context(**ctx), system)


def test_usable_build_dir_passes_with_every_fact() -> None:
    system = machine(build_dir(KDIR), modules=("6.1.0-56-amd64",), executable=(KDIR,))
    assert run(system) == Finding(
        id="kernel-headers",
        status=Status.OK,
        summary=f"headers for the running kernel 6.1.0-56-amd64 at {KDIR}",
        found=KDIR,
        facts={
            "kdir": KDIR,
            "release": "6.1.0-56-amd64",
            "target_source": "running",
            "usable": True,
            "missing": [],
            "package": "linux-headers-6.1.0-56-amd64",
            "package_known": None,
            "stock_package": "linux-headers-amd64",
            "installed_targets": [],
            "installed_kdirs": {},
            "kernel_kind": None,
        },
    )
    assert system.calls == []  # a usable directory needs no package manager


def test_auto_conf_stands_in_for_autoconf_h() -> None:
    files = build_dir(KDIR, skip=("include/generated/autoconf.h",))
    files[f"{KDIR}/include/config/auto.conf"] = "CONFIG_X=y\n"
    system = machine(files, executable=(KDIR,))
    assert missing_build_files(system, KDIR) == []


def test_missing_headers_with_known_package_fail_with_install_command() -> None:
    release = "6.1.0-57-amd64"
    kdir = f"/lib/modules/{release}/build"
    system = machine(commands={f"apt-cache policy linux-headers-{release}": POLICY_KNOWN})
    finding = run(system, running_kernel=release, target_kernel=release, kdir=kdir, is_root=False)
    assert finding.status is Status.FAIL
    assert finding.summary == (
        f"no usable headers for the running kernel {release}: {kdir} does not exist; "
        f"linux-headers-{release} provides them"
    )
    assert fix_of(finding) == "packages"
    assert finding.found is None
    assert finding.remediation == Remediation(
        f"Install the headers package for {release}.",
        (f"sudo apt-get install -y --no-install-recommends linux-headers-{release}",),
    )
    assert finding.facts["package"] == f"linux-headers-{release}"
    assert finding.facts["package_known"] is True
    assert finding.facts["usable"] is False
    assert finding.facts["missing"] == ALL_MISSING


def test_incomplete_build_dir_lists_exactly_what_is_missing() -> None:
    files = build_dir(KDIR, skip=("Module.symvers",))
    system = machine(
        files,  # modpost is there but not executable
        commands={
            "apt-cache policy linux-headers-6.1.0-56-amd64": POLICY_KNOWN.replace("57", "56")
        },
    )
    finding = run(system)
    assert finding.status is Status.FAIL
    assert finding.facts["missing"] == ["Module.symvers", "scripts/mod/modpost (not executable)"]
    assert finding.found == KDIR
    assert f"{KDIR} lacks Module.symvers, scripts/mod/modpost (not executable)" in finding.summary
    assert fix_of(finding) == "packages"


def test_firecracker_kernel_points_at_installed_stock_headers() -> None:
    stock = "/lib/modules/6.1.0-56-amd64/build"
    system = machine(
        build_dir(stock),
        modules=("6.1.0-56-amd64",),
        executable=(stock,),
        commands={f"apt-cache policy linux-headers-{FC}": ""},  # apt knows no such package
    )
    finding = run(system, running_kernel=FC, target_kernel=FC, kdir=FC_KDIR)
    assert finding.status is Status.FAIL
    assert finding.summary == (
        f"cannot build for the running kernel {FC}: a Firecracker/cloud microVM kernel supplied "
        f"by the host, no package provides its headers ({FC_KDIR} does not exist); target the "
        "stock kernel (linux-headers-amd64) instead: headers for 6.1.0-56-amd64 are installed"
    )
    assert fix_of(finding) == "kernel-target"
    assert finding.remediation == Remediation(
        "Build for a kernel whose headers are installed (6.1.0-56-amd64) and test the module "
        "in a VM booting that kernel; kdoctor fix switches the target.",
        ("kdoctor check --kernel 6.1.0-56-amd64", "kdoctor fix"),
    )
    assert finding.facts["package"] == f"linux-headers-{FC}"
    assert finding.facts["package_known"] is False
    assert finding.facts["stock_package"] == "linux-headers-amd64"
    assert finding.facts["installed_targets"] == ["6.1.0-56-amd64"]
    assert finding.facts["installed_kdirs"] == {"6.1.0-56-amd64": stock}
    # one query for the headers and the image packages, the same one the vm check makes
    assert system.calls == [
        (
            "apt-cache",
            "policy",
            f"linux-headers-{FC}",
            f"linux-image-{FC}",
            f"linux-image-{FC}-unsigned",
            f"linux-image-unsigned-{FC}",
        )
    ]


def test_wsl2_kernel_with_nothing_installed_suggests_stock_headers_package() -> None:
    wsl = "5.15.153.1-microsoft-standard-WSL2"
    system = machine(commands={f"apt-cache policy linux-headers-{wsl}": ""})
    finding = run(
        system,
        running_kernel=wsl,
        target_kernel=wsl,
        kdir=f"/lib/modules/{wsl}/build",
        is_root=False,
    )
    assert finding.status is Status.FAIL
    assert finding.summary.startswith(
        f"cannot build for the running kernel {wsl}: a WSL2 kernel supplied by Microsoft, "
        "no package provides its headers"
    )
    assert finding.summary.endswith("target the stock kernel (linux-headers-amd64) instead")
    assert fix_of(finding) == "kernel-target"
    assert finding.remediation is not None
    assert finding.remediation.commands == (
        "sudo apt-get install -y --no-install-recommends linux-headers-amd64",
        "kdoctor fix",
    )
    assert finding.facts["installed_targets"] == []


def test_distro_kernel_whose_package_left_the_archive_says_so() -> None:
    old = "6.1.0-10-amd64"
    stock = "/lib/modules/6.1.0-56-amd64/build"
    system = machine(
        build_dir(stock),
        modules=("6.1.0-56-amd64", old),
        executable=(stock,),
        commands={
            f"apt-cache policy linux-headers-{old}": (
                f"linux-headers-{old}:\n  Installed: (none)\n  Candidate: (none)\n"
            )
        },
    )
    finding = run(
        system, target_kernel=old, kdir=f"/lib/modules/{old}/build", target_source="--kernel"
    )
    assert finding.status is Status.FAIL
    assert finding.summary.startswith(
        f"cannot build for {old} (from --kernel): apt knows no package linux-headers-{old} "
    )
    # the person chose it: check and fix say to choose another, never that fix switches it
    assert fix_of(finding) is None
    text = (
        "Choose a kernel whose headers are installed (6.1.0-56-amd64): kdoctor fix --kernel "
        "6.1.0-56-amd64."
    )
    assert finding.remediation == Remediation(
        text, ("kdoctor check --kernel 6.1.0-56-amd64", "kdoctor fix --kernel 6.1.0-56-amd64")
    )
    [need] = finding.needs
    assert isinstance(need, ByHand) and need.remedy == text
    assert "kdoctor never overrides" in need.why
    assert finding.facts["package_known"] is False
    assert finding.facts["kernel_kind"] is None


def test_kdir_target_is_named_as_coming_from_kdir() -> None:
    kdir = "/home/me/linux"
    system = machine(build_dir(kdir, skip=("Module.symvers",)), executable=(kdir,))
    system.commands.update(apt_unknown(*kernel_package_names("apt", "6.9.0+")))
    finding = run(system, kdir=kdir, target_kernel="6.9.0+", target_source="KDIR")
    assert finding.status is Status.FAIL
    assert finding.summary.startswith(
        f"cannot build for 6.9.0+ (from KDIR={kdir}): a self-built kernel, no package provides "
        f"its headers ({kdir} lacks Module.symvers)"
    )
    assert finding.found == kdir
    # KDIR from kdoctor's settings file (the fake's environment has none): fix corrects it
    assert fix_of(finding) == "settings"
    assert finding.needs == (Setting("KDIR", None),)
    assert finding.remediation is not None
    assert finding.remediation.text == (
        f"KDIR={kdir} comes from kdoctor's settings file /root/.config/kdoctor/env: kdoctor fix "
        "removes it from there (kdoctor then targets the running kernel 6.1.0-56-amd64)."
    )


def test_kdir_from_the_environment_pointing_nowhere_is_the_persons_to_correct() -> None:
    """Installing the running kernel's headers does not repair KDIR=/nonexistent: the remedy
    is KDIR itself, said alike by check and by fix --dry-run (a by-hand note)."""
    stock = "/lib/modules/6.1.0-56-amd64/build"
    system = machine(
        build_dir(stock),
        modules=("6.1.0-56-amd64",),
        executable=(stock,),
        commands={f"apt-cache policy linux-headers-{FC}": ""},
    )
    system.env = {"PATH": "/usr/bin", "KDIR": "/nonexistent"}
    finding = run(
        system,
        running_kernel=FC,
        target_kernel=FC,
        kdir="/nonexistent",
        target_source="KDIR",
        env={"KDIR": "/nonexistent"},
    )
    assert finding.status is Status.FAIL and fix_of(finding) is None
    text = (
        f"KDIR=/nonexistent comes from your environment: unset it (`unset KDIR`) (kdoctor then "
        f"targets the running kernel {FC}), or set KDIR={stock}."
    )
    assert finding.remediation == Remediation(text, ())
    [need] = finding.needs
    assert isinstance(need, ByHand) and need.remedy == text
    assert "switches the target" not in finding.summary + text


def test_kdir_nowhere_with_a_packaged_running_kernel_installs_its_headers_and_unsets_kdir() -> None:
    release = "6.1.0-57-amd64"
    system = machine(commands={f"apt-cache policy linux-headers-{release}": POLICY_KNOWN})
    finding = run(
        system,
        running_kernel=release,
        target_kernel=release,
        kdir="/nonexistent",
        target_source="KDIR",
        env={"KDIR": "/nonexistent"},
    )
    assert [n.kind for n in finding.needs] == ["package", "setting"]
    assert finding.needs[1] == Setting("KDIR", None)
    assert fix_of(finding) == "packages"


def test_unanswered_package_manager_still_suggests_the_package() -> None:
    release = "6.1.0-57-amd64"
    system = FakeSystem(programs={})  # apt-cache itself is missing
    finding = run(
        system, running_kernel=release, target_kernel=release, kdir=f"/lib/modules/{release}/build"
    )
    assert finding.status is Status.FAIL
    assert fix_of(finding) == "packages"
    assert finding.facts["package_known"] is None
    assert finding.remediation is not None
    assert finding.remediation.text == (
        f"Install the headers package for {release} (apt could not be asked whether it exists)."
    )


def test_debian_headers_without_lib_modules_link_are_offered_through_kdir() -> None:
    headers = "/usr/src/linux-headers-6.1.0-56-amd64"
    system = machine(
        build_dir(headers),
        usr_src=("linux-headers-6.1.0-56-amd64", "linux-headers-6.1.0-56-common", "linux-kbuild"),
        executable=(headers,),
        commands={f"apt-cache policy linux-headers-{FC}": ""},
    )
    finding = run(system, running_kernel=FC, target_kernel=FC, kdir=FC_KDIR)
    assert finding.facts["installed_kdirs"] == {"6.1.0-56-amd64": headers}
    assert finding.remediation is not None
    assert finding.remediation.commands == (f"KDIR={headers} kdoctor check", "kdoctor fix")


def test_installed_build_dirs_are_newest_first_and_only_usable_ones() -> None:
    good = ("6.1.0-56-amd64", "6.12.9-amd64", "6.1.0-9-amd64")
    files: dict[str, str] = {}
    for release in good:
        files.update(build_dir(f"/lib/modules/{release}/build"))
    files.update(build_dir("/lib/modules/6.5.0-1-amd64/build", skip=(".config",)))
    system = machine(
        files,
        modules=(*good, "6.5.0-1-amd64"),
        executable=tuple(f"/lib/modules/{r}/build" for r in (*good, "6.5.0-1-amd64")),
    )
    assert list(installed_build_dirs(system, "amd64")) == [
        "6.12.9-amd64",
        "6.1.0-56-amd64",
        "6.1.0-9-amd64",
    ]


def test_kernel_kind_recognises_kernels_no_package_serves() -> None:
    assert kernel_kind("5.15.153.1-microsoft-standard-WSL2") == (
        "a WSL2 kernel supplied by Microsoft"
    )
    assert kernel_kind(FC) == "a Firecracker/cloud microVM kernel supplied by the host"
    assert kernel_kind("5.10.0-firecracker") == kernel_kind(FC)
    assert kernel_kind("6.9.0-rc1-dirty") == "a self-built kernel"
    assert kernel_kind("6.1.0-56-amd64") is None
    assert kernel_kind("6.8.0-45-generic") is None


def test_package_managers_are_asked_their_own_way() -> None:
    system = FakeSystem(
        programs={"dnf": "/usr/bin/dnf", "pacman": "/usr/bin/pacman", "zypper": "/usr/bin/zypper"},
        commands={
            "dnf -q list --available kernel-devel-6.5.6": Reply(
                stdout="Available Packages\nkernel-devel-6.5.6.x86_64  6.5.6-300.fc39  updates\n"
            ),
            "dnf -q list --available kernel-devel-9": Reply(
                stderr="Error: No matching Packages to list", exit_code=1
            ),
            "pacman -Si linux-headers": "Repository      : core\nName            : linux-headers\n",
            "pacman -Si nope": Reply(stderr="error: package 'nope' was not found", exit_code=1),
            "zypper -q info kernel-default-devel": "Name           : kernel-default-devel\n",
            "zypper -q info nope": "package 'nope' not found.\n",
            "dnf -q list --available slow": Reply(timed_out=True),
        },
    )
    assert known_to_manager(system, "dnf", "kernel-devel-6.5.6") is True
    assert known_to_manager(system, "dnf", "kernel-devel-9") is False
    assert known_to_manager(system, "pacman", "linux-headers") is True
    assert known_to_manager(system, "pacman", "nope") is False
    assert known_to_manager(system, "zypper", "kernel-default-devel") is True
    assert known_to_manager(system, "zypper", "nope") is False
    assert known_to_manager(system, "dnf", "slow") is None
    assert known_to_manager(system, None, "anything") is None
    assert known_to_manager(system, "apt", "x") is None  # apt-cache not installed here
