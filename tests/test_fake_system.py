"""FakeSystem as a machine: an in-memory file system that records every change, per-command
handlers for side effects, and the identity questions."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

import pytest

from kdoctor.checks.base import Check, all_checks
from kdoctor.facts import Facts
from kdoctor.machine.files import PlaceError
from kdoctor.machine.runner import Runner
from kdoctor.model.finding import Finding
from kdoctor.pipeline.diagnose import run_checks
from kdoctor.pipeline.planner import make_plan
from tests.conftest import make_context
from tests.fake_system import (
    FakeSystem,
    Reply,
    apt_archive,
    apt_unknown,
    check_fakes,
    watching,
)


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
        maybe={"make -C /m": Reply(exit_code=2)},  # what the handler shadows
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
    missing = FakeSystem(maybe_handlers={"gone": note}).run(["gone"])
    assert missing.error == "command not found" and len(calls) == 2


def test_diagnosing_and_planning_change_nothing() -> None:
    """What `kdoctor check` and `kdoctor fix --dry-run` do, on a bare fake machine: every check
    and every fix observes; nothing is run that could change the machine and nothing is written."""
    system = FakeSystem(
        programs={"apt-cache": "/usr/bin/apt-cache", "dpkg-query": "/usr/bin/dpkg-query"},
        env={"PATH": "/usr/bin:/bin", "HOME": "/home/me"},
        maybe_handlers={"apt-cache": apt_archive()},
    )
    ctx = make_context(is_root=False, settings_file="/home/me/.config/kdoctor/env")
    facts = Facts(ctx, system)
    report = run_checks(all_checks(), facts)
    plan = make_plan(facts, report)
    assert plan.steps  # there is something to do ...
    assert system.runs == [] and system.writes == []  # ... and nothing was done


# -- strict: what a test did not script, or scripted and nobody asked, fails it -----------------
def strict_fake(**scripted: Any) -> FakeSystem:
    """A fake with apt-cache and rustc on PATH, made apart from the test's own watch (so its
    problems are this test's to look at, not its failure)."""
    with watching() as made:
        fake = FakeSystem(programs={"apt-cache": "/usr/bin/apt-cache", "rustc": "/usr/bin/rustc"})
        for table, entries in scripted.items():
            getattr(fake, table).update(entries)
    assert made == [fake]
    return fake


def failure(fake: FakeSystem) -> str:
    with pytest.raises(AssertionError) as failed:
        check_fakes([fake])
    return str(failed.value)


def test_a_command_nobody_scripted_fails_the_test_even_when_the_code_swallowed_it() -> None:
    class Curious(Check):
        id = "curious"
        title = "asks what nobody scripted, and takes the 127 in its stride"

        def run(self, facts: Facts) -> Finding:
            probe = facts.system.probe(["rustc", "--version"])
            return self.ok(f"rustc said {probe.exit_code}")

    fake = strict_fake(commands={"apt-cache policy clang": "clang:\n"})
    assert fake.probe(["apt-cache", "policy", "clang"]).ok
    report = run_checks([Curious()], Facts(make_context(), fake))
    assert report.findings[0].summary == "rustc said 127"  # the code under test is content ...
    assert fake.unscripted == [("rustc", "--version")]
    assert "unscripted: rustc --version" in failure(fake)  # ... the test is not


def test_a_scripted_command_nobody_asked_fails_the_test() -> None:
    fake = strict_fake(
        commands={"rustc --version": "rustc 1.96.0\n"}, handlers={"apt-cache": lambda *a: None}
    )
    assert fake.problems() == ["never asked: rustc --version", "never asked: apt-cache"]
    message = failure(fake)
    assert "never asked: rustc --version" in message and "maybe=" in message
    assert fake.probe(["/usr/bin/rustc", "--version"]).ok  # asked by its full path: counts
    assert fake.problems() == ["never asked: apt-cache"]


def test_what_may_be_asked_may_go_unasked_and_what_a_test_scripts_wins() -> None:
    fake = strict_fake(
        maybe={"rustc --version": "rustc 1.85.0\n", "apt-cache policy clang": ""},
        maybe_handlers={"apt-cache": apt_archive()},
    )
    assert fake.problems() == []
    fake.commands["rustc --version"] = "rustc 1.96.0\n"  # this test means it to be asked
    assert fake.problems() == ["never asked: rustc --version"]
    assert fake.probe(["rustc", "--version"]).stdout == "rustc 1.96.0\n"
    # a machine-wide handler answers only what nothing scripted does
    assert fake.probe(["apt-cache", "policy", "clang"]).stdout == ""
    assert "Candidate: 1.0-1" in fake.probe(["apt-cache", "policy", "gcc"]).stdout
    check_fakes([fake])


