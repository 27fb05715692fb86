"""What `-h` shows and what the shell completes: choices listed, bad choices refused with the
valid ones named, an example or two per command (whole on their lines at 80 columns), help
readable at 20, 80 and 120 columns, and check ids and directories completed.

Nothing here depends on Typer's own way of showing a flag (0.29 writes ``<bool>``, 0.28
nothing): the tests read choices, option names and example lines only."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from kdoctor.checks.base import all_checks
from kdoctor.cli.completion import complete_directories
from kdoctor.cli.help_text import EXAMPLES, NARROW_COLUMNS
from tests.test_cli_fix import fake, invoke  # noqa: F401  (the fixture, by name)
from tests.test_provision import STOCK

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = ["check", "fix", "build", "verify", "list", "report", "fetch-image"]


def run(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "kdoctor", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**base, **env},
        stdin=subprocess.DEVNULL,
    )


def flat(text: str) -> str:
    """The text without Rich's box drawing, its whitespace collapsed."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", text).split())


@pytest.mark.parametrize(
    ("args", "choices"),
    [
        (["check", "-h"], "auto|pin|distro"),
        (["build", "-h"], "auto|pin|distro"),
        (["fix", "-h"], "auto|pin|distro"),
        (["fix", "-h"], "rewrite|touch"),
        (["verify", "-h"], "auto|kvm|tcg"),
    ],
)
def test_help_lists_the_choices(args: list[str], choices: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 0 and choices in result.stdout


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["check", "--rust", "sideways"], "'sideways' is not one of 'auto', 'pin', 'distro'"),
        (["build", "--rust", "sideways"], "'sideways' is not one of 'auto', 'pin', 'distro'"),
        (["fix", "--kbuild-fix", "sideways"], "'sideways' is not one of 'rewrite', 'touch'"),
        (["verify", "--accel", "hvf"], "'hvf' is not one of 'auto', 'kvm', 'tcg'"),
    ],
)
def test_a_bad_choice_is_a_usage_error_naming_the_valid_ones(
    args: list[str], complaint: str
) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert complaint in flat(result.stdout + result.stderr)


@pytest.mark.usefixtures("fake")
def test_choices_arrive_as_their_values(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kdoctor.model.choice import Accel
    from kdoctor.pipeline import provision as pipeline
    from kdoctor.pipeline.verify.result import VerifyResult

    seen: list[object] = []

    def verify(*_: object, accel: object, **__: object) -> VerifyResult:
        seen.append(accel)
        return VerifyResult("vm", True, "ok", STOCK, "helloworld")

    monkeypatch.setattr(pipeline, "verify_module", verify)
    monkeypatch.setenv("KDOCTOR_CACHE", str(tmp_path / "cache"))
    result = invoke("verify", "--accel", "tcg", "--ko", __file__, "--vm", "--kernel", STOCK)
    assert result.exit_code == 0, result.output
    assert seen == ["tcg"] and type(seen[0]) is str and Accel(seen[0]) is Accel.TCG


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_examples_that_parse(command: str) -> None:
    examples = EXAMPLES[command]
    assert examples
    for line, _ in examples:
        words = shlex.split(line)
        assert words[:2] == ["kdoctor", command]
        result = invoke(*words[1:], "--help")  # options are parsed; --help stops before running
        assert result.exit_code == 0, (line, result.output)
    ids = {c.id for c in all_checks()}
    for line, _ in EXAMPLES["check"]:
        assert {w for w in shlex.split(line)[2:] if not w.startswith("-")} <= ids


@pytest.mark.parametrize("columns", [20, 80, 120])
@pytest.mark.parametrize("command", COMMANDS)
def test_help_at_any_width_cuts_nothing_and_keeps_examples_whole(
    command: str, columns: int
) -> None:
    proc = run(command, "-h", env={"COLUMNS": str(columns), "TERM": "dumb"})
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout
    assert "Usage: kdoctor" in shown and "Traceback" not in proc.stderr
    assert "…" not in shown  # Rich cuts a cell short with an ellipsis
    lines = shown.splitlines()
    for line, what in EXAMPLES[command]:
        # each example is one line, whole: the command and what it does
        assert any(line in text and f"# {what}" in text for text in lines), (line, shown)
    for option in re.findall(r"--[a-z][a-z-]+", flat(shown)):
        assert option in shown  # an option's name is never broken
    if columns >= NARROW_COLUMNS:
        assert max(len(text) for text in lines) <= columns
        assert "╭─ Options" in shown
    else:  # Click's plain help: every option on a line of its own, nothing cut
        assert "Options:" in shown and "╭" not in shown


def test_examples_fit_an_80_column_help() -> None:
    from kdoctor.cli.help_text import helps

    for command in COMMANDS:
        text = helps(plain=False)[command]
        example_lines = text.split("Examples:\n", 1)[1].splitlines()
        assert len(example_lines) == len(EXAMPLES[command])
        assert all(len(line) <= 76 for line in example_lines)


def complete(words: str, *, cwd: Path = ROOT) -> list[str]:
    """What bash gets when it asks for the last of ``words`` (the completion env protocol)."""
    parts = words.split(" ")
    env = {"_KDOCTOR_COMPLETE": "complete_bash", "COMP_WORDS": words}
    proc = run(env={**env, "COMP_CWORD": str(len(parts) - 1)}, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_check_ids_complete_and_those_given_are_not_offered_again() -> None:
    assert complete("kdoctor check rust") == ["rust-for-linux", "rustup", "rust-src", "rustfmt"]
    assert complete("kdoctor check rustup rust") == ["rust-for-linux", "rust-src", "rustfmt"]
    assert complete("kdoctor check ") == [c.id for c in all_checks()]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("kdoctor fix --rust ", ["auto", "pin", "distro"]),
        ("kdoctor fix --kbuild-fix ", ["rewrite", "touch"]),
        ("kdoctor verify --accel ", ["auto", "kvm", "tcg"]),
    ],
)
def test_choices_complete(words: str, expected: list[str]) -> None:
    assert complete(words) == expected


def test_module_dir_completes_directories_only(tmp_path: Path) -> None:
    (tmp_path / "mod-a").mkdir()
    (tmp_path / "mod-b").mkdir()
    (tmp_path / "mod-c.txt").write_text("")
    (tmp_path / ".mod-hidden").mkdir()
    assert complete("kdoctor build --module-dir mod", cwd=tmp_path) == ["mod-a", "mod-b"]
    assert complete("kdoctor check --module-dir .mod", cwd=tmp_path) == [".mod-hidden"]


def test_directory_completion_takes_glob_characters_literally(tmp_path: Path) -> None:
    (tmp_path / "a[1]").mkdir()
    (tmp_path / "a1").mkdir()
    assert complete_directories(f"{tmp_path}/a[") == [f"{tmp_path}/a[1]"]
    assert complete_directories(f"{tmp_path}/a") == [f"{tmp_path}/a1", f"{tmp_path}/a[1]"]
