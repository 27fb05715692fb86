"""``kdoctor cache size`` and ``kdoctor cache clean`` on real directories with the real ``du``:
the kinds and items add up to ``du -sb`` of the cache (hard links once, symlinks never
followed, what cannot be read said), ``--json`` follows its schema, and ``clean`` shows what it
removes, asks on a terminal, refuses without one and removes nothing on ``--dry-run``."""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kdoctor.machine.runner import Runner
from kdoctor.model.cache_layout import (
    apt_dir,
    cached_config,
    cached_image,
    checksum_path,
    default_cache_dir,
    kernel_test_module,
    logs_dir,
    module_copy,
    probes_dir,
    release_dir,
    rust_kernel_tree,
    rust_sysroot_dir,
    toolchain_root,
    toolchain_root_record,
    tree_dir,
)
from kdoctor.pipeline.cache_usage import KINDS, measure
from tests.contract import validate

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]
R = "6.1.0-57-fake"
HARD = 5000  # a file hard-linked from a kernel's tree into a module copy
OUTSIDE = 1 << 20  # what a symlink in the cache points at, outside it


def du_sb(path: str, *, user: tuple[str, ...] = ()) -> int:
    done = subprocess.run([*user, "du", "-sb", path], capture_output=True, text=True, timeout=120)
    return int(done.stdout.split()[0])


def write(path: str, size: int) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(b"k" * size)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[str]:
    """A cache with files of known sizes in every kind, a hard link across two items, a
    symlink out of the cache, an unfinished fetch, a lock and an entry kdoctor does not know."""
    if shutil.which("du") is None:
        pytest.skip("no du on this machine")
    top = str(tmp_path / "cache")
    write(f"{tree_dir(top, R)}/usr/src/linux-headers-{R}/Makefile", 1234)
    write(f"{tree_dir(top, R)}/usr/src/big", HARD)
    image = cached_image(top, R)
    write(image, 7000)
    write(checksum_path(image), 65)
    write(cached_config(top, R), 300)
    write(f"{release_dir(top, R)}/tree.json", 111)
    write(f"{release_dir(top, '.partial-x')}/half.deb", 2222)
    write(f"{top}/kernels/{R}.lock", 0)
    write(f"{toolchain_root(top, 'trixie')}/usr/bin/rustc", 40000)
    write(toolchain_root_record(top, "trixie"), 77)
    write(f"{rust_kernel_tree(top, '6.12')}/vmlinux", 90000)
    write(f"{rust_sysroot_dir(top)}/abc/lib.rlib", 3333)
    write(f"{apt_dir(top, 'trixie')}/state/lists/Packages", 4444)
    write(f"{kernel_test_module(top, R)}/m.ko", 555)
    write(f"{logs_dir(top)}/build.log", 666)
    write(f"{probes_dir(top)}/p.json", 12)
    write(f"{top}/something-else/x", 10)
    os.makedirs(module_copy(top, "hello"))
    os.link(f"{tree_dir(top, R)}/usr/src/big", f"{module_copy(top, 'hello')}/big")
    outside = str(tmp_path / "outside.bin")
    write(outside, OUTSIDE)
    os.symlink(outside, f"{module_copy(top, 'hello')}/link")
    elsewhere = tmp_path / "elsewhere"  # a kernel directory that is a link out of the cache
    write(f"{elsewhere}/root/usr/src/huge", OUTSIDE)
    write(f"{elsewhere}/vmlinuz-6.1.0-99-fake", OUTSIDE)
    os.symlink(elsewhere, release_dir(top, "6.1.0-99-fake"))
    yield top


def kinds_of(usage: Any) -> dict[str, int]:
    return dict(usage.by_kind())


