"""Reading the kernel range a build.rs declares (kdoctor.knowledge.kernel_range)."""

from __future__ import annotations

import pytest

from kdoctor.checks.kernel_range import fetchable_series
from kdoctor.knowledge.kernel_range import (
    Bound,
    KernelRange,
    debian_releases_in,
    parse_condition,
    read_guards,
)

#: the shape of fishinabarrel's linux-kernel-module build.rs, written here
FISHINABARREL_LIKE = """
use std::env;
// reads LINUX_VERSION_CODE from the bindings bindgen made of the kernel's headers
fn handle_kernel_version_cfg(version: u64) {
    let (major, minor) = parse(version);
    if major >= 6 {
        panic!("Please update build.rs with the last 5.x version");
        // a comment with a brace {
    }
    if major >= 5 {
        for x in 0..=if major > 5 { unimplemented!() } else { minor } {
            println!("cargo:rustc-cfg=kernel_5_{}_0_or_greater", x);
        }
    }
}
"""


def accepted(text: str) -> KernelRange:
    guards, unreadable = read_guards(text)
    assert guards and not unreadable
    result = guards[0].accepted
    for guard in guards[1:]:
        result = result.intersect(guard.accepted)
    return result


def test_the_fishinabarrel_guard_accepts_kernels_below_6() -> None:
    guards, unreadable = read_guards(FISHINABARREL_LIKE)
    assert [g.line for g in guards] == [6, 11]
    assert guards[0].text == "if major >= 6"
    assert unreadable == []
    both = accepted(FISHINABARREL_LIKE)
    assert both.describe() == "Linux < 6.0"
    assert both.contains((5, 19, 17)) and not both.contains((6, 1, 176))


@pytest.mark.parametrize(
    ("guard", "inside", "outside"),
    [
        ('assert!((major, minor) >= (4, 4), "kernel too old");', (4, 4, 0), (4, 3, 99)),
        ("assert!(kernel_major < 6);", (5, 10, 0), (6, 0, 0)),
        ('if version >= 0x060000 { panic!("kernel 6 unsupported") }', (5, 19, 0), (6, 0, 0)),
        (
            'if LINUX_VERSION_CODE > KERNEL_VERSION(5, 10, 0) { panic!("too new") }',
            (5, 10, 0),
            (5, 10, 1),
        ),
        ("if 6 <= major { std::process::exit(1); }", (5, 4, 0), (6, 12, 0)),
        ('if (major, minor) < (4, 19) { compile_error!("old kernel"); }', (4, 19, 0), (4, 18, 9)),
    ],
)
def test_guard_forms(
    guard: str, inside: tuple[int, int, int], outside: tuple[int, int, int]
) -> None:
    text = f'fn main() {{\n    let kdir = env::var("KDIR");\n    {guard}\n}}\n'
    kernels = accepted(text)
    assert kernels.contains(inside)
    assert not kernels.contains(outside)


def test_guards_of_other_tools_are_not_the_kernels() -> None:
    text = """
    // builds against the kernel in KDIR
    fn main() {
        if rustc_version < 60 { panic!("rustc too old") }
        assert!(bindgen_version >= 59);
        if clang_major > 15 { panic!("clang too new") }
    }
    """
    assert read_guards(text) == ([], [])


def test_a_script_that_never_names_the_kernel_declares_nothing() -> None:
    assert read_guards('fn main() { if major >= 6 { panic!("x") } }') == ([], [])


def test_forms_it_cannot_read_are_reported_not_guessed() -> None:
    text = """
    // reads the kernel's version
    fn main() {
        let kdir = env::var("KDIR");
        if major == 5 && minor > 10 { panic!("5.11+ unsupported") }
        match major { 7 => panic!("unknown kernel version"), _ => {} }
        if major == 6 { panic!("not on 6") }
    }
    """
    guards, unreadable = read_guards(text)
    assert guards == []
    assert [u.line for u in unreadable] == [5, 6, 7]
    assert unreadable[0].text == "if major == 5 && minor > 10"


def test_commented_out_guards_do_not_count() -> None:
    text = (
        'fn main() {\n    let kdir = env::var("KDIR");\n'
        '    // if major >= 6 { panic!("kernel 6") }\n    /* assert!(major < 5); */\n}\n'
    )
    assert read_guards(text) == ([], [])


def test_a_guard_that_only_prints_is_not_a_guard() -> None:
    text = 'fn main() { if major >= 6 { println!("cargo:warning=new kernel {}", KDIR); } }'
    assert read_guards(text) == ([], [])


def test_parse_condition_negates_for_if_guards() -> None:
    assert parse_condition("major >= 6", negate=True) == KernelRange(high=Bound((6, 0, 0), False))
    assert parse_condition("major >= 6") == KernelRange(low=Bound((6, 0, 0), True))
    assert parse_condition("(major, minor) <= (5, 4)") == KernelRange(high=Bound((5, 5, 0), False))
    assert parse_condition("major >= six") is None


def test_contradicting_guards_leave_an_empty_range() -> None:
    both = KernelRange(low=Bound((6, 0, 0), True)).intersect(
        KernelRange(high=Bound((5, 0, 0), False))
    )
    assert both.empty
    assert not KernelRange(high=Bound((6, 0, 0), False)).empty


def test_debian_releases_in_range_name_bullseye_for_5x() -> None:
    below_6 = KernelRange(low=Bound((5, 0, 0), True), high=Bound((6, 0, 0), False))
    assert debian_releases_in(below_6) == ["Debian 11 (bullseye, Linux 5.10)"]


def test_the_debian_series_kdoctor_fetches_in_a_range_oldest_first() -> None:
    below_6 = KernelRange(low=Bound((5, 0, 0), True), high=Bound((6, 0, 0), False))
    assert fetchable_series(below_6) == ["5.10"]
    assert fetchable_series(KernelRange(low=Bound((5, 4, 0), True))) == ["5.10", "6.1", "6.12"]
    assert fetchable_series(KernelRange(low=Bound((6, 2, 0), True))) == ["6.12"]
    assert fetchable_series(KernelRange(high=Bound((5, 0, 0), False))) == []  # buster's 4.19
