from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kdoctor.cli.app import app


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KDOCTOR_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--vm", "--host"], "choose one of --vm and --host"),
        (["--accel", "hvf"], "'hvf' is not one of 'auto', 'kvm', 'tcg'"),
        (["--timeout", "0"], "must be more than 0 seconds"),
        (["--ko", "/no/such/helloworld.ko"], "no such file"),
    ],
)
def test_usage_errors_exit_2(args: list[str], complaint: str, cache: Path) -> None:
    result = CliRunner().invoke(app, ["verify", *args])
    assert result.exit_code == 2
    assert complaint in " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())


def test_host_without_consent_or_terminal_is_refused(tmp_path: Path, cache: Path) -> None:
    ko = tmp_path / "helloworld.ko"
    ko.write_bytes(b"\x7fELF")
    result = CliRunner().invoke(app, ["verify", "--host", "--ko", str(ko)], input="")
    assert result.exit_code == 2
    assert "refusing to load a module into the running kernel without --yes" in result.output
    assert not (cache / "logs").exists()


def test_missing_default_module_is_a_failure_with_json(tmp_path: Path, cache: Path) -> None:
    module_dir = tmp_path / "hello-world"
    module_dir.mkdir()
    (module_dir / "rust-toolchain.toml").write_text('[toolchain]\nchannel = "nightly"\n')
    result = CliRunner().invoke(app, ["verify", "--vm", "--module-dir", str(module_dir), "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout[result.stdout.index("{") :])
    assert data["passed"] is False and data["mode"] == "vm"
    assert data["summary"] == f"no module at {module_dir / 'helloworld.ko'}"
    # the command it suggests builds the module the person named, not the bundled one
    assert data["remediation"]["commands"] == [f"kdoctor build --module-dir {module_dir}"]
