"""Kept probe answers: reused only while every input is unchanged, never for failures, never
with --fresh, and the bindgen check's translation is one of them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kdoctor.facts.bindgen import translation_inputs
from kdoctor.machine.probe_cache import ProbeCache
from kdoctor.machine.runner import Runner
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply

ARGV = ("/usr/bin/bindgen", "/probe.h", "--", "-x", "c")
CMD = " ".join(ARGV)
LIB = "/usr/lib/llvm-14/lib/libclang-14.so.1"


TRANSLATED = Reply(stdout="pub struct kdoctor_probe")


def machine(answer: Reply = TRANSLATED) -> FakeSystem:
    return FakeSystem(
        commands={CMD: answer},
        programs={"bindgen": "/usr/bin/bindgen"},
        files={"/usr/bin/bindgen": b"\x7fELF bindgen", "/probe.h": "struct x;", LIB: b"lib"},
        mtimes={"/usr/bin/bindgen": 1.0, "/probe.h": 1.0, LIB: 1.0},
    )


def ask(system: FakeSystem, cache: ProbeCache) -> str:
    inputs = ("/usr/bin/bindgen", "/probe.h", LIB)
    return cache.ask(system, ARGV, timeout=5, inputs=inputs).stdout


def runs_of(system: FakeSystem) -> int:
    return system.calls.count(ARGV)


def test_a_second_ask_reads_the_kept_answer() -> None:
    system, cache = machine(), ProbeCache("/cache/probes")
    assert ask(system, cache) == "pub struct kdoctor_probe"
    assert ask(system, cache) == "pub struct kdoctor_probe"
    assert runs_of(system) == 1
    assert any(p.startswith("/cache/probes/") for p, kind in system.writes if kind == "write")


@pytest.mark.parametrize("changed", ["/usr/bin/bindgen", "/probe.h", LIB])
@pytest.mark.parametrize("how", ["mtime", "content", "removed"])
def test_any_change_to_any_input_asks_again(changed: str, how: str) -> None:
    system, cache = machine(), ProbeCache("/cache/probes")
    ask(system, cache)
    if how == "mtime":
        system.mtimes[changed] = 2.0
    elif how == "content":
        system.files[changed] = b"a different length"
    else:
        del system.files[changed]
    ask(system, cache)
    assert runs_of(system) == 2


def test_a_changed_environment_asks_again() -> None:
    system, cache = machine(), ProbeCache("/cache/probes")
    cache.ask(system, ARGV, timeout=5, env={"LIBCLANG_PATH": "/a"}, inputs=())
    cache.ask(system, ARGV, timeout=5, env={"LIBCLANG_PATH": "/b"}, inputs=())
    assert runs_of(system) == 2


def test_failures_are_never_kept() -> None:
    system = machine(Reply(stderr="libclang.so: cannot open", exit_code=1))
    cache = ProbeCache("/c")
    ask(system, cache)
    ask(system, cache)
    assert runs_of(system) == 2
    assert not [p for p, kind in system.writes if kind == "write"]


def test_fresh_asks_again_and_refreshes_the_entry() -> None:
    system = machine()
    ask(system, ProbeCache("/cache/probes"))
    ask(system, ProbeCache("/cache/probes", fresh=True))
    assert runs_of(system) == 2
    assert len([p for p, kind in system.writes if kind == "write"]) == 2


@pytest.mark.parametrize("entry", [b"{not json", b'{"argv": ["other"], "exit_code": 0}', b"[]"])
def test_a_damaged_entry_is_asked_again(entry: bytes) -> None:
    system, cache = machine(), ProbeCache("/cache/probes")
    ask(system, cache)
    [path] = [p for p, kind in system.writes if kind == "write"]
    system.files[path] = entry
    ask(system, cache)
    assert runs_of(system) == 2


def test_an_unwritable_cache_only_costs_time() -> None:
    system, cache = machine(), ProbeCache("/cache/probes")
    system.readonly.append("/cache")

    def refuse(*_: object, **__: object) -> None:
        raise OSError(30, "Read-only file system")

    system.write_file = refuse  # type: ignore[method-assign,assignment]
    assert ask(system, cache) == "pub struct kdoctor_probe"


def test_real_files_replaced_in_place_change_the_key(tmp_path: Path) -> None:
    runner, cache = Runner(), ProbeCache(str(tmp_path / "probes"))
    lib = tmp_path / "libclang.so"
    lib.write_bytes(b"one")
    before = cache.key(runner, ARGV, None, [str(lib)])
    assert cache.key(runner, ARGV, None, [str(lib)]) == before
    lib.write_bytes(b"two")  # same size
    os.utime(lib, ns=(1, 1))
    assert cache.key(runner, ARGV, None, [str(lib)]) != before


def test_the_translation_depends_on_bindgen_the_header_the_loader_and_each_libclang() -> None:
    system = FakeSystem(
        files={"/usr/bin/bindgen": b"b", "/probe.h": "", LIB: b"l", "/etc/ld.so.cache": b"c"},
        dirs={"/usr/lib": ["llvm-14"], "/usr/lib/llvm-14": ["lib"]},
        env={"PATH": "/usr/bin", "LD_LIBRARY_PATH": "/opt/llvm/lib"},
    )
    ctx = make_context(env={"LIBCLANG_PATH": "/opt/clang/lib"})
    inputs = translation_inputs(ctx, system, "/usr/bin/bindgen", "/probe.h")
    for wanted in ("/usr/bin/bindgen", "/probe.h", "/etc/ld.so.cache", LIB, "/usr/lib/llvm-14/lib"):
        assert wanted in inputs
    assert "env:LIBCLANG_PATH=/opt/clang/lib" in inputs
    assert "env:LD_LIBRARY_PATH=/opt/llvm/lib" in inputs


@pytest.mark.integration
def test_a_repeated_real_check_reuses_bindgen_s_translation(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "KDOCTOR_CACHE": str(tmp_path), "PYTHONPATH": str(root)}

    def probes(*extra: str) -> list[list[str]]:
        argv = [sys.executable, "-m", "kdoctor", "check", "bindgen", "--json", "-v", *extra]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        data = json.loads(done.stdout)
        assert data["checks"][0]["status"] == "ok", data["checks"][0]
        return [p["argv"] for p in data["probes"]]

    translate = [a for a in probes() if a[-2:] == ["-x", "c"]]
    assert translate, "a first check translates the probe header"
    assert not [a for a in probes() if a[-2:] == ["-x", "c"]]
    assert [a for a in probes("--fresh") if a[-2:] == ["-x", "c"]] == translate


def test_a_run_that_must_change_nothing_reads_but_never_keeps() -> None:
    system = machine()
    ask(system, ProbeCache("/cache/probes", store=False))
    assert not [p for p, kind in system.writes if kind == "write"]
    ask(system, ProbeCache("/cache/probes"))
    ask(system, ProbeCache("/cache/probes", store=False))
    assert runs_of(system) == 2  # the kept answer is read, even by a read-only run
