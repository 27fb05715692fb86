# -*- coding: utf-8 -*-
# Copyright: kdoctor contributors
# SPDX-License-Identifier: GPL-2.0-only
"""What the kdoctor.toolchain modules share: the kdoctor command line, running it, and reading
its JSON contract (kdoctor's ``schema_version``) into a module's result."""

from __future__ import annotations

import json
import os

#: the JSON contract the modules read (kdoctor's ``schema_version``)
SCHEMA_VERSION = 1
#: where the kdoctor.toolchain.install role puts kdoctor by default
DEFAULT_EXECUTABLE = "/opt/kdoctor/venv/bin/kdoctor"
#: ``kdoctor fix --dry-run``'s exit codes: nothing to do, blocked, changes pending
DRY_NOTHING = 0
DRY_BLOCKED = 1
DRY_PENDING = 5
#: how much of a reason a failure message keeps (the whole report is in the result)
REASON_LENGTH = 160

#: the options every module has that choose what kdoctor looks at
TARGET_OPTIONS = (("--rust", "rust"), ("--kernel", "kernel"), ("--module-dir", "module_dir"))


def target_args(params):
    """``--rust``, ``--kernel`` and ``--module-dir`` as the options give them."""
    argv = []
    for option, key in TARGET_OPTIONS:
        if params.get(key):
            argv += [option, params[key]]
    return argv


def command(params, check_mode):
    """The kdoctor command line of the kdoctor module (without the executable)."""
    if params["state"] == "checked":
        argv = ["check", "--json"]
    else:
        argv = ["fix", "--json", "--dry-run" if check_mode else "--yes"]
        if params["state"] == "provisioned":
            argv.append("--no-build")
        if params.get("allow_rustup_installer"):
            argv.append("--allow-rustup-installer")
        if params.get("expect_plan"):
            argv += ["--expect-plan", params["expect_plan"]]
    return argv + target_args(params)


def reason(text):
    """A reason on one short line: its first line, cut at :data:`REASON_LENGTH` characters."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    first = " ".join(lines[0].split()) if lines else ""
    if len(first) > REASON_LENGTH:
        first = first[: REASON_LENGTH - 3].rstrip() + "..."
    return first


def failing_checks(report):
    """The required checks of a check report that fail: ``{"id", "summary"}`` each."""
    return [
        {"id": f["id"], "summary": f["summary"]}
        for f in (report or {}).get("checks", [])
        if f.get("required") and f["status"] in ("fail", "error")
    ]


def listed(checks):
    """Checks as ``id (reason); id (reason)``."""
    return "; ".join("%s (%s)" % (c["id"], reason(c["summary"])) for c in checks)


def step_lines(step):
    """A step as the lines of a diff: a comment, then the file edit or the command."""
    lines = ["# %s: %s" % (step.get("id", step["fix"]), step["why"])]
    if step.get("edit"):
        lines.append(step["edit"]["diff"].rstrip("\n"))
    else:
        lines.append("%s$ %s" % ("(root) " if step.get("root") else "", " ".join(step["argv"])))
    return lines


def plan_diff(data):
    """Ansible's diff of a plan: every step, file edits as unified diffs."""
    steps = data.get("plan", {}).get("steps", [])
    if not steps:
        return None
    lines = []
    for step in steps:
        lines += step_lines(step)
    return {"prepared": "\n".join(lines) + "\n"}


def contract_error(rc, data):
    """The failure of a document this collection cannot read, or kdoctor's own error; None for a
    report or a plan."""
    if data.get("schema_version") != SCHEMA_VERSION:
        return {
            "failed": True,
            "exit_code": rc,
            "msg": "kdoctor %s speaks schema_version %r; this collection reads %d"
            % (data.get("kdoctor_version"), data.get("schema_version"), SCHEMA_VERSION),
        }
    if "error" in data:
        return {"failed": True, "msg": "kdoctor: " + data["error"]["message"], "exit_code": rc}
    return None


def report_result(rc, report):
    """What kdoctor_info returns for a check report: never a failure."""
    failing = failing_checks(report)
    return {
        "changed": False,
        "exit_code": rc,
        "kdoctor_version": report["kdoctor_version"],
        "schema_version": report["schema_version"],
        "passed": rc == 0 and not failing,
        "failing": failing,
        "report": report,
        "ansible_facts": {"kdoctor": report},
    }


