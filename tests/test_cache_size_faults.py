"""``kdoctor cache size`` when ``du`` cannot help: not installed (nothing measured, said, exit
1, still one valid document), or unable to read part of the cache (counted as far as it could,
what it could not read said in its own words)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

from kdoctor.pipeline.cache_usage import measure
from tests.contract import validate
from tests.fake_system import FakeSystem, Reply

CACHE = "/home/u/.cache/kdoctor"
FILES = {f"{CACHE}/logs/a.log": "x" * 10, f"{CACHE}/kernels/6.1.0-57-amd64/root/Makefile": "y"}


def test_without_du_nothing_is_measured_and_it_is_said() -> None:
    usage = measure(FakeSystem(files=FILES), CACHE)
    assert usage.failed and usage.items == () and usage.total == 0
    assert usage.unreadable == ("du: command not found",)
    data = {"kdoctor_version": "0", "schema_version": 1, **usage.to_json()}
    assert data["exit_code"] == 1
    validate("cache-size", data)


def test_what_du_cannot_read_is_said_and_the_rest_counted() -> None:
    said = "du: cannot read directory '/home/u/.cache/kdoctor/logs': Permission denied"

    def du(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        paths = argv[argv.index("--") + 1 :]
        return Reply(stdout="".join(f"100\t{p}\0" for p in paths), stderr=said + "\n", exit_code=1)

    system = FakeSystem(files=FILES, programs={"du": "/usr/bin/du"}, handlers={"du": du})
    usage = measure(system, CACHE)
    assert not usage.failed and usage.unreadable == (said,)
    assert usage.total == 100 * len(system.runs[0][system.runs[0].index("--") + 1 :])
    assert dict(usage.by_kind())["logs"] == 100
