"""What a Rust-for-Linux module (``obj-m := x.o`` from ``x.rs``, compiled by kbuild itself)
needs of the kernel it is built for.

* ``CONFIG_RUST=y``: the kernel was built with Rust support. ``CONFIG_HAVE_RUST=y`` only says the
  architecture could have it; Debian's stock kernels (6.1, 6.12) have that and no
  ``CONFIG_RUST`` (and ``CONFIG_RUSTC_VERSION=0`` where the option exists).
* The Rust artefacts of that build in the build directory: the target specification kbuild's
  Makefile names (``rust/target.json`` in 6.1, ``scripts/target.json`` later), the crate
  metadata ``rust/lib<crate>.rmeta`` of every crate ``scripts/Makefile.build`` passes with
  ``--extern`` (``kernel``, ``alloc``, ...) and of ``core``, and the ``module!`` procedural
  macro ``rust/libmacros.so``. Kernel builds make them; headers packages rarely ship them
  (Ubuntu puts them into ``linux-lib-rust-<release>``).
* The same rustc that built the kernel: crate metadata only loads into the rustc that wrote it
  (``CONFIG_RUSTC_VERSION_TEXT``, else ``CONFIG_RUSTC_VERSION``, else the version string inside
  ``rust/libkernel.rmeta``), and the bindgen it recorded (``CONFIG_BINDGEN_VERSION_TEXT``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Optional

from kdoctor.i18n import _

_TARGET_SPEC = re.compile(r"--target=\$\(objtree\)/(\S+?\.json)")
_EXTERN = re.compile(r"--extern\s+([A-Za-z_]\w*)")
_RUSTC_TEXT = re.compile(rb"rustc (\d+\.\d+\.\d+(?:-[\w.]+)?(?: \([0-9a-f]+ \d{4}-\d\d-\d\d\))?)")
_VERSION = re.compile(r"(\d+\.\d+\.\d+)")

#: what kbuild reads for every Rust object, whatever the kernel's version
ALWAYS = ("rust/libcore.rmeta", "rust/libmacros.so")


def rust_enabled(config: Mapping[str, str]) -> bool:
    return config.get("CONFIG_RUST") == "y"


def needed_artefacts(top_makefile: str, makefile_build: str) -> list[str]:
    """The files (relative to the build directory) kbuild reads to compile a module's ``.rs``,
    as the target's own ``Makefile`` and ``scripts/Makefile.build`` name them."""
    needed: list[str] = []
    spec = _TARGET_SPEC.search(top_makefile)
    if spec:
        needed.append(spec.group(1))
    crates = dict.fromkeys(_EXTERN.findall(makefile_build) or ["kernel"])
    needed += [f"rust/lib{crate}.rmeta" for crate in crates]
    needed += [a for a in ALWAYS if a not in needed]
    return needed


def kconfig_rustc(config: Mapping[str, str]) -> Optional[str]:
    """The rustc version the kernel's configuration records (None: not recorded, or 0)."""
    text = config.get("CONFIG_RUSTC_VERSION_TEXT")
    if text:
        found = _VERSION.search(text)
        if found:
            return found.group(1)
    number = config.get("CONFIG_RUSTC_VERSION", "")
    if number.isdigit() and int(number) > 0:
        n = int(number)
        return f"{n // 100000}.{n // 100 % 1000}.{n % 100}"  # 100000 * major + 100 * minor + patch
    return None


def kconfig_bindgen(config: Mapping[str, str]) -> Optional[str]:
    text = config.get("CONFIG_BINDGEN_VERSION_TEXT", "")
    found = _VERSION.search(text)
    return found.group(1) if found else None


def rmeta_rustc(data: bytes) -> Optional[str]:
    """The rustc version string a crate's metadata starts with (``1.78.0 (9b00956e5 ...)``)."""
    found = _RUSTC_TEXT.search(data)
    return found.group(1).decode("ascii", "replace") if found else None


