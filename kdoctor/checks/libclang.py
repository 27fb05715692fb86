"""libclang: the library bindgen loads to parse kernel headers, the same major as clang."""

from __future__ import annotations

from typing import Any, Optional

from kdoctor.checks.base import Check, register
from kdoctor.checks.clang import persists
from kdoctor.facts import Facts
from kdoctor.facts.clang import clang_major
from kdoctor.facts.libclang import Search, libclang_ignoring_env, libclang_search
from kdoctor.i18n import N_, _
from kdoctor.knowledge.packages import package_needs
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import Setting


@register
class LibclangCheck(Check):
    id = "libclang"
    host_tool = True
    title = N_("libclang for bindgen, the same major version as clang")
    variables = ("LIBCLANG_PATH",)

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        search = facts.of(libclang_search)
        clang = facts.of(clang_major)
        chosen = search.chosen
        if chosen is None:
            return self._missing(facts, search, clang)
        details: dict[str, Any] = {
            "path": chosen.path,
            "dir": chosen.directory,
            "version": str(chosen.version) if chosen.version else None,
            "clang_major": clang,
            "source": chosen.source,
            "candidate": None,
            "missing": [],
        }
        found = f"{chosen.version or '?'} ({chosen.path})"
        if chosen.major is None:
            return self.ok(
                _("libclang found via {source}, its version is not in its name").format(
                    source=chosen.source
                ),
                found=found,
                **details,
            )
        if clang is None or chosen.major == clang:
            said = (
                _("libclang {version} (via {source}), same major as clang {clang}")
                if clang is not None
                else _("libclang {version} (via {source})")
            )
            return self.ok(
                said.format(version=chosen.version, source=chosen.source, clang=clang),
                found=found,
                **details,
            )
        summary = _(
            "bindgen would load libclang {major} but clang is {clang}: headers are "
            "parsed by a different clang than the one that compiles them"
        ).format(major=chosen.major, clang=clang)
        match = next((c for c in search.candidates if c.major == clang), None)
        if match is not None:
            return self.finding(
                Status.WARN,
                summary,
                found=found,
                fix_text=_("Point bindgen at libclang {version} with LIBCLANG_PATH.").format(
                    version=clang
                ),
                commands=persists(),
                needs=(Setting("LIBCLANG_PATH", match.directory),),
                ctx=ctx,
                **{**details, "candidate": match.directory},
            )
        return self.finding(
            Status.WARN,
            summary,
            found=found,
            fix_text=_(
                "Install libclang {version}, then point bindgen at it with LIBCLANG_PATH "
                "(or use clang {major} for the whole build)."
            ).format(version=clang, major=chosen.major),
            needs=package_needs(ctx.package_manager, ["libclang-n"], n=clang),
            ctx=ctx,
            **{**details, "missing": ["libclang-n"], "package_values": {"n": clang}},
        )

    def _missing(self, facts: Facts, search: Search, clang: Optional[int]) -> Finding:
        ctx = facts.ctx
        details: dict[str, Any] = {
            "path": None,
            "dir": None,
            "version": None,
            "clang_major": clang,
            "source": None,
        }
        if search.env_path:
            elsewhere = facts.of(libclang_ignoring_env)
            summary = _("{setting} holds no libclang (bindgen looks only there)").format(
                setting=f"LIBCLANG_PATH={search.env_path}"
            )
            if elsewhere is not None:
                return self.finding(
                    Status.FAIL,
                    summary,
                    fix_text=_(
                        "Point LIBCLANG_PATH at a directory holding libclang, or unset it "
                        "(bindgen would then load {path})."
                    ).format(path=elsewhere.path),
                    commands=(f"export LIBCLANG_PATH={elsewhere.directory}",),
                    candidate=elsewhere.directory,
                    missing=[],
                    **details,
                )
            return self.finding(
                Status.FAIL,
                summary,
                fix_text=_("Install libclang, then unset LIBCLANG_PATH or point it at libclang."),
                commands=("unset LIBCLANG_PATH",),
                needs=package_needs(ctx.package_manager, ["libclang"]),
                ctx=ctx,
                candidate=None,
                missing=["libclang"],
                **details,
            )
        return self.finding(
            Status.FAIL,
            _("libclang is not installed (bindgen cannot parse headers without it)"),
            fix_text=_("Install libclang (the package with libclang.so)."),
            needs=package_needs(ctx.package_manager, ["libclang"]),
            ctx=ctx,
            candidate=None,
            missing=["libclang"],
            **details,
        )
