"""Applying a plan: the only place where kdoctor changes the machine."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable, Optional, TextIO

from kdoctor.i18n import _
from kdoctor.knowledge.step_errors import explain_step_failure, lock_held
from kdoctor.machine import lifecycle
from kdoctor.machine.system import System
from kdoctor.model.choice import Stopped, SudoMode
from kdoctor.model.context import Context
from kdoctor.model.plan import Plan, Step

LOCK_RETRY_S = 5.0
sleep = time.sleep  # tests replace it


@dataclass(frozen=True)
class StepResult:
    step: Step
    ok: bool
    duration_s: float
    exit_code: Optional[int] = None
    tail: tuple[str, ...] = ()
    explanation: Optional[str] = None

    def to_json(self) -> dict[str, object]:
        return {
            "step": self.step.display,
            "ok": self.ok,
            "duration_s": round(self.duration_s, 2),
            "exit_code": self.exit_code,
            "tail": list(self.tail),
            "explanation": self.explanation,
        }


@dataclass(frozen=True)
class ApplyResult:
    results: tuple[StepResult, ...]
    log_path: str
    #: set when applying stopped before the end
    stopped: Optional[Stopped] = None
    #: root commands a person with admin rights must run (no usable sudo here)
    admin_commands: tuple[str, ...] = ()
    #: the signal that interrupted applying (``stopped`` is then ``interrupted``)
    signum: Optional[int] = None

    @property
    def ok(self) -> bool:
        return self.stopped is None and all(r.ok or not r.step.required for r in self.results)

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "stopped": self.stopped,
            "log": self.log_path,
            "results": [r.to_json() for r in self.results],
            "admin_commands": list(self.admin_commands),
        }


def sudo_mode(ctx: Context, system: System) -> SudoMode:
    """Root already, ``sudo -n`` works, or neither."""
    if ctx.is_root:
        return SudoMode.ROOT
    if system.which("sudo") and system.probe(["sudo", "-n", "true"], timeout=10).ok:
        return SudoMode.SUDO
    return SudoMode.NONE


def command_for(step: Step, mode: SudoMode) -> list[str]:
    if step.root and mode == SudoMode.SUDO:
        env = [f"{k}={v}" for k, v in step.env.items()]
        return ["sudo", "-n", *(["env", *env] if env else []), *step.argv]
    return list(step.argv)


def apply_plan(
    plan: Plan,
    ctx: Context,
    system: System,
    *,
    log_dir: str,
    on_step: Callable[[Step, int, int], None] = lambda step, i, n: None,
    on_line: Callable[[str], None] = lambda line: None,
) -> ApplyResult:
    system.makedirs(log_dir)
    log_path = os.path.join(log_dir, f"fix-{time.strftime('%Y%m%d-%H%M%S')}.log")
    mode = sudo_mode(ctx, system) if any(s.root for s in plan.steps) else SudoMode.ROOT
    if mode == SudoMode.NONE:
        admin = tuple(s.display for s in plan.steps if s.root)
        return ApplyResult((), log_path, stopped=Stopped.NEEDS_ADMIN, admin_commands=admin)
    results: dict[int, StepResult] = {}
    running: dict[int, _Background] = {}

    def done(stopped: Optional[Stopped] = None, why: str = "") -> ApplyResult:
        for index, background in running.items():  # joined; stopped first when applying ended
            results[index] = background.finish(log, stop=why)
        ordered = tuple(results[i] for i in sorted(results))
        return ApplyResult(ordered, log_path, stopped=stopped)

    with system.open_log(log_path, append=True) as log:
        for index, step in enumerate(plan.steps, 1):
            try:  # a signal at any moment of a step: that step is the one interrupted
                lifecycle.check()
                on_step(step, index, len(plan.steps))
                log.write(f"\n=== [{index}/{len(plan.steps)}] {step.display}\n")
                log.write(f"    why: {step.why}\n")
                log.flush()
                if step.background:
                    log.write("    (in the background: its output follows when it ends)\n")
                    running[index] = _Background(step, index, mode, system)
                    continue
                result = _apply_step(step, mode, system, log, on_line)
                lifecycle.check()  # one whose raise was lost while the step ran
            except (KeyboardInterrupt, lifecycle.Interrupted) as exc:
                lifecycle.handled()  # reported here, as this step's end
                signum = exc.signum if isinstance(exc, lifecycle.Interrupted) else signal.SIGINT
                name = signal.Signals(signum).name
                log.write(f"\n=== interrupted ({name}); rerun kdoctor fix to finish\n")
                results[index] = StepResult(step, False, 0.0, explanation="interrupted")
                return replace(
                    done(Stopped.INTERRUPTED, _("kdoctor fix was interrupted")), signum=signum
                )
            results[index] = result
            if not result.ok and step.required:
                return done(Stopped.FAILED, _("step {index} failed").format(index=index))
        applied = done()
        return replace(applied, stopped=None if applied.ok else Stopped.FAILED)


class _Background:
    """A step that runs on its own thread while the plan goes on (``Step.background``); its
    output is kept and written to the log when it is joined."""

    def __init__(self, step: Step, index: int, mode: SudoMode, system: System) -> None:
        self.step, self.index = step, index
        self.stop = threading.Event()
        self.output = io.StringIO()
        self.result: Optional[StepResult] = None

        def run() -> None:
            try:
                self.result = _apply_step(step, mode, system, self.output, _quiet, self.stop)
            except Exception as exc:  # reported as the step's failure, never lost
                self.result = StepResult(step, False, 0.0, explanation=str(exc))

        self.thread = threading.Thread(target=run, name=f"kdoctor-step-{index}", daemon=True)
        self.thread.start()

    def finish(self, log: TextIO, *, stop: str = "") -> StepResult:
        """Wait for the step (stopping it first, saying why, when ``stop`` is given)."""
        stopped = stop and self.thread.is_alive()
        if stopped:
            self.stop.set()
        self.thread.join()
        log.write(f"\n=== [{self.index}] {self.step.display} (in the background)\n")
        log.write(self.output.getvalue())
        result = self.result or StepResult(self.step, False, 0.0, explanation=_("it did not run"))
        if stopped:
            note = _("stopped: {why}").format(why=stop)
            log.write(f"    {note}\n")
            return replace(result, ok=False, explanation=note)
        return result


def _quiet(line: str) -> None:
    """A background step's lines go to its own buffer only."""


