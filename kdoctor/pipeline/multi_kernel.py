"""``kdoctor test``: build one module for several kernels and verify each in a VM.

Each kernel is a cached artefact (:mod:`kdoctor.pipeline.kernels.fetch`) unless the host already
has its build directory; each build happens in its own copy of the module under
``<cache>/test/<release>/module`` (the Rust sysroot cache is shared); the build of the next
kernel overlaps the VM run of the previous one.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from kdoctor.facts import Facts
from kdoctor.i18n import _
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import kernel_test_module
from kdoctor.model.context import Context
from kdoctor.pipeline.build import BuildResult
from kdoctor.pipeline.kernels import archive as ka
from kdoctor.pipeline.kernels.foreign import target_for
from kdoctor.pipeline.provision import build_module, verify_module
from kdoctor.pipeline.verify.result import VerifyResult
from kdoctor.pipeline.verify.target import expected_messages

Step = Callable[[str], None]


@dataclass(frozen=True)
class KernelRun:
    """One kernel's row of the table."""

    spec: str
    release: str = ""
    build: str = "not run"  # ok, failed, no toolchain, not run
    load: str = "not run"  # ok, failed, not run
    unload: str = "not run"
    messages: str = ""
    seconds: float = 0.0
    error: Optional[str] = None
    kdir: str = ""
    log: Optional[str] = None
    adapted: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.build == "ok" and self.load == "ok" and self.unload == "ok" and not self.error

    def to_json(self) -> dict[str, Any]:
        return {
            "kernel": self.spec,
            "release": self.release,
            "build": self.build,
            "load": self.load,
            "unload": self.unload,
            "messages": self.messages,
            "seconds": round(self.seconds, 2),
            "passed": self.passed,
            "error": self.error,
            "kdir": self.kdir,
            "log": self.log,
            "adapted": list(self.adapted),
        }


@dataclass(frozen=True)
class TestReport:
    runs: tuple[KernelRun, ...] = ()
    seconds: float = 0.0
    module_dir: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return bool(self.runs) and all(r.passed for r in self.runs)

    def to_json(self) -> dict[str, Any]:
        return {
            "module_dir": self.module_dir,
            "passed": self.passed,
            "seconds": round(self.seconds, 2),
            "kernels": [r.to_json() for r in self.runs],
            "exit_code": 0 if self.passed else 1,
        }


def _build_one(
    ctx: Context, system: System, spec: str, step: Step
) -> tuple[KernelRun, Optional[Context], Optional[BuildResult]]:
    started = time.monotonic()
    try:
        target, adapted = target_for(ctx, system, spec, step)
    except ka.ArchiveError as exc:
        return KernelRun(spec, error=str(exc), seconds=time.monotonic() - started), None, None
    where = kernel_test_module(ctx.cache_dir, target.target_kernel)
    system.copy_tree(ctx.module_dir, where)
    target = dataclasses.replace(target, module_dir=where)
    step(_("building for {release}").format(release=target.target_kernel))
    toolchain, built = build_module(Facts(target, system))  # this kernel's: its first facts
    run = KernelRun(
        spec,
        target.target_kernel,
        kdir=target.kdir,
        adapted=adapted,
        seconds=time.monotonic() - started,
    )
    if built is None:
        return dataclasses.replace(run, build="no toolchain", error=toolchain.reason), None, None
    run = dataclasses.replace(
        run, build="ok" if built.ok and built.ko else "failed", log=built.log_path
    )
    if run.build != "ok":
        return dataclasses.replace(run, error=built.cause or _("the build failed")), None, built
    return run, target, built


def _verify_one(
    run: KernelRun, target: Context, system: System, ko: str, expected: tuple[str, ...]
) -> KernelRun:
    started = time.monotonic()
    got: VerifyResult = verify_module(target, system, ko, requested="vm", expected=expected)
    load = "ok" if got.insmod_status == 0 else "failed"
    unload = "ok" if got.rmmod_status == 0 else ("failed" if load == "ok" else "not run")
    messages = f"{len(got.found)}/{len(expected)}" if expected else str(len(got.module_log))
    return dataclasses.replace(
        run,
        load=load,
        unload=unload,
        messages=messages,
        log=got.log_path or run.log,
        seconds=run.seconds + time.monotonic() - started,
        error=None if got.passed else got.summary,
    )


def run_tests(
    ctx: Context, system: System, specs: list[str], on_step: Optional[Step] = None
) -> TestReport:
    """Build for every kernel, in order, each build overlapping the previous VM run."""
    step = on_step or (lambda _t: None)
    expected = expected_messages(ctx)
    started = time.monotonic()
    rows: list[Optional[KernelRun]] = [None] * len(specs)
    pending: list[tuple[int, Future[KernelRun]]] = []
    with ThreadPoolExecutor(max_workers=1) as vms:
        for index, spec in enumerate(specs):
            run, target, built = _build_one(ctx, system, spec, step)
            if target is None or built is None or built.ko is None:
                rows[index] = run
                continue
            step(_("verifying on {release} in a VM").format(release=run.release))
            pending.append(
                (index, vms.submit(_verify_one, run, target, system, built.ko, expected))
            )
        for index, future in pending:
            rows[index] = future.result()
    done = tuple(r for r in rows if r is not None)
    return TestReport(done, time.monotonic() - started, ctx.module_dir)
