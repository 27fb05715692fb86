from __future__ import annotations

from kdoctor.knowledge.build_errors import explain


def ids(log: str) -> list[str]:
    return [e.id for e in explain(log)]


def test_missing_cmd_file_is_explained_with_both_remedies() -> None:
    log = (
        "  MODPOST /src/Module.symvers\n"
        "/src/.hello_world.rust.o.cmd: No such file or directory\n"
        "make[2]: *** Error 1\n"
    )
    [e] = explain(log)
    assert e.id == "kbuild-cmd"
    assert "hello_world.rust.o" in e.cause
    assert "if_changed" in e.remedy and "touch /src/.hello_world.rust.o.cmd" in e.remedy


def test_modpost_undefined_and_license() -> None:
    log = (
        "ERROR: modpost: missing MODULE_LICENSE() in /src/helloworld.o\n"
        'ERROR: modpost: "rust_begin_unwind" [/src/helloworld.ko] undefined!\n'
    )
    assert ids(log) == ["modpost-undefined", "modpost-license"]
    assert "rust_begin_unwind" in explain(log)[0].cause


def test_clang_rejecting_gcc_flags_and_libclang() -> None:
    assert ids("error: unknown argument: '-mrecord-mcount'\n") == ["clang-gcc-flag"]
    assert ids("clang: error: unsupported option '-mfentry' for target\n") == ["clang-gcc-flag"]
    log = "panicked at 'Unable to find libclang: \"couldn't find any valid shared libraries\"'"
    assert ids(log) == ["libclang"]


def test_unknown_failures_are_not_guessed() -> None:
    assert explain("make: *** [Makefile:12: all] Error 2\n") == []
