"""``kdoctor fix --json``: one provisioning run as a document of the contract
(``schema/fix.schema.json``).

Keys, in order: the context the options selected and the ``target`` the plan was made for
(they differ when the target was switched), ``before`` (the whole ``check --json`` report),
``blocked`` (required checks failing that no step answers), ``plan_digest`` and the ``plan``
(every step with its stable ``id``, its ``status`` and whether it ``changed`` the machine), then
the stages reached (``apply``, ``after`` as a whole report, ``build``, ``verify``), ``changed``,
``halt`` and ``exit_code``.
"""

from __future__ import annotations

from typing import Any

from kdoctor.model.plan_id import step_ids
from kdoctor.pipeline.provision import ProvisionResult


def step_statuses(result: ProvisionResult) -> list[str]:
    """Each step's fate in this run: ``pending`` (a dry run, or not applied: declined or
    refused), ``applied``, ``failed``, ``not-run`` (after a failed step) or ``needs-admin``."""
    steps = result.plan.steps
    if result.apply is None:
        return ["pending"] * len(steps)
    statuses = ["applied" if r.ok else "failed" for r in result.apply.results]
    rest = len(steps) - len(statuses)
    if result.apply.admin_commands and not statuses:
        return ["needs-admin" if s.root else "not-run" for s in steps]
    return statuses + ["not-run"] * rest


def plan_json(result: ProvisionResult) -> dict[str, Any]:
    data = result.plan.to_json()
    dry = result.halt is not None and result.halt.value == "dry-run"
    for step, step_id, status in zip(data["steps"], step_ids(result.plan), step_statuses(result)):
        step["id"] = step_id
        step["status"] = status
        step["changed"] = status == "applied" or (dry and status == "pending")
    return data


def target_json(result: ProvisionResult) -> dict[str, Any]:
    if result.planned is not None:
        context: dict[str, Any] = result.planned.to_json()["context"]
        return context
    data = result.target.to_json()
    data["module"] = result.before.module.to_json() if result.before.module else None
    return data


def fix_json(result: ProvisionResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "context": result.before.to_json()["context"],
        "target": target_json(result),
        "before": result.before.to_json(),
        "blocked": [f.to_json() for f in result.blocked],
        "plan_digest": result.plan_digest,
        "plan": plan_json(result),
    }
    if result.apply is not None:
        data["apply"] = result.apply.to_json()
        for entry, step_id in zip(data["apply"]["results"], step_ids(result.plan)):
            entry["id"] = step_id
            entry["changed"] = bool(entry["ok"])
    if result.after is not None:
        data["after"] = result.after.to_json()
    if result.build is not None:
        data["build"] = result.build.to_json()
    if result.verify is not None:
        data["verify"] = result.verify.to_json()
    if result.reused is not None:
        data["reused_verification"] = result.reused.to_json()
    data["changed"] = result.changed
    data["halt"] = result.halt.value if result.halt is not None else None
    data["exit_code"] = result.exit_code
    return data
