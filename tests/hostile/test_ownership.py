"""A shared install no other user can turn into root: what kdoctor reads from its cache or its
settings and then executes, builds with or believes must belong to the user running it or to
root, and must not be writable by group or others (nor may the directories on the way from the
cache root). Each scenario plants the thing as a real second user (or opens it to others), runs
the real CLI, and asserts the exit code, the message naming the path and the reason, and that
nothing outside its own files changed; the last ones run kdoctor as that second user on a
machine root provisioned."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from kdoctor.model import cache_layout as layout
from tests.hostile.conftest import Sandbox
from tests.hostile.support_files import clean, seed_stock_image, snapshot, stock
from tests.hostile.users import User, open_dir, path_env, run_as, tree
from tests.real_machine import cannot_run

pytestmark = pytest.mark.hostile

RELEASE = "6.1.0-98-hostile"


def foreign(user: User) -> str:
    """The reason kdoctor, run by root, gives for a file of ``user``."""
    return f"it belongs to user {user.name} (uid {user.uid}), not to root"


def refused(result_err: str, path: Path, reason: str) -> None:
    """exit 3's one line: the path, why, the repair and where else kdoctor could be pointed."""
    assert f"kdoctor: will not use {path}: {reason}" in result_err, result_err
    assert "they could change what kdoctor runs or believes" in result_err
    assert "repair it with `" in result_err


def test_a_planted_cargo_config_naming_a_rustc_wrapper_is_never_used(
    sandbox: Sandbox, student: User
) -> None:
    home = Path(layout.cargo_home(str(sandbox.cache)))
    home.mkdir(parents=True)
    ran = sandbox.root / "wrapper-ran"
    wrapper = sandbox.root / "wrapper.sh"
    wrapper.write_text(f'#!/bin/sh\ntouch "{ran}"\nexec "$@"\n')
    wrapper.chmod(0o755)
    config = home / "config.toml"
    config.write_text(f'[build]\nrustc-wrapper = "{wrapper}"\n')
    student.owns(config)
    planted = snapshot(home)
    result = sandbox.run(
        "build", "--module-dir", str(sandbox.module), env={"CARGO_HOME": str(home)}
    )
    assert result.code == 3, result.text
    refused(result.err, config, foreign(student))
    assert f"rm -rf -- {config}" in result.err and "KDOCTOR_CACHE" in result.err
    clean(result)
    assert not ran.exists()
    assert snapshot(home) == planted and config.stat().st_uid == student.uid
    assert not (sandbox.module / "hello.ko").exists()
    sandbox.assert_untouched()


def _tree_of_another_user(sandbox: Sandbox, student: User) -> tuple[Path, Path]:
    kdir = Path(layout.kdir_of(str(sandbox.cache), RELEASE))
    kdir.mkdir(parents=True)
    (kdir / "Makefile").write_text("all:\n\ttouch pwned\n")
    top = Path(layout.release_dir(str(sandbox.cache), RELEASE))
    student.owns(top)
    return kdir, top


def test_a_kernel_tree_of_another_user_fails_the_check_by_name(
    sandbox: Sandbox, student: User
) -> None:
    kdir, top = _tree_of_another_user(sandbox, student)
    result = sandbox.run(
        "check", "kernel-headers", "--json", "--module-dir", str(sandbox.module),
        env={"KDIR": str(kdir)},
    )  # fmt: skip
    assert result.code == 1, result.text
    finding = json.loads(result.out)["checks"][0]
    assert finding["id"] == "kernel-headers" and finding["status"] == "fail"
    assert finding["summary"] == (
        f"kdoctor will not use {top}: {foreign(student)}: they could change what kdoctor runs "
        "or believes"
    )
    assert finding["remediation"]["commands"] == [f"rm -rf -- {top}"]
    clean(result)
    assert not list(kdir.parent.rglob("pwned"))
    sandbox.assert_untouched()


def test_a_kernel_tree_of_another_user_is_never_built_with(sandbox: Sandbox, student: User) -> None:
    kdir, top = _tree_of_another_user(sandbox, student)
    before = snapshot(top)
    result = sandbox.run("build", "--module-dir", str(sandbox.module), env={"KDIR": str(kdir)})
    assert result.code == 3, result.text
    refused(result.err, top, foreign(student))
    clean(result)
    assert snapshot(top) == before
    sandbox.assert_untouched()


def test_a_group_writable_verified_stamp_is_not_believed(sandbox: Sandbox) -> None:
    release = stock()
    seed_stock_image(sandbox)
    module = os.path.realpath(sandbox.module)
    name = hashlib.sha256(module.encode()).hexdigest()[:16]
    stamp = Path(layout.verified_stamp(str(sandbox.cache), name, release))
    stamp.parent.mkdir(parents=True)
    stamp.write_text('{"digest": "planted", "ko": "/x.ko", "verified_at": 0, "mode": "vm"}')
    stamp.chmod(0o664)
    dry = sandbox.run("fix", "--dry-run", "--kernel", release, "--module-dir", module)
    if dry.code != 0:  # the stamp is read only when nothing is left to do
        cannot_run(f"this machine's plan for {release} is not empty: {dry.text[-400:]}")
    result = sandbox.run("fix", "--yes", "--kernel", release, "--module-dir", module, timeout=600)
    assert result.code == 3, result.text
    refused(result.err, stamp, "the members of group root may write to it")
    assert f"chmod go-w -- {stamp}" in result.err
    clean(result)
    assert stamp.read_text().startswith('{"digest": "planted"')
    sandbox.assert_untouched()


