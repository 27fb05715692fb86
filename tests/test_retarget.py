from __future__ import annotations

import os
import platform
from dataclasses import replace
from typing import Any, Optional

import pytest

from kdoctor.checks.kernel_headers import KernelHeadersCheck
from kdoctor.knowledge.kernel_release import release_key
from kdoctor.knowledge.packages import kernel_package_names, unpackaged_kernel
from kdoctor.machine.runner import Runner
from kdoctor.model.choice import TargetSource
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import Package, StockKernel
from kdoctor.model.report import Report
from kdoctor.pipeline.planner import fix_of
from kdoctor.pipeline.retarget import metapackage_release, retarget
from tests.conftest import make_context, run_check
from tests.fake_system import Answer, FakeSystem, Reply, apt_unknown
from tests.real_machine import ONBOARD, require_real

RETARGETED = TargetSource.RETARGETED
FC = "6.18.44-fc-v782"
FC_KDIR = f"/lib/modules/{FC}/build"
STOCK = "6.1.0-56-amd64"
STOCK_KDIR = f"/lib/modules/{STOCK}/build"
USR_SRC = f"/usr/src/linux-headers-{STOCK}"
COMPLETE = (
    "Makefile",
    ".config",
    "Module.symvers",
    "scripts/mod/modpost",
    "include/generated/autoconf.h",
)
DEPENDS = "apt-cache depends linux-headers-amd64"


def unknown_kernel(release: str) -> dict[str, Answer]:
    """apt knows no headers or image package of ``release``."""
    return apt_unknown(*kernel_package_names("apt", release))


def build_dir(kdir: str) -> dict[str, str]:
    return {f"{kdir}/{name}": "x" for name in COMPLETE}


def machine(
    kdirs: tuple[str, ...] = (),
    modules: tuple[str, ...] = (),
    usr_src: tuple[str, ...] = (),
    commands: Optional[dict[str, Any]] = None,
) -> FakeSystem:
    """apt knows no package for the running kernel; ``kdirs`` are usable build directories."""
    files: dict[str, str] = {}
    programs = {"apt-cache": "/usr/bin/apt-cache"}
    for index, kdir in enumerate(kdirs):
        files.update(build_dir(kdir))
        programs[f"modpost{index}"] = f"{kdir}/scripts/mod/modpost"
    return FakeSystem(
        programs=programs,
        files=files,
        dirs={"/lib/modules": list(modules), "/usr/src": list(usr_src)},
        maybe=unknown_kernel(FC),
        commands=commands,
    )


def running(release: str = FC, **overrides: Any) -> Context:
    return make_context(
        running_kernel=release,
        target_kernel=release,
        kdir=f"/lib/modules/{release}/build",
        **overrides,
    )


def checked(ctx: Context, system: FakeSystem) -> Report:
    """The report as the kernel-headers check makes it on ``system``."""
    return Report(ctx, (run_check(KernelHeadersCheck(), ctx, system),), 0.0)


def test_firecracker_kernel_is_retargeted_to_the_installed_stock_kernel() -> None:
    system = machine((STOCK_KDIR,), modules=(STOCK,))
    ctx = running()
    report = checked(ctx, system)
    assert fix_of(report.findings[0]) == "kernel-target"
    assert retarget(ctx, report, system) == replace(
        ctx, target_kernel=STOCK, kdir=STOCK_KDIR, target_source=RETARGETED
    )
    assert system.runs == []


def test_headers_only_under_usr_src_are_used_through_their_directory() -> None:
    system = machine(
        (USR_SRC,), usr_src=(f"linux-headers-{STOCK}", "linux-headers-6.1.0-56-common")
    )
    ctx = running()
    new = retarget(ctx, checked(ctx, system), system)
    assert new is not None
    assert (new.target_kernel, new.kdir, new.target_source) == (
        STOCK,
        USR_SRC,
        RETARGETED,
    )


def test_the_newest_installed_distribution_kernel_wins_over_older_and_self_built_ones() -> None:
    older, built = "/lib/modules/6.1.0-40-amd64/build", "/lib/modules/6.12.0+/build"
    system = machine((STOCK_KDIR, older, built), modules=("6.1.0-40-amd64", STOCK, "6.12.0+"))
    ctx = running()
    report = checked(ctx, system)
    assert report.findings[0].facts["installed_targets"] == ["6.12.0+", STOCK, "6.1.0-40-amd64"]
    (need,) = report.findings[0].needs
    assert isinstance(need, StockKernel)
    assert [r for r, _ in need.installed] == ["6.12.0+", STOCK, "6.1.0-40-amd64"]
    new = retarget(ctx, report, system)
    assert new is not None
    assert (new.target_kernel, new.kdir) == (STOCK, STOCK_KDIR)


