from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Optional

from kdoctor.checks.clang import ClangCheck
from kdoctor.checks.kernel_headers import KernelHeadersCheck
from kdoctor.checks.vm import VmCheck
from kdoctor.facts import Facts
from kdoctor.facts.packages import known_packages
from kdoctor.fixes.base import Ask, Decision, all_fixes
from kdoctor.fixes.packages import APT_LISTS, DPKG_UPDATES, PackagesFix
from kdoctor.knowledge.packages import (
    kernel_package_names,
    package_need,
    package_needs,
)
from kdoctor.knowledge.step_errors import explain_step_failure
from kdoctor.machine.runner import Runner
from kdoctor.model.context import DistroInfo
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import KernelImage, Need, Package, RustToolchain, Setting
from kdoctor.model.plan import PlanOptions, Step
from kdoctor.model.report import Report
from kdoctor.pipeline.planner import fix_of
from tests.conftest import make_context, run_check
from tests.fake_system import FakeSystem, Reply, apt_unknown

HEADERS = "linux-headers-6.1.0-56-amd64"
NONINTERACTIVE = {"DEBIAN_FRONTEND": "noninteractive"}
APT_INSTALL = (
    "apt-get",
    "install",
    "-y",
    "--no-install-recommends",
    "-o",
    "DPkg::Lock::Timeout=120",
)
LISTS = (
    "deb.debian.org_debian_dists_bookworm_InRelease",
    "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
    "deb.debian.org_debian-security_dists_bookworm-security_InRelease",
    "deb.debian.org_debian-security_dists_bookworm-security_main_binary-amd64_Packages.lz4",
    "lock",
    "partial",
)
DAY = 86400.0

# what apt 2.6.1 printed on this machine (Debian 12), captured for these tests
APT_LOCK_HELD = """\
Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 15092 (python3)...
Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 15092 (python3)...
Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 15092 (python3)...
E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?
"""  # noqa: E501
APT_UPDATE_LOCK_HELD = """\
Reading package lists...
E: Could not get lock /var/lib/apt/lists/lock. It is held by process 15092 (python3)
E: Unable to lock directory /var/lib/apt/lists/
"""
APT_INSTALL_OFFLINE = """\
Reading package lists...
Building dependency tree...
Reading state information...
The following NEW packages will be installed:
  hello
0 upgraded, 1 newly installed, 0 to remove and 134 not upgraded.
Need to get 53.1 kB of archives.
After this operation, 284 kB of additional disk space will be used.
Ign:1 http://deb.debian.org/debian bookworm/main amd64 hello amd64 2.10-3
Err:1 http://deb.debian.org/debian bookworm/main amd64 hello amd64 2.10-3
  Temporary failure resolving 'deb.debian.org'
E: Failed to fetch http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb  Temporary failure resolving 'deb.debian.org'
E: Some files failed to download
"""  # noqa: E501
APT_DPKG_INTERRUPTED = (
    "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the "
    "problem. \n"
)


def policy(name: str, candidate: str = "1.0-1") -> str:
    """``apt-cache policy name`` for a package apt can install."""
    return (
        f"{name}:\n  Installed: (none)\n  Candidate: {candidate}\n  Version table:\n"
        f"     {candidate} 500\n        500 http://deb.debian.org/debian bookworm/main amd64 "
        "Packages\n"
    )


def apt_machine(
    known: tuple[str, ...] = (),
    *,
    lists_age_days: Optional[float] = 1.0,
    updates: tuple[str, ...] = (),
) -> FakeSystem:
    """A Debian machine whose apt knows ``known``; lists refreshed ``lists_age_days`` ago
    (None: no package lists at all); ``updates`` are dpkg's pending records."""
    now = time.time()
    lists = LISTS if lists_age_days is not None else ("lock", "partial")
    stamp = now - (lists_age_days or 0.0) * DAY
    return FakeSystem(
        programs={"apt-cache": "/usr/bin/apt-cache", "apt-get": "/usr/bin/apt-get"},
        commands={f"apt-cache policy {name}": policy(name) for name in known},
        dirs={APT_LISTS: list(lists), DPKG_UPDATES: list(updates)},
        mtimes={f"{APT_LISTS}/{name}": stamp for name in lists if name != "lock"},
    )


