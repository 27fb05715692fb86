"""The tools the module's own build files hand kbuild, evaluated by make as kdoctor's Kbuild
evaluation does (:mod:`kdoctor.facts.kbuild_eval`: the text sanitised, read through
``--eval`` with ``-f /dev/null`` and ``SHELL=/bin/false``, only an empty goal of kdoctor's
built, a time, output and memory limit), in two readings:

1. the Makefile ``kdoctor build`` runs (``make -C <module>``, no ``KERNELRELEASE``), with the
   variables kdoctor passes set to a marker: each recipe line that may run make with a tool
   variable is expanded by make (``$(info)`` of a ``define`` holding the line) and its
   ``NAME=value`` words are read (:func:`kdoctor.knowledge.module_tools.passed_words`);
2. the file kbuild reads (``Kbuild``, else the Makefile, with ``KERNELRELEASE`` set), with
   those words and kdoctor's markers on the command line: a tool variable whose ``$(origin)``
   is ``file`` or ``override`` is the module's own.

Make is asked only when a file's text may set a tool at all. The rules are in
:mod:`kdoctor.knowledge.module_tools`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from kdoctor.facts.kbuild import kbuild_path
from kdoctor.facts.kbuild_eval import (
    MAKE_TIMEOUT,
    MAX_OUTPUT,
    MAX_TEXT,
    MEMORY_LIMIT,
    config_arguments,
    sanitise,
)
from kdoctor.i18n import _
from kdoctor.knowledge import module_tools as rules
from kdoctor.knowledge.module_tools import ToolSetting
from kdoctor.machine.system import System
from kdoctor.model.context import Context

if TYPE_CHECKING:
    from kdoctor.facts import Facts

#: the Makefile ``make -C <module>`` reads, in make's order
MAKEFILES = ("GNUmakefile", "makefile", "Makefile")
GOAL = "__kdoctor_tools_only__"
#: what make itself defines for the Makefile kdoctor runs (its built-in ``CC`` and ``LD``)
MAKE_DEFINES = ("CC", "LD")
#: what the kernel's Makefile defines (and exports) before kbuild reads the module's file
KERNEL_DEFINES = ("CC", "LD", "HOSTCC", "RUSTC", "BINDGEN")
LINE = "KDOCTOR-LINE"
VAR = "KDOCTOR-VAR"
HOSTPROGS = "KDOCTOR-HOSTPROGS"


@dataclass(frozen=True)
class ModuleTools:
    """The tool settings of the module's build files that reach kbuild, whether its Kbuild
    builds host programs (``HOSTCC`` runs only then), and what make could not tell."""

    settings: tuple[ToolSetting, ...] = ()
    hostprogs: bool = False
    #: why a file could not be evaluated (its settings are then unknown)
    problems: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "settings": [s.to_json() for s in self.settings],
            "hostprogs": self.hostprogs,
            "problems": list(self.problems),
        }


def passed_by_kdoctor(env: Mapping[str, str]) -> list[str]:
    """The tool variables ``kdoctor build`` puts on make's command line for this context."""
    return ["RUSTC", *(name for name in rules.MAKE_VARS if env.get(name))]


def module_tools(facts: Facts) -> ModuleTools:
    """The tools the module's build files hand kbuild for the target (see the module doc)."""
    ctx = facts.ctx
    return read_module_tools(
        facts.system,
        ctx.module_dir,
        kdir=ctx.kdir,
        release=ctx.target_kernel,
        passed=passed_by_kdoctor(ctx.env),
    )


def read_module_tools(
    system: System,
    module_dir: str,
    *,
    kdir: Optional[str],
    release: Optional[str],
    passed: Sequence[str],
) -> ModuleTools:
    settings: list[ToolSetting] = []
    problems: list[str] = []
    command_line = rules.marker_values(passed)
    makefile = next((n for n in MAKEFILES if system.is_file(os.path.join(module_dir, n))), None)
    if makefile is not None:
        text = system.read_text(os.path.join(module_dir, makefile)) or ""
        found, problem = _recipes(system, makefile, text, module_dir, kdir, command_line)
        settings += found
        problems += [problem] if problem else []
    for setting in settings:  # what a recipe passes is on kbuild's command line too
        command_line.setdefault(setting.variable, setting.value)
    hostprogs = False
    path = kbuild_path(system, module_dir)
    if path is not None:
        text = system.read_text(path) or ""
        name = os.path.basename(path)
        found, hostprogs, problem = _kbuild(
            system, name, text, module_dir, kdir, release, command_line
        )
        settings += found
        problems += [problem] if problem else []
    return ModuleTools(tuple(settings), hostprogs, tuple(problems))


def _recipes(
    system: System,
    name: str,
    text: str,
    module_dir: str,
    kdir: Optional[str],
    command_line: Mapping[str, str],
) -> tuple[list[ToolSetting], Optional[str]]:
    """What the Makefile's recipes pass to make: reading 1 of the module doc."""
    clean, _dropped, refused = sanitise(text)
    if clean is None:
        return [], _("{file} was not evaluated: {why}").format(file=name, why=refused)
    lines = rules.candidate_lines(clean)
    if not lines:
        return [], None
    dump = "".join(
        f"define kdoctor-line-{number}\n{line}\nendef\n"
        f"$(info {LINE} {number} $(kdoctor-line-{number}))\n"
        for number, line in lines
    )
    variables = {**command_line, **({"KDIR": kdir} if kdir else {})}
    argv = _argv(system, clean, dump, variables)
    defined = rules.marker_values(v for v in MAKE_DEFINES if v not in command_line)
    stdout, problem = _ask(system, name, argv, cwd=module_dir, defined=defined)
    if stdout is None:
        return [], problem
    found: list[ToolSetting] = []
    for line in stdout.splitlines():
        if not line.startswith(LINE + " "):
            continue
        number, _sep, expanded = line[len(LINE) + 1 :].partition(" ")
        for variable, value in rules.passed_words(expanded):
            if value and not rules.forwards(value):
                found.append(ToolSetting(variable, value, name, int(number), rules.passed_how()))
    return found, None


