#!/usr/bin/env python3
"""Benchmark the module build and the VM verification, side by side in one run.

Prints: first build (empty sysroot cache), first build (sysroot cached), no-op rebuild
(target <= 1 s), edit-rebuild, and the VM verify against a bare qemu boot of the same kernel and
an initramfs of the same size whose /init only powers off (target <= 1.2x).

    .venv/bin/python bench/build.py [--kernel 6.1.0-56-amd64] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from kdoctor.facts.context import detect
from kdoctor.machine.runner import Runner
from kdoctor.model.context import bundled_module_dir
from kdoctor.pipeline.kernels import image as kernel_image
from kdoctor.pipeline.verify import boot as vm_boot
from kdoctor.pipeline.verify import guest as vm_guest


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    subprocess.run(argv, check=True, env=env, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kernel", default="6.1.0-56-amd64")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="kdoctor-bench-")
    module = os.path.join(work, "hello-world")
    shutil.copytree(
        bundled_module_dir(),
        module,
        ignore=shutil.ignore_patterns("*.o", "*.ko", "*.a", "*.rlib", ".*.cmd", "*.mod*"),
    )
    env = dict(os.environ, KDOCTOR_CACHE=os.path.join(work, "cache"), NO_COLOR="1")
    kd = [sys.executable, "-m", "kdoctor"]
    build = [*kd, "build", "--kernel", args.kernel, "--module-dir", module]
    subprocess.run(["make", "-C", module, "clean"], check=True, stdout=subprocess.DEVNULL)

    cold = timed(build, env)  # compiles core/alloc for the kernel target into the empty cache
    subprocess.run(["make", "-C", module, "clean"], check=True, stdout=subprocess.DEVNULL)
    warm = timed(build, env)
    noop = statistics.median(timed(build, env) for _ in range(args.runs))
    plain_make = statistics.median(
        timed(
            [
                "make",
                "-C",
                module,
                f"KDIR=/lib/modules/{args.kernel}/build",
                "RUSTC=/usr/bin/rustc",
            ],
            env,
        )
        for _ in range(args.runs)
    )
    source = os.path.join(module, "src", "lib.rs")
    edits = []
    for i in range(args.runs):
        with open(source, "a") as handle:
            handle.write(f"\n// bench edit {i}\n")
        edits.append(timed(build, env))
    edit = statistics.median(edits)

    # VM: full verify against a bare boot of the same kernel with the same initramfs size
    runner = Runner()
    ctx = detect(runner, kernel=args.kernel)
    image = kernel_image.ensure(ctx, runner, args.kernel)
    ko = os.path.join(module, "helloworld.ko")
    verify = [*kd, "verify", "--kernel", args.kernel, "--ko", ko, "--accel", "tcg"]
    busybox = vm_guest.find_busybox(runner)
    assert busybox is not None, "busybox-static is needed"
    bare_dir = tempfile.mkdtemp(dir=work)
    initrd = vm_guest.write_initramfs(
        runner, bare_dir, busybox.path, vm_guest.bare_init_script(), ko
    )
    qemu = vm_boot.qemu_argv(
        shutil.which("qemu-system-x86_64") or "qemu-system-x86_64", image.path, initrd, "tcg"
    )
    bare, full = [], []
    for _ in range(args.runs):  # interleaved so both see the same machine load
        bare.append(timed(qemu, env))
        full.append(timed(verify, env))
    b, f = statistics.median(bare), statistics.median(full)

    print(f"{'first build, empty sysroot cache':40} {cold:7.2f} s")
    print(f"{'first build, sysroot cached':40} {warm:7.2f} s   ({cold / warm:.1f}x faster)")
    print(f"{'no-op rebuild via kdoctor build':40} {noop:7.2f} s   target <= 1 s")
    ratio = noop / plain_make
    print(f"{'no-op plain make (same tree)':40} {plain_make:7.2f} s   kdoctor/make = {ratio:.2f}")
    print(f"{'edit src/lib.rs, rebuild':40} {edit:7.2f} s")
    print(f"{'bare qemu boot (TCG, init powers off)':40} {b:7.2f} s")
    print(f"{'kdoctor verify (TCG)':40} {f:7.2f} s   verify/bare = {f / b:.2f}  target <= 1.2")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
