"""The module model: each generation of out-of-tree Rust module is told from its files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kdoctor.facts import Facts
from kdoctor.facts.module import read_module
from kdoctor.machine.runner import Runner
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.module import BuildDriver, ModuleKind
from tests.fake_system import FakeSystem

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
