from __future__ import annotations

from typing import Optional

import pytest

from kdoctor.checks.module_loading import ModuleLoadingCheck
from kdoctor.facts.loading import (
    EFI_DIR,
    LOCKDOWN,
    MODULES_DISABLED,
    PROC_MODULES,
    SECURE_BOOT_VAR,
    SIG_ENFORCE,
    explain_insmod_error,
    host_loading,
    secure_boot_state,
)
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.pipeline.planner import fix_of
from tests.conftest import make_context, run_check
from tests.fake_system import FakeSystem

SB_ON = "\x06\x00\x00\x00\x01"
SB_OFF = "\x06\x00\x00\x00\x00"


def host(
    *,
    modules: bool = True,
    disabled: str = "0\n",
    lockdown: Optional[str] = "[none] integrity confidentiality\n",
    enforce: Optional[str] = "N\n",
    efi: Optional[str] = None,
    files: Optional[dict[str, str]] = None,
    programs: Optional[dict[str, str]] = None,
    commands: Optional[dict[str, object]] = None,
) -> FakeSystem:
    """A machine that loads modules; each keyword spoils one thing."""
    found: dict[str, str] = {}
    if modules:
        found[PROC_MODULES] = "ext4 1 0 - Live 0x0\n"
        found[MODULES_DISABLED] = disabled
        if enforce is not None:
            found[SIG_ENFORCE] = enforce
    if lockdown is not None:
        found[LOCKDOWN] = lockdown
    if efi is not None:
        found[SECURE_BOOT_VAR] = efi
    found.update(files or {})
    return FakeSystem(
        files=found,
        dirs={EFI_DIR: ["efivars"]} if efi is not None else {},
        programs=programs or {},
        commands=commands or {},  # type: ignore[arg-type]
    )


def run(system: FakeSystem, **ctx: object) -> Finding:
    return run_check(ModuleLoadingCheck(), make_context(**ctx), system)


def test_loadable_host_passes_with_every_fact() -> None:
    assert run(host()) == Finding(
        id="module-loading",
        status=Status.OK,
        summary="this host can load the module: 6.1.0-56-amd64 is the target, no lockdown, "
        "signatures not enforced",
        found="6.1.0-56-amd64",
        required=False,
        facts={
            "possible": True,
            "reasons": [],
            "risks": [],
            "insmod_errors": [],
            "module_support": True,
            "modules_disabled": False,
            "lockdown": "none",
            "secure_boot": False,
            "sig_enforce": False,
            "running_kernel": "6.1.0-56-amd64",
            "target_kernel": "6.1.0-56-amd64",
        },
    )


def test_kernel_without_module_support_warns_and_points_at_the_vm() -> None:
    fc = "6.18.44-fc-v782"
    finding = run(
        host(modules=False, lockdown=None), running_kernel=fc, target_kernel=fc, kdir="/nowhere"
    )
    assert finding.status is Status.WARN
    assert finding.required is False
    assert finding.summary == (
        f"modules cannot be loaded on this host: the running kernel {fc} has no loadable "
        "module support (CONFIG_MODULES=n)"
    )
    assert fix_of(finding) is None
    assert finding.remediation == Remediation(
        'insmod here would fail with "Function not implemented". '
        "Test the module in a VM that boots the target kernel instead.",
        ("kdoctor verify --vm",),
    )
    assert finding.facts["module_support"] is False
    assert finding.facts["insmod_errors"] == ["Function not implemented"]


def test_other_target_kernel_adds_invalid_module_format() -> None:
    fc = "6.18.44-fc-v782"
    finding = run(host(modules=False, lockdown=None), running_kernel=fc)
    assert finding.status is Status.WARN
    assert finding.summary.endswith("(CONFIG_MODULES=n) (+1 more)")
    assert finding.facts["insmod_errors"] == ["Function not implemented", "Invalid module format"]
    assert finding.remediation is not None
    assert (
        f"Also: the module is built for 6.1.0-56-amd64, but {fc} is running "
        "(its version magic will not match)." in finding.remediation.text
    )


def test_modules_disabled_means_operation_not_permitted() -> None:
    finding = run(host(disabled="1\n"))
    assert finding.status is Status.WARN
    assert finding.summary == (
        "modules cannot be loaded on this host: module loading is switched off until reboot "
        "(kernel.modules_disabled=1)"
    )
    assert finding.facts["insmod_errors"] == ["Operation not permitted"]
    assert finding.facts["modules_disabled"] is True


def test_lockdown_refuses_unsigned_modules_with_eperm() -> None:
    finding = run(host(lockdown="none [integrity] confidentiality\n"))
    assert finding.status is Status.WARN
    assert finding.facts["lockdown"] == "integrity"
    assert finding.facts["reasons"] == ["kernel lockdown (integrity) refuses unsigned modules"]
    assert finding.facts["insmod_errors"] == ["Operation not permitted"]


