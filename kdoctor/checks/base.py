"""The check interface and the registry of every check kdoctor knows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar, Optional

from kdoctor.facts import Facts
from kdoctor.machine.system import DEFAULT_TIMEOUT, Probe, System
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.registry import Registry


@dataclass(frozen=True)
class ProbeRequest:
    argv: tuple[str, ...]
    timeout: float = DEFAULT_TIMEOUT
    env: Optional[Mapping[str, str]] = None

    def ask(self, system: System) -> Probe:
        return system.probe(self.argv, timeout=self.timeout, env=self.env)


class Check:
    """Observes one thing and returns a :class:`Finding`. Never prints, never changes anything."""

    id: ClassVar[str]
    title: ClassVar[str]
    #: a failure here stops the module from being built or loaded
    required: ClassVar[bool] = True
    #: ids of checks whose outcome this one reads from the same probes (documentation only)
    order: ClassVar[int] = 100

    def run(self, facts: Facts) -> Finding:
        """Observe, reading ``facts.ctx``, ``facts.system`` and shared facts (``facts.of``)."""
        raise NotImplementedError

    def prefetch(self, facts: Facts) -> list[ProbeRequest]:
        """Slow probes ``run`` will ask for, which the engine starts first, all at once.

        Only for probes on a check's critical path; the answers land in the runner's cache, so
        ``run`` reads them as usual. Default: none.
        """
        return []

    # helpers so checks read as sentences -----------------------------------------------
    def finding(
        self,
        status: Status,
        summary: str,
        *,
        found: Optional[str] = None,
        fix_text: Optional[str] = None,
        commands: tuple[str, ...] = (),
        fix: Optional[str] = None,
        required: Optional[bool] = None,
        **facts: object,
    ) -> Finding:
        return self._make(status, summary, found, fix_text, commands, fix, required, facts)

    def ok(self, summary: str, *, found: Optional[str] = None, **facts: object) -> Finding:
        return self._make(Status.OK, summary, found, None, (), None, None, facts)

    def _make(
        self,
        status: Status,
        summary: str,
        found: Optional[str],
        fix_text: Optional[str],
        commands: tuple[str, ...],
        fix: Optional[str],
        required: Optional[bool],
        facts: dict[str, object],
    ) -> Finding:
        remediation = Remediation(fix_text, commands) if fix_text else None
        return Finding(
            id=self.id,
            status=status,
            summary=summary,
            found=found,
            remediation=remediation,
            fix=fix,
            facts=facts,
            required=self.required if required is None else required,
        )


_checks: Registry[Check] = Registry("check", "kdoctor.checks")
register = _checks.register


def all_checks() -> list[Check]:
    """Every registered check, in report order."""
    return _checks.instances()


def select(ids: list[str]) -> list[Check]:
    """The checks named by ``ids`` (all when empty); unknown ids raise ``KeyError``."""
    checks = all_checks()
    if not ids:
        return checks
    known = {c.id: c for c in checks}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise KeyError(", ".join(unknown))
    return [c for c in checks if c.id in ids]
