from __future__ import annotations

import signal
from pathlib import Path

import pytest

from kdoctor.machine import lifecycle
from kdoctor.machine.runner import Runner
from kdoctor.model.plan import FileEdit, Plan, Step
from kdoctor.pipeline import apply as apply_module
from kdoctor.pipeline.apply import apply_plan, command_for
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply
from tests.signals import HANDLERS, at_moment, handled_by, pid_in, send, wait_until

APT = ("apt-get", "install", "-y", "clang")


def step(argv: tuple[str, ...], root: bool = True) -> Step:
    return Step(fix="packages", findings=("clang",), why="clang is missing", argv=argv, root=root)


def test_root_steps_go_through_sudo_only_when_not_root(tmp_path: Path) -> None:
    plain = step(("make",), root=False)
    assert command_for(step(APT), "sudo") == ["sudo", "-n", *APT]
    assert command_for(step(APT), "root") == list(APT)
    assert command_for(plain, "sudo") == ["make"]
    with_env = Step("packages", ("clang",), "x", argv=APT, root=True, env={"A": "1"})
    assert command_for(with_env, "sudo") == ["sudo", "-n", "env", "A=1", *APT]


def test_without_usable_sudo_the_root_commands_are_handed_to_an_admin(tmp_path: Path) -> None:
    system = FakeSystem(
        programs={"sudo": "/usr/bin/sudo"}, commands={"sudo -n true": Reply(exit_code=1)}
    )
    ctx = make_context(is_root=False)
    result = apply_plan(
        Plan((step(APT), step(("true",), root=False))), ctx, system, log_dir=str(tmp_path)
    )
    assert result.stopped == "needs-admin"
    assert result.admin_commands == (" ".join(APT),)
    assert system.runs == []


def test_a_failing_step_stops_the_plan_and_explains_a_held_lock(tmp_path: Path) -> None:
    held = (
        "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n"
        "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another "
        "process using it?\n"
    )
    system = FakeSystem(
        programs={"apt-get": "/usr/bin/apt-get", "true": "/bin/true"},
        commands={" ".join(APT): Reply(stdout=held, exit_code=100)},  # true: never run
    )
    result = apply_plan(
        Plan((step(APT), step(("true",), root=False))),
        make_context(),
        system,
        log_dir=str(tmp_path),
    )
    assert result.stopped == "failed" and not result.ok
    assert [r.ok for r in result.results] == [False]
    assert system.runs == [APT]
    explanation = result.results[0].explanation or ""
    assert "process 4242" in explanation and "rerun kdoctor fix" in explanation
    assert held.splitlines()[0] in (system.read_text(result.log_path) or "")
    assert [kind for _, kind in system.writes] == ["mkdir", "log"]


def test_network_down_names_what_could_not_be_fetched(tmp_path: Path) -> None:
    down = (
        "Err:1 http://deb.debian.org/debian bookworm/main amd64 clang-14 amd64 1:14.0.6-12\n"
        "  Temporary failure resolving 'deb.debian.org'\n"
        "E: Failed to fetch http://deb.debian.org/debian/pool/main/l/llvm-toolchain-14/clang-14.deb\n"
    )
    system = FakeSystem(
        programs={"apt-get": "/usr/bin/apt-get"},
        commands={" ".join(APT): Reply(stdout=down, exit_code=100)},
    )
    result = apply_plan(Plan((step(APT),)), make_context(), system, log_dir=str(tmp_path))
    assert "could not fetch from deb.debian.org" in (result.results[0].explanation or "")


def test_file_edits_are_atomic_with_a_backup(tmp_path: Path) -> None:
    target = tmp_path / "Kbuild"
    target.write_text("old\n")
    edit = Step("kbuild-cmd", ("kbuild-cmd",), "rule", edit=FileEdit(str(target), "new\n"))
    result = apply_plan(Plan((edit,)), make_context(), Runner(), log_dir=str(tmp_path / "logs"))
    assert result.ok
    assert target.read_text() == "new\n"
    assert (tmp_path / "Kbuild.~1~").read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".kdoctor-")] == []
    assert "written (backup" in Path(result.log_path).read_text()


def test_file_edits_go_through_the_system() -> None:
    system = FakeSystem(files={"/m/Kbuild": "old\n"})
    edit = Step(
        "kbuild-cmd", ("kbuild-cmd",), "rule", edit=FileEdit("/m/Kbuild", "new\n", mode=0o644)
    )
    result = apply_plan(Plan((edit,)), make_context(), system, log_dir="/logs")
    assert result.ok and system.runs == []
    assert (system.files["/m/Kbuild"], system.files["/m/Kbuild.~1~"]) == ("new\n", "old\n")
    assert system.modes["/m/Kbuild"] == 0o644
    assert system.writes == [
        ("/logs", "mkdir"),
        (result.log_path, "log"),
        ("/m/Kbuild.~1~", "backup"),
        ("/m/Kbuild", "write"),
    ]
    assert "written (backup /m/Kbuild.~1~)" in (system.read_text(result.log_path) or "")


