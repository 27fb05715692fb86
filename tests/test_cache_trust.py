"""Where kdoctor checks ownership before it uses its cache or settings (strict fakes): the
settings file, kept probe answers, the kernel tree used as KDIR, kdoctor's cargo home, what a
build uses, the KVM device a user is not let in to, and a check meeting an untrusted place."""

from __future__ import annotations

import pytest

from kdoctor.checks.base import Check
from kdoctor.checks.kernel_headers import KernelHeadersCheck
from kdoctor.facts import Facts
from kdoctor.facts.cache_trust import build_distrust, kernel_tree_distrust, refuse_build
from kdoctor.machine import settings
from kdoctor.machine.probe_cache import ProbeCache
from kdoctor.machine.trust import UntrustedPlace
from kdoctor.model import cache_layout as layout
from kdoctor.model.finding import Finding, Status
from kdoctor.model.need import ByHand
from kdoctor.pipeline.diagnose import run_checks
from kdoctor.pipeline.kernels import archive as ka
from kdoctor.pipeline.verify import accel
from tests.conftest import make_context
from tests.fake_system import FakeSystem

CACHE = "/var/cache/kdoctor"
R = "6.1.0-98-test"
KDIR = layout.kdir_of(CACHE, R)
OTHER = (1001, 0o755)


def test_a_settings_file_others_could_change_is_refused_by_name() -> None:
    path = "/etc/kdoctor/env"
    for owner, reason in (((0, 0o666), "every user may write"), ((1001, 0o644), "user 1001")):
        system = FakeSystem(files={path: "export CC=gcc\n"}, owners={path: owner})
        with pytest.raises(UntrustedPlace) as caught:
            settings.load(path, system)
        assert caught.value.path == path and reason in caught.value.reason
        assert "KDOCTOR_CONFIG" in str(caught.value)
    directory = FakeSystem(files={path: "export CC=gcc\n"}, owners={"/etc/kdoctor": (0, 0o777)})
    with pytest.raises(UntrustedPlace):
        settings.load(path, directory)
    mine = FakeSystem(uid=1000, files={path: "export CC=gcc\n"}, owners={path: (0, 0o644)})
    assert settings.load(path, mine) == {"CC": "gcc"}  # root's, read by a user: trusted


def test_a_kept_probe_answer_of_another_user_is_refused_not_believed() -> None:
    system = FakeSystem(programs={"bindgen": "/usr/bin/bindgen"}, commands={"bindgen x": "fresh"})
    cache = ProbeCache(f"{CACHE}/probes", root=CACHE)
    assert cache.ask(system, ["bindgen", "x"], timeout=5).stdout == "fresh"
    (entry,) = [p for p, kind in system.writes if kind == "write"]
    system.owners[entry] = OTHER
    with pytest.raises(UntrustedPlace) as caught:
        cache.ask(system, ["bindgen", "x"], timeout=5)
    assert caught.value.path == entry
    assert system.calls == [("bindgen", "x")]  # not asked again either: the run ends


def test_a_kernel_tree_is_judged_down_to_kdir_and_beside_it() -> None:
    common = f"{layout.tree_dir(CACHE, R)}/usr/src/linux-headers-{R[:-5]}-common"
    system = FakeSystem(files={f"{KDIR}/Makefile": "", f"{common}/Makefile": ""})
    assert kernel_tree_distrust(system, CACHE, KDIR) is None
    assert kernel_tree_distrust(system, CACHE, "/lib/modules/6.1/build") is None  # a package's
    system.owners[common] = OTHER  # the headers' Makefile includes the common tree
    found = kernel_tree_distrust(system, CACHE, KDIR)
    assert found is not None and found.path == common
    system.owners = {f"{KDIR}/Makefile": (0, 0o664)}
    found = kernel_tree_distrust(system, CACHE, KDIR)
    assert found is not None and found.path == f"{KDIR}/Makefile"


def test_the_kernel_headers_check_fails_on_a_tree_of_another_user_by_hand() -> None:
    system = FakeSystem(
        files={f"{KDIR}/Makefile": ""}, owners={layout.release_dir(CACHE, R): OTHER}
    )
    ctx = make_context(cache_dir=CACHE, kdir=KDIR, target_kernel=R, target_source="KDIR")
    finding = KernelHeadersCheck().run(Facts(ctx, system))
    assert finding.status is Status.FAIL
    assert finding.summary.startswith(f"kdoctor will not use {layout.release_dir(CACHE, R)}: ")
    assert [type(n) for n in finding.needs] == [ByHand]
    assert finding.facts["untrusted"] == layout.release_dir(CACHE, R)
    assert system.calls == []  # nothing in it was run or asked


