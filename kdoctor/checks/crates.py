"""crates: a cargo-driven module's crate dependencies must resolve for its build: offline from
what is on this machine, from crates.io when it is reachable, or from the distribution's
packaged crates (Debian's ``librust-*-dev``) through a source replacement kdoctor owns."""

from __future__ import annotations

from typing import Any

from kdoctor.checks.base import Check, register
from kdoctor.facts import Facts
from kdoctor.facts.cargo import chosen_cargo
from kdoctor.facts.crates import CrateState, Offer, crate_state, kdoctor_cargo_home
from kdoctor.facts.module import module_info
from kdoctor.knowledge.cargo import DEBIAN_REGISTRY, upstream_version
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand, CargoSource, Need, Package, Setting


def _what(state: CrateState) -> str:
    unresolved = state.build.unresolved
    if unresolved is None:
        return f"cargo cannot resolve the crates offline ({state.build.error})"
    crate, wanted, found = unresolved
    if wanted:
        have = f" (found {found})" if found else ""
        return f'cargo cannot resolve {crate} = "{wanted}" offline{have}'
    return f"cargo cannot resolve the crate {crate} offline (not on this machine)"


def _misfit(offer: Offer) -> str:
    dep = offer.dependency
    if offer.package is None:
        return f'{dep.name} (wanted "{dep.requirement}") is not packaged'
    found = upstream_version(offer.version or "")
    return (
        f'{dep.name} = "{dep.requirement}" is wanted, {offer.package} has {found or offer.version}'
    )


@register
class CratesCheck(Check):
    id = "crates"
    title = "the module's crate dependencies resolve for its build (cargo-driven modules)"
    order = 67

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        module = facts.of(module_info)
        if not module.driver.uses_cargo:
            return self.finding(
                Status.SKIP, f"the module's build does not run cargo ({module.kind})"
            )
        if module.cargo_toml is None:
            return self.finding(Status.SKIP, "the module has no Cargo.toml")
        if not facts.of(chosen_cargo).usable:
            return self.finding(Status.SKIP, "needs a cargo that runs first (see cargo)")
        state = facts.of(crate_state)
        if state is None:
            return self.finding(Status.SKIP, "could not copy the module to resolve its crates")
        ours = kdoctor_cargo_home(ctx.cache_dir)
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
        found = f"{len(state.dependencies)} registry dependencies in {state.manifest}"
        std_crates = f", and the standard library's {state.std.crates}" if state.std else ""
        if state.ok:
            source = (
                f" from kdoctor's crate source (CARGO_HOME={ours})"
                if state.cargo_home == ours
                else ""
            )
            return self.ok(
                f"the module's {state.build.crates} crate(s){std_crates} resolve offline{source}",
                found=found,
                **details,
            )
        what = "; ".join(_problems(state))
        if state.reachable:
            return self.finding(
                Status.WARN,
                f"{what}; crates.io is reachable, so cargo downloads them during the build",
                found=found,
                **details,
            )
        registry = (
            f"crates.io is unreachable: {state.reach}"
            if state.reachable is False
            else f"crates.io was not asked: {state.reach}"
            if state.reach
            else "kdoctor's crate source does not have them"
        )
        summary = f"{what}; {registry}"
        packaged_ok = state.packaged is not None and state.packaged.ok
        module_part = bool(state.dependencies) and not packaged_ok
        misfits = [o for o in state.offers if not o.fits] if module_part else []
        if misfits:
            return self.finding(
                Status.FAIL,
                f"{summary}; the distribution's crates do not fit: "
                + "; ".join(_misfit(o) for o in misfits),
                found=found,
                fix_text=(
                    "Vendor the crates on a machine that reaches crates.io (`cargo vendor`, "
                    "then copy vendor/ and the printed source replacement here), or change the "
                    "module's requirements to the packaged versions."
                ),
                commands=("cargo vendor",),
                needs=(
                    ByHand(
                        self.id,
                        "; ".join(_misfit(o) for o in misfits),
                        "Change the module's crate requirements to the packaged versions.",
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
            stuck.append(
                "the packaged crates do not resolve them either ("
                + ((state.packaged.error if state.packaged else None) or f"no {DEBIAN_REGISTRY}")
                + ")"
            )
        if std_fails and not vendored:
            stuck.append(
                "the standard library's own vendored crates do not resolve either ("
                + ((state.std_vendored.error if state.std_vendored else None) or "no vendor")
                + ")"
            )
        if stuck:
            return self.finding(
                Status.FAIL,
                f"{summary}; " + "; ".join(stuck),
                found=found,
                fix_text="Vendor the crates (`cargo vendor`) on a machine that reaches crates.io.",
                **details,
            )
        directories = [d for d in (state.vendor if std_fails else None,) if d]
        if state.dependencies:
            directories.append(DEBIAN_REGISTRY)
        crates = {o.package: o.dependency.name for o in state.offers if o.package}
        needs: list[Need] = [Package(f"crate {crates[p]}", (p,)) for p in dict.fromkeys(packages)]
        needs += [CargoSource(tuple(directories), ours), Setting("CARGO_HOME", ours)]
        serves = ", ".join(packages) or "already installed"
        sources = " and ".join(
            ([f"the distribution's packaged crates ({serves})"] if state.dependencies else [])
            + (["the standard library's vendored crates"] if std_fails else [])
        )
        return self.finding(
            Status.FAIL,
            f"{summary}; {sources} serve them",
            found=found,
            fix_text=(
                f"kdoctor fix installs the packaged crates and makes cargo take crates.io's "
                f"crates from {sources}, gathered in a cargo home of kdoctor's ({ours}, "
                "used as CARGO_HOME by kdoctor build; your ~/.cargo is left alone); by hand:"
            ),
            needs=needs,
            ctx=ctx,
            **details,
        )


def _problems(state: CrateState) -> list[str]:
    problems = [] if state.build.ok else [_what(state)]
    if state.std is not None and not state.std.ok:
        crate = state.std.unresolved[0] if state.std.unresolved else None
        problems.append(
            "-Z build-std also builds the standard library's crates "
            + (f"({crate}, ...) " if crate else "")
            + f"from {state.library}, and {state.std.error}"
        )
    return problems
