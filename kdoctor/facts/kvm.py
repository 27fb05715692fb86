"""KVM on this host: whether ``/dev/kvm`` is there, whether this user may use it, and, when it
is there but closed to this user, the group that opens it (the ``vm`` check says so, and
``kdoctor verify`` emulates with TCG instead of trying KVM in vain)."""

from __future__ import annotations

import shlex
from typing import Optional

from kdoctor.i18n import _
from kdoctor.machine.system import System

KVM = "/dev/kvm"


def kvm_usable(system: System) -> bool:
    """``/dev/kvm`` exists and this user may open it read-write (what qemu -enable-kvm does)."""
    if not system.exists(KVM):
        return False
    return system.probe(["test", "-r", KVM, "-a", "-w", KVM]).ok


def user_name(system: System) -> str:
    """This user's name, as the environment says it (``$USER`` for a shell when it does not)."""
    return system.env.get("USER") or system.env.get("LOGNAME") or "$USER"


def join_command(system: System, group: str) -> str:
    """The command that adds this user to ``group``."""
    user = user_name(system)
    shown = user if user == "$USER" else shlex.quote(user)
    return f"sudo usermod -aG {shlex.quote(group)} {shown}"


def kvm_group(system: System) -> str:
    """The group ``/dev/kvm`` belongs to (``kvm`` when it cannot be told)."""
    found = system.ownership(KVM)
    return found.group if found is not None and found.gid != 0 else "kvm"


def kvm_closed(system: System) -> Optional[str]:
    """Why this user may not use ``/dev/kvm`` although it is there, naming the group that
    opens it and the command that joins it; None when it is missing or open to this user.
    Asked without a command: whether this process may write to it."""
    if not system.exists(KVM) or system.is_writable(KVM):
        return None
    group = kvm_group(system)
    return _(
        "{device} is there but not open to you: it belongs to group {group}; join it with "
        "`{command}` and log in again"
    ).format(device=KVM, group=group, command=join_command(system, group))
