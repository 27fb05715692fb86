"""A fishinabarrel-style module for real kbuild runs: a prebuilt static library (a gcc-compiled
C stand-in for the Rust object, so no Rust toolchain is needed) linked by the module's Kbuild."""

from __future__ import annotations

import subprocess
from pathlib import Path

HELLO_C = r"""
extern int _printk(const char *fmt, ...);
int init_module(void) { _printk("\0016hello from a stand-in\n"); return 0; }
void cleanup_module(void) { _printk("\0016goodbye\n"); }
static const char license[] __attribute__((section(".modinfo"), used, aligned(1))) =
	"license=GPL";
"""


def stand_in_archive(archive: Path) -> Path:
    """A real static library at ``archive`` holding the gcc-compiled stand-in object."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    source, obj = archive.parent / "hello.c", archive.parent / "hello.o"
    source.write_text(HELLO_C)
    flags = ["-O2", "-fno-pic", "-mcmodel=kernel", "-mno-red-zone", "-fno-stack-protector"]
    subprocess.run(["gcc", "-c", *flags, "-o", str(obj), str(source)], check=True)
    subprocess.run(["ar", "rcs", str(archive), str(obj)], check=True)
    source.unlink()
    obj.unlink()
    return archive


def fishinabarrel_module(parent: Path, kbuild: str) -> Path:
    """``parent/fishinabarrel`` with ``libhello_world.a``, the given Kbuild and a Makefile."""
    module = parent / "fishinabarrel"
    module.mkdir()
    stand_in_archive(module / "libhello_world.a")
    (module / "Kbuild").write_text(kbuild)
    (module / "Makefile").write_text("all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules\n")
    return module
