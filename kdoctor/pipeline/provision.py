"""One provisioning run: diagnose → (retarget → diagnose) → plan → apply → diagnose again →
build → verify.

The pipeline decides and does; it never prints and never asks: the caller's part between the
stages (consent, progress, each result as it arrives) goes through :class:`Hooks`. Its systems
come from the injected :data:`SystemFactory`, a fresh one after applying, so the second
diagnosis sees what was installed (no cached probe survives). Applying, building and verifying
are imported where they run (bench/fix.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Optional, Protocol

from kdoctor.facts import Facts
from kdoctor.facts.cargo import chosen_cargo
from kdoctor.facts.context import detect
from kdoctor.facts.module import module_info
from kdoctor.facts.module_makefile import tree_variables
from kdoctor.facts.rust import rust_toolchain, rustup_location
from kdoctor.facts.rustc import RustToolchain
from kdoctor.knowledge.commands import carried
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import fix_lock, logs_dir
from kdoctor.model.choice import Choice, RustMode, Stopped, SudoMode
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Remediation
from kdoctor.model.plan import Plan, PlanOptions, Step
from kdoctor.model.plan_id import plan_digest
from kdoctor.model.report import (
    EXIT_DECLINED,
    EXIT_FAIL,
    EXIT_OK,
    EXIT_PLAN_CHANGED,
    EXIT_USAGE,
    Report,
)
from kdoctor.pipeline.diagnose import diagnose
from kdoctor.pipeline.kernels.download import Transfer
from kdoctor.pipeline.kernels.foreign import selected
from kdoctor.pipeline.outcome import blocked, dry_run_exit
from kdoctor.pipeline.planner import make_plan
from kdoctor.pipeline.retarget import retarget
from kdoctor.pipeline.verify import DEFAULT_TIMEOUT
from kdoctor.pipeline.verify.stamp import Hashes, Stamp, prewarm, record, still_verified

if TYPE_CHECKING:  # imported where they run: a rerun that changes nothing never pays for them
    from kdoctor.pipeline.apply import ApplyResult
    from kdoctor.pipeline.build import BuildResult
    from kdoctor.pipeline.verify.result import VerifyResult

#: where the pipeline gets a System: called once per diagnosis that must start from scratch
SystemFactory = Callable[[], System]

EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class ProvisionOptions:
    """What the person asked for (``kdoctor fix``'s options), already validated."""

    kernel: Optional[str] = None
    module_dir: Optional[str] = None
    rust: Optional[RustMode] = None
    #: show the plan and stop: nothing is changed
    dry_run: bool = False
    #: consent given up front (``--yes``): apply without asking
    consent: bool = False
    #: stop after provisioning (no build, no verify)
    no_build: bool = False
    #: build and verify even when nothing changed since the last verification
    reverify: bool = False
    plan: PlanOptions = field(default_factory=PlanOptions)
    #: apply only the plan with this digest (``--expect-plan``, from a reviewed dry run)
    expect_plan: Optional[str] = None
    #: the directory kdoctor was started in: the module is there (or above) without
    #: ``module_dir``
    cwd: Optional[str] = None


class Halt(Choice):
    """Where a provisioning run ended; its exit code is :data:`HALT_EXIT`."""

    DRY_RUN = "dry-run"
    DECLINED = "declined"
    UNASKED = "unasked"
    INTERRUPTED = "interrupted"
    APPLY_FAILED = "apply-failed"
    STILL_FAILING = "still-failing"
    NO_BUILD = "no-build"
    NO_TOOLCHAIN = "no-toolchain"
    BUILD_FAILED = "build-failed"
    VERIFIED = "verified"
    NOT_VERIFIED = "not-verified"
    PLAN_CHANGED = "plan-changed"


HALT_EXIT = {
    Halt.DRY_RUN: EXIT_OK,
    Halt.DECLINED: EXIT_DECLINED,
    Halt.UNASKED: EXIT_USAGE,
    Halt.INTERRUPTED: EXIT_INTERRUPTED,
    Halt.APPLY_FAILED: EXIT_FAIL,
    Halt.STILL_FAILING: EXIT_FAIL,
    Halt.NO_BUILD: EXIT_OK,
    Halt.NO_TOOLCHAIN: EXIT_FAIL,
    Halt.BUILD_FAILED: EXIT_FAIL,
    Halt.VERIFIED: EXIT_OK,
    Halt.NOT_VERIFIED: EXIT_FAIL,
    Halt.PLAN_CHANGED: EXIT_PLAN_CHANGED,
}


class Event(Choice):
    """A stage finished; the result passed with it holds what that stage added."""

    PLANNED = "planned"  # before, plan (and target) are set; nothing asked yet
    APPLYING = "applying"  # consent is given; sudo is set; apply starts next
    APPLIED = "applied"  # apply is set
    DIAGNOSED = "diagnosed"  # after is set (the same report as before when nothing was applied)
    BUILT = "built"  # toolchain and build are set
    VERIFIED = "verified"  # verify is set


@dataclass(frozen=True)
class ProvisionResult:
    """Everything one run found and did, in order; what was not reached is None."""

    #: the context the options select on this machine (before any retargeting)
    context: Context
    before: Report
    plan: Plan
    #: the context the plan was made for: differs from ``context`` when the target was switched
    target: Context
    #: how root steps run, once applying starts
    sudo: Optional[SudoMode] = None
    apply: Optional[ApplyResult] = None
    after: Optional[Report] = None
    toolchain: Optional[RustToolchain] = None
    build: Optional[BuildResult] = None
    verify: Optional[VerifyResult] = None
    #: the earlier verification this run relied on, when nothing it depends on changed
    reused: Optional[Stamp] = None
    halt: Optional[Halt] = None
    #: the diagnosis the plan was made from (of ``target``; ``before`` when not retargeted)
    planned: Optional[Report] = None

    @property
    def exit_code(self) -> int:
        if self.halt == Halt.DRY_RUN:
            return dry_run_exit(self.planned or self.before, self.plan)
        if self.halt == Halt.INTERRUPTED and self.apply is not None and self.apply.signum:
            return 128 + self.apply.signum  # as a shell reports the signal
        return HALT_EXIT[self.halt] if self.halt is not None else EXIT_OK

    @property
    def blocked(self) -> tuple[Finding, ...]:
        """Required checks failing that no step of the plan answers."""
        return blocked(self.planned or self.before, self.plan)

    @property
    def plan_digest(self) -> str:
        return plan_digest(self.plan)

    @property
    def changed(self) -> bool:
        """A dry run: whether applying would change the machine (the plan has steps); else
        whether this run changed it (a step was applied)."""
        if self.halt == Halt.DRY_RUN:
            return not self.plan.empty
        return self.apply is not None and any(r.ok for r in self.apply.results)

    @property
    def needs_sudo(self) -> bool:
        """The plan has root steps and kdoctor does not run as root."""
        return not self.context.is_root and any(s.root for s in self.plan.steps)


class Progress(Protocol):
    """A live display of a long stage (the CLI's is ``render.text.StepDisplay``)."""

    def step(self, text: str) -> None: ...

    def plan_step(self, step: Step, index: int, total: int) -> None: ...

    def output(self, line: str) -> None: ...

    def download(self, transfer: Transfer) -> None:
        """A file being downloaded grew, or finished."""
        ...


class Silent:
    """A progress display that shows nothing."""

    def step(self, text: str) -> None: ...

    def plan_step(self, step: Step, index: int, total: int) -> None: ...

    def output(self, line: str) -> None: ...

    def download(self, transfer: Transfer) -> None: ...


@contextmanager
def silent(title: str) -> Iterator[Progress]:
    yield Silent()


class Hooks:
    """What the caller does while the pipeline runs (by default: no consent, nothing shown)."""

    def confirm(self, plan: Plan) -> Optional[bool]:
        """Asked before a non-empty plan is applied without consent given up front: the
        answer, or None when there is no one to ask (by default)."""
        return None

    def progress(self, title: str) -> AbstractContextManager[Progress]:
        """The display for a long stage: ``fix`` (apply), ``build (...)`` or ``verify``."""
        return silent(title)

    def reached(self, event: Event, result: ProvisionResult) -> None:
        """A stage finished (render what it added)."""

    def waiting(self, text: str) -> None:
        """Another kdoctor fix holds the machine: this one waits (``text`` says so)."""


def provision(
    options: ProvisionOptions,
    systems: SystemFactory,
    hooks: Optional[Hooks] = None,
    *,
    log_dir: Optional[Callable[[Context], str]] = None,
) -> ProvisionResult:
    """Bring this machine to a built and verified module, or stop where it cannot, saying why.
    Two at once on one cache take turns (the fix lock): the second diagnoses what the first
    left, so it never plans from a machine the first is changing."""
    hooks = hooks or Hooks()
    system = systems()
    ctx = select_context(options, system)
    if options.dry_run:  # changes nothing, not even a lock file
        return _provision(options, systems, hooks, log_dir or default_log_dir, system, ctx)
    with system.lock(fix_lock(ctx.cache_dir), on_wait=hooks.waiting):
        return _provision(options, systems, hooks, log_dir or default_log_dir, system, ctx)


def _provision(
    options: ProvisionOptions,
    systems: SystemFactory,
    hooks: Hooks,
    logs: Callable[[Context], str],
    system: System,
    ctx: Context,
) -> ProvisionResult:
    hashes = Hashes()
    if not (options.dry_run or options.no_build or options.reverify):
        prewarm(ctx, system, hashes)  # a rerun's verdict hashes files: start while diagnosing
    facts = Facts(ctx, system)  # the one look at the machine before anything changes it
    result = plan_for(options, facts)
    hooks.reached(Event.PLANNED, result)
    if options.expect_plan and options.expect_plan.lower() != result.plan_digest:
        return replace(result, halt=Halt.PLAN_CHANGED)
    if options.dry_run:
        return replace(result, halt=Halt.DRY_RUN)
    if result.plan.empty:
        result = replace(result, after=result.before)
    else:
        answer = True if options.consent else hooks.confirm(result.plan)
        if answer is None:
            return replace(result, halt=Halt.UNASKED)
        if not answer:
            return replace(result, halt=Halt.DECLINED)
        from kdoctor.pipeline.apply import apply_plan, sudo_mode

        ctx = result.context
        mode = sudo_mode(ctx, system) if result.needs_sudo else None
        result = replace(result, sudo=mode)
        hooks.reached(Event.APPLYING, result)
        with hooks.progress("fix") as display:
            applied = apply_plan(
                result.plan,
                ctx,
                system,
                log_dir=logs(ctx),
                on_step=display.plan_step,
                on_line=display.output,
            )
        result = replace(result, apply=applied)
        hooks.reached(Event.APPLIED, result)
        if applied.stopped == Stopped.INTERRUPTED:
            return replace(result, halt=Halt.INTERRUPTED)
        if not applied.ok:
            return replace(result, halt=Halt.APPLY_FAILED)
        # diagnose again from scratch: what was installed and persisted is what counts now
        # (applying changed the machine: a fresh System and, the one legitimate second, Facts)
        system = systems()
        facts = Facts(select_context(options, system), system)
        after = diagnose(facts)
        result = replace(result, after=after)
    hooks.reached(Event.DIAGNOSED, result)
    assert result.after is not None
    if result.after.exit_code != EXIT_OK:
        return replace(result, halt=Halt.STILL_FAILING)
    if options.no_build:
        return replace(result, halt=Halt.NO_BUILD)
    ctx = result.after.context  # the context of ``facts``: the diagnosis ``after`` read them
    if result.apply is None and not options.reverify:
        toolchain = facts.of(rust_toolchain)
        stamp = still_verified(ctx, system, toolchain, hashes) if toolchain.usable else None
        if stamp is not None:  # nothing changed since that verdict: no rebuild, no VM
            return replace(result, toolchain=toolchain, reused=stamp, halt=Halt.VERIFIED)
    toolchain, built = build_module(facts, hooks.progress, log_dir=logs(ctx))
    result = replace(result, toolchain=toolchain, build=built)
    if built is None:
        return replace(result, halt=Halt.NO_TOOLCHAIN)
    hooks.reached(Event.BUILT, result)
    if not built.ok or built.ko is None:
        return replace(result, halt=Halt.BUILD_FAILED)
    verified = verify_module(ctx, system, built.ko, hooks.progress)
    result = replace(result, verify=verified)
    hooks.reached(Event.VERIFIED, result)
    if verified.passed:
        record(ctx, system, toolchain, built.ko, verified.mode)
    return replace(result, halt=Halt.VERIFIED if verified.passed else Halt.NOT_VERIFIED)


def dry_run(options: ProvisionOptions, system: System) -> tuple[Facts, ProvisionResult]:
    """What ``kdoctor fix --dry-run`` computes (the diagnosis, the plan, retargeted as fix
    would), changing nothing, and the facts the diagnosis read (``kdoctor report``)."""
    options = replace(options, dry_run=True)
    facts = Facts(select_context(options, system), system)
    return facts, replace(plan_for(options, facts), halt=Halt.DRY_RUN)


def select_context(options: ProvisionOptions, system: System) -> Context:
    """The context the options select on this machine (``--kernel`` may name a Debian
    kernel of another suite, kept in kdoctor's cache)."""
    ctx = detect(
        system,
        kernel=options.kernel,
        module_dir=options.module_dir,
        rust_mode=options.rust,
        dry_run=options.dry_run,
        cwd=options.cwd,
    )
    return selected(ctx, system)


def plan_for(options: ProvisionOptions, facts: Facts) -> ProvisionResult:
    """Diagnose ``facts``' context and plan from the same facts; when no package serves the
    running kernel (the default target), plan for the distribution's stock kernel instead, from
    a diagnosis of that target, so one plan covers everything: its headers, its image, and
    what depends on them. Only reads."""
    ctx, system = facts.ctx, facts.system
    before = diagnose(facts)
    planning, report = facts, before
    switched = retarget(ctx, before, system)
    for _hop in range(2):  # the stock kernel, then (a Rust-for-Linux module) a Rust-enabled one
        if switched is None:
            break
        planning = Facts(switched, system)  # another target: facts of its own context
        report = diagnose(planning)
        switched = retarget(switched, report, system)
    plan = make_plan(planning, report, options.plan)
    return ProvisionResult(ctx, before, plan, planning.ctx, planned=report)


def default_log_dir(ctx: Context) -> str:
    """Where the logs of applying and building go."""
    return logs_dir(ctx.cache_dir)


def build_module(
    facts: Facts,
    progress: Callable[[str], AbstractContextManager[Progress]] = silent,
    *,
    log_dir: Optional[str] = None,
    target: str = "",
    variables: Sequence[str] = (),
) -> tuple[RustToolchain, Optional[BuildResult]]:
    """Build the module (or only its make ``target``, with make ``variables``) with the
    toolchain kdoctor resolves from ``facts`` (the last diagnosis's, when there was one); None
    without a usable toolchain (its ``reason`` says why). A module whose Kbuild links what a
    cargo step makes (``Module.step``) has that step run first."""
    from kdoctor.pipeline.build import build

    ctx, system = facts.ctx, facts.system
    toolchain = facts.of(rust_toolchain)
    if not toolchain.usable or not toolchain.rustc:
        return toolchain, None
    module = facts.of(module_info)
    cargo = facts.of(chosen_cargo) if module.driver.uses_cargo else None
    # the target's tree under every name the module's Makefile reads it as (KERNEL_SRC, KSRC...)
    variables = (*facts.of(tree_variables), *variables)
    with progress(f"build ({toolchain.source} rustc {toolchain.version})") as display:
        built = build(
            ctx,
            system,
            rustc=toolchain.rustc,
            toolchain_env={**toolchain.env, **proxies_follow(facts, toolchain)},
            log_dir=log_dir or default_log_dir(ctx),
            on_step=display.step,
            cargo=cargo.path if cargo and cargo.usable else None,
            cargo_on_path=bool(cargo and cargo.usable and not cargo.proxy),
            on_line=display.output,
            target=target,
            variables=variables,
            step=None if target else module.step,
        )
    options = ctx.chosen_options  # the remedies' kdoctor commands keep the person's choice
    said = tuple(replace(e, remedy=carried(e.remedy, options)) for e in built.explanations)
    return toolchain, replace(built, explanations=said)


def proxies_follow(facts: Facts, toolchain: RustToolchain) -> dict[str, str]:
    """``RUSTUP_TOOLCHAIN`` naming the chosen toolchain's directory when the module has a pin
    the build does not use (the distribution's rustc, or ``RUSTC``): a rustup proxy the
    module's build reaches by name (``cd $(src) && rustc ...``) would run the pin (which may
    not be installed, as check said) instead of the rustc kdoctor diagnosed. rustup takes a
    toolchain's directory there; empty when nothing needs it."""
    ctx, system = facts.ctx, facts.system
    if ctx.pin is None or toolchain.source not in ("distro", "env") or not toolchain.sysroot:
        return {}
    if facts.of(rustup_location)[0] is None:
        return {}
    if system.which(os.path.join(toolchain.sysroot, "bin", "rustc")) is None:
        return {}
    return {"RUSTUP_TOOLCHAIN": toolchain.sysroot}


def verify_module(
    ctx: Context,
    system: System,
    ko: str,
    progress: Callable[[str], AbstractContextManager[Progress]] = silent,
    *,
    requested: str = "vm",
    consent: bool = False,
    accel: str = "auto",
    timeout: float = DEFAULT_TIMEOUT,
    on_console: Optional[Callable[[str], None]] = None,
    expected: Optional[Sequence[str]] = None,
) -> VerifyResult:
    """Load the module, unload it and judge the kernel's messages: in a VM booting the kernel
    the module was built for (the default), or in the running kernel (``requested="host"``, or
    ``"auto"`` with the person's consent when it can load it). ``expected``: the messages that
    must appear in order (default: :func:`expected_messages`)."""
    from kdoctor.pipeline.verify import host as verify_host
    from kdoctor.pipeline.verify import target as verify_target
    from kdoctor.pipeline.verify import vm as verify_vm

    messages = verify_target.expected_messages(ctx) if expected is None else tuple(expected)
    release, differs = verify_target.target_release(ctx, system, ko)
    mode, why = verify_target.choose_mode(ctx, system, requested, consent=consent, release=release)
    with progress("verify") as display:
        if mode == "host":
            result = verify_host.verify_host(
                ctx,
                system,
                ko,
                on_step=display.step,
                notes=[why] if why else [],
                expected=messages,
            )
        else:
            result = verify_vm.verify_vm(
                ctx,
                system,
                ko,
                release=release,
                accel=accel,
                timeout=timeout,
                on_step=display.step,
                on_console=on_console,
                notes=[n for n in (why, differs) if n],
                expected=messages,
                on_stage=display.step,
                on_download=display.download,
            )
    advice = result.remediation
    if advice is None or not ctx.chosen_options:
        return result
    options = ctx.chosen_options  # its kdoctor commands keep the person's choice
    kept = Remediation(
        carried(advice.text, options), tuple(carried(c, options) for c in advice.commands)
    )
    return replace(result, remediation=kept)
