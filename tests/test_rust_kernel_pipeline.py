"""Making a toolchain root (debootstrap, then apt inside it) and a Rust-enabled kernel in it
(unpack linux-source, configure, build, record) on a fake machine whose ``unshare`` and ``tar``
do what the real ones would to its files: the order of the stages, what each is given, how an
interrupted or damaged one resumes, and what stops it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

import pytest

from kdoctor.knowledge import rust_kernels as rk
from kdoctor.knowledge.debian_releases import MIRROR
from kdoctor.knowledge.kernel_config import parse_config
from kdoctor.model.cache_layout import (
    PARTIAL,
    rust_kernel_dir,
    rust_kernel_image,
    rust_kernel_log,
    rust_kernel_record,
    rust_kernel_tree,
    toolchain_root,
    toolchain_root_record,
    toolchain_roots_dir,
)
from kdoctor.pipeline.kernels import rust_kernel
from kdoctor.pipeline.kernels import toolchain_root as roots
from kdoctor.pipeline.kernels.archive import ArchiveError
from tests.fake_files import FileData
from tests.fake_system import FakeSystem, Reply

CACHE = "/kdoctor-tests-nowhere/cache"
TRIXIE = toolchain_root(CACHE, rk.TRIXIE.name)
BACKPORTS = toolchain_root(CACHE, rk.TRIXIE_BACKPORTS.name)
RUSTC = "1.85.1+dfsg1-1"
TREE = rust_kernel_tree(CACHE, "6.12")
IMAGE = rust_kernel_image(CACHE, "6.12")
RELEASE = "6.12.118-kdoctor-rust"


def dpkg_status(rustc: str = RUSTC) -> str:
    versions = {
        "rustc": rustc,
        "rust-src": rustc,
        "bindgen": "0.71.1-4",
        "libclang-dev": "1:19.0-63",
        "gcc": "4:14.2.0-1",
    }
    return "\n".join(
        f"Package: {p}\nStatus: install ok installed\nVersion: {v}\n" for p, v in versions.items()
    )


def made_root(path: str = TRIXIE, name: str = rk.TRIXIE.name) -> dict[str, FileData]:
    """The files of a complete toolchain root and its record."""
    return {
        f"{path}/usr/bin/apt-get": b"",
        f"{path}/usr/bin/rustc": b"",
        f"{path}/{rk.DPKG_STATUS}": dpkg_status(),
        toolchain_root_record(CACHE, name): json.dumps({"versions": {"rustc": RUSTC}}),
    }


@dataclass(frozen=True)
class Entered:
    """What one command run in a root was given (see kdoctor.knowledge.chroot)."""

    root: str
    binds: tuple[str, ...]
    cwd: str
    env: dict[str, str]
    command: tuple[str, ...]
    as_root: bool


def entered(argv: tuple[str, ...]) -> Entered:
    i = argv.index("kdoctor-root")
    root, count = argv[i + 1], int(argv[i + 2])
    binds, rest = argv[i + 3 : i + 3 + count], argv[i + 3 + count :]
    assert rest[:3] == ("env", "-i", "-C")
    words = list(rest[4:])
    env: dict[str, str] = {}
    while words and "=" in words[0] and words[0].split("=")[0].isupper():
        key, _sep, value = words.pop(0).partition("=")
        env[key] = value
    return Entered(root, binds, rest[3], env, tuple(words), "--map-root-user" not in argv)


def write_config(values: Mapping[str, str]) -> str:
    return "".join(f"{k}={v}\n" if v else f"# {k} is not set\n" for k, v in values.items())


#: what debootstrap and apt print as they download (their own words, shortened)
DEBOOTSTRAP_SAYS = (
    "I: Retrieving InRelease \nI: Checking Release signature\n"
    "I: Retrieving libacl1 2.3.2-2\nI: Validating libacl1 2.3.2-2\n"
    "I: Retrieving zlib1g 1:1.3.dfsg-3.1\nI: Extracting libacl1...\n"
)
APT_SAYS = (
    "Get:1 http://deb.debian.org/debian trixie/main amd64 rustc amd64 1.85.0+dfsg3-1 [3,512 kB]\n"
    "Get:2 http://deb.debian.org/debian trixie/main amd64 bindgen amd64 0.71.1-4 [1.2 MB]\n"
    "Fetched 4,712 kB in 1s (4,712 kB/s)\nSetting up rustc (1.85.0+dfsg3-1) ...\n"
)


class Machine(FakeSystem):
    """unshare runs debootstrap, or a command in a root (apt, make, scripts/config) that changes
    the fake's files as the real one would; each run is one entry of ``stages``. ``fail`` names
    the stage that fails; olddefconfig drops the options in ``drops`` and turns on ``selects``;
    ``sources`` is what the root's package lists know."""

    def __init__(
        self,
        *,
        files: Optional[dict[str, FileData]] = None,
        uid: int = 0,
        fail: str = "",
        drops: tuple[str, ...] = (),
        selects: tuple[str, ...] = (),
        sources: str = "linux-source-6.12\n",
        debootstrap: bool = True,
    ) -> None:
        programs = {"unshare": "/usr/bin/unshare", "tar": "/usr/bin/tar"}
        if debootstrap:
            programs["debootstrap"] = "/usr/sbin/debootstrap"
        super().__init__(
            files=files,
            uid=uid,
            programs=programs,
            maybe_handlers={"unshare": self._unshare, "tar": self._tar},
        )
        self.stages: list[str] = []
        self.inside: list[Entered] = []
        self.fail, self.drops, self.selects, self.sources = fail, drops, selects, sources

    def _answer_of(self, stage: str, stdout: str = "") -> Reply:
        self.stages.append(stage)
        if stage == self.fail:
            return Reply(stdout=f"{stdout}E: {stage} went wrong\n", exit_code=100)
        return Reply(stdout=stdout)

    def _tar(self, argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        assert argv[1] == "-xf" and argv[3] == "-C"
        if self.fail != "tar":
            package = os.path.basename(argv[2])[: -len(".tar.xz")]
            self.files[f"{argv[4]}/{package}/Makefile"] = "VERSION = 6\n"
        return self._answer_of("tar")

    def _unshare(self, argv: tuple[str, ...], cwd: Optional[str], env: Mapping[str, str]) -> Reply:
        if "debootstrap" in argv:
            assert argv[: argv.index("debootstrap")] == (
                "unshare", "--mount", "--fork", "--kill-child", "--"
            )  # fmt: skip
            assert argv[-1] == MIRROR and "--variant=minbase" in argv
            stage = f"debootstrap {argv[-3]}"
            if self.fail != stage:
                self.files[f"{argv[-2]}/usr/bin/apt-get"] = b""
            return self._answer_of(stage, DEBOOTSTRAP_SAYS)
        assert env == {}, "a command in a root gets only what in_root gives it"
        inside = entered(argv)
        self.inside.append(inside)
        command, root = inside.command, inside.root
        if command[0] == "apt-get" and "install" in command:
            packages = command[command.index("install") + 1 :]
            target = f" -t {command[command.index('-t') + 1]}" if "-t" in command else ""
            if "rustc" in packages:
                self.files[f"{root}/usr/bin/rustc"] = b""
                self.files[f"{root}/{rk.DPKG_STATUS}"] = dpkg_status()
                return self._answer_of(f"apt-get install{target} toolchain", APT_SAYS)
            for package in packages:
                self.files[f"{root}/usr/src/{package}.tar.xz"] = b"xz"
            return self._answer_of(f"apt-get install{target} {' '.join(packages)}")
        if command[0] == "apt-get":
            return self._answer_of(f"apt-get {command[-1]}")
        if command[:2] == ("apt-cache", "pkgnames"):
            return self._answer_of("apt-cache pkgnames", self.sources)
        if command[0].endswith("/scripts/config"):
            self._switch(command)
            return self._answer_of("scripts/config")
        if command[0] == "make":
            return self._make(command)
        return self._answer_of(" ".join(command))

    def _config(self, tree: str) -> dict[str, str]:
        values: dict[str, str] = {}
        for line in str(self.files.get(f"{tree}/.config", "")).splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key] = value
        return values

    def _switch(self, command: tuple[str, ...]) -> None:
        path = command[command.index("--file") + 1]
        values = self._config(os.path.dirname(path))
        words = list(command[3:])
        while words:
            how = words.pop(0)
            name = f"CONFIG_{words.pop(0)}"
            values[name] = {"--enable": "y", "--disable": ""}.get(how, "")
            if how == "--set-str":
                values[name] = f'"{words.pop(0)}"'
        self.files[path] = write_config(values)

    def _make(self, command: tuple[str, ...]) -> Reply:
        tree, goals = command[2], command[3:]
        stage = f"make {' '.join(goals)}"
        if self.fail == stage:
            return self._answer_of(stage)
        if goals == ("tinyconfig",):
            self.files[f"{tree}/.config"] = write_config({"CONFIG_64BIT": "y"})
        if goals == ("olddefconfig",):
            values = self._config(tree)
            values.update({f"CONFIG_{o}": "" for o in self.drops})
            values.update({f"CONFIG_{o}": "y" for o in self.selects})
            values["CONFIG_RUSTC_VERSION_TEXT"] = '"rustc 1.85.1 (4eb161250 2025-03-15)"'
            values["CONFIG_BINDGEN_VERSION_TEXT"] = '"bindgen 0.71.1"'
            values["CONFIG_CC_IS_GCC"] = "y"
            self.files[f"{tree}/.config"] = write_config(values)
        if "bzImage" in goals:
            self.files[f"{tree}/include/config/kernel.release"] = f"{RELEASE}\n"
            self.files[f"{tree}/arch/x86/boot/bzImage"] = b"MZ built"
            out = "  RUSTC   rust/core.o\n  LD      vmlinux\n  BUILD   arch/x86/boot/bzImage\n"
            return self._answer_of(stage, out)
        return self._answer_of(stage)


