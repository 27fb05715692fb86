"""Odd inputs get true verdicts: a module for another architecture is refused before a VM
boots, an empty expected message is a usage error, and a dangling link in a module directory
does not stop kdoctor from copying it to build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kdoctor.knowledge import elf
from kdoctor.knowledge.kernel_release import release_problem
from kdoctor.knowledge.make_text import includes_itself
from kdoctor.machine import settings
from kdoctor.machine.runner import Runner
from kdoctor.model import toml_text
from kdoctor.model.toolchain_file import parse_pin
from kdoctor.pipeline.verify.result import module_problem
from tests.fake_system import FakeSystem

ROOT = Path(__file__).resolve().parents[2]


def relocatable(machine: int) -> bytes:
    """The first 64 bytes of a little-endian ELF64 relocatable for ``machine``."""
    header = bytearray(64)
    header[0:4] = elf.ELF_MAGIC
    header[4], header[5] = 2, 1  # 64-bit, little endian
    header[16:18] = (elf.ET_REL).to_bytes(2, "little")
    header[18:20] = machine.to_bytes(2, "little")
    return bytes(header)


def test_the_elf_machine_names_the_architecture_a_module_was_built_for() -> None:
    assert elf.machine_of(relocatable(62)) == 62
    assert elf.architecture_problem(relocatable(62), "x86_64") is None
    assert elf.architecture_problem(relocatable(183), "x86_64") == (
        "it was built for aarch64, not x86_64"
    )
    assert "ELF machine 9999" in (elf.architecture_problem(relocatable(9999), "x86_64") or "")
    assert elf.architecture_problem(relocatable(183), "sparc64") is None  # unknown: not judged
    assert elf.machine_of(b"not an elf") is None


def test_a_module_for_another_architecture_is_refused_before_anything_boots() -> None:
    ko = "/src/m/m.ko"
    system = FakeSystem(files={ko: relocatable(183)})
    problem = module_problem(system, ko, "x86_64")
    assert problem is not None
    assert (
        problem.summary
        == f"{ko} cannot load into a x86_64 kernel: it was built for aarch64, not x86_64"
    )
    assert system.calls == [] and system.runs == []


def test_an_empty_expected_message_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kdoctor", "verify", "--expect", "fixture loaded", "--expect", " "],
        env={**os.environ, "PYTHONPATH": str(ROOT), "KDOCTOR_CACHE": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 2
    assert "an empty message matches any kernel log" in done.stderr


def test_a_dangling_link_in_a_module_directory_is_not_copied(tmp_path: Path) -> None:
    source, target = tmp_path / "module", tmp_path / "copy"
    source.mkdir()
    (source / "Kbuild").write_text("obj-m := m.o\n")
    os.symlink("/nonexistent/user@host.1234", source / ".#m.rs")  # an editor's lock file
    left_out = Runner().copy_tree(str(source), str(target))
    assert (target / "Kbuild").read_text() == "obj-m := m.o\n"
    assert not os.path.lexists(target / ".#m.rs")
    assert left_out == [str(source / ".#m.rs")]  # for the build to say so


def test_a_release_is_one_path_component() -> None:
    for good in ("6.1.0-56-amd64", "6.12", "6.12+rust", "rust", "6.12.118+deb13-amd64"):
        assert release_problem(good) is None, good
    for bad in ("..", ".", "../../x", "a/b", "-x", "", "6.1\n", "x" * 200, "6..1", "$(id)"):
        assert release_problem(bad) is not None, bad


def test_a_release_that_would_leave_the_cache_is_refused_before_anything_is_made(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    for args in (
        ("check", "--kernel", "../../../escaped"),
        ("fix", "--dry-run", "--kernel", "."),
        ("fetch-kernel", "../escaped"),
        ("cache", "clean", "--kernel", ".."),
        ("test", "--kernels", "6.1,../escaped"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "kdoctor", *args],
            env={**os.environ, "PYTHONPATH": str(ROOT), "KDOCTOR_CACHE": str(cache)},
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 2, (args, done.stderr)
        said = " ".join(done.stderr.replace("│", " ").split())
        assert "kernel release or series" in said, args
    assert not cache.exists() and not (tmp_path / "escaped").exists()


def test_a_rust_toolchain_file_nested_without_end_is_malformed_not_a_crash() -> None:
    deep = "[toolchain]\nchannel = " + "[" * 2000 + "]" * 2000 + "\n"
    assert toml_text.nesting(deep) == 2000
    with pytest.raises(toml_text.TOMLDecodeError):
        toml_text.loads(deep)
    assert parse_pin(deep, "rust-toolchain.toml") is None
    assert toml_text.loads('\ufeff[toolchain]\nchannel = "1.85"  # [[[ in a comment\n') == {
        "toolchain": {"channel": "1.85"}
    }


def test_a_settings_file_starting_with_a_byte_order_mark_keeps_its_first_line() -> None:
    data = settings.BOM + b"export KDIR=/src/linux\nexport CC=gcc-12\n"
    assert settings.parse(data) == {"KDIR": "/src/linux", "CC": "gcc-12"}
    edited = settings.edit(data, {"KDIR": "/other"})
    assert edited == settings.BOM + b"export KDIR=/other\nexport CC=gcc-12\n"


def test_a_build_file_that_includes_itself_is_named_not_evaluated() -> None:
    assert includes_itself("obj-m := m.o\ninclude $(src)/Kbuild\n", "Kbuild") == 2
    assert includes_itself("-include $(obj)/Kbuild # again\n", "Kbuild") == 1
    assert includes_itself("include $(KDIR)/Kbuild\n", "Kbuild") is None  # another tree's
    assert includes_itself("include $(src)/Kbuild.common\n", "Kbuild") is None
    assert includes_itself("include Makefile\n", "Makefile") == 1
