"""What goes into the throwaway qemu guest: a busybox initramfs whose ``/init`` loads and
unloads one module and reports through marker lines (``@@kdoctor:<event> k=v ...``) on the
serial console (read back by :mod:`kdoctor.pipeline.verify.console`).
"""

from __future__ import annotations

import os
import shlex
from typing import Optional

from kdoctor.i18n import _
from kdoctor.machine.system import System
from kdoctor.pipeline.verify.initramfs import Archive

MARK = "@@kdoctor:"
APPLETS = ("sh", "mount", "cat", "insmod", "rmmod", "dmesg", "poweroff", "reboot")

_PRELUDE = f"""#!/bin/sh
# written by kdoctor: load one module, unload it, dump the kernel log, power off
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mark() {{ read up rest < /proc/uptime; echo "{MARK}$1 t=$up $2"; }}
mark boot
"""

# a kernel without ACPI (kdoctor's Rust-enabled test kernels) cannot power off: it reboots,
# which qemu's -no-reboot turns into an exit
_POWEROFF = f"""mark done
[ -d /sys/firmware/acpi ] && poweroff -f
reboot -f
echo "{MARK}poweroff-failed"
"""


def init_script(ko_name: str, module: str) -> str:
    """The guest's ``/init`` for a module at ``/<ko_name>`` whose kernel name is ``module``."""
    ko = shlex.quote("/" + ko_name)
    return (
        _PRELUDE
        + f"""echo "{MARK}taint-before value=$(cat /proc/sys/kernel/tainted)"
insmod {ko}
rc=$?
mark insmod "rc=$rc"
echo "{MARK}taint value=$(cat /proc/sys/kernel/tainted)"
if [ "$rc" = 0 ]; then
    rmmod {shlex.quote(module)}
    rc=$?
    mark rmmod "rc=$rc"
else
    echo "{MARK}rmmod skipped=insmod-failed"
fi
echo "{MARK}dmesg-begin"
dmesg
echo "{MARK}dmesg-end"
"""
        + _POWEROFF
    )


def bare_init_script() -> str:
    """An ``/init`` that only boots and powers off: the baseline a verify run is compared to."""
    return _PRELUDE + _POWEROFF


def guest_archive(busybox: bytes, script: str, ko: Optional[tuple[str, bytes]] = None) -> Archive:
    """The initramfs: busybox with its applet links, ``/init``, and the module at ``/<name>``."""
    archive = Archive()
    for directory in ("bin", "dev", "proc", "sys", "tmp"):
        archive.add_dir(directory)
    # the kernel opens /dev/console for /init before anything can mount devtmpfs
    archive.add_char_device("dev/console", 5, 1)
    archive.add_file("bin/busybox", busybox, 0o755)
    for applet in APPLETS:
        archive.add_symlink(f"bin/{applet}", "busybox")
    archive.add_file("init", script.encode(), 0o755)
    if ko is not None:
        archive.add_file(ko[0], ko[1], 0o644)
    return archive


def write_initramfs(
    system: System,
    directory: str,
    busybox_path: str,
    script: str,
    ko_path: Optional[str] = None,
) -> str:
    """Build the initramfs into ``directory``; returns the file's path.

    Raises OSError when busybox or the module cannot be read.
    """
    busybox = _read(system, busybox_path)
    ko: Optional[tuple[str, bytes]] = None
    if ko_path is not None:
        ko = (os.path.basename(ko_path), _read(system, ko_path))
    path = os.path.join(directory, "initrd.cpio.gz")
    guest_archive(busybox, script, ko).write(system, path)
    return path


def _read(system: System, path: str) -> bytes:
    data = system.read_bytes(path)
    if data is None:
        raise FileNotFoundError(_("cannot read {path}").format(path=path))
    return data
