from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

from kdoctor.facts import Facts
from kdoctor.fixes.base import Ask, Decision, all_fixes
from kdoctor.fixes.kernel_target import KernelTargetFix
from kdoctor.model.choice import TargetSource
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import KernelImage, Need, StockKernel
from kdoctor.model.plan import PlanOptions, Step
from kdoctor.model.report import Report
from kdoctor.pipeline.planner import make_plan
from kdoctor.pipeline.retarget import retarget
from tests.conftest import make_context
from tests.fake_system import FakeSystem

RETARGETED = TargetSource.RETARGETED
FC = "6.18.44-fc-v782"
STOCK = "6.1.0-56-amd64"
STOCK_KDIR = f"/lib/modules/{STOCK}/build"
CACHED = f"/root/.cache/kdoctor/kernels/{STOCK}/vmlinuz-{STOCK}"
FETCH = Step(
    "kernel-target",
    ("vm",),
    f"vm: no image of kernel {STOCK} in /boot or kdoctor's cache; it is unpacked from "
    f"linux-image-{STOCK} into {CACHED} (nothing is installed into /boot)",
    argv=(sys.executable, "-m", "kdoctor", "fetch-image", STOCK),
    label=f"kdoctor fetch-image {STOCK}",
    network=True,
    root=False,
)
SWITCH = Step(
    "kernel-target",
    ("kernel-headers",),
    f"kernel-headers: the running kernel {FC} cannot be served by any package (a "
    "Firecracker/cloud microVM kernel supplied by the host, no package provides its headers); "
    f"build for the distribution's stock kernel {STOCK} instead (KDIR={STOCK_KDIR})",
    settings={"KDIR": STOCK_KDIR},
)
SWITCH_NOTE = (
    f"The target kernel was switched: the running kernel {FC} cannot be served by any package "
    "(a Firecracker/cloud microVM kernel supplied by the host, no package provides its "
    f"headers), so kdoctor builds for the distribution's stock kernel {STOCK} "
    f"(KDIR={STOCK_KDIR}, persisted for later commands) and tests the module in a VM booting "
    "it; it cannot be loaded into the running kernel."
)


def retargeted(**overrides: Any) -> Context:
    """The context retarget() hands the fixes on this machine."""
    return make_context(running_kernel=FC, target_source=RETARGETED, **overrides)


def headers_ok(ctx: Context) -> Finding:
    return Finding(
        "kernel-headers",
        Status.OK,
        f"headers for {ctx.target_kernel} at {ctx.kdir}",
        found=ctx.kdir,
        facts={"kdir": ctx.kdir, "usable": True},
    )


def vm(
    image: Optional[str] = None,
    known: Optional[bool] = True,
    package: Optional[str] = f"linux-image-{STOCK}",
) -> Finding:
    """The vm check's finding: an image on the machine, or a package (``known``) to fetch."""
    facts: dict[str, Any] = {
        "image": image,
        "image_package": package,
        "image_package_known": None if image else known,
        "image_source": "cache" if image else ("package" if known else None),
        "missing": [],
    }
    # an image a package ships is fetched into the cache by kdoctor fix
    needs: tuple[Need, ...] = ()
    if image is None and known and package:
        needs = (KernelImage(STOCK, package),)
    if image or known:
        return Finding(
            "vm", Status.OK, "qemu 7.2.22, KVM, static busybox", needs=needs, facts=facts
        )
    return Finding(
        "vm",
        Status.FAIL,
        f"cannot test in a VM: no /boot/vmlinuz-{FC} or cached image, and apt knows no package "
        f"linux-image-{FC}",
        needs=needs,
        facts=facts,
    )


def decide(ctx: Context, *findings: Finding) -> Decision:
    system = FakeSystem()
    asks = [Ask(f, n) for f in findings for n in f.needs]
    decision = KernelTargetFix().plan(Facts(ctx, system), asks, PlanOptions())
    assert system.calls == [] and system.runs == []
    return decision


def plan(ctx: Context, *findings: Finding) -> list[Step]:
    return decide(ctx, *findings).steps


def notes(ctx: Context, *findings: Finding) -> list[str]:
    return decide(ctx, *findings).notes


def test_retargeted_with_the_image_cached_persists_kdir_only() -> None:
    ctx = retargeted()
    findings = (headers_ok(ctx), vm(image=CACHED))
    assert plan(ctx, *findings) == [SWITCH]
    assert notes(ctx, *findings) == [SWITCH_NOTE]


def test_retargeted_without_an_image_fetches_it_into_the_cache() -> None:
    ctx = retargeted()
    assert plan(ctx, headers_ok(ctx), vm()) == [SWITCH, FETCH]
    assert FETCH.display == f"kdoctor fetch-image {STOCK}"