CONFIGURE = [
    "make rustavailable",
    "make tinyconfig",
    "scripts/config",
    "make olddefconfig",
]


# -- the toolchain root ---------------------------------------------------------------------------
def test_a_new_root_is_bootstrapped_then_the_toolchain_installed_and_recorded_last() -> None:
    leftover = f"{toolchain_roots_dir(CACHE)}/{PARTIAL}old"
    system = Machine(files={"/etc/resolv.conf": "nameserver 10.0.0.1\n", f"{leftover}/x": "x"})
    steps: list[str] = []
    got = roots.ensure(system, CACHE, rk.TRIXIE, steps.append)
    assert system.stages == [
        "debootstrap trixie",
        "dpkg --configure -a",
        "apt-get update",
        "apt-get install toolchain",
        "apt-get clean",
    ]
    assert got.path == TRIXIE and got.name == "trixie"
    assert got.versions == rk.dpkg_versions(dpkg_status(), rk.RECORDED) and got.versions
    record = json.loads(str(system.files[toolchain_root_record(CACHE, "trixie")]))
    assert record["versions"] == got.versions and record["suite"] == "trixie"
    assert system.writes[-1] == (toolchain_root_record(CACHE, "trixie"), "write")
    # debootstrap went to a work directory, moved into place with one rename, removed after
    assert (TRIXIE, "rename") in system.writes
    assert not any(PARTIAL in p for p in (*system.files, *system.dirs))
    sources = str(system.files[f"{TRIXIE}/etc/apt/sources.list"])
    assert " trixie main" in sources and "trixie-updates" in sources
    assert "trixie-security" in sources and "backports" not in sources
    assert system.files[f"{TRIXIE}/etc/resolv.conf"] == "nameserver 10.0.0.1\n"
    for inside in system.inside:  # as root: no user namespace; apt never asks
        assert inside.root == TRIXIE and inside.as_root and inside.binds == ()
        assert inside.env["DEBIAN_FRONTEND"] == "noninteractive"
    assert system.locked == [TRIXIE]
    assert any("debootstrap" in s for s in steps) and any("installing" in s for s in steps)
    # each file downloaded is told, one step each, in the order the tools printed them
    told = [s for s in steps if "retrieving" in s or s.startswith("downloading")]
    assert told == [
        "debootstrap: retrieving libacl1",
        "debootstrap: retrieving zlib1g",
        "downloading rustc (3.5 MB)",
        "downloading bindgen (1.2 MB)",
    ]


