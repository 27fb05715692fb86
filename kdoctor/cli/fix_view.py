"""How ``kdoctor fix`` asks and shows: the provisioning pipeline's hooks, on a console."""

from __future__ import annotations

import sys
import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Optional

from kdoctor.cli import ask
from kdoctor.i18n import _
from kdoctor.knowledge.commands import carried
from kdoctor.model.choice import SudoMode
from kdoctor.model.plan import Plan
from kdoctor.pipeline.provision import Event, Halt, Hooks, Progress, ProvisionResult
from kdoctor.render import report_text
from kdoctor.render import text as render
from kdoctor.render.apply_text import print_apply
from kdoctor.render.words import verify_mode_words

if TYPE_CHECKING:
    from rich.console import Console


class FixView(Hooks):
    """Renders each stage as it ends, asks before applying, and says why a run stopped."""

    def __init__(self, out: Console, *, verbose: bool = False) -> None:
        self.out = out
        #: ``-v``: every check's details (the diagnosis before the plan too), each step's output
        self.verbose = verbose

    def confirm(self, plan: Plan) -> Optional[bool]:
        if not sys.stdin.isatty():
            self.say(_("not applying without --yes (no terminal to ask on); try --dry-run"))
            return None
        if ask.confirm(_("Apply this plan?"), err=self.out.stderr):
            return True
        self.say(_("nothing was changed"))
        return False

    def progress(self, title: str) -> AbstractContextManager[Progress]:
        return render.StepDisplay(self.out, title, echo=self.verbose)

    def waiting(self, text: str) -> None:
        self.say(text)

    def reached(self, event: Event, result: ProvisionResult) -> None:
        out = self.out
        if event == Event.PLANNED:
            if self.verbose:  # the diagnosis the plan comes from, in detail
                report_text.print_report(result.before, out, verbose=True)
            render.print_plan(
                result.plan, out, sudo=result.needs_sudo, blocked=bool(result.blocked)
            )
        elif event == Event.APPLYING and result.sudo == SudoMode.SUDO:
            self.say(_("root steps run through {command}").format(command="sudo -n"))
        elif event == Event.APPLIED and result.apply is not None:
            print_apply(result.apply, out)
        elif event == Event.DIAGNOSED and result.after is not None:
            if result.apply is not None:
                report_text.print_before_after(
                    result.before, result.after, out, verbose=self.verbose
                )
            elif not self.verbose:  # nothing applied: it is the diagnosis -v already showed
                report_text.print_report(result.after, out)
        elif event == Event.BUILT and result.build is not None:
            render.print_build(result.build, out)
        elif event == Event.VERIFIED and result.verify is not None:
            render.print_verify(result.verify, out)

    def ended(self, result: ProvisionResult) -> None:
        """The last words, for the runs that stopped before verifying."""
        if result.halt in (Halt.DRY_RUN, Halt.PLAN_CHANGED):
            self.say_blocked(result)
        if result.halt == Halt.DRY_RUN:
            if not result.plan.empty:
                digest = _("plan digest: {digest} ({command})")
                options = result.context.chosen_options
                words = carried("kdoctor fix --yes --expect-plan DIGEST", options)
                command = words.removeprefix("kdoctor ")
                self.say(digest.format(digest=result.plan_digest, command=command))
            self.say(_("dry run: nothing was changed"))
        elif result.halt == Halt.PLAN_CHANGED:
            self.say(
                _(
                    "the plan is not the one expected (its digest is {digest}); "
                    "nothing was applied: review it with --dry-run"
                ).format(digest=result.plan_digest)
            )
        elif result.halt == Halt.STILL_FAILING:
            self.say(_("some required checks still fail (see above); not building"))
        elif result.halt == Halt.NO_TOOLCHAIN and result.toolchain is not None:
            render.print_no_toolchain(result.toolchain, self.out, result.context.chosen_options)
        elif result.reused is not None:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(result.reused.verified_at))
            reused = _(
                "verified: {ko} passed in the {mode} on {when}, and nothing it depends on has "
                "changed since (sources, .ko, kernel, image, toolchain); build and verification "
                "skipped. `{verify}` loads it again; `{reverify}` rebuilds and verifies anyway."
            )
            said = reused.format(
                ko=result.reused.ko,
                mode=verify_mode_words(result.reused.mode),
                when=when,
                verify=carried("kdoctor verify", result.context.chosen_options),
                reverify=carried("kdoctor fix --yes --reverify", result.context.chosen_options),
            )
            self.say(f"✔ {said}")

    def say_blocked(self, result: ProvisionResult) -> None:
        """Required checks that fail with no step to fix them: applying cannot succeed."""
        for finding in result.blocked:
            blocked = _("blocked: {check}: {summary} (no step of the plan fixes it)")
            self.say(blocked.format(check=finding.id, summary=finding.summary))

    def say(self, text: str) -> None:
        self.out.print(text, markup=False)
