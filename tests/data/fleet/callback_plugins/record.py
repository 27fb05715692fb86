# SPDX-License-Identifier: GPL-2.0-only
"""A callback for the fleet tests: every task result and the recap, as JSON in $KDOCTOR_RECORD.

(ansible-core has no JSON callback of its own; ansible.posix's needs the `ansible` package.)"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: record
type: aggregate
short_description: write task results and the recap as JSON to $KDOCTOR_RECORD
description: For kdoctor's fleet tests.
requirements: [enable in ansible.cfg or ANSIBLE_CALLBACKS_ENABLED]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.results: list[dict[str, object]] = []

    def _add(self, result: object, status: str) -> None:
        self.results.append(
            {
                "host": result._host.get_name(),  # type: ignore[attr-defined]
                "task": result._task.get_name(),  # type: ignore[attr-defined]
                "status": status,
                "result": json.loads(json.dumps(result._result, default=str)),  # type: ignore[attr-defined]
            }
        )

    def v2_runner_on_ok(self, result: object) -> None:
        self._add(result, "ok")

    def v2_runner_on_failed(self, result: object, ignore_errors: bool = False) -> None:
        self._add(result, "failed")

    def v2_runner_on_skipped(self, result: object) -> None:
        self._add(result, "skipped")

    def v2_playbook_on_stats(self, stats: object) -> None:
        hosts = sorted(stats.processed)  # type: ignore[attr-defined]
        recap = {h: stats.summarize(h) for h in hosts}  # type: ignore[attr-defined]
        with open(os.environ["KDOCTOR_RECORD"], "w", encoding="utf-8") as out:
            json.dump({"results": self.results, "stats": recap}, out, indent=1)
