"""The planners and the machine layer speak through the catalogs (domain ``kdoctor-fixes``):
under the pseudo-locale every step explanation, plan note and error message they make carries
the brackets, so a sentence added later without ``_()`` fails here; and real Spanish comes out
under ``es``. Values inside a sentence (ids, summaries a check made, paths) are not translated
here, so a sentence is "spoken" when it starts with the bracket of its own message."""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Optional

import pytest

from kdoctor import i18n
from kdoctor.facts import Facts
from kdoctor.fixes.base import Ask, Decision, Fix
from kdoctor.fixes.by_hand import ByHandFix
from kdoctor.fixes.cargo_source import CargoSourceFix
from kdoctor.fixes.kbuild_cmd import KbuildCmdFix
from kdoctor.fixes.kernel_target import KernelTargetFix
from kdoctor.fixes.packages import APT_LISTS, DPKG_UPDATES, PackagesFix
from kdoctor.fixes.rust import RustFix
from kdoctor.fixes.settings import SettingsFix
from kdoctor.machine import settings
from kdoctor.machine.files import PlaceError, place_error, read_regular, write_atomic
from kdoctor.machine.locks import file_lock
from kdoctor.machine.runner import Runner
from kdoctor.machine.system import Probe
from kdoctor.model.choice import KbuildFixMode, TargetSource
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import (
    ByHand,
    CargoSource,
    KbuildCmd,
    KernelImage,
    Need,
    Package,
    RustOverride,
    RustToolchain,
    Rustup,
    Setting,
    StockKernel,
)
from kdoctor.model.plan import PlanOptions
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply
from tests.i18n_support import OPEN, Pseudo

SUMMARY = "what the check found"
PIN = "nightly-2021-02-12"
MOD = "/src/mod"
KBUILD = """\
obj-m := helloworld.o
helloworld-objs := hello_world.rust.o

%.rust.o: lib%.a
\t$(LD) -r -o $@ --whole-archive $<
"""


@pytest.fixture(autouse=True)
def pseudo() -> Iterator[None]:
    i18n.activate("es", Pseudo())
    yield
    i18n.activate("en")


def problem(check: str, *needs: Need, required: bool = True, **kw: Any) -> Finding:
    return Finding(check, Status.FAIL, SUMMARY, needs=needs, required=required, **kw)


def decide(
    fix: Fix,
    ctx: Context,
    system: FakeSystem,
    *findings: Finding,
    options: Optional[PlanOptions] = None,
) -> Decision:
    asks = [Ask(f, n) for f in findings for n in f.needs]
    return fix.plan(Facts(ctx, system), asks, options or PlanOptions())


def unspoken(decision: Decision) -> list[str]:
    """The step explanations and notes that are not one of the catalogs' sentences (a step
    explained by its finding alone, ``<id>: <summary>``, says nothing of its own)."""
    texts = [s.why for s in decision.steps if not s.why.endswith(f": {SUMMARY}")]
    return [t for t in [*texts, *decision.notes] if not t.startswith(OPEN)]


def said(*decisions: Decision) -> int:
    return sum(len(d.steps) + len(d.notes) for d in decisions)


# -- the planners ------------------------------------------------------------------------------
def apt_machine(known: Sequence[str], *, updates: Sequence[str] = ()) -> FakeSystem:
    """Debian whose apt knows ``known``, whose package lists are a month old."""
    lists = ("deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",)
    policy = "{0}:\n  Installed: (none)\n  Candidate: 1.0-1\n  Version table:\n     1.0-1 500\n"
    return FakeSystem(
        programs={"apt-cache": "/usr/bin/apt-cache", "apt-get": "/usr/bin/apt-get"},
        commands={f"apt-cache policy {n}": policy.format(n) for n in known},
        dirs={APT_LISTS: list(lists), DPKG_UPDATES: list(updates)},
        mtimes={f"{APT_LISTS}/{n}": time.time() - 30 * 86400 for n in lists},
    )


