"""The machine-readable contract, on fake machines through the command line: every ``--json``
document carries the versions and validates against its schema; usage errors are JSON
documents too; the plan's step ids and digest are stable and ``--expect-plan`` holds them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kdoctor import __version__
from kdoctor.cli import options
from kdoctor.model.contract import DOCUMENTS, SCHEMA_VERSION
from kdoctor.model.plan import FileEdit, Plan, Step
from kdoctor.model.plan_id import plan_digest, step_id, step_ids
from kdoctor.pipeline import provision as pipeline
from kdoctor.pipeline.build import BuildResult
from kdoctor.pipeline.verify.result import VerifyResult
from tests.contract import schemas, validate
from tests.fake_system import FakeSystem
from tests.test_cli_fix import invoke
from tests.test_provision import APT, STOCK, Factory, answered, machine, stock_only
from tests.test_retarget import FC, STOCK_KDIR


@pytest.fixture
def bare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Factory:
    """Every command's System is a fake bare machine (one fresh fake per call)."""
    systems = Factory(*(machine(tmp_path, programs=APT) for _ in range(3)))
    monkeypatch.setattr(options, "system_factory", systems)
    return systems


def test_every_document_has_a_valid_schema_with_the_versions() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    found = schemas()
    assert set(DOCUMENTS) <= set(found)
    for name, schema in found.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["$id"].endswith(f"/{name}.schema.json")
        branches = schema.get("oneOf", [schema])
        for branch in branches:
            assert {"kdoctor_version", "schema_version"} <= set(branch["required"]), name
            assert branch["properties"]["schema_version"] == {
                **branch["properties"]["schema_version"],
                "const": SCHEMA_VERSION,
            }


def document(result: Any, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.stdout)
    assert (data["kdoctor_version"], data["schema_version"]) == (__version__, SCHEMA_VERSION)
    assert list(data)[:2] == ["kdoctor_version", "schema_version"]
    validate(name, data)
    return data


def test_check_and_list_documents_validate(bare: Factory) -> None:
    checked = invoke("check", "--json", "--kernel", STOCK)
    assert checked.exit_code == 1
    for item in document(checked, "check")["checks"]:  # each finding names its README section
        assert item["docs"] == f"README.md#check-{item['id']}"
    verbose = invoke("check", "--json", "-v", "--kernel", STOCK)
    assert document(verbose, "check")["probes"]
    listed = invoke("list", "--json")
    assert listed.exit_code == 0
    assert {c["id"] for c in document(listed, "list")["checks"]} >= {"os", "vm"}


def test_a_docs_link_outside_the_readme_s_checks_does_not_validate(bare: Factory) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data = json.loads(invoke("check", "--json", "os").stdout)
    validate("check", data)
    data["checks"][0]["docs"] = "https://example.invalid/os"
    with pytest.raises(jsonschema.ValidationError):
        validate("check", data)


def test_a_document_without_the_versions_does_not_validate(bare: Factory) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    data = json.loads(invoke("check", "--json", "--kernel", STOCK).stdout)
    del data["schema_version"]
    with pytest.raises(jsonschema.ValidationError):
        validate("check", data)
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(jsonschema.ValidationError):
        validate("check", data)


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["fix", "--json", "--kbuild-fix", "sideways"], "not one of 'rewrite', 'touch'"),
        (["fix", "--json", "--expect-plan", "abc"], "64 hex digits"),
        (["check", "--json", "no-such-check"], "unknown check: no-such-check"),
        (["check", "--json", "--rust", "sideways"], "not one of 'auto', 'pin', 'distro'"),
        (["build", "--json", "--no-such-option"], "No such option"),
        (["verify", "--json", "--accel", "hvf"], "'hvf' is not one of 'auto', 'kvm', 'tcg'"),
        (["no-such-command", "--json"], "No such command"),
    ],
)
def test_usage_errors_under_json_print_an_error_document(
    args: list[str], complaint: str, bare: Factory
) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    data = document(result, "error")
    assert data["error"]["kind"] == "usage" and data["exit_code"] == 2
    assert complaint in data["error"]["message"]
    # the person still reads it where they did (Rich may fold it inside its box)
    folded = " ".join(w.strip("│ ") for w in result.stderr.split())
    assert all(word in folded for word in complaint.split())


def test_usage_errors_without_json_print_nothing_on_stdout(bare: Factory) -> None:
    result = invoke("fix", "--kbuild-fix", "sideways")
    assert result.exit_code == 2 and result.stdout == ""


def test_fix_documents_validate_dry_run_and_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = pipeline.provision(
        pipeline.ProvisionOptions(kernel=STOCK, dry_run=True),
        Factory(machine(tmp_path, programs=APT)),
    ).plan
    systems = Factory(machine(tmp_path, programs=APT), answered(tmp_path, plan), machine(tmp_path))
    monkeypatch.setattr(options, "system_factory", systems)
    dry = document(invoke("fix", "--dry-run", "--json", "--kernel", STOCK), "fix")
    assert dry["changed"] is True and dry["halt"] == "dry-run" and dry["exit_code"] == 5
    assert all(s["status"] == "pending" and s["changed"] for s in dry["plan"]["steps"])
    assert dry["target"] == dry["context"] and dry["before"]["checks"]
    validate("check", dry["before"])  # before is a whole check report
    applied = invoke("fix", "--yes", "--json", "--kernel", STOCK)
    data = document(applied, "fix")
    assert data["plan_digest"] == dry["plan_digest"]
    assert [s["id"] for s in data["plan"]["steps"]] == [s["id"] for s in dry["plan"]["steps"]]
    assert all(s["status"] == "applied" and s["changed"] for s in data["plan"]["steps"])
    assert [r["id"] for r in data["apply"]["results"]] == [s["id"] for s in dry["plan"]["steps"]]
    assert data["changed"] is True and data["halt"] == "still-failing"
    validate("check", data["after"])