def test_without_installed_headers_the_stock_metapackage_names_the_release() -> None:
    depends = "linux-headers-amd64\n  Depends: linux-headers-6.1.0-57-amd64\n"
    system = machine(commands={DEPENDS: depends})
    ctx = running()
    new = retarget(ctx, checked(ctx, system), system)
    assert new == replace(
        ctx,
        target_kernel="6.1.0-57-amd64",
        kdir="/lib/modules/6.1.0-57-amd64/build",
        target_source=RETARGETED,
    )
    assert ("apt-cache", "depends", "linux-headers-amd64") in system.calls
    assert system.runs == []


def test_wsl2_kernel_is_retargeted_too() -> None:
    wsl = "5.15.153.1-microsoft-standard-WSL2"
    depends = "linux-headers-amd64\n  Depends: linux-headers-6.1.0-56-amd64\n"
    system = machine(
        commands={**unknown_kernel(wsl), DEPENDS: depends},
    )
    ctx = running(wsl)
    new = retarget(ctx, checked(ctx, system), system)
    assert new is not None
    assert (new.target_kernel, new.kdir) == (STOCK, STOCK_KDIR)


def test_no_stock_kernel_to_be_found_keeps_the_target() -> None:
    failed = Reply(stderr="E: No packages found\n", exit_code=100)
    system = machine(commands={DEPENDS: failed})
    ctx = running()
    assert retarget(ctx, checked(ctx, system), system) is None


def test_other_package_managers_retarget_only_to_installed_headers() -> None:
    fedora_kdir = "/lib/modules/6.8.5-301.fc40.x86_64/build"
    system = machine((fedora_kdir,), modules=("6.8.5-301.fc40.x86_64",))
    ctx = running(package_manager="dnf")
    report = checked(ctx, system)
    new = retarget(ctx, report, system)
    assert new is not None
    assert (new.target_kernel, new.kdir) == ("6.8.5-301.fc40.x86_64", fedora_kdir)
    bare = machine()
    assert retarget(ctx, checked(ctx, bare), bare) is None
    assert not any(call[:2] == ("apt-cache", "depends") for call in bare.calls)


@pytest.mark.parametrize("source", ["--kernel", "KDIR"])
def test_an_explicit_target_is_never_overridden(source: str) -> None:
    system = machine((STOCK_KDIR,), modules=(STOCK,))
    ctx = running(target_source=source)
    report = checked(ctx, system)
    # the remedy is the choice itself: --kernel is the person's (by hand), a KDIR in kdoctor's
    # settings file (the fake's environment has none) is corrected there; never a switch
    assert fix_of(report.findings[0]) == {"--kernel": None, "KDIR": "settings"}[source]
    calls = len(system.calls)
    assert retarget(ctx, report, system) is None
    assert len(system.calls) == calls  # not even a look


def test_a_kernel_a_package_serves_is_not_retargeted() -> None:
    release = "6.1.0-57-amd64"
    known = f"linux-headers-{release}:\n  Installed: (none)\n  Candidate: 6.1.193-1\n"
    system = machine((STOCK_KDIR,), modules=(STOCK,))
    system.commands.update(unknown_kernel(release))
    system.commands[f"apt-cache policy linux-headers-{release}"] = known
    ctx = running(release)
    report = checked(ctx, system)
    assert fix_of(report.findings[0]) == "packages"
    assert retarget(ctx, report, system) is None


def test_usable_headers_and_a_missing_finding_keep_the_target() -> None:
    system = machine((STOCK_KDIR,), modules=(STOCK,))
    ctx = running(STOCK)
    report = checked(ctx, system)
    assert report.findings[0].status is Status.OK
    assert retarget(ctx, report, system) is None
    assert retarget(ctx, Report(ctx, (), 0.0), system) is None


@pytest.mark.parametrize(
    ("release", "apt", "wanted"),
    [
        (FC, "unknown", StockKernel),  # a microVM kernel no package serves
        ("6.1.0-57-amd64", "unknown", StockKernel),  # apt knows no package for it
        ("6.12.0+", "cannot ask", StockKernel),  # a self-built kernel: no package could
        ("6.1.0-57-amd64", "cannot ask", Package),  # an ordinary release: install its headers
        ("6.1.0-57-amd64", "known", Package),
    ],
)
def test_the_check_asks_for_the_stock_kernel_only_when_no_package_can_serve(
    release: str, apt: str, wanted: type
) -> None:
    system = machine((STOCK_KDIR,), modules=(STOCK,))
    if apt == "cannot ask":
        system.programs.pop("apt-cache")
    else:
        system.commands.update(unknown_kernel(release))
    if apt == "known":
        system.commands[f"apt-cache policy linux-headers-{release}"] = (
            f"linux-headers-{release}:\n  Installed: (none)\n  Candidate: 1.0\n"
        )
    ctx = running(release)
    report = checked(ctx, system)
    (need,) = report.findings[0].needs
    assert isinstance(need, wanted)
    new = retarget(ctx, report, system)
    if wanted is StockKernel:
        assert new is not None and (new.target_kernel, new.kdir) == (STOCK, STOCK_KDIR)
    else:
        assert new is None


