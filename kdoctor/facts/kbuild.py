"""The module's Kbuild file: which objects make up a module and which rules build them, and
which of those rules leave no ``.<object>.cmd`` behind for modpost (see
:mod:`kdoctor.facts.kernel` for which kernels need it).

Only kbuild's ``if_changed`` family writes ``.<object>.cmd``; ``$(call cmd,...)`` runs a command
without recording it, and a plain recipe (``$(LD) -r -o $@ ...``) records nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from typing import Any, Optional

from kdoctor.facts.cargo_step import cargo_archive
from kdoctor.facts.kbuild_eval import evaluate, evaluate_outer, exported_names, needs_outer
from kdoctor.facts.kbuild_text import (
    ASSIGN,
    DIRECTIVES,
    DIRECTIVES_NO_ASSIGN,
    REFERENCE,
    OpenRule,
    Rule,
    assign,
    rule_line,
)
from kdoctor.i18n import _
from kdoctor.knowledge.make_text import logical_lines, strip_comment
from kdoctor.machine.system import System

#: the files ``make -C <module>`` looks for, in make's order
OUTER_MAKEFILES = ("GNUmakefile", "makefile", "Makefile")
#: a recipe line that runs kbuild on the module (``$(MAKE) -C $(KDIR) M=$(PWD) modules``)
_CALLS_KBUILD = re.compile(r"(?:^|\s)(?:M|SUBDIRS)=")
#: a recipe line that creates a file: ``touch``, or a redirection into it
_CREATES = re.compile(r"(?:^|[\s;&|(@-])touch\s|>")
#: the static reader's limits: references followed and characters produced per expansion
MAX_EXPANSIONS = 10_000
MAX_EXPANDED = 256 * 1024


class TooComplex(Exception):
    """The Kbuild's variables expand past the static reader's limits."""


# -- the module's Kbuild ----------------------------------------------------------------


@dataclass(frozen=True)
class Kbuild:
    """The module's Kbuild (or the Makefile kbuild reads when there is none)."""

    path: str
    variables: dict[str, str] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    #: module name -> members as make evaluated them (None: read without make)
    evaluated: Optional[dict[str, list[str]]] = None
    #: how the modules were read when not by make, or what make was not shown
    note: Optional[str] = None
    #: its modules could not be told for sure: too complex for make, or for the static reader
    #: (``note`` says why)
    too_complex: bool = False
    #: the rules of the Makefile ``make -C <module>`` runs, when kbuild reads another file (a
    #: ``Kbuild``): what that make does before it calls kbuild
    outer_rules: tuple[Rule, ...] = ()
    #: the recipe lines that run cargo as make expanded them: kbuild's reading of this file,
    #: and the reading of ``make -C <module>``'s Makefile (what it runs before kbuild)
    commands: tuple[str, ...] = ()
    outer_commands: tuple[str, ...] = ()
    #: what that Makefile exports to kbuild, as make expanded it
    exported: dict[str, str] = field(default_factory=dict)

    @property
    def evaluated_by_make(self) -> bool:
        return self.evaluated is not None

    def expand(self, value: str, depth: int = 0, budget: Optional[list[int]] = None) -> str:
        """``value`` with references to variables this file defines filled in; raises
        :class:`TooComplex` past :data:`MAX_EXPANSIONS` references or :data:`MAX_EXPANDED`
        characters (nested references grow exponentially)."""
        if depth > 8:
            return value
        budget = [MAX_EXPANSIONS] if budget is None else budget

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.variables:
                return match.group(0)
            budget[0] -= 1
            if budget[0] < 0:
                raise TooComplex(_("more than {n} variable references").format(n=MAX_EXPANSIONS))
            return self.expand(self.variables[name], depth + 1, budget)

        result = REFERENCE.sub(one, value)
        if len(result) > MAX_EXPANDED:
            raise TooComplex(_("a value expands past {n} characters").format(n=MAX_EXPANDED))
        return result

    def modules(self) -> dict[str, list[str]]:
        """Module name -> its member objects (``<name>-objs``/``-y``/``-m``, ``.o`` and ``.a``;
        else ``<name>.o``): make's answer when it evaluated the file, else read from the text
        (every conditional branch counts; nothing when it is too complex to read)."""
        if self.evaluated is not None:
            return {name: list(members) for name, members in self.evaluated.items()}
        try:
            return self.static_modules()
        except TooComplex:
            return {}

    def static_modules(self) -> dict[str, list[str]]:
        """:meth:`modules` read from the text alone; raises :class:`TooComplex`."""
        result: dict[str, list[str]] = {}
        for key, value in self.variables.items():
            if not (key == "obj-m" or re.fullmatch(r"obj-\$[({].+[)}]", key)):
                continue
            for word in self.expand(value).split():
                if not word.endswith(".o"):
                    continue
                name = word[: -len(".o")]
                members: list[str] = []
                for suffix in ("-objs", "-y", "-m"):
                    raw = self.variables.get(name + suffix, "")
                    members += [w for w in self.expand(raw).split() if w.endswith((".o", ".a"))]
                result[name] = members or [word]
        return result

    def rule_for(self, obj: str) -> Optional[Rule]:
        """The rule of this file that builds ``obj`` (explicit before pattern), if any."""
        candidates = [r for r in self.rules if r.recipe and r.builds(obj)]
        explicit = [r for r in candidates if not r.is_pattern()]
        chosen = explicit or candidates
        return chosen[0] if chosen else None


