from __future__ import annotations

from typing import Optional

from kdoctor.checks.vm import VmCheck
from kdoctor.facts.images import is_static_elf
from kdoctor.facts.loading import PROC_MODULES
from kdoctor.knowledge.packages import kernel_package_names
from kdoctor.model.finding import Finding, Remediation, Status
from kdoctor.pipeline.planner import fix_of
from tests.conftest import elf_binary, make_context, run_check
from tests.fake_system import FakeSystem, Reply

QEMU = "/usr/bin/qemu-system-x86_64"
BUSYBOX = "/usr/bin/busybox"
BOOT = "/boot/vmlinuz-6.1.0-56-amd64"
CACHED = "/root/.cache/kdoctor/kernels/6.1.0-56-amd64/vmlinuz"
BANNER = "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022\n"
KVM_TEST = "test -r /dev/kvm -a -w /dev/kvm"


def machine(
    *,
    qemu: bool = True,
    busybox: str = "static",
    kvm: Optional[bool] = True,
    image: Optional[str] = BOOT,
    image_policy: Optional[str] = None,
    loads_modules: bool = True,
    ldd: bool = True,
) -> FakeSystem:
    """Everything verify --vm needs; each keyword takes one piece away."""
    programs = {"test": "/usr/bin/test", "apt-cache": "/usr/bin/apt-cache"}
    commands: dict[str, object] = {}
    files: dict[str, object] = {}
    if qemu:
        programs["qemu-system-x86_64"] = QEMU
        commands[f"{QEMU} --version"] = BANNER
    if busybox != "none":
        programs["busybox"] = BUSYBOX
        files[BUSYBOX] = elf_binary(interp=busybox == "dynamic")
    if ldd:
        programs["ldd"] = "/usr/bin/ldd"
    if kvm is not None:
        files["/dev/kvm"] = ""
        commands[KVM_TEST] = Reply(exit_code=0 if kvm else 1)
    if image is not None:
        files[image] = "bzImage"
    if image_policy is not None:
        commands["apt-cache policy linux-image-6.1.0-56-amd64"] = image_policy
    if loads_modules:
        files[PROC_MODULES] = ""
        files["/proc/sys/kernel/modules_disabled"] = "0\n"
        files["/sys/module/module/parameters/sig_enforce"] = "N\n"
    return FakeSystem(
        programs=programs,
        commands=commands,  # type: ignore[arg-type]
        files=files,  # type: ignore[arg-type]
        owners={"/dev/kvm": (0, 0o660, "kvm")},
        env={"PATH": "/usr/bin:/bin", "USER": "ada"},
    )


def run(system: FakeSystem, **ctx: object) -> Finding:
    return run_check(VmCheck(), make_context(**ctx), system)


def test_everything_present_passes_with_every_fact() -> None:
    assert run(machine()) == Finding(
        id="vm",
        status=Status.OK,
        summary="qemu 7.2.22, KVM (verify falls back to TCG if nested KVM fails), static busybox, "
        f"kernel image {BOOT}",
        found=QEMU,
        facts={
            "qemu": QEMU,
            "qemu_version": "7.2.22",
            "kvm": True,
            "accel": "kvm",
            "busybox": BUSYBOX,
            "busybox_static": True,
            "image": BOOT,
            "image_package": "linux-image-6.1.0-56-amd64",
            "image_package_known": None,
            "image_source": "boot",
            "missing": [],
            "host_can_load": True,
        },
    )


def test_cached_image_is_used_when_boot_has_none() -> None:
    finding = run(machine(image=CACHED))
    assert finding.status is Status.OK
    assert finding.facts["image"] == CACHED
    assert finding.facts["image_source"] == "cache"


def test_packaged_image_counts_because_verify_downloads_it() -> None:
    policy = "linux-image-6.1.0-56-amd64:\n  Installed: (none)\n  Candidate: 6.1.192-2\n"
    finding = run(machine(image=None, image_policy=policy))
    assert finding.status is Status.OK
    assert finding.summary.endswith(
        "kernel image linux-image-6.1.0-56-amd64 (verify downloads it into the cache)"
    )
    assert finding.facts["image"] is None
    assert finding.facts["image_source"] == "package"
    assert finding.facts["image_package_known"] is True


def test_without_kvm_the_vm_runs_under_tcg() -> None:
    finding = run(machine(kvm=None))
    assert finding.status is Status.OK
    assert "TCG (software emulation; /dev/kvm missing)" in finding.summary
    assert finding.facts["kvm"] is False
    assert finding.facts["accel"] == "tcg"
    finding = run(machine(kvm=False))
    assert (
        "TCG (software emulation; /dev/kvm not accessible: join group kvm with "
        "`sudo usermod -aG kvm ada`, then log in again)"
    ) in finding.summary
    assert finding.facts["kvm_group"] == "kvm"


def test_a_cached_image_another_user_could_change_is_refused_by_name() -> None:
    system = machine(image=CACHED)
    system.owners[CACHED] = (1001, 0o644)
    finding = run(system, is_root=False)
    assert finding.status is Status.FAIL
    assert finding.summary == (
        f"kdoctor will not use {CACHED}: it belongs to user 1001, not to you or root: they "
        "could change what kdoctor runs or believes"
    )
    assert finding.remediation is not None
    assert finding.remediation.commands == (f"rm -rf -- {CACHED}",)
    assert fix_of(finding) is None  # by hand: kdoctor never removes what another user owns
    assert finding.facts["untrusted"] == CACHED


