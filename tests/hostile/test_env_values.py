"""Bad environment and option values are usage errors (exit 2) that name the variable, the
value and the valid choices; a stream that cannot encode the report's symbols gets ASCII."""

from __future__ import annotations

import pytest

from tests.hostile.conftest import Sandbox

pytestmark = pytest.mark.hostile

COMMANDS = {
    "check": ("check", "os"),
    "build": ("build",),
    "fix": ("fix", "--dry-run", "--no-build"),
    "verify": ("verify", "--vm"),
    "report": ("report",),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    ("variable", "value", "choices"),
    [
        ("KDOCTOR_RUST", "bogus", "auto, pin, distro"),
        ("KDOCTOR_DISTRO_RUST", "rustc-nightly", "rustc, rustc-web"),
    ],
)
def test_a_bad_enum_in_the_environment_is_a_usage_error(
    sandbox: Sandbox, command: str, variable: str, value: str, choices: str
) -> None:
    result = sandbox.run(*COMMANDS[command], env={variable: value})
    assert result.code == 2, result.text
    assert f"{variable}={value!r}" in result.err
    assert "from the environment" in result.err and choices in result.err
    assert result.no_traceback()
    sandbox.assert_untouched()


def test_a_bad_enum_in_the_settings_file_names_the_file(sandbox: Sandbox) -> None:
    sandbox.config.write_text("KDOCTOR_RUST=nightly\n")
    result = sandbox.run("check", "os")
    assert result.code == 2, result.text
    assert "KDOCTOR_RUST='nightly'" in result.err and str(sandbox.config) in result.err
    assert result.no_traceback()
    sandbox.assert_untouched()


@pytest.mark.parametrize("value", ["1e300", "inf", "-inf", "nan", "-1", "0", "86401"])
def test_a_timeout_that_cannot_arm_a_watchdog_is_refused_at_parse_time(
    sandbox: Sandbox, value: str
) -> None:
    result = sandbox.run("verify", "--vm", f"--timeout={value}")
    assert result.code == 2, result.text
    assert "--timeout" in result.err and "more than 0 seconds" in result.err
    assert result.no_traceback() and "OverflowError" not in result.text
    sandbox.assert_untouched()


@pytest.mark.parametrize(
    "env",
    [{"PYTHONIOENCODING": "ascii"}, {"PYTHONIOENCODING": "latin-1"}, {"LANG": "C", "LC_ALL": "C"}],
)
def test_a_stream_that_cannot_encode_the_symbols_gets_ascii(
    sandbox: Sandbox, env: dict[str, str]
) -> None:
    result = sandbox.run("check", "os", "privileges", env=env)
    assert result.code in (0, 1), result.text
    assert result.no_traceback() and "UnicodeEncodeError" not in result.text
    assert "ready" in result.out
    if env.get("PYTHONIOENCODING") == "ascii":
        assert result.out.isascii()
    sandbox.assert_untouched()


def test_an_unencodable_value_in_a_usage_error_does_not_crash(sandbox: Sandbox) -> None:
    result = sandbox.run("check", "os", env={"KDOCTOR_RUST": "bögus✘", "PYTHONIOENCODING": "ascii"})
    assert result.code == 2, result.text
    assert "KDOCTOR_RUST=" in result.err and result.no_traceback()
    sandbox.assert_untouched()
