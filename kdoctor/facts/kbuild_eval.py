"""The module's Kbuild evaluated by make itself: which objects ``obj-m`` declares and which
members (``<mod>-objs``, ``-y``, ``-m``) each has, as kbuild would see them — conditionals
(``ifneq ($(KERNELRELEASE),)``), ``.a`` members and computed names included.

Evaluating must never change the machine, so make never sees the module's commands:

* the text is sanitised first: ``$(shell ...)``, ``$(file ...)`` and ``$(guile ...)`` become
  references to an undefined variable (they expand to nothing), ``!=`` assignments lose their
  command, ``include`` lines and ``SHELL`` assignments are dropped; a text that could build such
  a call at run time (``$(eval ...)``, ``$(call <computed or dangerous name>, ...)``) is not
  evaluated at all;
* make reads that text through ``--eval`` (no file is written) with ``-f /dev/null``,
  ``SHELL=/bin/false`` on its command line and no ``MAKEFILES``/``MAKEFLAGS`` from the
  environment, and builds only an empty target of kdoctor's own, so no recipe runs;
* the probe has a time limit, its output a size limit and make an address-space limit
  (``prlimit``, when there is one).

Any failure returns why, and the caller falls back to reading the text without make.

The same evaluation expands the recipe lines that run cargo (each made a variable with
``define`` and printed with ``$(info)``: expanded, never run), so ``--target=$(TARGET_PROFILE)``
reads as the target it names. A Kbuild is evaluated with the variables the module's Makefile
exports to kbuild (``export TARGET_PROFILE := ...``): :func:`evaluate_outer` asks make for them
first, reading the Makefile as ``make -C <module>`` does (``KERNELRELEASE`` unset), and
:func:`evaluate` defines them ahead of the Kbuild, where an assignment of the Kbuild's own still
wins, as over a variable from the environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

from kdoctor.facts.tools import kernel_config
from kdoctor.i18n import _
from kdoctor.knowledge.cargo_command import runs_cargo
from kdoctor.knowledge.kernel_config import AUTO_CONF
from kdoctor.knowledge.make_text import logical_lines, strip_comment
from kdoctor.machine.system import System

MAKE_TIMEOUT = 10.0
#: the sanitised text travels as one argument: Linux allows 128 KiB per argument
MAX_TEXT = 100_000
MAX_OUTPUT = 1_000_000
MEMORY_LIMIT = 512 * 1024 * 1024
MARKER = "KDOCTOR-MODULE"
#: the marker of an expanded cargo command line, and of an exported variable
CMD_MARKER = "KDOCTOR-CMD"
VAR_MARKER = "KDOCTOR-VAR"
GOAL = "__kdoctor_evaluate_only__"
#: kbuild's suffixes for the members of a composite object
MEMBER_SUFFIXES = ("-objs", "-y", "-m")

_DANGEROUS = ("shell", "file", "guile")
_FUNCTION = re.compile(r"\$([({])\s*(" + "|".join(_DANGEROUS) + r")(?=[\s)}])")
_CALL_DANGEROUS = re.compile(r"\$[({]\s*call\s+(?:" + "|".join(_DANGEROUS) + r"|eval)\s*[,)}]")
_CALL_COMPUTED = re.compile(r"\$[({]\s*call\s+\$")
_EVAL = re.compile(r"\$[({]\s*eval[\s)}]")
_SHELL_ASSIGN = re.compile(r"^(\s*(?:(?:override|export|private)\s+)*)([^\s:#=!?+]+)\s*!=")
_INCLUDE = re.compile(r"^\s*-?(?:include|sinclude)\s")
_SHELL_VAR = re.compile(r"^\s*(?:(?:override|export|private|define)\s+)*\.?SHELL(?:FLAGS)?\b")
_CONFIG = re.compile(r"\bCONFIG_[A-Za-z0-9_]+")
_EXPORT = re.compile(r"^\s*(?:override\s+)?export(?:\s+(.*))?$")
_ASSIGNED = re.compile(r"^([^\s:#=!?+]+)\s*(?:::=|:=|\+=|\?=|=)")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_RECIPE_PREFIX = re.compile(r"^(?:\$\(Q\)|[@+\-]\s*)+")
#: variables the evaluation sets itself, or make's own: never taken from the module's exports
_RESERVED = frozenset(
    (
        "MAKEFLAGS",
        "MAKEFILES",
        "MFLAGS",
        "GNUMAKEFLAGS",
        "MAKELEVEL",
        "MAKE",
        "MAKECMDGOALS",
        "CURDIR",
        "SHELL",
        "VPATH",
        "obj",
        "src",
        "M",
        "KBUILD_EXTMOD",
        "PWD",
        "srctree",
        "objtree",
        "KDIR",
        "KERNELRELEASE",
        "CARGO",
    )
)

_DUMP = (
    "$(foreach kdoctor-o,$(filter %.o,$(obj-m)),$(info "
    + MARKER
    + " $(kdoctor-o) :$(foreach kdoctor-s,"
    + " ".join(MEMBER_SUFFIXES)
    + ", $($(kdoctor-o:.o=$(kdoctor-s))))))\n"
    + f"{GOAL}: ;\n"
)


@dataclass(frozen=True)
class Evaluation:
    """What make said: module object -> its members (None when make could not tell, and why)."""

    modules: Optional[dict[str, list[str]]]
    problem: Optional[str] = None
    #: what was left out of the evaluated text (include lines, shell commands)
    dropped: tuple[str, ...] = ()
    #: make could not tell because the text is too big or too slow for it (``problem`` says how)
    too_complex: bool = False
    #: the recipe lines that run cargo, as make expanded them
    commands: tuple[str, ...] = ()
    #: the variables a Makefile exports (what :func:`evaluate_outer` asks), by name
    variables: dict[str, str] = field(default_factory=dict)


def sanitise(text: str) -> tuple[Optional[str], tuple[str, ...], Optional[str]]:
    """(the text make may read, what was dropped, why it cannot be evaluated at all)."""
    if _EVAL.search(text):
        return None, (), _("it uses $(eval ...), which kdoctor does not let make evaluate")
    if _CALL_COMPUTED.search(text) or _CALL_DANGEROUS.search(text):
        return None, (), _("it calls a computed or command-running function through $(call ...)")
    dropped: list[str] = []
    lines: list[str] = []
    for line in text.splitlines():
        if _INCLUDE.match(line):
            dropped.append(line.strip())
            lines.append("# kdoctor: include dropped")
            continue
        if _SHELL_VAR.match(line):
            dropped.append(line.strip())
            lines.append("# kdoctor: SHELL assignment dropped")
            continue
        assignment = _SHELL_ASSIGN.match(line)
        if assignment:
            dropped.append(line.strip())
            line = f"{assignment.group(1)}{assignment.group(2)} :="
        new = _FUNCTION.sub(lambda m: f"${m.group(1)}kdoctor-no-{m.group(2)}", line)
        if new != line:
            dropped.append(line.strip())
        lines.append(new)
    return "\n".join(lines) + "\n", tuple(dropped), None


def cargo_lines(clean: str) -> list[str]:
    """The recipe lines of ``clean`` (a sanitised text) that run cargo, each on one line."""
    lines: list[str] = []
    for line in logical_lines(clean):
        if not line.text.startswith("\t"):
            continue
        command = _RECIPE_PREFIX.sub("", line.text.strip())
        if runs_cargo(command) and command not in lines:
            lines.append(command)
    return lines


def commands_dump(commands: Sequence[str]) -> str:
    """make text that prints each command expanded (a ``define``d variable, never a recipe)."""
    parts = []
    for index, command in enumerate(commands):
        parts.append(
            f"define kdoctor-cmd-{index}\n{command}\nendef\n"
            f"$(info {CMD_MARKER} $(kdoctor-cmd-{index}))\n"
        )
    return "".join(parts)


def exported_names(clean: str) -> Optional[list[str]]:
    """The variables ``clean`` exports (``export A B``, ``export A := x``); None when it exports
    every variable (a bare ``export``, ``.EXPORT_ALL_VARIABLES``)."""
    names: list[str] = []
    for line in logical_lines(clean):
        if line.text.startswith("\t"):
            continue
        code = strip_comment(line.text).strip()
        if code.startswith(".EXPORT_ALL_VARIABLES"):
            return None
        match = _EXPORT.match(code)
        if match is None:
            continue
        rest = (match.group(1) or "").strip()
        if not rest:
            return None
        assigned = _ASSIGNED.match(rest)
        for name in [assigned.group(1)] if assigned else rest.split():
            if _NAME.fullmatch(name) and name not in names:
                names.append(name)
    return names


def variables_dump(names: Optional[Sequence[str]]) -> str:
    """make text that prints each exported variable that has a value from the file."""
    listed = "$(.VARIABLES)" if names is None else " ".join(names)
    return (
        f"$(foreach kdoctor-v,{listed},$(if $(filter file override,$(origin $(kdoctor-v))),"
        f"$(info {VAR_MARKER} $(kdoctor-v)=$($(kdoctor-v)))))\n"
    )


def prelude(variables: Mapping[str, str]) -> str:
    """make text defining ``variables`` before the module's text (as the environment would:
    an assignment of the text's own wins)."""
    lines = []
    for name, value in variables.items():
        if not _NAME.fullmatch(name) or name in _RESERVED:
            continue
        plain = value.replace("\n", " ").rstrip("\\").replace("$", "$$").replace("#", "\\#")
        lines.append(f"{name} := {plain}\n")
    return "".join(lines)


