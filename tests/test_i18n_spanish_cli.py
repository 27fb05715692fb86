"""Under ``LANG=es_ES.UTF-8``, kdoctor as a person meets it says nothing in English: its help,
a mistyped command or option, a yes/no question answered either way, and ``./onboard.sh
--help``. Click's and typer's words included; a declined question ends with its own exit code."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KDOCTOR = [sys.executable, "-m", "kdoctor"]

#: English that kdoctor, click or typer would show (``Error`` is the same word in Spanish)
ENGLISH = (
    "Usage",
    "Options",
    "Commands",
    "Arguments",
    "[OPTIONS]",
    "COMMAND",
    "[ARGS]",
    "No such",
    "Did you mean",
    "Possible options",
    "Invalid value",
    "is not one of",
    "Missing",
    "unexpected extra",
    "requires an argument",
    "invalid input",
    "[y/N]",
    "Show this message",
    "Try '",
    "for help",
    "Install completion",
    "Show completion",
    "current shell",
    "Aborted",
    "nothing loaded",
    "Load ",
    "running kernel",
    "Environment",
    "this text",
    "installs nothing",
    "e.g.",
    "Options are those",
    "default",
    "RELEASE",
    "SECONDS",
)


def english_in(text: str) -> list[str]:
    return [word for word in ENGLISH if word in text]


def spanish_env(**more: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    env.update({"PYTHONPATH": str(ROOT), "TERM": "dumb", "LANG": "es_ES.UTF-8"}, **more)
    return env


def kdoctor(*args: str, columns: int = 100) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KDOCTOR, *args],
        capture_output=True,
        text=True,
        env=spanish_env(COLUMNS=str(columns)),
        stdin=subprocess.DEVNULL,
        timeout=120,
        cwd=ROOT,
    )


#: a mistyped option as click says it: newer (typer's own copy) and older (Python 3.9's click)
MISTYPED_JSN = (
    "No existe la opción --jsn (opciones parecidas: --json)",
    "No existe la opción --jsn ¿Quería decir --json?",
)


@pytest.mark.parametrize("columns", [100, 70])  # Rich's panels, and click's plain text
@pytest.mark.parametrize(
    ("args", "code", "spanish"),
    [
        (["-h"], 0, ("Uso: kdoctor [OPCIONES] COMANDO [ARGUMENTOS]...",)),
        (["verify", "-h"], 0, ("--timeout",)),
        (["chek"], 2, ("No existe el comando 'chek'. ¿Quería decir 'check'",)),
        (["check", "--jsn"], 2, MISTYPED_JSN),
        (["check", "--rust", "foo"], 2, ("Valor no válido para '--rust': 'foo' no es válido",)),
        (["check", "--kernel"], 2, ("La opción '--kernel' necesita un valor.",)),
        (["list", "extra"], 2, ("Sobran argumentos (extra)", "Sobra un argumento (extra)")),
    ],
)
def test_help_and_mistyped_command_lines_speak_only_spanish(
    args: list[str], code: int, spanish: tuple[str, ...], columns: int
) -> None:
    proc = kdoctor(*args, columns=columns)
    shown = proc.stdout + proc.stderr
    assert proc.returncode == code, shown
    said = " ".join(shown.replace("│", " ").split())
    assert any(sentence in said for sentence in spanish), shown
    assert english_in(shown) == [], shown
    if code == 2 and "--kernel" not in args:  # an option with no value comes before the usage
        assert "Pruebe 'kdoctor" in shown and "para ver la ayuda" in shown


def test_a_mistyped_option_under_json_is_a_spanish_error_document() -> None:
    import json

    proc = kdoctor("check", "--json", "--jsn")
    assert proc.returncode == 2
    document = json.loads(proc.stdout)
    assert document["error"]["kind"] == "usage"
    assert document["error"]["message"] in MISTYPED_JSN


def answered(args: list[str], answer: str) -> tuple[int, str]:
    """``kdoctor ARGS`` on a terminal (a pseudo-terminal), answering its question with
    ``answer``: the exit code and everything it showed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: kdoctor, its terminal the pseudo-terminal
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "kdoctor", *args], spanish_env())
    shown, sent, started = b"", False, time.monotonic()
    while time.monotonic() - started < 60:
        ready, _w, _x = select.select([fd], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child ended and closed the terminal
            break
        if not chunk:
            break
        shown += chunk
        if not sent and b"]: " in shown:
            os.write(fd, answer.encode() + b"\n")
            sent = True
    else:
        os.kill(pid, 9)
    _pid, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), shown.decode(errors="replace").replace("\r", "")


