"""The module model: each generation of out-of-tree Rust module is told from its files."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

import pytest

from kdoctor.facts import Facts
from kdoctor.facts.module import read_module
from kdoctor.machine.runner import Runner
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.module import BuildDriver, ModuleKind
from tests.fake_system import FakeSystem, Reply

M = "/src/mod"

CARGO_KBUILD = """\
obj-m := helloworld.o
helloworld-objs := hello_world.o
CARGO ?= cargo

$(src)/target/x86_64-linux-kernel/debug/libhello_world.a: cargo_will_determine_dependencies
\tcd $(src); $(CARGO) build -Z build-std=core,alloc --target=x86_64-linux-kernel

%.o: target/x86_64-linux-kernel/debug/lib%.a
\t$(LD) $(KBUILD_LDFLAGS) --whole-archive $< -o $@
"""

XBUILD_MAKEFILE = """\
ifneq ($(KERNELRELEASE),)
obj-m += helloworld.o
helloworld-objs := target/x86_64-kernel/release/libhello_world.a
else
all:
\tcargo xbuild --release --target x86_64-kernel.json
\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules
endif
"""

RFL_KBUILD = "obj-m := rust_out_of_tree.o\n"


def fake(files: dict[str, str]) -> FakeSystem:
    return FakeSystem(files={f"{M}/{name}": text for name, text in files.items()})


def test_the_bundled_module_is_kbuild_driven_rustc_with_its_own_pin() -> None:
    module = read_module(Runner(), bundled_module_dir())
    assert module.kind is ModuleKind.KBUILD_RUSTC
    assert module.driver is BuildDriver.KBUILD
    assert module.ko_names == ("helloworld",)
    assert module.bundled
    assert module.pin is not None and module.pin.channel == "nightly-2021-02-12"
    assert module.pin_source == str(Path(bundled_module_dir()) / "rust-toolchain.toml")


def test_a_cargo_module_with_build_std_and_a_built_in_target() -> None:
    module = read_module(fake({"Kbuild": CARGO_KBUILD, "Cargo.toml": "[package]\n"}), M)
    assert module.kind is ModuleKind.CARGO
    assert module.driver is BuildDriver.CARGO_BUILD_STD
    assert module.target is not None and module.target.name == "x86_64-linux-kernel"
    assert not module.target.is_json
    assert module.cargo_toml == f"{M}/Cargo.toml"
    assert module.ko_names == ("helloworld",)
    assert not module.bundled


def test_cargo_xbuild_with_a_target_json_inside_a_makefile_conditional() -> None:
    files = {"Makefile": XBUILD_MAKEFILE, "x86_64-kernel.json": "{}"}
    module = read_module(fake(files), M)
    assert module.kind is ModuleKind.CARGO
    assert module.driver is BuildDriver.CARGO_XBUILD
    assert module.target is not None and module.target.is_json
    assert module.target.json_path == f"{M}/x86_64-kernel.json"
    assert module.target.name == "x86_64-kernel"
    assert module.ko_names == ("helloworld",)


def test_an_obj_m_object_built_from_a_rust_source_is_rust_for_linux() -> None:
    module = read_module(fake({"Kbuild": RFL_KBUILD, "rust_out_of_tree.rs": "//! x\n"}), M)
    assert module.kind is ModuleKind.RUST_FOR_LINUX
    assert module.driver is BuildDriver.KBUILD
    assert module.ko_names == ("rust_out_of_tree",)


def test_a_plain_c_module() -> None:
    module = read_module(fake({"Kbuild": "obj-m := hello.o\n", "hello.c": "int x;\n"}), M)
    assert module.kind is ModuleKind.C


def test_no_build_file_is_no_module() -> None:
    module = read_module(fake({"README": "hi\n"}), M)
    assert module.kind is ModuleKind.NONE
    assert module.ko_names == ()
    assert module.kbuild_file is None


def test_a_makefile_that_calls_no_kbuild_is_no_module_a_crate_is_one() -> None:
    docs = read_module(fake({"Makefile": "html:\n\tsphinx-build docs out\n"}), M)
    assert docs.kind is ModuleKind.NONE
    crate = read_module(fake({"Cargo.toml": "[package]\nname = 'x'\n"}), M)
    assert crate.kind is ModuleKind.UNKNOWN
    kbuild = read_module(fake({"Makefile": "all:\n\t$(MAKE) -C $(KDIR) M=$(PWD)\n"}), M)
    assert kbuild.kind is ModuleKind.UNKNOWN


def test_a_module_without_a_pin_has_none_never_the_bundled_one() -> None:
    module = read_module(fake({"Kbuild": RFL_KBUILD, "rust_out_of_tree.rs": ""}), M)
    assert module.pin is None and module.pin_problem is None and module.pin_source is None


@pytest.mark.parametrize(
    "text",
    ["[toolchain]\nchannel = 3\n", "[toolchain\nchannel=", "[other]\nchannel = 'x'\n"],
)
def test_a_malformed_pin_is_a_problem_not_a_silent_fallback(text: str) -> None:
    module = read_module(fake({"Kbuild": RFL_KBUILD, "rust-toolchain.toml": text}), M)
    assert module.pin is None
    assert module.pin_problem is not None and "rust-toolchain.toml" in module.pin_problem


def test_the_legacy_one_line_pin_file_is_the_module_s_own() -> None:
    files = {"Kbuild": CARGO_KBUILD, "rust-toolchain": "nightly-2020-08-27\n"}
    module = read_module(fake(files), M)
    assert module.pin is not None and module.pin.channel == "nightly-2020-08-27"
    assert module.pin_source == f"{M}/rust-toolchain"


def test_the_module_is_in_the_check_json(tmp_path: Path) -> None:
    from kdoctor.pipeline.diagnose import run_checks
    from kdoctor.render.jsonout import report_json
    from tests.conftest import make_context

    system = fake({"Kbuild": CARGO_KBUILD})
    report = run_checks([], Facts(make_context(module_dir=M), system))
    data = report_json(report)
    assert data["context"]["module"]["kind"] == "cargo"
    assert data["context"]["module"]["driver"] == "cargo-build-std"
    json.dumps(data)  # serialisable


# -- the target as the build names it: make's expansion, the Makefile's exports, cargo's config --
EXPORTING_MAKEFILE = """\
KDIR ?= /lib/modules/$(shell uname -r)/build
export TARGET_PROFILE := x86_64-linux-kernel
export MODULE_NAME := helloworld

