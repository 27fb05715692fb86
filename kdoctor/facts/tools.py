"""Finding tools the way the kernel build would, and reading the target kernel's configuration."""

from __future__ import annotations

import os
import re
from typing import Optional

from kdoctor.knowledge.kernel_config import DOT_CONFIG, parse_config
from kdoctor.machine.system import System


def versioned_on_path(system: System, stem: str) -> list[tuple[int, str]]:
    """``stem-N`` executables on PATH as (N, path), newest first, each name once."""
    seen: dict[int, str] = {}
    pattern = re.compile(re.escape(stem) + r"-(\d+)$")
    for directory in system.env.get("PATH", "").split(os.pathsep):
        if not directory:
            continue
        for name in system.listdir(directory):
            match = pattern.match(name)
            if match and int(match.group(1)) not in seen:
                seen[int(match.group(1))] = os.path.join(directory, name)
    return sorted(seen.items(), reverse=True)


def kernel_config(system: System, kdir: str, name: str = DOT_CONFIG) -> dict[str, str]:
    """The configuration of the build tree ``kdir`` (``CONFIG_X`` -> value, quotes removed):
    its ``.config``, or ``name`` (``include/config/auto.conf``); empty when it has none."""
    return parse_config(system.read_text(os.path.join(kdir, name)) or "")


def kernel_minimum(system: System, kdir: str, tool: str, arch: str = "x86") -> Optional[str]:
    """The minimum version the target's ``scripts/min-tool-version.sh`` names for ``tool``."""
    text = system.read_text(os.path.join(kdir, "scripts/min-tool-version.sh"))
    if not text:
        return None
    block = re.search(
        r"^\s*" + re.escape(tool) + r"\)\n(.*?)^\s*;;", text, re.MULTILINE | re.DOTALL
    )
    if not block:
        return None
    body = block.group(1)
    # walk if / elif / else branches: the first whose condition names our arch, else the else
    branches = re.split(r"^\s*(if|elif|else)\b(.*)$", body, flags=re.MULTILINE)
    chosen: Optional[str] = None
    fallback: Optional[str] = None
    i = 1
    while i + 2 < len(branches):
        keyword, condition, text_after = branches[i], branches[i + 1], branches[i + 2]
        version = re.search(r"echo\s+([\d.]+)", text_after)
        if version:
            if keyword == "else":
                fallback = version.group(1)
            elif re.search(r"\b" + re.escape(arch) + r"\b", condition) and chosen is None:
                chosen = version.group(1)
        i += 3
    if chosen or fallback:
        return chosen or fallback
    only = re.search(r"echo\s+([\d.]+)", body)
    return only.group(1) if only else None
