from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kdoctor import i18n
from kdoctor.checks.base import Check
from kdoctor.facts import Facts
from kdoctor.machine.system import System
from kdoctor.model.context import Context, DistroInfo
from kdoctor.model.finding import Finding
from kdoctor.model.toolchain_file import PinnedToolchain
from tests.fake_system import check_fakes, watching
from tests.i18n_support import Pseudo
from tests.machine_load import MachineLoad, load_wanted
from tests.real_machine import RealTarget, real_kernel
from tests.real_machine_summary import RealMachineSummary

KDIR = "/lib/modules/6.1.0-56-amd64/build"


def pytest_configure(config: pytest.Config) -> None:
    """The run ends with the counts of the real-machine tests (tests/real_machine_summary.py);
    ``KDOCTOR_TEST_LOAD=N`` runs it on a busy machine (tests/machine_load.py)."""
    config.pluginmanager.register(RealMachineSummary(), "real-machine-summary")
    hogs = load_wanted(dict(os.environ))
    if hogs:
        load = MachineLoad(hogs)
        load.start()
        config.pluginmanager.register(load, "machine-load")


def make_context(**overrides: Any) -> Context:
    """A Debian 12 machine targeting its running 6.1 kernel; override what a test needs."""
    base = Context(
        distro=DistroInfo("debian", "12", "Debian GNU/Linux 12 (bookworm)", (), "bookworm"),
        package_manager="apt",
        arch="x86_64",
        running_kernel="6.1.0-56-amd64",
        target_kernel="6.1.0-56-amd64",
        kdir=KDIR,
        target_source="running",
        module_dir="/src/hello-world",
        pin=PinnedToolchain(
            "nightly-2021-02-12",
            ("rust-src", "rustfmt"),
            "minimal",
            "/src/hello-world/rust-toolchain.toml",
        ),
        rust_mode="auto",
        env={},
        is_root=True,
        cache_dir="/root/.cache/kdoctor",
        settings_file="/root/.config/kdoctor/env",
    )
    return replace(base, **overrides)


def run_check(check: Check, ctx: Context, system: System) -> Finding:
    """``check.run`` with a fresh :class:`Facts` of ``ctx`` and ``system`` (as one check run)."""
    return check.run(Facts(ctx, system))


@pytest.fixture(autouse=True)
def strict_fakes() -> Iterator[None]:
    """Every FakeSystem a test makes is strict: at teardown, the test fails when one was asked a
    command nobody scripted or left a scripted one unasked (tests/fake_system.py), even when the
    code under test swallowed the 127 it got."""
    with watching() as made:
        yield
    try:
        check_fakes(made)
    except AssertionError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def real_target() -> RealTarget:
    """This machine's target kernel, derived as kdoctor does (tests/real_machine.py); a test
    using it cannot run without that kernel's headers (a skip here, a failure in CI)."""
    return real_kernel()


@pytest.fixture
def ctx() -> Context:
    return make_context()


def tool(directory: Path, name: str, body: str) -> str:
    """A fake executable: a shell script named ``name`` in ``directory`` (for PATH tests)."""
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    """An empty directory for fake executables, to put on PATH."""
    d = tmp_path / "bin"
    d.mkdir()
    return d


def elf_binary(*, interp: bool) -> bytes:
    """A minimal 64-bit little-endian ELF header with one (static) or two program headers (the
    second a PT_INTERP: dynamically linked)."""
    phoff, phentsize = 64, 56
    types = [1, 3] if interp else [1]
    header = bytearray(64)
    header[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", header, 32, phoff)
    struct.pack_into("<HH", header, 54, phentsize, len(types))
    table = b"".join(struct.pack("<I", t) + bytes(phentsize - 4) for t in types)
    return bytes(header) + table


@pytest.fixture
def pseudo() -> Iterator[None]:
    """Speak the pseudo-locale (tests/i18n_support.py) for one test."""
    i18n.activate("es", Pseudo())
    yield
    i18n.activate("en")


@pytest.fixture
def spanish() -> Iterator[None]:
    """Speak Spanish, from the real catalogs, for one test."""
    i18n.activate("es")
    yield
    i18n.activate("en")
