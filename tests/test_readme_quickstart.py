"""The README's promises about the command line: on a fresh machine one command runs the main
job and one passes the tests; `pipx install .` installs the command; every option the README's
Commands section names exists."""

from __future__ import annotations

import os
import re
from pathlib import Path

from tests.test_cli_fix import invoke

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def code_commands(text: str) -> list[str]:
    """The commands of the first ```sh block (comments dropped)."""
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.strip()]


def test_one_command_runs_the_main_job_and_one_passes_the_tests() -> None:
    assert code_commands(section("On a fresh machine")) == ["./onboard.sh"]
    assert code_commands(section("Run the tests")) == ["sudo scripts/test.sh"]
    for script in ("onboard.sh", "scripts/test.sh"):
        assert os.access(ROOT / script, os.X_OK), script


def test_pipx_install_gives_the_kdoctor_command() -> None:
    assert "`pipx install .`" in section("On a fresh machine")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '[project.scripts]\nkdoctor = "kdoctor.__main__:run"' in pyproject


def test_every_option_the_commands_section_names_exists() -> None:
    helps = "".join(
        invoke(*args, "--help").stdout
        for args in (
            [],
            ["check"],
            ["fix"],
            ["build"],
            ["verify"],
            ["list"],
            ["report"],
            ["test"],
            ["cache", "clean"],
        )
    )
    options = section("Commands").split("\n### The checks", 1)[0]  # before the checks table
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*[a-z]", options))
    assert {"--console", "--accel", "--kbuild-fix", "--fresh", "--install-completion"} <= named
    assert {option for option in named if option not in helps} == set()
