"""One module owns the layout of kdoctor's cache (kdoctor/model/cache_layout.py): the paths are
the ones kdoctor has always used, and no other module puts a path together under the cache."""

from __future__ import annotations

import ast
from pathlib import Path

from kdoctor.model import cache_layout as layout

PACKAGE = Path(__file__).resolve().parents[1] / "kdoctor"
C = "/home/u/.cache/kdoctor"
R = "6.1.0-56-amd64"
#: path segments of the cache's layout, which only the layout module may write
SEGMENTS = {
    "kernels",
    "vmlinuz",
    "tree.json",
    "root",
    "apt",
    "test",
    "modules",
    "verified",
    "logs",
    "tmp",
    "kvm.json",
    "probes",
    "cargo-home",
    "rust-sysroot",
    "scratch",
    ".partial-",
}


def test_the_paths_under_the_cache() -> None:
    assert layout.default_cache_dir({"HOME": "/home/u"}) == C
    assert layout.default_cache_dir({"XDG_CACHE_HOME": "/x", "HOME": "/h"}) == "/x/kdoctor"
    assert layout.default_cache_dir({"KDOCTOR_CACHE": "/k", "XDG_CACHE_HOME": "/x"}) == "/k"
    assert layout.default_cache_dir({}) == "/root/.cache/kdoctor"
    assert layout.kernels_dir(C) == f"{C}/kernels"
    assert layout.release_dir(C, R) == f"{C}/kernels/{R}"
    assert layout.cached_image(C, R) == f"{C}/kernels/{R}/vmlinuz-{R}"
    assert layout.hand_placed_image(C, R) == f"{C}/kernels/{R}/vmlinuz"
    assert layout.checksum_path(layout.cached_image(C, R)) == f"{C}/kernels/{R}/vmlinuz-{R}.sha256"
    assert layout.cached_config(C, R) == f"{C}/kernels/{R}/config-{R}"
    assert layout.tree_dir(C, R) == f"{C}/kernels/{R}/root"
    assert layout.manifest_path(C, R) == f"{C}/kernels/{R}/tree.json"
    assert layout.kdir_of(C, R) == f"{C}/kernels/{R}/root/usr/src/linux-headers-{R}"
    assert layout.headers_in("/w/root", R) == f"/w/root/usr/src/linux-headers-{R}"
    assert layout.in_kernels(C, layout.kdir_of(C, R))
    assert not layout.in_kernels(C, f"{C}/kernels") and not layout.in_kernels(C, f"{C}/kernelsx")
    assert layout.apt_root(C) == f"{C}/apt"
    assert layout.apt_dir(C, "trixie") == layout.apt_dir(C + "/", "trixie") == f"{C}/apt/trixie"
    assert layout.kernel_test_root(C) == f"{C}/test"
    assert layout.kernel_test_dir(C, R) == f"{C}/test/{R}"
    assert layout.kernel_test_module(C, R) == f"{C}/test/{R}/module"
    assert layout.module_copy(C, "hello") == f"{C}/modules/hello"
    assert layout.verified_stamp(C, "0123", R) == f"{C}/verified/0123-{R}.json"
    assert layout.logs_dir(C) == f"{C}/logs"
    assert layout.tmp_dir(C) == f"{C}/tmp"
    assert layout.kvm_verdicts(C) == f"{C}/kvm.json"
    assert layout.rust_sysroot_dir(C) == f"{C}/rust-sysroot"
    assert layout.probes_dir(C) == f"{C}/probes"
    assert layout.cargo_home(C) == f"{C}/cargo-home"
    assert layout.scratch_dir(C) == f"{C}/scratch"
    assert layout.PARTIAL == ".partial-"


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _starts_at_the_cache(node: ast.JoinedStr) -> bool:
    first = node.values[0] if node.values else None
    return isinstance(first, ast.FormattedValue) and ast.unparse(first.value).endswith("cache_dir")


def test_no_other_module_puts_a_path_together_under_the_cache() -> None:
    """No ``os.path.join(<cache dir>, ...)`` and no layout segment in a join or an f-string
    that starts from the cache directory, outside the layout module."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(PACKAGE))
        if where == "model/cache_layout.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "os.path.join":
                first = node.args[0] if node.args else None
                if first is not None and "cache_dir" in _names(first):
                    found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
            if isinstance(node, ast.JoinedStr) and _starts_at_the_cache(node):
                found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    assert found == []


def test_the_kernel_cache_s_segments_are_written_in_the_layout_only() -> None:
    """``"tree.json"``, ``"kvm.json"``, ``"cargo-home"`` ... as a path segment (an argument of
    ``os.path.join``) only in the layout module."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        where = str(path.relative_to(PACKAGE))
        if where == "model/cache_layout.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "os.path.join":
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and arg.value in SEGMENTS - {
                        "root",
                        "modules",
                        "tmp",
                    }:
                        found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
            if isinstance(node, ast.Constant) and node.value in {
                "tree.json",
                "kvm.json",
                "cargo-home",
                ".partial-",
            }:
                found.append(f"{where}:{node.lineno}: {node.value!r}")
    assert found == []
