"""What applying a plan would come to, told before applying it (``kdoctor fix --dry-run``).

Here, not in ``model/``, because it asks which planner each need goes to (the planners
declare it: :func:`kdoctor.pipeline.planner.planner_ids`)."""

from __future__ import annotations

from kdoctor.model.finding import Finding
from kdoctor.model.plan import Plan
from kdoctor.model.report import EXIT_FAIL, EXIT_OK, EXIT_PENDING, Report, blocks
from kdoctor.pipeline.planner import planner_ids


def blocked(report: Report, plan: Plan) -> tuple[Finding, ...]:
    """The required checks of ``report`` that fail (or crashed) with no fix: applying the plan
    leaves them failing, so provisioning cannot succeed.

    A failing check is answered when a step names it. One no step names is still not blocked
    when the planner of one of its needs acted (made a step, or answered another check): that
    planner's choice settles it another way (the rustup check fails while the pin is wanted; the
    Rust planner installing the distribution's Rust instead makes it pass). Blocked are the
    rest: no needs at all, or needs whose planners declined every one (``--kernel`` naming a
    kernel no package serves). With an empty plan that is every failing required check."""
    ids = planner_ids()
    answered = {check for step in plan.steps for check in step.findings}
    acted = {fix for step in plan.steps for fix in step.fix.split("+")}
    acted |= {ids[type(n)] for f in report.findings if f.id in answered for n in f.needs}
    return tuple(
        f
        for f in report.findings
        if blocks(f) and f.id not in answered and not any(ids[type(n)] in acted for n in f.needs)
    )


def dry_run_exit(report: Report, plan: Plan) -> int:
    """The dry run's exit code, which predicts ``fix --yes``: 1 when something is blocked (the
    apply would end failing), 3 when there are steps to apply, 0 when there is nothing to do."""
    if blocked(report, plan):
        return EXIT_FAIL
    return EXIT_PENDING if plan.steps else EXIT_OK
