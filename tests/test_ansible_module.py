"""The Ansible module kdoctor.toolchain.kdoctor against recorded kdoctor JSON: the command it
runs for each state, and what it reports (changed, diff, facts, failures) for each document.

The recorded documents (tests/data/kdoctor_json) were printed by this kdoctor on this machine
(and one, needs-admin, on a fake machine without root or sudo); they are validated against the
schemas too, so they cannot drift from the contract."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from kdoctor import __version__
from kdoctor.model.contract import SCHEMA_VERSION
from tests.contract import validate

ROOT = Path(__file__).resolve().parent.parent
COLLECTION = ROOT / "ansible_collections" / "kdoctor" / "toolchain"
RECORDED = Path(__file__).resolve().parent / "data" / "kdoctor_json"


def collection_module(relative: str) -> ModuleType:
    """A Python file of the collection, imported as Ansible names it (the repository root holds
    ansible_collections/, a namespace package beside the installed collections)."""
    pytest.importorskip("ansible")
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    name = "ansible_collections.kdoctor.toolchain.plugins." + relative.replace("/", ".")
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def mod() -> ModuleType:
    """The modules' shared code: the command line and what a result reports."""
    return collection_module("module_utils/kdoctor")


@pytest.fixture(scope="module", params=["kdoctor", "kdoctor_info"])
def module_file(request: pytest.FixtureRequest) -> ModuleType:
    return collection_module(f"modules/{request.param}")


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("path", sorted(RECORDED.glob("*.json")), ids=lambda p: p.stem)
def test_the_recorded_documents_follow_the_contract(path: Path) -> None:
    document = path.stem.split("-")[0]
    validate(document, json.loads(path.read_text(encoding="utf-8")))


def params(**given: Any) -> dict[str, Any]:
    base = {"state": "provisioned", "rust": None, "kernel": None, "module_dir": None}
    return {**base, "allow_rustup_installer": False, "expect_plan": None, **given}


def test_the_command_for_each_state_and_mode(mod: ModuleType) -> None:
    assert mod.command(params(), True) == ["fix", "--json", "--dry-run", "--no-build"]
    assert mod.command(params(), False) == ["fix", "--json", "--yes", "--no-build"]
    assert mod.command(params(state="verified"), False) == ["fix", "--json", "--yes"]
    assert mod.command(params(state="checked"), False) == ["check", "--json"]
    assert mod.command(params(state="checked"), True) == ["check", "--json"]
    full = params(
        state="verified",
        rust="distro",
        kernel="6.1.0-50-amd64",
        module_dir="/src/m",
        allow_rustup_installer=True,
        expect_plan="ab" * 32,
    )
    assert mod.command(full, False) == [
        *("fix", "--json", "--yes", "--allow-rustup-installer", "--expect-plan", "ab" * 32),
        *("--rust", "distro", "--kernel", "6.1.0-50-amd64", "--module-dir", "/src/m"),
    ]


def test_check_mode_with_steps_pending_reports_changed_and_a_diff(mod: ModuleType) -> None:
    data = recorded("fix-dry-run-pending")
    result = mod.interpret("provisioned", True, 5, data)
    assert result["changed"] is True and "failed" not in result
    diff = result["diff"]["prepared"]
    assert "+export KDIR=/lib/modules/" in diff  # the settings file's edit, as a unified diff
    assert "fetch-image" in diff  # and the command
    assert all(f"# {s['id']}: " in diff for s in data["plan"]["steps"])
    assert result["ansible_facts"]["kdoctor"] == data["before"]
    assert result["plan_digest"] == data["plan_digest"] and result["halt"] == "dry-run"
    assert (result["kdoctor_version"], result["schema_version"]) == (__version__, SCHEMA_VERSION)


def test_check_mode_with_nothing_to_do_is_unchanged(mod: ModuleType) -> None:
    result = mod.interpret("provisioned", True, 0, recorded("fix-dry-run-nothing"))
    assert result["changed"] is False and "diff" not in result and "failed" not in result


