from __future__ import annotations

from kdoctor.checks import REPORT_ORDER
from kdoctor.checks.privileges import PrivilegesCheck
from kdoctor.model.finding import Finding, Remediation, Status
from tests.conftest import make_context, run_check
from tests.fake_system import FakeSystem, Reply

SUDO = {"sudo": "/usr/bin/sudo"}
ASKS = Reply(stderr="sudo: a password is required\n", exit_code=1)


def run(system: FakeSystem, **ctx: object) -> Finding:
    return run_check(PrivilegesCheck(), make_context(**ctx), system)


def test_root_needs_nothing_and_runs_nothing() -> None:
    system = FakeSystem(programs={})
    assert run(system, is_root=True) == Finding(
        id="privileges",
        status=Status.OK,
        summary="running as root",
        found="root",
        facts={"root": True, "sudo": "none"},
        required=False,
    )
    assert system.calls == []


def test_root_with_sudo_installed() -> None:
    system = FakeSystem(programs=SUDO)
    finding = run(system, is_root=True)
    assert finding.status is Status.OK
    assert finding.facts == {"root": True, "sudo": "passwordless"}
    assert system.calls == []  # root is never asked for a password


def test_passwordless_sudo_is_ok() -> None:
    system = FakeSystem(programs=SUDO, commands={"/usr/bin/sudo -n true": ""})
    assert run(system, is_root=False) == Finding(
        id="privileges",
        status=Status.OK,
        summary="passwordless sudo",
        found="/usr/bin/sudo",
        facts={"root": False, "sudo": "passwordless"},
        required=False,
    )
    assert system.calls == [("/usr/bin/sudo", "-n", "true")]
    assert [p.timeout for p in system.probes()] == [5.0]


def test_sudo_with_a_password_warns_that_fix_will_ask() -> None:
    system = FakeSystem(programs=SUDO, commands={"/usr/bin/sudo -n true": ASKS})
    assert run(system, is_root=False) == Finding(
        id="privileges",
        status=Status.WARN,
        summary=(
            "sudo needs a password, which kdoctor never types: kdoctor fix prints its root "
            "steps for you to run"
        ),
        found="/usr/bin/sudo",
        remediation=Remediation(
            "Run the root commands kdoctor fix prints (sudo asks you for the password), then "
            "rerun kdoctor fix; or allow passwordless sudo, or run kdoctor fix as root."
        ),
        facts={"root": False, "sudo": "password"},
        required=False,
    )


def test_sudo_that_hangs_is_treated_as_asking() -> None:
    system = FakeSystem(programs=SUDO, commands={"/usr/bin/sudo -n true": Reply(timed_out=True)})
    finding = run(system, is_root=False)
    assert finding.status is Status.WARN
    assert finding.facts["sudo"] == "password"


def test_no_sudo_warns_that_commands_will_be_printed() -> None:
    assert run(FakeSystem(programs={}), is_root=False) == Finding(
        id="privileges",
        status=Status.WARN,
        summary="not root and no sudo: kdoctor fix will print the root commands for an admin",
        found="no sudo",
        remediation=Remediation(
            "Run kdoctor fix as root, or hand the root commands it prints to an administrator."
        ),
        facts={"root": False, "sudo": "none"},
        required=False,
    )


def test_a_warning_here_never_blocks() -> None:
    assert PrivilegesCheck.required is False
    assert REPORT_ORDER[-1] == PrivilegesCheck.id  # and it comes last
