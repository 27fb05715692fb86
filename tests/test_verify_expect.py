"""verify for any module: the .ko its Kbuild declares, ``--expect`` (repeatable), and for modules
other than the bundled hello-world without ``--expect``: load and unload must succeed and the
module's own kernel log lines are shown."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from kdoctor.cli.app import app
from kdoctor.model.context import bundled_module_dir
from kdoctor.pipeline.verify import boot as vm_boot
from kdoctor.pipeline.verify import console as vm_console
from kdoctor.pipeline.verify import host as verify_host
from kdoctor.pipeline.verify import target as verify_target
from kdoctor.pipeline.verify import vm as verify_vm
from kdoctor.pipeline.verify.result import MESSAGES, VerifyResult
from kdoctor.render.text import print_verify
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply
from tests.test_verify import QEMU, RELEASE, console
from tests.test_verify_runs import BOOT_LOG, host

MOD = "/src/other"


def test_default_ko_is_the_one_the_kbuild_declares() -> None:
    system = FakeSystem(files={f"{MOD}/Kbuild": "obj-m := rust_thing.o\n"})
    ctx = make_context(module_dir=MOD, cache_dir="/c")
    assert verify_target.default_ko(ctx, system) == f"{MOD}/rust_thing.ko"
    system.files["/c/modules/other/rust_thing.ko"] = b"\x7fELF"
    assert verify_target.default_ko(ctx, system) == "/c/modules/other/rust_thing.ko"


def test_default_ko_of_a_makefile_only_module_inside_a_conditional() -> None:
    makefile = "ifneq ($(KERNELRELEASE),)\nobj-m += fish.o\nelse\nall:\n\t$(MAKE)\nendif\n"
    system = FakeSystem(files={f"{MOD}/Makefile": makefile, f"{MOD}/fish.ko": b"\x7fELF"})
    ctx = make_context(module_dir=MOD)
    assert verify_target.default_ko(ctx, system) == f"{MOD}/fish.ko"


def test_without_a_declared_module_it_is_helloworld_ko() -> None:
    ctx = make_context(module_dir=MOD)
    assert verify_target.default_ko(ctx, FakeSystem()) == f"{MOD}/helloworld.ko"


def test_expected_messages_default_only_for_the_bundled_module() -> None:
    bundled = make_context(module_dir=bundled_module_dir())
    assert verify_target.expected_messages(bundled) == MESSAGES
    assert verify_target.expected_messages(make_context(module_dir=MOD)) == ()
    assert verify_target.expected_messages(bundled, ["a", "b"]) == ("a", "b")


def test_host_without_expectations_passes_on_load_and_unload_and_keeps_the_modules_lines() -> None:
    own = BOOT_LOG + "[    9.100000] rust_thing: loading out-of-tree module taints kernel.\n"
    system, ko, ctx = host(Reply(), logs=(BOOT_LOG, own))
    result = verify_host.verify_host(ctx, system, ko, expected=())
    assert result.passed and result.expected == () and result.found == ()
    assert result.summary.startswith("loaded and unloaded (no messages expected")
    assert result.module_log == (
        "[    9.100000] rust_thing: loading out-of-tree module taints kernel.",
    )
    assert result.to_json()["module_log"] == list(result.module_log)
    text = rendered(result)
    assert "the module's kernel log:" in text and "rust_thing: loading" in text
    assert "Hello kernel module!" not in text


def test_host_with_an_expectation_that_is_missing_fails() -> None:
    system, ko, ctx = host(Reply())
    result = verify_host.verify_host(ctx, system, ko, expected=("Hello kernel module!", "Nope"))
    assert not result.passed
    assert result.found == ("Hello kernel module!",) and result.missing == ("Nope",)


def judged(name: str, expected: tuple[str, ...]) -> VerifyResult:
    run = vm_boot.Boot(
        accel="tcg",
        argv=(QEMU,),
        exit_code=0,
        timed_out=False,
        error=None,
        duration_s=6.5,
        timeout=120.0,
        console=console(name),
    )
    base = VerifyResult(
        mode="vm", passed=False, summary="", kernel=RELEASE, module="/m.ko", expected=expected
    )
    return verify_vm.judge_vm(base, run, vm_console.parse_console(run.console), "helloworld")


def test_vm_expectations_are_the_callers() -> None:
    assert judged("success", ("Hello kernel module!",)).passed
    result = judged("success", ("Goodbye kernel module!", "Hello kernel module!"))
    assert not result.passed and result.missing == ("Hello kernel module!",)


def test_vm_without_expectations_shows_the_lines_logged_after_init_started() -> None:
    result = judged("success", ())
    assert result.passed
    assert any("helloworld: loading out-of-tree module" in line for line in result.module_log)
    assert any("Goodbye kernel module!" in line for line in result.module_log)
    assert not any("Linux version" in line or "tsc:" in line for line in result.module_log)
    # a failure without expectations still names the cause
    failed = judged("insmod_invalid_format", ())
    assert not failed.passed and failed.summary.startswith("insmod failed")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KDOCTOR_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_cli_expect_is_repeatable_and_reaches_the_result(tmp_path: Path, cache: Path) -> None:
    module_dir = tmp_path / "mod"
    module_dir.mkdir()
    (module_dir / "Kbuild").write_text("obj-m := thing.o\n")
    result = CliRunner().invoke(
        app,
        [
            *("verify", "--vm", "--module-dir", str(module_dir), "--json"),
            *("--expect", "first line", "--expect", "second line"),
        ],
    )
    assert result.exit_code == 1
    data = json.loads(result.stdout[result.stdout.index("{") :])
    assert data["expected"] == ["first line", "second line"]
    assert data["summary"] == f"no module at {module_dir / 'thing.ko'}"


def test_cli_help_documents_ko_and_expect() -> None:
    text = CliRunner().invoke(app, ["verify", "--help"], env={"COLUMNS": "200"}).output
    assert "--expect" in text and "Kbuild" in text


def rendered(result: VerifyResult) -> str:
    out = io.StringIO()
    print_verify(result, Console(file=out, width=200, color_system=None))
    return out.getvalue()