def problem(check_id: str, summary: str, *needs: Need, required: bool = True) -> Finding:
    return Finding(check_id, Status.FAIL, summary, needs=needs, required=required)


def apt(*logical: str, **values: object) -> tuple[Package, ...]:
    """The needs a check gives for ``logical`` packages on apt."""
    return package_needs("apt", logical, **values)


def report(*findings: Finding, **ctx: Any) -> Report:
    return Report(make_context(**ctx), findings, 0.0)


def bare_debian_12() -> tuple[Finding, ...]:
    """What the checks report on a Debian 12 machine with none of the tools (distro Rust)."""
    return (
        problem("clang", "clang (default) is not installed", *apt("clang")),
        problem("libclang", "libclang is not installed", *apt("libclang")),
        problem("bindgen", "bindgen is not installed", *apt("bindgen")),
        problem(
            "kernel-headers",
            f"no usable headers for the running kernel 6.1.0-56-amd64; {HEADERS} provides them",
            package_need("apt", "headers", release="6.1.0-56-amd64"),
        ),
        problem(
            "vm",
            "cannot test in a VM: qemu-system-x86_64 is not installed; busybox is not installed",
            *apt("qemu", "busybox"),
            KernelImage("6.1.0-56-amd64", "linux-image-6.1.0-56-amd64"),
        ),
        problem("toolchain", "no rustc on PATH", *apt("rustc-web", "rust-web-src")),
    )


BARE_PACKAGES = (
    "bindgen",
    "busybox-static",
    "clang",
    "libclang-dev",
    HEADERS,
    "qemu-system-x86",
    "rust-web-src",
    "rustc-web",
)
BARE_WHY = (
    "install what the checks found missing: clang needs clang; libclang needs libclang-dev; "
    f"bindgen needs bindgen; kernel-headers needs {HEADERS}; vm needs qemu-system-x86, "
    "busybox-static; toolchain needs rustc-web, rust-web-src"
)
BARE_CHECKS = ("clang", "libclang", "bindgen", "kernel-headers", "vm", "toolchain")


def apt_install(*names: str, why: str = BARE_WHY, checks: tuple[str, ...] = BARE_CHECKS) -> Step:
    return Step(
        "packages",
        checks,
        why,
        argv=(*APT_INSTALL, *names),
        root=True,
        network=True,
        env=NONINTERACTIVE,
    )


def refresh(reason: str, argv: tuple[str, ...] = ("apt-get", "update"), **kw: Any) -> Step:
    return Step(
        "packages",
        kw.get("checks", BARE_CHECKS),
        f"refresh the package lists before installing: {reason}",
        argv=argv,
        root=True,
        network=True,
        timeout=600.0,
        lock_wait=120.0,
    )


def decide(system: FakeSystem, rep: Report) -> Decision:
    asks = [Ask(f, n) for f in rep.findings for n in f.needs]
    return PackagesFix().plan(Facts(rep.context, system), asks, PlanOptions())


def plan(system: FakeSystem, rep: Report) -> list[Step]:
    return decide(system, rep).steps


def notes(system: FakeSystem, rep: Report) -> list[str]:
    return decide(system, rep).notes


# -- Debian and Ubuntu (apt) ------------------------------------------------------------------


def test_bare_debian_12_installs_everything_in_one_transaction_after_refreshing_stale_lists() -> (
    None
):
    system = apt_machine(BARE_PACKAGES, lists_age_days=10.2)
    rep = report(*bare_debian_12(), rust_mode="distro")
    assert plan(system, rep) == [
        refresh("the package lists are 10 days old (refreshed after 7)"),
        apt_install(*BARE_PACKAGES),
    ]
    # one apt-cache query for every candidate (in the findings' order), nothing run
    candidates = [
        c for f in rep.findings for n in f.needs if isinstance(n, Package) for c in n.candidates
    ]
    assert sorted(candidates) == list(BARE_PACKAGES)
    assert system.calls == [("apt-cache", "policy", *candidates)]
    assert system.runs == []
    assert notes(system, rep) == []


def test_fresh_lists_and_known_packages_install_without_refreshing() -> None:
    system = apt_machine(BARE_PACKAGES, lists_age_days=0.5)
    rep = report(*bare_debian_12())
    assert plan(system, rep) == [apt_install(*BARE_PACKAGES)]
    assert system.runs == []


