"""Build failures make itself reports before kbuild runs: no Makefile or no rule in the module
directory, a kernel tree a ``make -C`` names that is not there. The ``module-dir`` check
predicts each (:mod:`kdoctor.checks.module_dir`); these explain them in a build log."""

from __future__ import annotations

import re

from kdoctor.i18n import _
from kdoctor.knowledge.build_causes import Explanation, Maker

_ENTERING = re.compile(r"Entering directory '([^']+)'")


def _entered(log: str, before: int) -> str:
    """The directory make last entered before ``before`` in ``log`` ('?' when none)."""
    found = _ENTERING.findall(log[:before])
    return found[-1] if found else "?"


def _no_makefile(match: re.Match[str], log: str) -> Explanation:
    return Explanation(
        "no-makefile",
        _("make found no Makefile in {dir}, the directory kdoctor build runs it in.").format(
            dir=_entered(log, match.start())
        ),
        _(
            "`kdoctor check module-dir` says what the directory lacks: a Makefile whose first "
            "rule calls kbuild, or it is not the module's directory (name that with --module-dir)."
        ),
        match.group(0),
    )


def _no_targets(match: re.Match[str], log: str) -> Explanation:
    return Explanation(
        "no-rule",
        _("the Makefile in {dir} has no rule for make to build.").format(
            dir=_entered(log, match.start())
        ),
        _(
            "Add a first rule that calls kbuild (`$(MAKE) -C $(KDIR) M=$(CURDIR) modules`); "
            "`kdoctor check module-dir` says so before a build."
        ),
        match.group(0),
    )


def _no_tree(match: re.Match[str], _log: str) -> Explanation:
    return Explanation(
        "no-kernel-tree",
        _(
            "make could not enter {dir}: the kernel tree a `make -C` of the module's Makefile "
            "names is not there."
        ).format(dir=match.group(1)),
        _(
            "`kdoctor check module-dir` names the Makefile line: take the tree from KDIR (or "
            "another variable), which kdoctor build passes."
        ),
        match.group(0),
    )


#: make's own failures, before anything kbuild or rustc says
def _stale_ko(match: re.Match[str], log: str) -> Explanation:
    return Explanation(
        "stale-ko",
        _(
            "make exited 0 without running kbuild, so {ko} is not this build's: it is from an "
            "earlier one."
        ).format(ko=match.group(1)),
        _(
            "Check that `make` is GNU make (`make --version`, `command -v make`) and that the "
            "module's Makefile calls kbuild (`$(MAKE) -C $(KDIR) M=$(CURDIR) modules`)."
        ),
        match.group(0),
    )


MAKE_PATTERNS: tuple[tuple[re.Pattern[str], Maker], ...] = (
    (re.compile(r"kdoctor: make exited 0, but kbuild never ran and (\S+) is from"), _stale_ko),
    (re.compile(r"make: \*\*\* No targets specified and no makefile found\.[^\n]*"), _no_makefile),
    (re.compile(r"make: \*\*\* No targets\.[^\n]*"), _no_targets),
    (
        re.compile(r"make\[\d+\]: \*\*\* (/[^:\n]+)(?<!\.cmd): No such file or directory\.[^\n]*"),
        _no_tree,
    ),
)
