"""What kbuild needs from a kernel build directory, what its modpost reads, and the module's
Kbuild file: which objects make up a module and which rules build them.

Two facts drive the ``.<object>.cmd: No such file or directory`` failure:

* since Linux 5.8 (commit 70f30cfe5b89) a missing ``.cmd`` file that modpost wants is fatal
  (before, ``sumversion`` only warned ``could not find .x.o.cmd for x.o``);
* modpost wants the ``.cmd`` file of *every* member object listed in ``<module>.mod``:
  for ``srcversion`` when the module has a version or ``CONFIG_MODULE_SRCVERSION_ALL=y``
  (5.8+), and for the symbol CRCs genksyms appends there when ``CONFIG_MODVERSIONS=y``
  (5.19+, commit f292d875d0dc "modpost: extract symbol versions from *.cmd files").

Only kbuild's ``if_changed`` family writes ``.<object>.cmd``; ``$(call cmd,...)`` runs a command
without recording it, and a plain recipe (``$(LD) -r -o $@ ...``) records nothing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from packaging.version import Version

from kdoctor.facts.tools import kernel_config
from kdoctor.knowledge import versions
from kdoctor.machine.system import System

# -- the kernel's build directory -------------------------------------------------------

#: what ``make -C KDIR M=...`` reads; a tuple lists files of which one is enough
REQUIRED_FILES: tuple[tuple[str, ...], ...] = (
    ("Makefile",),
    (".config",),
    ("Module.symvers",),
    ("scripts/mod/modpost",),
    ("include/generated/autoconf.h", "include/config/auto.conf"),
)
MODPOST = "scripts/mod/modpost"


def missing_build_files(system: System, kdir: str) -> list[str]:
    """The files a build directory lacks (all of them when it does not exist); empty = usable.

    Read through ``system`` only: Debian's ``linux-headers-X-amd64`` links ``scripts`` into
    ``linux-kbuild-X``, which the file system follows for us.
    """
    missing: list[str] = []
    for choices in REQUIRED_FILES:
        paths = [os.path.join(kdir, name) for name in choices]
        if not any(system.exists(path) for path in paths):
            missing.append(" or ".join(choices))
        elif choices[0] == MODPOST and system.which(paths[0]) is None:
            missing.append(f"{MODPOST} (not executable)")
    return missing


def kdir_release(system: System, kdir: str) -> Optional[str]:
    """The release a build directory was configured for (``include/config/kernel.release``)."""
    text = system.read_text(os.path.join(kdir, "include/config/kernel.release"))
    return text.strip() if text and text.strip() else None


def kdir_uts_release(system: System, kdir: str) -> Optional[str]:
    """The release modules built here will carry in their vermagic (``UTS_RELEASE``).

    Prefer this to ``kernel.release`` for naming the target: Debian writes the upstream version
    (``6.1.192``) there, but ``6.1.0-56-amd64`` into ``include/generated/utsrelease.h``.
    """
    text = system.read_text(os.path.join(kdir, "include/generated/utsrelease.h")) or ""
    match = re.search(r'#define\s+UTS_RELEASE\s+"([^"]+)"', text)
    return match.group(1) if match else kdir_release(system, kdir)


def installed_build_dirs(system: System, flavour: str) -> dict[str, str]:
    """Usable build directories already on this machine: release -> directory, newest first.

    ``/lib/modules/*/build`` everywhere, plus Debian's ``/usr/src/linux-headers-*-<flavour>``
    (usable through ``KDIR`` even without the ``/lib/modules`` link).
    """
    found: dict[str, str] = {}
    for release in system.listdir("/lib/modules"):
        kdir = f"/lib/modules/{release}/build"
        if not missing_build_files(system, kdir):
            found[release] = kdir
    suffix = f"-{flavour}"
    for name in system.listdir("/usr/src"):
        if name.startswith("linux-headers-") and name.endswith(suffix):
            release = name[len("linux-headers-") :]
            kdir = f"/usr/src/{name}"
            if release not in found and not missing_build_files(system, kdir):
                found[release] = kdir
    order = sorted(found, key=lambda r: (release_key(r), r), reverse=True)
    return {release: found[release] for release in order}


def release_key(release: str) -> tuple[int, ...]:
    """Sorts releases by their leading numbers: 6.12.9 > 6.1.0-56 > 6.1.0-9."""
    numbers: list[int] = []
    for part in re.split(r"[.\-+_~]", release):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers)


# -- which kernels read every member object's .cmd file ----------------------------------

FATAL_SINCE = Version("5.8")
CRCS_IN_CMD_SINCE = Version("5.19")
# genksyms output appended to the object's .cmd file (Makefile.build, 5.19+)
_SYMVERS_INTO_CMD = re.compile(
    r"gensymtypes[^\n]*(?:\\\n[^\n]*){0,3}>>\s*\$\(dot-target\)\.cmd", re.MULTILINE
)


@dataclass(frozen=True)
class CmdReading:
    """Whether the target's modpost stops when a member object has no ``.cmd`` file."""

    #: None when it could not be told
    fatal: Optional[bool]
    why: str
    version: Optional[str] = None


def member_cmd_reading(
    system: System, kdir: str, release: str, *, module_has_version: bool = False
) -> CmdReading:
    """Decide from the target's version, configuration and kbuild scripts."""
    found = kdir_release(system, kdir) or release
    version = versions.parse(found)
    shown = str(version) if version else None
    name = f"Linux {version}" if version else f"the target kernel ({found})"
    config = kernel_config(system, kdir)
    modversions = config.get("CONFIG_MODVERSIONS") == "y"
    srcversion_all = config.get("CONFIG_MODULE_SRCVERSION_ALL") == "y"
    if version is None:
        build = system.read_text(os.path.join(kdir, "scripts/Makefile.build")) or ""
        if modversions and _SYMVERS_INTO_CMD.search(build):
            return CmdReading(
                True,
                f"{name} records symbol CRCs in .cmd files (scripts/Makefile.build) and "
                "modpost reads them for every member object (CONFIG_MODVERSIONS=y)",
            )
        return CmdReading(None, f"could not tell the version of {name}")
    if version < FATAL_SINCE:
        return CmdReading(
            False,
            f"{name} only warns about a missing member .cmd file (fatal since 5.8)",
            shown,
        )
    if version >= CRCS_IN_CMD_SINCE and modversions:
        return CmdReading(
            True,
            f"{name} modpost reads symbol CRCs from every member object's .cmd file "
            "(CONFIG_MODVERSIONS=y, Linux 5.19+)",
            shown,
        )
    if srcversion_all or module_has_version:
        cause = "CONFIG_MODULE_SRCVERSION_ALL=y" if srcversion_all else "the module has a version"
        return CmdReading(
            True,
            f"{name} modpost checksums every member object's sources, listed in its .cmd file, "
            f"for srcversion ({cause}; a missing one is fatal since 5.8)",
            shown,
        )
    needs = "CONFIG_MODVERSIONS (5.19+) or srcversion"
    return CmdReading(
        False, f"{name} reads member .cmd files only for {needs}, and neither applies", shown
    )


_VERSION_INFO = re.compile(r"MODULE_VERSION\s*\(|[\"']version=")


def module_declares_version(system: System, module_dir: str) -> bool:
    """Whether the module's sources put a ``version=`` into ``.modinfo`` (MODULE_VERSION)."""
    for directory in (module_dir, os.path.join(module_dir, "src")):
        for name in system.listdir(directory):
            if name.endswith((".rs", ".c")):
                text = system.read_text(os.path.join(directory, name)) or ""
                if _VERSION_INFO.search(text):
                    return True
    return False


# -- the module's Kbuild ----------------------------------------------------------------

#: recipes that record the command line in ``.<target>.cmd``
_SAVES_CMD = re.compile(
    r"\$\(call\s+(?:if_changed|if_changed_dep|if_changed_rule|cmd_and_savecmd|cmd_and_fixdep)\b"
)
_WRITES_CMD = re.compile(
    r"\$\(dot-target\)\.cmd|\.\$\(@F\)\.cmd|\.\$\(notdir\s+\$@\)\.cmd|\.\$\(notdir\s+\$\(@\)\)\.cmd"
)
_CMD_ONLY = re.compile(r"\$\(call\s+cmd\s*,")
_ASSIGN = re.compile(
    r"^(?:(?:override|export)\s+)*([A-Za-z0-9_.\-$(){}/]+)\s*(::=|:=|\+=|\?=|!=|=)\s*(.*)$"
)
_DIRECTIVES = frozenset(
    ("ifeq", "ifneq", "ifdef", "ifndef", "else", "endif", "include", "-include", "sinclude")
)
_DIRECTIVES_NO_ASSIGN = frozenset(("export", "unexport", "vpath", ".PHONY", "undefine"))
#: how a Kbuild names the module directory in front of a target
_DIR_PREFIXES = (
    "$(obj)/",
    "$(src)/",
    "${obj}/",
    "${src}/",
    "$(M)/",
    "$(CURDIR)/",
    "$(PWD)/",
    "$(KBUILD_EXTMOD)/",
    "$(srctree)/",
    "./",
)
_REFERENCE = re.compile(r"\$[({]([A-Za-z0-9_.\-]+)[)}]")


@dataclass(frozen=True)
class Rule:
    """One explicit or pattern rule with its recipe, as written in the file."""

    targets: tuple[str, ...]
    prerequisites: tuple[str, ...]
    recipe: tuple[str, ...]
    file: str
    #: the rule's first line and the last line of its recipe (1-based)
    line: int
    end_line: int

    @property
    def location(self) -> str:
        return f"{os.path.basename(self.file)}:{self.line}"

    @property
    def saves_cmd(self) -> bool:
        """Whether running the recipe leaves ``.<target>.cmd`` behind."""
        return any(_SAVES_CMD.search(r) or _WRITES_CMD.search(r) for r in self.recipe)

    @property
    def uses_cmd_only(self) -> bool:
        """``$(call cmd,...)`` runs and prints a command but records nothing."""
        return any(_CMD_ONLY.search(r) for r in self.recipe)

    @property
    def command(self) -> str:
        """The recipe on one line (what it runs instead of if_changed)."""
        return "; ".join(r for r in self.recipe if r)

    def builds(self, obj: str) -> bool:
        return any(_matches(_normal_target(t), obj) for t in self.targets)

    def is_pattern(self) -> bool:
        return all("%" in t for t in self.targets)


@dataclass(frozen=True)
class Kbuild:
    """The module's Kbuild (or the Makefile kbuild reads when there is none)."""

    path: str
    variables: dict[str, str] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()

    def expand(self, value: str, depth: int = 0) -> str:
        """``value`` with references to variables this file defines filled in."""
        if depth > 8:
            return value

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in self.variables:
                return self.expand(self.variables[name], depth + 1)
            return match.group(0)

        return _REFERENCE.sub(one, value)

    def modules(self) -> dict[str, list[str]]:
        """Module name -> its member objects (``<name>-objs``/``-y``; else ``<name>.o``)."""
        result: dict[str, list[str]] = {}
        for key, value in self.variables.items():
            if not (key == "obj-m" or re.fullmatch(r"obj-\$[({].+[)}]", key)):
                continue
            for word in self.expand(value).split():
                if not word.endswith(".o"):
                    continue
                name = word[: -len(".o")]
                members: list[str] = []
                for suffix in ("-objs", "-y"):
                    raw = self.variables.get(name + suffix, "")
                    members += [w for w in self.expand(raw).split() if w.endswith(".o")]
                result[name] = members or [word]
        return result

    def rule_for(self, obj: str) -> Optional[Rule]:
        """The rule of this file that builds ``obj`` (explicit before pattern), if any."""
        candidates = [r for r in self.rules if r.recipe and r.builds(obj)]
        explicit = [r for r in candidates if not r.is_pattern()]
        chosen = explicit or candidates
        return chosen[0] if chosen else None

    def mentions(self, text: str) -> bool:
        return any(text in line for rule in self.rules for line in rule.recipe)


@dataclass(frozen=True)
class UnsavedObject:
    """A member object built by a rule that never writes its ``.cmd`` file."""

    module: str
    object: str
    rule: Rule
    #: the file modpost will look for
    cmd_file: str

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
        }


def kbuild_path(system: System, module_dir: str) -> Optional[str]:
    """``Kbuild`` when present (kbuild prefers it), else ``Makefile``."""
    for name in ("Kbuild", "Makefile"):
        path = os.path.join(module_dir, name)
        if system.read_text(path) is not None:
            return path
    return None


def read_kbuild(system: System, module_dir: str) -> Optional[Kbuild]:
    path = kbuild_path(system, module_dir)
    if path is None:
        return None
    return parse_kbuild(system.read_text(path) or "", path)


def cmd_file_for(module_dir: str, obj: str) -> str:
    """Where kbuild and modpost look for ``obj``'s saved command: ``<dir>/.<name>.cmd``."""
    directory, name = os.path.split(obj)
    return os.path.join(module_dir, directory, f".{name}.cmd")


def objects_without_cmd(kbuild: Kbuild, module_dir: str) -> list[UnsavedObject]:
    """Member objects whose rule in ``kbuild`` leaves no ``.<object>.cmd`` behind."""
    found: list[UnsavedObject] = []
    for module, members in kbuild.modules().items():
        for obj in members:
            rule = kbuild.rule_for(obj)
            if rule is None or rule.saves_cmd:
                continue  # kbuild's own rules (.c/.S/.rs) go through if_changed
            if kbuild.mentions(f".{os.path.basename(obj)}.cmd"):
                continue  # the file writes the .cmd itself (touch .x.o.cmd)
            found.append(UnsavedObject(module, obj, rule, cmd_file_for(module_dir, obj)))
    return found


@dataclass
class _Open:
    """A rule whose recipe lines are still being read."""

    targets: list[str]
    prerequisites: list[str]
    recipe: list[str]
    line: int
    end_line: int

    def close(self, path: str) -> Rule:
        return Rule(
            tuple(self.targets),
            tuple(self.prerequisites),
            tuple(self.recipe),
            path,
            self.line,
            self.end_line,
        )


def parse_kbuild(text: str, path: str) -> Kbuild:
    """Assignments and rules of a Kbuild/Makefile; every conditional branch counts."""
    variables: dict[str, str] = {}
    rules: list[Rule] = []
    current: Optional[_Open] = None
    in_define = False
    for start, end, line in _logical_lines(text):
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
        stripped = _strip_comment(line).strip()
        if not stripped or stripped.split()[0] in _DIRECTIVES:
            continue  # blank, comment and conditional lines do not end a recipe
        if current is not None:
            rules.append(current.close(path))
            current = None
        word = stripped.split()[0]
        if word == "define":
            in_define = True
            continue
        assignment = _ASSIGN.match(stripped)
        if assignment:
            _assign(variables, *assignment.groups())
            continue
        if word in _DIRECTIVES_NO_ASSIGN or stripped.startswith(".PHONY"):
            continue
        parsed = _rule_line(stripped)
        if parsed is not None:
            targets, prerequisites, inline = parsed
            current = _Open(targets, prerequisites, [inline] if inline else [], start, end)
    if current is not None:
        rules.append(current.close(path))
    return Kbuild(path=path, variables=variables, rules=tuple(rules))


def _logical_lines(text: str) -> list[tuple[int, int, str]]:
    """(first line, last line, text) with backslash continuations joined."""
    lines: list[tuple[int, int, str]] = []
    buffer: Optional[str] = None
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if buffer is None:
            buffer, start = raw, number
        else:
            buffer = buffer[:-1].rstrip() + " " + raw.strip()
        if buffer.endswith("\\"):
            continue
        lines.append((start, number, buffer))
        buffer = None
    if buffer is not None:
        lines.append((start, start, buffer.rstrip("\\")))
    return lines


def _strip_comment(line: str) -> str:
    match = re.search(r"(?<!\\)#", line)
    return line[: match.start()] if match else line


def _assign(variables: dict[str, str], name: str, op: str, value: str) -> None:
    value = value.strip()
    if op == "+=":
        old = variables.get(name, "")
        variables[name] = f"{old} {value}".strip()
    elif op == "?=":
        variables.setdefault(name, value)
    elif op != "!=":  # shell assignments cannot be evaluated here
        variables[name] = value


def _rule_line(line: str) -> Optional[tuple[list[str], list[str], str]]:
    """Split ``targets: prerequisites ; recipe`` (also static pattern and ``::`` rules)."""
    parts = _split_top_level(line, ":")
    if len(parts) < 2:
        return None
    targets = parts[0].split()
    rest = ":".join(p for p in parts[1:] if p != "")  # "::" rules
    if len(parts) >= 3 and parts[1].strip():  # static pattern: targets: pattern: prereqs
        rest = ":".join(parts[2:])
    prereq_text, _, inline = rest.partition(";")
    if _ASSIGN.match(prereq_text.strip()):  # target-specific variable
        return None
    if not targets:
        return None
    return targets, prereq_text.split(), inline.strip()


def _split_top_level(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char in "({":
            depth += 1
        elif char in ")}":
            depth = max(0, depth - 1)
        if char == sep and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _normal_target(target: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _DIR_PREFIXES:
            if target.startswith(prefix):
                target = target[len(prefix) :]
                changed = True
    return target


def _matches(target: str, obj: str) -> bool:
    # like make: a pattern (or name) without a slash is compared with the file name only
    name = obj if "/" in target else os.path.basename(obj)
    if "%" not in target:
        return target == name
    prefix, _, suffix = target.partition("%")
    return (
        len(name) > len(prefix) + len(suffix) and name.startswith(prefix) and name.endswith(suffix)
    )
