"""The facts and the model speak through the catalogs (issue 13): the reasons a fact gives (a
tool not installed, a version that cannot be read, why a toolchain was chosen), a bad setting's
message, the kernel's answers about loading and .cmd files, the plan's display of a file edit.
Under a pseudo-locale that brackets each translated message they carry the brackets; in Spanish
they are Spanish, while the values code compares (too old, too complex, which insmod error) stay
the same in every language."""

from __future__ import annotations

import pytest

from kdoctor import i18n
from kdoctor.checks.base import all_checks
from kdoctor.facts import Facts
from kdoctor.facts.cargo import chosen_cargo
from kdoctor.facts.clang import clang_version
from kdoctor.facts.context import detect
from kdoctor.facts.kbuild import read_kbuild
from kdoctor.facts.kbuild_eval import evaluate
from kdoctor.facts.kernel import member_cmd_reading
from kdoctor.facts.kernel_rust import FROM_CONFIG, FROM_RMETA, KernelRust
from kdoctor.facts.loading import (
    EEXIST,
    ENOEXEC,
    explain_insmod_error,
    host_loading,
    insmod_error_kind,
)
from kdoctor.facts.rustc import resolve
from kdoctor.facts.rustup import Override, pin_state
from kdoctor.facts.toolchain_pin import read_own_pin
from kdoctor.model.choice import BadValue
from kdoctor.model.finding import Status
from kdoctor.model.plan import FileEdit, Step
from kdoctor.pipeline.verify.result import insmod_remediation
from tests.conftest import make_context, run_check
from tests.fake_system import FakeSystem
from tests.i18n_support import CLOSE, OPEN
from tests.i18n_support import whole as marked

KDIR = "/lib/modules/6.1.0-56-amd64/build"
OLD_RUSTC = "rustc 1.41.1 (f3e1a954d 2020-02-24)\n"
#: what a module whose variables expand exponentially looks like (the static reader gives up)
EXPLODING = "A0 := a.o\n" + "".join(f"A{i} := {f'$(A{i - 1}) ' * 4}\n" for i in range(1, 9))


def bare() -> FakeSystem:
    """Nothing installed: no rustup, no rustc, no cargo, no make, no /proc/modules."""
    return FakeSystem(env={"PATH": "/usr/bin:/bin", "HOME": "/home/me"})


def old_rustc(**env: str) -> FakeSystem:
    return FakeSystem(
        programs={"/usr/bin/rustc": "/usr/bin/rustc"},
        commands={"/usr/bin/rustc --version": OLD_RUSTC, "/usr/bin/rustc --print sysroot": "/usr"},
        env={"PATH": "/usr/bin:/bin", "HOME": "/home/me", **env},
    )


# -- the pseudo-locale: every sentence of the area is one marked message ----------------------


def test_a_bad_setting_names_it_and_its_origin_through_the_catalogs(pseudo: None) -> None:
    system = FakeSystem(env={"PATH": "/usr/bin", "HOME": "/home/me", "KDOCTOR_RUST": "often"})
    with pytest.raises(BadValue) as raised:
        detect(system)
    message = str(raised.value)
    assert marked(message)
    assert "KDOCTOR_RUST='often'" in message and "auto, pin, distro" in message
    assert f"{OPEN}the environment{CLOSE}" in message
    assert marked(str(BadValue("KDOCTOR_DISTRO_RUST", "x", ("rustc", "rustc-web"))))


def test_a_missing_toolchain_says_why_through_the_catalogs(pseudo: None) -> None:
    chosen = resolve(make_context(), bare())
    assert not chosen.usable and chosen.problems
    assert marked(chosen.reason), chosen.reason
    assert all(marked(p) for p in chosen.problems), chosen.problems
    assert marked(pin_state(make_context(pin=None), bare()).problem)
    unpinned = resolve(make_context(pin=None, rust_mode="pin"), bare())
    assert marked(unpinned.reason) and "--rust pin" in unpinned.reason


