"""The release a kernel build directory was configured for, as its files name it.

Read through :class:`~kdoctor.machine.system.System` only; used by
:func:`kdoctor.facts.context.detect` and by the facts about the target kernel.
"""

from __future__ import annotations

import os
import re
from typing import Optional

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
