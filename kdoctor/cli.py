"""The command line: wiring only. Detection, checks, plans and rendering live elsewhere."""

from __future__ import annotations

from typing import Optional

import typer

from kdoctor import check as registry
from kdoctor import render
from kdoctor.context import RUST_MODES, Context, detect
from kdoctor.engine import EXIT_USAGE, run_checks
from kdoctor.runner import Runner

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Diagnose and provision everything between this machine and a loaded Rust kernel module.",
)

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


def _context(
    runner: Runner, kernel: Optional[str], module_dir: Optional[str], rust: Optional[str]
) -> Context:
    if rust not in RUST_MODES:
        raise typer.BadParameter(
            f"--rust must be one of {', '.join(RUST_MODES)}", param_hint="--rust"
        )
    return detect(runner, kernel=kernel, module_dir=module_dir, rust_mode=rust)


@app.command()
def check(
    ids: list[str] = typer.Argument(None, help="Only these checks (default: all)."),
    kernel: Optional[str] = KernelOpt,
    module_dir: Optional[str] = ModuleOpt,
    rust: Optional[str] = RustOpt,
    json_out: bool = JsonOpt,
    verbose: bool = VerboseOpt,
) -> None:
    """Diagnose everything that stands between this machine and a loaded module."""
    try:
        selected = registry.select(list(ids or []))
    except KeyError as exc:
        known = ", ".join(c.id for c in registry.all_checks())
        render.console(stderr=True).print(f"unknown check: {exc.args[0]} (known: {known})")
        raise typer.Exit(EXIT_USAGE) from None
    runner = Runner()
    ctx = _context(runner, kernel, module_dir, rust)
    report = run_checks(selected, ctx, runner)
    if json_out:
        render.dump_json(render.report_json(report, runner.probes() if verbose else ()))
    else:
        render.print_report(report, render.console(), verbose=verbose, probes=runner.probes())
    raise typer.Exit(report.exit_code)


@app.command(name="list")
def list_checks() -> None:
    """List the checks and their ids."""
    out = render.console()
    for c in registry.all_checks():
        out.print(f"{c.id:16} {c.title}{'' if c.required else '  (advisory)'}", markup=False)


def main() -> None:
    app()
