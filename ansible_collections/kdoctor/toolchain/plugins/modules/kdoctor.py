# -*- coding: utf-8 -*-
# Copyright: kdoctor contributors
# SPDX-License-Identifier: GPL-2.0-only
"""kdoctor.toolchain.kdoctor: bring a machine to a built and verified Rust kernel module."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kdoctor
short_description: Provision a machine to build and load a Rust Linux kernel module
description:
  - Runs kdoctor on the managed host and maps its plan onto Ansible's semantics.
  - In check mode runs C(kdoctor fix --dry-run) (changes nothing); C(changed) is whether the
    plan has steps, and C(--diff) shows every file edit and command of the plan.
  - Otherwise runs C(kdoctor fix --yes); C(changed) is whether a step was applied.
  - The check report (C(kdoctor check --json), or the diagnosis after applying) is returned as
    the fact C(kdoctor).
  - Fails when a required check fails with no fix (RV(blocked)), when a step needs an
    administrator (no root, no C(sudo -n)), and when the build or the verification fails. The
    message is short (the failing checks' ids and one-line reasons); the whole check report is
    RV(report). M(kdoctor.toolchain.kdoctor_info) reads the report without ever failing.
version_added: "0.1.0"
author: kdoctor contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: Runs C(kdoctor fix --dry-run), which changes nothing but kdoctor's own cache.
  diff_mode:
    support: full
    details: The plan's steps, file edits as unified diffs and commands with C($).
  facts:
    support: full
    details: The check report is the fact C(kdoctor).
  platform:
    support: full
    platforms: posix
options:
  state:
    description:
      - V(checked) diagnoses only and fails when a required check fails; never changes anything.
      - V(provisioned) applies the plan and stops (no build, no verification).
      - V(verified) applies the plan, builds the module and verifies it (loads and unloads it,
        in a VM booting the target kernel unless the running kernel can load it).
    type: str
    choices: [checked, provisioned, verified]
    default: provisioned
  rust:
    description: Toolchain source (C(kdoctor --rust)); default kdoctor's own (V(auto)).
    type: str
    choices: [auto, pin, distro]
  kernel:
    description: Target kernel release (C(--kernel)); default C(KDIR), else the running kernel.
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
      - Apply only the plan with this digest (RV(plan_digest) of a reviewed check-mode run);
        the task fails, changing nothing, when the plan differs.
    type: str
  executable:
    description:
      - The kdoctor to run. Default the one the C(kdoctor.toolchain.install) role installs
        (C(/opt/kdoctor/venv/bin/kdoctor)), else C(kdoctor) on the PATH.
    type: path
notes:
  - Set C(HOME), C(KDOCTOR_CACHE) and C(KDOCTOR_CONFIG) with the C(environment) keyword to give
    each user or host its own state (the install role's fact C(kdoctor_environment)).
seealso:
  - module: kdoctor.toolchain.kdoctor_info
"""

EXAMPLES = r"""
- name: Show what would change (run with --check --diff)
  kdoctor.toolchain.kdoctor:
    state: verified

- name: Provision, build and verify the bundled hello-world with the distribution's Rust
  kdoctor.toolchain.kdoctor:
    state: verified
    rust: distro
  register: kdoctor_run

- name: Apply only the plan reviewed in check mode
  kdoctor.toolchain.kdoctor:
    state: provisioned
    expect_plan: "{{ reviewed_digest }}"
"""