def test_a_many_name_package_query_is_answered_from_the_one_name_answers() -> None:
    known = "clang:\n  Installed: (none)\n  Candidate: 14\n"
    fake = strict_fake(commands={"apt-cache policy clang": known, **apt_unknown("lld")})
    both = fake.probe(["apt-cache", "policy", "clang", "lld", "gcc"])
    assert both.ok and both.stdout == known  # gcc: no answer of its own, so apt knows it not
    assert fake.problems() == []  # each one-name answer used was asked
    assert fake.probe(["apt-cache", "policy", "gcc", "make"]).exit_code == 127  # none scripted
    assert fake.unscripted == [("apt-cache", "policy", "gcc", "make")]


def test_a_program_not_on_path_is_an_answer_not_a_problem() -> None:
    fake = strict_fake()
    assert fake.probe(["cargo", "--version"]).error == "command not found"
    assert fake.which("cargo") is None and fake.problems() == []
    check_fakes([fake])


def test_a_lenient_fake_says_why_and_lets_everything_pass() -> None:
    with watching():
        fake = FakeSystem(
            programs={"rustc": "/usr/bin/rustc"},
            commands={"rustc -vV": "rustc 1.96.0\n"},
            lenient="a whole pipeline on a bare machine: what it asks is not the point",
        )
    assert fake.probe(["rustc", "--version"]).exit_code == 127
    assert fake.unscripted == [("rustc", "--version")]  # still recorded, for a test to read
    assert fake.problems() == []
    check_fakes([fake])


def test_every_fake_a_test_makes_is_watched_on_any_thread() -> None:
    with watching() as made:
        mine = FakeSystem()
        with watching() as inner:
            theirs = FakeSystem()
        threaded: list[FakeSystem] = []
        worker = threading.Thread(target=lambda: threaded.append(FakeSystem()))
        worker.start()
        worker.join()
    assert made == [mine, *threaded] and inner == [theirs]


def test_the_fake_refuses_in_the_real_machine_s_words(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    real, fake = Runner(), FakeSystem(files={f"{tmp_path}/file": "x"})
    said = []
    for system in (real, fake):
        with pytest.raises(PlaceError) as refused:
            system.write_file(f"{tmp_path}/file/under", "y")
        said.append((refused.value.reason, refused.value.remedy))
    assert said[0] == said[1]
    fifo = FakeSystem(specials={"/p": "a FIFO (named pipe)"})
    assert fifo.read_file("/p").problem == "is a FIFO (named pipe), not a regular file"
    with pytest.raises(PlaceError, match="replace it with a regular file"):
        fifo.write_file("/p", "y")


def test_ownership_defaults_to_the_fake_user_and_owners_say_otherwise() -> None:
    system = FakeSystem(
        uid=1000,
        files={"/c/stamp.json": "{}", "/dev/kvm": ""},
        dirs={"/c/kernels": []},
        symlinks={"/link": "/c/stamp.json"},
        owners={"/c/kernels": (1001, 0o775), "/dev/kvm": (0, 0o660, "kvm")},
    )
    stamp = system.ownership("/c/stamp.json")
    assert stamp is not None and (stamp.uid, stamp.mode & 0o7777) == (1000, 0o644)
    assert not stamp.others_may_write and stamp.user == "1000"
    kernels = system.ownership("/c/kernels")
    assert kernels is not None and kernels.uid == 1001 and kernels.others_may_write
    assert system.ownership("/c") is not None  # a directory because something is below it
    kvm = system.ownership("/dev/kvm")
    assert kvm is not None and (kvm.user, kvm.group) == ("root", "kvm")
    assert system.ownership("/link") == stamp  # following the symlink, as stat does
    assert system.ownership("/c/missing") is None


def test_the_runner_says_who_owns_a_real_file(tmp_path: Path) -> None:
    import os
    import stat

    path = tmp_path / "f"
    path.write_text("x")
    path.chmod(0o664)
    found = Runner().ownership(str(path))
    assert found is not None
    assert (found.uid, stat.S_IMODE(found.mode)) == (os.geteuid(), 0o664)
    assert found.others_may_write and stat.S_ISREG(found.mode) and found.user
    assert Runner().ownership(str(tmp_path / "missing")) is None
    assert Runner().ownership("bad\0path") is None
