"""bindgen: present, new enough, and able to load libclang and translate a real header."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from importlib.resources import files
from typing import Any, ClassVar, Optional

from packaging.version import Version

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts import bindgen as bindgen_facts
from kdoctor.facts.bindgen import (
    bindgen_command,
    bindgen_path,
    bindgen_told,
    bindgen_version,
)
from kdoctor.facts.libclang import libclang_ignoring_env
from kdoctor.facts.probe_request import ProbeRequest
from kdoctor.facts.rustup import rustfmt_for_tools
from kdoctor.i18n import N_, _
from kdoctor.knowledge.packages import package_needs
from kdoctor.machine.system import Probe, System
from kdoctor.model.context import Context
from kdoctor.model.finding import Finding, Status

#: the oldest bindgen the module's Makefile drives (its flags changed before 0.55)
MINIMUM = Version("0.55")
#: how long bindgen may take to load libclang and translate the one-line probe header
TIMEOUT = 20.0
#: the struct the probe header declares; bindgen's output must name it
PROBE_STRUCT = "kdoctor_probe"

#: what bindgen (clang-sys) and the dynamic loader say when libclang cannot be loaded
_NO_LIBCLANG = re.compile(
    r"unable to find libclang|couldn'?t load libclang|could not load libclang"
    r"|couldn'?t find any valid shared librar|dlopen|libclang\S*: cannot open shared object"
    r"|error while loading shared libraries: libclang",
    re.IGNORECASE,
)


def probe_header() -> str:
    """The one-line C header shipped with kdoctor (``kdoctor/data/probe.h``)."""
    return str(files("kdoctor") / "data" / "probe.h")


def libclang_error(output: str) -> Optional[str]:
    """The line that says libclang could not be loaded, if any."""
    for line in output.splitlines():
        if _NO_LIBCLANG.search(line):
            # "thread 'main' panicked at 'Unable to find libclang: ..." (Rust before 1.73)
            line = re.sub(r"^thread '[^']*' panicked at '", "", line.strip())
            return line if len(line) <= 160 else line[:157] + "..."
    return None


@register
class BindgenCheck(Check):
    id = "bindgen"
    host_tool = True
    title = N_("bindgen {minimum} or newer, loading libclang")
    title_values: ClassVar[Mapping[str, object]] = {"minimum": MINIMUM}
    variables = ("BINDGEN",)

    def prefetch(self, facts: Facts) -> list[ProbeRequest]:
        path = facts.of(bindgen_path)
        return list(self._requests(facts.ctx, facts.system, path)) if path else []

    def _requests(
        self, ctx: Context, system: System, path: str
    ) -> tuple[ProbeRequest, ProbeRequest]:
        """``bindgen --version`` and bindgen translating the probe header."""
        libclang_path = ctx.env.get("LIBCLANG_PATH")
        given = (
            {"LIBCLANG_PATH": libclang_path}
            if libclang_path and system.env.get("LIBCLANG_PATH") != libclang_path
            else {}
        )
        env = {**given, **rustfmt_for_tools(system)} or None  # looking never makes ~/.rustup
        header = probe_header()
        return (
            ProbeRequest((path, "--version"), bindgen_facts.VERSION_TIMEOUT),
            ProbeRequest(
                (path, header, "--", "-x", "c"),
                TIMEOUT,
                env,
                cache=bindgen_facts.probe_cache(ctx),
                inputs=bindgen_facts.translation_inputs(ctx, system, path, header),
            ),
        )

    def run(self, facts: Facts) -> Finding:
        ctx, system = facts.ctx, facts.system
        command, source = bindgen_command(ctx)
        path = facts.of(bindgen_path)
        details: dict[str, Any] = {
            "path": path,
            "version": None,
            "libclang_loaded": False,
            "source": source,
            "minimum": str(MINIMUM),
        }
        if path is None:
            summary = (
                _("{command} (BINDGEN) is not installed")
                if source == "BINDGEN"
                else _("{command} is not installed")
            )
            return self.finding(
                Status.FAIL,
                summary.format(command=command),
                fix_text=_install(),
                needs=package_needs(ctx.package_manager, ["bindgen"]),
                ctx=ctx,
                missing=["bindgen"],
                **details,
            )
        _version_request, asked_header = self._requests(ctx, system, path)
        told = facts.of(bindgen_told)
        assert told is not None  # bindgen is installed
        if not told.ok:
            return self._failed(facts, told, path, "--version", details)
        version = facts.of(bindgen_version)
        details["version"] = str(version) if version else None
        found = f"{version or '?'} ({path})"

        argv = list(asked_header.argv)
        loaded = asked_header.ask(system)
        if not loaded.ok:
            return self._failed(facts, loaded, path, "probe", details, found)
        if PROBE_STRUCT not in loaded.stdout:
            return self.finding(
                Status.FAIL,
                _("bindgen ran but its output has no binding for struct {name}").format(
                    name=PROBE_STRUCT
                ),
                found=found,
                fix_text=_("Run it by hand and read what it printed:"),
                commands=(shlex.join(argv),),
                missing=[],
                **details,
            )
        details["libclang_loaded"] = True
        if version is None:
            return self.finding(
                Status.WARN,
                _(
                    "bindgen loads libclang, but its --version output is unrecognised: {output}"
                ).format(output=repr((told.output.strip().splitlines() or [_("nothing")])[0][:80])),
                found=found,
                fix_text=_("Make sure it is bindgen {version} or newer: {command}").format(
                    version=MINIMUM, command=f"{path} --version"
                ),
                missing=[],
                **details,
            )
        if version < MINIMUM:
            return self.finding(
                Status.WARN,
                _(
                    "bindgen {version} loads libclang but is older than {minimum}, the oldest the "
                    "module's Makefile supports"
                ).format(version=version, minimum=MINIMUM),
                found=found,
                fix_text=_install(),
                needs=package_needs(ctx.package_manager, ["bindgen"]),
                ctx=ctx,
                missing=["bindgen"],
                **details,
            )
        return self.ok(
            _("bindgen {version} loads libclang and translates a C header").format(version=version),
            found=found,
            missing=[],
            **details,
        )

    def _failed(
        self,
        facts: Facts,
        probe: Probe,
        path: str,
        step: str,
        details: dict[str, Any],
        found: Optional[str] = None,
    ) -> Finding:
        by_hand = shlex.join(probe.argv)
        if probe.timed_out:
            doing = (
                _("for --version")
                if step == "--version"
                else _("while loading libclang for a one-line header")
            )
            return self.finding(
                Status.FAIL,
                _("bindgen hung {doing}: no answer within {seconds} s (killed)").format(
                    doing=doing, seconds=f"{probe.timeout:g}"
                ),
                found=found or path,
                fix_text=_(
                    "bindgen started but never finished. Run it by hand to see where it stops; "
                    "a libclang from another LLVM or a broken LIBCLANG_PATH are the usual causes."
                ),
                commands=(by_hand,),
                missing=[],
                **details,
            )
        reason = libclang_error(probe.output)
        if reason is not None:
            return self._no_libclang(facts, reason, found or path, details)
        summary = (
            _("bindgen does not run: {failure}")
            if step == "--version"
            else _("bindgen failed on a one-line header: {failure}")
        )
        return self.finding(
            Status.FAIL,
            summary.format(failure=probe.describe_failure()),
            found=found or path,
            fix_text=_("Run it by hand to see the whole error:"),
            commands=(by_hand,),
            missing=[],
            **details,
        )

    def _no_libclang(
        self, facts: Facts, reason: str, found: str, details: dict[str, Any]
    ) -> Finding:
        ctx = facts.ctx
        where = ctx.env.get("LIBCLANG_PATH")
        elsewhere = facts.of(libclang_ignoring_env)
        if where:
            summary = _("bindgen cannot load libclang from {setting}: {reason}").format(
                setting=f"LIBCLANG_PATH={where}", reason=reason
            )
        else:
            summary = _("bindgen cannot load libclang: {reason}").format(reason=reason)
        if where and elsewhere is not None and elsewhere.directory != where.rstrip("/"):
            return self.finding(
                Status.FAIL,
                summary,
                found=found,
                fix_text=(
                    _("Point LIBCLANG_PATH at libclang {version} in {directory}, or unset it.")
                    .format(version=elsewhere.version or "", directory=elsewhere.directory)
                    .replace("  ", " ")
                ),
                commands=(f"export LIBCLANG_PATH={elsewhere.directory}",),
                missing=[],
                candidate=elsewhere.directory,
                **details,
            )
        commands: list[str] = []
        if elsewhere is not None:
            commands.append(f"export LIBCLANG_PATH={elsewhere.directory}")
        return self.finding(
            Status.FAIL,
            summary,
            found=found,
            fix_text=_(
                "Install libclang (the package with libclang.so), then point LIBCLANG_PATH at "
                "the directory that holds it."
            ),
            commands=tuple(commands),
            needs=package_needs(ctx.package_manager, ["libclang"]),
            ctx=ctx,
            missing=["libclang"],
            candidate=elsewhere.directory if elsewhere else None,
            **details,
        )


def _install() -> str:
    return _("Install bindgen {version} or newer.").format(version=MINIMUM)
