"""crates: a cargo-driven module's crate dependencies must resolve for its build: offline from
what is on this machine, from crates.io when it is reachable, or from the distribution's
packaged crates (Debian's ``librust-*-dev``) through a source replacement kdoctor owns."""

from __future__ import annotations

from typing import Any

from kdoctor.checks.base import Check, joined, register
from kdoctor.facts import Facts
from kdoctor.facts.cache_trust import own_cargo_home_distrust
from kdoctor.facts.cargo import chosen_cargo
from kdoctor.facts.crates import CrateState, Offer, crate_state
from kdoctor.facts.module import module_info
from kdoctor.i18n import N_, _, ngettext
from kdoctor.knowledge.cargo import DEBIAN_REGISTRY, upstream_version
from kdoctor.model.cache_layout import cargo_home
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand, CargoSource, Need, Package, Setting


def _what(state: CrateState) -> str:
    unresolved = state.build.unresolved
    if unresolved is None:
        return _("cargo cannot resolve the crates offline ({error})").format(
            error=state.build.error
        )
    crate, wanted, found = unresolved
    if wanted:
        said = (
            _('cargo cannot resolve {crate} = "{wanted}" offline (found {found})')
            if found
            else _('cargo cannot resolve {crate} = "{wanted}" offline')
        )
        return said.format(crate=crate, wanted=wanted, found=found)
    return _("cargo cannot resolve the crate {crate} offline (not on this machine)").format(
        crate=crate
    )


def _misfit(offer: Offer) -> str:
    dep = offer.dependency
    if offer.package is None:
        return _('{crate} (wanted "{requirement}") is not packaged').format(
            crate=dep.name, requirement=dep.requirement
        )
    found = upstream_version(offer.version or "")
    return _('{crate} = "{requirement}" is wanted, {package} has {version}').format(
        crate=dep.name,
        requirement=dep.requirement,
        package=offer.package,
        version=found or offer.version,
    )


