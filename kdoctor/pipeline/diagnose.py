"""Runs checks concurrently; a check that raises becomes an ``error`` finding."""

from __future__ import annotations

import time
import traceback
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Optional

from kdoctor.checks.base import Check, all_checks
from kdoctor.facts import Facts
from kdoctor.facts.module import module_info
from kdoctor.facts.probe_request import ProbeRequest
from kdoctor.i18n import _
from kdoctor.knowledge.commands import carried
from kdoctor.machine.trust import UntrustedPlace
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.module import Module
from kdoctor.model.report import Report
from kdoctor.pipeline.planner import routed


def run_one(check: Check, facts: Facts) -> Finding:
    started = time.monotonic()
    try:
        finding = check.refused(facts) or check.in_root(facts) or check.run(facts)
    except UntrustedPlace:  # what another user could change ends the run (exit 3), named
        raise
    except Exception as exc:  # one crashing check never sinks the report
        finding = Finding(
            id=check.id,
            status=Status.ERROR,
            summary=_("the check crashed: {error}").format(error=f"{type(exc).__name__}: {exc}"),
            remediation=Remediation(
                _("This is a bug in kdoctor; rerun with -v and report the output."),
            ),
            required=check.required,
            traceback=traceback.format_exc(),
        )
    return keeping_choices(finding, facts.ctx.chosen_options).timed(
        (time.monotonic() - started) * 1000
    )


def keeping_choices(finding: Finding, options: Sequence[str]) -> Finding:
    """``finding`` with every kdoctor command it suggests keeping the person's ``--module-dir``
    and ``--kernel`` (:func:`kdoctor.knowledge.commands.carried`)."""
    if not options:
        return finding
    remediation = finding.remediation
    if remediation is not None:
        remediation = Remediation(
            carried(remediation.text, options),
            tuple(carried(c, options) for c in remediation.commands),
        )
    return replace(finding, summary=carried(finding.summary, options), remediation=remediation)


def run_checks(checks: list[Check], facts: Facts, workers: int = 8) -> Report:
    """Every check's finding, with the planner that repairs it (``Finding.fix``), all of them
    reading ONE :class:`Facts`: the caller's, which it keeps for what comes next on the same
    machine (planning, building), so no fact is asked twice."""
    started = time.monotonic()
    requests = [request for check in checks for request in _prefetch(check, facts)]
    # the slow probes first, each on its own thread, so the critical path starts at once and
    # no check waits for a worker behind them
    size = max(1, min(workers, len(checks)) + len(requests))
    with ThreadPoolExecutor(max_workers=size) as pool:
        for request in requests:
            pool.submit(request.ask, facts.system)
        findings = routed(pool.map(lambda c: run_one(c, facts), checks))
    return Report(facts.ctx, findings, (time.monotonic() - started) * 1000, _module(facts))


def _prefetch(check: Check, facts: Facts) -> list[ProbeRequest]:
    try:
        return check.prefetch(facts)
    except Exception:  # run() will meet the same problem and report it
        return []


def _module(facts: Facts) -> Optional[Module]:
    try:
        return facts.of(module_info)
    except Exception:  # an unreadable module is the checks' to report, not the report's
        return None


def diagnose(facts: Facts) -> Report:
    """Every registered check against ``facts``' context: the whole diagnosis. The caller made
    ``facts`` (one per context and state of the machine) and plans from the same ones."""
    return run_checks(all_checks(), facts)