def test_the_backports_root_enables_them_and_installs_from_them() -> None:
    system = Machine()
    roots.ensure(system, CACHE, rk.TRIXIE_BACKPORTS)
    assert system.stages[0] == "debootstrap trixie"  # the same base suite
    assert "apt-get install -t trixie-backports toolchain" in system.stages
    assert " trixie-backports main" in str(system.files[f"{BACKPORTS}/etc/apt/sources.list"])


def test_a_root_without_its_record_but_with_apt_resumes_at_apt() -> None:
    system = Machine(files={f"{TRIXIE}/usr/bin/apt-get": b""})
    roots.ensure(system, CACHE, rk.TRIXIE)
    assert system.stages[0] == "dpkg --configure -a"  # an interrupted dpkg is finished first
    assert "debootstrap trixie" not in system.stages
    assert system.is_file(toolchain_root_record(CACHE, "trixie"))


def test_a_recorded_root_without_rustc_is_installed_again_not_bootstrapped() -> None:
    files = made_root()
    del files[f"{TRIXIE}/usr/bin/rustc"]
    system = Machine(files=files)
    roots.ensure(system, CACHE, rk.TRIXIE)
    assert system.stages[:2] == ["dpkg --configure -a", "apt-get update"]
    assert "debootstrap trixie" not in system.stages