def test_blocked_fails_with_the_blocking_checks(mod: ModuleType) -> None:
    data = recorded("fix-dry-run-blocked")
    result = mod.interpret("verified", True, 1, data)
    assert result["failed"] is True and result["msg"].startswith("blocked: no step fixes ")
    assert "kernel-headers (cannot build for 9.9.9-nope" in result["msg"]
    assert [f["id"] for f in result["blocked"]] == [f["id"] for f in data["blocked"]]


def test_an_apply_reports_what_it_changed_and_the_diagnosis_after(mod: ModuleType) -> None:
    data = recorded("fix-apply-provisioned")
    result = mod.interpret("provisioned", False, 0, data)
    assert result["changed"] is True and "failed" not in result
    assert result["ansible_facts"]["kdoctor"] == data["after"]
    assert all(s["status"] == "applied" for s in result["plan"]["steps"])
    again = mod.interpret("provisioned", False, 0, recorded("fix-apply-nothing"))
    assert again["changed"] is False and "failed" not in again


def test_a_step_that_needs_an_administrator_fails_listing_the_commands(mod: ModuleType) -> None:
    data = recorded("fix-needs-admin")
    result = mod.interpret("provisioned", False, 1, data)
    assert result["failed"] is True and result["changed"] is False
    assert result["admin_commands"] == data["apply"]["admin_commands"]
    assert re.search(r"need an administrator .*: apt-get update; apt-get install -y", result["msg"])


def test_a_plan_other_than_the_expected_one_fails_unchanged(mod: ModuleType) -> None:
    data = recorded("fix-plan-changed")
    result = mod.interpret("provisioned", False, 4, data)
    assert result["failed"] is True and result["changed"] is False
    assert data["plan_digest"] in result["msg"] and "nothing was applied" in result["msg"]


def test_state_checked_reports_the_report_and_fails_on_a_failing_required_check(
    mod: ModuleType,
) -> None:
    ok = mod.interpret("checked", False, 0, recorded("check-ok"))
    assert ok["changed"] is False and "failed" not in ok
    assert ok["ansible_facts"]["kdoctor"] == recorded("check-ok")
    failing = mod.interpret("checked", True, 1, recorded("check-fail"))
    assert failing["failed"] is True and "kernel-headers (cannot build" in failing["msg"]


def test_errors_and_other_contract_versions_fail(mod: ModuleType) -> None:
    error = mod.interpret("provisioned", False, 2, recorded("error-usage"))
    assert error["failed"] is True and "must be rewrite or touch" in error["msg"]
    future = dict(recorded("fix-apply-nothing"), schema_version=SCHEMA_VERSION + 1)
    result = mod.interpret("provisioned", False, 0, future)
    assert result["failed"] is True and "schema_version" in result["msg"]


def test_build_and_verification_failures_fail_with_their_cause(mod: ModuleType) -> None:
    data = recorded("fix-apply-nothing")
    build = {"ok": False, "tail": ["error[E0425]"], "explanations": [{"cause": "c", "remedy": "r"}]}
    failed = mod.interpret("verified", False, 1, dict(data, halt="build-failed", build=build))
    assert failed["failed"] is True and failed["msg"] == "the module did not build: c (r)"
    verify = {"passed": False, "summary": "missing: Goodbye kernel module!"}
    result = mod.interpret("verified", False, 1, dict(data, halt="not-verified", verify=verify))
    assert result["msg"] == "the module was not verified: missing: Goodbye kernel module!"


def test_the_documentation_lists_exactly_the_options(module_file: ModuleType) -> None:
    yaml = pytest.importorskip("yaml")
    documented = yaml.safe_load(module_file.DOCUMENTATION)["options"]
    source = Path(str(module_file.__file__)).read_text(encoding="utf-8")
    spec = re.findall(r"^            (\w+)=dict\(", source, re.M)
    assert sorted(documented) == sorted(spec)
    if "state" in documented:
        assert documented["state"]["choices"] == ["checked", "provisioned", "verified"]
    yaml.safe_load(module_file.EXAMPLES)
    yaml.safe_load(module_file.RETURN)


