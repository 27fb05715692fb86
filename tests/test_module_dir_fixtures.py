"""The module directory as third-party modules lay it out, against this machine's real kernel
build directory: ``kdoctor check``'s verdict and ``kdoctor build``'s real outcome agree (check
exits 0 only when the build succeeds; when it cannot, the module-dir check names the cause the
build then hits). Fixtures in tests/fixtures/modules/:

* ``pwd-makefile``: ``M=$(PWD)``, built from another directory (kdoctor runs make in the
  module's with PWD set to it);
* ``kernel-src-variable``, ``kerneldir-chain``: the tree read as ``KERNEL_SRC``, or as
  ``KERNELDIR`` defaulting to ``KSRC`` (kdoctor hands it over under those names);
* ``hardcoded-uname-tree``, ``override-kdir``: a tree no command-line variable changes;
* ``repository-root``: no module at its root, one in ``driver/``; and an empty directory.

And the current directory: without ``--module-dir``, the module kdoctor stands in (or under)
is the one built, else the bundled hello-world, said in words.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.real_machine import real_kernel, require_tools

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "modules"

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _real_machine() -> None:
    """make, gcc and this machine's target kernel, derived the way kdoctor does; else a skip
    that says what to install (a failure under CI=true)."""
    require_tools("make", "gcc")
    real_kernel()


def kdir() -> str:
    return real_kernel().kdir


def run(
    args: list[str], cache: Path, cwd: Optional[Path] = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KDIR": kdir(),
        "KDOCTOR_CACHE": str(cache),
        "PYTHONPATH": str(ROOT),
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "kdoctor", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd or cache.parent,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )


def kdoctor(
    command: str, module: Path, cache: Path, cwd: Optional[Path] = None
) -> tuple[int, dict[str, Any]]:
    done = run([command, "--module-dir", str(module), "--json"], cache, cwd)
    return done.returncode, json.loads(done.stdout)


def module_dir_finding(report: dict[str, Any]) -> dict[str, Any]:
    [found] = [f for f in report["checks"] if f["id"] == "module-dir"]
    return found


def copy(name: str, tmp_path: Path) -> Path:
    module = tmp_path / name
    shutil.copytree(FIXTURES / name, module)
    return module


def log_of(built: dict[str, Any]) -> str:
    return Path(built["log"]).read_text(errors="replace")


def agree(code: int, built: dict[str, Any], build_code: int) -> None:
    """check exits 0 exactly when the build succeeds."""
    assert (code == 0) == (build_code == 0) == bool(built["ok"]), log_of(built)[-3000:]


def test_m_pwd_builds_the_module_not_the_directory_kdoctor_was_started_in(tmp_path: Path) -> None:
    module = copy("pwd-makefile", tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, report = kdoctor("check", module, tmp_path / "cache", cwd=elsewhere)
    assert module_dir_finding(report)["status"] == "ok"
    build_code, built = kdoctor("build", module, tmp_path / "cache", cwd=elsewhere)
    agree(code, built, build_code)
    assert built["ko"] == str(module / "pwd_makefile.ko")
    assert built["env"]["PWD"] == str(module)
    assert f"M={module} modules" in log_of(built)  # $(PWD) named the module
    assert str(elsewhere) not in log_of(built)


@pytest.mark.parametrize(
    ("name", "names", "ko"),
    [
        ("kernel-src-variable", ["KDIR", "KERNEL_SRC"], "kernel_src_variable.ko"),
        ("kerneldir-chain", ["KDIR", "KERNELDIR", "KSRC"], "kerneldir_chain.ko"),
    ],
)
def test_the_tree_reaches_a_makefile_under_the_names_it_reads(
    name: str, names: list[str], ko: str, tmp_path: Path
) -> None:
    module = copy(name, tmp_path)
    code, report = kdoctor("check", module, tmp_path / "cache")
    found = module_dir_finding(report)
    assert found["status"] == "ok"
    assert found["facts"]["tree_variables"] == names
    build_code, built = kdoctor("build", module, tmp_path / "cache")
    agree(code, built, build_code)
    assert built["ko"] == str(module / ko)
    for variable in names:
        assert f"{variable}={kdir()}" in built["argv"]
    assert f"make -C {kdir()} M={module} modules" in log_of(built)


def test_a_hard_coded_tree_fails_in_check_naming_what_the_build_then_enters(
    tmp_path: Path,
) -> None:
    module = copy("hardcoded-uname-tree", tmp_path)
    code, report = kdoctor("check", module, tmp_path / "cache")
    found = module_dir_finding(report)
    running = os.uname().release
    tree = f"/lib/modules/{running}/build"
    build_code, built = kdoctor("build", module, tmp_path / "cache")
    if os.path.realpath(tree) == os.path.realpath(kdir()):  # the target is the running kernel
        assert found["status"] == "ok"
        agree(code, built, build_code)
        return
    assert code != 0
    assert found["status"] == "fail" and found["required"]
    assert found["found"] == "Makefile:6"
    assert f"Makefile:6 builds against {tree}, not {kdir()}" in found["summary"]
    assert "Change Makefile:6 to `$(MAKE) -C $(KDIR)" in found["remediation"]["text"]
    assert found["needs"][0]["kind"] == "by-hand"
    assert f"-C {tree} M={module}" in log_of(built)  # the tree the check named
    if not os.path.exists(tree):
        assert build_code != 0 and not built["ok"]
        assert built["cause"] == f"make[1]: *** {tree}: No such file or directory.  Stop."
        assert built["explanations"][0]["id"] == "no-kernel-tree"


def test_an_override_of_kdir_fails_in_check_and_the_build_enters_its_tree(tmp_path: Path) -> None:
    if os.path.exists("/usr/src/linux"):
        pytest.skip("/usr/src/linux exists here: the override's tree would build")
    module = copy("override-kdir", tmp_path)
    code, report = kdoctor("check", module, tmp_path / "cache")
    found = module_dir_finding(report)
    assert code != 0 and found["status"] == "fail"
    assert "`override KDIR` at Makefile:4 beats the KDIR=" in found["summary"]
    assert found["summary"].startswith("Makefile:7 builds against /usr/src/linux")
    build_code, built = kdoctor("build", module, tmp_path / "cache")
    agree(code, built, build_code)
    assert built["cause"] == "make[1]: *** /usr/src/linux: No such file or directory.  Stop."


def test_a_repository_root_and_an_empty_directory_hold_no_module(tmp_path: Path) -> None:
    repository = copy("repository-root", tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    for directory in (repository, empty):
        code, report = kdoctor("check", directory, tmp_path / "cache")
        found = module_dir_finding(report)
        assert code != 0 and found["status"] == "fail" and found["required"]
        assert found["summary"] == (
            f"{directory} holds no kernel module: no Kbuild, no Makefile calling kbuild, "
            "no Cargo.toml"
        )
        assert report["context"]["module"]["kind"] == "none"
        build_code, built = kdoctor("build", directory, tmp_path / "cache")
        agree(code, built, build_code)
        assert built["cause"] == "make: *** No targets specified and no makefile found.  Stop."
        assert built["explanations"][0]["id"] == "no-makefile"
    code, report = kdoctor("check", repository / "driver", tmp_path / "cache")
    build_code, built = kdoctor("build", repository / "driver", tmp_path / "cache")
    agree(code, built, build_code)
    assert built["ko"] == str(repository / "driver" / "repo_driver.ko")


def test_the_module_kdoctor_stands_in_is_built_and_its_ko_named(tmp_path: Path) -> None:
    module = copy("pwd-makefile", tmp_path)
    inside = module / "src"  # as cargo finds its crate from below
    inside.mkdir()
    checked = run(["check"], tmp_path / "cache", cwd=inside)
    assert f"module: {module.name} (from the current directory)" in checked.stdout.splitlines()[0]
    built = run(["build"], tmp_path / "cache", cwd=inside)
    assert f"module: {module} (from the current directory)" in built.stdout
    assert (built.returncode == 0) == (checked.returncode == 0), built.stdout + built.stderr
    assert f"✔ built {module / 'pwd_makefile.ko'} in " in built.stdout
    assert (module / "pwd_makefile.ko").is_file()


def test_outside_any_module_it_is_the_bundled_hello_world_said_in_words(tmp_path: Path) -> None:
    repository = copy("repository-root", tmp_path)
    (repository / ".git").mkdir()  # the search stops at a repository's root
    checked = run(["check", "os", "module-dir"], tmp_path / "cache", cwd=repository)
    assert checked.stdout.splitlines()[0].endswith("· module: bundled hello-world")
    found = json.loads(run(["check", "os", "--json"], tmp_path / "cache", cwd=repository).stdout)[
        "context"
    ]
    assert found["module_source"] == "bundled"


def test_suggested_commands_keep_the_module_dir_and_kernel_given(tmp_path: Path) -> None:
    release = real_kernel().release
    if kdir() != f"/lib/modules/{release}/build":
        pytest.skip(f"the target's tree {kdir()} is not where --kernel {release} looks")
    empty = tmp_path / "empty"
    empty.mkdir()
    chosen = f"--module-dir {empty} --kernel {release}"
    done = run(["build", "--module-dir", str(empty), "--kernel", release, "--json"], tmp_path)
    [explanation] = json.loads(done.stdout)["explanations"]
    assert f"`kdoctor check {chosen} module-dir`" in explanation["remedy"]
    done = run(
        ["verify", "--vm", "--module-dir", str(empty), "--kernel", release, "--json"], tmp_path
    )
    assert json.loads(done.stdout)["remediation"]["commands"] == [f"kdoctor build {chosen}"]