@dataclass(frozen=True)
class UnsavedObject:
    """A member object built by a rule that never writes its ``.cmd`` file."""

    module: str
    object: str
    rule: Rule
    #: the file modpost will look for
    cmd_file: str
    #: where a ``touch`` creates ``cmd_file`` before modpost reads it (``Makefile:4``), if any
    touched_in: Optional[str] = None

    @property
    def file(self) -> str:
        return self.rule.file

    @property
    def line(self) -> int:
        return self.rule.line

    @property
    def recipe(self) -> tuple[str, ...]:
        return self.rule.recipe

    def to_json(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "object": self.object,
            "file": self.rule.file,
            "line": self.rule.line,
            "end_line": self.rule.end_line,
            "targets": list(self.rule.targets),
            "prerequisites": list(self.rule.prerequisites),
            "recipe": list(self.rule.recipe),
            "uses_cmd_only": self.rule.uses_cmd_only,
            "cmd_file": self.cmd_file,
            "touched_in": self.touched_in,
        }


@dataclass(frozen=True)
class OutsideObject:
    """A member no rule of the module builds and kbuild does not compile: a file made before
    kbuild runs (cargo's static library, a prebuilt object), whose ``.cmd`` kbuild never
    writes."""

    module: str
    object: str
    #: the file modpost will look for
    cmd_file: str
    #: where a ``touch`` creates it before modpost reads it, if anywhere
    touched_in: Optional[str] = None

    def to_json(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "object": self.object,
            "cmd_file": self.cmd_file,
            "touched_in": self.touched_in,
        }


def kbuild_path(system: System, module_dir: str) -> Optional[str]:
    """``Kbuild`` when present (kbuild prefers it), else ``Makefile``."""
    for name in ("Kbuild", "Makefile"):
        path = os.path.join(module_dir, name)
        if system.read_text(path) is not None:
            return path
    return None


def outer_makefile(system: System, module_dir: str) -> Optional[str]:
    """The file ``make -C <module>`` reads: ``GNUmakefile``, ``makefile``, else ``Makefile``."""
    for name in OUTER_MAKEFILES:
        path = os.path.join(module_dir, name)
        if system.read_text(path) is not None:
            return path
    return None


