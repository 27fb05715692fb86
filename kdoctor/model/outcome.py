"""What applying a plan would come to, told before applying it (``kdoctor fix --dry-run``)."""

from __future__ import annotations

from kdoctor.model.finding import Finding
from kdoctor.model.plan import Plan
from kdoctor.model.report import EXIT_FAIL, EXIT_OK, EXIT_PENDING, Report, blocks


def blocked(report: Report, plan: Plan) -> tuple[Finding, ...]:
    """The required checks of ``report`` that fail (or crashed) with no fix: applying the plan
    leaves them failing, so provisioning cannot succeed.

    With an empty plan that is every one of them (nothing would change). Otherwise it is those
    no step answers and that ask for nothing kdoctor can do (no needs): a finding with needs but
    no step of its own may be settled by another step (the rustup check fails while the pin is
    the choice; installing the distribution's Rust instead makes it pass)."""
    failing = [f for f in report.findings if blocks(f)]
    if plan.empty:
        return tuple(failing)
    answered = {check for step in plan.steps for check in step.findings}
    return tuple(f for f in failing if f.id not in answered and not f.needs)


def dry_run_exit(report: Report, plan: Plan) -> int:
    """The dry run's exit code, which predicts ``fix --yes``: 1 when something is blocked (the
    apply would end failing), 3 when there are steps to apply, 0 when there is nothing to do."""
    if blocked(report, plan):
        return EXIT_FAIL
    return EXIT_PENDING if plan.steps else EXIT_OK