@register
class CratesCheck(Check):
    id = "crates"
    title = N_("the module's crate dependencies resolve for its build (cargo-driven modules)")

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        module = facts.of(module_info)
        if not module.driver.uses_cargo:
            return self.finding(
                Status.SKIP,
                _("the module's build does not run cargo ({kind})").format(kind=module.kind),
            )
        if module.cargo_toml is None:
            return self.finding(Status.SKIP, _("the module has no Cargo.toml"))
        if not facts.of(chosen_cargo).usable:
            return self.finding(Status.SKIP, _("needs a cargo that runs first (see cargo)"))
        untrusted = facts.of(own_cargo_home_distrust)
        if untrusted is not None:  # its config.toml could name a rustc-wrapper: cargo not run
            return self.distrusted(untrusted, ctx, cargo_home=cargo_home(ctx.cache_dir))
        state = facts.of(crate_state)
        if state is None:
            return self.finding(Status.SKIP, _("could not copy the module to resolve its crates"))
        ours = cargo_home(ctx.cache_dir)
        details: dict[str, Any] = {
            "manifest": state.manifest,
            "dependencies": [d.to_json() for d in state.dependencies],
            "build": state.build.to_json(),
            "packaged": state.packaged.to_json() if state.packaged else None,
            "offers": [o.to_json() for o in state.offers],
            "registry_reachable": state.reachable,
            "registry": state.reach,
            "cargo_home": state.cargo_home,
            "library": state.library,
            "std": state.std.to_json() if state.std else None,
            "std_vendored": state.std_vendored.to_json() if state.std_vendored else None,
        }
        found = _("{n} registry dependencies in {manifest}").format(
            n=len(state.dependencies), manifest=state.manifest
        )
        if state.ok:
            std_crates = (
                _(", and the standard library's {crates}").format(crates=state.std.crates)
                if state.std
                else ""
            )
            source = (
                _(" from kdoctor's crate source ({setting})").format(setting=f"CARGO_HOME={ours}")
                if state.cargo_home == ours
                else ""
            )
            return self.ok(
                ngettext(
                    "the module's {count} crate{std_crates} resolves offline{source}",
                    "the module's {count} crates{std_crates} resolve offline{source}",
                    state.build.crates,
                ).format(count=state.build.crates, std_crates=std_crates, source=source),
                found=found,
                **details,
            )
        what = "; ".join(_problems(state))
        if state.reachable:
            return self.finding(
                Status.WARN,
                _(
                    "{problems}; crates.io is reachable, so cargo downloads them during the build"
                ).format(problems=what),
                found=found,
                **details,
            )
        registry = (
            _("crates.io is unreachable: {reason}").format(reason=state.reach)
            if state.reachable is False
            else _("crates.io was not asked: {reason}").format(reason=state.reach)
            if state.reach
            else _("kdoctor's crate source does not have them")
        )
        summary = f"{what}; {registry}"
        packaged_ok = state.packaged is not None and state.packaged.ok
        module_part = bool(state.dependencies) and not packaged_ok
        misfits = [o for o in state.offers if not o.fits] if module_part else []
        if misfits:
            return self.finding(
                Status.FAIL,
                _("{problem}; the distribution's crates do not fit: {misfits}").format(
                    problem=summary, misfits="; ".join(_misfit(o) for o in misfits)
                ),
                found=found,
                fix_text=_(
                    "Vendor the crates on a machine that reaches crates.io (`cargo vendor`, "
                    "then copy vendor/ and the printed source replacement here), or change the "
                    "module's requirements to the packaged versions."
                ),
                commands=("cargo vendor",),
                needs=(
                    ByHand(
                        self.id,
                        "; ".join(_misfit(o) for o in misfits),
                        _("Change the module's crate requirements to the packaged versions."),
                    ),
                ),
                ctx=ctx,
                **details,
            )
        std_fails = state.std is not None and not state.std.ok
        vendored = state.std_vendored is not None and state.std_vendored.ok
        packages = [o.package for o in state.offers if o.package] if module_part else []
        stuck: list[str] = []
        if bool(state.dependencies) and not packaged_ok and not packages:
            error = (state.packaged.error if state.packaged else None) or _("no {path}").format(
                path=DEBIAN_REGISTRY
            )
            stuck.append(
                _("the packaged crates do not resolve them either ({error})").format(error=error)
            )
        if std_fails and not vendored:
            error = (state.std_vendored.error if state.std_vendored else None) or _("no vendor")
            stuck.append(
                _(
                    "the standard library's own vendored crates do not resolve either ({error})"
                ).format(error=error)
            )
        if stuck:
            return self.finding(
                Status.FAIL,
                f"{summary}; " + "; ".join(stuck),
                found=found,
                fix_text=_(
                    "Vendor the crates (`cargo vendor`) on a machine that reaches crates.io."
                ),
                **details,
            )
        directories = [d for d in (state.vendor if std_fails else None,) if d]
        if state.dependencies:
            directories.append(DEBIAN_REGISTRY)
        crates = {o.package: o.dependency.name for o in state.offers if o.package}
        needs: list[Need] = [Package(f"crate {crates[p]}", (p,)) for p in dict.fromkeys(packages)]
        needs += [CargoSource(tuple(directories), ours), Setting("CARGO_HOME", ours)]
        serves = ", ".join(packages) or _("already installed")
        parts = (
            [_("the distribution's packaged crates ({packages})").format(packages=serves)]
            if state.dependencies
            else []
        ) + ([_("the standard library's vendored crates")] if std_fails else [])
        sources = joined(parts)
        return self.finding(
            Status.FAIL,
            _("{problem}; {sources} serve them").format(problem=summary, sources=sources),
            found=found,
            fix_text=_(
                "kdoctor fix installs the packaged crates and makes cargo take crates.io's "
                "crates from {sources}, gathered in a cargo home of kdoctor's ({directory}, "
                "used as CARGO_HOME by kdoctor build; your ~/.cargo is left alone); by hand:"
            ).format(sources=sources, directory=ours),
            needs=needs,
            ctx=ctx,
            **details,
        )


def _problems(state: CrateState) -> list[str]:
    problems = [] if state.build.ok else [_what(state)]
    if state.std is not None and not state.std.ok:
        crate = state.std.unresolved[0] if state.std.unresolved else None
        said = (
            _(
                "-Z build-std also builds the standard library's crates ({crate}, ...) "
                "from {library}, and {error}"
            )
            if crate
            else _(
                "-Z build-std also builds the standard library's crates from {library}, and {error}"
            )
        )
        problems.append(said.format(crate=crate, library=state.library, error=state.std.error))
    return problems