def read_kbuild(
    system: System,
    module_dir: str,
    *,
    kdir: Optional[str] = None,
    release: Optional[str] = None,
) -> Optional[Kbuild]:
    """The module's Kbuild (or Makefile), its modules evaluated by make (see
    :mod:`kdoctor.facts.kbuild_eval`) with ``KERNELRELEASE`` set as kbuild does; when make
    cannot, read from the text alone, with a note saying why."""
    path = kbuild_path(system, module_dir)
    if path is None:
        return None
    text = system.read_text(path) or ""
    parsed = parse_kbuild(text, path)
    outer = outer_makefile(system, module_dir)
    outer_text = (system.read_text(outer) or "") if outer is not None else ""
    exported: dict[str, str] = {}
    if outer is not None and outer_text and needs_outer(outer_text):
        before = evaluate_outer(system, outer_text, module_dir, kdir=kdir)
        exported = before.variables
        parsed = replace(parsed, outer_commands=before.commands, exported=exported)
    if outer is not None and os.path.basename(path) == "Kbuild":
        outer_parsed = parse_kbuild(outer_text, outer)
        names = exported_names(outer_text)
        for name, value in outer_parsed.variables.items():  # for the text reader
            if (names is None or name in names) and name not in parsed.variables:
                parsed.variables[name] = value
        parsed = replace(parsed, outer_rules=outer_parsed.rules)
    result = evaluate(system, text, module_dir, kdir=kdir, release=release, defined=exported)
    dropped = (
        _("left out: {lines}").format(lines="; ".join(result.dropped)) if result.dropped else None
    )
    if result.modules is not None:
        return replace(parsed, evaluated=result.modules, note=dropped, commands=result.commands)
    note = _("{problem}; read without make (every conditional branch counts)").format(
        problem=result.problem
    )
    try:
        parsed.static_modules()
    except TooComplex as error:
        note = _("too complex to evaluate ({problem}; {error})").format(
            problem=result.problem, error=error
        )
        return replace(parsed, note=note, too_complex=True)
    return replace(parsed, note=note, too_complex=result.too_complex)


def cmd_file_for(module_dir: str, obj: str) -> str:
    """Where kbuild and modpost look for ``obj``'s saved command: ``<dir>/.<name>.cmd``."""
    directory, name = os.path.split(obj)
    return os.path.join(module_dir, directory, f".{name}.cmd")


def objects_without_cmd(kbuild: Kbuild, module_dir: str) -> list[UnsavedObject]:
    """Member objects whose rule in ``kbuild`` leaves no ``.<object>.cmd`` behind."""
    return [u for u, touched in _custom_built(kbuild, module_dir) if not touched]


def objects_touching_cmd(kbuild: Kbuild, module_dir: str) -> list[UnsavedObject]:
    """Member objects whose rule bypasses kbuild but whose file creates the ``.cmd`` itself
    (``touch .x.o.cmd``): modpost is satisfied, yet kbuild records no command, so a changed
    command does not rebuild the object."""
    return [u for u, touched in _custom_built(kbuild, module_dir) if touched]


def _custom_built(kbuild: Kbuild, module_dir: str) -> list[tuple[UnsavedObject, bool]]:
    found: list[tuple[UnsavedObject, bool]] = []
    for module, members in kbuild.modules().items():
        for obj in members:
            rule = kbuild.rule_for(obj)
            if rule is None or rule.saves_cmd:
                continue  # kbuild's own rules (.c/.S/.rs) go through if_changed
            name = f".{os.path.basename(obj)}.cmd"
            where = _touching_rule(kbuild.rules, name) or _touched_before_kbuild(
                kbuild.outer_rules, name
            )
            unsaved = UnsavedObject(module, obj, rule, cmd_file_for(module_dir, obj), where)
            found.append((unsaved, where is not None))
    return found


def objects_made_outside(kbuild: Kbuild, module_dir: str, system: System) -> list[OutsideObject]:
    """Members that no rule builds and kbuild does not compile from a source beside them, and
    that are there already or are where cargo leaves a crate's static library: kbuild links
    them as they are and records no command for them."""
    found: list[OutsideObject] = []
    for module, members in kbuild.modules().items():
        for obj in members:
            if kbuild.rule_for(obj) is not None or _compiled(system, module_dir, obj):
                continue
            path = os.path.join(module_dir, obj)
            if not (system.is_file(path) or cargo_archive(system, module_dir, obj)):
                continue
            name = f".{os.path.basename(obj)}.cmd"
            where = _touched_before_kbuild(kbuild.outer_rules or kbuild.rules, name)
            found.append(OutsideObject(module, obj, cmd_file_for(module_dir, obj), where))
    return found


