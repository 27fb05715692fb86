"""Hostile values for the variables kdoctor hands to make (KDIR, CC, CLANG, LLVM, RUSTC,
BINDGEN, LIBCLANG_PATH, the module directory): `check` refuses each on the check that owns it,
`build` refuses before make runs, and no payload ever runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile.conftest import Sandbox
from tests.hostile.fakes import make_builds, recording_tool

pytestmark = pytest.mark.hostile

OWNERS = {
    "CC": "build-tools",
    "LLVM": "build-tools",
    "CLANG": "clang",
    "LIBCLANG_PATH": "libclang",
    "KDIR": "kernel-headers",
    "BINDGEN": "bindgen",
    "RUSTC": "toolchain",
}

#: payload templates ({m} is the marker file that must never appear) and the character named
PAYLOADS = {
    "semicolon": ("clang; touch {m}", "';'"),
    "make-shell": ("$(shell touch {m})/x", "'$'"),
    "backquote": ("`touch {m}`", "'`'"),
    "newline": ("clang\ntouch {m}", "control character"),
    "pipe": ("clang | tee {m}", "'|'"),
    "ampersand": ("clang & touch {m}", "'&'"),
    "quote": ("clang' ; touch '{m}", '"\'"'),
}


def marker(sandbox: Sandbox, name: str) -> Path:
    return sandbox.tmp / f"pwned-{name}"


def finding(result_out: str, check: str) -> dict:  # type: ignore[type-arg]
    report = json.loads(result_out)
    [found] = [f for f in report["checks"] if f["id"] == check]
    return found  # type: ignore[no-any-return]


@pytest.mark.parametrize("variable", sorted(OWNERS))
@pytest.mark.parametrize("payload", ["semicolon", "make-shell"])
def test_check_refuses_a_hostile_value_on_the_check_that_owns_it(
    sandbox: Sandbox, variable: str, payload: str
) -> None:
    mark = marker(sandbox, f"{variable}-{payload}")
    template, named = PAYLOADS[payload]
    value = template.format(m=mark)
    check = OWNERS[variable]
    result = sandbox.run("check", check, "--json", env={variable: value})
    assert result.code == 1, result.text
    found = finding(result.out, check)
    assert found["status"] == "fail"
    assert f"{variable}=" in found["summary"] and "is refused" in found["summary"]
    assert named in found["summary"] and "from the environment" in found["summary"]
    assert f"Set {variable} to a plain" in found["remediation"]["text"]
    assert found["facts"]["refused"][0]["value"] == value
    assert not mark.exists()
    assert result.no_traceback()
    sandbox.assert_untouched()


@pytest.mark.parametrize("payload", sorted(PAYLOADS))
def test_build_refuses_a_hostile_cc_before_make_runs(sandbox: Sandbox, payload: str) -> None:
    recording_tool(sandbox, "make")
    mark = marker(sandbox, f"build-{payload}")
    value = PAYLOADS[payload][0].format(m=mark)
    result = sandbox.run("build", "--module-dir", str(sandbox.module), env={"CC": value})
    assert result.code == 1, result.text
    if "no usable Rust toolchain" not in result.text:
        assert "kdoctor did not run the build" in result.out
        assert "CC=" in result.out and "is refused" in result.out
    assert make_builds(sandbox) == []  # make never ran
    assert not mark.exists()
    assert result.no_traceback()
    sandbox.assert_untouched()


def test_build_json_says_it_refused_and_never_ran_make(sandbox: Sandbox) -> None:
    recording_tool(sandbox, "make")
    mark = marker(sandbox, "json")
    result = sandbox.run(
        "build", "--json", "--module-dir", str(sandbox.module), env={"LLVM": f"1;touch {mark}"}
    )
    assert result.code == 1
    data = json.loads(result.out)
    if "error" not in data:  # a toolchain was found: the refusal is the answer
        assert data["refused"] is True and data["exit_code"] is None
        assert data["explanations"][0]["id"] == "unsafe-value"
    assert make_builds(sandbox) == [] and not mark.exists()
    sandbox.assert_untouched()


@pytest.mark.parametrize("quoted", [True, False])
def test_a_settings_line_that_make_would_evaluate_is_refused(
    sandbox: Sandbox, quoted: bool
) -> None:
    mark = marker(sandbox, "settings")
    value = f"$(shell touch {mark})/lib/modules/x/build"
    line = f"export KDIR='{value}'" if quoted else f"KDIR={value}"
    sandbox.config.write_text(line + "\n")
    result = sandbox.run("check", "kernel-headers", "--json", env={"KDIR": None})
    assert result.code == 1, result.text
    found = finding(result.out, "kernel-headers")
    assert found["status"] == "fail" and "'$'" in found["summary"]
    assert "settings file" in found["summary"]
    assert not mark.exists()
    sandbox.assert_untouched()


def test_a_hostile_kernel_option_is_refused_before_any_check(sandbox: Sandbox) -> None:
    """Not a release (one path component of plain characters): a usage error, one error
    document under --json, before any check or command sees it."""
    mark = marker(sandbox, "kernel")
    result = sandbox.run("check", "kernel-headers", "--json", "--kernel", f"$(shell touch {mark})")
    assert result.code == 2
    document = json.loads(result.out)
    assert document["error"]["kind"] == "usage" and "--kernel" in document["error"]["message"]
    assert not mark.exists()
    sandbox.assert_untouched()


def test_a_module_directory_whose_name_make_would_evaluate_is_refused(sandbox: Sandbox) -> None:
    mark = marker(sandbox, "moddir")
    hostile = sandbox.root / f"m$(shell touch {mark.name})"
    sandbox.module.rename(hostile)
    result = sandbox.run("check", "kbuild-cmd", "--json", "--module-dir", str(hostile))
    assert result.code == 1, result.text
    found = finding(result.out, "kbuild-cmd")
    assert found["status"] == "fail" and "module directory=" in found["summary"]
    assert "--module-dir" in found["summary"]
    recording_tool(sandbox, "make")
    built = sandbox.run("build", "--module-dir", str(hostile))
    assert built.code == 1 and make_builds(sandbox) == []
    assert not mark.exists() and not (sandbox.tmp / mark.name).exists()
    sandbox.assert_untouched()


@pytest.mark.parametrize("name", ["my module", "modül ünïcode", "both ü x"])
def test_a_module_path_with_spaces_or_non_ascii_builds_from_a_plain_copy(
    sandbox: Sandbox, name: str
) -> None:
    """kbuild cannot build with a space in M=: kdoctor builds from a copy in its cache whose
    path has none; a non-ASCII path kbuild handles, so it is built in place."""
    recording_tool(sandbox, "make", status=2)
    moved = sandbox.root / name
    sandbox.module.rename(moved)
    result = sandbox.run("build", "--module-dir", str(moved))
    assert result.no_traceback(), result.text
    made = make_builds(sandbox)
    if "no usable Rust toolchain" in result.text:
        pytest.skip("no Rust toolchain on this machine")
    [argv] = made
    where = argv[argv.index("-C") + 1]
    assert " " not in where and not any(" " in word for word in argv if "=" in word)
    if " " in name:
        assert where.startswith(str(sandbox.cache / "modules"))
        assert (Path(where) / "Kbuild").is_file()
    else:
        assert where == str(moved)
    sandbox.assert_untouched()


def test_the_bundled_makefile_quotes_every_value_it_hands_to_a_shell() -> None:
    makefile = (Path(__file__).resolve().parents[2] / "hello-world" / "Makefile").read_text()
    for unquoted in ("CC=$(CC)", "M=$(here)", "RUSTC=$(RUSTC_BIN)", "-C $(KDIR)", "cd $(here)"):
        assert unquoted not in makefile
    for quoted in ("CC='$(CC)'", "M='$(here)'", "RUSTC='$(RUSTC_BIN)'", "-C '$(KDIR)'"):
        assert quoted in makefile
