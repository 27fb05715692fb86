"""``KDOCTOR_TIMELINE=FILE``: when each stage of ``kdoctor fix`` started and ended, appended to
FILE as JSON lines (``{"what": ..., "start": epoch s, "end": epoch s, "seconds": ...}``), so
an onboarding can be profiled (``onboard.sh`` writes its own steps to the same file)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Optional

from kdoctor.model.plan import Plan, Step
from kdoctor.pipeline.kernels.download import Transfer
from kdoctor.pipeline.provision import Event, Hooks, Progress, ProvisionResult

VARIABLE = "KDOCTOR_TIMELINE"


def record(path: str, what: str, start: float, end: float) -> None:
    """Append one span; a file that cannot be written costs the profile only."""
    line = json.dumps({"what": what, "start": start, "end": end, "seconds": round(end - start, 3)})
    with contextlib.suppress(OSError), open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")


class _Steps:
    """A progress display that also times each step of the plan it shows."""

    def __init__(self, inner: Progress, path: str) -> None:
        self.inner, self.path = inner, path
        self.current: Optional[tuple[str, float]] = None

    def step(self, text: str) -> None:
        self.inner.step(text)

    def plan_step(self, step: Step, index: int, total: int) -> None:
        self.close()
        self.current = (f"step {index}/{total}: {step.display}", time.time())
        self.inner.plan_step(step, index, total)

    def output(self, line: str) -> None:
        self.inner.output(line)

    def download(self, transfer: Transfer) -> None:
        self.inner.download(transfer)

    def close(self) -> None:
        if self.current is not None:
            record(self.path, self.current[0], self.current[1], time.time())
            self.current = None


class Timed(Hooks):
    """Hooks that time each stage, then do what ``inner`` does."""

    def __init__(self, inner: Hooks, path: str) -> None:
        self.inner, self.path = inner, path
        self.last = time.time()  # diagnosing and planning start with the command

    def confirm(self, plan: Plan) -> Optional[bool]:
        return self.inner.confirm(plan)

    def progress(self, title: str) -> AbstractContextManager[Progress]:
        return self._timed(title)

    def waiting(self, text: str) -> None:
        self.inner.waiting(text)

    @contextmanager
    def _timed(self, title: str) -> Iterator[Progress]:
        started = time.time()
        with self.inner.progress(title) as display:
            steps = _Steps(display, self.path)
            try:
                yield steps
            finally:
                steps.close()
                record(self.path, title, started, time.time())
                self.last = time.time()

    def reached(self, event: Event, result: ProvisionResult) -> None:
        if event in (Event.PLANNED, Event.DIAGNOSED):
            now = time.time()
            record(self.path, f"kdoctor {event.value}", self.last, now)
        self.inner.reached(event, result)
        self.last = time.time()


def timed(hooks: Hooks, environ: Optional[dict[str, str]] = None) -> Hooks:
    """``hooks`` timed into ``$KDOCTOR_TIMELINE`` when it is set, else ``hooks`` itself."""
    path = (os.environ if environ is None else environ).get(VARIABLE)
    return Timed(hooks, path) if path else hooks
