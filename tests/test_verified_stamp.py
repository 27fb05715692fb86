"""A rerun of ``fix`` with nothing to change skips the build and the VM, and only then: any
change to the module's sources, the .ko, the kernel image, the toolchain or the settings makes
it build and verify again."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import kdoctor.pipeline.provision as provision_module
from kdoctor.facts.rustc import RustToolchain
from kdoctor.model.plan import Plan
from kdoctor.model.report import Report
from kdoctor.pipeline.build import BuildResult
from kdoctor.pipeline.provision import Halt, ProvisionOptions, ProvisionResult, provision
from kdoctor.pipeline.verify import stamp as verified_stamp
from kdoctor.pipeline.verify.result import VerifyResult
from kdoctor.render.fix_json import fix_json
from tests.conftest import make_context
from tests.fake_system import FakeSystem

MOD = "/src/hello-world"
KO = "/cache/modules/hello-world/helloworld.ko"
CACHE = "/root/.cache/kdoctor"
IMAGE = f"{CACHE}/kernels/6.1.0-56-amd64/vmlinuz-6.1.0-56-amd64"
RUSTC = "/usr/bin/rustc"


def toolchain(**changes: Any) -> RustToolchain:
    base = RustToolchain(
        source="distro",
        rustc=RUSTC,
        version="1.96.0",
        channel="stable",
        sysroot="/usr",
        library_src="/usr/lib/rustlib/src/rust/library",
        rustfmt=None,
        env={"RUSTC_BOOTSTRAP": "1"},
        reason="",
        usable=True,
    )
    return replace(base, **changes)


def machine() -> FakeSystem:
    return FakeSystem(
        files={
            f"{MOD}/Kbuild": "obj-m := helloworld.o\n",
            f"{MOD}/src/lib.rs": "// hello\n",
            f"{MOD}/helloworld.o": b"build output, not a source",
            KO: b"\x7fELF module",
            IMAGE: b"bzImage",
            RUSTC: b"rustc",
            "/bin/busybox": b"busybox",
        },
        dirs={MOD: ["Kbuild", "src", "helloworld.o", "target"], f"{MOD}/src": ["lib.rs"]},
        programs={"busybox": "/bin/busybox", "bindgen": "/usr/bin/bindgen", "cc": "/usr/bin/cc"},
        mtimes={RUSTC: 1.0},
    )


CTX = make_context(module_dir=MOD, cache_dir=CACHE)


def recorded(system: FakeSystem) -> None:
    verified_stamp.record(CTX, system, toolchain(), KO, "vm")


def test_an_unchanged_machine_is_still_verified() -> None:
    system = machine()
    recorded(system)
    stamp = verified_stamp.still_verified(CTX, system, toolchain())
    assert stamp is not None and stamp.ko == KO and stamp.mode == "vm"


def test_nothing_is_recorded_without_a_verification() -> None:
    assert verified_stamp.still_verified(CTX, machine(), toolchain()) is None


@pytest.mark.parametrize(
    "change",
    [
        "source edited",
        "source added",
        "ko rebuilt",
        "ko removed",
        "image replaced",
        "rustc upgraded",
        "toolchain env",
        "settings",
        "kdoctor upgraded",
    ],
)
def test_any_change_means_build_and_verify_again(
    change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = machine()
    recorded(system)
    ctx, chain = CTX, toolchain()
    if change == "source edited":
        system.files[f"{MOD}/src/lib.rs"] = "// hello, edited\n"
    elif change == "source added":
        system.files[f"{MOD}/src/extra.rs"] = ""
        system.dirs[f"{MOD}/src"].append("extra.rs")
    elif change == "ko rebuilt":
        system.files[KO] = b"\x7fELF module, rebuilt"
    elif change == "ko removed":
        del system.files[KO]
    elif change == "image replaced":
        system.files[IMAGE] = b"another bzImage"
    elif change == "rustc upgraded":
        system.mtimes[RUSTC] = 2.0
    elif change == "toolchain env":
        chain = toolchain(env={})
    elif change == "settings":
        ctx = replace(CTX, env={"CC": "clang"})
    else:
        monkeypatch.setattr(verified_stamp, "__version__", "99.0.0")
    assert verified_stamp.still_verified(ctx, system, chain) is None


@pytest.mark.parametrize(
    "path",
    [
        f"{MOD}/helloworld.o",  # an output the next build may not remake
        f"{MOD}/src/bindings.rs",  # hand-written, though generated ones have the name
        f"{MOD}/target/debug/liblink.a",  # under a directory named target
        f"{MOD}/.hidden.cmd",
        "/cache/modules/hello-world/.helloworld.o.cmd",  # the build copy's files too
    ],
)
def test_every_file_of_the_module_and_its_build_is_an_input(path: str) -> None:
    """No file is left out by its name: a stale module is never reported verified."""
    system = machine()
    system.files[path] = b"as verified"
    recorded(system)
    assert verified_stamp.still_verified(CTX, system, toolchain()) is not None
    system.files[path] = b"edited since"
    assert verified_stamp.still_verified(CTX, system, toolchain()) is None


def test_files_the_build_read_outside_the_module_are_inputs_by_identity() -> None:
    """A header (or a kernel crate's metadata) named by kbuild's record of the build."""
    system = machine()
    header = "/lib/modules/6.1.0-56-amd64/build/include/linux/module.h"
    system.files["/cache/modules/hello-world/.helloworld.o.cmd"] = (
        "savedcmd_helloworld.o := rustc ...\n"
        "deps_helloworld.o := \\\n  include/linux/module.h \\\n  /abs/rust/libcore.rmeta \\\n\n"
    )
    system.files[header] = b"header"
    system.files["/abs/rust/libcore.rmeta"] = b"core"
    recorded(system)
    assert verified_stamp.still_verified(CTX, system, toolchain()) is not None
    system.mtimes[header] = 99.0  # touched, rewritten: another identity
    assert verified_stamp.still_verified(CTX, system, toolchain()) is None


def test_version_control_s_files_are_not_inputs() -> None:
    system = machine()
    system.files[f"{MOD}/.git/index"] = b"before git status"
    recorded(system)
    system.files[f"{MOD}/.git/index"] = b"after git status"
    assert verified_stamp.still_verified(CTX, system, toolchain()) is not None


def test_a_file_too_big_to_hash_whole_means_no_stamp_is_trusted() -> None:
    system = machine()
    system.files[f"{MOD}/blob.bin"] = b"x" * (verified_stamp.MAX_FILE_BYTES + 1)
    recorded(system)
    assert verified_stamp.still_verified(CTX, system, toolchain()) is None


@pytest.mark.parametrize("damage", [b"{", b'{"digest": 1}', b"[]"])
def test_a_damaged_record_is_not_trusted(damage: bytes) -> None:
    system = machine()
    recorded(system)
    system.files[verified_stamp.stamp_path(CTX)] = damage
    assert verified_stamp.still_verified(CTX, system, toolchain()) is None


class Pipeline:
    """provision() with planning, building and verifying replaced by counters."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, system: FakeSystem) -> None:
        self.builds = self.verifies = 0
        report = Report(CTX, (), 0.0)
        planned = ProvisionResult(CTX, report, Plan(()), CTX)
        monkeypatch.setattr(provision_module, "select_context", lambda options, system: CTX)
        monkeypatch.setattr(provision_module, "plan_for", lambda options, facts: planned)
        monkeypatch.setattr(provision_module.Facts, "of", lambda facts, fact: toolchain())
        monkeypatch.setattr(provision_module, "build_module", self.build)
        monkeypatch.setattr(provision_module, "verify_module", self.verify)
        self.system = system

    def build(self, *_: Any, **__: Any) -> tuple[RustToolchain, BuildResult]:
        self.builds += 1
        return toolchain(), BuildResult(True, MOD, KO, "/log", 1.0, ("make",), 0)

    def verify(self, *_: Any, **__: Any) -> VerifyResult:
        self.verifies += 1
        return VerifyResult("vm", True, "ok", "6.1.0-56-amd64", "helloworld")

    def run(self, **options: Any) -> ProvisionResult:
        return provision(ProvisionOptions(consent=True, **options), lambda: self.system)


def test_a_rerun_with_nothing_changed_skips_build_and_vm(monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = Pipeline(monkeypatch, machine())
    first = pipeline.run()
    assert first.halt == Halt.VERIFIED and first.reused is None
    second = pipeline.run()
    assert second.halt == Halt.VERIFIED and second.exit_code == 0
    assert second.reused is not None and fix_json(second)["reused_verification"]["ko"] == KO
    assert (pipeline.builds, pipeline.verifies) == (1, 1)
    pipeline.system.files[f"{MOD}/src/lib.rs"] = "// changed\n"
    third = pipeline.run()
    assert third.reused is None and (pipeline.builds, pipeline.verifies) == (2, 2)


def test_reverify_builds_and_verifies_anyway(monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = Pipeline(monkeypatch, machine())
    pipeline.run()
    again = pipeline.run(reverify=True)
    assert again.reused is None and (pipeline.builds, pipeline.verifies) == (2, 2)


def test_a_failed_verification_records_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    pipeline = Pipeline(monkeypatch, machine())
    monkeypatch.setattr(
        provision_module,
        "verify_module",
        lambda *_, **__: VerifyResult("vm", False, "no", "6.1.0-56-amd64", "helloworld"),
    )
    assert pipeline.run().halt == Halt.NOT_VERIFIED
    assert pipeline.run().reused is None and pipeline.builds == 2


def test_the_stamp_lives_in_the_cache(tmp_path: Path) -> None:
    assert verified_stamp.stamp_path(CTX).startswith(f"{CACHE}/verified/")


def counting_reads(system: FakeSystem) -> list[str]:
    reads: list[str] = []
    read = system.read_bytes

    def spy(path: str, limit: Any = None) -> Any:
        reads.append(path)
        return read(path, limit)

    system.read_bytes = spy  # type: ignore[method-assign]
    return reads


def test_the_prewarmed_hashes_of_the_ko_and_image_are_not_read_again() -> None:
    system = machine()
    recorded(system)
    hashes = verified_stamp.Hashes()
    verified_stamp.prewarm(CTX, system, hashes).join(5)
    reads = counting_reads(system)
    assert verified_stamp.still_verified(CTX, system, toolchain(), hashes) is not None
    assert KO not in reads and IMAGE not in reads


@pytest.mark.parametrize("change", ["ko rebuilt, same size", "image replaced"])
def test_a_file_changed_after_the_prewarm_is_hashed_again(change: str) -> None:
    system = machine()
    recorded(system)
    hashes = verified_stamp.Hashes()
    verified_stamp.prewarm(CTX, system, hashes).join(5)
    if change == "ko rebuilt, same size":
        system.files[KO] = b"\x7fELF modulX"  # same length: only the mtime tells
        system.mtimes[KO] = 5.0
    else:
        system.files[IMAGE] = b"another bzImage"
    reads = counting_reads(system)
    assert verified_stamp.still_verified(CTX, system, toolchain(), hashes) is None
    assert (KO if change.startswith("ko") else IMAGE) in reads


def test_a_file_that_changes_while_it_is_read_is_not_kept() -> None:
    system = machine()
    read = system.read_bytes

    def changing(path: str, limit: Any = None) -> Any:
        data = read(path, limit)
        if path == KO:
            system.mtimes[KO] = system.mtimes.get(KO, 0.0) + 1.0
        return data

    system.read_bytes = changing  # type: ignore[method-assign]
    hashes = verified_stamp.Hashes()
    hashes.of(system, KO, verified_stamp.MAX_FILE_BYTES)
    reads = counting_reads(system)
    hashes.of(system, KO, verified_stamp.MAX_FILE_BYTES)
    assert reads == [KO]


def test_fix_starts_hashing_before_it_diagnoses_and_uses_the_hashes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipeline = Pipeline(monkeypatch, machine())
    pipeline.run()  # built, verified, recorded
    order: list[str] = []
    given: list[object] = []
    warm, plan, verdict = (
        provision_module.prewarm,
        provision_module.plan_for,
        provision_module.still_verified,
    )
    monkeypatch.setattr(
        provision_module,
        "prewarm",
        lambda ctx, system, hashes: (
            order.append("prewarm"),
            given.append(hashes),
            warm(ctx, system, hashes),
        )[2],
    )
    monkeypatch.setattr(
        provision_module,
        "plan_for",
        lambda options, facts: (order.append("diagnose"), plan(options, facts))[1],
    )
    monkeypatch.setattr(
        provision_module,
        "still_verified",
        lambda ctx, system, chain, hashes: (
            given.append(hashes),
            verdict(ctx, system, chain, hashes),
        )[1],
    )
    assert pipeline.run().reused is not None
    assert order == ["prewarm", "diagnose"] and given[0] is given[1]
    order.clear()
    pipeline.run(dry_run=True)
    pipeline.run(reverify=True)
    assert order == ["diagnose", "diagnose"]  # nothing to reuse: nothing hashed ahead


def test_a_rerun_reads_neither_the_ko_nor_the_image_while_they_keep_their_identity() -> None:
    system = machine()
    recorded(system)
    reads = counting_reads(system)
    assert verified_stamp.still_verified(CTX, system, toolchain()) is not None
    assert KO not in reads and IMAGE not in reads


@pytest.mark.parametrize("path", [KO, IMAGE])
def test_a_same_size_file_with_a_new_mtime_is_read_and_judged_again(path: str) -> None:
    system = machine()
    recorded(system)
    data = system.files[path]
    assert isinstance(data, bytes)
    system.files[path] = data[:-1] + b"X"  # same size
    system.mtimes[path] = 7.0
    reads = counting_reads(system)
    assert verified_stamp.still_verified(CTX, system, toolchain()) is None
    assert path in reads


def test_damaged_rows_in_the_record_are_ignored_and_the_files_read() -> None:
    system = machine()
    recorded(system)
    path = verified_stamp.stamp_path(CTX)
    record = json.loads(system.files[path])
    record["files"] = [["x"], "junk", [KO, "n", [1], "v"]]
    system.files[path] = json.dumps(record)
    reads = counting_reads(system)
    assert verified_stamp.still_verified(CTX, system, toolchain()) is not None
    assert KO in reads and IMAGE in reads