def test_the_packages_planner_explains_every_step_and_note() -> None:
    system = apt_machine(["clang-16", "bindgen"], updates=["1"])
    findings = (
        problem("clang", Package("clang", ("clang-16",))),
        problem("bindgen", Package("bindgen", ("bindgen",))),
        problem("kernel-headers", Package("headers", ("linux-headers-6.1.0-99-amd64",))),
        problem("rustfmt", Package("rustfmt", ("rustfmt",)), required=False),
        problem("libclang", Package("libclang")),  # no candidate: no package to name
    )
    decision = decide(PackagesFix(), make_context(), system, *findings)
    assert [s.argv[:2] for s in decision.steps] == [
        ("dpkg", "--configure"),
        ("apt-get", "update"),
        ("apt-get", "install"),
    ]
    assert len(decision.notes) == 4  # no package, left out, unknown yet, versioned clang
    assert unspoken(decision) == []
    # the reasons a refresh gives are sentences too, not only the sentence around them
    assert decision.steps[1].why.count(OPEN) == 3  # refresh: unknown yet; lists a month old


def test_the_packages_planner_speaks_for_other_package_managers() -> None:
    unknown = Reply(stderr="error: package 'clang' was not found\n", exit_code=1)
    pacman = FakeSystem(
        programs={"pacman": "/usr/bin/pacman"}, commands={"pacman -Si clang": unknown}
    )
    findings = (problem("clang", Package("clang", ("clang",))),)
    decisions = [
        decide(PackagesFix(), make_context(package_manager="pacman"), pacman, *findings),
        decide(PackagesFix(), make_context(package_manager=None), FakeSystem(), *findings),
    ]
    assert said(*decisions) >= 2
    assert [unspoken(d) for d in decisions] == [[], []]


def rust_machine(*, rustup: bool, curl: Reply) -> FakeSystem:
    programs = {"curl": "/usr/bin/curl"}
    if rustup:
        programs["rustup"] = "/root/.cargo/bin/rustup"
    system = FakeSystem(programs=programs, env={"PATH": "/usr/bin:/bin", "HOME": "/root"})
    # asked when the choice depends on it (auto mode) only
    system.maybe["curl -sSI --max-time 5 https://static.rust-lang.org/"] = curl
    return system


@pytest.mark.parametrize(
    ("mode", "rustup", "curl", "package_manager", "consent"),
    [
        ("pin", False, Reply(), "apt", False),  # rustup needs the installer: consent wanted
        ("pin", False, Reply(), "apt", True),  # consented to
        ("auto", True, Reply(), "apt", False),  # the pin, rust-lang answers
        ("auto", True, Reply(exit_code=6, stderr="curl: (6) no host"), "apt", False),  # distro
        ("auto", False, Reply(exit_code=6, stderr="curl: (6)"), None, False),  # neither
        ("auto", False, Reply(), None, False),  # no Rust package known: the pin
    ],
)
def test_the_rust_planner_explains_its_choice(
    mode: str, rustup: bool, curl: Reply, package_manager: str, consent: bool
) -> None:
    ctx = make_context(rust_mode=mode, package_manager=package_manager)
    alternative = (Package("rustc-web", ("rustc-web",)),)
    findings = (
        problem("toolchain", RustToolchain(PIN, "minimal", ("rust-src",), alternative)),
        problem("rustup", Rustup(None, False)),
    )
    system = rust_machine(rustup=rustup, curl=curl)
    options = PlanOptions(allow_rustup_installer=consent)
    decision = decide(RustFix(), ctx, system, *findings, options=options)
    assert decision.notes
    assert unspoken(decision) == []
    if mode == "auto":  # why the choice was made is a sentence of its own
        assert decision.notes[0].count(OPEN) >= 2


def test_the_rust_planner_speaks_of_snaps_and_overrides() -> None:
    ctx = make_context(rust_mode="pin", env={"RUSTUP_TOOLCHAIN": "stable"})
    system = rust_machine(rustup=False, curl=Reply())
    findings = (
        problem("rustup", Rustup(None, snap=True)),
        problem("toolchain", RustOverride("stable")),
    )
    decision = decide(RustFix(), ctx, system, *findings)
    assert said(decision) == 2
    assert unspoken(decision) == []


