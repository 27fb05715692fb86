"""Options every command shares, the context they select, and where commands get a System."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Optional

import typer

from kdoctor.cli.completion import complete_directories
from kdoctor.facts.context import detect
from kdoctor.i18n import _
from kdoctor.knowledge.kernel_release import release_problem
from kdoctor.machine.runner import Runner
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import in_rust_kernels
from kdoctor.model.choice import BadValue, RustMode
from kdoctor.model.context import Context
from kdoctor.model.report import EXIT_USAGE

if TYPE_CHECKING:
    from kdoctor.pipeline.provision import SystemFactory


def kernel_value(value: Optional[str]) -> Optional[str]:
    """A kernel release or series given on the command line, checked before any path is made
    from it (a usage error otherwise)."""
    if value is not None:
        bad = release_problem(value)
        if bad:
            raise typer.BadParameter(bad)
    return value


KernelOpt = typer.Option(
    None,
    "--kernel",
    metavar=_("RELEASE"),
    help=_("Target kernel release (default: KDIR, else the running kernel)."),
    callback=kernel_value,
)
ModuleOpt = typer.Option(
    None,
    "--module-dir",
    metavar=_("DIR"),
    autocompletion=complete_directories,
    help=_(
        "The module to build (default: the module in the current directory or one above it, "
        "else the bundled hello-world)."
    ),
)
#: typed RustMode where it is used: help and completion list the choices, a bad one is a usage
#: error (exit 2) that names them
RustOpt = typer.Option(
    None,
    "--rust",
    help=_("Toolchain source: pin (rustup), distro, or auto (default, or KDOCTOR_RUST)."),
)
JsonOpt = typer.Option(False, "--json", help=_("Print one JSON object instead of the table."))
FreshOpt = typer.Option(
    False,
    "--fresh",
    help=_(
        "Ask every probe again instead of reusing answers kept from an earlier run "
        "(kept only while every file they depend on is unchanged)."
    ),
)
VerboseOpt = typer.Option(
    False,
    "-v",
    "--verbose",
    help=_("More detail: every check's details and every probe (command, exit code, duration)."),
)
CacheVerboseOpt = typer.Option(
    False,
    "-v",
    "--verbose",
    help=_("More detail: each kernel, root, copy and directory under its kind, with its size."),
)
#: ``-v`` means more detail everywhere; what it adds differs a little per command
BuildVerboseOpt = typer.Option(
    False, "-v", "--verbose", help=_("More detail: make's whole output as it runs, every probe.")
)
FixVerboseOpt = typer.Option(
    False,
    "-v",
    "--verbose",
    help=_("More detail: every check's details, each step's and make's output, every probe."),
)
VerifyVerboseOpt = typer.Option(
    False,
    "-v",
    "--verbose",
    help=_("More detail: every probe (--console shows the VM's console)."),
)

#: where every command gets its System (the real machine); tests replace it, never the class
system_factory: SystemFactory = Runner


def new_system() -> System:
    """A fresh System from :data:`system_factory` (read at each call, so tests can swap it)."""
    return system_factory()


def rust_mode(rust: Optional[str]) -> Optional[RustMode]:
    """``--rust`` as its enum; a bad value is a usage error (exit 2)."""
    if rust is None:
        return None
    if rust not in RustMode.values():
        raise typer.BadParameter(
            _("{option} must be one of {choices}").format(
                option="--rust", choices=", ".join(RustMode.values())
            ),
            param_hint="--rust",
        )
    return RustMode(rust)


def module_dir_option(module_dir: Optional[str]) -> Optional[str]:
    """``--module-dir``, which must be a directory (else a usage error, exit 2)."""
    if module_dir is not None and not os.path.isdir(module_dir):
        raise typer.BadParameter(
            _("no such directory: {path}").format(path=module_dir), param_hint="--module-dir"
        )
    return module_dir


def current_directory() -> Optional[str]:
    """The directory kdoctor was started in, where it looks for the module when no
    ``--module-dir`` is given (None: it was removed meanwhile)."""
    try:
        return os.getcwd()
    except OSError:
        return None


def context(
    system: System,
    kernel: Optional[str],
    module_dir: Optional[str],
    rust: Optional[str],
    fresh: bool = False,
) -> Context:
    """The context the options select; bad values are usage errors (exit 2)."""
    mode = rust_mode(rust)
    try:
        ctx = detect(
            system,
            kernel=kernel,
            module_dir=module_dir_option(module_dir),
            rust_mode=mode,
            fresh=fresh,
            cwd=current_directory(),
        )
    except BadValue as exc:
        from kdoctor.cli.errors import json_error

        typer.echo(usage_error(exc), err=True)
        json_error(usage_error(exc), "usage", EXIT_USAGE)
        raise typer.Exit(EXIT_USAGE) from None
    if kernel is None and not in_rust_kernels(ctx.cache_dir, ctx.kdir):
        return ctx  # only --kernel, or a KDIR in its Rust-enabled kernels, names a cached one
    from kdoctor.pipeline.kernels.foreign import selected

    return selected(ctx, system)


def unknown_checks_message(unknown: str) -> str:
    """``unknown check: X`` with the closest known ids (did you mean) and the whole list."""
    import difflib

    from kdoctor.checks.base import all_checks

    known = [c.id for c in all_checks()]
    lines = []
    for name in (n.strip() for n in unknown.split(",")):
        close = difflib.get_close_matches(name, known, n=2, cutoff=0.6)
        unknown_one = _("unknown check: {name}").format(name=name)
        if close:
            unknown_one += _("; did you mean {ids}?").format(ids=_(" or ").join(close))
        lines.append(unknown_one)
    lines.append(_("known checks: {ids}").format(ids=", ".join(known)))
    return "\n".join(lines)


def usage_error(error: object) -> str:
    """``kdoctor: usage error: ...`` (a bad value: in an option, the environment or a file)."""
    return _("kdoctor: usage error: {error}").format(error=error)
