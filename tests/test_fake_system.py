"""FakeSystem as a machine: an in-memory file system that records every change, per-command
handlers for side effects, and the identity questions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

import pytest

from kdoctor.checks.base import all_checks
from kdoctor.facts import Facts
from kdoctor.pipeline.diagnose import run_checks
from kdoctor.pipeline.planner import make_plan
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply


def test_every_change_is_recorded_in_order() -> None:
    system = FakeSystem(files={"/etc/a": "old"})
    assert system.write_file("/etc/a", "new", backup=True, mode=0o600) == "/etc/a.~1~"
    system.makedirs("/var/k")
    work = system.make_temp_dir(".partial-", "/var/k")
    system.write_file(f"{work}/x", b"\x00")
    system.rename(f"{work}/x", "/var/k/x")
    system.remove_tree(work)
    with system.open_log("/var/log/k.log") as log:
        log.write("one\n")
    system.copy_tree("/var/k", "/copy")
    assert system.writes == [
        ("/etc/a.~1~", "backup"),
        ("/etc/a", "write"),
        ("/var/k", "mkdir"),
        (work, "tempdir"),
        (f"{work}/x", "write"),
        ("/var/k/x", "rename"),
        (work, "remove"),
        ("/var/log/k.log", "log"),
        ("/copy/x", "copy"),
    ]
    assert (system.files["/etc/a"], system.files["/etc/a.~1~"]) == ("new", "old")
    assert system.modes["/etc/a"] == 0o600
    assert system.read_bytes("/var/k/x") == b"\x00" and not system.exists(work)
    assert system.listdir("/var/k") == ["x"] and system.is_dir("/var/k")
    assert system.read_text("/var/log/k.log") == "one\n"
    assert system.read_bytes("/copy/x", limit=0) == b""


def test_reading_never_records_a_change() -> None:
    system = FakeSystem(files={"/a/b/c": "text", "/bin/bb": b"\x7fELF"}, dirs={"/d": ["e"]})
    assert system.read_text("/a/b/c") == "text" and system.read_text("/missing") is None
    assert system.read_bytes("/bin/bb", 2) == b"\x7fE" and system.read_text("/bin/bb") == "\x7fELF"
    assert system.listdir("/a") == ["b"] and system.listdir("/d") == ["e"]
    assert system.is_dir("/a/b") and not system.is_file("/a/b") and system.is_file("/a/b/c")
    assert system.is_writable("/a/b/c")
    assert system.writes == []


def test_a_log_is_readable_while_it_is_written() -> None:
    system = FakeSystem(files={"/l": "before\n"})
    with system.open_log("/l", append=True) as log:
        log.write("during\n")
        assert system.read_text("/l") == "before\nduring\n"
    with system.open_log("/l") as log:
        assert system.read_text("/l") == ""


def test_copy_tree_skips_pycache_and_unchanged_files() -> None:
    system = FakeSystem(
        files={"/s/a": "1", "/s/sub/b": "2", "/s/__pycache__/c.pyc": "x", "/t/a": "1"},
    )
    system.copy_tree("/s", "/t")
    assert system.writes == [("/t/sub/b", "copy")]
    assert not system.exists("/t/__pycache__")


def test_rename_of_a_missing_path_fails_like_the_real_one() -> None:
    with pytest.raises(FileNotFoundError):
        FakeSystem().rename("/nope", "/there")


def test_readonly_paths_and_symlinks() -> None:
    system = FakeSystem(readonly=["/usr/lib"], symlinks={"/bin": "/usr/bin", "/l": "/bin/x"})
    assert not system.is_writable("/usr/lib/python3/kdoctor") and system.is_writable("/usr/li")
    assert system.real_path("/bin/busybox") == "/usr/bin/busybox"
    assert system.real_path("/l") == "/usr/bin/x"
    assert system.real_path("/opt/../etc/x") == "/etc/x"


def test_identity_defaults_and_overrides() -> None:
    plain = FakeSystem()
    assert (plain.uid(), plain.arch(), plain.kernel_release()) == (1000, "x86_64", "6.1.0-56-amd64")
    root = FakeSystem(uid=0, arch="aarch64", kernel_release="6.12.0")
    assert (root.uid(), root.arch(), root.kernel_release()) == (0, "aarch64", "6.12.0")


def test_a_handler_side_effect_is_visible_and_its_answer_wins() -> None:
    seen: list[tuple[tuple[str, ...], Optional[str], Mapping[str, str]]] = []

    def make(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        seen.append((argv, cwd, env))
        system.write_file(f"{argv[2]}/helloworld.ko", b"ko")
        return Reply(stdout="  LD [M]  helloworld.ko\n")

    system = FakeSystem(
        programs={"make": "/usr/bin/make"},
        commands={"make -C /m": Reply(exit_code=2)},
        handlers={"make": make},
    )
    probe = system.run(["/usr/bin/make", "-C", "/m"], cwd="/w", env={"CC": "clang"})
    assert probe.ok and "LD [M]" in probe.stdout
    assert system.read_bytes("/m/helloworld.ko") == b"ko"
    assert seen == [(("/usr/bin/make", "-C", "/m"), "/w", {"CC": "clang"})]
    assert system.runs == [("/usr/bin/make", "-C", "/m")]
    assert system.writes == [("/m/helloworld.ko", "write")]


def test_a_handler_may_fall_through_to_commands_and_is_keyed_like_them() -> None:
    calls: list[str] = []

    def note(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> None:
        calls.append(" ".join(argv))

    system = FakeSystem(
        programs={"uname": "/bin/uname", "true": "/bin/true"},
        commands={"uname -r": "6.1\n", "true": ""},
        handlers={"uname -r": note},
    )
    assert system.probe(["uname", "-r"]).stdout == "6.1\n"
    assert system.probe(["/bin/uname", "-r"]).stdout == "6.1\n"  # the bare name's key too
    assert system.probe(["true"]).ok
    assert calls == ["uname -r", "/bin/uname -r"]
    # an unknown program never reaches its handler
    missing = FakeSystem(handlers={"gone": note}).run(["gone"])
    assert missing.error == "command not found" and len(calls) == 2


def test_diagnosing_and_planning_change_nothing() -> None:
    """What `kdoctor check` and `kdoctor fix --dry-run` do, on a bare fake machine: every check
    and every fix observes; nothing is run that could change the machine and nothing is written."""
    system = FakeSystem(
        programs={"apt-cache": "/usr/bin/apt-cache", "dpkg-query": "/usr/bin/dpkg-query"},
        env={"PATH": "/usr/bin:/bin", "HOME": "/home/me"},
    )
    ctx = make_context(is_root=False, settings_file="/home/me/.config/kdoctor/env")
    facts = Facts(ctx, system)
    report = run_checks(all_checks(), facts)
    plan = make_plan(facts, report)
    assert plan.steps  # there is something to do ...
    assert system.runs == [] and system.writes == []  # ... and nothing was done
