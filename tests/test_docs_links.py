"""Every finding links to its check's section of the README (``README.md#check-<id>``): each
registered check has that heading, the JSON carries the link, and text shows it under a problem
(and under every check with -v), not under a passing one."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

from kdoctor.checks import base as registry
from kdoctor.model.docs import README, check_anchor, check_docs
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.render import report_text
from kdoctor.render import text as render

ROOT = Path(__file__).resolve().parent.parent


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped (letters, digits,
    spaces, ``-`` and ``_`` kept), spaces as ``-``."""
    kept = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return kept.replace(" ", "-")


def anchors(markdown: str) -> list[str]:
    """The anchors of a Markdown document's headings and its ``<a id="...">`` (outside fenced
    code), in order."""
    found, fence = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and re.match(r"#{1,6} ", line):
            found.append(github_anchor(line.lstrip("#")))
        elif not fence:
            found += re.findall(r'<a id="([^"]+)"></a>', line)
    return found


def test_github_anchors_follow_its_rules() -> None:
    assert github_anchor(" Check `build-tools`") == "check-build-tools"
    assert github_anchor("Exit codes") == "exit-codes"
    assert github_anchor("Kernels of other Debian releases (`--kernel 5.10`)") == (
        "kernels-of-other-debian-releases---kernel-510"
    )


def test_every_check_has_its_section_in_the_readme_once() -> None:
    headings = anchors((ROOT / README).read_text(encoding="utf-8"))
    for check in registry.all_checks():
        assert headings.count(check_anchor(check.id)) == 1, check.id
        assert check_docs(check.id) == f"README.md#{check_anchor(check.id)}"


def test_the_spanish_readme_has_each_section_under_the_same_anchor() -> None:
    headings = anchors((ROOT / "README.es.md").read_text(encoding="utf-8"))
    for check in registry.all_checks():
        assert headings.count(check_anchor(check.id)) == 1, check.id
        at = headings.index(check_anchor(check.id))
        assert headings[at + 1] == github_anchor(f"Comprobación `{check.id}`")


def test_a_finding_s_json_carries_its_link() -> None:
    finding = Finding("clang", Status.OK, "fine")
    assert finding.to_json()["docs"] == "README.md#check-clang"


def shown(finding: Finding, *, verbose: bool = False) -> str:
    out = StringIO()
    report_text.print_rows([finding], render.console(out), verbose=verbose)
    return out.getvalue()


def test_text_shows_the_link_under_a_problem_and_with_verbose_only() -> None:
    failing = Finding(
        "bindgen", Status.FAIL, "bindgen is not installed", remediation=Remediation("x")
    )
    passing = Finding("bindgen", Status.OK, "fine", found="0.60.1")
    warning = Finding("bindgen", Status.WARN, "old", remediation=Remediation("x", ("y",)))
    assert "docs: README.md#check-bindgen" in shown(failing)
    assert "README.md" not in shown(passing)
    assert "docs: README.md#check-bindgen" in shown(warning)  # piped: whole (a terminal folds it)
    assert "docs: README.md#check-bindgen" in shown(passing, verbose=True)