def test_every_return_value_is_documented_with_a_sample(module_file: ModuleType) -> None:
    """exit_code, cmd, the fact kdoctor ...: each with its type and a sample, a list with its
    elements, a dict with what it contains."""
    yaml = pytest.importorskip("yaml")
    returned = yaml.safe_load(module_file.RETURN)
    assert {"exit_code", "cmd", "kdoctor_version", "ansible_facts", "report"} <= set(returned)
    assert "kdoctor" in returned["ansible_facts"]["contains"]

    def walk(values: dict[str, Any], where: str) -> None:
        for name, value in values.items():
            assert "sample" in value and value.get("description"), f"{where}{name}"
            if value["type"] == "list":
                assert "elements" in value, f"{where}{name}"
            if value["type"] == "dict":
                assert value.get("contains"), f"{where}{name}"
            walk(value.get("contains") or {}, f"{where}{name}.")

    walk(returned, "")


def test_a_failure_message_is_short_and_the_whole_report_is_in_the_result(
    mod: ModuleType,
) -> None:
    """A failed task sets no fact: the message names the failing checks (ids, one line each),
    the report is the result's `report`."""
    data = recorded("check-fail")
    summaries = [len(c["summary"]) for c in data["checks"] if c["status"] == "fail"]
    result = mod.interpret("checked", False, 1, data)
    assert result["report"] == data and "\n" not in result["msg"]
    assert len(result["msg"]) <= 30 + len(mod.failing_checks(data)) * (mod.REASON_LENGTH + 40)
    long = dict(data, checks=[dict(c, summary="x" * 500 + "\nmore") for c in data["checks"]])
    cut = mod.interpret("checked", False, 1, long)["msg"]
    assert "x" * (mod.REASON_LENGTH - 3) + "..." in cut and "more" not in cut
    assert max(summaries) > 0
    blocked = mod.interpret("verified", True, 1, recorded("fix-dry-run-blocked"))
    assert blocked["report"] == recorded("fix-dry-run-blocked")["before"]


def test_the_info_result_is_the_report_and_never_a_failure(mod: ModuleType) -> None:
    failing = mod.report_result(1, recorded("check-fail"))
    assert "failed" not in failing and failing["changed"] is False
    assert failing["passed"] is False and failing["exit_code"] == 1
    assert failing["report"] == failing["ansible_facts"]["kdoctor"] == recorded("check-fail")
    assert [c["id"] for c in failing["failing"]] == [
        c["id"]
        for c in recorded("check-fail")["checks"]
        if c["required"] and c["status"] in ("fail", "error")
    ]
    assert "kernel-headers" in [c["id"] for c in failing["failing"]]
    ok = mod.report_result(0, recorded("check-ok"))
    assert ok["passed"] is True and ok["failing"] == []
    assert mod.contract_error(0, recorded("check-ok")) is None
    future = dict(recorded("check-ok"), schema_version=SCHEMA_VERSION + 1)
    assert "schema_version" in mod.contract_error(0, future)["msg"]


def test_the_collection_version_is_kdoctors() -> None:
    galaxy = (COLLECTION / "galaxy.yml").read_text(encoding="utf-8")
    assert re.search(rf"^version: {re.escape(__version__)}$", galaxy, re.M)


@pytest.mark.integration
@pytest.mark.parametrize("name", ["kdoctor", "kdoctor_info"])
def test_ansible_reads_the_documentation(name: str) -> None:
    pytest.importorskip("ansible")
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "ansible-doc").exists():
        pytest.skip("ansible-core's commands are not beside this Python")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(ROOT), ANSIBLE_NOCOLOR="1")
    doc = subprocess.run(
        [str(bin_dir / "ansible-doc"), f"kdoctor.toolchain.{name}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert doc.returncode == 0 and "WARNING" not in doc.stderr, doc.stderr
    assert "executable" in doc.stdout and "RETURN VALUES" in doc.stdout
    assert "check_mode" in doc.stdout and "exit_code" in doc.stdout