@pytest.fixture
def not_a_module(tmp_path: Path) -> str:
    """A ``.ko`` that is no module: a yes gets as far as kdoctor refusing it, never insmod."""
    path = tmp_path / "no-module.ko"
    path.write_text("not an ELF file\n")
    return str(path)


@pytest.mark.parametrize("answer", ["n", "no", ""])
def test_a_declined_question_is_spanish_and_exits_6(not_a_module: str, answer: str) -> None:
    code, shown = answered(["verify", "--host", "--ko", not_a_module], answer)
    assert re.search(r"¿Cargar .*no-module\.ko en el kernel en ejecución .*\? \[s/N\]: ", shown)
    assert "no se ha cargado nada" in shown, shown
    assert code == 6, shown
    assert english_in(shown) == [], shown


@pytest.mark.parametrize("answer", ["s", "sí", "SI", "y"])
def test_an_accepted_question_goes_on_in_spanish(not_a_module: str, answer: str) -> None:
    code, shown = answered(["verify", "--host", "--ko", not_a_module], answer)
    assert "[s/N]: " in shown
    assert "no se ha cargado nada" not in shown and code not in (2, 6), shown
    assert "no es un módulo del kernel" in " ".join(shown.split()), shown
    assert english_in(shown) == [], shown


def test_an_answer_that_is_neither_is_asked_again_in_spanish(not_a_module: str) -> None:
    code, shown = answered(["verify", "--host", "--ko", not_a_module], "quizá\nn")
    assert "Responda s o n." in shown and shown.count("[s/N]: ") == 2, shown
    assert code == 6
    assert english_in(shown) == [], shown


@pytest.mark.parametrize(
    ("args", "env"),
    [(["--help"], {"LANG": "es_ES.UTF-8"}), (["--help", "--lang", "es"], {"LANG": "C.UTF-8"})],
)
def test_the_onboarding_help_speaks_only_spanish(
    tmp_path: Path, args: list[str], env: dict[str, str]
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG"))}
    base.update(HOME=str(tmp_path / "home"), KDOCTOR_VENV=str(tmp_path / "venv"), **env)
    proc = subprocess.run(
        ["bash", str(ROOT / "onboard.sh"), *args],
        capture_output=True,
        text=True,
        env=base,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Puesta en marcha de kdoctor:"), proc.stdout
    assert "./onboard.sh [opciones de kdoctor fix...]" in proc.stdout
    assert "Las opciones son las de `kdoctor fix`" in proc.stdout
    assert english_in(proc.stdout) == [], proc.stdout
    assert not (tmp_path / "venv").exists()


def test_a_declined_question_under_json_leaves_the_declined_error_document(
    not_a_module: str,
) -> None:
    import json

    import jsonschema

    code, shown = answered(["verify", "--host", "--ko", not_a_module, "--json"], "n")
    assert code == 6, shown
    document = json.loads(shown[shown.index("{\n") :])
    schema = json.loads((ROOT / "schema" / "error.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, schema)
    assert document["error"] == {"kind": "declined", "message": "no se ha cargado nada"}
    assert document["exit_code"] == 6


@pytest.mark.parametrize(
    ("answers", "said"),
    [("s\n", True), ("Sí\n", True), ("yes\n", True), ("no\n", False), ("\n", False), ("", False)],
)
def test_the_question_takes_spanish_answers_and_asks_on_stderr_under_json(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    spanish: None,
    answers: str,
    said: bool,
) -> None:
    import io

    from kdoctor.cli import ask

    monkeypatch.setattr(sys, "stdin", io.StringIO(answers))
    assert ask.confirm("¿Aplicar?", err=True) is said
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("¿Aplicar? [s/N]: ")