def test_usable_headers_need_nothing() -> None:
    system = machine((STOCK_KDIR,), modules=(STOCK,))
    assert checked(running(STOCK), system).findings[0].needs == ()


def test_retarget_reads_the_stock_kernel_need_not_the_machine() -> None:
    def asking(need: StockKernel, status: Status = Status.FAIL) -> Report:
        return Report(ctx, (Finding("kernel-headers", status, "no headers", needs=(need,)),), 0.0)

    ctx = running()
    system = FakeSystem()  # nothing installed: only the need names the build directory
    new = retarget(ctx, asking(StockKernel("why", None, ((STOCK, USR_SRC),))), system)
    assert new is not None and (new.target_kernel, new.kdir) == (STOCK, USR_SRC)
    assert system.calls == []
    # the target itself and self-built kernels among the installed ones are passed over
    installed = ((FC, FC_KDIR), ("6.12.0+", "/lib/modules/6.12.0+/build"), (STOCK, STOCK_KDIR))
    new = retarget(ctx, asking(StockKernel("why", None, installed)), system)
    assert new is not None and (new.target_kernel, new.kdir) == (STOCK, STOCK_KDIR)
    # whatever the finding's status, its need is what counts
    assert retarget(ctx, asking(StockKernel("why", None, installed), Status.OK), system) == new
    # the need's stock metapackage is the one asked about
    cloud = "apt-cache depends linux-headers-cloud-amd64"
    system = FakeSystem(
        programs={"apt-cache": "/usr/bin/apt-cache"},
        commands={
            cloud: "linux-headers-cloud-amd64\n  Depends: linux-headers-6.1.0-57-cloud-amd64\n"
        },
    )
    new = retarget(ctx, asking(StockKernel("why", "linux-headers-cloud-amd64")), system)
    assert new is not None
    assert (new.target_kernel, new.kdir) == (
        "6.1.0-57-cloud-amd64",
        "/lib/modules/6.1.0-57-cloud-amd64/build",
    )
    assert system.calls == [("apt-cache", "depends", "linux-headers-cloud-amd64")]


# -- this machine: Debian 12 inside a Firecracker microVM ---------------------------------------
def installed_stock_kernels() -> list[str]:
    """Releases under /lib/modules with a kbuild Makefile that a package serves (read here
    directly, not through kdoctor)."""
    return [
        release
        for release in os.listdir("/lib/modules")
        if os.path.isfile(f"/lib/modules/{release}/build/Makefile")
        and unpackaged_kernel(release) is None
    ]


@pytest.mark.integration
def test_this_machine_is_retargeted_to_its_installed_stock_kernel() -> None:
    # the running kernel when no package serves it (this Firecracker microVM's), else one like
    # it: the running kernel is only a context field, the rest is this machine's
    release = platform.release() if unpackaged_kernel(platform.release()) else FC
    stock = installed_stock_kernels() if os.path.isdir("/lib/modules") else []
    install = "apt-get install linux-headers-amd64"
    require_real(bool(stock), f"needs the headers of a stock kernel: {install}, or {ONBOARD}")
    runner = Runner()
    ctx = running(release)
    report = Report(ctx, (run_check(KernelHeadersCheck(), ctx, runner),), 0.0)
    headers = report.findings[0]
    assert fix_of(headers) == "kernel-target"
    assert headers.facts["kernel_kind"] == unpackaged_kernel(release)
    assert headers.facts["package_known"] is False
    new = retarget(ctx, report, runner)
    assert new is not None
    assert new.target_kernel == max(stock, key=release_key)  # the newest installed
    kdir = f"/lib/modules/{new.target_kernel}/build"
    assert new == replace(ctx, target_kernel=new.target_kernel, kdir=kdir, target_source=RETARGETED)
    # the archive's stock metapackage names a release kdoctor would install when none were
    # (it may have moved past the installed one: here -56 is served, -50 installed)
    (need,) = headers.needs
    assert isinstance(need, StockKernel)
    archive = metapackage_release(ctx, need.package, runner)
    assert archive is not None and unpackaged_kernel(archive) is None
    # only read-only apt-cache queries ran: one policy query, one depends
    assert [p.argv[:2] for p in runner.probes()] == [
        ("apt-cache", "policy"),
        ("apt-cache", "depends"),
    ]
