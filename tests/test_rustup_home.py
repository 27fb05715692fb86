"""Looking writes nothing, not even through rustup: without a rustup home (``RUSTUP_HOME``,
else ``~/.rustup``) any rustup command would create one, so rustup is not run but for its
version, asked where no home can be made; its proxies are not run either (strict fakes), and
on the real machine ``check`` and ``fix --dry-run`` leave a fresh HOME as it was."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kdoctor.checks.bindgen import BindgenCheck
from kdoctor.facts import rustup as ru
from kdoctor.facts.rust_prefetch import likely_rust_probes
from kdoctor.facts.rustup import NO_HOME, PROBE_ENV
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply
from tests.real_machine import cannot_run

RUSTUP = "/root/.cargo/bin/rustup"
SHIM_RUSTFMT = "/root/.cargo/bin/rustfmt"
#: what rustup 1.29 prints when its home cannot be made: the version first, then the failure
HOMELESS_VERSION = Reply(
    stdout="rustup 1.29.0 (28d1352db 2026-03-05)\n",
    stderr="error: could not create home directory: '/proc/kdoctor-no-rustup-home'\n",
    exit_code=1,
)


def homeless(**kw: object) -> FakeSystem:
    return FakeSystem(
        programs={"rustup": RUSTUP},
        env={"PATH": "/root/.cargo/bin:/usr/bin", "HOME": "/home/new"},
        **kw,  # type: ignore[arg-type]
    )


def test_without_a_home_rustup_answers_are_known_and_it_is_not_run() -> None:
    system = homeless()
    listed = ru.probe_rustup(system, RUSTUP, "toolchain", "list")
    assert (listed.ok, listed.stdout) == (True, "no installed toolchains\n")
    assert ru.parse_toolchain_list(listed.stdout) == []
    assert ru.probe_rustup(system, RUSTUP, "override", "list").stdout == "no overrides\n"
    which = ru.probe_rustup(system, RUSTUP, "which", "rustc", "--toolchain", "nightly")
    assert not which.ok and "toolchain 'nightly' is not installed" in which.stderr
    assert not ru.probe_rustup(system, RUSTUP, "show", "active-toolchain").ok
    assert ru.installed_components(system, RUSTUP, "nightly") is None
    assert system.calls == []  # strict: nothing was asked


def test_without_a_home_rustups_version_is_asked_where_no_home_can_be_made() -> None:
    system = homeless(commands={f"{RUSTUP} --version": HOMELESS_VERSION})
    assert ru.rustup_env(system, ("--version",)) == {**PROBE_ENV, "RUSTUP_HOME": NO_HOME}
    assert ru.rustup_version(system, RUSTUP) == ("1.29.0", None)
    assert NO_HOME.startswith("/proc/")


def test_with_a_home_rustup_is_asked_as_before() -> None:
    system = homeless(
        dirs={"/home/new/.rustup": []},
        commands={f"{RUSTUP} toolchain list": "stable-x86_64-unknown-linux-gnu (default)\n"},
    )
    assert ru.probe_rustup(system, RUSTUP, "toolchain", "list").stdout.startswith("stable")
    assert ru.rustup_env(system, ("--version",)) == PROBE_ENV


def test_rustup_home_is_rustup_home_when_set() -> None:
    system = homeless(dirs={"/opt/rustup": []})
    system.env = {**system.env, "RUSTUP_HOME": "/opt/rustup"}
    assert ru.has_home(system)


def test_the_prefetch_asks_what_the_facts_ask_without_a_home() -> None:
    system = homeless()
    asks = likely_rust_probes(make_context(), system)
    versions = [a for a in asks if a.argv == (RUSTUP, "--version")]
    assert [a.env for a in versions] == [{**PROBE_ENV, "RUSTUP_HOME": NO_HOME}]
    assert not any(a.argv[1:3] == ("toolchain", "list") for a in asks)


def test_bindgen_is_kept_off_rustups_rustfmt_proxy_without_a_home() -> None:
    system = homeless()
    system.programs.update(rustfmt=SHIM_RUSTFMT, bindgen="/usr/bin/bindgen")
    system.programs[SHIM_RUSTFMT] = SHIM_RUSTFMT
    system.programs["/usr/bin/rustfmt"] = "/usr/bin/rustfmt"
    assert ru.rustfmt_for_tools(system) == {"RUSTFMT": "/usr/bin/rustfmt"}
    _version, translate = BindgenCheck()._requests(make_context(), system, "/usr/bin/bindgen")
    assert translate.env == {"RUSTFMT": "/usr/bin/rustfmt"}
    del system.programs["/usr/bin/rustfmt"]
    assert ru.rustfmt_for_tools(system) == {"RUSTFMT": f"{NO_HOME}/rustfmt"}
    system.dirs["/home/new/.rustup"] = []
    assert ru.rustfmt_for_tools(system) == {}


# -- the real machine -------------------------------------------------------------------------
def _state(root: Path) -> dict[str, tuple[int, bytes]]:
    """relative path -> (mode, content or link target) of everything under ``root``."""
    state: dict[str, tuple[int, bytes]] = {}
    for directory, dirs, names in os.walk(root):
        for name in dirs + names:
            path = Path(directory) / name
            info = path.lstat()
            data = os.readlink(path).encode() if path.is_symlink() else b""
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
            state[str(path.relative_to(root))] = (info.st_mode, data)
    return state


@pytest.mark.integration
@pytest.mark.parametrize(
    "command",
    [("check",), ("check", "--json"), ("fix", "--dry-run"), ("fix", "--dry-run", "--json")],
    ids=["check", "check-json", "dry-run", "dry-run-json"],
)
def test_check_and_dry_run_leave_a_fresh_home_byte_identical(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """With rustup on PATH and a HOME it has never seen (no ~/.rustup), every file of HOME,
    its content and mode, is the same afterwards (the cache, where check may keep probe
    answers, is outside HOME here; fix --dry-run keeps nothing anywhere)."""
    if shutil.which("rustup") is None:
        cannot_run("needs rustup on PATH (a fresh HOME would make it write ~/.rustup)")
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine\n")
    (home / ".config").mkdir()
    home.chmod(0o755)
    cache = tmp_path / "cache"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "NO_COLOR": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    if command[0] == "check":
        env["KDOCTOR_CACHE"] = str(cache)
    before = _state(home)
    done = subprocess.run(
        [sys.executable, "-m", "kdoctor", *command],
        env=env,
        cwd=str(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode in (0, 1, 5), done.stderr.decode(errors="replace")
    assert b"Traceback" not in done.stderr
    assert _state(home) == before
    assert not (home / ".rustup").exists()
    if command[0] == "fix":
        assert not cache.exists()
