from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Optional

import pytest

from kdoctor.machine.fake import FakeSystem, Reply
from kdoctor.machine.system import OutputCallback, Probe
from kdoctor.model.context import Context
from kdoctor.model.finding import Remediation
from kdoctor.pipeline import kernel_image
from kdoctor.pipeline.kernel_image import KernelImage, KernelImageError
from tests.conftest import make_context

RELEASE = "6.1.0-56-amd64"
PROGRAMS = {
    "apt-get": "/usr/bin/apt-get",
    "apt-cache": "/usr/bin/apt-cache",
    "dpkg-deb": "/usr/bin/dpkg-deb",
}
KNOWN = "linux-image-6.1.0-56-amd64:\n  Installed: (none)\n  Candidate: 6.1.192-2\n"
NO_CANDIDATE = "linux-image-6.1.0-56-amd64:\n  Installed: (none)\n  Candidate: (none)\n"
UNSIGNED = "linux-image-6.1.0-56-amd64-unsigned:\n  Installed: (none)\n  Candidate: 6.1.192-2\n"


class FakeApt(FakeSystem):
    """apt-get download drops a .deb into its cwd; dpkg-deb -x unpacks a pretend image."""

    def __init__(
        self,
        *,
        policy: Optional[Mapping[str, str]] = None,
        download: Optional[Reply] = None,
        image_name: str = f"vmlinuz-{RELEASE}",
        interrupt_unpack: bool = False,
        **kwargs: object,
    ) -> None:
        commands = {f"apt-cache policy {name}": text for name, text in (policy or {}).items()}
        super().__init__(programs=PROGRAMS, commands=commands, **kwargs)  # type: ignore[arg-type]
        self.download = download or Reply()
        self.image_name = image_name
        self.interrupt_unpack = interrupt_unpack
        self.cwds: list[Optional[str]] = []

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: Optional[float] = None,
        cwd: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        on_output: Optional[OutputCallback] = None,
    ) -> Probe:
        argv = tuple(argv)
        self.runs.append(argv)
        self.cwds.append(cwd)
        if argv[:2] == ("apt-get", "download"):
            reply = self.download
            if reply.exit_code == 0:
                assert cwd is not None
                Path(cwd, f"{argv[2]}_6.1.192-2_amd64.deb").write_bytes(b"!<arch>\n")
            return Probe(argv, reply.exit_code, reply.stdout, reply.stderr, cwd=cwd)
        if argv[:2] == ("dpkg-deb", "-x"):
            if self.interrupt_unpack:
                raise KeyboardInterrupt
            boot = Path(argv[3], "boot")
            boot.mkdir(parents=True)
            (boot / self.image_name).write_bytes(b"MZ kernel")
            (boot / f"config-{RELEASE}").write_text("CONFIG_MODULES=y\n")
            Path(argv[3], "lib/modules", RELEASE).mkdir(parents=True)
            return Probe(argv, 0, cwd=cwd)
        return super().run(argv, timeout=timeout, cwd=cwd, env=env, on_output=on_output)


def ctx_in(tmp_path: Path, **overrides: object) -> Context:
    return make_context(cache_dir=str(tmp_path / "cache"), **overrides)


def nothing_under_boot(system: FakeApt) -> None:
    for argv, cwd in zip(system.runs, system.cwds):
        assert not any(word.startswith("/boot") for word in argv), argv
        assert not (cwd or "").startswith("/boot"), cwd


def test_image_in_boot_is_used_as_is(tmp_path: Path) -> None:
    system = FakeApt(files={f"/boot/vmlinuz-{RELEASE}": ""})
    found = kernel_image.ensure(ctx_in(tmp_path), system, RELEASE)
    assert found == KernelImage(f"/boot/vmlinuz-{RELEASE}", "boot")
    assert system.runs == [] and system.calls == []


def test_image_in_lib_modules_is_used_as_is(tmp_path: Path) -> None:
    system = FakeApt(files={f"/lib/modules/{RELEASE}/vmlinuz": ""})
    assert kernel_image.ensure(ctx_in(tmp_path), system, RELEASE) == KernelImage(
        f"/lib/modules/{RELEASE}/vmlinuz", "modules"
    )


def test_image_fetched_before_is_reused(tmp_path: Path) -> None:
    ctx = ctx_in(tmp_path)
    cached = Path(kernel_image.cached_path(ctx, RELEASE))
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"MZ")
    system = FakeApt()
    assert kernel_image.ensure(ctx, system, RELEASE) == KernelImage(str(cached), "cache")
    assert system.runs == []


def test_fetch_downloads_unpacks_and_moves_only_the_image_into_the_cache(tmp_path: Path) -> None:
    ctx = ctx_in(tmp_path)
    system = FakeApt(policy={f"linux-image-{RELEASE}": KNOWN})
    steps: list[str] = []
    found = kernel_image.ensure(ctx, system, RELEASE, steps.append)
    destination = tmp_path / "cache" / "kernels" / RELEASE
    assert found == KernelImage(
        str(destination / f"vmlinuz-{RELEASE}"), "downloaded", f"linux-image-{RELEASE}"
    )
    assert (destination / f"vmlinuz-{RELEASE}").read_bytes() == b"MZ kernel"
    # the config comes along; the .deb, the modules and the work directory do not
    assert sorted(os.listdir(destination)) == [f"config-{RELEASE}", f"vmlinuz-{RELEASE}"]
    assert system.calls == [("apt-cache", "policy", f"linux-image-{RELEASE}")]
    work = system.cwds[0]
    assert work is not None and os.path.dirname(work) == str(destination)
    assert os.path.basename(work).startswith(".partial-")
    assert system.runs == [
        ("apt-get", "download", f"linux-image-{RELEASE}"),
        (
            "dpkg-deb",
            "-x",
            os.path.join(work, f"linux-image-{RELEASE}_6.1.192-2_amd64.deb"),
            os.path.join(work, "root"),
        ),
    ]
    assert steps == [
        f"downloading linux-image-{RELEASE} (apt-get download)",
        f"unpacking linux-image-{RELEASE}_6.1.192-2_amd64.deb",
    ]
    nothing_under_boot(system)


