"""Answers of slow probes kept between invocations, keyed on everything they depend on.

A probe such as bindgen translating a header takes a quarter of a second and its answer only
changes when a file it depends on changes. :class:`ProbeCache` keeps successful answers in
``<cache>/probes/<key>.json``, where the key is a hash of the command, the environment values
given to it, and the identity (path, size, mtime, inode, device — see
:meth:`~kdoctor.machine.system.System.identity`) of every input file named by the caller: the
binary, the libraries it loads, the directories those are searched in (a directory's mtime
changes when a file is added or removed). Any change to any input is a different key, so a stale
answer is never read; failures are never kept (they are asked again each time); ``fresh`` asks
again and refreshes the entry. The cache is kdoctor's own: writing it changes nothing else, and a
cache that cannot be written only costs the time of asking. An answer (or a directory on the way
to it) that another user could change is refused (:class:`~kdoctor.machine.trust.UntrustedPlace`,
exit 3): kdoctor would believe it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Optional

from kdoctor.machine.system import Probe, System
from kdoctor.machine.trust import refuse_untrusted

#: bump when the entry format or the meaning of a key changes
FORMAT = 1
#: the largest entry read back (a bigger file is not one of ours)
MAX_ENTRY = 1 << 20


@dataclass(frozen=True)
class ProbeCache:
    directory: str
    #: ask again, ignoring (and then replacing) what is kept
    fresh: bool = False
    #: keep new answers (False: read only, for runs that must change nothing)
    store: bool = True
    #: the cache ``directory`` is in: every directory from it down must be trusted
    root: str = ""

    def key(
        self,
        system: System,
        argv: Sequence[str],
        env: Optional[Mapping[str, str]],
        inputs: Sequence[str],
    ) -> str:
        material = {
            "format": FORMAT,
            "argv": list(argv),
            "env": sorted((env or {}).items()),
            "inputs": [[path, system.identity(path)] for path in sorted(set(inputs))],
        }
        return hashlib.sha256(json.dumps(material).encode()).hexdigest()[:32]

    def ask(
        self,
        system: System,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Optional[Mapping[str, str]] = None,
        inputs: Sequence[str] = (),
    ) -> Probe:
        """The probe's answer: kept when every input is unchanged, else asked (and kept)."""
        path = os.path.join(self.directory, self.key(system, argv, env, inputs) + ".json")
        # an answer another user could have written is never believed, nor a place to keep one
        refuse_untrusted(system, self.root or self.directory, path)
        if not self.fresh:
            kept = _read(system, path, argv)
            if kept is not None:
                return kept
        probe = system.probe(argv, timeout=timeout, env=env)
        if probe.ok and self.store:
            entry = asdict(probe)
            entry["argv"] = list(probe.argv)
            with contextlib.suppress(OSError):  # a read-only or full cache only costs time
                system.write_file(path, json.dumps(entry))
        return probe


def _read(system: System, path: str, argv: Sequence[str]) -> Optional[Probe]:
    data = system.read_bytes(path, MAX_ENTRY)
    if not data:
        return None
    try:
        entry: dict[str, Any] = json.loads(data)
        probe = Probe(**{**entry, "argv": tuple(entry["argv"])})
    except (ValueError, TypeError, KeyError):
        return None  # damaged: asked again and replaced
    if list(probe.argv) != list(argv) or not probe.ok:
        return None
    return replace(probe, duration_ms=0.0)