def interpret(state, check_mode, rc, data):
    """What the kdoctor module reports for kdoctor's exit code ``rc`` and JSON document
    ``data``: a dict of the module's results, with ``failed`` and a short ``msg`` (the failing
    check ids and one-line reasons) when the task fails; the whole report is then ``report``."""
    error = contract_error(rc, data)
    if error is not None:
        return error
    result = {
        "changed": False,
        "exit_code": rc,
        "kdoctor_version": data["kdoctor_version"],
        "schema_version": data["schema_version"],
    }
    if state == "checked":
        result["ansible_facts"] = {"kdoctor": data}
        if rc != 0:
            result.update(
                failed=True,
                report=data,
                msg="required checks fail: " + (listed(failing_checks(data)) or "exit %d" % rc),
            )
        return result
    report = data.get("after") or data.get("before")
    result["ansible_facts"] = {"kdoctor": report}
    for key in (
        "plan",
        "plan_digest",
        "blocked",
        "halt",
        "target",
        "build",
        "verify",
        "reused_verification",
    ):
        if key in data:
            result[key] = data[key]
    result["changed"] = bool(data.get("changed"))
    diff = plan_diff(data)
    if diff is not None:
        result["diff"] = diff
    blocked = data.get("blocked", [])
    halt = data.get("halt")
    apply = data.get("apply") or {}
    msg = None
    if halt == "plan-changed":
        result["changed"] = False
        msg = (
            "the plan is not the one expected (its digest is %s); nothing was applied"
            % data["plan_digest"]
        )
    elif apply.get("stopped") == "needs-admin":
        result["admin_commands"] = apply["admin_commands"]
        msg = "these steps need an administrator (no root, no sudo -n): " + "; ".join(
            apply["admin_commands"]
        )
    elif blocked and (check_mode or halt == "still-failing"):
        msg = "blocked: no step fixes " + listed(blocked)
    elif check_mode:
        if rc not in (DRY_NOTHING, DRY_PENDING):
            msg = "kdoctor fix --dry-run exited %d" % rc
    elif halt == "apply-failed":
        failed = [r for r in apply.get("results", []) if not r["ok"]]
        words = [
            "%s (%s)" % (r["step"], reason(r.get("explanation") or "\n".join(r.get("tail", [])[-1:])))
            for r in failed
        ]
        msg = "a step failed: " + "; ".join(words)
    elif halt == "still-failing":
        msg = "required checks still fail: " + listed(failing_checks(report))
    elif halt in ("build-failed", "no-toolchain"):
        build = data.get("build") or {}
        causes = [
            "%s (%s)" % (reason(e["cause"]), reason(e["remedy"]))
            for e in build.get("explanations", [])
        ]
        detail = "; ".join(causes) or reason("\n".join(build.get("tail", [])[-1:])) or halt
        msg = "the module did not build: " + detail
    elif halt == "not-verified":
        verify = data.get("verify") or {}
        msg = "the module was not verified: " + reason(verify.get("summary", ""))
    elif rc != 0:
        msg = "kdoctor fix exited %d (%s)" % (rc, halt)
    if msg is not None:
        result.update(failed=True, msg=msg, report=report)
    return result


def executable(module):
    """The kdoctor to run: the option, else the install role's, else ``kdoctor`` on the PATH."""
    path = module.params.get("executable")
    if path:
        return path
    if os.access(DEFAULT_EXECUTABLE, os.X_OK):
        return DEFAULT_EXECUTABLE
    return module.get_bin_path("kdoctor", required=True)


def run(module, argv):
    """kdoctor's exit code and JSON document for ``argv`` (fails the module without JSON)."""
    argv = [executable(module)] + argv
    rc, out, err = module.run_command(argv, environ_update={"NO_COLOR": "1"})
    try:
        data = json.loads(out)
    except ValueError:
        module.fail_json(
            msg="kdoctor printed no JSON (exit %d)" % rc, cmd=argv, exit_code=rc, stderr=err
        )
    if not isinstance(data, dict):
        module.fail_json(msg="kdoctor printed JSON that is no document", cmd=argv, exit_code=rc)
    return argv, rc, data, err
