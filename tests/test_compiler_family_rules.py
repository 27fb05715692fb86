"""What a module's build files force on kbuild (kdoctor.knowledge.compiler_family) and what a
kernel's Rust build leaves for Rust-for-Linux modules (kdoctor.knowledge.rust_for_linux)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kdoctor.knowledge.compiler_family import (
    family_of,
    kernel_family,
    passed_override,
    read_overrides,
    refused_by_kernel,
    rejected_flags,
)
from kdoctor.knowledge.rust_for_linux import (
    kconfig_bindgen,
    kconfig_rustc,
    needed_artefacts,
    rmeta_rustc,
    same_version,
)

BUNDLED_MAKEFILE = Path(__file__).resolve().parent.parent / "hello-world" / "Makefile"


def test_clang_passed_to_make_is_found_with_its_line() -> None:
    text = (
        "KDIR ?= /lib/modules/$(shell uname -r)/build\n\nall:\n"
        "\t$(MAKE) -C $(KDIR) M=$(CURDIR) CC=clang CONFIG_CC_IS_CLANG=y modules\n"
    )
    found = read_overrides("Makefile", text, read_by_kbuild=False)
    assert [(o.location, o.text, o.family, o.how) for o in found] == [
        ("Makefile:4", "CC=clang", "clang", "passed to make"),
        ("Makefile:4", "CONFIG_CC_IS_CLANG=y", "clang", "passed to make"),
    ]


def test_a_continued_make_line_and_a_variable_are_followed() -> None:
    text = "CLANG := clang-14\nall:\n\tmake -C $(KDIR) \\\n\t  M=$(PWD) CC=$(CLANG)\n"
    [found] = read_overrides("Makefile", text, read_by_kbuild=False)
    assert (found.line, found.value, found.family) == (3, "clang-14", "clang")


def test_llvm_counts_when_exported_and_cc_assignments_only_where_kbuild_reads() -> None:
    makefile = "export LLVM := 1\nCC := clang\nall:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR)\n"
    found = read_overrides("Makefile", makefile, read_by_kbuild=False)
    assert [(o.variable, o.how, o.linker) for o in found] == [("LLVM", "exported to kbuild", "lld")]
    kbuild = "obj-m := x.o\nCC = gcc\nCC ?= clang\n"
    [gcc] = read_overrides("Kbuild", kbuild, read_by_kbuild=True)
    assert (gcc.location, gcc.family, gcc.how) == ("Kbuild:2", "gcc", "assigned in Kbuild")


def test_the_bundled_makefile_forces_nothing() -> None:
    # it passes CC=$(CC) on only when the person set CC: not a family of its own
    assert read_overrides("Makefile", BUNDLED_MAKEFILE.read_text(), read_by_kbuild=False) == []


@pytest.mark.parametrize(
    ("variable", "value", "family", "linker"),
    [
        ("CC", "/usr/bin/clang-16", "clang", None),
        ("CC", "x86_64-linux-gnu-gcc-12", "gcc", None),
        ("CC", "ccache gcc", "gcc", None),
        ("CC", "cc", None, None),
        ("LLVM", "1", "clang", "lld"),
        ("LLVM", "", None, None),
        ("LD", "ld.lld", None, "lld"),
        ("CONFIG_CC_IS_GCC", "y", "gcc", None),
    ],
)
def test_family_of(variable: str, value: str, family: str, linker: str) -> None:
    assert family_of(variable, value) == (family, linker)


def test_gcc_only_flags_come_from_the_kernels_options() -> None:
    config = {"CONFIG_RETHUNK": "y", "CONFIG_FTRACE_MCOUNT_USE_CC": "y"}
    assert rejected_flags(config, "gcc") == ["-mfunction-return=thunk-extern", "-mrecord-mcount"]
    assert rejected_flags(config, "clang") == []


def test_the_kernels_family_comes_from_its_config() -> None:
    assert kernel_family({}) is None
    assert kernel_family({"CONFIG_CC_IS_GCC": "y"}) == "gcc"
    assert kernel_family({"CONFIG_CC_IS_CLANG": "y"}) == "clang"
    assert kernel_family({"CONFIG_CC_VERSION_TEXT": "Debian clang version 16.0.6"}) == "clang"


@pytest.mark.parametrize(
    ("variable", "value", "family", "refused"),
    [
        ("CC", "clang-14", "gcc", "clang"),
        ("LLVM", "1", "gcc", "clang"),
        ("CC", "gcc-12", "clang", "gcc"),
        ("CC", "clang-14", "clang", None),
        ("CC", "gcc-12", "gcc", None),
        ("CC", "clang-14", None, None),  # no .config: nothing to hold it to
        ("CLANG", "clang-14", "gcc", None),  # bindgen's clang, not kbuild's compiler
    ],
)
def test_what_a_kernels_family_refuses(
    variable: str, value: str, family: str, refused: str
) -> None:
    assert refused_by_kernel(variable, value, family) == refused


def test_a_variable_kdoctor_passes_is_located_where_it_came_from() -> None:
    found = passed_override("CC", "clang-14", "the environment")
    assert found is not None
    assert (found.location, found.family, found.how) == (
        "the environment",
        "clang",
        "passed to make by kdoctor build",
    )
    assert passed_override("CC", "cc", "the environment") is None


# -- Rust-for-Linux ---------------------------------------------------------------------------
def test_artefacts_are_named_by_the_kernels_own_makefiles() -> None:
    top = "KBUILD_RUSTFLAGS := --edition=2021 \\\n\t\t    --target=$(objtree)/rust/target.json \\\n"
    build = "rust_common_cmd = \\\n\t--extern alloc --extern kernel \\\n\t--crate-type rlib -L x\n"
    assert needed_artefacts(top, build) == [
        "rust/target.json",
        "rust/liballoc.rmeta",
        "rust/libkernel.rmeta",
        "rust/libcore.rmeta",
        "rust/libmacros.so",
    ]
    newer = needed_artefacts("--target=$(objtree)/scripts/target.json", "--extern kernel")
    assert newer[0] == "scripts/target.json"
    assert needed_artefacts("", "")[0] == "rust/libkernel.rmeta"


def test_the_kernels_rustc_from_its_config_or_metadata() -> None:
    assert kconfig_rustc({"CONFIG_RUSTC_VERSION_TEXT": "rustc 1.78.0 (9b00956e5 2024-04-29)"}) == (
        "1.78.0"
    )
    assert kconfig_rustc({"CONFIG_RUSTC_VERSION": "108200"}) == "1.82.0"
    assert kconfig_rustc({"CONFIG_RUSTC_VERSION": "0"}) is None
    assert kconfig_bindgen({"CONFIG_BINDGEN_VERSION_TEXT": "bindgen 0.65.1"}) == "0.65.1"
    header = b"rust\x00\x00\x00\x08\x00\x23rustc 1.62.0 (a8314ef7d 2022-06-27)\x00\x01"
    assert rmeta_rustc(header) == "1.62.0 (a8314ef7d 2022-06-27)"
    assert rmeta_rustc(b"\x7fELF") is None
    assert same_version("1.78.0 (9b00956e5 2024-04-29)", "1.78.0")
    assert not same_version("1.78.0", "1.96.0")