def config_arguments(system: System, kdir: Optional[str], text: str) -> list[str]:
    """``CONFIG_X=value`` of the kernel's ``auto.conf`` (what kbuild includes) for every
    option ``text`` names."""
    if not kdir:
        return []
    names = set(_CONFIG.findall(text))
    if not names:
        return []
    config = kernel_config(system, kdir, AUTO_CONF)
    return [f"{name}={value}" for name, value in config.items() if name in names]


def _limited(system: System, argv: list[str]) -> list[str]:
    prlimit = system.which("prlimit")
    return [prlimit, f"--as={MEMORY_LIMIT}", "--", *argv] if prlimit else argv


def make_argv(
    system: System,
    text: str,
    module_dir: str,
    kdir: Optional[str],
    release: Optional[str],
    defined: Optional[Mapping[str, str]] = None,
) -> list[str]:
    module_dir = os.path.normpath(module_dir)
    argv = ["make", "-rR", "-s", "--no-print-directory", "-f", os.devnull, "SHELL=/bin/false"]
    for name in ("obj", "src", "M", "KBUILD_EXTMOD", "PWD"):
        argv.append(f"{name}={module_dir}")
    if kdir:
        argv += [f"srctree={kdir}", f"objtree={kdir}", f"KDIR={kdir}"]
    argv.append(f"KERNELRELEASE={release or 'kdoctor'}")
    argv.append("CARGO=cargo")  # kdoctor's build names CARGO on make's command line too
    argv += config_arguments(system, kdir, text)
    first = prelude(defined or {})
    if first:
        argv.append(f"--eval={first}")
    dump = _DUMP + commands_dump(cargo_lines(text))
    argv += [f"--eval={text}", f"--eval={dump}", GOAL]
    return _limited(system, argv)


