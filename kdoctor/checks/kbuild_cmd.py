"""kbuild-cmd: predicts modpost's ``.<object>.cmd: No such file or directory``.

The target's modpost reads the ``.cmd`` file of every member object (see kdoctor.facts.kbuild); a
member built by a custom rule that bypasses kbuild's ``if_changed`` never gets one.
"""

from __future__ import annotations

import os
from typing import Any, Optional

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.kbuild import (
    OutsideObject,
    UnsavedObject,
    objects_made_outside,
    objects_touching_cmd,
    objects_without_cmd,
)
from kdoctor.facts.kernel import (
    FATAL_SINCE,
    member_cmd_reading,
    module_declares_version,
    target_missing_files,
)
from kdoctor.facts.module import module_kbuild
from kdoctor.i18n import N_, _, ngettext
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand, KbuildCmd


@register
class KbuildCmdCheck(Check):
    id = "kbuild-cmd"
    title = N_("every member object records its .cmd file (modpost reads them)")
    variables = ("module directory",)

    def run(self, facts: Facts) -> Finding:
        ctx, system = facts.ctx, facts.system
        if facts.of(target_missing_files):
            return self.finding(
                Status.SKIP,
                _("needs usable headers for {kernel} first (see kernel-headers)").format(
                    kernel=ctx.target_kernel
                ),
                kdir=ctx.kdir,
            )
        kbuild = facts.of(module_kbuild)
        if kbuild is None:
            return self.finding(
                Status.SKIP,
                _("no Kbuild or Makefile in {directory}").format(directory=ctx.module_dir),
                kdir=ctx.kdir,
            )
        reading = member_cmd_reading(
            system,
            ctx.kdir,
            ctx.target_kernel,
            module_has_version=module_declares_version(system, ctx.module_dir),
        )
        unsaved = objects_without_cmd(kbuild, ctx.module_dir)
        touched = objects_touching_cmd(kbuild, ctx.module_dir)
        outside = objects_made_outside(kbuild, ctx.module_dir, system)
        waiting = [o for o in outside if o.touched_in is None and not system.exists(o.cmd_file)]
        modules = kbuild.modules()
        first = unsaved[0] if unsaved else None
        details: dict[str, Any] = {
            "kdir": ctx.kdir,
            "kernel_version": reading.version,
            "kernel_reads_cmd": reading.fatal,
            "reason": reading.why,
            "kbuild": kbuild.path,
            "modules": modules,
            "objects": [u.to_json() for u in unsaved],
            "object": first.object if first else None,
            "file": first.file if first else None,
            "line": first.line if first else None,
            "recipe": list(first.recipe) if first else None,
            "cmd_file": first.cmd_file if first else None,
            "touched": [u.to_json() for u in touched],
            "outside": [o.to_json() for o in outside],
            "evaluated_by": "make" if kbuild.evaluated_by_make else "text",
            "kbuild_note": kbuild.note,
        }
        found = os.path.basename(kbuild.path)
        if reading.fatal is False:
            summary = (
                _("not affected: {why}; {object} ({location}) records none").format(
                    why=reading.why, object=first.object, location=first.rule.location
                )
                if first
                else _("not affected: {why}").format(why=reading.why)
            )
            return self.ok(summary, found=found, **details)
        if first is None and waiting:
            return self._outside(ctx, waiting, reading.why, reading.fatal, kbuild.path, details)
        prepared = [o for o in outside if o.touched_in is not None]
        if first is None and not touched and prepared:
            return self.finding(
                Status.WARN,
                _(
                    "{object} gets {cmd_file} only from a `touch` in {file} (it is made before "
                    "kbuild runs): a workaround that hides the command from kbuild, so rebuilds "
                    "are not tracked"
                ).format(
                    object=prepared[0].object,
                    cmd_file=os.path.basename(prepared[0].cmd_file),
                    file=(prepared[0].touched_in or "").rsplit(":", 1)[0],
                ),
                found=found,
                **details,
            )
        if first is None and touched:
            return self.finding(
                Status.WARN,
                _touch_summary(touched[0]),
                found=found,
                fix_text=_(
                    "The touched .cmd file is empty, so kbuild never learns the command: when the "
                    "command or its flags change, the object is not rebuilt."
                )
                + " "
                + _remedy_text(reading.why, touched[0]),
                **details,
            )
        if first is None:
            if kbuild.note and kbuild.too_complex:
                return self.finding(
                    Status.WARN,
                    _("{file} is {note}: its members are unknown").format(
                        file=os.path.basename(kbuild.path), note=kbuild.note
                    ),
                    found=found,
                    **details,
                )
            names = ", ".join(f"{m}.ko" for m in modules) or _("the module")
            count = sum(len(members) for members in modules.values())
            return self.ok(
                ngettext(
                    "the {count} member object of {modules} is built through kbuild, "
                    "so it gets its .cmd file",
                    "all {count} member objects of {modules} are built through kbuild, "
                    "so each gets its .cmd file",
                    count,
                ).format(count=count, modules=names),
                found=found,
                **details,
            )
        pending = [u for u in unsaved if not system.exists(u.cmd_file)]
        if not pending:
            return self.finding(
                Status.WARN,
                _(
                    "{object} links only because {cmd_file} "
                    "already exists ({location} does not use $(call if_changed,...)); "
                    "make clean deletes it and modpost then stops"
                ).format(
                    object=first.object,
                    cmd_file=os.path.basename(first.cmd_file),
                    location=first.rule.location,
                ),
                found=found,
                fix_text=_remedy_text(reading.why, first),
                commands=(_rewrites(),),
                needs=(KbuildCmd(ctx.module_dir, tuple(u.object for u in unsaved)),),
                ctx=ctx,
                **details,
            )
        error = f"{os.path.basename(first.cmd_file)}: No such file or directory"
        if reading.fatal is None:
            status = Status.WARN
            summary = _("{problem}; on Linux {fatal}+ modpost may stop with `{error}`").format(
                problem=_short(first), error=error, fatal=FATAL_SINCE
            )
        else:
            status = Status.FAIL
            summary = _("modpost will stop with `{error}`: {problem}").format(
                error=error, problem=_short(first)
            )
        return self.finding(
            status,
            summary,
            found=found,
            fix_text=_remedy_text(reading.why, first),
            commands=(
                *(f"touch {u.cmd_file}" for u in pending),
                _rewrites(),
            ),
            needs=(KbuildCmd(ctx.module_dir, tuple(u.object for u in unsaved)),),
            ctx=ctx,
            **details,
        )

    def _outside(
        self,
        ctx: Context,
        waiting: list[OutsideObject],
        why: str,
        fatal: Optional[bool],
        kbuild: str,
        details: dict[str, Any],
    ) -> Finding:
        """Members made before kbuild runs (cargo's archive, a prebuilt object): no rule of
        the module builds them, so none records their command, and none can be rewritten."""
        first = waiting[0]
        name = os.path.basename(first.cmd_file)
        error = f"{name}: No such file or directory"
        problem = _(
            "nothing in {file} builds {object} (it is made before kbuild runs), so kbuild "
            "records no command for it"
        ).format(file=os.path.basename(kbuild), object=first.object)
        if fatal is None:
            status = Status.WARN
            summary = _("{problem}; on Linux {fatal}+ modpost may stop with `{error}`").format(
                problem=problem, error=error, fatal=FATAL_SINCE
            )
        else:
            status = Status.FAIL
            summary = _("modpost will stop with `{error}`: {problem}").format(
                error=error, problem=problem
            )
        remedy = _(
            "{why}. Create the missing file before each build, in the Makefile ahead of its "
            "kbuild call (make clean deletes it again), or build {object} through a Kbuild rule "
            "that runs $(call if_changed,...) (FORCE among its prerequisites, "
            "`targets += {object}`)."
        ).format(why=f"{why[0].upper()}{why[1:]}", object=first.object)
        return self.finding(
            status,
            summary,
            found=os.path.basename(kbuild),
            fix_text=remedy,
            commands=tuple(f"touch {o.cmd_file}" for o in waiting),
            needs=(
                ByHand(
                    self.id,
                    _("no rule of the module builds {object}: there is none to rewrite").format(
                        object=first.object
                    ),
                    _("Create {file} before each build, or add a Kbuild rule for {object}.").format(
                        file=name, object=first.object
                    ),
                ),
            ),
            ctx=ctx,
            **{**details, "object": first.object, "cmd_file": first.cmd_file},
        )


