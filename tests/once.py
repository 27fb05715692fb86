"""A FakeSystem whose probes keep their answer as the real Runner does: at most once per
invocation, keyed on (argv, cwd, env) exactly like ``Runner.probe``. A prefetch that asks with
another key than the fact or check it serves shows up as two calls."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Optional

from kdoctor.machine.system import DEFAULT_TIMEOUT, Probe
from tests.fake_system import FakeSystem


def once_per_run(system: FakeSystem) -> FakeSystem:
    answers: dict[object, Future[Probe]] = {}
    lock = threading.Lock()
    ask = system.probe

    def probe(
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
    ) -> Probe:
        key = (tuple(argv), cwd, tuple(sorted((env or {}).items())))
        with lock:
            future = answers.get(key)
            owner = future is None
            if future is None:
                future = answers[key] = Future()
        if owner:  # concurrent askers wait for the one that asks
            future.set_result(ask(argv, timeout=timeout, cwd=cwd, env=env))
        return future.result()

    system.probe = probe  # type: ignore[method-assign]
    return system
