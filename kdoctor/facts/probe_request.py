"""A probe to ask early: the exact argv, timeout and environment a fact or a check will ask
with (the runner's cache key), so the engine can start it at once on a thread of its own and
the asker reads the runner's answer (``Check.prefetch``, :mod:`kdoctor.facts.rust_prefetch`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

from kdoctor.machine.probe_cache import ProbeCache
from kdoctor.machine.system import DEFAULT_TIMEOUT, Probe, System


@dataclass(frozen=True)
class ProbeRequest:
    argv: tuple[str, ...]
    timeout: float = DEFAULT_TIMEOUT
    env: Optional[Mapping[str, str]] = None
    #: keep the answer between invocations, keyed on these input files (see ProbeCache)
    cache: Optional[ProbeCache] = None
    inputs: tuple[str, ...] = ()

    def ask(self, system: System) -> Probe:
        if self.cache is not None:
            return self.cache.ask(
                system, self.argv, timeout=self.timeout, env=self.env, inputs=self.inputs
            )
        return system.probe(self.argv, timeout=self.timeout, env=self.env)
