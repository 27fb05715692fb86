"""The release a kernel build directory was configured for, as its files name it.

Read through :class:`~kdoctor.machine.system.System` only; used by
:func:`kdoctor.facts.context.detect` and by the facts about the target kernel.
"""

from __future__ import annotations

import os
import re
from typing import Optional

from kdoctor.i18n import _
from kdoctor.machine.system import System

KERNEL_RELEASE = "include/config/kernel.release"
UTSRELEASE_H = "include/generated/utsrelease.h"
_UTS_RELEASE = re.compile(r'#define\s+UTS_RELEASE\s+"([^"]+)"')


def kdir_release(system: System, kdir: str) -> Optional[str]:
    """The release a build directory was configured for (``include/config/kernel.release``)."""
    text = system.read_text(os.path.join(kdir, KERNEL_RELEASE))
    return text.strip() if text and text.strip() else None


def kdir_uts_release(system: System, kdir: str) -> Optional[str]:
    """The release modules built here will carry in their vermagic (``UTS_RELEASE``).

    Prefer this to ``kernel.release`` for naming the target: Debian writes the upstream version
    (``6.1.192``) there, but ``6.1.0-56-amd64`` into ``include/generated/utsrelease.h``.
    """
    text = system.read_text(os.path.join(kdir, UTSRELEASE_H)) or ""
    match = _UTS_RELEASE.search(text)
    return match.group(1) if match else kdir_release(system, kdir)


def release_key(release: str) -> tuple[int, ...]:
    """Sorts releases by their leading numbers: 6.12.9 > 6.1.0-56 > 6.1.0-9."""
    numbers: list[int] = []
    for part in re.split(r"[.\-+_~]", release):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers)


#: what a kernel release (``6.1.0-56-amd64``, ``6.12+rust``) is made of: it names directories in
#: kdoctor's cache and under /lib/modules, so it must stay one path component
_RELEASE_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+~-]{0,127}")


def release_problem(value: str) -> Optional[str]:
    """Why ``value`` cannot be a kernel release (None when it can): it must be one path
    component of letters, digits and ``. _ + ~ -``, start with a letter or digit and not be
    ``.`` or ``..``, so no path made from it leaves the place it is made in."""
    if _RELEASE_WORD.fullmatch(value) and ".." not in value:
        return None
    return _(
        "{value} is not a kernel release or series: one word of letters, digits and . _ + ~ -, "
        "as uname -r prints it (6.1.0-56-amd64, 6.12, 6.12+rust)"
    ).format(value=repr(value))
