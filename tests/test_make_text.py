"""One reading of a Makefile's lines (kdoctor.knowledge.make_text) for the Kbuild facts, the
compiler-family rules and the compat rules; the cases where their two former readings differed."""

from __future__ import annotations

from kdoctor.facts.kbuild import parse_kbuild
from kdoctor.knowledge.compiler_family import read_overrides
from kdoctor.knowledge.make_text import LogicalLine, code_lines, logical_lines, strip_comment


def test_continuations_join_into_one_line_with_its_first_and_last_line() -> None:
    text = "obj-m := a.o\na-objs := b.o \\\n\t   c.o   \\\n  d.o\n\nall:\n"
    assert logical_lines(text) == [
        LogicalLine(1, 1, "obj-m := a.o"),
        LogicalLine(2, 4, "a-objs := b.o c.o d.o"),
        LogicalLine(5, 5, ""),
        LogicalLine(6, 6, "all:"),
    ]


def test_a_recipe_line_keeps_its_tab() -> None:
    text = "all:\n\t$(MAKE) -C $(KDIR) \\\n\t\tM=$(PWD) CC=clang\n"
    assert logical_lines(text)[1] == LogicalLine(2, 3, "\t$(MAKE) -C $(KDIR) M=$(PWD) CC=clang")
    # ... so the Kbuild reading still sees a recipe, and the compiler-family one the make call
    rule = parse_kbuild(text, "Makefile").rules[0]
    assert rule.recipe == ("$(MAKE) -C $(KDIR) M=$(PWD) CC=clang",)
    assert (rule.line, rule.end_line) == (1, 3)
    [override] = read_overrides("Makefile", text, read_by_kbuild=False)
    assert (override.line, override.text) == (2, "CC=clang")


def test_a_file_ending_inside_a_continuation_ends_at_its_last_line() -> None:
    # the Kbuild reading said it ended where it began
    assert logical_lines("a := b \\\n  c \\\n") == [LogicalLine(1, 2, "a := b c")]


def test_a_comment_ending_in_a_backslash_swallows_the_next_line() -> None:
    """make continues a comment as it continues any line; the compiler-family reading used to
    cut the comment first, so the next line counted."""
    text = "# CC = gcc \\\nCC = clang\nLD = ld.lld\n"
    assert code_lines(text) == [(1, ""), (3, "LD = ld.lld")]
    found = read_overrides("Kbuild", text, read_by_kbuild=True)
    assert [o.text for o in found] == ["LD=ld.lld"]


def test_an_escaped_hash_is_no_comment() -> None:
    """``\\#`` is a literal ``#`` to make; the compiler-family reading cut the line there."""
    assert strip_comment("CFLAGS += -DX=\\#y # why") == "CFLAGS += -DX=\\#y "
    assert code_lines("CC := clang\\#1 # comment\n") == [(1, "CC := clang\\#1")]


def test_code_lines_strip_comments_and_whitespace() -> None:
    assert code_lines("  export LLVM=1   # clang\n\tCC = gcc\n") == [
        (1, "export LLVM=1"),
        (2, "CC = gcc"),
    ]
