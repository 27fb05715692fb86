"""The fact ``module_makefile``: what ``kdoctor build``'s ``make -C <module>`` reads there and
the kernel tree each of its kbuild calls builds against (see
:mod:`kdoctor.knowledge.kbuild_call`).

A call whose ``-C`` is one variable that no ``override`` assigns takes the tree kdoctor hands
over under that name: the text tells, make is not asked. Any other (``-C $(KDIR)/build``,
``-C /lib/modules/$(shell uname -r)/build``, a literal path) is expanded by make itself, with
the variables kdoctor will pass and ``uname -r`` answered with the running kernel's release,
the way :mod:`kdoctor.facts.kbuild_eval` evaluates a Kbuild: every other ``$(shell)`` and
``include`` neutralised, ``-f /dev/null``, ``SHELL=/bin/false``, only an empty goal of
kdoctor's own built, a time, output and memory limit.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from kdoctor.facts.kbuild_eval import (
    GOAL,
    MAKE_TIMEOUT,
    MAX_OUTPUT,
    MAX_TEXT,
    MEMORY_LIMIT,
    sanitise,
)
from kdoctor.i18n import _
from kdoctor.knowledge.kbuild_call import (
    MAKE_FILES,
    KbuildCall,
    declares_objects,
    has_rules,
    holds_module,
    includes,
    kbuild_calls,
    overridden,
    same_tree,
    tree_names,
    with_release,
)
from kdoctor.machine.system import System

if TYPE_CHECKING:
    from kdoctor.facts import Facts

MARKER = "KDOCTOR-TREE"


@dataclass(frozen=True)
class TreeUse:
    """A kbuild call and the tree it builds against when kdoctor builds the module."""

    call: KbuildCall
    #: the tree ``-C`` names with kdoctor's variables (None: it could not be told, see
    #: ``problem``)
    tree: Optional[str]
    #: it is the target's tree (None: not known)
    reaches: Optional[bool]
    #: make expanded it (the text alone could not tell)
    evaluated: bool = False
    problem: Optional[str] = None

    def to_json(self) -> dict[str, object]:
        return {
            **self.call.to_json(),
            "builds_against": self.tree,
            "reaches_target": self.reaches,
            "evaluated_by_make": self.evaluated,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class MakefileReading:
    """The module directory's build files as ``make -C`` and kbuild meet them."""

    directory: str
    #: the file ``make -C`` reads (``GNUmakefile``, ``makefile`` or ``Makefile``), if any
    makefile: Optional[str] = None
    kbuild: bool = False
    cargo_toml: bool = False
    #: the make file has a rule (else make stops with "No targets")
    rules: bool = False
    #: the make file includes another (whose rules and variables are not read here)
    includes: bool = False
    #: the make file assigns ``obj-m`` (a kbuild makefile)
    objects: bool = False
    calls: tuple[TreeUse, ...] = ()
    #: the variables kdoctor hands the kernel tree over as (``KDIR`` first)
    names: tuple[str, ...] = ("KDIR",)
    holds_module: bool = False
    #: ``-C`` names a variable an ``override`` assigns: (variable, file, line)
    forced: tuple[tuple[str, str, int], ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, object]:
        return {
            "directory": self.directory,
            "makefile": self.makefile,
            "kbuild": self.kbuild,
            "cargo_toml": self.cargo_toml,
            "rules": self.rules,
            "includes": self.includes,
            "objects": self.objects,
            "holds_module": self.holds_module,
            "kbuild_calls": [c.to_json() for c in self.calls],
            "tree_variables": list(self.names),
        }


def module_makefile(facts: Facts) -> MakefileReading:
    ctx = facts.ctx
    return read_makefile(facts.system, ctx.module_dir, kdir=ctx.kdir, release=ctx.running_kernel)


def tree_variables(facts: Facts) -> list[str]:
    """``NAME=<kdir>`` for every name but ``KDIR`` under which ``kdoctor build`` hands the
    target's tree to make: read from the text alone (make is not asked)."""
    ctx = facts.ctx
    files = _build_files(facts.system, ctx.module_dir)
    makefile = next((n for n in MAKE_FILES if n in files), None)
    if makefile is None:
        return []
    read = {n: files[n] for n in (makefile, "Kbuild") if n in files}
    names = tree_names(read, kbuild_calls(makefile, files[makefile]))
    return [f"{name}={ctx.kdir}" for name in names if name != "KDIR"]


def _build_files(system: System, directory: str) -> dict[str, str]:
    files = {}
    for name in (*MAKE_FILES, "Kbuild"):
        text = system.read_text(os.path.join(directory, name))
        if text is not None:
            files[name] = text
    return files