def test_a_complete_root_is_returned_without_running_anything() -> None:
    system = Machine(files=made_root())
    got = roots.ensure(system, CACHE, rk.TRIXIE)
    assert got == roots.ToolchainRoot("trixie", TRIXIE, {"rustc": RUSTC})
    assert system.runs == [] and system.writes == []


def test_without_debootstrap_nothing_runs_and_the_remedy_installs_it() -> None:
    system = Machine(debootstrap=False)
    with pytest.raises(ArchiveError) as caught:
        roots.ensure(system, CACHE, rk.TRIXIE)
    assert "debootstrap is not installed" in str(caught.value)
    assert caught.value.remediation.commands == ("apt install debootstrap",)
    assert system.runs == []


def test_a_failed_debootstrap_leaves_no_root_and_no_work_directory() -> None:
    system = Machine(fail="debootstrap trixie")
    with pytest.raises(ArchiveError) as caught:
        roots.ensure(system, CACHE, rk.TRIXIE)
    assert "debootstrap of trixie failed" in str(caught.value)
    assert system.stages == ["debootstrap trixie"]
    assert not system.exists(TRIXIE)
    assert system.listdir(toolchain_roots_dir(CACHE)) == []


def test_a_failed_apt_stage_writes_no_record_and_the_next_run_resumes() -> None:
    system = Machine(fail="apt-get update")
    with pytest.raises(ArchiveError) as caught:
        roots.ensure(system, CACHE, rk.TRIXIE)
    assert "apt-get -q update in the toolchain root failed" in str(caught.value)
    assert system.stages[-1] == "apt-get update"
    assert not system.is_file(toolchain_root_record(CACHE, "trixie"))
    system.fail, system.stages = "", []
    roots.ensure(system, CACHE, rk.TRIXIE)
    assert system.stages[0] == "dpkg --configure -a"


def test_as_another_user_the_root_is_entered_in_a_user_namespace() -> None:
    system = Machine(uid=1000, files={f"{TRIXIE}/usr/bin/apt-get": b""})
    roots.ensure(system, CACHE, rk.TRIXIE)
    assert system.inside and not any(i.as_root for i in system.inside)


