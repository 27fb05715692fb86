"""The bindgen the module build runs (``BINDGEN``, else ``bindgen``) and its version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from packaging.version import Version

from kdoctor.knowledge import versions
from kdoctor.machine.system import Probe
from kdoctor.model.context import Context

if TYPE_CHECKING:
    from kdoctor.facts import Facts

#: how long ``bindgen --version`` may take
VERSION_TIMEOUT = 10.0


def bindgen_command(ctx: Context) -> tuple[str, str]:
    """(command, source): ``BINDGEN`` when set, else ``bindgen`` (``default``)."""
    if ctx.env.get("BINDGEN"):
        return ctx.env["BINDGEN"], "BINDGEN"
    return "bindgen", "default"


def bindgen_path(facts: Facts) -> Optional[str]:
    """The bindgen the build runs, by full path (None: not installed)."""
    return facts.system.which(bindgen_command(facts.ctx)[0])


def bindgen_told(facts: Facts) -> Optional[Probe]:
    """What ``bindgen --version`` said (None: bindgen is not installed)."""
    path = facts.of(bindgen_path)
    if path is None:
        return None
    return facts.system.probe([path, "--version"], timeout=VERSION_TIMEOUT)


def bindgen_version(facts: Facts) -> Optional[Version]:
    """bindgen's version (None: not installed, not answering, or unreadable)."""
    told = facts.of(bindgen_told)
    if told is None or not told.ok:
        return None
    return versions.word_version(told.output, "bindgen")