def _apply_step(
    step: Step,
    mode: SudoMode,
    system: System,
    log: TextIO,
    on_line: Callable[[str], None],
    stop: Optional[threading.Event] = None,
) -> StepResult:
    started = time.monotonic()
    write = log.write
    if step.edit is not None:
        try:
            backup = system.write_file(
                step.edit.path, step.edit.content, backup=True, mode=step.edit.mode
            )
        except OSError as exc:
            write(f"    could not write: {exc}\n")
            return StepResult(step, False, time.monotonic() - started, explanation=str(exc))
        write(f"    written{f' (backup {backup})' if backup else ''}\n")
        return StepResult(step, True, time.monotonic() - started)
    lines: list[str] = []

    def relay(line: str) -> None:
        lines.append(line)
        write(line)
        on_line(line)

    deadline = time.monotonic() + step.lock_wait
    while True:
        probe = system.run(
            command_for(step, mode), timeout=step.timeout, env=step.env, on_output=relay, stop=stop
        )
        output = "".join(lines) or probe.output
        if probe.ok or not lock_held(output) or time.monotonic() >= deadline:
            break
        retrying = _("the package manager lock is held; retrying (up to {seconds} s)")
        note = f"kdoctor: {retrying.format(seconds=f'{step.lock_wait:.0f}')}\n"
        write(note)
        on_line(note)
        lines.clear()
        sleep(LOCK_RETRY_S)
    if probe.ok:
        return StepResult(step, True, time.monotonic() - started, exit_code=0)
    explanation = explain_step_failure(output, step.display) or (
        probe.describe_failure() if probe.error or probe.timed_out else None
    )
    return StepResult(
        step,
        False,
        time.monotonic() - started,
        exit_code=probe.exit_code,
        tail=tuple(output.splitlines()[-12:]),
        explanation=explanation,
    )