@pytest.mark.parametrize(
    ("place", "tree_file"),
    [
        (layout.cargo_home(CACHE), "config.toml"),
        (layout.rust_sysroot_dir(CACHE), "abc/lib/libcore.rlib"),
        (layout.module_copy(CACHE, "hello"), "Kbuild"),
        (layout.logs_dir(CACHE), None),
    ],
)
def test_what_a_build_uses_from_the_cache_is_judged(place: str, tree_file: str) -> None:
    path = f"{place}/{tree_file}" if tree_file else place
    files = {f"{place}/{tree_file}": ""} if tree_file else {}
    system = FakeSystem(files=files, dirs={place: []})
    ctx = make_context(cache_dir=CACHE, env={"CARGO_HOME": layout.cargo_home(CACHE)})
    copy = layout.module_copy(CACHE, "hello")
    assert build_distrust(ctx, system, copy) is None
    system.owners[path] = (0, 0o646) if tree_file else OTHER
    found = build_distrust(ctx, system, copy)
    assert found is not None and found.path == path
    with pytest.raises(UntrustedPlace):
        refuse_build(ctx, system, copy)
    assert system.runs == [] and system.writes == []


def test_a_persons_own_cargo_home_is_theirs_to_judge() -> None:
    home = "/home/u/.cargo"
    system = FakeSystem(files={f"{home}/config.toml": ""}, owners={home: (0, 0o777)})
    ctx = make_context(cache_dir=CACHE, env={"CARGO_HOME": home})
    assert build_distrust(ctx, system, None) is None


def test_a_kvm_device_closed_to_this_user_plans_tcg_and_names_its_group() -> None:
    system = FakeSystem(
        files={"/dev/kvm": ""},
        readonly=["/dev/kvm"],
        owners={"/dev/kvm": (0, 0o660, "kvm")},
        env={"PATH": "/usr/bin", "USER": "ada"},
    )
    plan = accel.plan_accel("auto", system, CACHE, "6.1")
    assert plan.order == ("tcg",)
    assert plan.note == (
        "/dev/kvm is there but not open to you: it belongs to group kvm; join it with "
        "`sudo usermod -aG kvm ada` and log in again: emulating with TCG"
    )
    assert accel.plan_accel("kvm", system, CACHE, "6.1").order == ("kvm",)  # asked: tried


def test_a_kvm_record_others_could_change_is_refused_and_never_written() -> None:
    path = layout.kvm_verdicts(CACHE)
    system = FakeSystem(files={path: '{"6.1": {"works": true}}'}, owners={path: (0, 0o666)})
    with pytest.raises(UntrustedPlace):
        accel.kvm_verdict(system, CACHE, "6.1")
    accel.remember_kvm(system, CACHE, "6.1", False, "hung")
    assert system.writes == []


def test_a_check_meeting_an_untrusted_place_ends_the_run_instead_of_an_error_finding() -> None:
    class Planted(Check):
        id = "planted"
        title = "planted"

        def run(self, facts: Facts) -> Finding:
            settings.load("/etc/kdoctor/env", facts.system)
            return self.ok("read")

    system = FakeSystem(files={"/etc/kdoctor/env": ""}, owners={"/etc/kdoctor/env": OTHER})
    with pytest.raises(UntrustedPlace):
        run_checks([Planted()], Facts(make_context(), system))


def test_a_private_apt_configuration_trusts_apt_s_own_sandbox_directories() -> None:
    """apt hands its download directories (partial, auxfiles) to its sandbox user _apt: they
    are apt's, not another person's; apt's configuration is judged file by file."""
    base = layout.apt_dir("/root/.cache/kdoctor", "bookworm")
    archive = ka.archive_for("/root/.cache/kdoctor", "bookworm")
    files = {
        f"{base}/apt.conf": "",
        f"{base}/etc/sources.list": "",
        f"{base}/state/lists/auxfiles/x": "",
        f"{base}/state/lists/partial/y": "",
    }
    sandbox = {
        f"{base}/state/lists/auxfiles": (42, 0o700),
        f"{base}/state/lists/partial": (42, 0o700),
    }
    ka.trusted(FakeSystem(uid=0, files=files, owners=sandbox), archive)  # nothing refused
    planted = {**sandbox, f"{base}/etc/sources.list": (1000, 0o644)}
    with pytest.raises(UntrustedPlace, match=r"sources\.list"):
        ka.trusted(FakeSystem(uid=0, files=files, owners=planted), archive)