def test_the_settings_kernel_cargo_and_by_hand_planners_explain_themselves() -> None:
    system = FakeSystem()
    retargeted = make_context(
        target_source=TargetSource.RETARGETED,
        target_kernel="6.1.0-57-amd64",
        kdir="/usr/src/linux-headers-6.1.0-57-amd64",
    )
    image = problem("vm", KernelImage("6.1.0-57-amd64", "linux-image-6.1.0-57-amd64"))
    remedy = Remediation("Install them.", commands=("kdoctor fix", "apt-get install x"))
    kept = problem("kernel-headers", StockKernel("no package"), remediation=remedy)
    decisions = [
        decide(SettingsFix(), make_context(), system, problem("clang", Setting("CC", "clang-16"))),
        decide(KernelTargetFix(), retargeted, system, image),
        decide(KernelTargetFix(), make_context(package_manager="dnf"), system, image),
        decide(KernelTargetFix(), make_context(), system, kept),
        decide(KernelTargetFix(), make_context(target_source=TargetSource.KDIR), system, kept),
        decide(
            CargoSourceFix(),
            make_context(),
            system,
            problem("crates", CargoSource(("/usr/share/cargo/registry",), "/c/cargo-home")),
        ),
        decide(
            ByHandFix(),
            make_context(),
            system,
            problem("cc-forced", ByHand("cc-forced", "the Makefile sets CC", "Edit it.")),
        ),
    ]
    assert said(*decisions) >= 9
    assert [unspoken(d) for d in decisions] == [[]] * len(decisions)


def test_a_target_kernel_fetched_into_the_cache_is_explained() -> None:
    release = "6.1.0-99-amd64"
    ctx = make_context(
        target_source=TargetSource.OPTION,
        target_kernel=release,
        kdir=f"/root/.cache/kdoctor/kernels/{release}/build",
    )
    decision = decide(KernelTargetFix(), ctx, FakeSystem())
    assert len(decision.steps) == 1
    assert unspoken(decision) == []


@pytest.mark.parametrize("mode", [KbuildFixMode.REWRITE, KbuildFixMode.TOUCH])
def test_the_kbuild_planner_explains_the_rewrite_and_the_touch(mode: KbuildFixMode) -> None:
    system = FakeSystem(files={f"{MOD}/Kbuild": KBUILD})
    finding = problem("kbuild-cmd", KbuildCmd(MOD, ("hello_world.rust.o",)))
    ctx = make_context(module_dir=MOD)
    decision = decide(KbuildCmdFix(), ctx, system, finding, options=PlanOptions(kbuild_fix=mode))
    assert len(decision.steps) == 1 and len(decision.notes) == 1
    assert unspoken(decision) == []


# -- the machine's messages --------------------------------------------------------------------
def test_a_refused_fifo_says_why_in_the_catalogs_words(tmp_path: Path) -> None:
    fifo = tmp_path / "env"
    os.mkfifo(fifo)
    found = read_regular(str(fifo))
    assert found.problem is not None and found.problem.startswith(OPEN)
    assert found.problem.count(OPEN) == 2  # "is {kind}, not a regular file" and the kind
    with pytest.raises(settings.SettingsError) as caught:
        settings.load(str(fifo))
    assert str(caught.value).startswith(OPEN) and str(caught.value).count(OPEN) >= 4


@pytest.mark.parametrize(
    "data",
    [b"export CC=clang\x00\n", b'export KDIR="/unclosed\n', b"export CC=\xff\n"],
)
def test_a_settings_file_kdoctor_cannot_read_is_explained(data: bytes) -> None:
    with pytest.raises(settings.SettingsError) as caught:
        settings.parse(data, "/home/me/.config/kdoctor/env")
    error = caught.value
    assert [error.problem[0], error.remedy[0], str(error)[0]] == [OPEN] * 3


