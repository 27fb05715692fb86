"""The VM machinery end to end: a tiny C module (no Rust involved) built against the headers of
this machine's target kernel (tests/real_machine.py), loaded and unloaded in qemu (TCG) by the
real ``verify``."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from kdoctor.facts import images
from kdoctor.facts.context import detect
from kdoctor.machine.runner import Runner
from kdoctor.model.cache_layout import cached_image, default_cache_dir, release_dir
from kdoctor.pipeline.kernels import image as kernel_image
from kdoctor.pipeline.verify import boot as vm_boot
from kdoctor.pipeline.verify import result as verify_result
from kdoctor.pipeline.verify import target as verify_target
from kdoctor.pipeline.verify import vm as verify_vm
from tests.real_machine import RealTarget, cannot_run, require_tools, tool_install

SOURCE = r"""
#include <linux/module.h>
#include <linux/slab.h>

MODULE_LICENSE("GPL");

static char *message;

static int __init hello_init(void)
{
	pr_info("Hello kernel module!\n");
	message = kstrdup("My message is on the heap", GFP_KERNEL);
	if (!message)
		return -ENOMEM;
	pr_info("%s\n", message);
	return 0;
}

static void __exit hello_exit(void)
{
	kfree(message);
	pr_info("Goodbye kernel module!\n");
}

module_init(hello_init);
module_exit(hello_exit);
"""

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory, real_target: RealTarget) -> str:
    require_tools(vm_boot.QEMU, "make", "gcc")
    directory = tmp_path_factory.mktemp("cmod")
    (directory / "helloworld.c").write_text(SOURCE)
    (directory / "Kbuild").write_text("obj-m := helloworld.o\n")
    build = subprocess.run(
        ["make", "-C", real_target.kdir, f"M={directory}", "modules"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    return str(directory / "helloworld.ko")


def test_c_module_verifies_in_qemu_tcg(
    module: str, real_target: RealTarget, tmp_path: Path
) -> None:
    release = real_target.release
    runner = Runner()
    ctx = replace(detect(runner), cache_dir=str(tmp_path / "cache"))
    if images.find_busybox(runner) is None:
        install = tool_install("busybox", ctx.package_manager, ctx.is_root)
        cannot_run(f"needs a busybox for the guest: {install}")
    # the kernel image lives in kdoctor's real cache (fetched there once, as `kdoctor verify`
    # would); everything else this run writes stays in tmp_path
    shared = replace(ctx, cache_dir=default_cache_dir(os.environ))
    image = kernel_image.ensure(shared, runner, release)
    if image.source in ("cache", "downloaded"):
        os.makedirs(release_dir(ctx.cache_dir, release))
        os.symlink(image.path, cached_image(ctx.cache_dir, release))

    assert verify_target.target_release(ctx, runner, module)[0] == release
    stages: list[str] = []
    result = verify_vm.verify_vm(
        ctx, runner, module, release=release, accel="tcg", timeout=180, on_stage=stages.append
    )

    assert result.passed, (result.summary, result.console_tail, result.log_path)
    assert result.found == verify_result.MESSAGES and result.missing == ()
    assert (result.insmod_status, result.rmmod_status) == (0, 0)
    assert "O" in result.taint  # out of tree; "E" too unless the module was signed
    assert result.accel == "tcg"
    assert result.log_path is not None
    log = Path(result.log_path).read_text()
    dump = log[log.index("@@kdoctor:dmesg-begin") :]
    positions = [dump.index(message) for message in verify_result.MESSAGES]
    assert positions == sorted(positions)
    assert {"boot_s", "insmod_s", "rmmod_s", "vm_s", "total_s"} <= set(result.timings)
    # each stage was told as the real guest's console reached it, seconds growing
    told = [s.split(" · ")[1] for s in stages]
    assert [t.split(":")[0].split(" (")[0] for t in told] == [
        "boot", "insmod", "rmmod", "messages", "power-off"
    ]  # fmt: skip
    seconds = [float(t.rsplit("(", 1)[1].split(" s)")[0]) for t in told]
    assert seconds == sorted(seconds) and seconds[1] > 0