def outer_argv(system: System, text: str, module_dir: str, kdir: Optional[str]) -> list[str]:
    """make reading ``text`` as ``make -C <module>`` does (no ``KERNELRELEASE``), printing
    what it exports and its cargo commands."""
    module_dir = os.path.normpath(module_dir)
    argv = ["make", "-rR", "-s", "--no-print-directory", "-f", os.devnull, "SHELL=/bin/false"]
    argv += [f"CURDIR={module_dir}", f"PWD={module_dir}", "CARGO=cargo"]
    if kdir:
        argv.append(f"KDIR={kdir}")
    dump = variables_dump(exported_names(text)) + commands_dump(cargo_lines(text))
    argv += [f"--eval={text}", f"--eval={dump}{GOAL}: ;\n", GOAL]
    return _limited(system, argv)


_ENV = {"MAKEFILES": "", "MAKEFLAGS": "", "MFLAGS": "", "GNUMAKEFLAGS": "", "MAKELEVEL": ""}


def _ask(
    system: System, argv: list[str], cwd: str, dropped: tuple[str, ...]
) -> tuple[Optional[str], Optional[Evaluation]]:
    """make's output, or the evaluation that says why there is none."""
    probe = system.probe(argv, timeout=MAKE_TIMEOUT, cwd=cwd, env=_ENV)
    if probe.timed_out:
        too_slow = _("too complex to evaluate: make ran past {seconds} s").format(
            seconds=f"{MAKE_TIMEOUT:g}"
        )
        return None, Evaluation(None, too_slow, too_complex=True)
    if len(probe.stdout) + len(probe.stderr) > MAX_OUTPUT:
        too_much = _("too complex to evaluate: make printed too much")
        return None, Evaluation(None, too_much, dropped, too_complex=True)
    if not probe.ok:
        failed = _("make could not evaluate it: {error}").format(error=probe.describe_failure())
        return None, Evaluation(None, failed, dropped)
    return probe.stdout, None