def test_a_place_kdoctor_cannot_write_is_explained(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("a file where a directory goes")
    with pytest.raises(PlaceError) as caught:
        write_atomic(str(tmp_path / "cache" / "x" / "y"), "data")
    error = caught.value
    assert [str(error)[0], error.reason[0], error.remedy[0]] == [OPEN] * 3
    full = place_error("/var/cache/kdoctor/x", OSError(errno.ENOSPC, "No space left on device"))
    assert full.remedy.startswith(OPEN)
    fake = FakeSystem(files={"/c": "x"})
    with pytest.raises(PlaceError) as in_fake:
        fake.write_file("/c/d/e", "data")
    assert str(in_fake.value).startswith(OPEN) and in_fake.value.reason.startswith(OPEN)


def test_waiting_for_a_lock_is_said_in_the_catalogs_words(tmp_path: Path) -> None:
    import fcntl

    artefact = str(tmp_path / "artefact")
    holder = os.open(artefact + ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(holder, fcntl.LOCK_EX)
    heard: list[str] = []

    def release(sentence: str) -> None:
        heard.append(sentence)
        threading.Timer(0.05, os.close, (holder,)).start()

    with file_lock(artefact, on_wait=release):
        pass
    assert len(heard) == 1 and heard[0].startswith(OPEN)


def test_commands_that_fail_are_described_in_the_catalogs_words() -> None:
    failed = Probe(argv=("make",), exit_code=2, stderr="")
    slow = Probe(argv=("make",), exit_code=None, timed_out=True, timeout=5.0)
    assert failed.describe_failure().startswith(OPEN) and "no output" in failed.describe_failure()
    assert slow.describe_failure().startswith(OPEN)
    missing = Runner({"PATH": "/nonexistent"}).probe(["no-such-tool"])
    assert missing.error is not None and missing.error.startswith(OPEN)
    assert (FakeSystem().probe(["no-such-tool"]).error or "").startswith(OPEN)


# -- real Spanish ------------------------------------------------------------------------------
@pytest.fixture
def spanish() -> Iterator[None]:
    i18n.activate("es")
    yield
    i18n.activate("en")


def test_the_planners_and_the_machine_speak_spanish(spanish: None, tmp_path: Path) -> None:
    system = FakeSystem(files={f"{MOD}/Kbuild": KBUILD})
    finding = problem("kbuild-cmd", KbuildCmd(MOD, ("hello_world.rust.o",)))
    touch = PlanOptions(kbuild_fix=KbuildFixMode.TOUCH)
    decision = decide(KbuildCmdFix(), make_context(module_dir=MOD), system, finding, options=touch)
    assert decision.notes[0].startswith(".hello_world.rust.o.cmd se crea vacío (--kbuild-fix")
    assert "modpost no encuentra ningún archivo .cmd" in decision.steps[0].why

    fifo = tmp_path / "env"
    os.mkfifo(fifo)
    with pytest.raises(settings.SettingsError) as caught:
        settings.load(str(fifo))
    assert str(caught.value) == (
        f"archivo de configuración de kdoctor {fifo}: es una FIFO (tubería con nombre), no un "
        "archivo regular; sustitúyalo por un archivo de texto regular, o defina KDOCTOR_CONFIG "
        "con otra ruta"
    )
    assert Probe(argv=("make",), exit_code=2, stderr="E").describe_failure() == (
        "make terminó con el código de salida 2: E"
    )
    ctx = make_context(rust_mode="pin", env={"RUSTUP_TOOLCHAIN": "stable"})
    [note] = decide(RustFix(), ctx, FakeSystem(), problem("t", RustOverride("stable"))).notes
    assert note.startswith("RUSTUP_TOOLCHAIN=stable en su entorno hace que rustc use ese ")


def test_english_is_unchanged_after_spanish(spanish: None) -> None:
    i18n.activate("en")
    assert Probe(argv=("make",), exit_code=2).describe_failure() == (
        "make exited with status 2: no output"
    )
