"""The kbuild fixtures for real (tests/fixtures/modules/): check's verdict and the real build's
outcome together, with this machine's make, gcc and kernel headers.

* ``touch-workaround``: a Kbuild that links a prebuilt object through its own rule and touches
  the ``.cmd`` file: kbuild-cmd warns (a workaround), and the build succeeds;
* ``touch-in-makefile``: the same rule in a Kbuild of its own, and the Makefile touches the
  ``.cmd`` file before it calls kbuild: kbuild-cmd warns and the build succeeds; without that
  touch, kbuild-cmd fails and the build stops on the missing file it names;
* ``archive-in-ifneq``: a Makefile-only module whose one member, a static library, sits inside
  ``ifneq ($(KERNELRELEASE),)``: kbuild-cmd fails, the build stops on the missing ``.cmd``, and
  ``kdoctor fix`` (a Makefile edit, nothing else) gets the build past it.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.fishinabarrel import stand_in_archive

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "modules"


def real_kdir() -> Optional[str]:
    found = sorted(glob.glob("/lib/modules/*/build/Makefile"))
    return os.path.dirname(found[-1]) if found else None


KDIR = real_kdir()

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(KDIR is None, reason="needs kernel headers in /lib/modules/*/build"),
    pytest.mark.skipif(
        any(shutil.which(t) is None for t in ("gcc", "ar", "make")), reason="needs gcc, ar, make"
    ),
]


def kdoctor(cache: Path, *args: str) -> tuple[int, Any, str]:
    """``python -m kdoctor ARGS --json``: (exit code, its JSON, its stderr)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KDOCTOR_CACHE": str(cache), "KDIR": str(KDIR)}
    done = subprocess.run(
        [sys.executable, "-m", "kdoctor", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    start = done.stdout.find("{")
    assert start >= 0, done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout[start:]), done.stderr


def shared_kernel_images(cache: Path) -> None:
    """Let the test's own cache see the kernel images the real cache already holds, so that
    ``fix`` does not plan fetching one for the VM check (which has nothing to do with these
    modules)."""
    real = Path(os.environ.get("KDOCTOR_CACHE", Path.home() / ".cache" / "kdoctor")) / "kernels"
    if real.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        (cache / "kernels").symlink_to(real)


def fixture(tmp_path: Path, name: str, archive: str) -> Path:
    module = tmp_path / name
    shutil.copytree(FIXTURES / name, module)
    stand_in_archive(module / archive)
    return module


def by_id(report: Any) -> dict[str, Any]:
    return {c["id"]: c for c in report["checks"]}


def other_required_failures(checks: dict[str, Any]) -> list[str]:
    return [
        i
        for i, c in checks.items()
        if i != "kbuild-cmd" and c.get("required", True) and c["status"] in ("fail", "error")
    ]


def test_touch_workaround_warns_and_builds(tmp_path: Path) -> None:
    module = fixture(tmp_path, "touch-workaround", "libhello_world.a")
    code, report, _ = kdoctor(tmp_path / "cache", "check", "--module-dir", str(module))
    checks = by_id(report)
    kbuild_cmd = checks["kbuild-cmd"]
    assert kbuild_cmd["status"] == "warn", kbuild_cmd
    assert "touch" in kbuild_cmd["summary"] and "rebuilds are not tracked" in kbuild_cmd["summary"]
    others = other_required_failures(checks)
    assert (code == 0) == (not others), (code, others)

    code, built, _ = kdoctor(tmp_path / "cache", "build", "--module-dir", str(module))
    assert code == 0 and built["ok"], built
    assert built["ko"] == str(module / "helloworld.ko")
    assert (module / "helloworld.ko").is_file()


def test_a_makefile_touching_the_cmd_file_before_kbuild_warns_and_builds(tmp_path: Path) -> None:
    module = fixture(tmp_path, "touch-in-makefile", "libhello_world.a")
    code, report, _ = kdoctor(tmp_path / "cache", "check", "--module-dir", str(module))
    checks = by_id(report)
    kbuild_cmd = checks["kbuild-cmd"]
    assert kbuild_cmd["status"] == "warn", kbuild_cmd
    assert kbuild_cmd["summary"].startswith(
        "hello_world.rust.o gets .hello_world.rust.o.cmd only from a `touch` in Makefile"
    )
    assert kbuild_cmd["facts"]["touched"][0]["touched_in"] == "Makefile:6"
    others = other_required_failures(checks)
    assert (code == 0) == (not others), (code, others)

    code, built, _ = kdoctor(tmp_path / "cache", "build", "--module-dir", str(module))
    assert code == 0 and built["ok"], built
    assert (module / "helloworld.ko").is_file()


def test_without_the_makefile_s_touch_check_and_build_fail_on_the_same_cmd_file(
    tmp_path: Path,
) -> None:
    module = fixture(tmp_path, "touch-in-makefile", "libhello_world.a")
    makefile = module / "Makefile"
    makefile.write_text(makefile.read_text().replace("\ttouch .hello_world.rust.o.cmd\n", ""))
    code, report, _ = kdoctor(tmp_path / "cache", "check", "--module-dir", str(module))
    kbuild_cmd = by_id(report)["kbuild-cmd"]
    assert code != 0 and kbuild_cmd["status"] == "fail", kbuild_cmd
    error = ".hello_world.rust.o.cmd: No such file or directory"
    assert f"modpost will stop with `{error}`" in kbuild_cmd["summary"]

    code, built, _ = kdoctor(tmp_path / "cache", "build", "--module-dir", str(module))
    assert code != 0 and not built["ok"]
    assert built["cause"].endswith(error), built["cause"]


def test_archive_in_ifneq_fails_check_and_build_until_fix_rewrites_the_makefile(
    tmp_path: Path,
) -> None:
    module = fixture(tmp_path, "archive-in-ifneq", "prebuilt/libhello_world.a")
    cache = tmp_path / "cache"
    shared_kernel_images(cache)
    original = (module / "Makefile").read_text()

    code, report, _ = kdoctor(cache, "check", "--module-dir", str(module))
    kbuild_cmd = by_id(report)["kbuild-cmd"]
    assert code != 0
    assert kbuild_cmd["status"] == "fail", kbuild_cmd
    assert kbuild_cmd["facts"]["object"] == "target/debug/libhello_world.a"
    assert kbuild_cmd["facts"]["evaluated_by"] == "make"
    assert ".libhello_world.a.cmd: No such file or directory" in kbuild_cmd["summary"]
    assert report["context"]["module"]["ko_names"] == ["helloworld"]

    code, built, _ = kdoctor(cache, "build", "--module-dir", str(module))
    assert code != 0 and not built["ok"]
    assert built["cause"].endswith("/target/debug/.libhello_world.a.cmd: No such file or directory")
    [explained, *_] = built["explanations"]
    assert explained["id"] == "kbuild-cmd" and "kdoctor fix --module-dir" in explained["remedy"]

    # what the explainer promises, the plan does: one edit of the Makefile and nothing else
    code, dry, _ = kdoctor(cache, "fix", "--dry-run", "--no-build", "--module-dir", str(module))
    steps = dry["plan"]["steps"]
    ours = [s for s in steps if "kbuild-cmd" in s["findings"]]
    assert [(s["fix"], s["edit"]["path"], s["argv"]) for s in ours] == [
        ("kbuild-cmd", str(module / "Makefile"), [])
    ]
    assert (module / "Makefile").read_text() == original
    others = [s for s in steps if s not in ours]
    if others:  # e.g. a VM kernel image for the vm check when no cache holds one yet
        pytest.skip(f"fix would also run {[s['why'] for s in others]}")

    code, fixed, _ = kdoctor(cache, "fix", "--yes", "--no-build", "--module-dir", str(module))
    assert code == 0, fixed
    assert "$(call if_changed," in (module / "Makefile").read_text()
    assert (module / "Makefile.~1~").read_text() == original  # numbered, never overwritten

    code, built, _ = kdoctor(cache, "build", "--module-dir", str(module))
    assert code == 0 and built["ok"], built
    assert (module / "target" / "debug" / ".libhello_world.a.cmd").is_file()
    code, report, _ = kdoctor(cache, "check", "--module-dir", str(module))
    assert by_id(report)["kbuild-cmd"]["status"] == "ok"
