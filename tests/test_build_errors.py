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


def test_a_program_the_build_cannot_find_is_named_with_the_setting_that_named_it() -> None:
    log = "  CC [M]  /src/x.o\n/bin/sh: 1: gcc-9: not found\nmake[2]: *** [x.o] Error 127\n"
    [e] = explain(log, lambda: {"gcc-9": "CC=gcc-9 (Kbuild:5, assigned in Kbuild)"})
    assert e.id == "command-not-found"
    assert e.evidence == "/bin/sh: 1: gcc-9: not found"
    assert "gcc-9" in e.cause and "CC=gcc-9 (Kbuild:5, assigned in Kbuild)" in e.cause
    assert e.remedy.startswith("Install gcc-9, or correct or remove CC=gcc-9 (Kbuild:5")


def test_a_program_nobody_set_is_named_without_a_place_and_where_is_asked_only_then() -> None:
    asked: list[bool] = []

    def where() -> dict[str, str]:
        asked.append(True)
        return {}

    [e] = explain("bash: line 1: rustc-1.62: command not found\n", where)
    assert e.id == "command-not-found" and asked == [True]
    assert "rustc-1.62" in e.cause and "RUSTC, BINDGEN, CC, LD, HOSTCC or LLVM" in e.remedy
    assert explain("make: *** [Makefile:12: all] Error 2\n", where) == [] and asked == [True]


def test_shells_and_makes_saying_not_found() -> None:
    for line, tool in [
        ("/bin/sh: 1: bindgen-0.56: not found", "bindgen-0.56"),
        ("sh: 1: clang-14: not found", "clang-14"),
        ("/bin/bash: line 1: rustc-1.62: command not found", "rustc-1.62"),
        ("make[2]: ld.gold: No such file or directory", "ld.gold"),
        ("make: rustc-1.62: Command not found", "rustc-1.62"),
        ("rustc-1.62: command not found", "rustc-1.62"),
    ]:
        [e] = explain(line + "\n")
        assert (e.id, tool in e.cause, e.evidence) == ("command-not-found", True, line)
    # modpost's missing .cmd file is kbuild-cmd's, a header not found is the compiler's
    assert ids("make[2]: /src/.x.o.cmd: No such file or directory\n") == ["kbuild-cmd"]
    assert ids("x.c:1:10: fatal error: y.h: No such file or directory\n") == []