@pytest.mark.parametrize(
    ("where", "owner", "says", "command"),
    [
        ("root", (1001, 0o755), "belongs to user 1001", "rm -rf"),
        ("root", (0, 0o777), "every user may write to it", "chmod -R go-w"),
        ("roots", (0, 0o775), "members of group root may write", "chmod -R go-w"),
        ("cache", (1001, 0o755), "belongs to user 1001", "rm -rf"),
    ],
)
def test_a_root_others_can_change_is_never_entered(
    where: str, owner: tuple[int, int], says: str, command: str
) -> None:
    place = {"root": TRIXIE, "roots": toolchain_roots_dir(CACHE), "cache": CACHE}[where]
    system = Machine(uid=0, files={f"{TRIXIE}/usr/bin/apt-get": b""})
    system.owners[place] = owner
    with pytest.raises(ArchiveError) as caught:
        roots.ensure(system, CACHE, rk.TRIXIE)
    assert "others can change" in str(caught.value) and f"will not use {place}:" in str(
        caught.value
    )
    assert says in str(caught.value)
    assert caught.value.remediation.commands == (f"{command} -- {place}",)
    assert TRIXIE in caught.value.remediation.text
    assert system.runs == []


def test_a_root_of_root_is_entered_by_another_user() -> None:
    system = Machine(uid=1000, files={f"{TRIXIE}/usr/bin/apt-get": b""})
    system.owners[TRIXIE] = (0, 0o755)
    roots.ensure(system, CACHE, rk.TRIXIE)
    assert system.inside


# -- the kernel -------------------------------------------------------------------------------
def kernel_files(**extra: FileData) -> dict[str, FileData]:
    return {**made_root(), **extra}


def configured_config() -> str:
    return write_config({f"CONFIG_{o}": "y" for o in rk.ENABLE})


def test_a_new_kernel_is_unpacked_configured_built_and_recorded_in_that_order() -> None:
    system = Machine(files=kernel_files())
    steps: list[str] = []
    kernel = rust_kernel.ensure(system, CACHE, "6.12+rust", steps.append, jobs=2)
    assert system.stages == [
        "apt-get install linux-source-6.12",  # the source goes into the root, not the host
        "apt-get clean",
        "tar",
        *CONFIGURE,
        "make -j2 bzImage modules",
    ]
    assert (kernel.series, kernel.release, kernel.spec) == ("6.12", RELEASE, "6.12+rust")
    assert (kernel.kdir, kernel.image, kernel.root) == (TREE, IMAGE, TRIXIE)
    assert (kernel.rustc, kernel.bindgen, kernel.compiler) == ("1.85.1", "0.71.1", "gcc")
    assert kernel.toolchain == rk.dpkg_versions(dpkg_status(), rk.RECORDED)
    record = json.loads(str(system.files[rust_kernel_record(CACHE, "6.12")]))
    assert record["image_sha256"] == hashlib.sha256(b"MZ built").hexdigest()
    assert record["release"] == RELEASE and record["root_name"] == "trixie"
    assert system.writes[-1] == (rust_kernel_record(CACHE, "6.12"), "write")
    assert rk.configured(parse_config(str(system.files[f"{TREE}/.config"])))
    assert 'CONFIG_LOCALVERSION="-kdoctor-rust"' in str(system.files[f"{TREE}/.config"])
    makes = [i for i in system.inside if i.command[0] != "apt-get"]
    assert makes and all(i.binds == (rust_kernel_dir(CACHE, "6.12"),) for i in makes)
    assert "  LD      vmlinux\n" in str(system.files[rust_kernel_log(CACHE, "6.12", "build")])
    assert system.is_file(rust_kernel_log(CACHE, "6.12", "config"))
    assert any(s.startswith("building kernel 6.12") for s in steps)
    assert any(s.startswith("RUSTC core.o") for s in steps)
    assert system.locked == [TRIXIE, rust_kernel_dir(CACHE, "6.12")]


def test_a_source_tarball_already_in_the_root_is_not_installed_again() -> None:
    system = Machine(files=kernel_files(**{f"{TRIXIE}/usr/src/linux-source-6.12.tar.xz": b"xz"}))
    rust_kernel.ensure(system, CACHE, "6.12+rust", jobs=2)
    assert system.stages[0] == "tar"


def test_a_tree_with_its_makefile_is_not_unpacked_again() -> None:
    system = Machine(files=kernel_files(**{f"{TREE}/Makefile": "VERSION = 6\n"}))
    rust_kernel.ensure(system, CACHE, "6.12+rust", jobs=2)
    assert system.stages == [*CONFIGURE, "make -j2 bzImage modules"]


