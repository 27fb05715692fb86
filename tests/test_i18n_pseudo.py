"""Every sentence kdoctor says goes through the catalogs: under a pseudo-locale that brackets each
translated message, each finding's summary and remediation, each plan step's explanation and
note, carry the brackets. An English sentence missing its ``_()`` shows up here as unbracketed.
(Values inside a sentence — versions, paths, commands — are not translated, and need not be.)"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kdoctor import i18n
from kdoctor.checks.base import all_checks
from kdoctor.facts import Facts
from kdoctor.machine.system import System
from kdoctor.model.report import Report
from kdoctor.pipeline.diagnose import run_checks
from kdoctor.pipeline.planner import make_plan
from tests.conftest import make_context
from tests.fake_system import FakeSystem, apt_archive

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import i18n_catalogs

from tests.i18n_support import OPEN, Pseudo


@pytest.fixture(autouse=True)
def pseudo() -> Iterator[None]:
    i18n.activate("es", Pseudo())
    yield
    i18n.activate("en")


def bare() -> tuple[Report, System]:
    """A machine with nothing installed: every check has something to say and to remedy."""
    system = FakeSystem(
        programs={"apt-cache": "/usr/bin/apt-cache", "dpkg-query": "/usr/bin/dpkg-query"},
        env={"PATH": "/usr/bin:/bin", "HOME": "/home/me"},
        maybe_handlers={"apt-cache": apt_archive()},
    )
    ctx = make_context(is_root=False, settings_file="/home/me/.config/kdoctor/env")
    return run_checks(all_checks(), Facts(ctx, system)), system


def unmarked(text: str | None) -> bool:
    return bool(text) and OPEN not in str(text)


def test_every_finding_on_a_bare_machine_speaks_through_the_catalogs() -> None:
    report, _system = bare()
    said = [
        (f.id, field, text)
        for f in report.findings
        for field, text in (
            ("summary", f.summary),
            ("remediation", f.remediation.text if f.remediation else None),
        )
        if unmarked(text)
    ]
    assert said == []


def test_every_step_and_note_of_the_plan_speaks_through_the_catalogs() -> None:
    report, system = bare()
    plan = make_plan(Facts(report.context, system), report)
    assert plan.steps
    said = [("step", s.fix, s.why) for s in plan.steps if unmarked(s.why)]
    said += [("note", "", n) for n in plan.notes if unmarked(n)]
    assert said == []


def test_the_title_of_every_check_is_in_the_catalog() -> None:
    """Titles are class attributes marked with N_() and translated where they are shown."""
    marked = {m.id for m in i18n_catalogs.template("kdoctor-checks")}
    assert [c.id for c in all_checks() if c.title not in marked] == []
