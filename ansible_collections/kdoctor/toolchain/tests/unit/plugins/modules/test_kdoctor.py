# -*- coding: utf-8 -*-
# Copyright: kdoctor contributors
# SPDX-License-Identifier: GPL-2.0-only
"""The modules kdoctor and kdoctor_info run against a stand-in kdoctor that prints a given JSON
document and exits with a given code (ansible-test units)."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils import basic
from ansible_collections.kdoctor.toolchain.plugins.modules import kdoctor, kdoctor_info

try:  # ansible-core 2.19 and later
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # pragma: no cover - older ansible-core
    patch_module_args = None


class Exited(Exception):
    """exit_json or fail_json was called: their arguments, and which."""

    def __init__(self, failed, result):
        super().__init__(result)
        self.failed = failed
        self.result = result


def check(id_, status, required=True, summary="fine"):
    return {"id": id_, "status": status, "required": required, "summary": summary}


def report(exit_code, *checks):
    return {
        "kdoctor_version": "0.1.0",
        "schema_version": 1,
        "context": {"target_kernel": "6.1.0-50-amd64"},
        "checks": list(checks),
        "exit_code": exit_code,
    }


FAILING = report(
    1,
    check("os", "ok", required=False),
    check("kernel-headers", "fail", summary="cannot build for 9.9.9-nope: no package " + "x" * 300),
    check("vm", "fail", summary="no image of 9.9.9-nope\nsecond line"),
)


def stand_in(tmp_path, document, rc):
    """A kdoctor that logs its arguments, prints ``document`` and exits ``rc``."""
    (tmp_path / "out.json").write_text(json.dumps(document))
    path = tmp_path / "kdoctor"
    path.write_text(
        '#!/bin/sh\necho "$@" > "%s/args"\ncat "%s/out.json"\nexit %d\n' % (tmp_path, tmp_path, rc)
    )
    path.chmod(0o755)
    return str(path)


def run_module(module, monkeypatch, args):
    def exit_json(self, **result):
        raise Exited(False, result)

    def fail_json(self, **result):
        raise Exited(True, result)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    with pytest.raises(Exited) as exited:
        if patch_module_args is not None:
            with patch_module_args(args):
                module.main()
        else:  # pragma: no cover
            monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())
            module.main()
    return exited.value


def test_kdoctor_info_returns_a_failing_report_as_facts_without_failing(tmp_path, monkeypatch):
    exe = stand_in(tmp_path, FAILING, 1)
    out = run_module(kdoctor_info, monkeypatch, {"executable": exe, "rust": "distro"})
    assert out.failed is False and out.result["changed"] is False
    assert out.result["passed"] is False and out.result["exit_code"] == 1
    assert [c["id"] for c in out.result["failing"]] == ["kernel-headers", "vm"]
    assert out.result["ansible_facts"]["kdoctor"] == FAILING == out.result["report"]
    assert out.result["cmd"] == [exe, "check", "--json", "--rust", "distro"]


def test_kdoctor_info_runs_the_same_check_in_check_mode(tmp_path, monkeypatch):
    exe = stand_in(tmp_path, report(0, check("os", "ok")), 0)
    args = {"executable": exe, "checks": ["os", "vm"], "_ansible_check_mode": True}
    out = run_module(kdoctor_info, monkeypatch, args)
    assert out.failed is False and out.result["passed"] is True
    assert (tmp_path / "args").read_text().split() == ["check", "--json", "os", "vm"]


def test_kdoctor_info_fails_only_when_kdoctor_cannot_answer(tmp_path, monkeypatch):
    future = dict(report(0), schema_version=2)
    out = run_module(kdoctor_info, monkeypatch, {"executable": stand_in(tmp_path, future, 0)})
    assert out.failed is True and "schema_version 2" in out.result["msg"]
    (tmp_path / "kdoctor").write_text("#!/bin/sh\necho not json\nexit 3\n")
    out = run_module(kdoctor_info, monkeypatch, {"executable": str(tmp_path / "kdoctor")})
    assert out.failed is True and out.result["msg"] == "kdoctor printed no JSON (exit 3)"


def test_a_failing_diagnosis_fails_kdoctor_shortly_with_the_whole_report(tmp_path, monkeypatch):
    exe = stand_in(tmp_path, FAILING, 1)
    out = run_module(kdoctor, monkeypatch, {"executable": exe, "state": "checked"})
    assert out.failed is True and out.result["report"] == FAILING
    msg = out.result["msg"]
    assert msg.startswith("required checks fail: kernel-headers (cannot build for 9.9.9-nope")
    assert "vm (no image of 9.9.9-nope)" in msg and "second line" not in msg
    assert "\n" not in msg and len(msg) < 400


def test_check_mode_reports_the_pending_plan_as_a_diff(tmp_path, monkeypatch):
    step = {
        "id": "packages-1", "fix": "packages", "why": "clang: missing", "argv": ["apt-get", "install", "clang"],
        "edit": None, "root": True, "status": "planned", "changed": False,
    }
    document = {
        "kdoctor_version": "0.1.0", "schema_version": 1, "before": report(1), "blocked": [],
        "plan": {"steps": [step], "notes": []}, "plan_digest": "ab" * 32, "changed": True, "halt": "dry-run",
    }
    exe = stand_in(tmp_path, document, 5)
    out = run_module(kdoctor, monkeypatch, {"executable": exe, "_ansible_check_mode": True})
    assert out.failed is False and out.result["changed"] is True
    assert out.result["diff"]["prepared"] == "# packages-1: clang: missing\n(root) $ apt-get install clang\n"
    assert (tmp_path / "args").read_text().split() == ["fix", "--json", "--dry-run", "--no-build"]
