"""Which module kdoctor looks at and how it says so: ``--module-dir``, else the module in the
current directory or above it (as cargo finds its crate; never above a ``.git``), else the
bundled hello-world, said in words; and every kdoctor command it suggests keeps the
``--module-dir`` and ``--kernel`` the person used. Strict fake machines throughout."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kdoctor.facts.context import detect, find_module_dir
from kdoctor.knowledge.commands import carried
from kdoctor.model.choice import ModuleSource
from kdoctor.model.context import bundled_module_dir
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.model.need import ByHand
from kdoctor.pipeline.diagnose import keeping_choices
from kdoctor.render.words import module_words
from tests.conftest import make_context
from tests.fake_system import FakeSystem

KBUILD_MAKEFILE = "KDIR ?= /k\nall:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR) modules\n"


def detected(system: FakeSystem, **kwargs: object) -> tuple[str, ModuleSource]:
    ctx = detect(system, **kwargs)  # type: ignore[arg-type]
    return ctx.module_dir, ctx.module_source


def test_the_module_in_the_current_directory_is_the_module() -> None:
    system = FakeSystem(files={"/home/me/hello/Makefile": KBUILD_MAKEFILE})
    assert detected(system, cwd="/home/me/hello") == ("/home/me/hello", ModuleSource.CURRENT)


def test_a_module_above_the_current_directory_is_found_as_cargo_finds_a_crate() -> None:
    system = FakeSystem(
        files={"/home/me/hello/Kbuild": "obj-m := x.o\n", "/home/me/hello/src/lib.rs": ""}
    )
    assert detected(system, cwd="/home/me/hello/src") == ("/home/me/hello", ModuleSource.CURRENT)


def test_the_search_stops_at_a_repository_s_root() -> None:
    system = FakeSystem(
        files={
            "/home/me/Makefile": KBUILD_MAKEFILE,  # above the repository: never looked at
            "/home/me/repo/.git/HEAD": "ref: refs/heads/main\n",
            "/home/me/repo/docs/Makefile": "html:\n\tsphinx-build . out\n",
        }
    )
    assert find_module_dir(system, "/home/me/repo/docs") is None
    assert detected(system, cwd="/home/me/repo/docs") == (
        bundled_module_dir(),
        ModuleSource.BUNDLED,
    )


def test_a_repository_root_that_is_a_module_is_found() -> None:
    system = FakeSystem(files={"/r/.git/HEAD": "x", "/r/Makefile": "obj-m := x.o\nall:\n\techo\n"})
    assert find_module_dir(system, "/r/src") == "/r"


def test_no_module_anywhere_up_to_the_root_is_the_bundled_hello_world() -> None:
    system = FakeSystem(files={"/tmp/x/notes.txt": "hi\n"})
    assert detected(system, cwd="/tmp/x") == (bundled_module_dir(), ModuleSource.BUNDLED)
    assert detected(FakeSystem()) == (bundled_module_dir(), ModuleSource.BUNDLED)


def test_module_dir_wins_over_the_current_directory() -> None:
    system = FakeSystem(
        files={"/a/Makefile": KBUILD_MAKEFILE, "/b/Makefile": KBUILD_MAKEFILE}, dirs={"/b": []}
    )
    assert detected(system, module_dir="/b", cwd="/a") == ("/b", ModuleSource.OPTION)


def test_the_module_is_said_in_words() -> None:
    bundled = make_context(module_dir=bundled_module_dir())
    assert module_words(bundled) == f"the bundled hello-world ({bundled_module_dir()})"
    found = make_context(module_dir="/m", module_source=ModuleSource.CURRENT)
    assert module_words(found) == "/m (from the current directory)"
    named = make_context(module_dir="/m", module_source=ModuleSource.OPTION)
    assert module_words(named) == "/m"


def test_the_options_chosen_are_the_person_s_only() -> None:
    assert make_context().chosen_options == ()
    found = make_context(module_dir="/m", module_source=ModuleSource.CURRENT)
    assert found.chosen_options == ()  # rerun where they stand, it finds the module again
    named = make_context(module_dir="/m y", module_source=ModuleSource.OPTION, kernel_option="6.1")
    assert named.chosen_options == ("--module-dir", "/m y", "--kernel", "6.1")
    system = FakeSystem(dirs={"/m": []})
    ctx = detect(system, module_dir="/m", kernel="6.1.0-50-amd64")
    assert ctx.chosen_options == ("--module-dir", "/m", "--kernel", "6.1.0-50-amd64")


OPTIONS = ("--module-dir", "/m y", "--kernel", "6.1")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("kdoctor fix", "kdoctor fix --module-dir '/m y' --kernel 6.1"),
        ("kdoctor verify --vm", "kdoctor verify --vm --module-dir '/m y' --kernel 6.1"),
        # a --kernel the advice chose stays; KDIR=... names the kernel already
        ("kdoctor fix --kernel 5.10", "kdoctor fix --kernel 5.10 --module-dir '/m y'"),
        ("KDIR=/k kdoctor check", "KDIR=/k kdoctor check --module-dir '/m y'"),
        ("kdoctor test --kernels 6.1,6.12", "kdoctor test --kernels 6.1,6.12 --module-dir '/m y'"),
        (
            "kdoctor check toolchain rust-src; kdoctor fix",
            "kdoctor check --module-dir '/m y' --kernel 6.1 toolchain rust-src; "
            "kdoctor fix --module-dir '/m y' --kernel 6.1",
        ),
        ("kdoctor fix   # persists", "kdoctor fix --module-dir '/m y' --kernel 6.1   # persists"),
        ("or: kdoctor verify --vm.", "or: kdoctor verify --vm --module-dir '/m y' --kernel 6.1."),
        ("(kdoctor check --module-dir DIR)", "(kdoctor check --module-dir '/m y' --kernel 6.1)"),
        (
            "(kdoctor check --kernel $(uname -r)), or",
            "(kdoctor check --kernel $(uname -r) --module-dir '/m y'), or",
        ),
        (
            "`kdoctor fix --rust pin` installs",
            "`kdoctor fix --rust pin --module-dir '/m y' --kernel 6.1` installs",
        ),
        ("`kdoctor build` first", "`kdoctor build --module-dir '/m y' --kernel 6.1` first"),
        # sentences about a command, and commands that take neither option, stay as they are
        ("kdoctor fix cannot repair this", "kdoctor fix cannot repair this"),
        ("kdoctor build-kernel 6.12+rust", "kdoctor build-kernel 6.12+rust"),
        ("kdoctor's cache", "kdoctor's cache"),
    ],
)
def test_kdoctor_commands_keep_the_person_s_options(text: str, kept: str) -> None:
    assert carried(text, OPTIONS) == kept
    assert carried(text, ()) == text


def test_a_finding_s_commands_keep_the_options_and_nothing_else_changes() -> None:
    finding = Finding(
        "module-loading",
        Status.WARN,
        "cannot load here",
        remediation=Remediation("Test it in a VM: kdoctor verify --vm", ("kdoctor verify --vm",)),
        needs=(ByHand("x", "why", "remedy"),),
    )
    kept = keeping_choices(finding, ("--module-dir", "/m"))
    assert kept.remediation == Remediation(
        "Test it in a VM: kdoctor verify --vm --module-dir /m",
        ("kdoctor verify --vm --module-dir /m",),
    )
    assert replace(kept, remediation=finding.remediation) == finding
    assert keeping_choices(finding, ()) is finding
