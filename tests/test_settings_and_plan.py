from __future__ import annotations

from pathlib import Path

from kdoctor.machine import settings
from kdoctor.machine.runner import Runner
from kdoctor.model.plan import Step
from kdoctor.pipeline.planner import merge_settings


def test_settings_round_trip_and_are_shell_sourceable(tmp_path: Path) -> None:
    path = str(tmp_path / "env")
    settings.update(path, {"CC": "clang-15", "KDIR": "/lib/modules/6.1.0-56-amd64/build"})
    text = Path(path).read_text()
    assert "export CC=clang-15\n" in text
    assert settings.load(path) == {"CC": "clang-15", "KDIR": "/lib/modules/6.1.0-56-amd64/build"}
    settings.update(path, {"CC": None})
    assert settings.load(path) == {"KDIR": "/lib/modules/6.1.0-56-amd64/build"}
    assert Path(path + ".~1~").exists()


def test_real_environment_wins_over_persisted_choices(tmp_path: Path) -> None:
    path = str(tmp_path / "env")
    settings.update(path, {"CC": "clang-15", "CLANG": "clang-15"})
    merged = settings.merged_env({"CC": "gcc", "KDOCTOR_CONFIG": path})
    assert merged["CC"] == "gcc" and merged["CLANG"] == "clang-15"


def test_settings_steps_merge_into_one_edit_and_satisfied_ones_vanish(tmp_path: Path) -> None:
    path = str(tmp_path / "env")
    settings.update(path, {"KDIR": "/k"})
    steps = [
        Step("packages", ("clang",), "install", argv=("apt-get", "install", "clang")),
        Step("kernel-target", ("kernel-headers",), "retarget", settings={"KDIR": "/k"}),
        Step(
            "settings",
            ("clang",),
            "clang-15 is good",
            settings={"CC": "clang-15", "CLANG": "clang-15"},
        ),
    ]
    merged = merge_settings(steps, path, Runner())
    assert [s.display for s in merged] == ["apt-get install clang", f"write {path}"]
    edit = merged[1]
    assert edit.settings == {"CC": "clang-15", "CLANG": "clang-15"}
    assert edit.edit is not None and "+export CC=clang-15" in edit.edit.diff
    assert "export KDIR=/k" in edit.edit.text
    assert merge_settings(steps[1:2], path, Runner()) == []
