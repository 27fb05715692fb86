"""The clang and bindgen checks against fake tools run by the REAL Runner (real processes)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Optional

import pytest

from kdoctor.checks import bindgen as bindgen_check
from kdoctor.checks.bindgen import BindgenCheck
from kdoctor.checks.clang import ClangCheck
from kdoctor.facts import bindgen as bindgen_facts
from kdoctor.machine.runner import Runner
from kdoctor.machine.system import DEFAULT_TIMEOUT, Probe
from kdoctor.model.finding import Finding, Status
from kdoctor.pipeline.planner import fix_of
from tests.conftest import make_context, run_check, tool

#: how long a hung fake tool sleeps: far longer than any timeout used here
HANG = "exec /bin/sleep 60\n"


def runner_for(bin_dir: Path) -> Runner:
    # only the fake tools are on PATH: the machine's real clang and bindgen stay invisible
    return Runner(env={"PATH": str(bin_dir), "HOME": str(bin_dir.parent)})


class QuickRunner(Runner):
    """The real Runner with every probe's timeout capped, so a hung tool costs a second."""

    cap = 1.0

    def probe(
        self,
        argv: Sequence[str],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
    ) -> Probe:
        return super().probe(argv, timeout=min(timeout, self.cap), cwd=cwd, env=env)


def is_running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def clang(runner: Runner, **ctx: object) -> Finding:
    return run_check(ClangCheck(), make_context(**ctx), runner)


def bindgen(runner: Runner, **ctx: object) -> Finding:
    return run_check(BindgenCheck(), make_context(**ctx), runner)


# -- clang ---------------------------------------------------------------------------------


def test_fake_good_clang_passes(bin_dir: Path) -> None:
    path = tool(bin_dir, "clang", 'echo "Debian clang version 14.0.6"\necho "Target: x86_64"\n')
    finding = clang(runner_for(bin_dir))
    assert finding.status is Status.OK
    assert finding.found == f"14.0.6 ({path})"


def test_clang_with_garbled_version_output(bin_dir: Path) -> None:
    path = tool(bin_dir, "clang", "printf '\\001\\002garbage\\n'\n")
    finding = clang(runner_for(bin_dir))
    assert finding.status is Status.FAIL
    assert finding.summary == f"{path}: unrecognised --version output"
    assert fix_of(finding) == "packages"


def test_clang_exiting_non_zero(bin_dir: Path) -> None:
    path = tool(
        bin_dir, "clang", 'echo "clang: error: unable to execute command: Killed" >&2\nexit 3\n'
    )
    finding = clang(runner_for(bin_dir))
    assert finding.status is Status.FAIL
    assert finding.summary == (
        f"{path}: {path} exited with status 3: clang: error: unable to execute command: Killed"
    )


def test_hung_clang_returns_quickly_with_a_clear_message(bin_dir: Path) -> None:
    pid_file = bin_dir.parent / "pid"
    path = tool(bin_dir, "clang", f"echo $$ > {pid_file}\n{HANG}")
    started = time.monotonic()
    finding = clang(QuickRunner(env={"PATH": str(bin_dir)}))
    elapsed = time.monotonic() - started
    assert elapsed < 30  # cut short: not the 60 s it hangs
    assert finding.status is Status.FAIL
    assert finding.summary == f"{path}: {path} did not answer within 1 s (killed)"
    assert not is_running(int(pid_file.read_text()))


def test_missing_clang(bin_dir: Path) -> None:
    finding = clang(runner_for(bin_dir))
    assert finding.status is Status.FAIL
    assert finding.summary == "clang (default) is not installed"
    assert fix_of(finding) == "packages"


def test_broken_clang_with_a_good_versioned_one_next_to_it(bin_dir: Path) -> None:
    tool(bin_dir, "clang", "exit 1\n")
    good = tool(bin_dir, "clang-18", 'echo "Ubuntu clang version 18.1.3 (1ubuntu1)"\n')
    finding = clang(runner_for(bin_dir))
    assert finding.status is Status.FAIL
    assert fix_of(finding) == "settings"
    assert finding.facts["candidate"] == good


# -- bindgen -------------------------------------------------------------------------------

# answers like bindgen only when handed the real probe header: proves the path kdoctor passes
TRANSLATES = (
    "/bin/grep -q 'struct kdoctor_probe' \"$1\" || exit 1\n"
    'echo "pub struct kdoctor_probe { pub x: ::std::os::raw::c_int }"\n'
)


def fake_bindgen(bin_dir: Path, version: str, load: str) -> str:
    return tool(
        bin_dir,
        "bindgen",
        f'if [ "$1" = "--version" ]; then\n{version}\nexit 0\nfi\n{load}',
    )


