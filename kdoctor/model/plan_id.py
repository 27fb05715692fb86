"""Stable names for a plan: an id per step and a digest of the whole plan.

The same plan on the same machine gets the same ids and the same digest on every run, so a plan
reviewed with ``kdoctor fix --dry-run`` can be applied exactly (``fix --yes --expect-plan
DIGEST``), and a tool driving many machines can tell which steps ran where. Both are computed
from what a step does (its planner, command, file edit, root and environment), never from its
prose, so rewording an explanation does not change them.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Union

from kdoctor.model.plan import Plan, Step


def step_identity(step: Step) -> dict[str, Any]:
    """What a step does, as plain data: the fields its id and the plan's digest cover."""
    return {
        "fix": step.fix,
        "argv": list(step.argv),
        "edit": (
            {
                "path": step.edit.path,
                "content": _content_digest(step.edit.content),
                "mode": step.edit.mode,
            }
            if step.edit is not None
            else None
        ),
        "root": step.root,
        "env": dict(sorted(step.env.items())),
    }


def _content_digest(content: Union[str, bytes]) -> str:
    """The new content's SHA-256 (it may be any bytes: a Latin-1 Kbuild is kept as it is)."""
    data = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
    return hashlib.sha256(data).hexdigest()


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def step_id(step: Step) -> str:
    """``<planner>-<12 hex digits>``: the same step always has the same id."""
    return f"{step.fix}-{_digest(step_identity(step))[:12]}"


def step_ids(plan: Plan) -> tuple[str, ...]:
    """The ids of the plan's steps, in order (a repeated step gets ``#2``, ``#3``...)."""
    seen: dict[str, int] = {}
    ids = []
    for step in plan.steps:
        base = step_id(step)
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return tuple(ids)


def plan_digest(plan: Plan) -> str:
    """A SHA-256 (hex) of the steps, in order, and of the target they were planned for."""
    target = plan.context
    return _digest(
        {
            "target": (
                {"kernel": target.target_kernel, "kdir": target.kdir, "module": target.module_dir}
                if target is not None
                else None
            ),
            "steps": [step_identity(s) for s in plan.steps],
        }
    )
