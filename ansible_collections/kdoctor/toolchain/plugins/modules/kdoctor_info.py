# -*- coding: utf-8 -*-
# Copyright: kdoctor contributors
# SPDX-License-Identifier: GPL-2.0-only
"""kdoctor.toolchain.kdoctor_info: kdoctor's check report, whatever it finds."""

from __future__ import annotations

DOCUMENTATION = r"""
module: kdoctor_info
short_description: Read kdoctor's diagnosis of a machine, without ever failing on it
description:
  - Runs C(kdoctor check --json) on the managed host and returns its check report as RV(report)
    and as the fact C(kdoctor), whether the required checks pass or not (RV(passed), RV(failing)).
  - Changes nothing (C(kdoctor check) writes only kdoctor's own cache), in check mode as well.
  - Fails only when kdoctor cannot answer (not installed, no JSON, another C(schema_version),
    a usage error).
version_added: "0.1.0"
author: kdoctor contributors (!UNKNOWN)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: Runs the same C(kdoctor check), which changes nothing but kdoctor's own cache.
  diff_mode:
    support: none
  facts:
    support: full
    details: The check report is the fact C(kdoctor).
  platform:
    support: full
    platforms: posix
options:
  checks:
    description: Only these checks (C(kdoctor check IDS...)); default every check.
    type: list
    elements: str
    default: []
  rust:
    description: Toolchain source (C(kdoctor --rust)); default kdoctor's own (V(auto)).
    type: str
    choices: [auto, pin, distro]
  kernel:
    description: Target kernel release (C(--kernel)); default C(KDIR), else the running kernel.
    type: str
  module_dir:
    description: The module to diagnose (C(--module-dir)); default the bundled hello-world.
    type: path
  executable:
    description:
      - The kdoctor to run. Default the one the C(kdoctor.toolchain.install) role installs
        (C(/opt/kdoctor/venv/bin/kdoctor)), else C(kdoctor) on the PATH.
    type: path
notes:
  - Set C(HOME), C(KDOCTOR_CACHE) and C(KDOCTOR_CONFIG) with the C(environment) keyword, as for
    M(kdoctor.toolchain.kdoctor).
seealso:
  - module: kdoctor.toolchain.kdoctor
"""

EXAMPLES = r"""
- name: Diagnose every lab machine, whatever it finds
  kdoctor.toolchain.kdoctor_info:
    rust: distro
  register: diagnosis

- name: List the machines whose required checks fail, with the ids
  ansible.builtin.debug:
    msg: "{{ diagnosis.failing | map(attribute='id') | join(', ') }}"
  when: not diagnosis.passed
"""

RETURN = r"""
kdoctor_version:
  description: The kdoctor that ran.
  returned: always
  type: str
  sample: 0.1.0
schema_version:
  description: The version of kdoctor's JSON contract the report follows.
  returned: always
  type: int
  sample: 1
exit_code:
  description: The exit code of C(kdoctor check) (0 when every required check passes).
  returned: always
  type: int
  sample: 1
cmd:
  description: The kdoctor command that ran.
  returned: always
  type: list
  elements: str
  sample: [/opt/kdoctor/venv/bin/kdoctor, check, --json, --rust, distro]
passed:
  description: Whether every required check passes.
  returned: always
  type: bool
  sample: false
failing:
  description: The required checks that fail, each with its one-line summary.
  returned: always
  type: list
  elements: dict
  sample: [{id: kernel-headers, summary: "cannot build for 9.9.9-nope (from --kernel)"}]
  contains:
    id:
      description: The check's id.
      type: str
      sample: kernel-headers
    summary:
      description: The check's one-line finding.
      type: str
      sample: "cannot build for 9.9.9-nope (from --kernel): apt knows no package linux-headers-9.9.9-nope"
report:
  description: The check report (C(kdoctor check --json)).
  returned: always
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
      description: The check's exit code.
      type: int
      sample: 1
ansible_facts:
  description: Facts set on the host.
  returned: always
  type: dict
  sample: {kdoctor: {kdoctor_version: 0.1.0, schema_version: 1, checks: [], exit_code: 1}}
  contains:
    kdoctor:
      description: The check report, the same as RV(report).
      type: dict
      sample: {kdoctor_version: 0.1.0, schema_version: 1, checks: [], exit_code: 1}
      contains:
        checks:
          description: Every check's result, as in RV(report).
          type: list
          elements: dict
          sample: [{id: kernel-headers, status: fail, required: true, summary: "cannot build for 9.9.9-nope"}]
        exit_code:
          description: The check's exit code.
          type: int
          sample: 1
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kdoctor.toolchain.plugins.module_utils.kdoctor import (
    contract_error,
    report_result,
    run,
    target_args,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            checks=dict(type="list", elements="str", default=[]),
            rust=dict(type="str", choices=["auto", "pin", "distro"]),
            kernel=dict(type="str"),
            module_dir=dict(type="path"),
            executable=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    argv = ["check", "--json"] + list(module.params["checks"]) + target_args(module.params)
    argv, rc, data, err = run(module, argv)
    error = contract_error(rc, data)
    if error is not None:
        error.pop("failed")
        module.fail_json(cmd=argv, stderr=err, **error)
    result = report_result(rc, data)
    result["cmd"] = argv
    module.exit_json(**result)


if __name__ == "__main__":
    main()
