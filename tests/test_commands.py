"""The commands rendered from needs are safe to copy: every word is quoted for a shell."""

from __future__ import annotations

import shlex

from kdoctor.knowledge.commands import need_commands, shown
from kdoctor.model.need import Package, RustComponent, RustOverride, RustToolchain, Rustup, Setting


def test_a_path_with_spaces_and_a_hostile_channel_stay_single_words() -> None:
    hostile = "nightly; touch /tmp/pwned"
    commands = need_commands(
        [
            RustToolchain(hostile, "minimal", ("rust-src",)),
            RustOverride("stable", "/home/me/my module"),
            RustComponent("$(reboot)", "rust-src"),
        ],
        manager="apt",
        is_root=True,
    )
    assert [shlex.split(c) for c in commands] == [
        [
            "rustup",
            "toolchain",
            "install",
            hostile,
            "--profile",
            "minimal",
            "--component",
            "rust-src",
        ],
        ["rustup", "override", "unset", "--path", "/home/me/my module"],
        ["rustup", "component", "add", "rust-src", "--toolchain", "$(reboot)"],
    ]
    assert "'$(reboot)'" in commands[2]


def test_packages_go_into_one_command_first_behind_sudo_when_not_root() -> None:
    needs = [
        RustComponent("nightly", "rustfmt"),
        Package("clang", ("clang",)),
        Package("lld", ("lld",)),
        Rustup(Package("rustup", ("rustup",))),
    ]
    commands = need_commands(needs, manager="apt", is_root=False)
    assert commands[0] == "sudo apt-get install -y --no-install-recommends clang lld"
    assert commands[1] == "sudo apt-get install -y --no-install-recommends rustup"
    assert commands[2] == "rustup component add rustfmt --toolchain nightly"


def test_without_a_package_manager_the_packages_are_named_in_words() -> None:
    [command] = need_commands([Package("clang-15")], manager=None, is_root=True)
    assert command == "install clang-15 with your distribution's package manager"


def test_settings_are_exported_quoted_and_removed_ones_unset() -> None:
    [command] = need_commands(
        [Setting("CC", "/opt/my clang/bin/clang"), Setting("LLVM", None)],
        manager="apt",
        is_root=True,
    )
    assert command == "export 'CC=/opt/my clang/bin/clang'; unset LLVM"
    assert shown(["echo", "a b"], root=True, is_root=False) == "sudo echo 'a b'"