def test_no_package_lists_at_all_refresh_first() -> None:
    system = apt_machine(BARE_PACKAGES, lists_age_days=None)
    assert plan(system, report(*bare_debian_12())) == [
        refresh(f"there are no package lists yet ({APT_LISTS} has no Packages files)"),
        apt_install(*BARE_PACKAGES),
    ]


def test_a_package_apt_does_not_know_refreshes_the_lists_and_is_still_planned() -> None:
    system = apt_machine(tuple(n for n in BARE_PACKAGES if n != "rustc-web"), lists_age_days=2)
    rep = report(*bare_debian_12())
    assert plan(system, rep) == [
        refresh("apt does not know rustc-web yet"),
        apt_install(*BARE_PACKAGES),
    ]
    assert notes(system, rep) == [
        "apt does not know rustc-web yet: the plan refreshes its package lists first; if they "
        "are still unknown, the install step says so (the repository that has them may need "
        "enabling)."
    ]


def test_unknown_package_and_stale_lists_give_both_reasons() -> None:
    system = apt_machine(("clang",), lists_age_days=30)
    rep = report(problem("clang", "clang is not installed", *apt("clang", "llvm")))
    why = "install what the checks found missing: clang needs clang, llvm"
    assert plan(system, rep) == [
        refresh(
            "apt does not know llvm yet; the package lists are 30 days old (refreshed after 7)",
            checks=("clang",),
        ),
        apt_install("clang", "llvm", why=why, checks=("clang",)),
    ]


def test_interrupted_dpkg_is_finished_first() -> None:
    system = apt_machine(BARE_PACKAGES, updates=("0000", "0001"))
    assert plan(system, report(*bare_debian_12())) == [
        Step(
            "packages",
            BARE_CHECKS,
            "a previous installation was interrupted (dpkg left pending records in "
            f"{DPKG_UPDATES}); dpkg finishes it before anything else is installed",
            argv=("dpkg", "--configure", "-a"),
            root=True,
            env=NONINTERACTIVE,
        ),
        apt_install(*BARE_PACKAGES),
    ]
    assert system.runs == []


def test_dpkg_temporary_files_are_not_an_interruption() -> None:
    system = apt_machine(BARE_PACKAGES, updates=("tmp.i",))
    assert plan(system, report(*bare_debian_12())) == [apt_install(*BARE_PACKAGES)]


def test_ubuntu_with_too_old_clang_installs_the_versioned_clang() -> None:
    ubuntu = DistroInfo("ubuntu", "20.04", "Ubuntu 20.04.6 LTS", ("debian",), "focal")
    system = FakeSystem(
        programs={"clang": "/usr/bin/clang", "apt-cache": "/usr/bin/apt-cache"},
        commands={
            "/usr/bin/clang --version": "clang version 10.0.0-4ubuntu1\n",
            "apt-cache policy clang-11": policy("clang-11", "1:11.0.0-2~ubuntu20.04.1"),
        },
        dirs={APT_LISTS: list(LISTS)},
        mtimes={f"{APT_LISTS}/{n}": time.time() - 3600 for n in LISTS},
    )
    ctx = make_context(distro=ubuntu)
    clang = run_check(ClangCheck(), ctx, system)  # the check says which package: clang-n with n=11
    assert clang.status is Status.WARN
    assert fix_of(clang) == "packages"
    assert clang.needs == (Package("clang-11", ("clang-11",)),)
    assert clang.remediation is not None
    assert clang.remediation.commands == ("apt-get install -y --no-install-recommends clang-11",)
    rep = Report(ctx, (clang,), 0.0)
    assert plan(system, rep) == [
        apt_install(
            "clang-11",
            why="install what the checks found missing: clang needs clang-11",
            checks=("clang",),
        )
    ]
    assert notes(system, rep) == [
        "clang-11 installs next to the default clang; run kdoctor fix again afterwards so the "
        "build uses it (CC and CLANG)."
    ]
    assert system.runs == []