def test_fetch_falls_back_to_debians_unsigned_package(tmp_path: Path) -> None:
    system = FakeApt(
        policy={f"linux-image-{RELEASE}": NO_CANDIDATE, f"linux-image-{RELEASE}-unsigned": UNSIGNED}
    )
    found = kernel_image.ensure(ctx_in(tmp_path), system, RELEASE)
    assert found.package == f"linux-image-{RELEASE}-unsigned"
    assert system.runs[0] == ("apt-get", "download", f"linux-image-{RELEASE}-unsigned")


def test_a_package_named_differently_inside_is_still_found(tmp_path: Path) -> None:
    system = FakeApt(policy={f"linux-image-{RELEASE}": KNOWN}, image_name="vmlinuz-6.1.0-56")
    found = kernel_image.ensure(ctx_in(tmp_path), system, RELEASE)
    assert Path(found.path).name == f"vmlinuz-{RELEASE}"


def test_unknown_release_names_the_packages_and_next_step(tmp_path: Path) -> None:
    system = FakeApt(policy={})  # apt-cache policy prints nothing for unknown names
    with pytest.raises(KernelImageError) as raised:
        kernel_image.ensure(ctx_in(tmp_path), system, "6.18.44-fc-v782")
    assert str(raised.value) == (
        "apt knows no package linux-image-6.18.44-fc-v782 or "
        "linux-image-6.18.44-fc-v782-unsigned: kernel 6.18.44-fc-v782 is not a kernel of "
        "this distribution"
    )
    assert raised.value.remediation.commands == (
        "apt-get update",
        "apt-cache search --names-only '^linux-image-[0-9]'",
    )
    assert system.runs == []


def test_network_failure_names_the_package_and_leaves_nothing_behind(tmp_path: Path) -> None:
    failed = Reply(
        exit_code=100,
        stderr=(
            "Err:1 http://deb.debian.org/debian-security bookworm-security/main amd64 "
            f"linux-image-{RELEASE} amd64 6.1.192-2\n"
            "  Temporary failure resolving 'deb.debian.org'\n"
            "E: Failed to fetch http://deb.debian.org/debian-security/pool/updates/main/l/"
            "linux-signed-amd64/linux-image-6.1.0-56-amd64_6.1.192-2_amd64.deb  Temporary "
            "failure resolving 'deb.debian.org'\n"
        ),
    )
    ctx = ctx_in(tmp_path)
    system = FakeApt(policy={f"linux-image-{RELEASE}": KNOWN}, download=failed)
    with pytest.raises(KernelImageError) as raised:
        kernel_image.ensure(ctx, system, RELEASE)
    assert str(raised.value).startswith(
        f"could not download linux-image-{RELEASE}: apt-get exited with status 100: E: Failed "
        "to fetch"
    )
    destination = tmp_path / "cache" / "kernels" / RELEASE
    assert raised.value.remediation.commands[0] == (
        f"cd {destination} && apt-get download linux-image-{RELEASE}"
    )
    assert os.listdir(destination) == []


def test_interrupted_unpack_leaves_no_image_and_a_rerun_finishes(tmp_path: Path) -> None:
    ctx = ctx_in(tmp_path)
    policy = {f"linux-image-{RELEASE}": KNOWN}
    with pytest.raises(KeyboardInterrupt):
        kernel_image.ensure(ctx, FakeApt(policy=policy, interrupt_unpack=True), RELEASE)
    destination = tmp_path / "cache" / "kernels" / RELEASE
    assert not (destination / f"vmlinuz-{RELEASE}").exists()
    # a harder kill leaves the work directory; the next fetch clears it
    (destination / ".partial-killed").mkdir()
    (destination / ".partial-killed" / "half.deb").write_bytes(b"x")
    found = kernel_image.ensure(ctx, FakeApt(policy=policy), RELEASE)
    assert found.source == "downloaded"
    assert sorted(os.listdir(destination)) == [f"config-{RELEASE}", f"vmlinuz-{RELEASE}"]


def test_other_distributions_get_the_steps_by_hand(tmp_path: Path) -> None:
    ctx = ctx_in(tmp_path, package_manager="dnf")
    release = "6.11.4-301.fc41.x86_64"
    with pytest.raises(KernelImageError) as raised:
        kernel_image.ensure(ctx, FakeApt(), release)
    assert str(raised.value) == (
        f"no image of kernel {release} in /boot, and kdoctor fetches images only with apt"
    )
    destination = tmp_path / "cache" / "kernels" / release
    assert raised.value.remediation == Remediation(
        f"Get the bootable image (vmlinuz) of kernel {release} from its package without "
        f"installing it, and put it at {destination}/vmlinuz-{release}; then rerun.",
        (
            f"dnf download kernel-core-{release}",
            f"rpm2cpio kernel-core-{release}.rpm | cpio -idm ./lib/modules/{release}/vmlinuz",
            f"mkdir -p {destination} && mv lib/modules/{release}/vmlinuz "
            f"{destination}/vmlinuz-{release}",
        ),
    )


def test_missing_dpkg_tools_are_named(tmp_path: Path) -> None:
    system = FakeSystem(programs={"apt-get": "/usr/bin/apt-get"})
    with pytest.raises(KernelImageError, match="apt-cache, dpkg-deb not found"):
        kernel_image.ensure(ctx_in(tmp_path), system, RELEASE)