RETURN = r"""
kdoctor_version:
  description: The kdoctor that ran.
  returned: when kdoctor printed its JSON document
  type: str
  sample: 0.1.0
schema_version:
  description: The version of kdoctor's JSON contract the result follows.
  returned: when kdoctor printed its JSON document
  type: int
  sample: 1
exit_code:
  description: The exit code of kdoctor (C(kdoctor fix --dry-run) exits 5 when steps are pending).
  returned: always
  type: int
  sample: 0
cmd:
  description: The kdoctor command that ran.
  returned: always
  type: list
  elements: str
  sample: [/opt/kdoctor/venv/bin/kdoctor, fix, --json, --yes, --no-build]
stderr:
  description: What kdoctor printed on its standard error.
  returned: failure
  type: str
  sample: ""
plan:
  description: The plan kdoctor made (and, outside check mode, applied).
  returned: when a plan was made (O(state) is not V(checked))
  type: dict
  sample: {steps: [], notes: []}
  contains:
    steps:
      description: The plan's steps, in order.
      type: list
      elements: dict
      sample:
        - id: kernel-target-0adcd1a48620
          fix: kernel-target
          findings: [kernel-headers]
          why: "kernel-headers: build for the distribution's stock kernel 6.1.0-50-amd64 instead"
          argv: []
          edit: {path: /etc/kdoctor/env, diff: "+export KDIR=/lib/modules/6.1.0-50-amd64/build"}
          root: false
          network: false
          status: applied
          changed: true
      contains:
        id:
          description: The step's id, the same in check mode and when applied.
          type: str
          sample: kernel-target-0adcd1a48620
        fix:
          description: The fix that made the step.
          type: str
          sample: kernel-target
        findings:
          description: The ids of the checks the step repairs.
          type: list
          elements: str
          sample: [kernel-headers]
        why:
          description: Why the step is needed, in one sentence.
          type: str
          sample: "kernel-headers: build for the stock kernel 6.1.0-50-amd64 instead"
        argv:
          description: The step's command (empty for a file edit).
          type: list
          elements: str
          sample: [apt-get, install, -y, linux-headers-amd64]
        edit:
          description: The step's file edit (C(path), and C(diff) as a unified diff), or null.
          type: dict
          sample: {path: /etc/kdoctor/env, diff: "+export KDIR=/lib/modules/6.1.0-50-amd64/build"}
          contains:
            path:
              description: The file the step edits.
              type: str
              sample: /etc/kdoctor/env
            diff:
              description: The edit as a unified diff.
              type: str
              sample: "+export KDIR=/lib/modules/6.1.0-50-amd64/build"
        root:
          description: Whether the step runs as root.
          type: bool
          sample: false
        network:
          description: Whether the step needs the network.
          type: bool
          sample: true
        status:
          description: What became of the step (C(planned) in check mode, C(applied), C(failed), ...).
          type: str
          sample: applied
        changed:
          description: Whether applying the step changed the machine.
          type: bool
          sample: true
    notes:
      description: What kdoctor decided and why (a switched target kernel, a toolchain choice).
      type: list
      elements: str
      sample: ["The target kernel was switched: ..."]
plan_digest:
  description: The plan's digest (give it back as O(expect_plan) to apply exactly this plan).
  returned: when a plan was made
  type: str
  sample: 3f9a0c6d2e8b7a415c0f9e2d1b7a6c5e4d3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b
blocked:
  description: The required checks that fail and that no step fixes (check results).
  returned: when a plan was made
  type: list
  elements: dict
  sample: [{id: kernel-headers, status: fail, required: true, summary: "cannot build for 9.9.9-nope"}]
  contains:
    id:
      description: The check's id.
      type: str
      sample: kernel-headers
    status:
      description: The check's status (C(fail) or C(error)).
      type: str
      sample: fail
    summary:
      description: The check's one-line finding.
      type: str
      sample: "cannot build for 9.9.9-nope (from --kernel): apt knows no package linux-headers-9.9.9-nope"
halt:
  description: >-
    Where kdoctor's run stopped: C(dry-run), C(no-build), C(verified), C(still-failing),
    C(apply-failed), C(build-failed), C(no-toolchain), C(not-verified), C(plan-changed), ...
  returned: when a plan was made
  type: str
  sample: no-build
target:
  description: The context the plan was made for (distribution, target kernel, C(kdir), module, cache).
  returned: when a plan was made
  type: dict
  sample: {target_kernel: 6.1.0-50-amd64, kdir: /lib/modules/6.1.0-50-amd64/build, is_root: true}
  contains:
    target_kernel:
      description: The kernel release the module is built for.
      type: str
      sample: 6.1.0-50-amd64
    kdir:
      description: The kernel tree the module is built against.
      type: str
      sample: /lib/modules/6.1.0-50-amd64/build
    module_dir:
      description: The module's directory.
      type: str
      sample: /srv/course/module
    cache_dir:
      description: The kdoctor cache the run used.
      type: str
      sample: /var/cache/kdoctor
    is_root:
      description: Whether kdoctor ran as root.
      type: bool
      sample: true
build:
  description: The build's result.
  returned: when O(state=verified) and the module was built
  type: dict
  sample: {ok: true, ko: /var/cache/kdoctor/modules/helloworld/helloworld.ko, exit_code: 0}
  contains:
    ok:
      description: Whether the module built.
      type: bool
      sample: true
    ko:
      description: The built C(.ko), or null.
      type: str
      sample: /var/cache/kdoctor/modules/helloworld/helloworld.ko
    log:
      description: The build's log file.
      type: str
      sample: /var/cache/kdoctor/logs/build.log
    explanations:
      description: What kdoctor makes of the compiler's errors (C(cause), C(remedy)).
      type: list
      elements: dict
      sample: [{cause: "bindgen cannot find libclang", remedy: "install libclang-dev"}]
      contains:
        cause:
          description: The cause of the compiler's error.
          type: str
          sample: bindgen cannot find libclang
        remedy:
          description: What to do about it.
          type: str
          sample: install libclang-dev
    tail:
      description: The last lines of the build's output.
      type: list
      elements: str
      sample: ["  LD [M]  helloworld.ko"]
reused_verification:
  description: >-
    When nothing the last verification depended on has changed (sources, .ko, kernel, image,
    toolchain), the rerun relies on it instead of building and booting again.
  returned: when O(state=verified) and nothing changed since the last verification
  type: dict
  sample: {ko: /var/cache/kdoctor/modules/helloworld/helloworld.ko, mode: vm, verified_at: 1767225600.0}
  contains:
    ko:
      description: The verified C(.ko).
      type: str
      sample: /var/cache/kdoctor/modules/helloworld/helloworld.ko
    mode:
      description: How it was verified (C(vm) or C(host)).
      type: str
      sample: vm
    verified_at:
      description: When, in seconds since the epoch.
      type: float
      sample: 1767225600.0
    digest:
      description: The digest of everything the verification depended on.
      type: str
      sample: 9b1c3e5a7f
verify:
  description: The verification's result.
  returned: when O(state=verified) and the module was verified
  type: dict
  sample: {passed: true, mode: vm, summary: "loaded and unloaded in a VM", found: [Hello kernel module!]}
  contains:
    passed:
      description: Whether the module loaded, printed what was expected and unloaded.
      type: bool
      sample: true
    mode:
      description: Where it was loaded (C(vm) or C(host)).
      type: str
      sample: vm
    summary:
      description: The verification in one line.
      type: str
      sample: loaded and unloaded in a VM booting 6.1.0-50-amd64
    found:
      description: The expected messages found in the kernel log.
      type: list
      elements: str
      sample: [Hello kernel module!, Goodbye kernel module!]
    missing:
      description: The expected messages not found.
      type: list
      elements: str
      sample: []
admin_commands:
  description: Commands an administrator must run (no root and no usable sudo).
  returned: when a step needs an administrator
  type: list
  elements: str
  sample: [apt-get update, apt-get install -y linux-headers-amd64]
report:
  description:
    - The whole check report (C(kdoctor check --json)) of a failed task, since a failed task sets
      no fact; on success it is the fact C(kdoctor).
  returned: failure
  type: dict
  sample: {kdoctor_version: 0.1.0, schema_version: 1, checks: [], exit_code: 1}
  contains:
    checks:
      description: Every check's result (C(id), C(status), C(required), C(summary), C(remediation), ...).
      type: list
      elements: dict
      sample: [{id: kernel-headers, status: fail, required: true, summary: "cannot build for 9.9.9-nope"}]
    context:
      description: What kdoctor diagnosed (distribution, kernels, C(kdir), module, cache).
      type: dict
      sample: {target_kernel: 6.1.0-50-amd64}
      contains:
        target_kernel:
          description: The kernel release the module is built for.
          type: str
          sample: 6.1.0-50-amd64
        kdir:
          description: The kernel tree the module is built against.
          type: str
          sample: /lib/modules/6.1.0-50-amd64/build
        module_dir:
          description: The module's directory.
          type: str
          sample: /srv/course/module
        cache_dir:
          description: The kdoctor cache of the run.
          type: str
          sample: /var/cache/kdoctor
    exit_code:
      description: The check's exit code.
      type: int
      sample: 1
ansible_facts:
  description: Facts set on the host.
  returned: success
  type: dict
  sample: {kdoctor: {kdoctor_version: 0.1.0, schema_version: 1, checks: [], exit_code: 0}}
  contains:
    kdoctor:
      description:
        - The check report (C(kdoctor check --json)); after applying, the diagnosis after.
      type: dict
      sample: {kdoctor_version: 0.1.0, schema_version: 1, checks: [], exit_code: 0}
      contains:
        checks:
          description: Every check's result (C(id), C(status), C(required), C(summary), ...).
          type: list
          elements: dict
          sample: [{id: os, status: ok, required: false, summary: "Debian GNU/Linux 12 (bookworm)"}]
        context:
          description: What kdoctor diagnosed (distribution, kernels, C(kdir), module, cache).
          type: dict
          sample: {target_kernel: 6.1.0-50-amd64, kdir: /lib/modules/6.1.0-50-amd64/build}
          contains:
            target_kernel:
              description: The kernel release the module is built for.
              type: str
              sample: 6.1.0-50-amd64
            kdir:
              description: The kernel tree the module is built against.
              type: str
              sample: /lib/modules/6.1.0-50-amd64/build
            module_dir:
              description: The module's directory.
              type: str
              sample: /srv/course/module
            cache_dir:
              description: The kdoctor cache of the run.
              type: str
              sample: /var/cache/kdoctor
        exit_code:
          description: The check's exit code (0 when every required check passes).
          type: int
          sample: 0
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kdoctor.toolchain.plugins.module_utils.kdoctor import (
    command,
    interpret,
    run,
)


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
    argv, rc, data, err = run(module, command(module.params, module.check_mode))
    result = interpret(module.params["state"], module.check_mode, rc, data)
    result["cmd"] = argv
    if result.pop("failed", False):
        result["stderr"] = err
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
