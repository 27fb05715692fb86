"""No value reaches a shell: commands are argv lists, never strings, never ``shell=True``.

Checked on the source (like tests/test_architecture.py): a regression is caught wherever it is
added, before any scenario would have to find it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kdoctor"

#: calls that would hand a string to a shell
SHELL_CALLS = {"system", "popen", "getoutput", "getstatusoutput"}
#: the System methods that run commands (their first argument is the argv)
RUNS = {"run", "probe"}
SHELLS = {"sh", "bash", "dash", "zsh"}


def _trees() -> list[tuple[Path, ast.AST]]:
    return [(p, ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(PACKAGE.rglob("*.py"))]


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"


def _is_text(node: ast.AST) -> bool:
    """A string built in place: a literal, an f-string, a concatenation or a ``.join``."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, (ast.JoinedStr, ast.BinOp)):
        return True
    return isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("join", "format")


def test_nothing_passes_shell_true() -> None:
    found = [
        _where(path, node)
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.keyword)
        and node.arg in ("shell", "_shell")
        and not (isinstance(node.value, ast.Constant) and node.value.value is False)
    ]
    assert found == []


def test_no_os_system_popen_or_subprocess_string_helpers() -> None:
    found = [
        _where(path, node)
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in SHELL_CALLS
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in ("os", "subprocess", "commands")
    ]
    assert found == []


def test_commands_are_run_as_argv_lists_never_as_strings() -> None:
    found = [
        _where(path, node)
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in RUNS
        and node.args
        and _is_text(node.args[0])
    ]
    assert found == []


def test_a_shell_runs_only_a_fixed_script_with_no_value_spliced_in() -> None:
    """``sh -c SCRIPT`` only with a module-level constant: nothing from a person or the machine
    is ever part of the script's text."""
    found = []
    for path, tree in _trees():
        for node in ast.walk(tree):
            if not isinstance(node, (ast.List, ast.Tuple)) or len(node.elts) < 3:
                continue
            first, flag, script = node.elts[:3]
            if (
                isinstance(first, ast.Constant)
                and first.value in SHELLS
                and isinstance(flag, ast.Constant)
                and flag.value == "-c"
                and not (isinstance(script, ast.Name) and script.id.isupper())
            ):
                found.append(_where(path, node))
    assert found == []


def test_the_checker_itself_sees_each_kind_of_violation() -> None:
    bad = ast.parse(
        "import os, subprocess\n"
        "subprocess.run('make', shell=True)\n"
        "os.system('make')\n"
        "system.run(f'make {x}')\n"
        "system.probe(' '.join(argv))\n"
        "argv = ['sh', '-c', 'make ' + kdir]\n"
    )
    calls = [n for n in ast.walk(bad) if isinstance(n, ast.Call)]
    assert any(k.arg == "shell" for c in calls for k in c.keywords)
    assert any(getattr(c.func, "attr", "") in SHELL_CALLS for c in calls)
    assert sum(1 for c in calls if getattr(c.func, "attr", "") in RUNS and _is_text(c.args[0])) == 3
    lists = [n for n in ast.walk(bad) if isinstance(n, ast.List)]
    assert not isinstance(lists[0].elts[2], ast.Name)