def test_clang_below_the_kernels_floor_and_a_missing_versioned_clang() -> None:
    script = 'case "$1" in\nllvm)\n\techo 15.0.0\n\t;;\nesac\n'
    system = FakeSystem(
        programs={"clang": "/usr/bin/clang"},
        commands={"/usr/bin/clang --version": "Debian clang version 14.0.6\n"},
        files={"/lib/modules/6.1.0-56-amd64/build/scripts/min-tool-version.sh": script},
    )
    too_old = run_check(ClangCheck(), make_context(), system)
    assert fix_of(too_old) == "packages"
    assert too_old.needs == (Package("clang-15", ("clang-15",)),)
    absent = run_check(ClangCheck(), make_context(env={"CLANG": "clang-16"}), FakeSystem())
    assert absent.summary == (  # CLANG not in the process environment: kdoctor's own setting
        "CLANG=clang-16 (from kdoctor's settings file /root/.config/kdoctor/env) is not installed"
    )
    # a clang to build with, and kdoctor's own CLANG naming nothing taken out of its settings
    assert absent.needs == (Package("clang-16", ("clang-16",)), Setting("CLANG", None))
    plain = run_check(ClangCheck(), make_context(), FakeSystem())
    assert plain.needs == (Package("clang", ("clang",)),)


def test_build_tools_versioned_gcc_and_shared_packages_are_installed_once() -> None:
    system = apt_machine(("gcc-12", "libclang-dev", "make"))
    rep = report(
        problem("build-tools", "not installed: make, gcc-12", *apt("make", "gcc-n", n=12)),
        problem("libclang", "libclang is not installed", *apt("libclang")),
        problem("bindgen", "bindgen cannot load libclang", *apt("libclang")),
    )
    why = (
        "install what the checks found missing: build-tools needs make, gcc-12; "
        "libclang needs libclang-dev; bindgen needs libclang-dev"
    )
    checks = ("build-tools", "libclang", "bindgen")
    assert plan(system, rep) == [
        apt_install("gcc-12", "libclang-dev", "make", why=why, checks=checks)
    ]


def test_apt_that_cannot_be_asked_plans_the_install_without_refreshing() -> None:
    system = apt_machine(())
    system.programs.pop("apt-cache")
    rep = report(problem("bindgen", "bindgen is not installed", *apt("bindgen")))
    why = "install what the checks found missing: bindgen needs bindgen"
    assert plan(system, rep) == [apt_install("bindgen", why=why, checks=("bindgen",))]


# -- other package managers -----------------------------------------------------------------

FEDORA = DistroInfo("fedora", "40", "Fedora Linux 40 (Workstation Edition)")
FEDORA_HEADERS = "kernel-devel-6.8.5-301.fc40.x86_64"


def fedora_findings() -> tuple[Finding, ...]:
    def dnf(*logical: str) -> tuple[Package, ...]:
        return package_needs("dnf", logical)

    return (
        problem("clang", "clang (default) is not installed", *dnf("clang")),
        problem("libclang", "libclang is not installed", *dnf("libclang")),
        problem("bindgen", "bindgen is not installed", *dnf("bindgen")),
        problem(
            "kernel-headers",
            "no usable headers",
            package_need("dnf", "headers", release="6.8.5-301.fc40.x86_64"),
        ),
        problem("vm", "cannot test in a VM", *dnf("qemu", "busybox")),
        problem("toolchain", "no rustc", *dnf("rustc", "rust-src")),
    )


FEDORA_PACKAGES = (
    "bindgen-cli",
    "busybox",
    "clang",
    "clang-devel",
    FEDORA_HEADERS,
    "qemu-system-x86",
    "rust",
    "rust-src",
)
FEDORA_WHY = (
    "install what the checks found missing: clang needs clang; libclang needs clang-devel; "
    f"bindgen needs bindgen-cli; kernel-headers needs {FEDORA_HEADERS}; vm needs "
    "qemu-system-x86, busybox; toolchain needs rust, rust-src"
)


