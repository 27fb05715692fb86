"""A kernel's configuration as its build tree records it: ``.config`` (what ``make
menuconfig`` wrote, also ``/boot/config-<release>``) and ``include/config/auto.conf`` (what
kbuild includes). Both are ``CONFIG_X=value`` lines; an option that is not set is a comment
(``# CONFIG_X is not set``) or absent.

Pure: :func:`kdoctor.facts.tools.kernel_config` reads the file, this parses it.
"""

from __future__ import annotations

#: the files of a build tree that hold its configuration (relative to KDIR)
DOT_CONFIG = ".config"
AUTO_CONF = "include/config/auto.conf"


def parse_config(text: str) -> dict[str, str]:
    """``CONFIG_X`` -> its value (quotes removed), for every option ``text`` sets."""
    config: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.startswith("CONFIG_"):
            config[key] = value.strip().strip('"')
    return config