def test_the_rustc_kdoctor_uses_and_its_problems_speak_through_the_catalogs(pseudo: None) -> None:
    ctx = make_context(env={"RUSTC": "/usr/bin/rustc"})
    chosen = resolve(ctx, old_rustc())
    assert marked(chosen.reason) and "RUSTC=/usr/bin/rustc" in chosen.reason
    assert chosen.too_old and marked(chosen.problems[0])
    assert "1.41.1" in chosen.problems[0] and "1.48" in chosen.problems[0]
    gone = resolve(make_context(env={"RUSTC": "/nowhere/rustc"}), bare())
    assert marked(gone.problems[0]) and "RUSTC=/nowhere/rustc" in gone.problems[0]


def test_no_cargo_and_no_clang_version_are_said_through_the_catalogs(pseudo: None) -> None:
    cargo = Facts(make_context(), bare()).of(chosen_cargo)
    assert marked(cargo.reason) and marked(cargo.problem)
    named = Facts(make_context(env={"CARGO": "/opt/cargo"}), bare()).of(chosen_cargo)
    assert marked(named.reason) and "CARGO=/opt/cargo" in named.reason
    assert marked(named.problem)
    clang = FakeSystem(
        programs={"clang": "/usr/bin/clang"}, commands={"/usr/bin/clang --version": "hello\n"}
    )
    path, version, problem = Facts(make_context(), clang).of(clang_version)
    assert path == "/usr/bin/clang" and version is None and marked(problem)


def test_why_this_host_cannot_load_the_module_is_said_through_the_catalogs(pseudo: None) -> None:
    ctx = make_context(target_kernel="6.12.9-amd64", is_root=False)
    loading = host_loading(ctx, bare())
    assert not loading.possible and len(loading.reasons) == 2
    assert all(marked(r) for r in loading.reasons), loading.reasons
    assert "6.1.0-56-amd64" in loading.reasons[0] and "6.12.9-amd64" in loading.reasons[1]
    host = FakeSystem(files={"/proc/modules": ""})
    risky = host_loading(make_context(is_root=False), host)
    assert risky.possible and [marked(r) for r in risky.risks] == [True]


@pytest.mark.parametrize(
    "said",
    [
        "insmod: ERROR: could not insert module h.ko: File exists",
        "insmod: ERROR: could not insert module h.ko: Invalid module format",
        "insmod: ERROR: could not insert module h.ko: Key was rejected by service",
        "insmod: ERROR: could not insert module h.ko: Operation not permitted",
        "insmod: ERROR: could not insert module h.ko: Something new",
        "",
    ],
)
def test_every_insmod_explanation_speaks_through_the_catalogs(pseudo: None, said: str) -> None:
    cause, remedy = explain_insmod_error(said)
    assert marked(cause) and marked(remedy)


@pytest.mark.parametrize(
    ("release", "config"),
    [
        ("5.4.0-100-generic", ""),
        ("6.1.0-56-amd64", "CONFIG_MODVERSIONS=y\n"),
        ("6.1.0-56-amd64", "CONFIG_MODULE_SRCVERSION_ALL=y\n"),
        ("6.1.0-56-amd64", ""),
        ("weird", ""),
    ],
)
def test_what_the_target_reads_of_cmd_files_is_said_through_the_catalogs(
    pseudo: None, release: str, config: str
) -> None:
    system = FakeSystem(files={f"{KDIR}/.config": config})
    reading = member_cmd_reading(system, KDIR, release, module_has_version=True)
    assert marked(reading.why), reading.why


def test_a_kbuild_make_cannot_evaluate_is_described_through_the_catalogs(pseudo: None) -> None:
    assert marked(evaluate(bare(), "obj-m := a.o\n", "/m").problem)
    files = {"/m/Kbuild": "obj-m := hello.o\n"}
    plain = read_kbuild(FakeSystem(files=files), "/m")
    assert plain is not None and marked(plain.note) and not plain.too_complex
    refused = read_kbuild(FakeSystem(files={"/m/Kbuild": "$(eval X := 1)\nobj-m := a.o\n"}), "/m")
    assert refused is not None and marked(refused.note)
    exploding = read_kbuild(FakeSystem(files={"/m/Kbuild": EXPLODING + "obj-m := $(A8)\n"}), "/m")
    assert exploding is not None and exploding.too_complex and marked(exploding.note)


