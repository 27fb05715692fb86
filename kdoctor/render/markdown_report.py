"""``kdoctor report``: one Markdown document to paste into a question or an issue, composed from
the objects ``check`` and ``fix --dry-run`` render (the diagnosis's :class:`Facts`, its
:class:`Report`, the :class:`Plan`) and the last build's log, with the person's home directory
and user name replaced (:class:`Placeholders`) everywhere in it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from kdoctor import __version__
from kdoctor.facts.bindgen import bindgen_command, bindgen_path, bindgen_version
from kdoctor.facts.cargo import chosen_cargo
from kdoctor.facts.clang import chosen_clang, clang_version
from kdoctor.facts.libclang import libclang_search
from kdoctor.facts.rust import rust_toolchain
from kdoctor.i18n import _
from kdoctor.model.finding import Finding, Status
from kdoctor.model.report import blocks
from kdoctor.render.words import STATUS_WORDS, module_words, status_count, target_source_words

if TYPE_CHECKING:
    from kdoctor.facts import Facts
    from kdoctor.model.context import Context
    from kdoctor.model.plan import Plan
    from kdoctor.pipeline.last_build import LastBuild
    from kdoctor.pipeline.provision import ProvisionResult

#: what stands for the home directory and the user name in a report
HOME_MARK = "~"
USER_MARK = "<user>"
#: the names a report keeps: system accounts, not a person's
PUBLIC_NAMES = frozenset({"root", "nobody"})
#: the characters of a path: the home directory is replaced only where a path component ends
_PATH_GOES_ON = r"(?![\w.-])"


@dataclass(frozen=True)
class Placeholders:
    """The person's home directories and user names, and how to replace them in a text."""

    homes: tuple[str, ...]
    names: tuple[str, ...]

    def apply(self, text: str) -> str:
        """``text`` with every home directory as ``~`` and every user name as ``<user>``
        (the longest first, so a home inside another is replaced whole)."""
        for home in sorted(self.homes, key=len, reverse=True):
            text = re.sub(re.escape(home) + _PATH_GOES_ON, HOME_MARK, text)
        for name in sorted(self.names, key=len, reverse=True):
            # a name of a few letters only where it is a word of its own; a longer one
            # everywhere (inside a path, a directory's name, a word)
            fence = r"(?<![\w])" if len(name) < 3 else ""
            after = r"(?![\w])" if len(name) < 3 else ""
            text = re.sub(fence + re.escape(name) + after, USER_MARK, text)
        return text


def placeholders(
    env: Mapping[str, str], homes: Iterable[str] = (), names: Iterable[str] = ()
) -> Placeholders:
    """The placeholders for the person running kdoctor: ``HOME`` (and ``homes``, such as its
    resolved path) and the names in ``USER``, ``LOGNAME`` and ``SUDO_USER`` (and ``names``,
    such as the home directory's owner)."""
    found = {h.rstrip("/") for h in (env.get("HOME", ""), *homes) if h.rstrip("/")}
    said = {env.get(v, "") for v in ("USER", "LOGNAME", "SUDO_USER")} | set(names)
    return Placeholders(
        homes=tuple(sorted(found)),
        names=tuple(sorted(n for n in said if n and n not in PUBLIC_NAMES)),
    )


def markdown_report(
    facts: Facts,
    result: ProvisionResult,
    build: Optional[LastBuild],
    hide: Placeholders,
    *,
    now: Optional[float] = None,
) -> str:
    """The whole report: ``facts`` and ``result`` are the diagnosis and plan of one
    ``fix --dry-run`` (``result.before`` is the ``check`` report), ``build`` the last build."""
    report = result.before
    ctx = report.context
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now if now is not None else time.time()))
    parts = [
        "# " + _("kdoctor report"),
        _("kdoctor {version}, {when}.").format(version=__version__, when=when),
        _section(_("System"), _system(ctx)),
        _section(_("Kernels"), _kernels(result)),
        _section(_("Module"), _module(result)),
        _section(_("Toolchain"), _toolchain(facts)),
        _section(_("Checks"), _checks(result)),
        _section(_("Problems"), _problems(report.findings)),
        _section(_("Last build"), _last_build(build)),
        _section(_("Plan ({command})").format(command="`kdoctor fix --dry-run`"), _plan(result)),
    ]
    return hide.apply(printable("\n\n".join(parts)).rstrip() + "\n")


