"""The module's own Kbuild, rewritten by ``fix``: only the rule it must change differs, byte for
byte; the diff shows exactly that (no U+FFFD in place of the person's bytes); a symlink is
written through; earlier backups stay."""

from __future__ import annotations

import os
import stat

import pytest

from tests.hostile.conftest import Sandbox
from tests.hostile.support_files import clean, only_file_edits, seed_stock_image, snapshot

HEAD = (
    b"# J\xfcrgen's module \xa9 2021 (Latin-1 on purpose)\n"
    b"obj-m := helloworld.o\n"
    b"helloworld-objs := hello_world.rust.o\n"
    b"\n"
)
RULE = b"%.rust.o: lib%.a\n\t$(LD) -r -o $@ --whole-archive $<\n"
TAIL = b"\n# after the rule: \xe9t\xe9\n# last line without a newline"
KBUILD = HEAD + RULE + TAIL


@pytest.fixture
def module(sandbox: Sandbox) -> Sandbox:
    seed_stock_image(sandbox)
    (sandbox.module / "Kbuild").write_bytes(KBUILD)
    os.chmod(sandbox.module / "Kbuild", 0o640)
    return sandbox


def _dry(sandbox: Sandbox) -> str:
    result = only_file_edits(sandbox, "--module-dir", str(sandbox.module))
    if f"write {sandbox.module}/Kbuild" not in result.err:
        pytest.skip("the kbuild-cmd check does not ask for a rewrite on this machine")
    return result.err


def test_the_dry_run_shows_the_exact_change_and_changes_nothing(module: Sandbox) -> None:
    before = snapshot(module.module)
    out = _dry(module)
    assert "\ufffd" not in out
    lines = [line[5:] for line in out.splitlines() if line.startswith("     ")]
    assert "-%.rust.o: lib%.a" in lines and "+%.rust.o: lib%.a FORCE" in lines
    assert " # after the rule: \\xe9t\\xe9" in lines  # unchanged context, its bytes shown
    assert lines[-2:] == [" # last line without a newline", "\\ No newline at end of file"]
    assert not any(line.startswith(("-#", "+# J", "-# last")) for line in lines)
    assert snapshot(module.module) == before
    module.assert_untouched()


def test_fix_rewrites_the_rule_and_keeps_every_other_byte(module: Sandbox) -> None:
    _dry(module)
    result = module.run("fix", "--yes", "--no-build", "--module-dir", str(module.module))
    assert result.code == 0, result.text
    clean(result)
    after = (module.module / "Kbuild").read_bytes()
    assert after.startswith(HEAD) and after.endswith(TAIL)
    middle = after[len(HEAD) : -len(TAIL)]
    assert b"$(call if_changed," in middle and b"\xef\xbf\xbd" not in after
    assert (module.module / "Kbuild.~1~").read_bytes() == KBUILD
    assert stat.S_IMODE((module.module / "Kbuild").stat().st_mode) == 0o640
    module.assert_untouched()


def test_a_symlinked_kbuild_is_written_through(module: Sandbox) -> None:
    shared = module.root / "shared"
    shared.mkdir()
    real = shared / "Kbuild.common"
    real.write_bytes(KBUILD)
    link = module.module / "Kbuild"
    link.unlink()
    link.symlink_to(real)
    _dry(module)
    result = module.run("fix", "--yes", "--no-build", "--module-dir", str(module.module))
    assert result.code == 0, result.text
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes().startswith(HEAD) and real.read_bytes() != KBUILD
    assert (shared / "Kbuild.common.~1~").read_bytes() == KBUILD
    assert not (module.module / "Kbuild.~1~").exists()
    module.assert_untouched()


def test_an_earlier_kbuild_backup_is_kept(module: Sandbox) -> None:
    older = module.module / "Kbuild.~1~"
    older.write_bytes(b"# the person's own backup\n")
    _dry(module)
    result = module.run("fix", "--yes", "--no-build", "--module-dir", str(module.module))
    assert result.code == 0, result.text
    assert older.read_bytes() == b"# the person's own backup\n"
    assert (module.module / "Kbuild.~2~").read_bytes() == KBUILD
    module.assert_untouched()
