"""How kdoctor runs, and tells a person to run, what needs root."""

from __future__ import annotations

from kdoctor.model.context import Context


def sudo_prefix(ctx: Context) -> str:
    """What goes in front of a root command a person pastes: nothing as root, else ``sudo ``."""
    return "" if ctx.is_root else "sudo "


def sudo_argv(ctx: Context) -> tuple[str, ...]:
    """What goes in front of a root command kdoctor runs itself: nothing as root, else
    ``sudo -n`` (which never waits for a password)."""
    return () if ctx.is_root else ("sudo", "-n")
