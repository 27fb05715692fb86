"""The check interface and the registry of every check kdoctor knows."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Optional

from kdoctor.checks import REPORT_ORDER
from kdoctor.facts import Facts
from kdoctor.facts.probe_request import ProbeRequest
from kdoctor.facts.toolchain_root import toolchain_root_versions
from kdoctor.i18n import N_, _
from kdoctor.knowledge import safe_values
from kdoctor.knowledge.commands import need_commands
from kdoctor.knowledge.rust_kernels import upstream_version
from kdoctor.machine.trust import Distrust
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import ByHand, Need
from kdoctor.model.registry import Listed


class Check:
    """Observes one thing and returns a :class:`Finding`. Never prints, never changes anything.

    Its place in the report is its id's in :data:`kdoctor.checks.REPORT_ORDER`."""

    id: ClassVar[str]
    #: marked with ``N_()``; shown through :meth:`shown_title`
    title: ClassVar[str]
    #: the values of ``title``'s ``{placeholders}`` (the versions the check holds to)
    title_values: ClassVar[Mapping[str, object]] = {}
    #: a failure here stops the module from being built or loaded
    required: ClassVar[bool] = True
    #: variables handed to make that this check owns (see kdoctor.knowledge.safe_values): a
    #: value that is not a plain path or word fails the check before it runs
    variables: ClassVar[tuple[str, ...]] = ()
    #: the check judges a host tool the module's build uses; for a target built in a
    #: toolchain root (a Rust-enabled kernel kdoctor builds) the build uses the root's instead
    host_tool: ClassVar[bool] = False

    @classmethod
    def shown_title(cls) -> str:
        """``title`` in the active language, its placeholders filled in."""
        return _(cls.title).format(**cls.title_values) if cls.title_values else _(cls.title)

    def run(self, facts: Facts) -> Finding:
        """Observe, reading ``facts.ctx``, ``facts.system`` and shared facts (``facts.of``)."""
        raise NotImplementedError

    def prefetch(self, facts: Facts) -> list[ProbeRequest]:
        """Slow probes ``run`` will ask for, which the engine starts first, all at once.

        Only for probes on a check's critical path; the answers land in the runner's cache, so
        ``run`` reads them as usual. Default: none.
        """
        return []

    def in_root(self, facts: Facts) -> Optional[Finding]:
        """A skipping finding when the module's build does not use the host tool this check
        judges: it runs in the target's toolchain root, with that root's tools."""
        root = facts.ctx.toolchain_root
        if not self.host_tool or not root:
            return None
        versions = facts.of(toolchain_root_versions)
        return self.finding(
            Status.SKIP,
            _("the build runs in kdoctor's {name} toolchain root ({versions})").format(
                name=os.path.basename(root),
                versions=", ".join(f"{p} {upstream_version(v)}" for p, v in versions.items())
                or _("not made yet"),
            ),
            toolchain_root=root,
        )

    def refused(self, facts: Facts) -> Optional[Finding]:
        """A failing finding when a value this check owns would reach make or a shell as
        syntax (``$``, backquote, ``;``, quotes, newline, ...), else None."""
        bad = [
            (name, value, reason, _origin(facts, name, value))
            for name in self.variables
            for value in [_value(facts.ctx, name)]
            if value
            for reason in [
                safe_values.unsafe_reason(
                    value, words=name in safe_values.WORD_LISTS or name == "module directory"
                )
            ]
            if reason
        ]
        if not bad:
            return None
        return self.finding(
            Status.FAIL,
            "; ".join(
                safe_values.describe(n, v, r, _origin(facts, n, v, said=True))
                for n, v, r, _o in bad
            ),
            fix_text=" ".join(dict.fromkeys(safe_values.remedy(n) for n, *_rest in bad)),
            refused=[{"variable": n, "value": v, "reason": r, "origin": o} for n, v, r, o in bad],
        )

    # helpers so checks read as sentences -----------------------------------------------
    def finding(
        self,
        status: Status,
        summary: str,
        *,
        found: Optional[str] = None,
        fix_text: Optional[str] = None,
        commands: tuple[str, ...] = (),
        needs: Sequence[Need] = (),
        ctx: Optional[Context] = None,
        required: Optional[bool] = None,
        **facts: object,
    ) -> Finding:
        """A finding; the commands that satisfy ``needs`` (rendered for ``ctx``'s package
        manager and privileges) come first in its remediation, then ``commands``."""
        if needs:
            if ctx is None:
                raise ValueError("a finding with needs renders its commands for a context")
            shown = need_commands(needs, manager=ctx.package_manager, is_root=ctx.is_root)
            commands = (*[c for c in shown if c not in commands], *commands)
        if needs and not fix_text:
            fix_text = _("kdoctor fix does it; by hand:")
        remediation = Remediation(fix_text, commands) if fix_text else None
        return Finding(
            id=self.id,
            status=status,
            summary=summary,
            found=found,
            remediation=remediation,
            needs=tuple(needs),
            facts=facts,
            required=self.required if required is None else required,
        )

    def distrusted(self, found: Distrust, ctx: Context, **facts: Any) -> Finding:
        """A failing finding: kdoctor will not use ``found.path``, which another user could
        change (:mod:`kdoctor.machine.trust`). Repairing it is a person's to do: kdoctor never
        removes or takes over what another user owns."""
        text = _("Repair it: {command}; kdoctor never removes or takes over what others own.")
        return self.finding(
            Status.FAIL,
            found.sentence(),
            found=found.path,
            fix_text=text.format(command=found.command) + found.otherwise,
            commands=(found.command,),
            needs=(ByHand(self.id, found.reason, text.format(command=found.command)),),
            ctx=ctx,
            untrusted=found.path,
            **facts,
        )

    def ok(self, summary: str, *, found: Optional[str] = None, **facts: object) -> Finding:
        return Finding(
            self.id, Status.OK, summary, found=found, facts=facts, required=self.required
        )


def _value(ctx: Context, name: str) -> Optional[str]:
    if name == "KDIR":
        return ctx.kdir
    if name == "module directory":
        return ctx.module_dir
    return ctx.env.get(name)


#: where a refused value came from (the JSON's ``origin``: English; the sentence: translated)
_FROM_ENVIRONMENT = N_("the environment")
_FROM_SETTINGS = N_("kdoctor's settings file {path}")


def _origin(facts: Facts, name: str, value: str, said: bool = False) -> str:
    """Where ``value`` came from: an option, the environment or the settings file (``said``:
    in the user's language, for a sentence)."""
    env = facts.system.env
    say = _ if said else str
    if name == "module directory":
        return "--module-dir"
    if env.get(name) == value:
        return say(_FROM_ENVIRONMENT)
    if name == "KDIR" and facts.ctx.env.get("KDIR") != value:
        return "--kernel"
    return say(_FROM_SETTINGS).format(path=facts.ctx.settings_file)


def joined(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``, in the user's language."""
    if len(items) < 2:
        return "".join(items)
    return _("{first} and {last}").format(first=", ".join(items[:-1]), last=items[-1])


_checks: Listed[Check] = Listed("check", "kdoctor.checks", REPORT_ORDER)
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