def _short(unsaved: UnsavedObject) -> str:
    """``Kbuild:16 builds x.o with `$(LD) ...` , not $(call if_changed,...)``."""
    how = _("$(call cmd,...), which records nothing") if unsaved.rule.uses_cmd_only else None
    command = unsaved.rule.command
    if len(command) > 60:
        command = command[:57] + "..."
    return _("{location} builds {object} with {how}, not $(call if_changed,...)").format(
        location=unsaved.rule.location, object=unsaved.object, how=how or f"`{command}`"
    )


def _rewrites() -> str:
    return "kdoctor fix   # " + _("rewrites the rule to use $(call if_changed,...)")


def _touch_summary(unsaved: UnsavedObject) -> str:
    touched_in = (unsaved.touched_in or unsaved.rule.location).rsplit(":", 1)[0]
    return _(
        "{object} gets {cmd_file} only from a `touch` in "
        "{file} ({location} does not use "
        "$(call if_changed,...)): a workaround that hides the command from kbuild, so "
        "rebuilds are not tracked"
    ).format(
        object=unsaved.object,
        cmd_file=os.path.basename(unsaved.cmd_file),
        file=touched_in,
        location=unsaved.rule.location,
    )


def _remedy_text(why: str, unsaved: UnsavedObject) -> str:
    return _(
        "{why}. Either rewrite the rule at {location} to go "
        "through kbuild (put its command in cmd_<name>, run it with $(call if_changed,<name>), "
        "add FORCE to its prerequisites and `targets += {object}`), or create the "
        "missing file before each build (make clean deletes it again)."
    ).format(
        why=f"{why[0].upper()}{why[1:]}", location=unsaved.rule.location, object=unsaved.object
    )