def test_enforced_signatures_are_key_rejected_on_modern_and_enokey_on_old_kernels() -> None:
    finding = run(host(enforce="Y\n"))
    assert finding.status is Status.WARN
    assert finding.facts["sig_enforce"] is True
    assert finding.facts["insmod_errors"] == ["Key was rejected by service"]
    old = "5.3.0-1-amd64"
    finding = run(host(enforce="Y\n"), running_kernel=old, target_kernel=old)
    assert finding.facts["insmod_errors"] == ["Required key not available"]


def test_sig_force_in_boot_config_counts_when_sysfs_is_silent() -> None:
    config = {"/boot/config-6.1.0-56-amd64": "CONFIG_MODULES=y\nCONFIG_MODULE_SIG_FORCE=y\n"}
    finding = run(host(enforce=None, files=config))
    assert finding.facts["sig_enforce"] is True
    assert finding.facts["possible"] is False


def test_sig_force_in_target_config_counts_when_target_is_running() -> None:
    kdir_config = {"/lib/modules/6.1.0-56-amd64/build/.config": "CONFIG_MODULE_SIG_FORCE=y\n"}
    finding = run(host(enforce=None, files=kdir_config))
    assert finding.facts["sig_enforce"] is True


def test_secure_boot_with_unknown_policy_is_assumed_to_refuse() -> None:
    finding = run(host(efi=SB_ON, lockdown=None, enforce=None))
    assert finding.status is Status.WARN
    assert finding.facts["secure_boot"] is True
    assert finding.facts["reasons"] == [
        "Secure Boot is on, and distribution kernels then refuse unsigned modules"
    ]
    assert finding.facts["insmod_errors"] == ["Key was rejected by service"]


def test_secure_boot_without_enforcement_still_loads() -> None:
    finding = run(host(efi=SB_ON))
    assert finding.status is Status.OK
    assert finding.facts["secure_boot"] is True


def test_secure_boot_state_sources() -> None:
    assert secure_boot_state(host()) is False  # no /sys/firmware/efi: BIOS boot
    assert secure_boot_state(host(efi=SB_OFF)) is False
    assert secure_boot_state(host(efi=SB_ON)) is True
    mokutil = host(
        files={f"{EFI_DIR}/systab": ""},
        programs={"mokutil": "/usr/bin/mokutil"},
        commands={"mokutil --sb-state": "SecureBoot enabled\n"},
    )
    assert secure_boot_state(mokutil) is True
    unknown = host(files={f"{EFI_DIR}/systab": ""})
    assert secure_boot_state(unknown) is None


def test_not_root_is_a_risk_not_a_blocker() -> None:
    finding = run(host(), is_root=False)
    assert finding.status is Status.WARN
    assert finding.summary == (
        "modules can be loaded here, but insmod needs root (CAP_SYS_MODULE): run it with sudo"
    )
    assert finding.remediation == Remediation(
        'Without that, insmod fails with "Operation not permitted". Or test the module in a VM.',
        ("sudo kdoctor verify --host", "kdoctor verify --vm"),
    )
    assert finding.facts["possible"] is True


def test_host_loading_is_reusable_on_its_own() -> None:
    result = host_loading(make_context(), host(disabled="1\n", enforce="Y\n"))
    assert result.possible is False
    assert result.insmod_errors == ("Operation not permitted", "Key was rejected by service")
    assert len(result.reasons) == 2


@pytest.mark.parametrize(
    ("stderr", "cause_start"),
    [
        (
            "insmod: ERROR: could not insert module helloworld.ko: Function not implemented",
            "the running kernel has no loadable module support",
        ),
        (
            "insmod: ERROR: could not insert module helloworld.ko: Key was rejected by service",
            "the kernel enforces module signatures",
        ),
        (
            "insmod: ERROR: could not insert module helloworld.ko: Required key not available",
            "the kernel requires a module signature",
        ),
        (
            "insmod: ERROR: could not insert module helloworld.ko: Operation not permitted",
            "insmod ran without root",
        ),
        (
            "insmod: ERROR: could not insert module helloworld.ko: Invalid module format",
            "the module was built for a different kernel",
        ),
        (
            "insmod: ERROR: could not insert module helloworld.ko: Unknown symbol in module",
            "the module uses symbols",
        ),
        (
            "insmod: ERROR: could not insert module helloworld.ko: File exists",
            "a module with the same name is already loaded",
        ),
    ],
)
def test_explain_insmod_error(stderr: str, cause_start: str) -> None:
    cause, remedy = explain_insmod_error(stderr)
    assert cause.startswith(cause_start)
    assert remedy


def test_unknown_insmod_error_falls_back_to_dmesg() -> None:
    assert explain_insmod_error("insmod: ERROR: could not insert module x.ko: Bad address\n") == (
        "insmod failed: insmod: ERROR: could not insert module x.ko: Bad address",
        "Check dmesg | tail for the kernel's reason",
    )
    assert explain_insmod_error("")[0] == "insmod failed: no message"
