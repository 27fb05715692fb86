"""``kdoctor fix``, ``kdoctor build`` and ``kdoctor fetch-image``: parse, ask, render."""

from __future__ import annotations

from typing import Optional

import typer

from kdoctor.cli import options
from kdoctor.cli.options import JsonOpt, KernelOpt, ModuleOpt, RustOpt
from kdoctor.model.choice import KbuildFixMode
from kdoctor.model.report import EXIT_FAIL, EXIT_OK

# the machinery is imported by the commands themselves: registering these commands must not
# slow down `kdoctor check` (see bench/check.py)


def build_command(
    kernel: Optional[str] = KernelOpt,
    module_dir: Optional[str] = ModuleOpt,
    rust: Optional[str] = RustOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Build the module with the toolchain and variables kdoctor diagnosed."""
    from kdoctor.pipeline.provision import build_module
    from kdoctor.render import jsonout
    from kdoctor.render import text as render

    system = options.new_system()
    ctx = options.context(system, kernel, module_dir, rust)
    out = render.console(stderr=json_out)
    toolchain, result = build_module(ctx, system, lambda title: render.StepDisplay(out, title))
    if result is None:
        render.print_no_toolchain(toolchain, out)
    if json_out:
        jsonout.dump_json(
            result.to_json() if result else {"ok": False, "error": "no usable Rust toolchain"}
        )
    elif result is not None:
        render.print_build(result, out)
    raise typer.Exit(EXIT_OK if result is not None and result.ok else EXIT_FAIL)


def fix_command(
    yes: bool = typer.Option(False, "--yes", "-y", help="Apply the plan without asking."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan; change nothing."),
    no_build: bool = typer.Option(
        False, "--no-build", help="Stop after provisioning (no build, no verify)."
    ),
    reverify: bool = typer.Option(
        False,
        "--reverify",
        help="Build and verify even when nothing changed since the last verification.",
    ),
    allow_rustup_installer: bool = typer.Option(
        False,
        "--allow-rustup-installer",
        help="Consent to the official rustup installer (downloads a script).",
    ),
    kbuild_fix: str = typer.Option(
        "rewrite", "--kbuild-fix", help="For a module's Kbuild: rewrite (if_changed) or touch."
    ),
    kernel: Optional[str] = KernelOpt,
    module_dir: Optional[str] = ModuleOpt,
    rust: Optional[str] = RustOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Install or patch what is missing, then build and verify the module."""
    from kdoctor.cli.deferred_view import DeferredView
    from kdoctor.cli.timeline import timed
    from kdoctor.model.plan import PlanOptions
    from kdoctor.pipeline.provision import ProvisionOptions, provision
    from kdoctor.render import jsonout

    if kbuild_fix not in KbuildFixMode.values():
        raise typer.BadParameter("must be rewrite or touch", param_hint="--kbuild-fix")
    wanted = ProvisionOptions(
        kernel=kernel,
        module_dir=options.module_dir_option(module_dir),
        rust=options.rust_mode(rust),
        dry_run=dry_run,
        consent=yes,
        no_build=no_build,
        reverify=reverify,
        plan=PlanOptions(
            allow_rustup_installer=allow_rustup_installer, kbuild_fix=KbuildFixMode(kbuild_fix)
        ),
    )
    view = DeferredView(stderr=json_out)  # Rich is imported while the checks run
    result = provision(wanted, options.new_system, timed(view))  # KDOCTOR_TIMELINE=FILE
    view.ended(result)
    if json_out:
        jsonout.dump_json(result.to_json())
    raise typer.Exit(result.exit_code)


def fetch_image_command(
    release: str = typer.Argument(..., help="The kernel release whose image to fetch."),
) -> None:
    """Download and unpack a kernel image into kdoctor's cache (for VM verification)."""
    from kdoctor.model.context import detect
    from kdoctor.pipeline import kernel_image
    from kdoctor.render import text as render

    system = options.new_system()
    ctx = detect(system, kernel=release)
    out = render.console()
    try:
        image = kernel_image.ensure(
            ctx, system, release, lambda text: out.print(text, markup=False)
        )
    except kernel_image.KernelImageError as exc:
        out.print(f"✘ {exc}", markup=False)
        out.print(f"  {exc.remediation.text}", markup=False)
        for command in exc.remediation.commands:
            out.print(f"    $ {command}", markup=False)
        raise typer.Exit(EXIT_FAIL) from None
    out.print(f"✔ {image.path}", markup=False)