def test_a_configured_tree_is_only_built() -> None:
    files = kernel_files(**{f"{TREE}/Makefile": "", f"{TREE}/.config": configured_config()})
    system = Machine(files=files)
    kernel = rust_kernel.ensure(system, CACHE, "6.12+rust", jobs=3)
    assert system.stages == ["make -j3 bzImage modules"]
    assert kernel.rustc is None  # this .config records no rustc: nothing is made up


def test_a_config_with_an_option_kept_off_turned_on_is_made_again() -> None:
    config = configured_config() + "CONFIG_MODVERSIONS=y\n"
    system = Machine(files=kernel_files(**{f"{TREE}/Makefile": "", f"{TREE}/.config": config}))
    rust_kernel.ensure(system, CACHE, "6.12+rust", jobs=2)
    assert system.stages == [*CONFIGURE, "make -j2 bzImage modules"]
    assert "CONFIG_MODVERSIONS=y" not in str(system.files[f"{TREE}/.config"])


def built() -> Machine:
    system = Machine(files=kernel_files())
    rust_kernel.ensure(system, CACHE, "6.12+rust", jobs=2)
    system.stages, system.runs, system.writes, system.locked = [], [], [], []
    return system


def test_a_recorded_kernel_whose_image_matches_is_returned_without_running_anything() -> None:
    system = built()
    kernel = rust_kernel.ensure(system, CACHE, "6.12+rust", jobs=2)
    assert system.runs == [] and system.writes == []
    assert kernel == rust_kernel.recorded(system, CACHE, "6.12")
    assert (kernel.release, kernel.rustc, kernel.root_name) == (RELEASE, "1.85.1", "trixie")
    assert rust_kernel.damage(system, CACHE, kernel) is None


def test_a_changed_image_is_built_again_without_unpacking_or_configuring() -> None:
    system = built()
    system.files[IMAGE] = b"MZ tampered"
    steps: list[str] = []
    rust_kernel.ensure(system, CACHE, "6.12+rust", steps.append, jobs=2)
    assert system.stages == ["make -j2 bzImage modules"]
    assert any("must be built again: its image" in s for s in steps)
    record = json.loads(str(system.files[rust_kernel_record(CACHE, "6.12")]))
    assert record["image_sha256"] == hashlib.sha256(b"MZ built").hexdigest()


def test_a_changed_toolchain_in_the_root_is_named_and_the_kernel_rebuilt() -> None:
    system = built()
    system.files[f"{TRIXIE}/{rk.DPKG_STATUS}"] = dpkg_status("1.85.2+dfsg1-1")
    kernel = rust_kernel.recorded(system, CACHE, "6.12")
    assert kernel is not None
    problem = rust_kernel.damage(system, CACHE, kernel)
    assert problem is not None and "toolchain root changed" in problem
    assert f"rustc {RUSTC} → 1.85.2+dfsg1-1" in problem
    steps: list[str] = []
    again = rust_kernel.ensure(system, CACHE, "6.12+rust", steps.append, jobs=2)
    assert system.stages == ["make -j2 bzImage modules"]
    assert again.toolchain["rustc"] == "1.85.2+dfsg1-1"


def test_a_config_without_rust_is_damage() -> None:
    system = built()
    system.files[f"{TREE}/.config"] = configured_config().replace("CONFIG_RUST=y\n", "")
    kernel = rust_kernel.recorded(system, CACHE, "6.12")
    assert kernel is not None
    assert rust_kernel.damage(system, CACHE, kernel) == "its .config no longer has CONFIG_RUST=y"


def test_olddefconfig_dropping_rust_stops_before_the_build_naming_it() -> None:
    system = Machine(files=kernel_files(), drops=("RUST",))
    with pytest.raises(ArchiveError) as caught:
        rust_kernel.ensure(system, CACHE, "6.12+rust", jobs=2)
    assert "olddefconfig dropped CONFIG_RUST:" in str(caught.value)
    assert rust_kernel_log(CACHE, "6.12", "config") in caught.value.remediation.text
    assert system.stages[-1] == "make olddefconfig"
    assert not system.is_file(rust_kernel_record(CACHE, "6.12"))