def test_missing_qemu_warns_when_the_host_can_load_modules() -> None:
    finding = run(machine(qemu=False), is_root=False)
    assert finding.status is Status.WARN
    assert finding.required is False
    assert finding.summary == "cannot test in a VM: qemu-system-x86_64 is not installed"
    assert fix_of(finding) == "packages"
    assert finding.remediation == Remediation(
        "Install the missing packages.",
        ("sudo apt-get install -y --no-install-recommends qemu-system-x86",),
    )
    assert finding.facts["missing"] == ["qemu"]
    assert finding.facts["qemu"] is None


def test_dynamic_busybox_is_not_enough_for_the_initramfs() -> None:
    finding = run(machine(busybox="dynamic"))
    assert finding.status is Status.WARN
    assert finding.summary == (
        f"cannot test in a VM: {BUSYBOX} is dynamically linked (the initramfs needs a static one)"
    )
    assert finding.facts["busybox_static"] is False
    assert finding.facts["missing"] == ["busybox"]
    assert finding.remediation is not None
    assert finding.remediation.commands == (
        "apt-get install -y --no-install-recommends busybox-static",
    )


def test_no_image_anywhere_fails_when_the_host_cannot_load_modules() -> None:
    fc = "6.18.44-fc-v782"
    system = machine(image=None, loads_modules=False)
    for name in (f"linux-image-{fc}", f"linux-image-{fc}-unsigned", f"linux-image-unsigned-{fc}"):
        system.commands[f"apt-cache policy {name}"] = ""
    finding = run(system, running_kernel=fc, target_kernel=fc, kdir=f"/lib/modules/{fc}/build")
    assert finding.status is Status.FAIL
    assert finding.required is True
    assert finding.summary == (
        f"cannot test in a VM: no /boot/vmlinuz-{fc} or cached image, and apt knows no package "
        f"linux-image-{fc} — and this host cannot load modules, so a VM is the only test"
    )
    assert fix_of(finding) is None  # no package ships an image: nothing kdoctor fix can fetch
    assert finding.remediation == Remediation(
        "Target a kernel your distribution packages an image for; verify downloads that image "
        f"into kdoctor's cache (nothing is installed into /boot). Or copy an image of {fc} to "
        f"/root/.cache/kdoctor/kernels/{fc}/vmlinuz-{fc}.",
        ("kdoctor fix   # targets the stock kernel and fetches its image",),
    )
    # an explicit target is never switched: kdoctor fix cannot help, so it is not offered
    explicit = run(system, running_kernel=fc, target_kernel=fc, target_source="--kernel")
    assert explicit.remediation is not None and explicit.remediation.commands == ()
    assert finding.facts["image_source"] is None
    assert finding.facts["image_package_known"] is False
    assert finding.facts["host_can_load"] is False


def test_several_gaps_list_packages_first() -> None:
    system = machine(qemu=False, busybox="none", image=None)
    query = " ".join(("apt-cache", "policy", *kernel_package_names("apt", "6.1.0-56-amd64")))
    system.commands[query] = Reply(stderr="E: The package cache file is corrupted\n", exit_code=100)
    finding = run(system, is_root=True)
    assert finding.status is Status.WARN
    assert finding.summary == (
        "cannot test in a VM: qemu-system-x86_64 is not installed; busybox is not installed; "
        "no /boot/vmlinuz-6.1.0-56-amd64 or cached image, and apt could not be asked about "
        "linux-image-6.1.0-56-amd64"
    )
    assert fix_of(finding) == "packages"
    assert finding.remediation is not None
    assert finding.remediation.commands == (
        "apt-get install -y --no-install-recommends qemu-system-x86 busybox-static",
        "kdoctor fix   # targets the stock kernel and fetches its image",
    )


def test_unsigned_image_package_is_accepted_too() -> None:
    policy = "linux-image-6.1.0-56-amd64-unsigned:\n  Installed: (none)\n  Candidate: 6.1.192-2\n"
    system = machine(image=None, image_policy="")
    system.commands["apt-cache policy linux-image-6.1.0-56-amd64-unsigned"] = policy
    finding = run(system)
    assert finding.status is Status.OK
    assert finding.facts["image_package"] == "linux-image-6.1.0-56-amd64-unsigned"
    assert finding.facts["image_source"] == "package"


def test_image_under_lib_modules_and_cache_names_are_found() -> None:
    modules = "/lib/modules/6.1.0-56-amd64/vmlinuz"
    assert run(machine(image=modules)).facts["image_source"] == "boot"
    named = "/root/.cache/kdoctor/kernels/6.1.0-56-amd64/vmlinuz-6.1.0-56-amd64"
    finding = run(machine(image=named))
    assert (finding.facts["image"], finding.facts["image_source"]) == (named, "cache")


def test_static_busybox_elsewhere_wins_over_a_dynamic_one_on_path() -> None:
    system = machine(busybox="dynamic")
    system.programs["initramfs-busybox"] = "/usr/lib/initramfs-tools/bin/busybox"
    system.files["/usr/lib/initramfs-tools/bin/busybox"] = elf_binary(interp=False)
    finding = run(system)
    assert finding.status is Status.OK
    assert finding.facts["busybox"] == "/usr/lib/initramfs-tools/bin/busybox"
    assert finding.facts["busybox_static"] is True


def test_static_detection_reads_the_elf_interpreter_without_running_anything() -> None:
    system = machine(ldd=False, qemu=False, kvm=None)  # nothing scripted: asking fails
    assert is_static_elf(system, BUSYBOX) is True
    assert (
        is_static_elf(machine(ldd=False, qemu=False, kvm=None, busybox="dynamic"), BUSYBOX) is False
    )
    assert system.calls == []
