from __future__ import annotations

import gzip
import os
import stat
import subprocess
from pathlib import Path

import pytest

from kdoctor.machine.runner import Runner
from kdoctor.pipeline.verify.initramfs import Archive, Entry, parse_newc, read_gzip
from tests.fake_system import FakeSystem
from tests.real_machine import require_tools


def sample() -> Archive:
    archive = Archive()
    archive.add_dir("dev")
    archive.add_char_device("/dev/console", 5, 1)
    archive.add_file("/bin/busybox", b"\x7fELF pretend busybox", 0o755)
    archive.add_symlink("/bin/sh", "busybox")
    archive.add_file("/init", b"#!/bin/sh\necho hi\n", 0o755)
    archive.add_file("/lib/modules/helloworld.ko", b"k" * 4099)
    return archive


def test_round_trip_keeps_names_types_modes_data_and_order() -> None:
    entries = parse_newc(sample().to_newc())
    assert [(e.name, oct(e.mode)) for e in entries] == [
        ("dev", oct(stat.S_IFDIR | 0o755)),
        ("dev/console", oct(stat.S_IFCHR | 0o600)),
        ("bin", oct(stat.S_IFDIR | 0o755)),
        ("bin/busybox", oct(stat.S_IFREG | 0o755)),
        ("bin/sh", oct(stat.S_IFLNK | 0o777)),
        ("init", oct(stat.S_IFREG | 0o755)),
        ("lib", oct(stat.S_IFDIR | 0o755)),
        ("lib/modules", oct(stat.S_IFDIR | 0o755)),
        ("lib/modules/helloworld.ko", oct(stat.S_IFREG | 0o644)),
    ]
    by_name = {e.name: e for e in entries}
    assert by_name["dev/console"].rdev == (5, 1)
    assert by_name["bin/sh"].is_symlink and by_name["bin/sh"].target == "busybox"
    assert by_name["init"].data == b"#!/bin/sh\necho hi\n"
    assert by_name["lib/modules/helloworld.ko"].data == b"k" * 4099


def test_headers_are_newc_and_aligned_with_a_trailer() -> None:
    data = sample().to_newc()
    assert data.startswith(b"070701")
    assert len(data) % 4 == 0
    assert b"TRAILER!!!\0" in data[-128:]
    # every member header starts on a 4-byte boundary
    offsets = [i for i in range(0, len(data), 4) if data[i : i + 6] == b"070701"]
    assert len(offsets) == len(sample().entries()) + 1


def test_output_is_deterministic_including_the_gzip_header() -> None:
    first, second = sample().to_gzip(), sample().to_gzip()
    assert first == second
    # gzip header: magic, method, flags (no FNAME), mtime 0
    assert first[:3] == b"\x1f\x8b\x08"
    assert first[3] & 0x08 == 0
    assert first[4:8] == b"\0\0\0\0"
    assert [e.mtime for e in read_gzip(first)] == [0] * len(sample().entries())


def test_write_puts_the_gzip_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "initrd.cpio.gz"
    sample().write(Runner(), str(path))
    assert parse_newc(gzip.decompress(path.read_bytes())) == sample().entries()


def test_write_goes_through_the_system() -> None:
    system = FakeSystem()
    sample().write(system, "/w/initrd.cpio.gz")
    assert system.writes == [("/w/initrd.cpio.gz", "write")]
    assert read_gzip(system.read_bytes("/w/initrd.cpio.gz") or b"") == sample().entries()


def test_duplicates_and_escaping_paths_are_refused() -> None:
    archive = Archive()
    archive.add_file("init", b"")
    with pytest.raises(ValueError, match="already in the archive"):
        archive.add_file("/init", b"")
    with pytest.raises(ValueError, match="not a path inside"):
        archive.add_file("../etc/passwd", b"")
    with pytest.raises(ValueError, match="not a path inside"):
        archive.add_dir("/")


def test_a_directory_added_twice_is_kept_once() -> None:
    archive = Archive()
    archive.add_file("bin/a", b"")
    archive.add_dir("bin")
    assert [e.name for e in archive.entries()] == ["bin", "bin/a"]


def test_truncated_archive_is_reported() -> None:
    data = sample().to_newc()
    with pytest.raises(ValueError, match="no newc header"):
        parse_newc(data[:200])


def test_entry_properties() -> None:
    entry = Entry("bin/sh", stat.S_IFLNK | 0o777, b"busybox")
    assert entry.is_symlink and not entry.is_dir
    assert entry.permissions == 0o777


@pytest.mark.integration
def test_real_cpio_extracts_what_we_wrote(tmp_path: Path) -> None:
    require_tools("cpio")
    archive = Archive()
    archive.add_file("bin/busybox", b"binary\0data", 0o755)
    archive.add_symlink("bin/sh", "busybox")
    archive.add_dir("proc", 0o555)
    archive.add_file("etc/motd", b"hello\n", 0o640)
    out = tmp_path / "root"
    out.mkdir()
    subprocess.run(
        ["cpio", "-idm", "--quiet", "--no-absolute-filenames"],
        input=archive.to_newc(),
        cwd=out,
        check=True,
    )
    assert (out / "bin/busybox").read_bytes() == b"binary\0data"
    assert stat.S_IMODE(os.stat(out / "bin/busybox").st_mode) == 0o755
    assert os.readlink(out / "bin/sh") == "busybox"
    assert (out / "etc/motd").read_text() == "hello\n"
    assert stat.S_IMODE(os.stat(out / "etc/motd").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(out / "proc").st_mode) == 0o555
    listing = subprocess.run(
        ["cpio", "-it", "--quiet"], input=archive.to_newc(), capture_output=True, check=True
    )
    assert listing.stdout.decode().split() == [e.name for e in archive.entries()]
