"""Downloads a person can follow: each ``.deb`` apt-get writes is told as it grows (apt's
announced size, the file's bytes so far) and once finished with its exact size; on a terminal
a Rich bar with size and rate, piped one line per file."""

from __future__ import annotations

import io
import os
import re
import shutil
from pathlib import Path

import pytest

from kdoctor.machine.runner import Runner
from kdoctor.pipeline.kernels.download import Transfer, announced, apt_download, package_of
from kdoctor.render.text import StepDisplay
from tests.conftest import tool
from tests.display_console import display_console


def test_apt_s_get_lines_announce_the_package_and_its_size() -> None:
    line = "Get:1 http://deb.debian.org/debian bookworm/main amd64 gcc-12 amd64 12.2.0-14 [19.3 MB]"
    assert announced(line) == ("gcc-12", 19_300_000)
    small = "Get:2 http://deb.debian.org/debian bookworm/main amd64 hello amd64 2.10-3 [53.1 kB]"
    assert announced(small) == ("hello", 53_100)
    tiny = "Get:3 http://h/debian trixie/main amd64 libfoo1 amd64 1.0 [1,234 B]"
    assert announced(tiny) == ("libfoo1", 1234)
    assert announced("Fetched 19.3 MB in 0s (157 MB/s)") is None
    assert announced("Get:1 http://h/debian bookworm InRelease [151 kB]") is None  # an index
    assert announced("Get:1 http://h/d b/main amd64 p amd64 1.0 [many TB]") is None
    assert package_of("linux-image-6.1.0-57-amd64_6.1.158-1_amd64.deb") == (
        "linux-image-6.1.0-57-amd64"
    )


def slow_apt(bin_dir: Path, size: int, chunks: int, pause: float) -> None:
    """An apt-get that announces ``p1`` and writes it in ``chunks`` pieces, ``pause`` apart."""
    piece = size // chunks
    tool(
        bin_dir,
        "apt-get",
        'echo "Get:1 http://h/debian bookworm/main amd64 p1 amd64 1.0 [3.0 MB]"\n'
        f"for i in $(seq {chunks}); do head -c {piece} /dev/zero >> p1_1.0_amd64.deb; "
        f"sleep {pause}; done\n"
        'echo "Fetched 3.0 MB in 1s (3 MB/s)"\n',
    )


def test_a_growing_file_is_told_as_it_grows_then_finished_with_its_exact_size(
    bin_dir: Path, tmp_path: Path
) -> None:
    slow_apt(bin_dir, 3_000_000, 6, 0.15)
    work = tmp_path / "work"
    work.mkdir()
    told: list[Transfer] = []
    system = Runner({"PATH": f"{bin_dir}:/usr/bin:/bin"})
    got = apt_download(
        system, ["apt-get", "download", "p1"], cwd=str(work), timeout=30, on_download=told.append
    )
    assert got.ok, got.output
    assert {t.name for t in told} == {"p1"}
    growing = [t for t in told if not t.finished]
    assert len({t.done for t in growing}) >= 2  # seen part-way, more than once
    assert all(t.total == 3_000_000 for t in growing)  # the size apt announced
    assert [t.done for t in growing] == sorted(t.done for t in growing)
    last = told[-1]
    assert last.finished and last.done == last.total == 3_000_000 and last.seconds > 0.3
    assert (work / "p1_1.0_amd64.deb").stat().st_size == 3_000_000  # the download unchanged


def test_without_anyone_to_tell_the_command_runs_as_before(bin_dir: Path, tmp_path: Path) -> None:
    slow_apt(bin_dir, 1000, 1, 0)
    system = Runner({"PATH": f"{bin_dir}:/usr/bin:/bin"})
    got = apt_download(system, ["apt-get", "download", "p1"], cwd=str(tmp_path), timeout=30)
    assert got.ok and "Get:1" in got.stdout and (tmp_path / "p1_1.0_amd64.deb").exists()


def shown(terminal: bool) -> str:
    buffer = io.StringIO()
    out = display_console(buffer, terminal=terminal, width=160)
    with StepDisplay(out, "fetch-kernel") as display:
        display.step("downloading p1, p2 from bookworm")
        for done in (0, 1 << 20, 2 << 20):
            display.download(Transfer("p1", done, 3 << 20, 0.5 + done / (4 << 20)))
            if display._progress is not None:
                display._progress.refresh()
        display.download(Transfer("p1", 3 << 20, 3 << 20, 1.5, finished=True))
        display.download(Transfer("p2", 4096, 4096, 0.1, finished=True))
        if display._progress is not None:
            display._progress.refresh()
    return buffer.getvalue()


def test_piped_each_downloaded_file_is_one_line_with_its_size_and_rate() -> None:
    lines = [line for line in shown(False).splitlines() if "downloaded" in line]
    assert lines == [
        "  downloaded p1: 3.0 MiB in 1.5 s (2.0 MiB/s)",
        "  downloaded p2: 4.0 KiB in 0.1 s (40.0 KiB/s)",
    ]


def test_on_a_terminal_each_file_has_a_bar_with_its_size_and_rate() -> None:
    text = shown(True)
    assert "━" in text  # Rich's bar
    assert re.search(r"p1.*━.*\d+(\.\d+)?/3\.0 MiB", text), text  # bytes so far / of how many
    assert re.search(r"p1.*(MB/s|kB/s|\?)", text)
    assert re.search(r"p2.*4\.0/4\.0 KiB", text)


@pytest.mark.integration
def test_a_real_apt_get_download_is_told(tmp_path: Path) -> None:
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("needs apt-get (as root: apt hands downloads to its sandbox user)")
    told: list[Transfer] = []
    got = apt_download(
        Runner(),
        ["apt-get", "download", "hello"],
        cwd=str(tmp_path),
        timeout=120,
        on_download=told.append,
    )
    if not got.ok:
        pytest.skip(f"the archive cannot be reached: {got.describe_failure()}")
    [deb] = [p for p in tmp_path.iterdir() if p.suffix == ".deb"]
    assert told and told[-1].finished and told[-1].name == "hello"
    assert told[-1].done == deb.stat().st_size
