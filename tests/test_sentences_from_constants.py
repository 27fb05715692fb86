"""Sentences that state a version kdoctor holds to are made from the constant that holds it,
so the sentence cannot say one number while the code compares with another."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from kdoctor import i18n
from kdoctor.checks import bindgen, clang
from kdoctor.checks.base import all_checks
from kdoctor.facts import kernel
from kdoctor.knowledge.compat import RULES, Combination

#: a version written in words: 9, 0.55, 5.8 (placeholders are not)
_NUMBER = re.compile(r"(?<![\w{.-])\d+(?:\.\d+)*(?![\w}])")


@pytest.fixture(autouse=True)
def english() -> Any:
    yield
    i18n.activate("en")


def test_check_titles_write_no_version_of_their_own() -> None:
    assert [(c.id, c.title) for c in all_checks() if _NUMBER.search(c.title)] == []


def test_the_clang_title_and_advice_come_from_its_constants() -> None:
    assert clang.ClangCheck.title_values == {
        "minimum": clang.MINIMUM,
        "recommended": clang.RECOMMENDED,
    }
    assert clang.ClangCheck.shown_title() == "clang, version 9 or newer (11 recommended)"
    assert bindgen.BindgenCheck.title_values == {"minimum": bindgen.MINIMUM}
    assert bindgen.BindgenCheck.shown_title() == "bindgen 0.55 or newer, loading libclang"
    i18n.activate("es")
    assert clang.ClangCheck.shown_title() == "clang, versión 9 o posterior (se recomienda la 11)"
    assert bindgen.BindgenCheck.shown_title() == "bindgen 0.55 o posterior, que cargue libclang"


def test_the_sentences_next_to_those_constants_write_no_number_themselves() -> None:
    for module in (clang, bindgen, kernel):
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        said = re.findall(r'N?_\(\s*((?:"[^"]*"\s*)+)\)', source)
        numbered = [s for s in said if _NUMBER.search(re.sub(r"\{\w+\}", "", s))]
        assert numbered == [], module.__name__


@pytest.mark.parametrize("rule", [r for r in RULES if r.versions], ids=lambda r: r.id)
def test_compat_sentences_state_the_bounds_the_rule_compares_with(rule: Any) -> None:
    text = rule.describe(Combination()) + " " + rule.remedy
    for tool, _op, bound in rule.versions:
        if f"{{{tool}_bound}}" in rule.summary + rule.remedy_msgid:
            assert bound in text
    # ... and write no version of their own (the 1 of ``--rust-target=1.N`` is a syntax)
    written = set(_NUMBER.findall(re.sub(r"\{\w+\}", "", rule.summary + rule.remedy_msgid)))
    assert written <= {"1"}, written