def test_build_and_verify_documents_validate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bare: Factory
) -> None:
    # the bare machine has no Rust toolchain: no build, and the document says why
    assert document(invoke("build", "--json", "--kernel", STOCK), "build")["ok"] is False
    built = BuildResult(
        True, str(tmp_path), str(tmp_path / "helloworld.ko"), "/l", 1.5, ("make",), 0
    )
    verified = VerifyResult("vm", True, "three messages in order", STOCK, "helloworld.ko")
    monkeypatch.setattr(pipeline, "build_module", lambda *a, **k: (None, built))
    monkeypatch.setattr(pipeline, "verify_module", lambda *a, **k: verified)
    assert document(invoke("build", "--json", "--kernel", STOCK), "build")["ok"] is True
    ko = tmp_path / "helloworld.ko"
    ko.write_bytes(b"\x7fELF")
    result = invoke("verify", "--json", "--vm", "--ko", str(ko), "--kernel", STOCK)
    assert document(result, "verify")["passed"] is True


def step(argv: tuple[str, ...] = ("apt-get", "update"), **kw: Any) -> Step:
    fields: dict[str, Any] = {"findings": ("clang",), "why": "words", **kw}
    return Step(fix="packages", argv=argv, root=True, **fields)


def test_step_ids_name_what_a_step_does_not_its_prose() -> None:
    assert step_id(step()) == step_id(step(why="other words", findings=("vm",)))
    assert step_id(step()) != step_id(step(("apt-get", "install", "-y", "clang")))
    assert step_id(step()).startswith("packages-")
    edit = Step("settings", (), "w", edit=FileEdit("/h/env", "CC=clang\n", diff="+CC"))
    edited = Step("settings", (), "w", edit=FileEdit("/h/env", "CC=gcc\n", diff="+CC"))
    assert step_id(edit) != step_id(edited)
    twice = Plan((step(), step()))
    first, second = step_ids(twice)
    assert second == f"{first}#2"


def test_the_digest_covers_the_steps_their_order_and_the_target(tmp_path: Path) -> None:
    one, two = step(), step(("apt-get", "install", "-y", "clang"))
    assert plan_digest(Plan((one, two))) == plan_digest(Plan((one, two), notes=("n",)))
    assert plan_digest(Plan((one, two))) != plan_digest(Plan((two, one)))
    assert plan_digest(Plan((one,))) != plan_digest(Plan((one, two)))
    a = pipeline.provision(
        pipeline.ProvisionOptions(kernel=STOCK, dry_run=True), Factory(machine(tmp_path))
    )
    b = pipeline.provision(
        pipeline.ProvisionOptions(kernel=STOCK, dry_run=True), Factory(machine(tmp_path))
    )
    assert a.plan_digest == b.plan_digest and len(a.plan_digest) == 64
    other = pipeline.provision(
        pipeline.ProvisionOptions(kernel="6.1.0-99-amd64", dry_run=True),
        Factory(machine(tmp_path)),
    )
    assert other.plan_digest != a.plan_digest


def test_expect_plan_refuses_a_different_plan_and_applies_the_reviewed_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reviewed = pipeline.provision(
        pipeline.ProvisionOptions(kernel=STOCK, dry_run=True),
        Factory(machine(tmp_path, programs=APT)),
    )
    stale = "0" * 64
    refused_on = machine(tmp_path, programs=APT)
    monkeypatch.setattr(options, "system_factory", Factory(refused_on))
    refused = invoke("fix", "--yes", "--json", "--kernel", STOCK, "--expect-plan", stale)
    assert refused.exit_code == 4
    data = document(refused, "fix")
    assert (data["halt"], data["changed"]) == ("plan-changed", False)
    assert "apply" not in data and refused_on.runs == []
    assert "the plan is not the one expected" in refused.stderr
    first: FakeSystem = answered(tmp_path, reviewed.plan)
    monkeypatch.setattr(options, "system_factory", Factory(first, machine(tmp_path)))
    digest = reviewed.plan_digest.upper()  # hex in either case
    applied = invoke("fix", "--yes", "--json", "--kernel", STOCK, "--expect-plan", digest)
    assert json.loads(applied.stdout)["apply"]["ok"] is True and first.runs


def test_a_retargeted_plan_carries_the_context_it_was_made_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(options, "system_factory", Factory(stock_only(tmp_path)))
    data = document(invoke("fix", "--dry-run", "--json"), "fix")
    assert data["context"]["target_kernel"] == FC  # what the options selected
    assert data["target"]["target_kernel"] == STOCK  # what the plan is for
    assert data["target"]["kdir"] == STOCK_KDIR and data["target"]["target_source"] != "running"
    assert data["before"]["context"] == data["context"]
