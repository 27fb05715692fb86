"""module-loading: whether this host can load the built module at all (advisory)."""

from __future__ import annotations

from typing import Optional

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.loading import module_loading
from kdoctor.model.finding import Finding, Status


@register
class ModuleLoadingCheck(Check):
    id = "module-loading"
    title = "this host can load the module (module support, lockdown, signatures, kernel)"
    order = 80
    required = False

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        host = facts.of(module_loading)
        details = host.to_facts()
        errors = ", ".join(f'"{e}"' for e in host.insmod_errors)
        if not host.possible:
            more = f" (+{len(host.reasons) - 1} more)" if len(host.reasons) > 1 else ""
            also = f" Also: {'; '.join(host.reasons[1:])}." if more else ""
            return self.finding(
                Status.WARN,
                f"modules cannot be loaded on this host: {host.reasons[0]}{more}",
                found=ctx.running_kernel,
                fix_text=(
                    f"insmod here would fail with {errors}.{also} "
                    "Test the module in a VM that boots the target kernel instead."
                ),
                commands=("kdoctor verify --vm",),
                **details,
            )
        if host.risks:
            return self.finding(
                Status.WARN,
                f"modules can be loaded here, but {host.risks[0]}",
                found=ctx.running_kernel,
                fix_text=(f"Without that, insmod fails with {errors}. Or test the module in a VM."),
                commands=("sudo kdoctor verify --host", "kdoctor verify --vm"),
                **details,
            )
        return self.ok(
            f"this host can load the module: {ctx.running_kernel} is the target, "
            f"{_signing_words(host.lockdown, host.sig_enforce)}",
            found=ctx.running_kernel,
            **details,
        )


def _signing_words(lockdown: Optional[str], enforce: Optional[bool]) -> str:
    lock = "no lockdown" if lockdown in (None, "none") else f"lockdown {lockdown}"
    sign = "signatures not enforced" if enforce is False else "signature enforcement unknown"
    return f"{lock}, {sign}"