@pytest.mark.parametrize("how", ["writable-by-all", "of-another-user"])
def test_a_settings_file_others_could_change_ends_every_command(
    sandbox: Sandbox, student: User, how: str
) -> None:
    sandbox.config.write_text("export CC=/tmp/pwned-cc\n")
    if how == "writable-by-all":
        sandbox.config.chmod(0o666)
        reason = "every user may write to it"
    else:
        student.owns(sandbox.config)
        reason = foreign(student)
    before = snapshot(sandbox.config.parent)
    for command in (("check",), ("fix", "--dry-run"), ("build",)):
        result = sandbox.run(*command, "--module-dir", str(sandbox.module))
        assert result.code == 3, result.text
        refused(result.err, sandbox.config, reason)
        assert "KDOCTOR_CONFIG" in result.err
        clean(result)
    assert snapshot(sandbox.config.parent) == before
    sandbox.assert_untouched()


def test_a_kept_probe_answer_of_another_user_is_not_believed(
    sandbox: Sandbox, student: User
) -> None:
    first = sandbox.run("check", "--json", "--module-dir", str(sandbox.module))
    probes = Path(layout.probes_dir(str(sandbox.cache)))
    kept = sorted(probes.glob("*.json")) if probes.is_dir() else []
    if first.code not in (0, 1) or not kept:
        cannot_run(f"check kept no probe answer here (needs bindgen): {first.err[-300:]}")
    student.owns(kept[0])
    result = sandbox.run("check", "--json", "--module-dir", str(sandbox.module))
    assert result.code == 3, result.text
    refused(result.err, kept[0], foreign(student))
    assert json.loads(result.out)["error"]["kind"] == "files"
    clean(result)
    sandbox.assert_untouched()


def test_as_root_a_cache_another_user_owns_is_never_used(sandbox: Sandbox, student: User) -> None:
    student.owns(sandbox.cache)
    result = sandbox.run("build", "--module-dir", str(sandbox.module))
    assert result.code == 3, result.text
    refused(result.err, sandbox.cache, foreign(student))
    assert "or point KDOCTOR_CACHE elsewhere" in result.err
    clean(result)
    assert list(sandbox.cache.iterdir()) == []
    sandbox.assert_untouched()


# -- kdoctor run by the second user on a machine root provisioned ------------------------------
def test_a_student_checks_a_machine_root_provisioned(
    sandbox: Sandbox, student: User, kit: Path
) -> None:
    """Root's cache (root's probe answers kept in it) and settings, each 0755/0644: the
    student's check reads them, keeps nothing, changes nothing, and says what it cannot use
    (KVM: the group that opens /dev/kvm)."""
    place = open_dir("owner-scenario-")
    try:
        cache, config = place / "cache", place / "etc" / "env"
        config.parent.mkdir()
        config.write_text("# written by root\nexport KDOCTOR_RUST=auto\n")
        home = place / "home"
        home.mkdir()
        (home / "notes").write_text("mine\n")
        student.owns(home)
        env = path_env({"KDOCTOR_CACHE": str(cache), "KDOCTOR_CONFIG": str(config)})
        module = str(kit / "hello-world")
        target = ("--kernel", stock())  # a kernel whose image the vm check can count on
        provisioned = sandbox.run("check", *target, "--module-dir", module, env=env)
        assert provisioned.code in (0, 1), provisioned.text
        before, home_before = tree(place / "cache"), tree(home)
        result = run_as(
            student, kit, "check", "--json", *target, "--module-dir", module,
            env={**env, "HOME": str(home)}, cwd=place,
        )  # fmt: skip
        assert result.code in (0, 1), result.text
        clean(result)
        report = json.loads(result.out)
        assert report["context"]["is_root"] is False
        assert not [c for c in report["checks"] if c["status"] == "error"], result.out
        assert tree(place / "cache") == before and tree(home) == home_before
        assert config.read_text().startswith("# written by root")
        vm = next(c for c in report["checks"] if c["id"] == "vm")
        if os.path.exists("/dev/kvm") and not _opens(student, "/dev/kvm"):
            group = vm["facts"]["kvm_group"]
            assert f"/dev/kvm not accessible: join group {group} with" in vm["summary"], vm
            assert f"`sudo usermod -aG {group} {student.name}`" in vm["summary"]
    finally:
        shutil.rmtree(place, ignore_errors=True)
    sandbox.assert_untouched()


def test_a_student_is_refused_a_cache_another_student_could_change(
    sandbox: Sandbox, student: User, kit: Path
) -> None:
    """A cache every user may write to (a shared 1777 directory, as /tmp is) is refused whoever
    runs kdoctor: another student could plant what this one's build would run."""
    place = open_dir("owner-scenario-")
    try:
        cache = place / "cache"
        cache.mkdir()
        cache.chmod(0o1777)
        home = place / "home"
        home.mkdir()
        student.owns(home)
        env = path_env({"KDOCTOR_CACHE": str(cache), "HOME": str(home)})
        result = run_as(
            student, kit, "build", "--module-dir", str(kit / "hello-world"), env=env, cwd=place
        )
        assert result.code == 3, result.text
        refused(result.err, cache, "every user may write to it")
        assert list(cache.iterdir()) == []
        clean(result)
    finally:
        shutil.rmtree(place, ignore_errors=True)
    sandbox.assert_untouched()


def _opens(user: User, device: str) -> bool:
    """Whether ``user`` (its groups as a login would have them) may open ``device``."""
    info = os.stat(device)
    if info.st_uid == user.uid:
        return bool(info.st_mode & 0o600 == 0o600)
    groups = os.getgrouplist(user.name, user.gid)
    if info.st_gid in groups:
        return bool(info.st_mode & 0o060 == 0o060)
    return bool(info.st_mode & 0o006 == 0o006)
