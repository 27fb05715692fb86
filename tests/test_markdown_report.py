"""``kdoctor report``: the Markdown document to paste when asking for help. Its sections come
from the same diagnosis and plan as ``check`` and ``fix --dry-run``; it changes nothing; the
person's home directory and user name never appear in it."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kdoctor.checks import base as registry
from kdoctor.cli import options
from kdoctor.cli.app import app
from kdoctor.cli.errors import guarded
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.report import EXIT_FILES
from kdoctor.pipeline.last_build import TAIL_LINES, last_build
from kdoctor.render.markdown_report import Placeholders, fenced, placeholders, printable
from kdoctor.render.words import STATUS_WORDS
from tests.conftest import make_context
from tests.fake_system import FakeSystem
from tests.i18n_support import whole
from tests.test_cli_fix import invoke
from tests.test_provision import APT, STOCK, Factory, machine

#: a name no real path or tool output holds: wherever it shows, the report leaked it
TOKEN = "qzxkdoctortoken"
USER = f"{TOKEN}user"


def log_lines(home: str, count: int) -> list[str]:
    """A failed build's log: ``count`` lines under ``home``, one of them the error."""
    lines = [f"  CC [M]  {home}/mod/part{i}.o" for i in range(count)]
    lines[count // 2] = "error[E0425]: cannot find value `x` in this scope"
    lines[count // 2 + 1] = f" --> {home}/mod/src/lib.rs:3:5"
    return lines


# -- the pieces ------------------------------------------------------------------------------
def test_the_home_directory_and_the_user_name_become_placeholders() -> None:
    hide = placeholders({"HOME": "/home/alice/", "USER": "alice", "LOGNAME": "alice"})
    said = hide.apply("/home/alice/x, /home/alice, /home/alicex/y, alice's /srv/alice-data")
    assert said == "~/x, ~, /home/<user>x/y, <user>'s /srv/<user>-data"
    assert "alice" not in said


def test_a_short_name_is_replaced_only_as_a_word_and_root_is_kept() -> None:
    hide = placeholders({"HOME": "/root", "USER": "root", "SUDO_USER": "al"})
    assert hide == Placeholders(homes=("/root",), names=("al",))
    assert hide.apply("al ran /root/x as root; also, a total") == (
        "<user> ran ~/x as root; also, a total"
    )


def test_a_name_known_otherwise_is_replaced_too() -> None:
    hide = placeholders({"HOME": "/srv/b"}, ["/data/b"], ["bob", "root"])
    assert hide == Placeholders(homes=("/data/b", "/srv/b"), names=("bob",))
    assert hide.apply("/data/b/x by bob") == "~/x by <user>"


def test_terminal_escapes_and_control_bytes_are_left_out() -> None:
    said = printable("\x1b[1;31merror\x1b[0m: x\r\n\tat y\x07\x1b]0;t\x07\n")
    assert said == "error: x\n\tat y\n"


def test_a_home_of_slash_is_not_replaced() -> None:
    assert placeholders({"HOME": "/"}).apply("/usr/bin/make") == "/usr/bin/make"


def test_a_fence_outlasts_the_backticks_it_holds() -> None:
    assert fenced("a\n", "sh") == "```sh\na\n```"
    assert fenced("x ```` y") == "`````\nx ```` y\n`````"


def test_the_last_build_is_the_newest_log_its_cause_and_a_bounded_tail() -> None:
    ctx = make_context(cache_dir="/c")
    lines = log_lines("/h", 100)
    fake = FakeSystem(
        dirs={"/c/logs": ["build-20260101-000000-1.log", "build-20260102-000000-7.log", "x.log"]},
        files={
            "/c/logs/build-20260101-000000-1.log": "old\n",
            "/c/logs/build-20260102-000000-7.log": "\n".join(lines) + "\n",
            "/c/logs/x.log": "not a build\n",
        },
    )
    found = last_build(ctx, fake)
    assert found is not None
    assert found.log_path == "/c/logs/build-20260102-000000-7.log"
    assert found.cause == "error[E0425]: cannot find value `x` in this scope"
    assert found.tail == tuple(lines[-TAIL_LINES:])


def test_no_build_log_no_last_build() -> None:
    assert last_build(make_context(cache_dir="/c"), FakeSystem()) is None


# -- the command, on fake machines -----------------------------------------------------------
def fake_home(tmp_path: Path) -> Path:
    return tmp_path / f"home-{TOKEN}"


def bare(home: Path) -> FakeSystem:
    """A bare machine whose person is ``USER`` at ``home``, with a failed build's log."""
    logs = str(home / "cache" / "logs")
    log = os.path.join(logs, "build-20260101-120000-42.log")
    system = machine(
        home,
        programs=APT,
        files={log: "\n".join(log_lines(str(home), 60)) + "\n"},
        dirs={logs: [os.path.basename(log)]},
    )
    system.env = {**system.env, "USER": USER}
    return system


@pytest.fixture
def systems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[FakeSystem]:
    made = [bare(fake_home(tmp_path)) for _ in range(2)]
    monkeypatch.setattr(options, "system_factory", Factory(*made))
    return list(made)


def sections(text: str) -> dict[str, str]:
    """Each ``## `` section's body by its heading."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts), 2)}


def test_the_report_has_every_check_the_plan_fix_would_apply_and_changes_nothing(
    systems: list[FakeSystem],
) -> None:
    made = invoke("report", "--kernel", STOCK)
    assert made.exit_code == 0, made.output
    text = made.stdout
    assert text.startswith("# kdoctor report\n")
    found = sections(text)
    assert list(found) == [
        "System",
        "Kernels",
        "Module",
        "Toolchain",
        "Checks",
        "Problems",
        "Last build",
        "Plan (`kdoctor fix --dry-run`)",
    ]
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| (\w+) \|", found["Checks"], flags=re.M))
    assert list(rows) == [c.id for c in registry.all_checks()]
    dry = invoke("fix", "--dry-run", "--json", "--kernel", STOCK)  # the same machine, again
    data = json.loads(dry.stdout)
    assert rows == {c["id"]: STATUS_WORDS_OF[c["status"]] for c in data["before"]["checks"]}
    assert data["plan"]["steps"], "a bare machine gets a plan"
    plan = found["Plan (`kdoctor fix --dry-run`)"]
    assert f"plan digest: `{data['plan_digest']}`" in plan
    hide = placeholders(systems[0].env)
    for step in data["plan"]["steps"]:
        assert hide.apply(step["why"]) in plan
    for check in data["before"]["checks"]:
        if check["status"] in ("fail", "warn", "error"):
            assert f"### `{check['id']}`" in found["Problems"]
            assert f"docs: README.md#check-{check['id']}" in found["Problems"]
    assert "error[E0425]: cannot find value" in found["Last build"]
    assert all(s.runs == [] and s.writes == [] for s in systems), "a report changes nothing"
    assert TOKEN not in text
    assert "~/cache/logs/build-20260101-120000-42.log" in found["Last build"]


STATUS_WORDS_OF = {status.value: word for status, word in STATUS_WORDS.items()}


@pytest.mark.usefixtures("pseudo")
def test_every_heading_and_label_is_translated(systems: list[FakeSystem]) -> None:
    """In another language (the pseudo-locale brackets each message), the report's headings,
    labels and column names are that language's: each went through the catalogs."""
    text = invoke("report", "--kernel", STOCK).stdout
    headings = re.findall(r"^#{1,2} (.+)$", text, flags=re.M)
    assert len(headings) == 9 and all(whole(h) for h in headings), headings
    problems = re.findall(r"^### `[a-z-]+`: (.+)$", text, flags=re.M)
    assert problems and all(whole(p) for p in problems)
    items = re.findall(r"^- (.+)$", text, flags=re.M)  # a label and its value, or a sentence
    said = [i for i in items if not (whole(i) or whole(i.split(": ", 1)[0]))]
    assert items and said == []
    columns = re.findall(r"^\| (.+) \|$", text, flags=re.M)[0].split(" | ")
    assert all(whole(c) for c in columns), columns


def test_output_writes_the_report_to_the_file_and_nothing_else(
    systems: list[FakeSystem], tmp_path: Path
) -> None:
    target = str(tmp_path / "report.md")
    made = invoke("report", "--kernel", STOCK, "--output", target)
    assert made.exit_code == 0, made.output
    assert made.stdout == ""
    assert f"report written to {target}" in made.stderr
    assert systems[0].writes == [(target, "write")]
    written = systems[0].files[target]
    assert isinstance(written, str) and written.startswith("# kdoctor report\n")
    assert TOKEN not in written


def test_output_to_a_place_it_cannot_write_is_a_files_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = "/ro/report.md"
    system = bare(fake_home(tmp_path))
    system.write_errors = {"/ro": errno.EROFS}
    monkeypatch.setattr(options, "system_factory", Factory(system))
    argv = ["report", "--kernel", STOCK, "--output", target]
    with pytest.raises(SystemExit) as ended:
        guarded(lambda: app(argv, prog_name="kdoctor"))
    assert ended.value.code == EXIT_FILES
    assert f"cannot write {target}" in capsys.readouterr().err


# -- the command, on this machine ------------------------------------------------------------
@pytest.mark.integration
def test_the_real_report_never_names_the_home_directory_or_the_user(tmp_path: Path) -> None:
    """A person whose home and name are one unlikely word, with their own module (in paths the
    findings name), cache and failed build: the report names neither, anywhere."""
    home = fake_home(tmp_path) / USER
    module = home / "src" / f"{USER}-module"
    shutil.copytree(
        bundled_module_dir(),
        module,
        ignore=shutil.ignore_patterns("*.o", "*.ko", "*.a", ".*.cmd", "target", "*.mod*"),
    )
    logs = home / ".cache" / "kdoctor" / "logs"
    logs.mkdir(parents=True)
    lines = log_lines(str(module), 90)
    (logs / "build-20260101-120000-42.log").write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("KDOCTOR_CACHE", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), USER=USER, LOGNAME=USER, NO_COLOR="1")
    run = subprocess.run(
        [sys.executable, "-m", "kdoctor", "report", "--module-dir", str(module)],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=300,
        cwd=str(tmp_path),
    )
    assert run.returncode == 0, run.stderr
    text = run.stdout
    assert TOKEN not in text and str(tmp_path) not in text
    assert "~/src/<user>-module" in text
    for check in registry.all_checks():
        assert f"| `{check.id}` |" in text
    build = sections(text)["Last build"]
    assert "~/.cache/kdoctor/logs/build-20260101-120000-42.log" in build
    tail = re.search(r"```text\n(.*?)\n```", build, flags=re.S)
    assert tail is not None and len(tail.group(1).splitlines()) == TAIL_LINES