def dnf_machine(known: tuple[str, ...]) -> FakeSystem:
    commands: dict[str, Any] = {}
    for name in FEDORA_PACKAGES:
        if name == FEDORA_HEADERS and name in known:
            commands[f"dnf -q list --available {name}"] = (
                "Available Packages\nkernel-devel.x86_64   6.8.5-301.fc40   updates\n"
            )
        elif name in known:
            commands[f"dnf -q list --available {name}"] = (
                f"Available Packages\n{name}.x86_64   1.0-1.fc40   fedora\n"
            )
        else:
            commands[f"dnf -q list --available {name}"] = Reply(
                stderr="Error: No matching Packages to list\n", exit_code=1
            )
    return FakeSystem(programs={"dnf": "/usr/bin/dnf"}, commands=commands)


def test_fedora_maps_every_logical_package_to_its_dnf_name() -> None:
    system = dnf_machine(FEDORA_PACKAGES)
    rep = report(*fedora_findings(), distro=FEDORA, package_manager="dnf")
    assert plan(system, rep) == [
        Step(
            "packages",
            BARE_CHECKS,
            FEDORA_WHY,
            argv=("dnf", "install", "-y", *FEDORA_PACKAGES),
            root=True,
            network=True,
        )
    ]
    candidates = [c for f in rep.findings for n in f.needs for c in getattr(n, "candidates", ())]
    assert sorted(candidates) == sorted(FEDORA_PACKAGES)
    assert system.calls == [("dnf", "-q", "list", "--available", *candidates)]
    assert system.runs == []


def test_fedora_refreshes_metadata_only_for_an_unknown_package() -> None:
    system = dnf_machine(tuple(n for n in FEDORA_PACKAGES if n != "bindgen-cli"))
    rep = report(*fedora_findings(), distro=FEDORA, package_manager="dnf")
    assert plan(system, rep) == [
        refresh("dnf does not know bindgen-cli yet", argv=("dnf", "makecache")),
        Step(
            "packages",
            BARE_CHECKS,
            FEDORA_WHY,
            argv=("dnf", "install", "-y", *FEDORA_PACKAGES),
            root=True,
            network=True,
        ),
    ]


def test_pacman_never_refreshes_alone_it_upgrades_with_the_install() -> None:
    arch = DistroInfo("arch", "", "Arch Linux")
    rep = report(
        problem("bindgen", "bindgen is not installed", *package_needs("pacman", ["bindgen"])),
        distro=arch,
        package_manager="pacman",
    )
    why = "install what the checks found missing: bindgen needs rust-bindgen"
    known = FakeSystem(
        programs={"pacman": "/usr/bin/pacman"},
        commands={"pacman -Si rust-bindgen": "Repository : extra\nName : rust-bindgen\n"},
    )
    assert plan(known, rep) == [
        Step(
            "packages",
            ("bindgen",),
            why,
            argv=("pacman", "-S", "--needed", "--noconfirm", "rust-bindgen"),
            root=True,
            network=True,
        )
    ]
    unknown = FakeSystem(
        programs={"pacman": "/usr/bin/pacman"},
        commands={
            "pacman -Si rust-bindgen": Reply(
                stderr="error: package 'rust-bindgen' was not found\n", exit_code=1
            )
        },
    )
    assert plan(unknown, rep) == [
        Step(
            "packages",
            ("bindgen",),
            why + "; pacman does not know rust-bindgen yet, so pacman refreshes and upgrades "
            "the system in the same step",
            argv=("pacman", "-Syu", "--needed", "--noconfirm", "rust-bindgen"),
            root=True,
            network=True,
        )
    ]
    assert unknown.runs == []


def test_zypper_refreshes_for_an_unknown_package() -> None:
    suse = DistroInfo("opensuse-tumbleweed", "", "openSUSE Tumbleweed")
    system = FakeSystem(
        programs={"zypper": "/usr/bin/zypper"},
        commands={"zypper -q info rust-bindgen": "package 'rust-bindgen' not found.\n"},
    )
    rep = report(
        problem("bindgen", "bindgen is not installed", *package_needs("zypper", ["bindgen"])),
        distro=suse,
        package_manager="zypper",
    )
    assert plan(system, rep) == [
        refresh(
            "zypper does not know rust-bindgen yet",
            argv=("zypper", "--non-interactive", "refresh"),
            checks=("bindgen",),
        ),
        Step(
            "packages",
            ("bindgen",),
            "install what the checks found missing: bindgen needs rust-bindgen",
            argv=("zypper", "--non-interactive", "install", "rust-bindgen"),
            root=True,
            network=True,
        ),
    ]


