"""KDOCTOR_DISTRO_RUST: Debian's plain rustc or its -web build, chosen by the person."""

from __future__ import annotations

import os

import pytest

from kdoctor.checks.toolchain import ToolchainCheck
from kdoctor.facts.context import detect
from kdoctor.knowledge.packages import rust_logical
from kdoctor.model.context import Context, DistroInfo, bundled_module_dir
from kdoctor.pipeline.planner import fix_of
from tests.conftest import make_context, run_check
from tests.fake_system import FakeSystem

PARTS = ("rustc", "rust-src", "rustfmt")
WEB = ["rustc-web", "rust-web-src", "rustfmt-web"]
PLAIN = ["rustc", "rust-src", "rustfmt"]


def _ctx(version: str, codename: str, manager: str = "apt", **env: str) -> Context:
    return make_context(
        distro=DistroInfo("debian", version, f"Debian {version}", (), codename),
        package_manager=manager,
        env=env,
    )


@pytest.mark.parametrize(
    ("version", "codename", "env", "expected"),
    [
        ("12", "bookworm", {}, WEB),
        ("12", "bookworm", {"KDOCTOR_DISTRO_RUST": "rustc"}, PLAIN),
        ("12", "bookworm", {"KDOCTOR_DISTRO_RUST": "rustc-web"}, WEB),
        ("12", "bookworm", {"KDOCTOR_DISTRO_RUST": "nonsense"}, WEB),
        ("11", "bullseye", {}, PLAIN),
        ("11", "bullseye", {"KDOCTOR_DISTRO_RUST": "rustc-web"}, WEB),
        ("13", "trixie", {}, PLAIN),
        ("13", "trixie", {"KDOCTOR_DISTRO_RUST": "rustc"}, PLAIN),
    ],
)
def test_the_variable_chooses_between_the_two_builds(
    version: str, codename: str, env: dict[str, str], expected: list[str]
) -> None:
    ctx = _ctx(version, codename, **env)
    assert [rust_logical(ctx, part) for part in PARTS] == expected


def test_only_apt_has_web_builds() -> None:
    ctx = _ctx("12", "bookworm", manager="dnf", KDOCTOR_DISTRO_RUST="rustc-web")
    assert [rust_logical(ctx, part) for part in PARTS] == PLAIN


def test_detect_keeps_the_variable_in_the_context() -> None:
    pin = os.path.join(bundled_module_dir(), "rust-toolchain.toml")
    system = FakeSystem(
        env={"KDOCTOR_DISTRO_RUST": "rustc"},
        files={pin: '[toolchain]\nchannel = "nightly-2021-02-12"\n'},
    )
    ctx = detect(system)
    assert ctx.env["KDOCTOR_DISTRO_RUST"] == "rustc"
    assert ctx.to_json()["env"]["KDOCTOR_DISTRO_RUST"] == "rustc"


def test_toolchain_check_asks_for_the_plain_packages_when_told() -> None:
    ctx = make_context(
        distro=DistroInfo("debian", "12", "Debian 12", (), "bookworm"),
        env={"KDOCTOR_DISTRO_RUST": "rustc"},
        rust_mode="distro",
    )
    finding = run_check(ToolchainCheck(), ctx, FakeSystem(programs={}, env={"PATH": "/usr/bin"}))
    assert fix_of(finding) == "packages"
    assert finding.facts["logical"] == ["rustc", "rust-src"]
    assert finding.facts["packages"] == ["rustc", "rust-src"]
    assert finding.remediation is not None
    assert finding.remediation.commands == (
        "apt-get install -y --no-install-recommends rustc rust-src",
    )
