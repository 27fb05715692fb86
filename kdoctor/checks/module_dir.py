"""module-dir: the module directory holds a module, ``make -C <dir>`` (what ``kdoctor build``
runs) has a Makefile and a rule there, and each kbuild call of that Makefile builds against the
target kernel's tree: through a variable kdoctor hands over (``KDIR``, ``KERNEL_SRC``,
``KSRC``...), or hard-coded to that very tree. See :mod:`kdoctor.facts.module_makefile`."""

from __future__ import annotations

import os
from typing import Any, Optional

from kdoctor.checks.base import Check, joined, register
from kdoctor.checks.kernel_headers import target_phrase
from kdoctor.facts import Facts
from kdoctor.facts.module_makefile import MakefileReading, TreeUse, module_makefile
from kdoctor.i18n import N_, _
from kdoctor.knowledge.make_text import includes_itself
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand


def add_makefile_remedy() -> str:
    return _(
        "Add a Makefile whose first rule calls kbuild with the tree in KDIR: "
        "`KDIR ?= /lib/modules/$(shell uname -r)/build`, then `all:` with the recipe "
        "`$(MAKE) -C $(KDIR) M=$(CURDIR) modules` (kdoctor build passes KDIR)."
    )


@register
class ModuleDirCheck(Check):
    id = "module-dir"
    title = N_(
        "the module directory holds a module whose Makefile builds it against the target's tree"
    )
    variables = ("module directory",)

    def run(self, facts: Facts) -> Finding:
        ctx = facts.ctx
        # kdoctor's own module, built by its own tests: its Makefile is known to take KDIR, so
        # it is not read again (a fake machine need not carry its files)
        if os.path.normpath(ctx.module_dir) == os.path.normpath(bundled_module_dir()):
            return self.ok(
                _("kdoctor's bundled hello-world: its Makefile calls kbuild with {setting}").format(
                    setting=f"KDIR={ctx.kdir}"
                ),
                found=ctx.module_dir,
                module_dir=ctx.module_dir,
                bundled=True,
            )
        reading = facts.of(module_makefile)
        details: dict[str, Any] = {"module_dir": ctx.module_dir, **reading.to_json()}
        del details["directory"]
        if not reading.holds_module:
            return self._by_hand(
                facts,
                _(
                    "{dir} holds no kernel module: no Kbuild, no Makefile calling kbuild, "
                    "no Cargo.toml"
                ).format(dir=ctx.module_dir),
                _(
                    "Name the module's directory with --module-dir, or run kdoctor from inside "
                    "it. A module has a Kbuild, or a Makefile that calls kbuild "
                    "(`$(MAKE) -C $(KDIR) M=$(CURDIR) modules`)."
                ),
                None,
                details,
            )
        if reading.makefile is None:
            files = (("Kbuild", reading.kbuild), ("Cargo.toml", reading.cargo_toml))
            present = [name for name, there in files if there]
            return self._by_hand(
                facts,
                _(
                    "{dir} has {files} but no Makefile: make, which kdoctor build runs there, "
                    'stops with "No targets specified and no makefile found"'
                ).format(dir=ctx.module_dir, files=joined(present)),
                add_makefile_remedy(),
                None,
                details,
            )
        path = os.path.join(ctx.module_dir, reading.makefile)
        for name in ("Kbuild", reading.makefile):
            text = facts.system.read_text(os.path.join(ctx.module_dir, name)) or ""
            line = includes_itself(text, name)
            if line is not None:
                return self._by_hand(
                    facts,
                    _(
                        "{file}:{line} includes {file} itself: make reads it again and again "
                        "until it crashes (Segmentation fault), so kdoctor cannot evaluate it "
                        "and kbuild cannot build it"
                    ).format(file=name, line=line),
                    _("Remove the include of {file} from {file}:{line}.").format(
                        file=name, line=line
                    ),
                    os.path.join(ctx.module_dir, name),
                    details,
                )
        if not reading.rules and not reading.includes:
            return self._by_hand(
                facts,
                _(
                    "{file} has no rule, only kbuild's variables: make, which kdoctor build "
                    'runs in {dir}, stops with "No targets"'
                ).format(file=reading.makefile, dir=ctx.module_dir),
                add_makefile_remedy(),
                path,
                details,
            )
        elsewhere = [u for u in reading.calls if u.reaches is False]
        if elsewhere:
            return self._elsewhere(facts, reading, elsewhere[0], details)
        names = ", ".join(reading.names)
        unknown = [u for u in reading.calls if u.reaches is None]
        if unknown:
            first = unknown[0]
            return self.finding(
                Status.WARN,
                _(
                    "{location}: kdoctor cannot tell which kernel tree `-C {tree}` names "
                    "({problem}); it hands the target's tree over as {names}"
                ).format(
                    location=first.call.location,
                    tree=first.call.tree,
                    problem=first.problem,
                    names=names,
                ),
                found=first.call.location,
                fix_text=_(
                    "Make sure the build reads the tree from one of {names}; kdoctor build "
                    "passes {kdir}."
                ).format(names=names, kdir=ctx.kdir),
                required=False,
                **details,
            )
        if not reading.calls:
            return self.finding(
                Status.WARN,
                _(
                    "{file} runs no `make -C <kernel tree> M=...` that kdoctor can see; kdoctor "
                    "hands the target's tree over as {names}"
                ).format(file=reading.makefile, names=names),
                found=path,
                fix_text=_(
                    "Make sure the build reads the tree from one of {names}; kdoctor build "
                    "passes {kdir}."
                ).format(names=names, kdir=ctx.kdir),
                required=False,
                **details,
            )
        first = reading.calls[0]
        if first.evaluated:
            summary = _("{location} builds against {tree}, the tree of {target}").format(
                location=first.call.location, tree=first.tree, target=target_phrase(ctx)
            )
        else:
            summary = _(
                "{location} calls kbuild with `-C {tree}`; kdoctor hands it the target's tree "
                "as {names}"
            ).format(location=first.call.location, tree=first.call.tree, names=names)
        return self.ok(summary, found=path, **details)

    def _elsewhere(
        self, facts: Facts, reading: MakefileReading, use: TreeUse, details: dict[str, Any]
    ) -> Finding:
        ctx = facts.ctx
        call = use.call
        forced = [f for f in reading.forced if f[0] == call.variable]
        if forced:
            name, file, line = forced[0]
            cause = _(
                "`override {name}` at {file}:{line} beats the {setting} kdoctor passes"
            ).format(name=name, file=file, line=line, setting=f"{name}={ctx.kdir}")
            remedy = _("Drop `override` from {file}:{line}; kdoctor build then passes {setting}.")
            remedy = remedy.format(file=file, line=line, setting=f"{name}={ctx.kdir}")
        else:
            cause = _("no variable kdoctor passes to make changes `-C {tree}`").format(
                tree=call.tree
            )
            remedy = _(
                "Change {location} to `$(MAKE) -C $(KDIR) M=$(CURDIR) ...` with "
                "`KDIR ?= {tree}` above it; kdoctor build then passes {setting}."
            ).format(location=call.location, tree=call.tree, setting=f"KDIR={ctx.kdir}")
        details["builds_against"] = use.tree
        return self._by_hand(
            facts,
            _(
                "{location} builds against {tree}, not {kdir}, the tree of the target {kernel}: "
                "{cause}"
            ).format(
                location=call.location,
                tree=use.tree,
                kdir=ctx.kdir,
                kernel=ctx.target_kernel,
                cause=cause,
            ),
            remedy,
            call.location,
            details,
        )

    def _by_hand(
        self,
        facts: Facts,
        summary: str,
        remedy: str,
        found: Optional[str],
        details: dict[str, Any],
    ) -> Finding:
        ctx = facts.ctx
        why = _("the module's files are its own and kdoctor does not edit them")
        return self.finding(
            Status.FAIL,
            summary,
            found=found,
            fix_text=remedy,
            needs=(ByHand(self.id, why, remedy),),
            ctx=ctx,
            **details,
        )
