"""onboard.sh itself, with a stand-in virtual environment: help that installs nothing, plain
output when piped, and the ``kdoctor`` command linked onto the user's PATH."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ONBOARD = ROOT / "onboard.sh"


def fake_venv(venv: Path, log: Path) -> None:
    """A venv whose python accepts anything (pip install included) and whose kdoctor logs."""
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text("#!/bin/sh\nexit 0\n")
    kdoctor = venv / "bin" / "kdoctor"
    kdoctor.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\necho "kdoctor $*"\n')
    for tool in (python, kdoctor):
        tool.chmod(0o755)


def onboard(tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp / "home"),
        "KDOCTOR_VENV": str(tmp / "venv"),
        "TERM": "xterm",
    }
    return subprocess.run(
        ["bash", str(ONBOARD), *args],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_installs_nothing_and_is_fast(tmp_path: Path, flag: str) -> None:
    started = time.monotonic()
    proc = onboard(tmp_path, flag)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 30  # nothing installed: an install takes minutes
    assert "./onboard.sh [kdoctor fix options...]" in proc.stdout
    assert "KDOCTOR_LINK_DIR" in proc.stdout
    assert "kdoctor fix" in proc.stdout
    assert not (tmp_path / "venv").exists()
    assert not (tmp_path / "home").exists()


def test_help_lists_the_fix_options_once_kdoctor_is_installed(tmp_path: Path) -> None:
    fake_venv(tmp_path / "venv", tmp_path / "calls")
    proc = onboard(tmp_path, "--help")
    assert proc.returncode == 0
    assert (tmp_path / "calls").read_text().split() == ["fix", "--help"]


def test_piped_output_has_no_escape_codes_and_links_kdoctor(tmp_path: Path) -> None:
    fake_venv(tmp_path / "venv", tmp_path / "calls")
    links = tmp_path / "home" / ".local" / "bin"
    proc = onboard(tmp_path, "--rust", "distro")
    assert proc.returncode == 0, proc.stderr
    assert "\033" not in proc.stdout + proc.stderr
    assert "==> kdoctor fix --yes --rust distro" in proc.stdout
    assert (tmp_path / "calls").read_text().split() == ["fix", "--yes", "--rust", "distro"]
    link = links / "kdoctor"
    assert link.is_symlink() and os.readlink(link) == str(tmp_path / "venv" / "bin" / "kdoctor")
    assert f"(undo: rm {link})" in proc.stdout
    assert f"{links} is not on your PATH" in proc.stdout
    again = onboard(tmp_path, "--rust", "distro")
    assert "linked" not in again.stdout  # a rerun changes nothing


def test_a_file_of_the_user_s_own_is_never_replaced_by_the_link(tmp_path: Path) -> None:
    fake_venv(tmp_path / "venv", tmp_path / "calls")
    links = tmp_path / "home" / ".local" / "bin"
    links.mkdir(parents=True)
    mine = links / "kdoctor"
    mine.write_text("#!/bin/sh\necho mine\n")
    proc = onboard(tmp_path)
    assert proc.returncode == 0
    assert mine.read_text() == "#!/bin/sh\necho mine\n"
    assert "exists and is not a link; left alone" in proc.stdout


def test_an_empty_link_dir_means_no_link(tmp_path: Path) -> None:
    fake_venv(tmp_path / "venv", tmp_path / "calls")
    proc = onboard(tmp_path, KDOCTOR_LINK_DIR="")
    assert proc.returncode == 0
    assert not (tmp_path / "home" / ".local").exists()


def test_the_timeline_has_each_step_of_the_onboarding(tmp_path: Path) -> None:
    import json

    fake_venv(tmp_path / "venv", tmp_path / "calls")
    timeline = tmp_path / "timeline.jsonl"
    proc = onboard(tmp_path, KDOCTOR_TIMELINE=str(timeline), KDOCTOR_LINK_DIR="")
    assert proc.returncode == 0, proc.stderr
    spans = [json.loads(line) for line in timeline.read_text().splitlines()]
    names = [s["what"] for s in spans]
    assert "onboard: pip install kdoctor" in names
    assert names[-2:] == ["onboard: kdoctor fix --yes", "onboard: everything"]
    assert all(float(s["start"]) <= float(s["end"]) for s in spans)


def test_without_a_timeline_nothing_is_written(tmp_path: Path) -> None:
    fake_venv(tmp_path / "venv", tmp_path / "calls")
    proc = onboard(tmp_path, KDOCTOR_LINK_DIR="")
    assert proc.returncode == 0, proc.stderr
    assert not list(tmp_path.glob("**/*.jsonl"))


@pytest.mark.parametrize(
    ("args", "env"), [(("--rust", "distro"), {"LANG": "es_ES.UTF-8"}), (("--lang", "es"), {})]
)
def test_onboard_speaks_the_persons_language(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str]
) -> None:
    """Its own words come from kdoctor's catalogs (LANG, or --lang, which kdoctor fix gets too)."""
    fake_venv(tmp_path / "venv", tmp_path / "calls")
    proc = onboard(tmp_path, *args, **env)
    assert proc.returncode == 0, proc.stderr
    links = tmp_path / "home" / ".local" / "bin"
    assert f"(para deshacerlo: rm {links / 'kdoctor'})" in proc.stdout
    assert f"{links} no está en su PATH" in proc.stdout
    assert "listo: el módulo está compilado y verificado" in proc.stdout
    assert "linked" not in proc.stdout and "onboard_words" not in proc.stderr
    assert (tmp_path / "calls").read_text().split() == ["fix", "--yes", *args]


def test_every_word_of_the_script_is_a_known_message() -> None:
    """A key the script asks for that the words module lacks would print the bare key."""
    from kdoctor.onboard_words import MESSAGES

    asked = set(re.findall(r"\bwords ([a-z-]+)", ONBOARD.read_text()))
    assert asked and asked <= set(MESSAGES), asked - set(MESSAGES)
    assert set(MESSAGES) <= asked, "a message no line of onboard.sh says"


@pytest.mark.parametrize("old_install", [True, False])
def test_a_venv_holding_the_old_distribution_name_has_it_removed_before_installing(
    tmp_path: Path, old_install: bool
) -> None:
    """kdoctor's distribution is kdoctor-rust (`kdoctor` on the package index is another
    project): a venv from before the rename holds `kdoctor`, uninstalled before the install so
    that no two distributions own the same files; a venv without it is left alone."""
    fake_venv(tmp_path / "venv", tmp_path / "calls")
    pips = tmp_path / "pip-calls"
    shown = 0 if old_install else 1
    (tmp_path / "venv" / "bin" / "python").write_text(
        f'#!/bin/sh\necho "$@" >> "{pips}"\n[ "$3" = show ] && exit {shown}\nexit 0\n'
    )
    proc = onboard(tmp_path, KDOCTOR_LINK_DIR="")
    assert proc.returncode == 0, proc.stderr
    calls = [line.split() for line in pips.read_text().splitlines()]
    installs = [c for c in calls if c[2] == "install"]
    assert installs and installs[0][-1] == str(ROOT)
    uninstalls = [i for i, c in enumerate(calls) if c[2] == "uninstall"]
    if old_install:
        assert [calls[i][-1] for i in uninstalls] == ["kdoctor"]
        assert uninstalls[0] < calls.index(installs[0])
    else:
        assert uninstalls == []
