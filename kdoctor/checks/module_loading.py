"""module-loading: whether this host can load the built module at all (advisory)."""

from __future__ import annotations

from typing import Optional

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.loading import module_loading
from kdoctor.i18n import N_, _
from kdoctor.model.finding import Finding, Status


@register
class ModuleLoadingCheck(Check):
    id = "module-loading"
    title = N_("this host can load the module (module support, lockdown, signatures, kernel)")
    required = False

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        host = facts.of(module_loading)
        details = host.to_facts()
        errors = ", ".join(f'"{e}"' for e in host.insmod_errors)
        if not host.possible:
            summary = _("modules cannot be loaded on this host: {reason}").format(
                reason=host.reasons[0]
            )
            text = _(
                "insmod here would fail with {errors}. "
                "Test the module in a VM that boots the target kernel instead."
            )
            if len(host.reasons) > 1:
                summary = _("{problem} (+{n} more)").format(
                    problem=summary, n=len(host.reasons) - 1
                )
                text = _(
                    "insmod here would fail with {errors}. Also: {reasons}. "
                    "Test the module in a VM that boots the target kernel instead."
                )
            return self.finding(
                Status.WARN,
                summary,
                found=ctx.running_kernel,
                fix_text=text.format(errors=errors, reasons="; ".join(host.reasons[1:])),
                commands=("kdoctor verify --vm",),
                **details,
            )
        if host.risks:
            return self.finding(
                Status.WARN,
                _("modules can be loaded here, but {risk}").format(risk=host.risks[0]),
                found=ctx.running_kernel,
                fix_text=_(
                    "Without that, insmod fails with {errors}. Or test the module in a VM."
                ).format(errors=errors),
                commands=("sudo kdoctor verify --host", "kdoctor verify --vm"),
                **details,
            )
        return self.ok(
            _("this host can load the module: {kernel} is the target, {signing}").format(
                kernel=ctx.running_kernel, signing=_signing_words(host.lockdown, host.sig_enforce)
            ),
            found=ctx.running_kernel,
            **details,
        )


def _signing_words(lockdown: Optional[str], enforce: Optional[bool]) -> str:
    lock = (
        _("no lockdown")
        if lockdown in (None, "none")
        else _("lockdown {mode}").format(mode=lockdown)
    )
    sign = _("signatures not enforced") if enforce is False else _("signature enforcement unknown")
    return f"{lock}, {sign}"
