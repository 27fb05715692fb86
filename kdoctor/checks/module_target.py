"""module-target: the target a cargo-driven module's build names must exist in the chosen rustc
(a built-in target: ``rustc --print target-list``) or be accepted by it (a target JSON:
``rustc --target FILE --print cfg``)."""

from __future__ import annotations

import os
import shlex
from typing import Any, Optional

from packaging.version import InvalidVersion, Version

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.cargo import chosen_cargo, target_list
from kdoctor.facts.module import module_info, module_kbuild
from kdoctor.facts.rust import rust_toolchain
from kdoctor.facts.rustc import RustToolchain
from kdoctor.facts.rustup import PROBE_ENV, RUSTC_TIMEOUT
from kdoctor.i18n import N_, _
from kdoctor.knowledge.cargo import (
    GONE_TARGETS,
    JSON_TARGET_FLAG,
    JSON_TARGET_FLAG_SINCE,
    RENAMED_SPEC_FIELDS,
    first_error,
    unknown_spec_field,
)
from kdoctor.knowledge.cargo_command import passes_unstable
from kdoctor.model.finding import Finding, Status
from kdoctor.model.module import BuildDriver, Module, RustTarget
from kdoctor.model.need import ByHand

_UNSTABLE = "unstable-options"
#: the drivers that run ``cargo build`` themselves (cargo-xbuild runs its own)
_PLAIN_CARGO = (BuildDriver.CARGO, BuildDriver.CARGO_BUILD_STD)


def _version(text: Optional[str]) -> Optional[Version]:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None


