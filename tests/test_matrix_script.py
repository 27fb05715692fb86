"""scripts/matrix.py's own logic, without roots or root: reading onboard.sh's output, judging a
row, and the README table it regenerates."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "matrix.py"
MESSAGES = ["Hello kernel module!", "My message is on the heap", "Goodbye kernel module!"]


@pytest.fixture(scope="module")
def matrix() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kdoctor_matrix", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def fix_json(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "context": {"target_kernel": "5.10.0-46-amd64"},
        "after": {  # fix --json: a whole check report
            "checks": [
                {"id": "clang", "facts": {"version": "11.0.1"}},
                {"id": "bindgen", "facts": {"version": "0.55.1"}},
                {
                    "id": "toolchain",
                    "facts": {"version": "1.48.0", "packages": ["rustc", "rust-src"]},
                },
            ]
        },
        "build": {"ok": True, "duration_s": 61.2, "tail": []},
        "verify": {
            "passed": True,
            "summary": "loaded, unloaded, all 3 messages in order",
            "kernel": "5.10.0-46-amd64",
            "found": MESSAGES,
            "accel": "tcg",
            "taint": "OE",
            "timings": {"total_s": 8.2},
        },
        "exit_code": 0,
    }
    data.update(changes)
    return data


def onboard_output(data: dict[str, Any]) -> str:
    return (
        "\x1b[1m==> kdoctor fix --yes --rust distro --json\x1b[0m\n"
        + json.dumps(data, indent=2)
        + "\n\nonboard: installed kdoctor\nonboard: done\n"
    )


def test_the_json_is_found_between_onboards_own_lines(matrix: ModuleType) -> None:
    data = fix_json()
    assert matrix.json_object(onboard_output(data)) == data
    assert matrix.json_object("onboard: kdoctor fix stopped (exit 1)\n{ not json\n") is None


def test_a_verified_row_passes_with_its_versions_and_times(matrix: ModuleType) -> None:
    row = matrix.judge(fix_json(), 0)
    assert row == {
        "kernel": "5.10.0-46-amd64",
        "clang": "11.0.1",
        "rustc": "1.48.0",
        "rust_packages": ["rustc", "rust-src"],
        "bindgen": "0.55.1",
        "build_s": 61.2,
        "verify_s": 8.2,
        "accel": "tcg",
        "found": MESSAGES,
        "taint": "OE",
        "exit_code": 0,
        "result": "pass",
        "reason": "loaded, unloaded, all 3 messages in order",
    }


def test_messages_out_of_order_fail_even_if_kdoctor_said_passed(matrix: ModuleType) -> None:
    data = fix_json()
    data["verify"] = {**data["verify"], "found": [MESSAGES[1], MESSAGES[0], MESSAGES[2]]}
    assert matrix.judge(data, 0)["result"] == "fail"


def test_a_failed_build_is_the_reason(matrix: ModuleType) -> None:
    data = fix_json(build={"ok": False, "tail": ["a", "ld: gc-sections requires", "Error 2"]})
    del data["verify"]
    row = matrix.judge(data, 1)
    assert row["result"] == "fail"
    assert row["reason"] == "build failed: a | ld: gc-sections requires | Error 2"


def test_no_json_at_all_fails_with_the_exit_status(matrix: ModuleType) -> None:
    assert matrix.judge(None, 127) == {
        "result": "fail",
        "reason": "onboard.sh printed no kdoctor JSON (exit 127)",
    }


def test_the_readme_table_is_replaced_between_the_markers(
    matrix: ModuleType, tmp_path: Path
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n\n## Compatibility\n\n<!-- matrix:begin -->\nold\n<!-- matrix:end -->\n"
    )
    row = {"row": "bullseye", "release": "Debian 11 (bullseye)", **matrix.judge(fix_json(), 0)}
    row["total_s"] = 300.0
    meta = {"date": "2026-11-27", "run": "warm", "cores": 2, "host_kernel": "6.18", "total_s": 300}
    matrix.update_readme(readme, matrix.table([row], meta))
    text = readme.read_text()
    assert "old" not in text
    assert (
        "| `bullseye` | Debian 11 (bullseye) | 5.10.0-46-amd64 | 11.0.1 | 1.48.0 (rustc, rust-src) "
        "| 0.55.1 | ✔ pass | 61 s | 8 s | 5.0 min |"
    ) in text
    assert text.count("<!-- matrix:begin -->") == 1


def test_a_readme_without_markers_gets_the_section(matrix: ModuleType, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# x\n")
    matrix.update_readme(readme, "TABLE\n")
    text = readme.read_text()
    assert "## Compatibility" in text
    assert "<!-- matrix:begin -->\nTABLE\n<!-- matrix:end -->" in text


def test_rows_cover_the_four_combinations(matrix: ModuleType) -> None:
    rows = {row.id: row for row in matrix.ROWS}
    assert list(rows) == ["bullseye", "bookworm", "bookworm-web", "trixie"]
    assert rows["bookworm"].env == {"KDOCTOR_DISTRO_RUST": "rustc"}
    assert rows["bookworm-web"].env == {}
    assert rows["bullseye"].floor
    assert matrix.parse_args(["trixie", "--no-readme"]).rows == ["trixie"]
    with pytest.raises(SystemExit):
        matrix.parse_args(["sid"])