def test_the_kinds_add_up_to_du_and_each_file_is_counted_once_in_its_kind(cache: str) -> None:
    usage = measure(Runner(), cache)
    assert usage.unreadable == () and not usage.failed
    assert usage.total == du_sb(cache)  # the whole cache: sysroot, logs, copies, other too
    assert sum(item.bytes for item in usage.items) == usage.total
    kinds = kinds_of(usage)
    assert list(kinds) == list(KINDS) and sum(kinds.values()) == usage.total
    assert kinds["kernel-images"] == 7000 + 65 + 300  # files: exact
    assert kinds["logs"] == du_sb(logs_dir(cache)) >= 666
    assert kinds["toolchain-roots"] >= 40000 + 77  # the record goes with its root
    assert kinds["sysroots"] >= 3333 and kinds["apt"] >= 4444 and kinds["rust-kernels"] >= 90000
    # the hard link: counted under the kernel's tree, which comes first, not again in the copy
    trees = kinds["kernel-trees"]
    assert trees >= 1234 + HARD + 111 + 2222
    copies = {i.path: i.bytes for i in usage.of_kind("module-builds")}
    link = os.readlink(f"{module_copy(cache, 'hello')}/link")
    assert copies[f"modules{os.sep}hello"] < HARD  # the directory and a link's few bytes
    assert copies[f"modules{os.sep}hello"] >= len(link)  # the link itself, not what it names
    assert usage.total < OUTSIDE  # no symlink was followed out of the cache
    linked = [i for i in usage.items if i.path == f"kernels{os.sep}6.1.0-99-fake"]
    target = os.readlink(release_dir(cache, "6.1.0-99-fake"))
    assert [(i.kind, i.bytes) for i in linked] == [("kernel-trees", len(target))]  # the link
    other = {i.path for i in usage.of_kind("other")}
    assert {"probes", "something-else", "."} <= other
    partial = [i for i in usage.of_kind("kernel-trees") if i.rest]
    assert [i.path for i in partial] == ["kernels"] and partial[0].bytes >= 2222


def test_a_cache_reached_through_a_symlink_is_measured_where_it_is(
    cache: str, tmp_path: Path
) -> None:
    link = str(tmp_path / "cache-link")
    os.symlink(cache, link)
    usage = measure(Runner(), link)
    assert usage.cache_dir == os.path.realpath(cache) and usage.total == du_sb(cache)


def test_a_missing_cache_holds_nothing(tmp_path: Path) -> None:
    usage = measure(Runner(), str(tmp_path / "none"))
    assert usage.total == 0 and all(size == 0 for _k, size in usage.by_kind())