@register
class ModuleTargetCheck(Check):
    id = "module-target"
    title = N_("the module's Rust target exists in (or is accepted by) the chosen rustc")

    def run(self, facts: Facts) -> Finding:
        module = facts.of(module_info)
        if not module.driver.uses_cargo:
            return self.finding(
                Status.SKIP,
                _("the module's build names no Rust target ({kind} module)").format(
                    kind=module.kind
                ),
            )
        target = module.target
        if target is None and module.target_unread:
            return self.finding(
                Status.WARN,
                _(
                    "the module's cargo command names --target {value}, which kdoctor could "
                    "not expand ({why}), so the target is not checked"
                ).format(value=module.target_unread, why=_kbuild_note(facts)),
                target_unread=module.target_unread,
            )
        if target is None:
            return self.finding(Status.SKIP, _("the module's cargo command names no --target"))
        unflagged = self._json_flag(facts, module, target)
        if unflagged is not None:
            return unflagged
        if target.is_json and not facts.system.is_file(target.json_path or ""):
            return self._missing(facts, target)
        toolchain = facts.of(rust_toolchain)
        if not toolchain.rustc:
            return self.finding(Status.SKIP, _("needs a Rust compiler first (see toolchain)"))
        details: dict[str, Any] = {"target": target.to_json(), "rustc": toolchain.rustc}
        if target.is_json:
            return self._json(facts, module, target, toolchain, details)
        return self._builtin(facts, module, target, toolchain, details)

    def _builtin(
        self,
        facts: Facts,
        module: Module,
        target: RustTarget,
        toolchain: RustToolchain,
        details: dict[str, Any],
    ) -> Finding:
        targets = facts.of(target_list)
        rustc = f"rustc {toolchain.version} ({toolchain.rustc})"
        if targets is None:
            return self.finding(
                Status.WARN,
                _("could not ask {rustc} for its built-in targets (--print target-list)").format(
                    rustc=rustc
                ),
                **details,
            )
        if target.name in targets:
            return self.ok(
                _("{target} is a built-in target of {rustc}").format(
                    target=_shown(target), rustc=rustc
                ),
                **details,
            )
        spec = _on_target_path(facts, target.name)
        if spec is not None:
            details["target_path"] = spec
            return self._json(facts, module, RustTarget(target.name, spec), toolchain, details)
        gone = GONE_TARGETS.get(target.name)
        summary = _("{rustc} has no built-in target {target}").format(
            rustc=rustc, target=_shown(target)
        )
        if gone is None:
            return self.finding(
                Status.FAIL,
                summary,
                fix_text=_(
                    "Build with a toolchain that has this target, or give the build a target "
                    "JSON (`--target path/to/NAME.json`, or NAME.json in RUST_TARGET_PATH)."
                ),
                commands=(f"{shlex.quote(toolchain.rustc or 'rustc')} --print target-list",),
                needs=(
                    ByHand(
                        self.id,
                        _("the module's own build names its target"),
                        _("Change the module's target, or build with a toolchain that has it."),
                    ),
                ),
                ctx=facts.ctx,
                **details,
            )
        pin = os.path.join(module.directory, "rust-toolchain.toml")
        details["gone"] = {"fate": gone.fate, "last_stable": gone.last_stable}
        # fate (and a renamed field's replacement below) come translated from kdoctor.knowledge
        return self.finding(
            Status.FAIL,
            _("{problem}: it was {fate}").format(problem=summary, fate=gone.fate),
            fix_text=_(
                "Build with a toolchain old enough to have it (rustc {version} or "
                "older, e.g. {nightly}, with rust-src), pinned by the module's "
                "rust-toolchain file; or give the build a target JSON with {target}'s "
                "settings (`--target path/to/{target}.json`, or {target}.json in "
                "RUST_TARGET_PATH) for this rustc."
            ).format(version=gone.last_stable, nightly=gone.nightly, target=target.name),
            commands=(
                f"rustup toolchain install {gone.nightly} --profile minimal --component rust-src",
                f"printf '[toolchain]\\nchannel = \"{gone.nightly}\"\\n' > {shlex.quote(pin)}",
            ),
            needs=(
                ByHand(
                    self.id,
                    _(
                        "both remedies change the module's own files (its rust-toolchain or its "
                        "build), and the old toolchain comes from static.rust-lang.org"
                    ),
                    _("Pin {nightly} in the module, or write a target JSON for {target}.").format(
                        nightly=gone.nightly, target=target.name
                    ),
                ),
            ),
            ctx=facts.ctx,
            **details,
        )

    def _json(
        self,
        facts: Facts,
        module: Module,
        target: RustTarget,
        toolchain: RustToolchain,
        details: dict[str, Any],
    ) -> Finding:
        path = target.json_path or ""
        name = os.path.basename(path)
        rustc = f"rustc {toolchain.version}"
        argv = [toolchain.rustc or "rustc", "--target", path, "--print", "cfg"]
        env = {**PROBE_ENV, **toolchain.env}
        flags = facts.system.env.get("RUSTFLAGS", "")
        passed = "-Zunstable-options" in flags or "-Z unstable-options" in flags
        if passed:  # the build passes it (RUSTFLAGS): ask as the build does
            argv = [argv[0], "-Z", "unstable-options", *argv[1:]]
        plain = facts.system.probe(argv, timeout=RUSTC_TIMEOUT, cwd=module.directory, env=env)
        if plain.ok:
            said = (
                _("{rustc} accepts {name} (with {setting})")
                if passed
                else _("{rustc} accepts {name}")
            )
            return self.ok(
                said.format(rustc=rustc, name=name, setting="RUSTFLAGS=-Zunstable-options"),
                **details,
            )
        errors = [first_error(plain.output)]
        shown = list(errors)
        if _UNSTABLE in errors[0] and not passed:
            unstable = [argv[0], "-Z", "unstable-options", *argv[1:]]
            retry = facts.system.probe(
                unstable,
                timeout=RUSTC_TIMEOUT,
                cwd=module.directory,
                env={**env, "RUSTC_BOOTSTRAP": "1"},
            )
            if not retry.ok:
                errors.append("with -Zunstable-options: " + first_error(retry.output))
                shown.append(
                    _("with -Zunstable-options: {error}").format(error=first_error(retry.output))
                )
            else:
                errors.append("with -Zunstable-options (RUSTC_BOOTSTRAP=1) it parses")
                shown.append(_("with -Zunstable-options (RUSTC_BOOTSTRAP=1) it parses"))
        details["errors"] = errors
        field = next((f for f in map(unknown_spec_field, errors) if f), None)
        remedies = []
        if _UNSTABLE in errors[0]:
            remedies.append(
                _(
                    "this rustc loads custom targets only with -Zunstable-options (a nightly, or "
                    "RUSTC_BOOTSTRAP=1): pass it, e.g. RUSTFLAGS=-Zunstable-options"
                )
            )
        if field:
            known = RENAMED_SPEC_FIELDS.get(field)
            instead = known or _("whatever this rustc's field list names")
            remedies.append(
                _(
                    "`{field}` is a field of older rustc: replace it in {name} ({instead}), or "
                    "build with a toolchain as old as the JSON"
                ).format(field=field, name=name, instead=instead)
            )
        if not remedies:
            remedies.append(
                _("make {name} match this rustc's target-spec format").format(name=name)
            )
        return self.finding(
            Status.FAIL,
            _("{rustc} rejects {name}: {errors}").format(
                rustc=rustc, name=name, errors="; ".join(shown)
            ),
            fix_text="; ".join(remedies) + ".",
            needs=(
                ByHand(
                    self.id,
                    _("{name} is the module's own file").format(name=name),
                    _("Edit {name}.").format(name=name),
                ),
            ),
            ctx=facts.ctx,
            **details,
        )

    def _json_flag(self, facts: Facts, module: Module, target: RustTarget) -> Optional[Finding]:
        """A ``.json`` target on a cargo that loads one only with ``-Zjson-target-spec``, which
        the module's ``cargo build`` does not pass: cargo stops on it before anything else."""
        if not target.by_path or module.driver not in _PLAIN_CARGO:
            return None
        if passes_unstable(module.target_call, JSON_TARGET_FLAG):
            return None
        if JSON_TARGET_FLAG in module.cargo_unstable:
            return None
        cargo = facts.of(chosen_cargo)
        release = _version(cargo.release)
        if release is None or release < JSON_TARGET_FLAG_SINCE:
            return None
        path = target.json_path or ""
        missing = not facts.system.is_file(path)
        also = (
            " " + _("{path} does not exist either: put it there too.").format(path=path)
            if missing
            else ""
        )
        return self.finding(
            Status.FAIL,
            _(
                "cargo {release} ({path}) loads the target JSON {name} only with "
                "-Zjson-target-spec on its command line (rust-lang/cargo#16557, cargo {since}), "
                "and the module's cargo command does not pass it"
            ).format(
                release=cargo.release,
                path=cargo.path,
                name=os.path.basename(path),
                since=JSON_TARGET_FLAG_SINCE,
            ),
            fix_text=_(
                "Add -Zjson-target-spec to the module's cargo command (beside its other -Z "
                "flags), or build with a toolchain older than {since}."
            ).format(since=JSON_TARGET_FLAG_SINCE)
            + also,
            needs=(
                ByHand(
                    self.id,
                    _("the cargo command is the module's own build"),
                    _("Add -Zjson-target-spec to the module's cargo command."),
                ),
            ),
            ctx=facts.ctx,
            target=target.to_json(),
            cargo=cargo.path,
            cargo_release=cargo.release,
            call=list(module.target_call),
            missing=missing,
        )

    def _missing(self, facts: Facts, target: RustTarget) -> Finding:
        """The target JSON the build names is not there: cargo stops on it before anything
        is compiled, whatever the toolchain."""
        path = target.json_path or ""
        named = f" ({target.origin})" if target.origin else ""
        return self.finding(
            Status.FAIL,
            _("the target JSON {path} the build names does not exist").format(path=path + named),
            fix_text=_(
                "Put the target specification at {path} (the module's own file: its "
                "repository or README says where it comes from), or name a target that exists."
            ).format(path=path),
            needs=(
                ByHand(
                    self.id,
                    _("{name} is the module's own file").format(name=os.path.basename(path)),
                    _("Provide {path}.").format(path=path),
                ),
            ),
            ctx=facts.ctx,
            target=target.to_json(),
        )


def _shown(target: RustTarget) -> str:
    """The target's name, with where the build names it when that is not its cargo command."""
    return f"{target.name} ({target.origin})" if target.origin else target.name


def _kbuild_note(facts: Facts) -> str:
    kbuild = facts.of(module_kbuild)
    if kbuild is not None and kbuild.note:
        return kbuild.note
    return _("make did not expand it")


def _on_target_path(facts: Facts, name: str) -> Optional[str]:
    """``NAME.json`` in a directory of ``RUST_TARGET_PATH``, where rustc looks for a target it
    does not have built in."""
    for directory in facts.system.env.get("RUST_TARGET_PATH", "").split(os.pathsep):
        path = os.path.join(directory, f"{name}.json") if directory else ""
        if path and facts.system.is_file(path):
            return path
    return None