#: a terminal's escape sequences (a compiler's colours in a build log) and other control bytes
_CONTROL = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # a title or link (OSC)
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # colours, cursor moves (CSI)
    r"|\x1b[@-_]|[\x00-\x08\x0b-\x1f\x7f]"
)


def printable(text: str) -> str:
    """``text`` without terminal escapes and control characters (tabs and newlines kept): a
    pasted report shows what was said, not colour codes."""
    return _CONTROL.sub("", text.replace("\r\n", "\n"))


def _section(title: str, body: str) -> str:
    return f"## {title}\n\n{body}"


def _items(pairs: Sequence[tuple[str, Optional[str]]]) -> str:
    """``- label: value`` lines, values as code; a missing value as ``-``."""
    return "\n".join(f"- {label}: {_code(value) if value else '-'}" for label, value in pairs)


def _code(text: str) -> str:
    """``text`` as inline code, whatever backticks it holds."""
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def fenced(text: str, lang: str = "") -> str:
    """``text`` in a fence longer than any run of backticks inside it."""
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def _cell(text: str) -> str:
    """``text`` fit for a table cell: one line, its pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


def _system(ctx: Context) -> str:
    distro = ctx.distro
    return _items(
        [
            (_("distribution"), f"{distro.name} ({distro.id} {distro.version})".strip()),
            (_("package manager"), ctx.package_manager),
            (_("architecture"), ctx.arch),
            (_("running as root"), _("yes") if ctx.is_root else _("no")),
            (_("kdoctor's cache"), ctx.cache_dir),
            (_("settings file"), ctx.settings_file),
        ]
    )


def _kernels(result: ProvisionResult) -> str:
    ctx, target = result.context, result.target
    pairs = [
        (_("running kernel"), ctx.running_kernel),
        (_("target kernel"), ctx.target_kernel),
        (_("how the target was chosen"), target_source_words(ctx)),
        (_("build directory (KDIR)"), ctx.kdir),
    ]
    if ctx.kernel_spec:
        pairs.append((_("as named"), ctx.kernel_spec))
    if ctx.toolchain_root:
        pairs.append((_("toolchain root"), ctx.toolchain_root))
    if target.target_kernel != ctx.target_kernel:
        pairs.append((_("the plan's target (switched by kdoctor fix)"), target.target_kernel))
    return _items(pairs)


def _module(result: ProvisionResult) -> str:
    ctx, module = result.context, result.before.module
    pairs = [
        (_("module"), module_words(ctx)),
        (_("kind"), str(module.kind) if module else None),
        (_("Rust toolchain mode"), str(ctx.rust_mode)),
        (_("toolchain pin"), ctx.pin.channel if ctx.pin else None),
    ]
    if ctx.pin_problem:
        pairs.append((_("pin not usable"), ctx.pin_problem))
    return _items(pairs)


def _known(facts: Facts, fact: Callable[[Facts], Any]) -> Any:
    """A fact the diagnosis computed (None when it did not, or it failed: the checks' table
    says why); asking nothing new of the machine."""
    if not facts.known(fact):
        return None
    try:
        return facts.of(fact)
    except Exception:  # the check that asked it is an error finding already
        return None


def _origin(source: str) -> str:
    """``default`` in words; otherwise the variable that named the tool (``CLANG``, ``LLVM``)."""
    return _("default") if source == "default" else source


def _toolchain(facts: Facts) -> str:
    """One row per tool the diagnosis looked at: its path, version and where it came from."""
    rows: list[tuple[str, Optional[str], Optional[str], str]] = []
    rust = _known(facts, rust_toolchain)
    if rust is not None:
        rows.append(("rustc", rust.rustc, rust.version, rust.reason))
        rows.append(("rust-src", rust.library_src, None, rust.sysroot or ""))
        rows.append(("rustfmt", rust.rustfmt, None, ""))
    clang = _known(facts, clang_version)
    if clang is not None:
        chosen = _known(facts, chosen_clang)
        origin = f"{chosen.command} ({_origin(chosen.source)})" if chosen else ""
        rows.append(("clang", clang.path, str(clang.version or clang.problem or ""), origin))
    search = _known(facts, libclang_search)
    if search is not None:
        lib = search.chosen
        rows.append(
            (
                "libclang",
                lib.path if lib else None,
                str(lib.version or "") if lib else None,
                lib.source if lib else "",
            )
        )
    if facts.known(bindgen_path):
        version = _known(facts, bindgen_version)
        command, origin = bindgen_command(facts.ctx)  # BINDGEN, else bindgen
        where = f"{command} ({_origin(origin)})"
        rows.append(("bindgen", _known(facts, bindgen_path), str(version or ""), where))
    cargo = _known(facts, chosen_cargo)
    if cargo is not None:
        rows.append(("cargo", cargo.path, cargo.version_line, cargo.reason))
    if not rows:
        return _("The diagnosis looked at no tool.")
    head = [_("tool"), _("path"), _("version"), _("where it came from")]
    lines = [_row(head), _row(["---"] * len(head))]
    for tool, path, version, origin in rows:
        lines.append(_row([tool, path or _("not found"), version or "", origin]))
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _checks(result: ProvisionResult) -> str:
    report = result.before
    head = [_("check"), _("status"), _("required"), _("reason")]
    lines = [_row(head), _row(["---"] * len(head))]
    for f in report.findings:
        said = f.summary if f.status.is_problem or not f.found else f.found
        required = _("yes") if f.required else _("no")
        lines.append(_row([f"`{f.id}`", _(STATUS_WORDS[f.status]), required, said]))
    counts = [status_count(Status(name), n) for name, n in report.counts().items() if n]
    blocking = [f.id for f in report.findings if blocks(f)]
    verdict = (
        _("not ready: {checks}").format(checks=", ".join(blocking))
        if blocking
        else _("ready: nothing stands in the way")
    )
    took = _("{counts} in {duration} ms").format(
        counts=", ".join(counts), duration=f"{report.duration_ms:.0f}"
    )
    return "\n".join(lines) + f"\n\n{took}: {verdict}"


def _problems(findings: Sequence[Finding]) -> str:
    """Each failing, warning or crashed check: what was found, why, the remedy and its docs."""
    problems = [f for f in findings if f.status.is_problem]
    if not problems:
        return _("No check fails or warns.")
    parts = []
    for f in problems:
        lines = [f"### `{f.id}`: {_(STATUS_WORDS[f.status])}", ""]
        if f.found:
            lines.append(_items([(_("found"), f.found)]))
        lines.append("- " + _("why: {why}").format(why=f.summary))
        if f.remediation is not None:
            lines.append("- " + _("remedy: {remedy}").format(remedy=f.remediation.text))
        if f.fix:
            lines.append("- " + _("kdoctor fix repairs it ({fix})").format(fix=f.fix))
        lines.append("- " + _("docs: {link}").format(link=f.docs))
        if f.remediation is not None and f.remediation.commands:
            lines += ["", fenced("\n".join(f.remediation.commands), "sh")]
        if f.traceback:
            lines += ["", fenced(f.traceback, "text")]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _last_build(build: Optional[LastBuild]) -> str:
    if build is None:
        return _("kdoctor keeps no build log here: no build ran with this cache.")
    lines = [
        _items(
            [
                (_("log"), build.log_path),
                (_("cause"), build.cause or _("none named in the log")),
            ]
        )
    ]
    if build.tail:
        said = _("its last {n} lines:").format(n=len(build.tail))
        lines += ["", said, "", fenced("\n".join(build.tail), "text")]
    return "\n".join(lines)


def _plan(result: ProvisionResult) -> str:
    plan: Plan = result.plan
    lines = [f"- {_('note: {note}').format(note=note)}" for note in plan.notes]
    for f in result.blocked:
        blocked = _("blocked: {check}: {summary} (no step of the plan fixes it)")
        lines.append("- " + blocked.format(check=f.id, summary=f.summary))
    if lines:
        lines.append("")
    if plan.empty:
        lines.append(_("nothing to do: every fixable check passes"))
        return "\n".join(lines)
    for i, step in enumerate(plan.steps, 1):
        root = " " + _("(as root)") if step.root else ""
        why = _("why: {why} ({fix} ← {checks})").format(
            why=step.why, fix=step.fix, checks=", ".join(step.findings)
        )
        lines += [f"{i}. {why}{root}", "", fenced(step.display, "sh")]
        if step.edit is not None and step.edit.diff:
            lines += ["", fenced(step.edit.diff, "diff")]
        lines.append("")
    lines.append(_("plan digest: {digest}").format(digest=f"`{result.plan_digest}`"))
    return "\n".join(lines).rstrip()
