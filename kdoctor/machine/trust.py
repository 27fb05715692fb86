"""Whether kdoctor may believe what it reads from its cache or its settings file before it
executes, builds with or trusts it (a cargo home whose ``config.toml`` can name a
``rustc-wrapper``, a kernel tree used as ``KDIR``, a verified stamp, a kept probe answer, the
settings' ``CC``): only what no other user can change.

A path is trusted when it is owned by the user kdoctor runs as or by root (as root: by root
alone) and neither its group nor everybody may write to it; and so is every directory on the
way to it from the cache root (whoever may write a directory may replace what it holds). Paths
are looked at with :meth:`System.ownership`, following symlinks. A path that is not there is
not a problem: kdoctor makes it. Above the cache root nothing is looked at (``/var/cache`` and
``~/.cache`` are the system's and the person's).
"""

from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass
from typing import Optional

from kdoctor.i18n import _
from kdoctor.machine.files import PlaceError
from kdoctor.machine.system import Ownership, System

#: the most entries a tree is walked for (the small ones: a cargo home, a module's copy)
TREE_LIMIT = 20000


@dataclass(frozen=True)
class Distrust:
    """Why kdoctor will not use ``path``, and the command that repairs it."""

    path: str
    reason: str
    command: str
    #: what else would do (point kdoctor elsewhere)
    otherwise: str = ""

    def remedy(self) -> str:
        """What to do, in one sentence that holds the command."""
        text = _("repair it with `{command}`").format(command=self.command)
        return f"{text}{self.otherwise}"

    def sentence(self) -> str:
        """``kdoctor will not use PATH: REASON``."""
        return _("kdoctor will not use {path}: {reason}").format(path=self.path, reason=self.reason)


class UntrustedPlace(PlaceError):
    """A place kdoctor must read and trust can be changed by another user (exit 3, as any place
    kdoctor cannot use)."""

    def __init__(self, found: Distrust) -> None:
        super().__init__(found.path, found.reason, found.remedy())
        self.found = found

    def __str__(self) -> str:
        return _("will not use {path}: {reason}; {remedy}").format(
            path=self.found.path, reason=self.found.reason, remedy=self.found.remedy()
        )


def distrust(system: System, path: str, variable: str = "KDOCTOR_CACHE") -> Optional[Distrust]:
    """Why ``path`` alone cannot be trusted (another user owns it, or others may write to it);
    None when it is missing or only this user (or root) can change it. ``variable`` is what
    points kdoctor elsewhere."""
    found = system.ownership(path)
    if found is None:
        return None
    return _judge(system, path, found, variable)


def _judge(system: System, path: str, found: Ownership, variable: str) -> Optional[Distrust]:
    if not (stat.S_ISDIR(found.mode) or stat.S_ISREG(found.mode)):
        return None  # a device or a FIFO is never read as a file: refused as one, by name
    me = system.uid()
    otherwise = _("; or point {variable} elsewhere").format(variable=variable)
    quoted = shlex.quote(path)
    if found.uid not in (me, 0):
        owner = f"{found.user} (uid {found.uid})" if found.user != str(found.uid) else found.user
        who = "root" if me == 0 else _("you or root")
        reason = _(
            "it belongs to user {owner}, not to {who}: they could change what kdoctor runs or "
            "believes"
        ).format(owner=owner, who=who)
        return Distrust(path, reason, f"rm -rf -- {quoted}", otherwise)
    if found.others_may_write:
        if found.mode & stat.S_IWOTH:
            reason = _(
                "every user may write to it: they could change what kdoctor runs or believes"
            )
        else:
            reason = _(
                "the members of group {group} may write to it: they could change what kdoctor "
                "runs or believes"
            ).format(group=found.group)
        recursive = "-R " if stat.S_ISDIR(found.mode) else ""
        return Distrust(path, reason, f"chmod {recursive}go-w -- {quoted}", otherwise)
    return None


def distrust_within(
    system: System,
    root: str,
    path: str,
    *,
    tree: bool = False,
    variable: str = "KDOCTOR_CACHE",
) -> Optional[Distrust]:
    """Why ``path``, which kdoctor keeps under ``root`` (its cache), cannot be trusted: the
    first of ``root``, the directories below it on the way to ``path`` and ``path`` itself that
    another user could change (with ``tree``, everything under ``path`` too: for small trees,
    a cargo home or a module's copy). None when every one that is there is trusted."""
    for place in chain(root, path):
        found = distrust(system, place, variable)
        if found is not None:
            return found
    return _walk(system, path, variable) if tree else None


def chain(root: str, path: str) -> list[str]:
    """``root``, each directory below it down to ``path``, and ``path`` (``path`` alone when it
    is not under ``root``)."""
    root = os.path.normpath(root)
    path = os.path.normpath(path)
    rel = os.path.relpath(path, root)
    if rel == os.curdir:
        return [root]
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return [path]
    places = [root]
    for part in rel.split(os.sep):
        places.append(os.path.join(places[-1], part))
    return places


def _walk(system: System, top: str, variable: str) -> Optional[Distrust]:
    """The first thing under ``top`` another user could change (symlinked directories are not
    followed: what a link points to is judged, not walked)."""
    pending = [system.real_path(top)]
    seen = 0
    while pending and seen < TREE_LIMIT:
        directory = pending.pop()
        for name in system.listdir(directory):
            seen += 1
            place = os.path.join(directory, name)
            found = system.ownership(place)
            if found is None:
                continue
            problem = _judge(system, place, found, variable)
            if problem is not None:
                return problem
            if stat.S_ISDIR(found.mode) and system.real_path(place) == place:
                pending.append(place)
    return None


def refuse_untrusted(
    system: System,
    root: str,
    path: str,
    *,
    tree: bool = False,
    variable: str = "KDOCTOR_CACHE",
) -> None:
    """:func:`distrust_within` as an :class:`UntrustedPlace` (exit 3): for the stages that
    build, verify or apply, which stop rather than use what another user could have planted."""
    found = distrust_within(system, root, path, tree=tree, variable=variable)
    if found is not None:
        raise UntrustedPlace(found)
