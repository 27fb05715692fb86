# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-2.0-only
"""kdoctor.toolchain.kdoctor: bring a machine to a built and verified Rust kernel module."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kdoctor
short_description: Provision a machine to build and load a Rust Linux kernel module
description:
  - Runs kdoctor on the managed host and maps its plan onto Ansible's semantics.
  - C(check mode) runs C(kdoctor fix --dry-run) (changes nothing); C(changed) is whether the
    plan has steps, and C(--diff) shows every file edit and command of the plan.
  - Otherwise runs C(kdoctor fix --yes); C(changed) is whether a step was applied.
  - The check report (C(kdoctor check --json), or the diagnosis after applying) is returned as
    the fact C(kdoctor).
  - Fails when a required check fails with no fix (C(blocked)), listing those checks; when a
    step needs an administrator (no root, no C(sudo -n)), listing the exact commands; and when
    the build or the verification fails.
version_added: "0.1.0"
author: kdoctor contributors
options:
  state:
    description:
      - C(checked) diagnoses only and fails when a required check fails; never changes anything.
      - C(provisioned) applies the plan and stops (no build, no verification).
      - C(verified) applies the plan, builds the module and verifies it (loads and unloads it,
        in a VM booting the target kernel unless the running kernel can load it).
    type: str
    choices: [checked, provisioned, verified]
    default: provisioned
  rust:
    description: Toolchain source (C(kdoctor --rust)); default kdoctor's own (C(auto)).
    type: str
    choices: [auto, pin, distro]
  kernel:
    description: Target kernel release (C(--kernel)); default KDIR, else the running kernel.
    type: str
  module_dir:
    description: The module to build (C(--module-dir)); default the bundled hello-world.
    type: path
  allow_rustup_installer:
    description: Consent to the official rustup installer (downloads a script).
    type: bool
    default: false
  expect_plan:
    description:
      - Apply only the plan with this digest (C(plan_digest) of a reviewed check-mode run);
        the task fails, changing nothing, when the plan differs.
    type: str
  executable:
    description:
      - The kdoctor to run. Default the one the C(kdoctor.toolchain.install) role installs
        (C(/opt/kdoctor/venv/bin/kdoctor)), else C(kdoctor) on the PATH.
    type: path
notes:
  - Supports check mode and diff mode. Set C(HOME), C(KDOCTOR_CACHE) and C(KDOCTOR_CONFIG)
    with the C(environment) keyword to give each user or host its own state.
"""

EXAMPLES = r"""
- name: Show what would change (run with --check --diff)
  kdoctor.toolchain.kdoctor:
    state: verified

- name: Provision, build and verify the bundled hello-world with the distribution's Rust
  kdoctor.toolchain.kdoctor:
    state: verified
    rust: distro
"""

