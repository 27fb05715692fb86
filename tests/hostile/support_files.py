"""Helpers for the scenarios about the person's files: snapshots of a directory's bytes, and a
guard that ``fix --yes`` would only edit files (never install anything) on this machine."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Optional

import pytest

from kdoctor.model.report import EXIT_PENDING
from tests.hostile.conftest import Result, Sandbox
from tests.real_machine import cannot_run, target_kernel

#: the stock kernel whose headers this machine has; its image is faked in
#: the sandbox's cache so that the plan holds no download


def stock() -> str:
    """The distribution's stock kernel kdoctor retargets to on this machine (derived the way
    kdoctor does, never a literal release); a clear skip (a failure under CI=true) without one."""
    release = target_kernel()
    if release is None:
        cannot_run("needs the headers of the distribution's stock kernel: run ./onboard.sh")
    return release


def snapshot(root: Path) -> dict[str, tuple[str, bytes]]:
    """relative path -> (kind, bytes or link target) of everything under ``root``."""
    state: dict[str, tuple[str, bytes]] = {}
    for directory, dirs, names in os.walk(root):
        for name in dirs + names:
            path = Path(directory) / name
            rel = str(path.relative_to(root))
            if path.is_symlink():
                state[rel] = ("link", os.readlink(path).encode())
            elif path.is_file():
                state[rel] = ("file", path.read_bytes())
            elif not path.is_dir():
                state[rel] = ("special", b"")
    return state


def clean(result: Result) -> None:
    """No traceback, nothing that reads like one."""
    assert result.no_traceback(), result.text
    assert "Error:" not in result.err.replace("kdoctor:", ""), result.text


def seed_stock_image(sandbox: Sandbox) -> None:
    """An image of the stock kernel in the sandbox's cache (existence is what the vm check
    asks), so ``fix`` plans no download."""
    release = stock()
    directory = sandbox.cache / "kernels" / release
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"vmlinuz-{release}").write_bytes(b"not really a kernel")


def only_file_edits(
    sandbox: Sandbox, *args: str, env: Optional[Mapping[str, Optional[str]]] = None
) -> Result:
    """``fix --dry-run --json ARGS`` (the plan as JSON on stdout, as text on stderr); skips the
    scenario unless every step is a file edit or kdoctor's own image download into its cache
    (``fix --yes`` must never install anything from a test)."""
    result = sandbox.run("fix", "--dry-run", "--json", *args, env=env)
    data = json.loads(result.out)
    steps = data["plan"]["steps"] if data.get("plan") else []
    # the dry run's code predicts the apply: 5 with steps pending, 0 with none
    assert result.code == (EXIT_PENDING if steps else 0), result.text
    harmless = [s for s in steps if s["edit"] or s["argv"][1:4] == ["-m", "kdoctor", "fetch-image"]]
    if not steps or harmless != steps:
        pytest.skip(f"this machine's plan is not only file edits: {steps}")
    return result
