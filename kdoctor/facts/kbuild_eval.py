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
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Optional

from kdoctor.facts.tools import kernel_config
from kdoctor.i18n import _
from kdoctor.knowledge.kernel_config import AUTO_CONF
from kdoctor.machine.system import System

MAKE_TIMEOUT = 10.0
#: the sanitised text travels as one argument: Linux allows 128 KiB per argument
MAX_TEXT = 100_000
MAX_OUTPUT = 1_000_000
MEMORY_LIMIT = 512 * 1024 * 1024
MARKER = "KDOCTOR-MODULE"
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


def make_argv(
    system: System, text: str, module_dir: str, kdir: Optional[str], release: Optional[str]
) -> list[str]:
    module_dir = os.path.normpath(module_dir)
    argv = ["make", "-rR", "-s", "--no-print-directory", "-f", os.devnull, "SHELL=/bin/false"]
    for name in ("obj", "src", "M", "KBUILD_EXTMOD", "PWD"):
        argv.append(f"{name}={module_dir}")
    if kdir:
        argv += [f"srctree={kdir}", f"objtree={kdir}", f"KDIR={kdir}"]
    argv.append(f"KERNELRELEASE={release or 'kdoctor'}")
    argv += config_arguments(system, kdir, text)
    argv += [f"--eval={text}", f"--eval={_DUMP}", GOAL]
    prlimit = system.which("prlimit")
    if prlimit:
        argv = [prlimit, f"--as={MEMORY_LIMIT}", "--", *argv]
    return argv


def evaluate(
    system: System,
    text: str,
    module_dir: str,
    *,
    kdir: Optional[str] = None,
    release: Optional[str] = None,
) -> Evaluation:
    """``text`` (the module's Kbuild or Makefile) evaluated by make, as kbuild would read it."""
    if system.which("make") is None:
        return Evaluation(None, _("make is not installed"))
    clean, dropped, refused = sanitise(text)
    if clean is None:
        return Evaluation(None, _("not evaluated with make: {why}").format(why=refused))
    if len(clean) > MAX_TEXT:
        too_long = _("too complex to evaluate: {n} characters").format(n=len(clean))
        return Evaluation(None, too_long, dropped, too_complex=True)
    cwd = kdir if kdir and system.is_dir(kdir) else module_dir
    env = {"MAKEFILES": "", "MAKEFLAGS": "", "MFLAGS": "", "GNUMAKEFLAGS": "", "MAKELEVEL": ""}
    probe = system.probe(
        make_argv(system, clean, module_dir, kdir, release),
        timeout=MAKE_TIMEOUT,
        cwd=cwd,
        env=env,
    )
    if probe.timed_out:
        too_slow = _("too complex to evaluate: make ran past {seconds} s").format(
            seconds=f"{MAKE_TIMEOUT:g}"
        )
        return Evaluation(None, too_slow, too_complex=True)
    if len(probe.stdout) + len(probe.stderr) > MAX_OUTPUT:
        too_much = _("too complex to evaluate: make printed too much")
        return Evaluation(None, too_much, dropped, too_complex=True)
    if not probe.ok:
        failed = _("make could not evaluate it: {error}").format(error=probe.describe_failure())
        return Evaluation(None, failed, dropped)
    return Evaluation(parse_output(probe.stdout), None, dropped)


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