def test_no_known_package_manager_plans_nothing_and_says_what_to_install() -> None:
    gentoo = DistroInfo("gentoo", "2.15", "Gentoo Linux")
    system = FakeSystem()
    rep = report(
        problem("clang", "clang (default) is not installed", package_need(None, "clang")),
        problem("libclang", "libclang is not installed", package_need(None, "libclang")),
        problem("bindgen", "bindgen is not installed", package_need(None, "bindgen")),
        distro=gentoo,
        package_manager=None,
    )
    assert plan(system, rep) == []
    assert notes(system, rep) == [
        "kdoctor knows no package manager for Gentoo Linux; install these by hand: clang, "
        "libclang, bindgen."
    ]
    assert system.calls == []


# -- nothing to do ----------------------------------------------------------------------------


def test_satisfied_machine_plans_nothing_and_asks_nothing() -> None:
    system = apt_machine((), lists_age_days=100, updates=("0001",))  # nothing to be asked
    rep = report(
        Finding("clang", Status.OK, "clang 14.0.6", facts={"path": "/usr/bin/clang"}),
        Finding("vm", Status.OK, "qemu 7.2.22", facts={"missing": []}),
        # problems other planners repair are not this planner's business (the Rust planner
        # hands the distribution's packages on when it chooses them)
        problem(
            "toolchain",
            "nightly is not installed",
            RustToolchain("nightly-2021-02-12", alternative=apt("rustc-web")),
        ),
        Finding("rustfmt", Status.WARN, "no rustfmt", facts={"logical": ["rustfmt"]}),
    )
    assert plan(system, rep) == []
    assert notes(system, rep) == []
    assert system.calls == []
    assert system.runs == []


def test_a_finding_without_a_package_is_named_in_the_notes() -> None:
    system = apt_machine(())
    rep = report(problem("build-tools", "ld.gold is not installed", Package("ld.gold")))
    assert plan(system, rep) == []
    assert notes(system, rep) == [
        "build-tools: kdoctor cannot tell which package fixes this (ld.gold is not installed); "
        "see its remediation."
    ]


def test_the_fix_is_registered_first() -> None:
    fixes = {fix.id: fix.order for fix in all_fixes()}
    assert fixes["packages"] == 10
    assert min(fixes.values()) == 10


# -- failures at apply time, explained ----------------------------------------------------------


def test_a_held_lock_is_waited_for_by_apt_then_explained() -> None:
    install = apt_install(*BARE_PACKAGES)
    assert "DPkg::Lock::Timeout=120" in install.argv
    assert explain_step_failure(APT_LOCK_HELD, install.display) == (
        "Another package manager holds the lock (process 15092, python3) and did not release "
        "it in time. Wait for it (an automatic update, or another apt) to finish, then rerun "
        "kdoctor fix."
    )
    assert explain_step_failure(APT_UPDATE_LOCK_HELD, "apt-get update") == (
        "Another package manager holds the lock (process 15092, python3) and did not release "
        "it in time. Wait for it (an automatic update, or another apt) to finish, then rerun "
        "kdoctor fix."
    )


def test_an_unreachable_mirror_is_explained() -> None:
    display = apt_install("hello").display
    assert explain_step_failure(APT_INSTALL_OFFLINE, display) == (
        "The network is not reachable: could not fetch from deb.debian.org while running "
        f"`{display}`. Check the connection or the mirror in your sources, then rerun "
        "kdoctor fix (nothing half-done is left behind)."
    )


def test_an_interrupted_dpkg_met_at_apply_time_is_explained() -> None:
    assert explain_step_failure(APT_DPKG_INTERRUPTED, "apt-get install") == (
        "A previous package installation was interrupted halfway. Rerun kdoctor fix; it "
        "finishes it first (dpkg --configure -a)."
    )


# -- asking the package manager about many packages at once ------------------------------------

# `apt-cache policy clang nonexistent-xyz mail-transport-agent` on this machine: an unknown name
# prints nothing, a virtual package has no candidate
APT_POLICY_MANY = """\
clang:
  Installed: 1:14.0-55.7~deb12u1
  Candidate: 1:14.0-55.7~deb12u1
  Version table:
 *** 1:14.0-55.7~deb12u1 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
        100 /var/lib/dpkg/status
mail-transport-agent:
  Installed: (none)
  Candidate: (none)
  Version table:
"""