def test_fake_good_bindgen_passes(bin_dir: Path) -> None:
    path = fake_bindgen(bin_dir, 'echo "bindgen 0.60.1"', TRANSLATES)
    finding = bindgen(runner_for(bin_dir))
    assert finding.status is Status.OK
    assert finding.summary == "bindgen 0.60.1 loads libclang and translates a C header"
    assert finding.facts["path"] == path
    assert finding.facts["libclang_loaded"] is True


def test_bindgen_from_the_bindgen_variable(bin_dir: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "opt"
    elsewhere.mkdir()
    path = fake_bindgen(elsewhere, 'echo "bindgen 0.71.1"', TRANSLATES)
    finding = bindgen(runner_for(bin_dir), env={"BINDGEN": path})
    assert finding.status is Status.OK
    assert finding.facts["source"] == "BINDGEN"
    assert finding.facts["version"] == "0.71.1"


def test_bindgen_with_garbled_version_output(bin_dir: Path) -> None:
    fake_bindgen(bin_dir, "printf '\\001\\002garbage\\n'", TRANSLATES)
    finding = bindgen(runner_for(bin_dir))
    assert finding.status is Status.WARN
    assert finding.summary == (
        "bindgen loads libclang, but its --version output is unrecognised: '\\x01\\x02garbage'"
    )
    assert finding.facts["libclang_loaded"] is True


def test_bindgen_exiting_non_zero(bin_dir: Path) -> None:
    path = fake_bindgen(
        bin_dir, 'echo "bindgen 0.60.1"', 'echo "error: unexpected argument" >&2\nexit 2\n'
    )
    finding = bindgen(runner_for(bin_dir))
    assert finding.status is Status.FAIL
    assert finding.summary == (
        f"bindgen failed on a one-line header: {path} exited with status 2: "
        "error: unexpected argument"
    )
    assert fix_of(finding) is None
    assert finding.facts["libclang_loaded"] is False


def test_bindgen_that_cannot_load_libclang(bin_dir: Path) -> None:
    panic = (
        "echo \"thread 'main' panicked at 'Unable to find libclang: \\\"couldn't find any valid "
        "shared libraries matching: ['libclang.so']\\\"', src/lib.rs:2172:31\" >&2\nexit 101\n"
    )
    fake_bindgen(bin_dir, 'echo "bindgen 0.60.1"', panic)
    finding = bindgen(runner_for(bin_dir))
    assert finding.status is Status.FAIL
    assert finding.summary == (
        "bindgen cannot load libclang: Unable to find libclang: \"couldn't find any valid "
        "shared libraries matching: ['libclang.so']\"', src/lib.rs:2172:31"
    )
    assert fix_of(finding) == "packages"
    assert finding.facts["missing"] == ["libclang"]


def test_hung_bindgen_probe_returns_quickly_with_a_clear_message(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bindgen_check, "TIMEOUT", 1.0)
    pid_file = bin_dir.parent / "pid"
    fake_bindgen(bin_dir, 'echo "bindgen 0.60.1"', f"echo $$ > {pid_file}\n{HANG}")
    started = time.monotonic()
    finding = bindgen(runner_for(bin_dir))
    elapsed = time.monotonic() - started
    assert elapsed < 30  # cut short: not the 60 s it hangs
    assert finding.status is Status.FAIL
    assert finding.summary == (
        "bindgen hung while loading libclang for a one-line header: no answer within 1 s (killed)"
    )
    assert finding.facts["libclang_loaded"] is False
    assert not is_running(int(pid_file.read_text()))


def test_hung_bindgen_version_returns_quickly(
    bin_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bindgen_facts, "VERSION_TIMEOUT", 1.0)
    tool(bin_dir, "bindgen", HANG)
    started = time.monotonic()
    finding = bindgen(runner_for(bin_dir))
    assert time.monotonic() - started < 30  # cut short: not the 60 s it hangs
    assert finding.status is Status.FAIL
    assert finding.summary == "bindgen hung for --version: no answer within 1 s (killed)"


def test_missing_bindgen(bin_dir: Path) -> None:
    finding = bindgen(runner_for(bin_dir), is_root=False)
    assert finding.status is Status.FAIL
    assert finding.summary == "bindgen is not installed"
    assert fix_of(finding) == "packages"
    assert finding.remediation is not None
    assert finding.remediation.commands == (
        "sudo apt-get install -y --no-install-recommends bindgen",
    )


def test_bindgen_not_executable(bin_dir: Path) -> None:
    path = bin_dir / "bindgen"
    path.write_text("#!/bin/sh\necho bindgen 0.60.1\n")
    path.chmod(0o644)  # on PATH but not executable: the shell would not run it either
    finding = bindgen(runner_for(bin_dir))
    assert finding.status is Status.FAIL
    assert finding.summary == "bindgen is not installed"
