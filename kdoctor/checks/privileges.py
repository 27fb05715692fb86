"""privileges: whether kdoctor fix can run its root steps (installing packages, loading modules)."""

from __future__ import annotations

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.i18n import N_, _
from kdoctor.model.finding import Finding, Status

#: ``sudo -n true`` answers at once: it never waits for a password
TIMEOUT = 5.0


@register
class PrivilegesCheck(Check):
    id = "privileges"
    title = N_("root, or sudo for the steps that need it")
    required = False

    def run(self, facts: Facts) -> Finding:
        ctx, system = facts.ctx, facts.system
        sudo = system.which("sudo")
        if ctx.is_root:
            # root never gets a password prompt from sudo; say whether it is there at all
            return self.ok(
                _("running as root"),
                found="root",
                root=True,
                sudo="passwordless" if sudo else "none",
            )
        if sudo is None:
            return self.finding(
                Status.WARN,
                _("not root and no sudo: kdoctor fix will print the root commands for an admin"),
                found=_("no sudo"),
                fix_text=_(
                    "Run kdoctor fix as root, or hand the root commands it prints to an "
                    "administrator."
                ),
                root=False,
                sudo="none",
            )
        probe = system.probe([sudo, "-n", "true"], timeout=TIMEOUT)
        if probe.ok:
            return self.ok(_("passwordless sudo"), found=sudo, root=False, sudo="passwordless")
        return self.finding(
            Status.WARN,
            _(
                "sudo needs a password, which kdoctor never types: kdoctor fix prints its root "
                "steps for you to run"
            ),
            found=sudo,
            fix_text=_(
                "Run the root commands kdoctor fix prints (sudo asks you for the password), then "
                "rerun kdoctor fix; or allow passwordless sudo, or run kdoctor fix as root."
            ),
            root=False,
            sudo="password",
        )
