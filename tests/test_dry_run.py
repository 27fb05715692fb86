"""`kdoctor fix --dry-run` shows the whole plan and changes nothing, provably: no mutating
command reaches the runner, and the module directory, settings and cache are byte-identical."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, ClassVar, Optional

import pytest
from typer.testing import CliRunner

from kdoctor.cli import options
from kdoctor.cli.app import app
from kdoctor.machine.runner import Runner
from kdoctor.machine.system import Probe
from kdoctor.model.report import EXIT_PENDING
from tests.real_machine import RealTarget

pytestmark = pytest.mark.integration

CLASSIC_KBUILD = (
    "obj-m := helloworld.o\nhelloworld-objs := hello_world.rust.o\n\n"
    "%.rust.o: lib%.a\n\t$(LD) -r -o $@ --whole-archive $<\n"
)


class RecordingRunner(Runner):
    """The real runner, with every mutating call recorded (and refused): commands, and every
    change to the file system the System offers."""

    mutations: ClassVar[list[tuple[str, ...]]] = []

    def run(self, argv: Any, **kwargs: Any) -> Probe:
        RecordingRunner.mutations.append(tuple(argv))
        raise AssertionError(f"a dry run ran {argv}")

    def _refuse(self, kind: str, *args: Any) -> Any:
        RecordingRunner.mutations.append((kind, *map(str, args)))
        raise AssertionError(f"a dry run called {kind}{args}")

    def write_file(self, path: str, data: Any, **kwargs: Any) -> Any:
        return self._refuse("write_file", path)

    def makedirs(self, path: str) -> None:
        self._refuse("makedirs", path)

    def make_temp_dir(self, prefix: str, parent: str) -> str:
        return str(self._refuse("make_temp_dir", parent))

    def remove_tree(self, path: str) -> None:
        self._refuse("remove_tree", path)

    def rename(self, source: str, target: str) -> None:
        self._refuse("rename", source, target)

    def copy_tree(self, source: str, target: str) -> None:
        self._refuse("copy_tree", source, target)

    def open_log(self, path: str, *, append: bool = False) -> Any:
        return self._refuse("open_log", path)


def snapshot(*roots: Path) -> dict[str, tuple[int, str]]:
    state: dict[str, tuple[int, str]] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = Path(dirpath, name)
                digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
                state[str(path)] = (path.stat().st_mtime_ns, digest)
    return state


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, real_target: RealTarget) -> Path:
    RecordingRunner.mutations = []
    monkeypatch.setattr(options, "system_factory", RecordingRunner)
    (tmp_path / "config").mkdir()
    (tmp_path / "cache").mkdir()
    return tmp_path


def dry_run(home: Path, *args: str, path: Optional[str] = None) -> dict[str, Any]:
    env = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "KDOCTOR_CACHE": str(home / "cache"),
        "PATH": path or os.environ["PATH"],
        # rustup writes its settings file into an empty RUSTUP_HOME: keep the real one
        "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(Path.home() / ".rustup")),
    }
    result = CliRunner().invoke(app, ["fix", "--dry-run", "--json", *args], env=env)
    data = dict(json.loads(result.stdout))
    # the exit code predicts the apply: 5 when the plan has steps, 0 when there are none
    assert result.exit_code == (EXIT_PENDING if data["plan"]["steps"] else 0), result.output
    return data


def test_a_users_module_with_the_cmd_bug_gets_a_rewrite_planned_but_not_written(
    home: Path, real_target: RealTarget
) -> None:
    module = home / "mymodule"
    module.mkdir()
    (module / "Kbuild").write_text(CLASSIC_KBUILD)
    (module / "Makefile").write_text("all:\n\t$(MAKE) -C $(KDIR) M=$(CURDIR)\n")
    before = snapshot(home)
    data = dry_run(home, "--kernel", real_target.release, "--module-dir", str(module))
    steps = data["plan"]["steps"]
    kbuild = [s for s in steps if s["fix"] == "kbuild-cmd"]
    assert len(kbuild) == 1
    assert kbuild[0]["edit"]["path"] == str(module / "Kbuild")
    assert "+\t$(call if_changed," in kbuild[0]["edit"]["diff"]
    assert RecordingRunner.mutations == []
    assert snapshot(home) == before
    assert "apply" not in data and "build" not in data


def test_a_bare_machine_gets_the_full_plan_and_nothing_changes(
    home: Path, real_target: RealTarget
) -> None:
    # a PATH with none of the build tools: what a fresh Debian machine looks like to kdoctor
    bare = home / "bare-bin"
    bare.mkdir()
    for tool in ("apt-cache", "apt-get", "dpkg", "dpkg-query", "sh", "uname", "ldd"):
        found = next((Path(d, tool) for d in ("/usr/bin", "/bin") if Path(d, tool).exists()), None)
        if found is not None:
            (bare / tool).symlink_to(found)
    before = snapshot(home)
    data = dry_run(home, "--kernel", real_target.release, "--rust", "distro", path=str(bare))
    steps = data["plan"]["steps"]
    installs = [s["argv"] for s in steps if s["argv"][:2] == ["apt-get", "install"]]
    # what the Rust sysroot needs first, then the rest while the sysroot builds
    assert len(installs) == 2, steps
    assert "make" in installs[0]
    assert {"clang", "bindgen", "qemu-system-x86"} <= set(installs[1])
    order = [s["argv"][3] if s["background"] else s["argv"][:2] for s in steps[:3]]
    assert order == [["apt-get", "install"], "build-sysroot", ["apt-get", "install"]], steps
    assert RecordingRunner.mutations == []
    assert snapshot(home) == before