def _kbuild(
    system: System,
    name: str,
    text: str,
    module_dir: str,
    kdir: Optional[str],
    release: Optional[str],
    command_line: Mapping[str, str],
) -> tuple[list[ToolSetting], bool, Optional[str]]:
    """The tools the file kbuild reads assigns itself: reading 2 of the module doc."""
    if not rules.assigns_tools(text) and "hostprogs" not in text and "userprogs" not in text:
        return [], False, None
    clean, _dropped, refused = sanitise(text)
    if clean is None:
        return [], False, _("{file} was not evaluated: {why}").format(file=name, why=refused)
    dump = "".join(f"$(info {VAR} {v} $(origin {v}) $({v}))\n" for v in rules.TOOL_VARIABLES) + (
        f"$(info {HOSTPROGS} $(strip $(hostprogs) $(hostprogs-y) $(hostprogs-m)"
        " $(userprogs) $(userprogs-always-y)))\n"
    )
    module_dir = os.path.normpath(module_dir)
    variables = {name_: module_dir for name_ in ("obj", "src", "M", "KBUILD_EXTMOD", "PWD")}
    if kdir:
        variables.update({"srctree": kdir, "objtree": kdir, "KDIR": kdir})
    variables["KERNELRELEASE"] = release or "kdoctor"
    variables.update(command_line)
    argv = _argv(system, clean, dump, variables, config_arguments(system, kdir, clean))
    cwd = kdir if kdir and system.is_dir(kdir) else module_dir
    defined = rules.marker_values(v for v in KERNEL_DEFINES if v not in command_line)
    stdout, problem = _ask(system, name, argv, cwd=cwd, defined=defined)
    if stdout is None:
        return [], False, problem
    found: list[ToolSetting] = []
    hostprogs = False
    for line in stdout.splitlines():
        if line.startswith(HOSTPROGS + " "):
            hostprogs = bool(line[len(HOSTPROGS) + 1 :].strip())
        if not line.startswith(VAR + " "):
            continue
        words = line[len(VAR) + 1 :].split(" ", 1)
        variable, rest = words[0], words[1] if len(words) > 1 else ""
        for origin in ("file", "override"):
            if rest.startswith(origin + " "):
                value = rest[len(origin) + 1 :].strip()
                number = rules.assignment_line(text, variable) or 0
                if value and not rules.forwards(value):
                    how = rules.assigned_how(name)
                    found.append(ToolSetting(variable, value, name, number, how))
    return found, hostprogs, None


def _argv(
    system: System,
    clean: str,
    dump: str,
    variables: Mapping[str, str],
    extra: Sequence[str] = (),
) -> list[str]:
    argv = ["make", "-rR", "-s", "--no-print-directory", "-f", os.devnull, "SHELL=/bin/false"]
    argv += [f"{k}={v}" for k, v in variables.items()]
    argv += list(extra)
    argv += [f"--eval={clean}", f"--eval={dump}{GOAL}: ;\n", GOAL]
    prlimit = system.which("prlimit")
    return [prlimit, f"--as={MEMORY_LIMIT}", "--", *argv] if prlimit else argv


def _ask(
    system: System, name: str, argv: list[str], *, cwd: str, defined: Mapping[str, str]
) -> tuple[Optional[str], Optional[str]]:
    """make's output, or None and why it could not tell. ``defined``: tool variables that
    have a value the module's file may build on (``LD := $(LD) -m elf_x86_64``), set to
    markers in make's environment (a file's assignment beats it, a command line's word too)."""
    if system.which("make") is None:
        return None, _("make is not installed")
    if sum(len(word) for word in argv if word.startswith("--eval=")) > MAX_TEXT:
        return None, _("{file} is too complex to evaluate").format(file=name)
    env = {"MAKEFILES": "", "MAKEFLAGS": "", "MFLAGS": "", "GNUMAKEFLAGS": "", "MAKELEVEL": ""}
    probe = system.probe(argv, timeout=MAKE_TIMEOUT, cwd=cwd, env={**env, **defined})
    if probe.timed_out or len(probe.stdout) + len(probe.stderr) > MAX_OUTPUT:
        return None, _("{file} is too complex to evaluate").format(file=name)
    if not probe.ok:
        return None, _("make could not evaluate {file}: {error}").format(
            file=name, error=probe.describe_failure()
        )
    return probe.stdout, None


def tool_origins(ctx: Context, system: System) -> dict[str, str]:
    """program -> the setting that names it, for a build that could not find a program: the
    module's build files first (they beat what kdoctor passes), then the variables kdoctor
    passed from the environment or its settings file."""
    tools = read_module_tools(
        system,
        ctx.module_dir,
        kdir=ctx.kdir,
        release=ctx.target_kernel,
        passed=passed_by_kdoctor(ctx.env),
    )
    found = rules.origins(tools.settings)
    for name in rules.MAKE_VARS:
        value = ctx.env.get(name)
        if not value:
            continue
        origin = (
            _("from the environment")
            if system.env.get(name) == value
            else _("from kdoctor's settings file {path}").format(path=ctx.settings_file)
        )
        for command in rules.commands_of(name, value):
            found.setdefault(command, f"{name}={value} ({origin})")
    return found