def read_makefile(system: System, directory: str, *, kdir: str, release: str) -> MakefileReading:
    """``directory``'s make file and Kbuild; ``release`` answers the files' ``uname -r``."""
    files = _build_files(system, directory)
    cargo = system.is_file(os.path.join(directory, "Cargo.toml"))
    found = holds_module({**files, **({"Cargo.toml": ""} if cargo else {})})
    makefile = next((n for n in MAKE_FILES if n in files), None)
    if makefile is None:
        return MakefileReading(directory, None, "Kbuild" in files, cargo, holds_module=found)
    text = files[makefile]
    read = {n: files[n] for n in (makefile, "Kbuild") if n in files}
    calls = kbuild_calls(makefile, text)
    names = tree_names(read, calls)
    uses: list[TreeUse] = []
    forced: list[tuple[str, str, int]] = []
    asked: list[KbuildCall] = []
    for call in calls:
        variable = call.variable
        where = overridden(read, variable) if variable else None
        if variable and where is None:  # make's command line beats every other assignment
            uses.append(TreeUse(call, kdir, True))
            continue
        if variable and where is not None:
            forced.append((variable, *where))
        asked.append(call)
    if asked:
        uses += evaluate_trees(system, directory, text, asked, names, kdir, release)
    return MakefileReading(
        directory,
        makefile,
        "Kbuild" in files,
        cargo,
        rules=has_rules(text),
        includes=includes(text),
        objects=declares_objects(text),
        calls=tuple(sorted(uses, key=lambda u: u.call.line)),
        names=tuple(names),
        holds_module=found,
        forced=tuple(forced),
    )


def evaluate_trees(
    system: System,
    directory: str,
    text: str,
    calls: list[KbuildCall],
    names: list[str],
    kdir: str,
    release: str,
) -> list[TreeUse]:
    """Each call's ``-C`` as make expands it in ``text`` with ``NAME=<kdir>`` for ``names``."""

    def unknown(problem: str) -> list[TreeUse]:
        return [TreeUse(c, None, None, evaluated=True, problem=problem) for c in calls]

    if system.which("make") is None:
        return unknown(_("make is not installed"))
    dump = "".join(
        f"$(info {MARKER} {i} {with_release(c.tree, release)})\n" for i, c in enumerate(calls)
    )
    clean, _dropped, refused = sanitise(with_release(text, release))
    shown, _dropped_too, refused_too = sanitise(dump + f"{GOAL}: ;\n")
    if clean is None or shown is None:
        why = refused or refused_too or ""
        return unknown(_("not evaluated with make: {why}").format(why=why))
    if len(clean) > MAX_TEXT:
        return unknown(_("too complex to evaluate: {n} characters").format(n=len(clean)))
    argv = ["make", "-rR", "-s", "--no-print-directory", "-f", os.devnull, "SHELL=/bin/false"]
    argv += [f"PWD={directory}", *(f"{name}={kdir}" for name in names)]
    argv += [f"--eval={clean}", f"--eval={shown}", GOAL]
    prlimit = system.which("prlimit")
    if prlimit:
        argv = [prlimit, f"--as={MEMORY_LIMIT}", "--", *argv]
    env = {"MAKEFILES": "", "MAKEFLAGS": "", "MFLAGS": "", "GNUMAKEFLAGS": "", "MAKELEVEL": ""}
    probe = system.probe(argv, timeout=MAKE_TIMEOUT, cwd=directory, env=env)
    if probe.timed_out or len(probe.stdout) + len(probe.stderr) > MAX_OUTPUT:
        return unknown(_("too complex to evaluate"))
    if not probe.ok:
        failed = _("make could not evaluate it: {error}").format(error=probe.describe_failure())
        return unknown(failed)
    expanded: dict[int, str] = {}
    for line in probe.stdout.splitlines():
        head, _sep, value = line.partition(" ")
        index, _sep, value = value.partition(" ")
        if head == MARKER and index.isdigit():
            expanded[int(index)] = value.strip().strip("'\"")
    uses = []
    for i, call in enumerate(calls):
        value = expanded.get(i, "")
        if not value or "$" in value:
            nothing = _("make expands it to nothing kdoctor can tell without running commands")
            uses.append(TreeUse(call, None, None, evaluated=True, problem=nothing))
            continue
        tree = os.path.normpath(os.path.join(directory, value))  # relative: to the module's
        reaches = same_tree(tree, kdir) or system.real_path(tree) == system.real_path(kdir)
        uses.append(TreeUse(call, tree, reaches, evaluated=True))
    return uses