RETURN = r"""
kdoctor_version:
  description: The kdoctor that ran.
  returned: always
  type: str
schema_version:
  description: The version of kdoctor's JSON contract the result follows.
  returned: always
  type: int
plan:
  description: The plan's steps (id, why, argv, edit, root, status, changed) and notes.
  returned: when a plan was made
  type: dict
plan_digest:
  description: The plan's digest (give it back as C(expect_plan) to apply exactly this plan).
  returned: when a plan was made
  type: str
blocked:
  description: Required checks failing that no step fixes.
  returned: when a plan was made
  type: list
halt:
  description: Where kdoctor's run stopped (dry-run, verified, still-failing, ...).
  returned: when a plan was made
  type: str
build:
  description: The build result (ko, log, explanations).
  returned: state=verified
  type: dict
reused_verification:
  description: >
    When nothing the last verification depended on has changed (sources, .ko, kernel, image,
    toolchain), the rerun relies on it instead of building and booting again: its .ko, mode
    and time.
  returned: when state is verified and nothing changed
  type: dict
verify:
  description: The verification result (mode, passed, messages found).
  returned: state=verified
  type: dict
admin_commands:
  description: Commands an administrator must run (no root and no usable sudo).
  returned: when a step needs an administrator
  type: list
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

#: the JSON contract this module reads (kdoctor's ``schema_version``)
SCHEMA_VERSION = 1
#: where the kdoctor.toolchain.install role puts kdoctor by default
DEFAULT_EXECUTABLE = "/opt/kdoctor/venv/bin/kdoctor"
#: ``kdoctor fix --dry-run``'s exit codes: nothing to do, blocked, changes pending
DRY_NOTHING = 0
DRY_BLOCKED = 1
DRY_PENDING = 5


def command(params, check_mode):
    """The kdoctor command line for these options (without the executable)."""
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
    for option, key in (("--rust", "rust"), ("--kernel", "kernel"), ("--module-dir", "module_dir")):
        if params.get(key):
            argv += [option, params[key]]
    return argv


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


def failing(report):
    """The required checks of a check report that fail, as ``id: summary`` lines."""
    return [
        "%s: %s" % (f["id"], f["summary"])
        for f in (report or {}).get("checks", [])
        if f.get("required") and f["status"] in ("fail", "error")
    ]


def interpret(state, check_mode, rc, data):
    """What the task reports for kdoctor's exit code ``rc`` and JSON document ``data``: a dict
    of the module's results, with ``failed`` and ``msg`` when the task fails."""
    if data.get("schema_version") != SCHEMA_VERSION:
        return {
            "failed": True,
            "msg": "kdoctor %s speaks schema_version %r; this collection reads %d"
            % (data.get("kdoctor_version"), data.get("schema_version"), SCHEMA_VERSION),
        }
    if "error" in data:
        return {"failed": True, "msg": "kdoctor: " + data["error"]["message"], "exit_code": rc}
    result = {
        "changed": False,
        "exit_code": rc,
        "kdoctor_version": data["kdoctor_version"],
        "schema_version": data["schema_version"],
    }
    if state == "checked":
        result["ansible_facts"] = {"kdoctor": data}
        if rc != 0:
            result.update(failed=True, msg="required checks fail: " + "; ".join(failing(data)))
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
    blocked = ["%s: %s" % (f["id"], f["summary"]) for f in data.get("blocked", [])]
    halt = data.get("halt")
    apply = data.get("apply") or {}
    if halt == "plan-changed":
        result.update(
            failed=True,
            changed=False,
            msg="the plan is not the one expected (its digest is %s); nothing was applied"
            % data["plan_digest"],
        )
    elif apply.get("stopped") == "needs-admin":
        result.update(
            failed=True,
            admin_commands=apply["admin_commands"],
            msg="these steps need an administrator (no root, no sudo -n): "
            + "; ".join(apply["admin_commands"]),
        )
    elif blocked and (check_mode or halt == "still-failing"):
        result.update(failed=True, msg="blocked: no step fixes " + "; ".join(blocked))
    elif check_mode:
        if rc not in (DRY_NOTHING, DRY_PENDING):
            result.update(failed=True, msg="kdoctor fix --dry-run exited %d" % rc)
    elif halt == "apply-failed":
        failed = [r for r in apply.get("results", []) if not r["ok"]]
        words = [
            "%s: %s" % (r["step"], r.get("explanation") or "\n".join(r.get("tail", [])))
            for r in failed
        ]
        result.update(failed=True, msg="a step failed: " + "; ".join(words))
    elif halt == "still-failing":
        result.update(
            failed=True, msg="required checks still fail: " + "; ".join(failing(report))
        )
    elif halt in ("build-failed", "no-toolchain"):
        build = data.get("build") or {}
        causes = ["%s (%s)" % (e["cause"], e["remedy"]) for e in build.get("explanations", [])]
        detail = "; ".join(causes) or "\n".join(build.get("tail", [])) or halt
        result.update(failed=True, msg="the module did not build: " + detail)
    elif halt == "not-verified":
        verify = data.get("verify") or {}
        result.update(failed=True, msg="the module was not verified: " + verify.get("summary", ""))
    elif rc != 0:
        result.update(failed=True, msg="kdoctor fix exited %d (%s)" % (rc, halt))
    return result


def executable(module):
    path = module.params.get("executable")
    if path:
        return path
    if os.access(DEFAULT_EXECUTABLE, os.X_OK):
        return DEFAULT_EXECUTABLE
    return module.get_bin_path("kdoctor", required=True)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(
                type="str", default="provisioned", choices=["checked", "provisioned", "verified"]
            ),
            rust=dict(type="str", choices=["auto", "pin", "distro"]),
            kernel=dict(type="str"),
            module_dir=dict(type="path"),
            allow_rustup_installer=dict(type="bool", default=False),
            expect_plan=dict(type="str"),
            executable=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    argv = [executable(module)] + command(module.params, module.check_mode)
    rc, out, err = module.run_command(argv, environ_update={"NO_COLOR": "1"})
    try:
        data = json.loads(out)
    except ValueError:
        module.fail_json(msg="kdoctor printed no JSON (exit %d)" % rc, cmd=argv, stderr=err)
    result = interpret(module.params["state"], module.check_mode, rc, data)
    result["cmd"] = argv
    if result.pop("failed", False):
        result["stderr"] = err
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