def test_known_packages_asks_apt_once_and_reads_each_section() -> None:
    names = ["clang", "nonexistent-xyz", "mail-transport-agent"]
    system = FakeSystem(
        programs={"apt-cache": "/usr/bin/apt-cache"},
        commands={"apt-cache policy " + " ".join(names): APT_POLICY_MANY},
    )
    assert known_packages(system, "apt", [*names, "clang"]) == {
        "clang": True,
        "nonexistent-xyz": False,
        "mail-transport-agent": False,
    }
    assert system.calls == [("apt-cache", "policy", *names)]
    assert known_packages(system, "apt", []) == {}
    assert known_packages(system, None, ["clang"]) == {"clang": None}


def test_known_packages_reads_dnf_pacman_and_zypper_listings() -> None:
    system = FakeSystem(
        programs={"dnf": "/usr/bin/dnf", "pacman": "/usr/bin/pacman", "zypper": "/usr/bin/zypper"},
        commands={
            "dnf -q list --available clang kernel-devel-6.8.5-301.fc40.x86_64 nope": (
                "Available Packages\nclang.x86_64  17.0.6-1.fc40  fedora\n"
                "kernel-devel.x86_64\n      6.8.5-301.fc40   updates\n"
            ),
            "pacman -Si clang nope": Reply(
                stdout="Repository      : extra\nName            : clang\n",
                stderr="error: package 'nope' was not found\n",
                exit_code=1,
            ),
            "zypper -q info clang nope": (
                "Information for package clang:\nName           : clang\n"
                "package 'nope' not found.\n"
            ),
        },
    )
    dnf = ["clang", "kernel-devel-6.8.5-301.fc40.x86_64", "nope"]
    assert known_packages(system, "dnf", dnf) == {dnf[0]: True, dnf[1]: True, "nope": False}
    assert known_packages(system, "pacman", ["clang", "nope"]) == {"clang": True, "nope": False}
    assert known_packages(system, "zypper", ["clang", "nope"]) == {"clang": True, "nope": False}


def test_kernel_headers_and_vm_checks_share_one_package_query() -> None:
    fc = "6.18.44-fc-v782"
    system = FakeSystem(
        programs={"apt-cache": "/usr/bin/apt-cache", "test": "/usr/bin/test"},
        commands=apt_unknown(*kernel_package_names("apt", fc)),
    )
    ctx = make_context(running_kernel=fc, target_kernel=fc, kdir=f"/lib/modules/{fc}/build")
    run_check(KernelHeadersCheck(), ctx, system)
    run_check(VmCheck(), ctx, system)
    queries = [call for call in system.calls if call[0] == "apt-cache"]
    assert queries == [("apt-cache", "policy", *kernel_package_names("apt", fc))] * 2


def test_modification_times_come_from_the_system(tmp_path: Path) -> None:
    path = tmp_path / "lists"
    path.write_text("x")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    assert Runner().mtime(str(path)) == 1_700_000_000
    assert Runner().mtime(str(tmp_path / "missing")) is None
    fake = FakeSystem(files={"/a": "x"}, mtimes={"/b": 5.0})
    assert (fake.mtime("/a"), fake.mtime("/b"), fake.mtime("/c")) == (0.0, 5.0, None)


def test_the_stock_kernel_flavour_follows_the_distribution() -> None:
    from dataclasses import replace

    from kdoctor.knowledge.packages import package_name, stock_flavour
    from kdoctor.model.context import DistroInfo

    debian = make_context()
    ubuntu = replace(debian, distro=DistroInfo("ubuntu", "24.04", "Ubuntu 24.04", ("debian",)))
    mint = replace(
        debian, distro=DistroInfo("linuxmint", "22", "Linux Mint 22", ("ubuntu", "debian"))
    )
    assert stock_flavour(debian) == "amd64"
    assert stock_flavour(ubuntu) == stock_flavour(mint) == "generic"
    assert (
        package_name("apt", "stock-headers", flavour=stock_flavour(ubuntu))
        == "linux-headers-generic"
    )
