"""The hostile-scenario sandbox itself: it sees changes outside a scenario."""

from __future__ import annotations

import os
import tempfile

from tests.hostile.conftest import Sandbox


def test_a_plain_check_runs_in_the_sandbox_and_touches_nothing(sandbox: Sandbox) -> None:
    result = sandbox.run("list")
    assert result.code == 0, result.text
    assert "kernel-headers" in result.out
    assert result.no_traceback()
    sandbox.assert_untouched()


def test_the_sandbox_notices_a_new_file_in_the_shared_tmp(sandbox: Sandbox) -> None:
    shared = os.environ.get("TMPDIR", tempfile.gettempdir())
    marker = os.path.join(shared, f"pwned-sandbox-{os.getpid()}")
    open(marker, "w").close()
    try:
        assert os.path.basename(marker) in sandbox.changed_outside()
    finally:
        os.unlink(marker)
    sandbox.assert_untouched()