def test_model_texts_a_person_reads_speak_through_the_catalogs(pseudo: None) -> None:
    edit = Step("settings", ("clang",), "why", edit=FileEdit("/etc/x", "y"))
    assert marked(edit.display) and "/etc/x" in edit.display
    assert Step("packages", (), "why", argv=("apt-get", "update")).display == "apt-get update"
    assert marked(Override("directory", "stable", "/m").describe())
    assert Override("env", "stable").describe() == "RUSTUP_TOOLCHAIN=stable"
    text = KernelRust(False, False, None, False, (), (), "1.78.0", FROM_CONFIG, None)
    assert marked(text.rustc_from_text) and text.rustc_from == FROM_CONFIG
    rmeta = KernelRust(False, False, None, False, (), (), "1.78.0", FROM_RMETA, None)
    assert rmeta.rustc_from_text == FROM_RMETA


@pytest.mark.parametrize(
    "pin",
    ['[toolchain]\nprofile = "minimal"\n', '[toolchain]\nchannel = "nightly; rm -rf /"\n'],
)
def test_a_pin_file_kdoctor_cannot_use_is_described_through_the_catalogs(
    pseudo: None, pin: str
) -> None:
    found, problem = read_own_pin(FakeSystem(files={"/m/rust-toolchain.toml": pin}), "/m")
    assert found is None and marked(problem) and "/m/rust-toolchain.toml" in str(problem)


# -- Spanish: the sentences translated, the machine values unchanged ---------------------------


def test_a_bad_setting_is_explained_in_spanish(spanish: None) -> None:
    system = FakeSystem(env={"PATH": "/usr/bin", "HOME": "/home/me", "KDOCTOR_RUST": "often"})
    with pytest.raises(BadValue) as raised:
        detect(system)
    assert str(raised.value) == (
        "KDOCTOR_RUST='often' (de el entorno) no es un valor válido; "
        "use uno de estos: auto, pin, distro"
    )


def test_loading_and_insmod_errors_are_explained_in_spanish(spanish: None) -> None:
    loading = host_loading(make_context(), bare())
    assert loading.reasons == (
        "el kernel en ejecución 6.1.0-56-amd64 no admite módulos cargables (CONFIG_MODULES=n)",
    )
    said = "insmod: ERROR: could not insert module hello.ko: File exists"
    assert explain_insmod_error(said)[0] == "ya hay cargado un módulo con el mismo nombre"
    assert insmod_error_kind(said) == EEXIST
    assert insmod_error_kind("x: Invalid module format") == ENOEXEC
    assert insmod_error_kind("x: Something new") is None
    cause, remedy = insmod_remediation(said, "hello")
    assert cause.startswith("ya hay cargado") and remedy.commands == ("rmmod hello",)
    unknown, _remedy = insmod_remediation("insmod: Something new", "hello")
    assert unknown == "" and _remedy.text.startswith("Consulte dmesg | tail")


def test_a_rustc_too_old_fails_the_toolchain_check_in_spanish_as_in_english() -> None:
    """The check tells "too old" from the fact's flag, not from its (translated) words."""
    check = next(c for c in all_checks() if c.id == "toolchain")
    ctx = make_context(env={"RUSTC": "/usr/bin/rustc"})
    english = run_check(check, ctx, old_rustc())
    i18n.activate("es")
    try:
        spanish = run_check(check, ctx, old_rustc())
    finally:
        i18n.activate("en")
    assert english.status == spanish.status == Status.FAIL
    assert english.summary == "rustc 1.41.1 is too old (1.48 or newer is needed)"
    assert spanish.summary == "rustc 1.41.1 es demasiado antiguo (se necesita 1.48 o posterior)"


def test_a_kbuild_too_complex_to_read_is_flagged_in_spanish_too(spanish: None) -> None:
    kbuild = read_kbuild(FakeSystem(files={"/m/Kbuild": EXPLODING + "obj-m := $(A8)\n"}), "/m")
    assert kbuild is not None and kbuild.too_complex
    assert kbuild.note is not None and kbuild.note.startswith("demasiado complejo para evaluarlo")
    plain = Step("settings", (), "why", edit=FileEdit("/etc/x", "y"))
    assert plain.display == "escribir /etc/x"
