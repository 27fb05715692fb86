from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Optional, Union

import pytest

from kdoctor.knowledge.packages import image_package_names
from kdoctor.model.cache_layout import cached_image
from kdoctor.model.context import Context
from kdoctor.model.finding import Remediation
from kdoctor.pipeline.kernels import image as kernel_image
from kdoctor.pipeline.kernels.cache import image_damage
from kdoctor.pipeline.kernels.image import KernelImage, KernelImageError
from tests.conftest import make_context
from tests.fake_system import FakeSystem, Reply, apt_unknown

RELEASE = "6.1.0-56-amd64"
PROGRAMS = {
    "apt-get": "/usr/bin/apt-get",
    "apt-cache": "/usr/bin/apt-cache",
    "dpkg-deb": "/usr/bin/dpkg-deb",
}
KNOWN = "linux-image-6.1.0-56-amd64:\n  Installed: (none)\n  Candidate: 6.1.192-2\n"
NO_CANDIDATE = "linux-image-6.1.0-56-amd64:\n  Installed: (none)\n  Candidate: (none)\n"
UNSIGNED = "linux-image-6.1.0-56-amd64-unsigned:\n  Installed: (none)\n  Candidate: 6.1.192-2\n"


def FakeApt(
    *,
    policy: Optional[Mapping[str, str]] = None,
    download: Optional[Reply] = None,
    image_name: str = f"vmlinuz-{RELEASE}",
    interrupt_unpack: bool = False,
    files: Optional[Mapping[str, str]] = None,
) -> FakeSystem:
    """apt-get download drops a .deb into its cwd; dpkg-deb -x unpacks a pretend image (if
    they are run at all)."""
    commands = {f"apt-cache policy {name}": text for name, text in (policy or {}).items()}
    system = FakeSystem(programs=PROGRAMS, commands=commands, files=files)
    downloaded = download or Reply()

    def apt_get(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        assert argv[1] == "download"
        if downloaded.exit_code == 0:
            assert cwd is not None
            system.files[f"{cwd}/{argv[2]}_6.1.192-2_amd64.deb"] = b"!<arch>\n"
        return downloaded

    def dpkg_deb(argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        assert argv[1] == "-x"
        if interrupt_unpack:
            raise KeyboardInterrupt
        system.files[f"{argv[3]}/boot/{image_name}"] = b"MZ kernel"
        system.files[f"{argv[3]}/boot/config-{RELEASE}"] = "CONFIG_MODULES=y\n"
        system.makedirs(f"{argv[3]}/lib/modules/{RELEASE}")
        return Reply()

    system.maybe_handlers.update({"apt-get": apt_get, "dpkg-deb": dpkg_deb})
    return system


CACHE = "/home/me/.cache/kdoctor"


def ctx_in(**overrides: object) -> Context:
    return make_context(cache_dir=CACHE, **overrides)


def cwds(system: FakeSystem) -> list[Optional[str]]:
    """Where each mutating command ran."""
    return [p.cwd for p in system.probes() if p.argv[0] in ("apt-get", "dpkg-deb")]


def nothing_under_boot(system: FakeSystem) -> None:
    for argv, cwd in zip(system.runs, cwds(system)):
        assert not any(word.startswith("/boot") for word in argv), argv
        assert not (cwd or "").startswith("/boot"), cwd
    assert not any(path.startswith("/boot") for path, _ in system.writes)


def test_image_in_boot_is_used_as_is() -> None:
    system = FakeApt(files={f"/boot/vmlinuz-{RELEASE}": ""})
    found = kernel_image.ensure(ctx_in(), system, RELEASE)
    assert found == KernelImage(f"/boot/vmlinuz-{RELEASE}", "boot")
    assert system.runs == [] and system.calls == []


def test_image_in_lib_modules_is_used_as_is() -> None:
    system = FakeApt(files={f"/lib/modules/{RELEASE}/vmlinuz": ""})
    assert kernel_image.ensure(ctx_in(), system, RELEASE) == KernelImage(
        f"/lib/modules/{RELEASE}/vmlinuz", "modules"
    )


def test_image_fetched_before_is_reused() -> None:
    ctx = ctx_in()
    cached = cached_image(ctx.cache_dir, RELEASE)
    system = FakeApt(files={cached: "MZ"})
    assert kernel_image.ensure(ctx, system, RELEASE) == KernelImage(cached, "cache")
    assert system.runs == [] and system.writes == []


def test_fetch_downloads_unpacks_and_moves_only_the_image_into_the_cache() -> None:
    ctx = ctx_in()
    system = FakeApt(policy={f"linux-image-{RELEASE}": KNOWN})
    steps: list[str] = []
    found = kernel_image.ensure(ctx, system, RELEASE, steps.append)
    destination = f"{CACHE}/kernels/{RELEASE}"
    assert found == KernelImage(
        f"{destination}/vmlinuz-{RELEASE}", "downloaded", f"linux-image-{RELEASE}"
    )
    assert system.read_bytes(f"{destination}/vmlinuz-{RELEASE}") == b"MZ kernel"
    # the config and the image's checksum come along; the .deb, the modules and the work
    # directory do not; the image was locked throughout
    assert system.listdir(destination) == [
        f"config-{RELEASE}",
        f"vmlinuz-{RELEASE}",
        f"vmlinuz-{RELEASE}.sha256",
    ]
    digest = hashlib.sha256(b"MZ kernel").hexdigest()
    assert system.read_text(f"{destination}/vmlinuz-{RELEASE}.sha256") == f"{digest}  {RELEASE}\n"
    assert system.locked == [f"{destination}/vmlinuz-{RELEASE}"] and system.held == set()
    assert system.calls == [("apt-cache", "policy", f"linux-image-{RELEASE}")]
    work = cwds(system)[0]
    assert work is not None and os.path.dirname(work) == destination
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


def test_fetch_falls_back_to_debians_unsigned_package() -> None:
    system = FakeApt(
        policy={f"linux-image-{RELEASE}": NO_CANDIDATE, f"linux-image-{RELEASE}-unsigned": UNSIGNED}
    )
    found = kernel_image.ensure(ctx_in(), system, RELEASE)
    assert found.package == f"linux-image-{RELEASE}-unsigned"
    assert system.runs[0] == ("apt-get", "download", f"linux-image-{RELEASE}-unsigned")


def test_a_package_named_differently_inside_is_still_found() -> None:
    system = FakeApt(policy={f"linux-image-{RELEASE}": KNOWN}, image_name="vmlinuz-6.1.0-56")
    found = kernel_image.ensure(ctx_in(), system, RELEASE)
    assert os.path.basename(found.path) == f"vmlinuz-{RELEASE}"


def test_unknown_release_names_the_packages_and_next_step() -> None:
    system = FakeApt()  # apt-cache policy prints nothing for unknown names
    system.commands.update(apt_unknown(*image_package_names("apt", "6.18.44-fc-v782")))
    with pytest.raises(KernelImageError) as raised:
        kernel_image.ensure(ctx_in(), system, "6.18.44-fc-v782")
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


def test_network_failure_names_the_package_and_leaves_nothing_behind() -> None:
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
    ctx = ctx_in()
    system = FakeApt(policy={f"linux-image-{RELEASE}": KNOWN}, download=failed)
    with pytest.raises(KernelImageError) as raised:
        kernel_image.ensure(ctx, system, RELEASE)
    assert str(raised.value).startswith(
        f"could not download linux-image-{RELEASE}: apt-get exited with status 100: E: Failed "
        "to fetch"
    )
    destination = f"{CACHE}/kernels/{RELEASE}"
    assert raised.value.remediation.commands[0] == (
        f"cd {destination} && apt-get download linux-image-{RELEASE}"
    )
    assert system.listdir(destination) == []


def test_interrupted_unpack_leaves_no_image_and_a_rerun_finishes() -> None:
    ctx = ctx_in()
    policy = {f"linux-image-{RELEASE}": KNOWN}
    interrupted = FakeApt(policy=policy, interrupt_unpack=True)
    with pytest.raises(KeyboardInterrupt):
        kernel_image.ensure(ctx, interrupted, RELEASE)
    destination = f"{CACHE}/kernels/{RELEASE}"
    assert not interrupted.exists(f"{destination}/vmlinuz-{RELEASE}")
    assert interrupted.listdir(destination) == []
    # a harder kill leaves the work directory; the next fetch clears it
    system = FakeApt(policy=policy, files={f"{destination}/.partial-killed/half.deb": "x"})
    found = kernel_image.ensure(ctx, system, RELEASE)
    assert found.source == "downloaded"
    assert system.listdir(destination) == [
        f"config-{RELEASE}",
        f"vmlinuz-{RELEASE}",
        f"vmlinuz-{RELEASE}.sha256",
    ]
    assert (f"{destination}/.partial-killed", "remove") in system.writes


def test_other_distributions_get_the_steps_by_hand() -> None:
    ctx = ctx_in(package_manager="dnf")
    release = "6.11.4-301.fc41.x86_64"
    with pytest.raises(KernelImageError) as raised:
        kernel_image.ensure(ctx, FakeApt(), release)
    assert str(raised.value) == (
        f"no image of kernel {release} in /boot, and kdoctor fetches images only with apt"
    )
    destination = f"{CACHE}/kernels/{release}"
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


def test_missing_dpkg_tools_are_named() -> None:
    system = FakeSystem(programs={"apt-get": "/usr/bin/apt-get"})
    with pytest.raises(KernelImageError, match="apt-cache, dpkg-deb not found"):
        kernel_image.ensure(ctx_in(), system, RELEASE)


@pytest.mark.parametrize(
    ("image", "recorded", "fetched_again"),
    [
        (b"MZ kernel", hashlib.sha256(b"MZ kernel").hexdigest(), False),  # intact
        (b"MZ ker", hashlib.sha256(b"MZ kernel").hexdigest(), True),  # truncated
        (b"MZ kernex", hashlib.sha256(b"MZ kernel").hexdigest(), True),  # altered
        (b"", None, True),  # empty
        (b"MZ by hand", None, False),  # placed by hand: no checksum, trusted
    ],
)
def test_a_damaged_cached_image_is_fetched_again(
    image: bytes, recorded: Optional[str], fetched_again: bool
) -> None:
    ctx = ctx_in()
    cached = cached_image(ctx.cache_dir, RELEASE)
    files: dict[str, Union[str, bytes]] = {cached: image}
    if recorded:
        files[cached + ".sha256"] = f"{recorded}  {RELEASE}\n"
    policy = {f"linux-image-{RELEASE}": KNOWN} if fetched_again else None
    system = FakeApt(policy=policy, files=files)
    steps: list[str] = []
    found = kernel_image.ensure(ctx, system, RELEASE, steps.append)
    assert found.source == ("downloaded" if fetched_again else "cache")
    assert any("is damaged" in s for s in steps) == fetched_again
    if fetched_again:
        assert system.read_bytes(cached) == b"MZ kernel"
        assert image_damage(system, cached) is None
