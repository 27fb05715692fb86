"""One parser of a kernel's configuration (kdoctor.knowledge.kernel_config) and one reader of
it (kdoctor.facts.tools.kernel_config), for .config, auto.conf and /boot/config-<release>."""

from __future__ import annotations

from kdoctor.facts.kbuild_eval import config_arguments
from kdoctor.facts.loading import signatures_enforced
from kdoctor.facts.tools import kernel_config
from kdoctor.knowledge.kernel_config import AUTO_CONF, parse_config
from tests.conftest import make_context
from tests.fake_system import FakeSystem

KDIR = "/usr/src/linux-headers-6.1.0-56-amd64"
CONFIG = (
    "#\n# Automatically generated file; DO NOT EDIT.\n#\n"
    'CONFIG_CC_VERSION_TEXT="gcc-12 (Debian 12.2.0-14) 12.2.0"\n'
    "CONFIG_MODVERSIONS=y\n"
    "# CONFIG_MODULE_SIG_FORCE is not set\n"
    "CONFIG_NR_CPUS=512 \n"
    "KBUILD_NOT_AN_OPTION=1\n"
)


def test_parse_config_reads_set_options_without_quotes() -> None:
    assert parse_config(CONFIG) == {
        "CONFIG_CC_VERSION_TEXT": "gcc-12 (Debian 12.2.0-14) 12.2.0",
        "CONFIG_MODVERSIONS": "y",
        "CONFIG_NR_CPUS": "512",
    }


def test_the_reader_reads_dot_config_or_auto_conf() -> None:
    system = FakeSystem(files={f"{KDIR}/.config": CONFIG, f"{KDIR}/{AUTO_CONF}": "CONFIG_RUST=y\n"})
    assert kernel_config(system, KDIR)["CONFIG_MODVERSIONS"] == "y"
    assert kernel_config(system, KDIR, AUTO_CONF) == {"CONFIG_RUST": "y"}
    assert kernel_config(system, "/nowhere") == {}


def test_make_gets_the_auto_conf_options_the_kbuild_names() -> None:
    system = FakeSystem(files={f"{KDIR}/{AUTO_CONF}": CONFIG})
    kbuild = "obj-$(CONFIG_MODVERSIONS) += a.o\nccflags-y := -D'V=$(CONFIG_CC_VERSION_TEXT)'\n"
    assert config_arguments(system, KDIR, kbuild) == [
        "CONFIG_CC_VERSION_TEXT=gcc-12 (Debian 12.2.0-14) 12.2.0",
        "CONFIG_MODVERSIONS=y",
    ]
    assert config_arguments(system, KDIR, "obj-m := a.o\n") == []
    assert config_arguments(system, None, kbuild) == []


def test_the_boot_config_says_whether_signatures_are_enforced() -> None:
    ctx = make_context()
    boot = f"/boot/config-{ctx.running_kernel}"
    forced = FakeSystem(files={boot: "CONFIG_MODULE_SIG=y\nCONFIG_MODULE_SIG_FORCE=y\n"})
    assert signatures_enforced(ctx, forced) is True
    assert signatures_enforced(ctx, FakeSystem(files={boot: CONFIG})) is False
