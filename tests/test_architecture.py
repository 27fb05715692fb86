"""The shape of the package, enforced: no import cycle (type-only imports included), layers
that import only downwards (``model/`` above nothing but ``machine/``), no test machinery in the
product, modules of at most 600 lines and no re-export shims, a clone that runs, and commands
that get their System from the factory the tests replace."""

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
#: a module's ceiling: a concept that needs more is two concepts (ARCHITECTURE.md)
MAX_LINES = 600


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


def _imports(node: ast.AST, type_only: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import in ``node``, at any depth (functions too); those under TYPE_CHECKING only
    when ``type_only``."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking(child) and not type_only:
            for other in child.orelse:
                yield from _imports_of(other, type_only)
            continue
        yield from _imports_of(child, type_only)


def _imports_of(node: ast.AST, type_only: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _imports(node, type_only)


def import_graph(type_only: bool = True) -> dict[str, set[str]]:
    """module -> the kdoctor modules it imports (``from a import b`` names ``a.b`` when that is
    a module, else ``a``), with its imports under TYPE_CHECKING unless ``type_only`` is false:
    a type-only import is still a dependency a reader follows."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _imports(tree, type_only):
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
    # render.text imports the build result type under TYPE_CHECKING only: a dependency
    # all the same, which the run-time graph leaves out
    assert "kdoctor.pipeline.build" in graph["kdoctor.render.text"]
    assert "kdoctor.pipeline.build" not in import_graph(type_only=False)["kdoctor.render.text"]


def test_no_import_cycle_among_kdoctor_modules_type_only_imports_included() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


#: the layers, lowest first (ARCHITECTURE.md); model and knowledge sit beside each other
RANK = {
    "i18n": -1,  # every layer speaks through it; it imports none of them
    "click_words": -1,  # click's and typer's words, which i18n installs with a language
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


def layer(module: str) -> str:
    """``kdoctor.facts.rust`` -> ``facts``; the package itself -> ``""``."""
    return module.split(".")[1] if "." in module else ""


def test_layers_import_only_downwards() -> None:
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in import_graph().items()
        for target in targets
        if layer(source) and layer(target) and RANK[layer(source)] < RANK[layer(target)]
    )
    assert upward == []


def test_model_is_plain_data_importing_nothing_above_machine() -> None:
    """``model/`` is what every layer shares: it reads nothing of the machine through another
    layer and knows nothing of what sits beside or above it (``knowledge/`` included)."""
    allowed = {"", "i18n", "machine", "model"}
    reaching = sorted(
        f"{source} -> {target}"
        for source, targets in import_graph().items()
        if layer(source) == "model"
        for target in targets
        if layer(target) not in allowed
    )
    assert reaching == []


#: what only tests may import: the fakes and helpers under tests/, and the test runner
TEST_MACHINERY = ("tests", "pytest", "_pytest", "hypothesis")


def test_no_product_module_imports_test_machinery() -> None:
    found = []
    for name, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in _imports(tree, type_only=True):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                targets = [node.module or ""] if not node.level else []
            found += [f"{name}: {t}" for t in targets if t.split(".")[0] in TEST_MACHINERY]
    assert found == []


def test_each_need_type_has_exactly_one_planner() -> None:
    """A need reaches its planner by its type alone (:attr:`Fix.handles`)."""
    from kdoctor.fixes.base import all_fixes, routes
    from kdoctor.model.need import NEED_TYPES

    fixes = all_fixes()
    owners = {t.__name__: [f.id for f in fixes if t in f.handles] for t in NEED_TYPES}
    assert {name: ids for name, ids in owners.items() if len(ids) != 1} == {}
    assert set(routes(fixes)) == set(NEED_TYPES)


def long_modules() -> dict[str, int]:
    counts = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in modules().values()
    }
    return {path: n for path, n in counts.items() if n > MAX_LINES}


def test_no_module_is_over_600_lines() -> None:
    assert long_modules() == {}


def reexports(name: str, path: Path) -> list[str]:
    """The names ``path`` passes on from other modules: every name its ``__all__`` lists that an
    import binds, and, for a module whose whole body is imports, the module itself (a name kept
    at an old address rather than its importers pointed at the new one)."""
    body = ast.parse(path.read_text(encoding="utf-8"), str(path)).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    imported = {
        (alias.asname or alias.name).split(".")[0]
        for node in body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    exported: list[str] = []
    for node in body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", "") == "__all__" for t in node.targets
        ):
            exported += [e.value for e in ast.walk(node.value) if isinstance(e, ast.Constant)]
    found = [f"{name}.{e}" for e in exported if e in imported]
    # ``from a import b as b``: the explicit re-export spelling
    found += [
        f"{name}.{alias.name}"
        for node in body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
        if alias.asname == alias.name
    ]
    rest = [
        n
        for n in body
        if not isinstance(n, (ast.Import, ast.ImportFrom, ast.If))
        and not (
            isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in n.targets)
        )
    ]
    if imported and not rest:
        found.append(name)
    return found


def test_the_shim_finder_sees_a_module_of_imports_and_a_passed_on_name(tmp_path: Path) -> None:
    shim = tmp_path / "shim.py"
    shim.write_text('"""old address"""\nfrom a import b\n__all__ = ["b"]\n')
    assert reexports("shim", shim) == ["shim.b", "shim"]
    passed_on = tmp_path / "passed_on.py"
    passed_on.write_text("from a import b as b\n\ndef c() -> int:\n    return 1\n")
    assert reexports("passed_on", passed_on) == ["passed_on.b"]
    real = tmp_path / "real.py"
    real.write_text("from a import b\n__all__ = ['c']\n\ndef c() -> int:\n    return b()\n")
    assert reexports("real", real) == []


def test_no_module_only_re_exports_names_from_others() -> None:
    assert [r for name, path in modules().items() for r in reexports(name, path)] == []


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