def kdoctor(
    *args: str, cache: str, user: tuple[str, ...] = (), home: str = "", **kw: Any
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KDOCTOR_CACHE": cache, "LC_ALL": "C.UTF-8"}
    if home:  # another user's: its own (absent) settings file
        env.update(HOME=home, KDOCTOR_CONFIG=os.path.join(home, "env"))
    env.pop("KDOCTOR_LANG", None)
    return subprocess.run(
        [*user, sys.executable, "-m", "kdoctor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        **kw,
    )


def test_cache_size_json_validates_and_says_the_total_du_says(cache: str) -> None:
    done = kdoctor("cache", "size", "--json", cache=cache)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    validate("cache-size", data)
    assert data["total_bytes"] == du_sb(cache) and data["measure"] == "apparent-size"
    assert sum(k["bytes"] for k in data["kinds"]) == data["total_bytes"]
    assert sum(i["bytes"] for i in data["items"]) == data["total_bytes"]
    assert {"path": f"kernels/{R}", "kind": "kernel-images", "bytes": 7365, "rest": False} in (
        data["items"]
    )
    data["surprise"] = 1
    with pytest.raises(Exception, match="surprise"):
        validate("cache-size", data)


def test_cache_size_text_gives_kinds_and_with_v_each_item(cache: str) -> None:
    plain = kdoctor("cache", "size", cache=cache)
    assert plain.returncode == 0, plain.stderr
    assert "kernel images (and their configurations)" in plain.stdout
    assert "du -sb" in plain.stdout and f"kernels/{R}" not in plain.stdout
    total = [line for line in plain.stdout.splitlines() if line.endswith(" total")]
    assert len(total) == 1
    verbose = kdoctor("cache", "size", "-v", cache=cache)
    assert verbose.returncode == 0, verbose.stderr
    for item in (f"kernels/{R}", "rust-kernels/roots/trixie", "modules/hello", "something-else"):
        assert f"  {item}" in verbose.stdout


def test_what_another_user_cannot_read_is_counted_as_far_as_it_can_be_and_said(
    cache: str,
) -> None:
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as another user")
    # a place another user can reach: pytest's own directory is private to root
    top = tempfile.mkdtemp(prefix="kdoctor-du-")
    try:
        os.chmod(top, 0o755)
        mine = os.path.join(top, "cache")
        shutil.copytree(cache, mine, symlinks=True)
        for directory, _dirs, _files in os.walk(mine):
            os.chmod(directory, 0o755)
        os.chmod(logs_dir(mine), 0o700)  # root's logs: another user cannot look inside
        nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--")
        done = kdoctor("cache", "size", "--json", cache=mine, user=nobody, cwd=top, home=top)
        assert done.returncode == 0, done.stderr
        data = json.loads(done.stdout)
        validate("cache-size", data)
        assert data["total_bytes"] == du_sb(mine, user=nobody) < du_sb(mine)
        assert any("logs" in line for line in data["unreadable"]), data["unreadable"]
        text = kdoctor("cache", "size", cache=mine, user=nobody, cwd=top, home=top)
        assert "not everything could be read" in text.stdout
    finally:
        shutil.rmtree(top)


def test_the_real_cache_adds_up_to_du() -> None:
    """kdoctor's own cache on this machine (other runs may be writing it: measured again until
    du says the same before and after)."""
    real = default_cache_dir(os.environ)
    if not os.path.isdir(real):
        pytest.skip("no kdoctor cache on this machine")
    for _attempt in range(5):
        before = du_sb(real)
        usage = measure(Runner(), real)
        if before == du_sb(real):
            assert usage.total == before
            assert sum(size for _k, size in usage.by_kind()) == before
            return
        time.sleep(1)
    pytest.skip("the cache kept changing while it was measured")


# -- cache clean ----------------------------------------------------------------------------------
def test_clean_dry_run_lists_each_item_and_the_total_and_removes_nothing(cache: str) -> None:
    before = du_sb(cache)
    done = kdoctor("cache", "clean", "--dry-run", cache=cache)
    assert done.returncode == 0, done.stderr
    assert f"kernels/{R}" in done.stdout and f"test/{R}" in done.stdout
    assert "rust-kernels/roots/trixie" in done.stdout and "apt" in done.stdout
    assert "nothing removed (--dry-run)" in done.stdout
    totals = [line for line in done.stdout.splitlines() if line.endswith(" total")]
    assert len(totals) == 1
    assert du_sb(cache) == before


def test_clean_without_yes_and_without_a_terminal_refuses_and_removes_nothing(
    cache: str,
) -> None:
    before = du_sb(cache)
    done = kdoctor("cache", "clean", "--kernel", R, cache=cache)
    assert done.returncode == 2
    assert "not removing without --yes (no terminal to ask on)" in done.stderr
    assert f"kernels/{R}" in done.stdout  # what it would have removed was shown
    assert du_sb(cache) == before and os.path.isdir(release_dir(cache, R))


def on_a_terminal(args: list[str], cache: str, answer: bytes) -> tuple[int, str]:
    """Run kdoctor with a pseudo-terminal as its stdin and stdout; ``answer`` the prompt."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KDOCTOR_CACHE": cache, "LC_ALL": "C.UTF-8"}
    env.pop("KDOCTOR_LANG", None)
    main, side = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kdoctor", *args], stdin=side, stdout=side, stderr=side, env=env
    )
    os.close(side)
    said = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _w, _x = select.select([main], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            said += chunk
            if not answered and b"[y/N]" in said:
                os.write(main, answer)
                answered = True
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=30)
    os.close(main)
    return code, said.decode("utf-8", "replace")


def test_clean_asks_on_a_terminal_and_a_no_removes_nothing(cache: str) -> None:
    code, said = on_a_terminal(["cache", "clean", "--kernel", R], cache, b"n\n")
    assert "Remove these" in said and code == 6, said  # declined: its own code
    assert "nothing removed" in said and os.path.isdir(release_dir(cache, R))


def test_clean_asks_on_a_terminal_and_a_yes_removes_the_kernel(cache: str) -> None:
    code, said = on_a_terminal(["cache", "clean", "--kernel", R], cache, b"y\n")
    assert code == 0, said
    assert f"removed kernel {R}" in said
    assert not os.path.exists(release_dir(cache, R))
    assert os.path.isdir(toolchain_root(cache, "trixie"))  # only what --kernel chose


def test_clean_with_yes_removes_kernels_lists_and_roots_and_tells_what_is_left(
    cache: str,
) -> None:
    done = kdoctor("cache", "clean", "--yes", cache=cache)
    assert done.returncode == 0, done.stderr
    assert not os.path.exists(release_dir(cache, R))
    assert not os.path.exists(toolchain_root(cache, "trixie"))
    assert os.path.isdir(logs_dir(cache))  # logs are not kernels
    assert "the cache now holds" in done.stdout
