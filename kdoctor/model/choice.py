"""Closed sets of words: enums that print, compare and serialise as their value."""

from __future__ import annotations

from enum import Enum

from kdoctor.i18n import _


class Choice(str, Enum):
    """A string enum: ``RustMode.AUTO == "auto"``, ``f"{RustMode.AUTO}" == "auto"``, and
    ``json.dumps`` writes ``"auto"``; the type still tells what the word may be."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(str(m.value) for m in cls)


class BadValue(ValueError):
    """A setting (an environment variable or a line of kdoctor's settings file) whose value is
    not one kdoctor knows: a usage error (exit 2) that names the variable, the value and the
    valid choices."""

    def __init__(self, name: str, value: str, choices: tuple[str, ...], origin: str = "") -> None:
        message = (
            _("{setting} (from {origin}) is not a valid value; use one of: {choices}")
            if origin
            else _("{setting} is not a valid value; use one of: {choices}")
        )
        setting = f"{name}={value!r}"
        super().__init__(message.format(setting=setting, origin=origin, choices=", ".join(choices)))
        self.name, self.value, self.choices = name, value, choices


class RustMode(Choice):
    """Where the Rust toolchain comes from (``--rust``)."""

    AUTO = "auto"
    PIN = "pin"
    DISTRO = "distro"


class TargetSource(Choice):
    """How the target kernel was chosen."""

    RUNNING = "running"
    OPTION = "--kernel"
    KDIR = "KDIR"
    #: kdoctor fix switched to the distribution's stock kernel (no package serves the running one)
    RETARGETED = "kdoctor fix"


class ModuleSource(Choice):
    """How the module was chosen: ``--module-dir``, the directory kdoctor was started in (or
    one above it), or the hello-world shipped with kdoctor."""

    OPTION = "--module-dir"
    CURRENT = "current directory"
    BUNDLED = "bundled"


class SudoMode(Choice):
    """How root steps run: as root already, through ``sudo -n``, or not at all."""

    ROOT = "root"
    SUDO = "sudo"
    NONE = "none"


class Stopped(Choice):
    """Why applying a plan stopped before its end."""

    FAILED = "failed"
    INTERRUPTED = "interrupted"
    NEEDS_ADMIN = "needs-admin"


class KbuildFixMode(Choice):
    """How kdoctor makes a module's Kbuild leave its member ``.cmd`` files."""

    REWRITE = "rewrite"
    TOUCH = "touch"


class Accel(Choice):
    """How a verification VM runs (``--accel``): KVM when usable, else TCG; or one of them."""

    AUTO = "auto"
    KVM = "kvm"
    TCG = "tcg"


class Lang(Choice):
    """The language kdoctor speaks (``--lang``); see kdoctor.i18n."""

    EN = "en"
    ES = "es"
