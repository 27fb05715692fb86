"""The text report's words that are plain strings (no Rich): status words and counts, exit
codes, and the pieces of ``kdoctor verify``'s summary, in the active language."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Optional

from kdoctor.i18n import N_, _, ngettext
from kdoctor.model.choice import ModuleSource, TargetSource
from kdoctor.model.finding import Status

if TYPE_CHECKING:
    from kdoctor.model.context import Context
    from kdoctor.pipeline.verify.result import VerifyResult

#: the status words of the text report (JSON keeps ``Status.value``)
STATUS_WORDS = {
    Status.OK: N_("ok"),
    Status.WARN: N_("warn"),
    Status.FAIL: N_("fail"),
    Status.SKIP: N_("skip"),
    Status.ERROR: N_("error"),
}
#: the width of the labels before ``kdoctor verify``'s details (``status    insmod exit 0``)
LABEL_WIDTH = 10


def status_count(status: Status, n: int) -> str:
    """``3 ok``, ``1 warn``: how many checks ended with ``status``, in the report's words."""
    forms = {
        Status.OK: ngettext("{n} ok", "{n} ok", n),
        Status.WARN: ngettext("{n} warn", "{n} warn", n),
        Status.FAIL: ngettext("{n} fail", "{n} fail", n),
        Status.SKIP: ngettext("{n} skip", "{n} skip", n),
        Status.ERROR: ngettext("{n} error", "{n} error", n),
    }
    return forms[status].format(n=n)


def module_words(ctx: Context) -> str:
    """Which module, in words: the bundled hello-world, the one found from the current
    directory, or the ``--module-dir`` path."""
    if ctx.module_source == ModuleSource.BUNDLED:
        return _("the bundled hello-world ({path})").format(path=ctx.module_dir)
    if ctx.module_source == ModuleSource.CURRENT:
        return _("{path} (from the current directory)").format(path=ctx.module_dir)
    return ctx.module_dir


#: how the target kernel was chosen, in words (the others are an option or a variable's name)
TARGET_SOURCE_WORDS = {TargetSource.RUNNING: N_("the running kernel")}


#: the same, where a line has little room (check's one-line header)
TARGET_SOURCE_SHORT = {TargetSource.RUNNING: N_("running")}


def target_source_words(ctx: Context, *, short: bool = False) -> str:
    """``the running kernel`` (``running`` when ``short``), ``--kernel``, ``KDIR``,
    ``kdoctor fix``."""
    word = (TARGET_SOURCE_SHORT if short else TARGET_SOURCE_WORDS).get(ctx.target_source)
    return _(word) if word else str(ctx.target_source)


#: where a module was verified, in words (``passed in the VM``)
VERIFY_MODE_WORDS = {"vm": N_("VM"), "host": N_("running kernel")}


def verify_mode_words(mode: str) -> str:
    word = VERIFY_MODE_WORDS.get(mode)
    return _(word) if word else mode


def exit_words(code: Optional[int]) -> str:
    """``exit 2``; ``did not finish`` when there is no exit code."""
    return _("did not finish") if code is None else _("exit {code}").format(code=code)


def label(word: str) -> str:
    """``word`` padded to the labels' column, with at least one space after it."""
    return word.ljust(LABEL_WIDTH - 1) + " "


def verify_where(result: VerifyResult) -> str:
    """``hello.ko on 6.1.0-18-amd64 in a VM (KVM)``."""
    where = _("the running kernel") if result.mode == "host" else _("a VM")
    accel = f" ({result.accel.upper()})" if result.accel else ""
    said = _("{module} on {kernel} in {where}").format(
        module=os.path.basename(result.module), kernel=result.kernel, where=where
    )
    return said + accel


def verify_statuses(result: VerifyResult) -> str:
    """``insmod exit 0 · rmmod exit 0`` (rmmod ``not run`` when insmod failed)."""
    failed = result.insmod_status not in (None, 0)
    rmmod = _("not run") if failed else exit_words(result.rmmod_status)
    return _("insmod {insmod} · rmmod {rmmod}").format(
        insmod=exit_words(result.insmod_status), rmmod=rmmod
    )


def verify_timings(timings: Mapping[str, float]) -> str:
    labels = (
        ("boot_s", _("boot")),
        ("insmod_s", "insmod"),
        ("rmmod_s", "rmmod"),
        ("vm_s", _("VM")),
        ("kvm_attempt_s", _("KVM attempt")),
        ("total_s", _("total")),
    )
    parts = [f"{word} {timings[key]:.2f} s" for key, word in labels if key in timings]
    return " · ".join(parts) or "-"


def human(size: int) -> str:
    """A size in bytes for people: B, KiB, MiB or GiB (binary units, one decimal)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
