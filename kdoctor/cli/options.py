"""Options every command shares, and the context they select."""

from __future__ import annotations

import os
from typing import Optional

import typer

from kdoctor.machine.system import System
from kdoctor.model.context import RUST_MODES, Context, detect

KernelOpt = typer.Option(
    None, "--kernel", help="Target kernel release (default: KDIR, else the running kernel)."
)
ModuleOpt = typer.Option(
    None, "--module-dir", help="The module to build (default: the bundled hello-world)."
)
RustOpt = typer.Option(
    None,
    "--rust",
    help="Toolchain source: pin (rustup), distro, or auto (default, or KDOCTOR_RUST).",
)
JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of the table.")
VerboseOpt = typer.Option(
    False, "-v", "--verbose", help="Also show every probe: command, exit code, duration."
)


def context(
    system: System, kernel: Optional[str], module_dir: Optional[str], rust: Optional[str]
) -> Context:
    """The context the options select; bad values are usage errors (exit 2)."""
    if rust is not None and rust not in RUST_MODES:
        raise typer.BadParameter(
            f"--rust must be one of {', '.join(RUST_MODES)}", param_hint="--rust"
        )
    if module_dir is not None and not os.path.isdir(module_dir):
        raise typer.BadParameter(f"no such directory: {module_dir}", param_hint="--module-dir")
    return detect(system, kernel=kernel, module_dir=module_dir, rust_mode=rust)
