"""Inputs that are not what they claim: a .ko that is not a kernel module, tools that print no
version. kdoctor names what is wrong instead of blaming something else."""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest

from tests.hostile.conftest import Sandbox
from tests.hostile.fakes import calls, fake_tool, recording_tool
from tests.kmod import elf, kernel_module

pytestmark = pytest.mark.hostile

RELEASE = "6.1.0-97-hostile"


def _not_modules() -> dict[str, tuple[bytes, str]]:
    true = shutil.which("true") or "/bin/true"
    with open(true, "rb") as handle:
        executable = handle.read()
    return {
        "random": (os.urandom(4096), "not an ELF file"),
        "text": (b"vermagic=6.1.0-97-hostile SMP\0 hello", "not an ELF file"),
        "executable": (executable, "not a relocatable"),
        "object-without-modinfo": (elf({".text": b"\xc3"}), "without a .modinfo section"),
        "truncated-module": (kernel_module(b"license=GPL\0")[:80], "damaged or truncated"),
    }


@pytest.mark.parametrize("kind", sorted(_not_modules()))
@pytest.mark.parametrize("mode", ["--vm", "--host"])
def test_verify_says_a_file_is_not_a_kernel_module(sandbox: Sandbox, kind: str, mode: str) -> None:
    data, why = _not_modules()[kind]
    ko = sandbox.root / "helloworld.ko"
    ko.write_bytes(data)
    recording_tool(sandbox, "qemu-system-x86_64")
    recording_tool(sandbox, "insmod")
    recording_tool(sandbox, "sudo")
    result = sandbox.run("verify", mode, "--yes", "--json", "--ko", str(ko), "--kernel", RELEASE)
    assert result.code == 1, result.text
    summary = json.loads(result.out)["summary"]
    assert "is not a kernel module" in summary and why in summary
    assert "magic" not in summary.replace("ELF magic", "")
    assert calls(sandbox, "qemu-system-x86_64") == [] and calls(sandbox, "insmod") == []
    sandbox.assert_untouched()


@pytest.mark.parametrize(
    ("tool", "says", "named"),
    [
        ("make", "", "make (.*) printed nothing"),
        ("make", "a make of some kind\n", "printed 'a make of some kind'"),
        ("ld", "", "ld (.*) printed nothing"),
    ],
)
def test_a_tool_that_prints_no_version_is_a_warning_not_ok(
    sandbox: Sandbox, tool: str, says: str, named: str
) -> None:
    fake_tool(sandbox, tool, f'#!/bin/sh\nprintf "{says}"\n')
    result = sandbox.run("check", "build-tools", "--json", env={"KDIR": None})
    report = json.loads(result.out)
    [found] = report["checks"]
    if found["status"] == "fail" and "not installed" in found["summary"]:
        pytest.skip("the build tools are not installed here")
    assert found["status"] == "warn", found
    assert f"could not read the version of {tool}" in found["summary"]
    assert re.search(named, found["summary"])
    assert "(version ?)" not in found["summary"]
    sandbox.assert_untouched()
