"""``kdoctor fix``, ``kdoctor build``, ``kdoctor build-sysroot`` and ``kdoctor fetch-image``:
parse, ask, render."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Optional

import typer

from kdoctor.cli import options
from kdoctor.cli.options import (
    BuildVerboseOpt,
    FixVerboseOpt,
    JsonOpt,
    KernelOpt,
    ModuleOpt,
    RustOpt,
)
from kdoctor.i18n import _
from kdoctor.machine.system import System
from kdoctor.model.choice import KbuildFixMode, RustMode
from kdoctor.model.context import Context
from kdoctor.model.report import EXIT_FAIL, EXIT_OK

if TYPE_CHECKING:
    from rich.console import Console

# the machinery is imported by the commands themselves: registering these commands must not
# slow down `kdoctor check` (see bench/check.py)


def build_command(
    kernel: Optional[str] = KernelOpt,
    module_dir: Optional[str] = ModuleOpt,
    rust: Optional[RustMode] = RustOpt,
    json_out: bool = JsonOpt,
    verbose: bool = BuildVerboseOpt,
) -> None:
    from kdoctor.facts import Facts
    from kdoctor.pipeline.provision import build_module
    from kdoctor.render import jsonout
    from kdoctor.render import text as render

    system = options.new_system()
    ctx = options.context(system, kernel, module_dir, rust)
    out = render.console(stderr=json_out)
    render.print_build_module(ctx, out)
    facts = Facts(ctx, system)  # kdoctor build diagnoses nothing: the only facts of its run
    toolchain, result = build_module(
        facts, lambda title: render.StepDisplay(out, title, echo=verbose)
    )
    if result is None:
        render.print_no_toolchain(toolchain, out, ctx.chosen_options)
    if json_out:
        jsonout.dump_json(
            jsonout.document(
                result.to_json() if result else {"ok": False, "error": "no usable Rust toolchain"}
            )
        )
    elif result is not None:
        render.print_build(result, out)
    if verbose:
        from kdoctor.render.report_text import print_probes

        print_probes(system.probes(), out)
    raise typer.Exit(EXIT_OK if result is not None and result.ok else EXIT_FAIL)


def build_sysroot_command(
    kernel: Optional[str] = KernelOpt,
    module_dir: Optional[str] = ModuleOpt,
    rust: Optional[RustMode] = RustOpt,
) -> None:
    from kdoctor.facts import Facts
    from kdoctor.pipeline.provision import build_module
    from kdoctor.render import text as render

    system = options.new_system()
    ctx = options.context(system, kernel, module_dir, rust)
    out = render.console()
    variables: list[str] = []
    if not system.is_file(os.path.join(ctx.kdir, "include", "config", "auto.conf")):
        config = _image_config(ctx, system, out)  # the headers are not installed yet
        if config is None:
            raise typer.Exit(EXIT_FAIL)
        variables.append(f"KRUST_CONFIG={config}")
    toolchain, result = build_module(
        Facts(ctx, system),  # diagnoses nothing: the only facts of its run (image fetched)
        lambda title: render.StepDisplay(out, title, echo=True),
        target="sysroot",
        variables=variables,
    )
    if result is None:
        render.print_no_toolchain(toolchain, out, ctx.chosen_options)
    else:
        render.print_build(result, out)
    raise typer.Exit(EXIT_OK if result is not None and result.ok else EXIT_FAIL)


def _image_config(ctx: Context, system: System, out: Console) -> Optional[str]:
    """The target kernel's configuration from its image package (fetched into the cache, as
    ``kdoctor fetch-image`` does), or None, said, when there is none."""
    from kdoctor.pipeline.kernels import image as kernel_image

    try:
        image = kernel_image.ensure(
            ctx, system, ctx.target_kernel, lambda text: out.print(text, markup=False)
        )
    except kernel_image.KernelImageError as exc:
        out.print(f"✘ {exc}", markup=False)
        return None
    config = kernel_image.config_path(ctx, image, ctx.target_kernel)
    if not system.is_file(config):
        out.print(
            "✘ "
            + _("no configuration of kernel {release} at {path}").format(
                release=ctx.target_kernel, path=config
            ),
            markup=False,
        )
        return None
    return config


def fix_command(
    yes: bool = typer.Option(False, "--yes", "-y", help=_("Apply the plan without asking.")),
    dry_run: bool = typer.Option(False, "--dry-run", help=_("Show the plan; change nothing.")),
    no_build: bool = typer.Option(
        False, "--no-build", help=_("Stop after provisioning (no build, no verify).")
    ),
    reverify: bool = typer.Option(
        False,
        "--reverify",
        help=_("Build and verify even when nothing changed since the last verification."),
    ),
    allow_rustup_installer: bool = typer.Option(
        False,
        "--allow-rustup-installer",
        help=_("Consent to the official rustup installer (downloads a script)."),
    ),
    kbuild_fix: KbuildFixMode = typer.Option(
        KbuildFixMode.REWRITE,
        "--kbuild-fix",
        help=_("For a module's Kbuild: rewrite (if_changed) or touch."),
    ),
    expect_plan: Optional[str] = typer.Option(
        None,
        "--expect-plan",
        metavar=_("DIGEST"),
        help=_("Apply only the plan with this digest (from a reviewed --dry-run); else exit 4."),
    ),
    kernel: Optional[str] = KernelOpt,
    module_dir: Optional[str] = ModuleOpt,
    rust: Optional[RustMode] = RustOpt,
    json_out: bool = JsonOpt,
    verbose: bool = FixVerboseOpt,
) -> None:
    """Install or patch what is missing, then build and verify the module."""
    from kdoctor.cli.deferred_view import DeferredView
    from kdoctor.cli.timeline import timed
    from kdoctor.model.plan import PlanOptions
    from kdoctor.pipeline.provision import ProvisionOptions, provision
    from kdoctor.render import jsonout
    from kdoctor.render.fix_json import fix_json

    if expect_plan is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", expect_plan):
        raise typer.BadParameter(
            _("must be the 64 hex digits of {key}").format(key="plan_digest"),
            param_hint="--expect-plan",
        )
    wanted = ProvisionOptions(
        kernel=kernel,
        module_dir=options.module_dir_option(module_dir),
        rust=options.rust_mode(rust),
        dry_run=dry_run,
        consent=yes,
        no_build=no_build,
        reverify=reverify,
        expect_plan=expect_plan,
        cwd=options.current_directory(),
        plan=PlanOptions(
            allow_rustup_installer=allow_rustup_installer, kbuild_fix=KbuildFixMode(kbuild_fix)
        ),
    )
    view = DeferredView(stderr=json_out, verbose=verbose)  # Rich imports while checks run
    made: list[System] = []

    def systems() -> System:  # each diagnosis's System, so -v can show every probe
        made.append(options.new_system())
        return made[-1]

    result = provision(wanted, systems, timed(view))  # KDOCTOR_TIMELINE=FILE
    view.ended(result)
    if verbose:
        from kdoctor.render.report_text import print_probes

        print_probes([p for s in made for p in s.probes()], view.view.out)
    if json_out:
        jsonout.dump_json(jsonout.document(fix_json(result)))
    raise typer.Exit(result.exit_code)


def fetch_image_command(
    release: str = typer.Argument(
        ...,
        metavar=_("RELEASE"),
        help=_("The kernel release whose image to fetch."),
        callback=options.kernel_value,
    ),
) -> None:
    from kdoctor.facts.context import detect
    from kdoctor.pipeline.kernels import image as kernel_image
    from kdoctor.render import text as render

    system = options.new_system()
    ctx = detect(system, kernel=release)
    out = render.console()
    try:
        with render.StepDisplay(out, "fetch-image") as display:
            image = kernel_image.ensure(ctx, system, release, display.step, display.download)
    except kernel_image.KernelImageError as exc:
        out.print(f"✘ {exc}", markup=False)
        out.print(f"  {exc.remediation.text}", markup=False)
        for command in exc.remediation.commands:
            out.print(f"    $ {command}", markup=False)
        raise typer.Exit(EXIT_FAIL) from None
    out.print(f"✔ {image.path}", markup=False)