def test_olddefconfig_turning_a_kept_off_option_on_stops_too() -> None:
    """Else the .config would pass configuring, yet every later run would find it not
    configured (rk.configured) and build the kernel again."""
    system = Machine(files=kernel_files(), selects=("MODVERSIONS",))
    with pytest.raises(ArchiveError) as caught:
        rust_kernel.ensure(system, CACHE, "6.12+rust", jobs=2)
    assert "CONFIG_MODVERSIONS" in str(caught.value)
    assert system.stages[-1] == "make olddefconfig"


def test_a_failed_build_names_the_command_and_the_log_and_records_nothing() -> None:
    system = Machine(files=kernel_files(), fail="make -j2 bzImage modules")
    with pytest.raises(ArchiveError) as caught:
        rust_kernel.ensure(system, CACHE, "6.12+rust", jobs=2)
    said = str(caught.value)
    assert "make -C" in said and "failed in the trixie root" in said
    assert "E: make -j2 bzImage modules went wrong" in said  # the output's tail
    assert rust_kernel_log(CACHE, "6.12", "build") in caught.value.remediation.text
    assert not system.is_file(rust_kernel_record(CACHE, "6.12"))


def test_a_failed_unpack_leaves_no_tree() -> None:
    system = Machine(files=kernel_files(), fail="tar")
    with pytest.raises(ArchiveError, match=r"unpacking .*linux-source-6\.12\.tar\.xz failed"):
        rust_kernel.ensure(system, CACHE, "6.12+rust", jobs=2)
    assert not system.exists(TREE)
    assert not any(PARTIAL in p for p in (*system.files, *system.dirs))


def test_rust_builds_the_newest_series_the_backports_root_lists() -> None:
    files = made_root(BACKPORTS, rk.TRIXIE_BACKPORTS.name)
    system = Machine(files=files, sources="linux-source-7.2\nlinux-source-7.10\nlinux-source\n")
    kernel = rust_kernel.ensure(system, CACHE, "rust", jobs=2)
    assert kernel.series == "7.10" and kernel.spec == "7.10+rust"
    assert kernel.kdir == rust_kernel_tree(CACHE, "7.10") and kernel.root == BACKPORTS
    assert system.stages[:2] == [
        "apt-cache pkgnames",
        "apt-get install -t trixie-backports linux-source-7.10",
    ]
    assert system.is_file(rust_kernel_record(CACHE, "7.10"))


def test_rust_with_no_source_package_listed_is_an_error() -> None:
    files = made_root(BACKPORTS, rk.TRIXIE_BACKPORTS.name)
    system = Machine(files=files, sources="linux-source\n")
    with pytest.raises(ArchiveError, match="name no linux-source package"):
        rust_kernel.ensure(system, CACHE, "rust", jobs=2)
    assert system.stages == ["apt-cache pkgnames"]


def test_a_spec_that_is_not_a_rust_kernel_is_refused_before_anything() -> None:
    system = Machine()
    with pytest.raises(ValueError):
        rust_kernel.ensure(system, CACHE, "6.12", jobs=2)
    assert system.runs == [] and system.locked == []


def test_recorded_and_built_series_read_only_complete_records() -> None:
    system = built()
    newer = rust_kernel_record(CACHE, "7.10")
    system.files[newer] = json.dumps({"release": "7.10.1-kdoctor-rust", "root_name": "x"})
    system.files[rust_kernel_record(CACHE, "7.9")] = "{not json"
    system.files[f"{rust_kernel_tree(CACHE, '7.8')}/Makefile"] = ""  # half made: no record
    system.files[rust_kernel_record(CACHE, "rust")] = "{}"  # not a series
    assert rust_kernel.built_series(system, CACHE) == ["7.10", "7.9", "6.12"]
    assert rust_kernel.recorded(system, CACHE, "7.9") is None
    assert rust_kernel.recorded(system, CACHE, "7.8") is None
    other = rust_kernel.recorded(system, CACHE, "7.10")
    assert other is not None and other.root == toolchain_root(CACHE, "x")
    assert other.toolchain == {} and other.rustc is None
    assert system.runs == []
