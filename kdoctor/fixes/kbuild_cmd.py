"""kbuild-cmd: makes a module's own Kbuild leave the ``.<object>.cmd`` file modpost reads.

Two ways, chosen by ``kdoctor fix --kbuild-fix rewrite|touch`` (``PlanOptions.kbuild_fix``):

* ``rewrite`` (default): the rule that builds the member object goes through kbuild, as
  kbuild's own rules do. Its recipe becomes ``cmd_<name>`` (``$^`` as ``$(real-prereqs)``, ``#``
  as ``$(pound)``), the rule runs ``$(call if_changed,<name>)`` with ``FORCE`` among its
  prerequisites, and ``targets +=`` names the object so kbuild reads its ``.cmd`` back. One
  file edit, shown as a diff, written atomically with a numbered backup (``Kbuild.~1~``).
  The edit is byte-preserving: lines it does not rewrite keep their exact bytes, whatever their
  encoding (the file is decoded with ``surrogateescape``), and the diff shows exactly what
  changes (bytes that are not UTF-8 as ``\\xNN``).
* ``touch``: create the missing empty ``.cmd`` files (``make clean`` deletes them again).

The bundled hello-world already builds everything through ``if_changed``: nothing to do there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Optional, cast

from kdoctor.facts import Facts
from kdoctor.facts.kbuild import (
    Kbuild,
    TooComplex,
    UnsavedObject,
    objects_without_cmd,
    parse_kbuild,
    read_kbuild,
)
from kdoctor.facts.kbuild_text import Rule
from kdoctor.fixes.base import Ask, Decision, Fix, asks_of, register
from kdoctor.i18n import _
from kdoctor.knowledge.make_text import strip_comment
from kdoctor.machine.system import System
from kdoctor.model.choice import KbuildFixMode
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.need import KbuildCmd
from kdoctor.model.plan import FileEdit, PlanOptions, Step, byte_diff

#: what kbuild prints for the command in quiet mode (``LD [M]  path``)
QUIET = "LD [M]  $@"

_ALL_PREREQS = re.compile(r"\$(?:\^|\(\^\)|\{\^\})")
_LEADING = re.compile(r"^(?:\$\(Q\)|[@+\-]\s*)+")
_CMD_CALL = re.compile(r"\$\(call\s+cmd\s*,\s*([A-Za-z0-9_\-]+)\s*\)")


def is_bundled(module_dir: str) -> bool:
    return os.path.normpath(module_dir) == os.path.normpath(bundled_module_dir())


# -- the rewrite ------------------------------------------------------------------------------
def _split_unquoted(text: str, sep: str) -> tuple[str, Optional[str]]:
    """``text`` before and after the first ``sep`` outside ``$(...)``/``${...}``."""
    depth = 0
    for index, char in enumerate(text):
        if char in "({":
            depth += 1
        elif char in ")}":
            depth = max(0, depth - 1)
        elif char == sep and depth == 0:
            return text[:index], text[index + 1 :]
    return text, None


def rewritten_header(header: str) -> str:
    """The rule line with ``FORCE`` added to its normal prerequisites (before any ``|``)."""
    rule, _inline = _split_unquoted(strip_comment(header).rstrip(), ";")
    normal, order_only = _split_unquoted(rule, "|")
    if "FORCE" not in normal.split():
        normal = normal.rstrip() + " FORCE"
    if order_only is not None:
        return f"{normal.rstrip()} |{order_only.rstrip()}"
    return normal.rstrip()


def _without_shell_comment(line: str) -> str:
    """``line`` up to a shell comment (a ``#`` starting a word outside quotes)."""
    quote: Optional[str] = None
    previous = " "
    index = 0
    while index < len(line):
        char = line[index]
        if quote is not None:
            if char == quote:
                quote = None
            elif char == "\\" and quote == '"':
                index += 1
        elif char in "'\"":
            quote = char
        elif char == "\\":
            index += 1
        elif char == "#" and previous in " \t;&|(":
            return line[:index].rstrip().rstrip(";").rstrip()
        previous = char
        index += 1
    return line


def command_of(recipe: tuple[str, ...]) -> str:
    """The recipe as one kbuild ``cmd_`` value: lines joined with ``;`` (kbuild runs it under
    ``set -e``), shell comments dropped, ``$(call cmd,x)`` as ``$(cmd_x)``, ``$^`` without
    ``FORCE`` and ``#`` as ``$(pound)`` (it would start a make comment)."""
    commands = [_LEADING.sub("", _without_shell_comment(line)).strip() for line in recipe]
    text = "; ".join(c for c in commands if c)
    text = _CMD_CALL.sub(lambda m: f"$(cmd_{m.group(1)})", text)
    text = _ALL_PREREQS.sub("$(real-prereqs)", text)
    return re.sub(r"(?<!\\)#", "$(pound)", text)


def existing_command(rule: Rule) -> Optional[str]:
    """``x`` when the whole recipe is ``$(call cmd,x)``: if_changed can run cmd_x as it is."""
    commands = [_LEADING.sub("", line).strip() for line in rule.recipe if line.strip()]
    if len(commands) != 1:
        return None
    match = _CMD_CALL.fullmatch(commands[0])
    return match.group(1) if match else None


def command_name(rule: Rule, taken: set[str]) -> str:
    """``link_<stem of the rule's target>``, not yet defined in the file."""
    target = rule.targets[0].rsplit("/", 1)[-1].replace("%", "")
    if target.endswith(".o"):
        target = target[: -len(".o")]
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", target).strip("_")
    base = f"link_{stem}" if stem else "link_member"
    name, number = base, 2
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    taken.add(name)
    return name


def _block(rule: Rule, header: str, objects: list[str], name: str, known: set[str]) -> list[str]:
    missing = [o for o in objects if o not in known]
    shown = ", ".join(f".{os.path.basename(o)}.cmd" for o in objects)
    lines = [f"# kdoctor fix: built through if_changed, which writes {shown} (modpost reads it)"]
    reused = existing_command(rule)
    if reused is None:
        lines += [f"quiet_cmd_{name} = {QUIET}", f"      cmd_{name} = {command_of(rule.recipe)}"]
    if missing:
        lines.append(f"targets += {' '.join(missing)}")
    lines += ["", rewritten_header(header), f"\t$(call if_changed,{reused or name})"]
    return [line + "\n" for line in lines]


def rewrite(text: str, kbuild: Kbuild, unsaved: list[UnsavedObject]) -> str:
    """``text`` (the Kbuild ``kbuild`` was read from) with every rule in ``unsaved`` rewritten;
    every other line is kept exactly (only ``\\n`` ends a line, as in make)."""
    pieces = text.split("\n")
    lines = [piece + "\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    by_rule: dict[int, tuple[Rule, list[str]]] = {}
    for item in unsaved:
        by_rule.setdefault(item.rule.line, (item.rule, []))[1].append(item.object)
    taken = {key[len("cmd_") :] for key in kbuild.variables if key.startswith("cmd_")}
    known = set(kbuild.expand(kbuild.variables.get("targets", "")).split())
    named = {line: command_name(rule, taken) for line, (rule, _objs) in sorted(by_rule.items())}
    for line in sorted(by_rule, reverse=True):
        rule, objects = by_rule[line]
        start = line - 1
        header_end = start
        while header_end < len(lines) - 1 and lines[header_end].rstrip("\n").endswith("\\"):
            header_end += 1
        header = " ".join(
            raw.rstrip("\n").rstrip("\\").strip() for raw in lines[start : header_end + 1]
        )
        end = max(rule.end_line, header_end + 1)
        lines[start:end] = _block(rule, header, objects, named[line], known)
    return "".join(lines)


@register
class KbuildCmdFix(Fix):
    id = "kbuild-cmd"
    title = "make the module's Kbuild record each member object's .cmd file"
    order = 60
    handles = (KbuildCmd,)

    def plan(self, facts: Facts, asks: Sequence[Ask], options: PlanOptions) -> Decision:
        ctx, system = facts.ctx, facts.system
        decision = Decision()
        for ask in asks_of(asks, KbuildCmd):
            module_dir = cast(KbuildCmd, ask.need).module_dir
            if is_bundled(module_dir):
                continue
            kbuild = read_kbuild(system, module_dir, kdir=ctx.kdir, release=ctx.target_kernel)
            unsaved = objects_without_cmd(kbuild, module_dir) if kbuild is not None else []
            if kbuild is None or not unsaved:
                continue
            self._decide(ask, kbuild, unsaved, system, options.kbuild_fix, decision)
        return decision

    def _decide(
        self,
        ask: Ask,
        kbuild: Kbuild,
        unsaved: list[UnsavedObject],
        system: System,
        mode: KbuildFixMode,
        decision: Decision,
    ) -> None:
        why = _(
            "{check}: {objects} built by {rules} without "
            "$(call if_changed,...), so modpost finds no .cmd file"
        ).format(
            check=ask.finding.id,
            objects=", ".join(u.object for u in unsaved),
            rules=", ".join(sorted({u.rule.location for u in unsaved})),
        )
        names = ", ".join(os.path.basename(u.cmd_file) for u in unsaved)
        name = os.path.basename(kbuild.path)
        step = Step(fix=self.id, findings=(ask.finding.id,), why=why)
        if mode == KbuildFixMode.TOUCH:
            decision.notes.append(
                _(
                    "{files} is created empty (--kbuild-fix touch); `make clean` deletes it and "
                    "modpost stops again, so rerun kdoctor fix after a clean, or let kdoctor "
                    "rewrite the rule with `--kbuild-fix rewrite`."
                ).format(files=names)
            )
            pending = [u.cmd_file for u in unsaved if not system.exists(u.cmd_file)]
            if pending:
                decision.steps.append(replace(step, argv=("touch", *pending), timeout=30.0))
            return
        edit = self.edit(kbuild, unsaved, system)
        if edit is None:
            decision.notes.append(
                _(
                    "kdoctor could not rewrite {kbuild} safely; create {files} before each build "
                    "(`kdoctor fix --kbuild-fix touch`) or rewrite the rule by hand as the "
                    "kbuild-cmd check describes."
                ).format(kbuild=name, files=names)
            )
            return
        decision.steps.append(replace(step, edit=edit))
        decision.notes.append(
            _(
                "{kbuild} is rewritten so that kbuild records {files} (the old file is kept as a "
                "numbered backup, {kbuild}.~N~); `--kbuild-fix touch` only creates the missing "
                "file instead."
            ).format(kbuild=name, files=names)
        )

    def edit(
        self, kbuild: Kbuild, unsaved: list[UnsavedObject], system: System
    ) -> Optional[FileEdit]:
        """The rewritten Kbuild, when the rewrite really leaves no object without its .cmd."""
        raw = system.read_file(kbuild.path).data
        if raw is None:
            return None
        before = raw.decode("utf-8", errors="surrogateescape")
        try:
            after = rewrite(before, kbuild, unsaved)
        except TooComplex:
            return None
        module_dir = os.path.dirname(kbuild.path)
        reread = replace(parse_kbuild(after, kbuild.path), evaluated=kbuild.evaluated)
        if objects_without_cmd(reread, module_dir):
            return None
        data = after.encode("utf-8", errors="surrogateescape")
        return FileEdit(path=kbuild.path, content=data, diff=byte_diff(kbuild.path, raw, data))