@pytest.mark.parametrize("handler", HANDLERS)
@pytest.mark.parametrize("moment", ["announced", "armed", "started"])
def test_ctrl_c_mid_step_stops_cleanly_and_reports_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moment: str, handler: str
) -> None:
    """Whatever the moment of the step the signal comes at -- as it is announced, as its
    command is about to start, once it runs -- that step is reported interrupted and the
    next one never runs."""
    marker = tmp_path / "pid"
    script = tmp_path / "slow"
    script.write_text(f"#!/bin/sh\necho $$ > {marker}\nexec sleep 60\n")
    script.chmod(0o755)
    after = tmp_path / "after"
    runner = Runner(env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    if moment != "announced":
        at_moment(monkeypatch, moment, ready=pid_in(marker) if moment == "started" else None)

    def announced(s: Step, index: int, total: int) -> None:
        if moment == "announced" and index == 1:
            send()

    plan = Plan((step(("slow",), root=False), step(("touch", str(after)), root=False)))
    with handled_by(handler):
        result = apply_plan(
            plan, make_context(), runner, log_dir=str(tmp_path / "logs"), on_step=announced
        )
    assert result.stopped == "interrupted" and result.signum == signal.SIGINT
    assert [(r.step.argv, r.explanation) for r in result.results] == [(("slow",), "interrupted")]
    assert not after.exists()
    assert "interrupted (SIGINT)" in Path(result.log_path).read_text()
    if moment == "started":
        assert wait_until(lambda: not Path(f"/proc/{marker.read_text().strip()}").exists())


def test_sigterm_mid_step_is_reported_with_its_own_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "pid"
    script = tmp_path / "slow"
    script.write_text(f"#!/bin/sh\necho $$ > {marker}\nexec sleep 60\n")
    script.chmod(0o755)
    at_moment(monkeypatch, "started", signal.SIGTERM, ready=pid_in(marker))
    runner = Runner(env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    with handled_by("kdoctor"):
        result = apply_plan(
            Plan((step(("slow",), root=False),)), make_context(), runner, log_dir=str(tmp_path)
        )
        lifecycle.check()  # reported here: nothing later raises it again
    assert result.stopped == "interrupted" and result.signum == signal.SIGTERM
    assert "interrupted (SIGTERM)" in Path(result.log_path).read_text()


def test_a_held_lock_is_waited_for_visibly_then_the_step_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 77 (apt-get)\n"
    script = tmp_path / "apt-get"
    counter = tmp_path / "tries"
    script.write_text(
        f'#!/bin/sh\necho x >> {counter}\n[ "$(wc -l < {counter})" -ge 3 ] && exit 0\n'
        f"echo '{held.strip()}'\nexit 100\n"
    )
    script.chmod(0o755)
    monkeypatch.setattr(apply_module, "sleep", lambda s: None)
    runner = Runner(env={"PATH": f"{tmp_path}:/usr/bin:/bin"})
    lines: list[str] = []
    refresh = Step("packages", ("clang",), "refresh", argv=("apt-get", "update"), lock_wait=60)
    result = apply_plan(
        Plan((refresh,)), make_context(), runner, log_dir=str(tmp_path / "l"), on_line=lines.append
    )
    assert result.ok
    assert counter.read_text().count("x") == 3
    assert sum("lock is held; retrying" in line for line in lines) == 2


def test_a_lock_held_past_the_bound_fails_with_the_holder_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 77 (apt-get)"
    system = FakeSystem(
        programs={"apt-get": "/usr/bin/apt-get"},
        commands={"apt-get update": Reply(stdout=held, exit_code=100)},
    )
    clock = iter([0.0, 0.0, 30.0, 61.0, 61.0, 61.0, 61.0])
    monkeypatch.setattr(apply_module.time, "monotonic", lambda: next(clock, 100.0))
    monkeypatch.setattr(apply_module, "sleep", lambda s: None)
    refresh = Step("packages", ("clang",), "refresh", argv=("apt-get", "update"), lock_wait=60)
    result = apply_plan(Plan((refresh,)), make_context(), system, log_dir=str(tmp_path))
    assert result.stopped == "failed"
    assert len(system.runs) >= 2
    assert "process 77, apt-get" in (result.results[0].explanation or "")
