"""The target kernel's build directory: whether kbuild can use it, what it was configured
with, and what its modpost reads.

Two facts drive the ``.<object>.cmd: No such file or directory`` failure:

* since Linux 5.8 (commit 70f30cfe5b89) a missing ``.cmd`` file that modpost wants is fatal
  (before, ``sumversion`` only warned ``could not find .x.o.cmd for x.o``);
* modpost wants the ``.cmd`` file of *every* member object listed in ``<module>.mod``:
  for ``srcversion`` when the module has a version or ``CONFIG_MODULE_SRCVERSION_ALL=y``
  (5.8+), and for the symbol CRCs genksyms appends there when ``CONFIG_MODVERSIONS=y``
  (5.19+, commit f292d875d0dc "modpost: extract symbol versions from *.cmd files").
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from packaging.version import Version

from kdoctor.facts.tools import kernel_config
from kdoctor.i18n import _
from kdoctor.knowledge import versions
from kdoctor.knowledge.kernel_release import kdir_release, release_key
from kdoctor.machine.system import System

if TYPE_CHECKING:
    from kdoctor.facts import Facts

# -- the kernel's build directory -------------------------------------------------------

#: what ``make -C KDIR M=...`` reads; a tuple lists files of which one is enough
REQUIRED_FILES: tuple[tuple[str, ...], ...] = (
    ("Makefile",),
    (".config",),
    ("Module.symvers",),
    ("scripts/mod/modpost",),
    ("include/generated/autoconf.h", "include/config/auto.conf"),
)
MODPOST = "scripts/mod/modpost"


def missing_build_files(system: System, kdir: str) -> list[str]:
    """The files a build directory lacks (all of them when it does not exist); empty = usable.

    Read through ``system`` only: Debian's ``linux-headers-X-amd64`` links ``scripts`` into
    ``linux-kbuild-X``, which the file system follows for us.
    """
    missing: list[str] = []
    for choices in REQUIRED_FILES:
        paths = [os.path.join(kdir, name) for name in choices]
        if not any(system.exists(path) for path in paths):
            missing.append(" or ".join(choices))
        elif choices[0] == MODPOST and system.which(paths[0]) is None:
            missing.append(f"{MODPOST} (not executable)")
    return missing


def installed_build_dirs(system: System, flavour: str) -> dict[str, str]:
    """Usable build directories already on this machine: release -> directory, newest first.

    ``/lib/modules/*/build`` everywhere, plus Debian's ``/usr/src/linux-headers-*-<flavour>``
    (usable through ``KDIR`` even without the ``/lib/modules`` link).
    """
    found: dict[str, str] = {}
    for release in system.listdir("/lib/modules"):
        kdir = f"/lib/modules/{release}/build"
        if not missing_build_files(system, kdir):
            found[release] = kdir
    suffix = f"-{flavour}"
    for name in system.listdir("/usr/src"):
        if name.startswith("linux-headers-") and name.endswith(suffix):
            release = name[len("linux-headers-") :]
            kdir = f"/usr/src/{name}"
            if release not in found and not missing_build_files(system, kdir):
                found[release] = kdir
    order = sorted(found, key=lambda r: (release_key(r), r), reverse=True)
    return {release: found[release] for release in order}


# -- which kernels read every member object's .cmd file ----------------------------------

FATAL_SINCE = Version("5.8")
CRCS_IN_CMD_SINCE = Version("5.19")
# genksyms output appended to the object's .cmd file (Makefile.build, 5.19+)
_SYMVERS_INTO_CMD = re.compile(
    r"gensymtypes[^\n]*(?:\\\n[^\n]*){0,3}>>\s*\$\(dot-target\)\.cmd", re.MULTILINE
)


@dataclass(frozen=True)
class CmdReading:
    """Whether the target's modpost stops when a member object has no ``.cmd`` file."""

    #: None when it could not be told
    fatal: Optional[bool]
    why: str
    version: Optional[str] = None


def member_cmd_reading(
    system: System, kdir: str, release: str, *, module_has_version: bool = False
) -> CmdReading:
    """Decide from the target's version, configuration and kbuild scripts."""
    found = kdir_release(system, kdir) or release
    version = versions.parse(found)
    shown = str(version) if version else None
    name = (
        f"Linux {version}" if version else _("the target kernel ({release})").format(release=found)
    )
    config = kernel_config(system, kdir)
    modversions = config.get("CONFIG_MODVERSIONS") == "y"
    srcversion_all = config.get("CONFIG_MODULE_SRCVERSION_ALL") == "y"
    if version is None:
        build = system.read_text(os.path.join(kdir, "scripts/Makefile.build")) or ""
        if modversions and _SYMVERS_INTO_CMD.search(build):
            return CmdReading(
                True,
                _(
                    "{kernel} records symbol CRCs in .cmd files (scripts/Makefile.build) and "
                    "modpost reads them for every member object (CONFIG_MODVERSIONS=y)"
                ).format(kernel=name),
            )
        return CmdReading(None, _("could not tell the version of {kernel}").format(kernel=name))
    if version < FATAL_SINCE:
        return CmdReading(
            False,
            _("{kernel} only warns about a missing member .cmd file (fatal since {fatal})").format(
                kernel=name, fatal=FATAL_SINCE
            ),
            shown,
        )
    if version >= CRCS_IN_CMD_SINCE and modversions:
        return CmdReading(
            True,
            _(
                "{kernel} modpost reads symbol CRCs from every member object's .cmd file "
                "(CONFIG_MODVERSIONS=y, Linux {crcs}+)"
            ).format(kernel=name, crcs=CRCS_IN_CMD_SINCE),
            shown,
        )
    if srcversion_all or module_has_version:
        cause = (
            "CONFIG_MODULE_SRCVERSION_ALL=y" if srcversion_all else _("the module has a version")
        )
        return CmdReading(
            True,
            _(
                "{kernel} modpost checksums every member object's sources, listed in its .cmd "
                "file, for srcversion ({cause}; a missing one is fatal since {fatal})"
            ).format(kernel=name, cause=cause, fatal=FATAL_SINCE),
            shown,
        )
    return CmdReading(
        False,
        _(
            "{kernel} reads member .cmd files only for CONFIG_MODVERSIONS ({crcs}+) or "
            "srcversion, and neither applies"
        ).format(kernel=name, crcs=CRCS_IN_CMD_SINCE),
        shown,
    )


_VERSION_INFO = re.compile(r"MODULE_VERSION\s*\(|[\"']version=")


def module_declares_version(system: System, module_dir: str) -> bool:
    """Whether the module's sources put a ``version=`` into ``.modinfo`` (MODULE_VERSION)."""
    for directory in (module_dir, os.path.join(module_dir, "src")):
        for name in system.listdir(directory):
            if name.endswith((".rs", ".c")):
                text = system.read_text(os.path.join(directory, name)) or ""
                if _VERSION_INFO.search(text):
                    return True
    return False


# -- facts about the target ---------------------------------------------------------------
def target_config(facts: Facts) -> dict[str, str]:
    """The target's ``.config`` (empty when its build directory has none)."""
    return kernel_config(facts.system, facts.ctx.kdir)


def target_missing_files(facts: Facts) -> list[str]:
    """What the target's build directory lacks for kbuild (empty: usable)."""
    return missing_build_files(facts.system, facts.ctx.kdir)