def _compiled(system: System, module_dir: str, obj: str) -> bool:
    """Whether kbuild compiles ``obj`` itself (a source of its name, or a shipped copy)."""
    stem = os.path.join(module_dir, obj[: -len(".o")] if obj.endswith(".o") else obj)
    sources = (".c", ".S", ".rs") if obj.endswith(".o") else ()
    shipped = os.path.join(module_dir, obj + "_shipped")
    return any(system.is_file(stem + s) for s in sources) or system.is_file(shipped)


def _touches(line: str, cmd_name: str) -> bool:
    """Whether a recipe line creates ``cmd_name`` (``touch`` it, or redirect into it)."""
    return cmd_name in line and _CREATES.search(line) is not None


def _touching_rule(rules: tuple[Rule, ...], cmd_name: str) -> Optional[str]:
    """Where a rule of the file kbuild reads touches ``cmd_name`` (whichever rule it is: kbuild
    runs it while it builds the module)."""
    for rule in rules:
        if any(_touches(line, cmd_name) for line in rule.recipe):
            return rule.location
    return None


def _touched_before_kbuild(rules: tuple[Rule, ...], cmd_name: str) -> Optional[str]:
    """Where the Makefile ``make -C <module>`` runs touches ``cmd_name`` before it calls kbuild:
    in its default goal's recipe ahead of the kbuild call, or in a prerequisite of that goal
    (make runs those first); None when it does not, or only after kbuild ran."""
    goal = next((r for r in rules if not r.is_pattern() and not r.targets[0].startswith(".")), None)
    if goal is None:
        return None
    seen: set[int] = set()

    def visit(rule: Rule) -> tuple[Optional[str], bool]:
        """(where it touches, whether kbuild was called first)."""
        if rule.line in seen:
            return None, False
        seen.add(rule.line)
        for prerequisite in rule.prerequisites:
            built_by = next(
                (r for r in rules if prerequisite in r.targets and not r.is_pattern()), None
            )
            if built_by is not None:
                where, called = visit(built_by)
                if where is not None or called:
                    return where, called
        for line in rule.recipe:
            if _touches(line, cmd_name):
                return rule.location, False
            if _CALLS_KBUILD.search(line):
                return None, True
        return None, False

    return visit(goal)[0]


def parse_kbuild(text: str, path: str) -> Kbuild:
    """Assignments and rules of a Kbuild/Makefile; every conditional branch counts."""
    variables: dict[str, str] = {}
    rules: list[Rule] = []
    current: Optional[OpenRule] = None
    in_define = False
    for start, end, line in logical_lines(text):
        if in_define:
            in_define = line.strip() != "endef"
            continue
        if line.startswith("\t"):
            if current is not None:
                command = line.strip()
                if command and not command.startswith("#"):
                    current.recipe.append(command)
                current.end_line = end
            continue
        stripped = strip_comment(line).strip()
        if not stripped or stripped.split()[0] in DIRECTIVES:
            continue  # blank, comment and conditional lines do not end a recipe
        if current is not None:
            rules.append(current.close(path))
            current = None
        word = stripped.split()[0]
        if word == "define":
            in_define = True
            continue
        assignment = ASSIGN.match(stripped)
        if assignment:
            assign(variables, *assignment.groups())
            continue
        if word in DIRECTIVES_NO_ASSIGN or stripped.startswith(".PHONY"):
            continue
        parsed = rule_line(stripped)
        if parsed is not None:
            targets, prerequisites, inline = parsed
            current = OpenRule(targets, prerequisites, [inline] if inline else [], start, end)
    if current is not None:
        rules.append(current.close(path))
    return Kbuild(path=path, variables=variables, rules=tuple(rules))