def _sanitised(system: System, text: str) -> tuple[Optional[str], tuple[str, ...], Evaluation]:
    """The text make may read, what was dropped, and why it cannot be evaluated (when the
    text is None)."""
    if system.which("make") is None:
        return None, (), Evaluation(None, _("make is not installed"))
    clean, dropped, refused = sanitise(text)
    if clean is None:
        return None, (), Evaluation(None, _("not evaluated with make: {why}").format(why=refused))
    if len(clean) > MAX_TEXT:
        too_long = _("too complex to evaluate: {n} characters").format(n=len(clean))
        return None, dropped, Evaluation(None, too_long, dropped, too_complex=True)
    return clean, dropped, Evaluation(None)


def evaluate(
    system: System,
    text: str,
    module_dir: str,
    *,
    kdir: Optional[str] = None,
    release: Optional[str] = None,
    defined: Optional[Mapping[str, str]] = None,
) -> Evaluation:
    """``text`` (the module's Kbuild or Makefile) evaluated by make, as kbuild would read it,
    with ``defined`` (what the module's Makefile exports) set before it."""
    clean, dropped, refused = _sanitised(system, text)
    if clean is None:
        return refused
    cwd = kdir if kdir and system.is_dir(kdir) else module_dir
    argv = make_argv(system, clean, module_dir, kdir, release, defined)
    stdout, failed = _ask(system, argv, cwd, dropped)
    if stdout is None:
        return failed or refused
    commands = tuple(parse_marked(stdout, CMD_MARKER))
    return Evaluation(parse_output(stdout), None, dropped, commands=commands)


def needs_outer(text: str) -> bool:
    """Whether the Makefile ``make -C <module>`` runs exports a variable or runs cargo (what
    :func:`evaluate_outer` would tell)."""
    clean, _dropped, _refused = sanitise(text)
    if clean is None:
        return False
    return exported_names(clean) != [] or bool(cargo_lines(clean))


def evaluate_outer(
    system: System, text: str, module_dir: str, *, kdir: Optional[str] = None
) -> Evaluation:
    """The Makefile ``make -C <module>`` runs, read by make as that make does: the variables
    it exports to kbuild and its cargo commands, expanded (``modules`` stays empty)."""
    clean, dropped, refused = _sanitised(system, text)
    if clean is None:
        return refused
    argv = outer_argv(system, clean, module_dir, kdir)
    stdout, failed = _ask(system, argv, os.path.normpath(module_dir), dropped)
    if stdout is None:
        return failed or refused
    variables: dict[str, str] = {}
    for line in parse_marked(stdout, VAR_MARKER):
        name, _sep, value = line.partition("=")
        variables.setdefault(name, value)
    commands = tuple(parse_marked(stdout, CMD_MARKER))
    return Evaluation({}, None, dropped, commands=commands, variables=variables)


def parse_marked(stdout: str, marker: str) -> list[str]:
    """What follows ``marker`` on each of its lines, in order."""
    return [
        line[len(marker) + 1 :].strip()
        for line in stdout.splitlines()
        if line.startswith(marker + " ")
    ]


def parse_output(stdout: str) -> dict[str, list[str]]:
    """Module name -> members from the marker lines (a module without members is itself)."""
    modules: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        if not line.startswith(MARKER + " "):
            continue
        obj, _sep, rest = line[len(MARKER) + 1 :].partition(" :")
        obj = obj.strip()
        name = os.path.basename(obj)[: -len(".o")]
        members: list[str] = []
        for word in rest.split():
            if word.endswith((".o", ".a")) and word not in members:
                members.append(word)
        if name and name not in modules:
            modules[name] = members or [obj]
    return modules
