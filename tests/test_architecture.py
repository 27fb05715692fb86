"""The shape of the package, enforced: no import cycles, small modules, a clone that runs,
and commands that get their System from the factory the tests replace."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "kdoctor"
MAX_LINES = 400

#: import edges of a cycle in files this branch does not own, tolerated until it is broken there
#: (fixes/rustup.py imports fixes/toolchain.auto_choice inside a function; fixes/toolchain.py
#: imports fixes/rustup at module level). Delete the entry when the cycle is gone.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the package (not the top-level ``checks``/``fixes`` symlinks)."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import in ``node``, at any depth (functions too), except under TYPE_CHECKING."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking(child):
            for other in child.orelse:
                yield from _imports_of(other)
            continue
        yield from _imports_of(child)


def _imports_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _imports(node)


def import_graph() -> dict[str, set[str]]:
    """module -> the kdoctor modules it imports (``from a import b`` names ``a.b`` when that is
    a module, else ``a``)."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in known else base)
            graph[name] |= {t for t in targets if t in known and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> Optional[list[str]]:
    """One import cycle (``[a, b, ..., a]``), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> Optional[list[str]]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle_and_the_graph_sees_function_level_imports() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    graph = import_graph()
    # cli.provision imports the pipeline inside its commands only
    assert "kdoctor.pipeline.provision" in graph["kdoctor.cli.provision"]
    # render.text imports the pipeline's result types under TYPE_CHECKING only
    assert "kdoctor.pipeline.apply" not in graph["kdoctor.render.text"]


def test_no_import_cycle_among_kdoctor_modules() -> None:
    graph = import_graph()
    for source, target in KNOWN_CYCLE_EDGES:
        assert target in graph[source], f"{source} no longer imports {target}: drop the entry"
        graph[source].discard(target)
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


#: the layers, lowest first (ARCHITECTURE.md); model and knowledge sit beside each other
RANK = {
    "i18n": -1,  # every layer speaks through it; it imports none of them
    "machine": 0,
    "model": 1,
    "knowledge": 1,
    "facts": 2,
    "checks": 3,
    "fixes": 3,
    "pipeline": 4,
    "render": 5,
    "cli": 6,
    "__main__": 7,
    "onboard_words": 7,  # onboard.sh's words: a top, like the entry point
}
#: imports that still reach up a layer, in files this branch does not own; delete when moved
KNOWN_UPWARD: set[tuple[str, str]] = set()


def test_layers_import_only_downwards() -> None:
    upward = set()
    for source, targets in import_graph().items():
        for target in targets:
            layers = [m.split(".")[1] if "." in m else "" for m in (source, target)]
            if all(layers) and RANK[layers[0]] < RANK[layers[1]]:
                upward.add((source, target))
    assert upward - KNOWN_UPWARD == set()
    assert KNOWN_UPWARD - upward == set(), "fixed: drop these from KNOWN_UPWARD"


def long_modules() -> dict[str, int]:
    counts = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in modules().values()
    }
    return {path: n for path, n in counts.items() if n > MAX_LINES}


def test_no_module_is_over_400_lines() -> None:
    assert long_modules() == {}


def test_no_command_constructs_a_runner() -> None:
    """Commands get their System from ``cli.options.system_factory``, which tests replace."""
    calls = []
    for path in sorted((PACKAGE / "cli").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name == "Runner":
                    calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert calls == []


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_a_fresh_clone_runs(tmp_path: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not run from a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["NO_COLOR"] = "1"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=120,
        )

    where = run("-c", "import kdoctor; print(kdoctor.__file__)")
    assert where.returncode == 0, where.stderr
    # the clone's package, not the one installed (editable) in the test environment
    assert Path(where.stdout.strip()).resolve() == (clone / "kdoctor" / "__init__.py").resolve()
    listed = run("-m", "kdoctor", "list")
    assert listed.returncode == 0, listed.stderr
    assert "kernel-headers" in listed.stdout and "toolchain" in listed.stdout
