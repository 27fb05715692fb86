"""kdoctor's cache shared by two runs, and cached artefacts that are not what they claim: each
artefact is locked while it is made (the second run waits, visibly), written atomically, and a
fetched kernel image is checked against the sha256 recorded when it was fetched."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from tests.hostile.conftest import Sandbox
from tests.hostile.fakes import RECORD, calls, fake_tool, finish, start, wait_for

pytestmark = pytest.mark.hostile

RELEASE = "6.1.0-98-hostile"
PACKAGE = f"linux-image-{RELEASE}"
FETCHED = b"MZ the fetched kernel image"


def fake_apt(sandbox: Sandbox, delay: float = 0.0) -> None:
    """apt-cache that knows the package, apt-get download that takes ``delay`` seconds, and
    dpkg-deb that unpacks an image; each call is recorded."""
    log = sandbox.root / "apt-get.calls"
    fake_tool(
        sandbox,
        "apt-cache",
        '#!/bin/sh\nprintf "%s:\\n  Installed: (none)\\n  Candidate: 1.0\\n" "$2"\n',
    )
    fake_tool(
        sandbox,
        "apt-get",
        f"#!/bin/sh\n{RECORD.format(log=log)}\nsleep {delay}\n"
        f'printf "deb" > "${{2}}_1.0_amd64.deb"\n',
    )
    fake_tool(
        sandbox,
        "dpkg-deb",
        f'#!/bin/sh\nmkdir -p "$3/boot"\n'
        f'printf "{FETCHED.decode()}" > "$3/boot/vmlinuz-{RELEASE}"\n',
    )


def image(sandbox: Sandbox) -> Path:
    return sandbox.cache / "kernels" / RELEASE / f"vmlinuz-{RELEASE}"


def test_two_runs_on_an_empty_cache_fetch_once_and_both_succeed(sandbox: Sandbox) -> None:
    fake_apt(sandbox, delay=2.0)
    first = start(sandbox, "fetch-image", RELEASE)
    assert wait_for(lambda: calls(sandbox, "apt-get") != [])
    second = start(sandbox, "fetch-image", RELEASE)
    one, two = finish(first), finish(second)
    assert one.code == 0 and two.code == 0, one.text + two.text
    assert f"waiting for {image(sandbox)}.lock held by another kdoctor" in two.out
    assert len(calls(sandbox, "apt-get")) == 1  # the second found the first's image
    assert image(sandbox).read_bytes() == FETCHED
    assert [p.name for p in image(sandbox).parent.iterdir() if p.name.startswith(".partial")] == []
    sandbox.assert_untouched()


def test_a_fetch_records_the_images_checksum(sandbox: Sandbox) -> None:
    fake_apt(sandbox)
    result = sandbox.run("fetch-image", RELEASE)
    assert result.code == 0, result.text
    recorded = Path(f"{image(sandbox)}.sha256").read_text().split()[0]
    assert recorded == hashlib.sha256(FETCHED).hexdigest()
    sandbox.assert_untouched()


@pytest.mark.parametrize(
    "damage",
    ["truncated", "altered", "emptied"],
)
def test_a_damaged_cached_image_is_noticed_and_fetched_again(sandbox: Sandbox, damage: str) -> None:
    fake_apt(sandbox)
    assert sandbox.run("fetch-image", RELEASE).code == 0
    path = image(sandbox)
    data = {"truncated": FETCHED[:5], "altered": FETCHED[:-1] + b"!", "emptied": b""}[damage]
    path.write_bytes(data)
    result = sandbox.run("fetch-image", RELEASE)
    assert result.code == 0, result.text
    assert "is damaged" in result.out
    assert len(calls(sandbox, "apt-get")) == 2
    assert path.read_bytes() == FETCHED
    sandbox.assert_untouched()


def test_an_intact_cached_image_is_not_fetched_again(sandbox: Sandbox) -> None:
    fake_apt(sandbox)
    assert sandbox.run("fetch-image", RELEASE).code == 0
    started = time.monotonic()
    result = sandbox.run("fetch-image", RELEASE)
    assert result.code == 0 and "is damaged" not in result.out
    assert len(calls(sandbox, "apt-get")) == 1 and time.monotonic() - started < 30
    sandbox.assert_untouched()
