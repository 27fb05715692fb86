"""Knowledge written once: what the checks report and what build and verify do agree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kdoctor.facts import Facts, images, rust, rustc, rustup
from kdoctor.facts import packages as package_facts
from kdoctor.facts.images import Busybox, find_busybox, image_paths
from kdoctor.facts.privileges import sudo_argv, sudo_prefix
from kdoctor.knowledge import step_errors
from kdoctor.knowledge.packages import apt_has_candidate, image_package_names
from kdoctor.knowledge.rust_dist import RUST_HOST
from kdoctor.model.cache_layout import cached_image
from kdoctor.pipeline.kernels import image as kernel_image
from tests.conftest import elf_binary, make_context
from tests.fake_system import FakeSystem

RELEASE = "6.1.0-56-amd64"


def test_the_vm_check_looks_where_verify_finds_and_fetches_images() -> None:
    ctx = make_context()
    looked = [path for path, _ in image_paths(ctx)]
    assert looked[:2] == list(kernel_image.installed_paths(RELEASE))
    assert looked[2] == cached_image(ctx.cache_dir, RELEASE)
    # what the check reports as the source of an installed kernel's image
    assert [source for _, source in image_paths(ctx)] == ["boot", "boot", "cache", "cache"]
    assert [source for _, source in images.installed_images(RELEASE)] == ["boot", "modules"]


def test_the_image_packages_verify_fetches_are_the_ones_the_vm_check_asks_about() -> None:
    assert kernel_image.candidate_packages(RELEASE) == image_package_names("apt", RELEASE)
    assert kernel_image.candidate_packages(RELEASE)[0] == f"linux-image-{RELEASE}"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (f"linux-image-{RELEASE}:\n  Installed: (none)\n  Candidate: 6.1.192-2\n", True),
        (f"linux-image-{RELEASE}:\n  Installed: (none)\n  Candidate: (none)\n", False),
        ("", False),  # apt prints nothing for a name it does not know
        (f"linux-image-{RELEASE}:amd64:\n  Candidate: 6.1.192-2\n", True),
    ],
)
def test_one_apt_policy_reader_for_the_check_and_for_fetching(policy: str, expected: bool) -> None:
    name = f"linux-image-{RELEASE}"
    assert apt_has_candidate(policy, name) is expected
    system = FakeSystem(
        programs={"apt-cache": "/usr/bin/apt-cache"}, commands={f"apt-cache policy {name}": policy}
    )
    assert package_facts.known_packages(system, "apt", [name]) == {name: expected}


def test_busybox_places_and_search_are_shared_by_the_check_and_verify() -> None:
    static, dynamic = elf_binary(interp=False), elf_binary(interp=True)
    system = FakeSystem(
        programs={"busybox": "/usr/bin/busybox", "/bin/busybox": "/bin/busybox"},
        files={"/usr/bin/busybox": dynamic, "/bin/busybox": static},
    )
    assert find_busybox(system) == Busybox("/bin/busybox", True)
    ctx = make_context()
    assert Facts(ctx, system).of(images.busybox) == find_busybox(system)
    # a file is named once, by its real path (/bin -> /usr/bin on a merged-usr system)
    merged = FakeSystem(
        programs={"busybox": "/usr/bin/busybox", "/bin/busybox": "/bin/busybox"},
        files={"/usr/bin/busybox": static},
        symlinks={"/bin/busybox": "/usr/bin/busybox"},
    )
    assert find_busybox(merged) == Busybox("/usr/bin/busybox", True)
    assert find_busybox(FakeSystem()) is None


def test_the_sudo_prefix_is_one_rule() -> None:
    root, user = make_context(is_root=True), make_context(is_root=False)
    assert (sudo_prefix(root), sudo_prefix(user)) == ("", "sudo ")
    assert (sudo_argv(root), sudo_argv(user)) == ((), ("sudo", "-n"))
    assert package_facts.install_command(user, ["make"]).startswith("sudo apt-get install")
    assert package_facts.install_command(root, ["make"]).startswith("apt-get install")


def test_package_facts_and_the_rust_names_fixes_use() -> None:
    ctx = make_context(is_root=False)
    assert package_facts.install_command(ctx, ["clang-n"], n=15) == (
        "sudo apt-get install -y --no-install-recommends clang-15"
    )
    system = FakeSystem(
        programs={"apt-cache": "/usr/bin/apt-cache"},
        commands={"apt-cache policy make": "make:\n  Candidate: 4.3-4.1\n"},
    )
    assert package_facts.known_packages(system, "apt", ["make"]) == {"make": True}
    assert package_facts.known_to_manager(system, "apt", "make") is True
    for module, name in (
        (rustc, "resolve"),
        (rustc, "RustToolchain"),
        (rustup, "find_rustup"),
        (rustup, "install_command"),
        (rustup, "pin_state"),
        (rust, "rust_toolchain"),
        (rust, "pin_status"),
    ):
        assert hasattr(module, name), name


def test_the_rust_download_host_is_named_once() -> None:
    assert step_errors.RUSTUP_HOST == RUST_HOST == "static.rust-lang.org"
    package = Path(step_errors.__file__).resolve().parents[1]
    naming = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if '"static.rust-lang.org"' in path.read_text(encoding="utf-8")
    ]
    assert naming == ["knowledge/rust_dist.py"]


def test_the_model_does_not_import_the_fact_layer() -> None:
    code = (
        "import sys, kdoctor.model.context; "
        "print([m for m in sys.modules if m.startswith('kdoctor.facts')])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
