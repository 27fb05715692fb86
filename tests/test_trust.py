"""What kdoctor trusts in its cache and settings: owned by this user or root, not writable by
group or others, and so is every directory on the way from the cache root (strict fakes, and
the real umask)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kdoctor.machine.files import PlaceError
from kdoctor.machine.runner import Runner
from kdoctor.machine.trust import (
    UntrustedPlace,
    chain,
    distrust,
    distrust_within,
    refuse_untrusted,
)
from tests.fake_system import FakeSystem

CACHE = "/var/cache/kdoctor"
STAMP = f"{CACHE}/verified/m-6.1.json"


def test_the_chain_runs_from_the_cache_root_down_to_the_path() -> None:
    assert chain(CACHE, STAMP) == [CACHE, f"{CACHE}/verified", STAMP]
    assert chain(CACHE, CACHE + "/") == [CACHE]
    assert chain(CACHE, "/etc/kdoctor/env") == ["/etc/kdoctor/env"]


def test_what_this_user_or_root_owns_and_nobody_else_may_write_is_trusted() -> None:
    system = FakeSystem(uid=1000, files={STAMP: "{}"}, owners={CACHE: (0, 0o755)})
    assert distrust_within(system, CACHE, STAMP) is None
    assert distrust_within(system, CACHE, f"{CACHE}/kvm.json") is None  # missing: made later
    assert distrust(system, "/nowhere") is None


@pytest.mark.parametrize(
    ("uid", "place", "owner", "reason", "command"),
    [
        (1000, STAMP, (1001, 0o644), "belongs to user 1001, not to you or root", "rm -rf --"),
        (0, STAMP, (1000, 0o644), "belongs to user 1000, not to root", "rm -rf --"),
        (1000, STAMP, (1000, 0o664), "members of group 1000 may write", "chmod go-w --"),
        (0, f"{CACHE}/verified", (0, 0o777), "every user may write", "chmod -R go-w --"),
        (0, CACHE, (0, 0o1777), "every user may write", "chmod -R go-w --"),
    ],
)
def test_another_owner_or_others_write_access_is_named_with_its_repair(
    uid: int, place: str, owner: tuple[int, int], reason: str, command: str
) -> None:
    system = FakeSystem(uid=uid, files={STAMP: "{}"}, owners={place: owner})
    found = distrust_within(system, CACHE, STAMP)
    assert found is not None and found.path == place
    assert reason in found.reason and "what kdoctor runs or believes" in found.reason
    assert found.command == f"{command} {place}"
    with pytest.raises(UntrustedPlace) as caught:
        refuse_untrusted(system, CACHE, STAMP)
    assert isinstance(caught.value, PlaceError)  # exit 3, as any place kdoctor cannot use
    assert str(caught.value).startswith(f"will not use {place}: ")  # after "kdoctor: "
    assert f"`{found.command}`" in str(caught.value) and "KDOCTOR_CACHE" in str(caught.value)


def test_a_tree_is_walked_for_what_another_user_planted() -> None:
    home = f"{CACHE}/cargo-home"
    planted = f"{home}/config.toml"
    system = FakeSystem(
        files={planted: "[build]\nrustc-wrapper = '/tmp/x'\n"},
        dirs={f"{home}/registry": []},
        owners={planted: (1001, 0o644)},
    )
    assert distrust_within(system, CACHE, home) is None  # the directory alone is fine
    found = distrust_within(system, CACHE, home, tree=True)
    assert found is not None and found.path == planted


def test_a_symlinked_directory_is_judged_where_it_points_and_not_walked() -> None:
    system = FakeSystem(
        files={"/elsewhere/x": ""},
        dirs={f"{CACHE}/modules": []},
        symlinks={f"{CACHE}/modules/m": "/elsewhere"},
        owners={"/elsewhere": (1001, 0o755)},
    )
    found = distrust_within(system, CACHE, f"{CACHE}/modules/m")
    assert found is not None and found.path == f"{CACHE}/modules/m"


def test_the_settings_variable_is_named_for_the_settings_file() -> None:
    system = FakeSystem(files={"/etc/kdoctor/env": ""}, owners={"/etc/kdoctor/env": (0, 0o666)})
    found = distrust(system, "/etc/kdoctor/env", "KDOCTOR_CONFIG")
    assert found is not None and "KDOCTOR_CONFIG" in found.remedy()


def test_the_runner_makes_nothing_group_or_others_may_write(tmp_path: Path) -> None:
    old = os.umask(0o002)
    try:
        runner = Runner()
        runner.write_file(str(tmp_path / "d" / "f"), "x")
        assert runner.ownership(str(tmp_path / "d")) is not None
        assert distrust_within(runner, str(tmp_path), str(tmp_path / "d" / "f")) is None
        assert os.umask(0o022) & 0o022 == 0o022
    finally:
        os.umask(old)


def test_a_device_where_a_file_goes_is_left_to_the_file_checks() -> None:
    system = FakeSystem(specials={"/c/env": "a character device"}, owners={"/c/env": (0, 0o666)})
    assert distrust(system, "/c/env") is None  # "is a character device, not a regular file"