def same_version(kernel: str, chosen: str) -> bool:
    """Whether two rustc (or bindgen) versions are the same release."""
    a, b = _VERSION.search(kernel), _VERSION.search(chosen)
    return bool(a and b and a.group(1) == b.group(1))


def options_text(distro_id: str, bundled_dir: str) -> str:
    """The real ways to build a Rust-for-Linux module when the target kernel cannot."""
    stock = (
        # Translators: shown in parentheses after "its rust/ artefacts"; "it" is CONFIG_RUST
        _("Debian's stock kernels are built without it")
        if distro_id == "debian"
        else _("distribution kernels are usually built without it")
    )
    return _(
        "A Rust-for-Linux module builds only against a kernel built with CONFIG_RUST=y and its "
        "rust/ artefacts ({stock}). Options: (1) build a kernel with CONFIG_RUST=y (and boot "
        "it, or test in a VM booting it) and point KDIR at its build tree; (2) use a "
        "distribution that ships the Rust artefacts of its kernels (Ubuntu's "
        "linux-lib-rust-<release> package); or (3) write the module in the kbuild-rustc style "
        "of the bundled module ({bundled_dir}), which builds against this kernel's ordinary "
        "headers."
    ).format(stock=stock, bundled_dir=bundled_dir)


# -- the keys of the ``module!`` macro ----------------------------------------------------------
_MACRO_CALL = re.compile(r"\bmodule!\s*\{")
_EXPECTED_KEYS = re.compile(r"EXPECTED_KEYS\s*:\s*&\[&str\]\s*=\s*&\[(.*?)\];", re.S)
_ORDERED_FIELDS = re.compile(
    r"impl\s+Parse\s+for\s+ModuleInfo.*?parse_ordered_fields!\s*\((.*?)\n\s*\);", re.S
)
_FIELD = re.compile(r"^([ \t]*)(\w+)(?:\s+as\s+\w+)?(?:\s+\[required\])?\s*=>", re.M)
_QUOTED = re.compile(r'"(\w+)"')


def macro_keys(module_rs: str) -> Optional[frozenset[str]]:
    """The keys the kernel's ``module!`` accepts, from its ``rust/macros/module.rs``: the
    ``EXPECTED_KEYS`` list (6.x), or the fields its ``ModuleInfo`` parser names (7.x, where
    ``author`` became ``authors``); None when neither is there to read."""
    listed = _EXPECTED_KEYS.search(module_rs)
    if listed and _QUOTED.search(listed.group(1)):
        return frozenset(_QUOTED.findall(listed.group(1)))
    block = _ORDERED_FIELDS.search(module_rs)
    if not block:
        return None
    fields = _FIELD.findall(block.group(1))
    if not fields:
        return None
    depth = min(len(indent) for indent, _key in fields)  # the parser's own fields, not nested
    return frozenset(key for indent, key in fields if len(indent) == depth and key != "from")


def module_keys(source: str) -> list[str]:
    """The keys a Rust source's ``module! { ... }`` invocation uses, in order (comments and
    nested brackets skipped; empty when it has none)."""
    found = _MACRO_CALL.search(source)
    if not found:
        return []
    keys: list[str] = []
    depth, i, word = 1, found.end(), ""
    expecting_key = True
    while i < len(source) and depth > 0:
        char = source[i]
        if source.startswith("//", i):
            i = source.find("\n", i)
            i = len(source) if i < 0 else i
            continue
        if char == '"':
            end = i + 1
            while end < len(source) and source[end] != '"':
                end += 2 if source[end] == "\\" else 1
            i = end + 1
            continue
        if char in "{[(":
            depth += 1
        elif char in "}])":
            depth -= 1
        elif depth == 1 and char == ":" and expecting_key and word:
            keys.append(word)
            expecting_key = False
        elif depth == 1 and char == ",":
            expecting_key = True
        if char.isalnum() or char == "_":
            word = word + char if expecting_key and depth == 1 else ""
        elif not char.isspace():
            word = ""
        i += 1
    return keys