def test_a_running_distribution_kernel_without_its_image_gets_it_fetched() -> None:
    ctx = make_context()  # the running 6.1.0-56-amd64, headers usable, /boot empty (a container)
    assert plan(ctx, headers_ok(ctx), vm()) == [FETCH]
    assert notes(ctx, headers_ok(ctx), vm()) == []


def test_satisfied_target_plans_nothing() -> None:
    ctx = make_context()
    assert plan(ctx, headers_ok(ctx), vm(image=f"/boot/vmlinuz-{STOCK}")) == []
    assert notes(ctx, headers_ok(ctx), vm(image=f"/boot/vmlinuz-{STOCK}")) == []
    assert plan(ctx) == []  # no findings at all


def test_an_image_no_package_ships_is_not_fetched() -> None:
    """Nothing kdoctor fix can do: the vm check's remediation says what a person can."""
    ctx = make_context(running_kernel=FC, target_kernel=FC, kdir=f"/lib/modules/{FC}/build")
    finding = vm(known=False, package=f"linux-image-{FC}")
    assert finding.needs == ()
    assert plan(ctx, finding) == [] and notes(ctx, finding) == []


def test_images_are_fetched_only_with_apt() -> None:
    ctx = make_context(package_manager="dnf")
    assert plan(ctx, headers_ok(ctx), vm(package="kernel-core-6.8.5-301.fc40.x86_64")) == []
    assert notes(ctx, headers_ok(ctx), vm(package="kernel-core-6.8.5-301.fc40.x86_64")) == [
        f"kdoctor fetches kernel images only with apt: install the image of {STOCK} or copy it "
        f"to {CACHED}."
    ]


def test_an_explicit_unservable_target_is_kept_and_explained() -> None:
    ctx = make_context(
        running_kernel=FC,
        target_kernel=FC,
        kdir=f"/lib/modules/{FC}/build",
        target_source="--kernel",
    )
    headers = Finding(
        "kernel-headers",
        Status.FAIL,
        f"cannot build for {FC} (from --kernel): a Firecracker/cloud microVM kernel supplied by "
        "the host, no package provides its headers",
        remediation=Remediation(
            "Build for a kernel whose headers are installed.",
            (f"kdoctor check --kernel {STOCK}", "kdoctor fix"),
        ),
        needs=(
            StockKernel(
                "a Firecracker/cloud microVM kernel supplied by the host, no package "
                "provides its headers"
            ),
        ),
        facts={"usable": False, "package_known": False},
    )
    assert plan(ctx, headers) == []
    assert notes(ctx, headers) == [
        f"No package serves {FC}, chosen with --kernel; kdoctor never overrides an explicit "
        f"target. {headers.summary} By hand: kdoctor check --kernel {STOCK}."
    ]


def test_the_fix_runs_after_packages() -> None:
    orders = {fix.id: fix.order for fix in all_fixes()}
    assert orders["kernel-target"] == 20
    assert orders["packages"] < orders["kernel-target"]


def test_make_plan_retargets_and_persists_kdir_in_the_settings_file(tmp_path: Path) -> None:
    settings = str(tmp_path / "env")
    ctx = make_context(
        running_kernel=FC,
        target_kernel=FC,
        kdir=f"/lib/modules/{FC}/build",
        settings_file=settings,
    )
    before = Report(
        ctx,
        (
            Finding(
                "kernel-headers",
                Status.FAIL,
                f"cannot build for the running kernel {FC}",
                needs=(
                    StockKernel(
                        "a Firecracker/cloud microVM kernel supplied by the host, no package "
                        "provides its headers",
                        "linux-headers-amd64",
                        ((STOCK, STOCK_KDIR),),
                    ),
                ),
                facts={"usable": False, "package_known": False},
            ),
        ),
        0.0,
    )
    system = FakeSystem()
    new = retarget(ctx, before, system)
    assert new is not None
    assert (new.target_kernel, new.kdir, new.target_source) == (
        STOCK,
        STOCK_KDIR,
        RETARGETED,
    )
    # the caller rechecks for the new target and plans for that report
    result = make_plan(Facts(new, system), Report(new, (headers_ok(new), vm()), 0.0))
    assert result.context == new
    mine = [s for s in result.steps if "kernel-target" in s.fix]
    assert [s.settings for s in mine] == [{"KDIR": STOCK_KDIR}, {}]
    edit = mine[0].edit
    assert edit is not None and edit.path == settings
    assert f"export KDIR={STOCK_KDIR}" in edit.text
    assert mine[1] == FETCH
    assert SWITCH_NOTE in result.notes
    assert system.runs == []