all:
\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules
"""

EXPORTED_KBUILD = """\
obj-m := $(MODULE_NAME).o
$(MODULE_NAME)-objs := hello_world.rust.o
CARGO ?= cargo

$(src)/target/$(TARGET_PROFILE)/debug/libhello_world.a: cargo_will_determine_dependencies
\tcd $(src); $(CARGO) build -Z build-std=core --target=$(TARGET_PROFILE)
"""


def fake_make(files: dict[str, str], outer: str, kbuild: str) -> tuple[FakeSystem, list[Any]]:
    """A machine with make: the Makefile's reading (no KERNELRELEASE) answers ``outer``,
    kbuild's reading answers ``kbuild``; every argv make was given is kept."""
    asked: list[Any] = []

    def make(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        assert "SHELL=/bin/false" in argv and env["MAKEFILES"] == ""
        asked.append(argv)
        kbuilds = any(a.startswith("KERNELRELEASE=") for a in argv)
        return Reply(stdout=kbuild if kbuilds else outer)

    system = fake(files)
    system.programs["make"] = "/usr/bin/make"
    system.handlers["make"] = make
    return system, asked


def test_a_target_from_a_variable_the_makefile_exports_is_read_as_make_expands_it() -> None:
    outer = "KDOCTOR-VAR TARGET_PROFILE=x86_64-linux-kernel\nKDOCTOR-VAR MODULE_NAME=helloworld\n"
    kbuild = (
        "KDOCTOR-MODULE helloworld.o : hello_world.rust.o\n"
        f"KDOCTOR-CMD cd {M}; cargo build -Z build-std=core --target=x86_64-linux-kernel\n"
    )
    system, asked = fake_make(
        {"Makefile": EXPORTING_MAKEFILE, "Kbuild": EXPORTED_KBUILD}, outer, kbuild
    )
    module = read_module(system, M)
    assert module.target is not None and module.target.name == "x86_64-linux-kernel"
    assert module.driver is BuildDriver.CARGO_BUILD_STD and module.ko_names == ("helloworld",)
    makefile_pass, kbuild_pass = asked
    # the Makefile is read as `make -C <module>` reads it; its exports come before the Kbuild
    assert f"CURDIR={M}" in makefile_pass
    assert not any(a.startswith("KERNELRELEASE=") for a in makefile_pass)
    assert "--eval=TARGET_PROFILE := x86_64-linux-kernel\nMODULE_NAME := helloworld\n" in (
        kbuild_pass
    )
    dump = kbuild_pass[-2]
    assert "define kdoctor-cmd-0\ncd $(src); $(CARGO) build -Z build-std=core" in dump


def test_an_unexpanded_target_is_unread_never_a_target_named_by_half_a_reference() -> None:
    module = read_module(fake({"Kbuild": EXPORTED_KBUILD}), M)  # no make here
    assert module.target is None
    assert module.target_unread == "$(TARGET_PROFILE)"


@pytest.mark.parametrize(
    "alias",
    [
        'kbuild = "build -Z build-std=core --target x86_64-linux-kernel.json"',
        'kbuild = ["build", "-Z", "build-std=core", "--target", "x86_64-linux-kernel.json"]',
    ],
    ids=["string", "list"],
)
def test_a_target_given_in_a_cargo_alias_is_the_build_s(alias: str) -> None:
    files = {
        "Kbuild": "obj-m := helloworld.o\n\n$(src)/lib.a:\n\tcd $(src); $(CARGO) kbuild\n",
        ".cargo/config.toml": f"[alias]\n{alias}\n",
        "x86_64-linux-kernel.json": "{}",
    }
    module = read_module(fake(files), M)
    assert module.driver is BuildDriver.CARGO_BUILD_STD
    assert module.target is not None and module.target.json_path == f"{M}/x86_64-linux-kernel.json"
    assert module.target.by_path
    assert module.target.origin == f"the alias kbuild in {M}/.cargo/config.toml"
    assert module.target_call[:1] == ("build",)
    assert module.cargo_config == (f"{M}/.cargo/config.toml",)


def test_build_target_in_a_parent_s_cargo_config_is_relative_to_that_directory() -> None:
    parent = os.path.dirname(M)
    system = fake({"Kbuild": "obj-m := m.o\n\nx:\n\tcargo build\n"})
    system.files[f"{parent}/.cargo/config"] = (
        '[build]\ntarget = ["targets/kernel.json"]\n\n[unstable]\nbuild-std = ["core"]\n'
        "json-target-spec = true\n"
    )
    module = read_module(system, M)
    assert module.driver is BuildDriver.CARGO_BUILD_STD
    assert module.target is not None
    assert module.target.json_path == f"{parent}/targets/kernel.json"
    assert module.target.origin == f"build.target in {parent}/.cargo/config"
    assert module.cargo_unstable == ("build-std", "json-target-spec")


def test_a_module_whose_cargo_names_no_target_and_no_config_has_none() -> None:
    module = read_module(fake({"Kbuild": "obj-m := m.o\n\nx:\n\tcargo build --release\n"}), M)
    assert module.driver is BuildDriver.CARGO and module.target is None
    assert module.target_unread is None


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_real_make_expands_the_target_and_the_exported_module_name(tmp_path: Path) -> None:
    module_dir = tmp_path / "mod"
    module_dir.mkdir()
    marker = tmp_path / "ran"
    (module_dir / "Makefile").write_text(EXPORTING_MAKEFILE + f"\nsideeffect:\n\ttouch {marker}\n")
    (module_dir / "Kbuild").write_text(
        EXPORTED_KBUILD.replace("cargo build", f"cargo build $(shell touch {marker})")
    )
    module = read_module(Runner(), str(module_dir))
    assert module.target is not None and module.target.name == "x86_64-linux-kernel"
    assert module.ko_names == ("helloworld",)
    assert module.target_call == ("build", "-Z", "build-std=core", "--target=x86_64-linux-kernel")
    assert not marker.exists()  # make expanded the commands, it ran none
