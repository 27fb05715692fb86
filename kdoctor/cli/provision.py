"""``kdoctor fix``, ``kdoctor build`` and ``kdoctor fetch-image``: wiring only."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Optional

import typer

from kdoctor.cli.options import JsonOpt, KernelOpt, ModuleOpt, RustOpt, context
from kdoctor.model.report import EXIT_FAIL, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from kdoctor.machine.system import System
    from kdoctor.model.context import Context
    from kdoctor.model.report import Report
    from kdoctor.pipeline.build import BuildResult
    from kdoctor.pipeline.verify import VerifyResult
    from kdoctor.render.text import Console

# the machinery is imported by the commands themselves: registering these commands must not
# slow down `kdoctor check` (see bench/check.py)

EXIT_INTERRUPTED = 130


def diagnose(ctx: Context, runner: System) -> Report:
    from kdoctor.checks import base as registry
    from kdoctor.pipeline.diagnose import run_checks

    return run_checks(registry.all_checks(), ctx, runner)


def log_dir(ctx: Context) -> str:
    return os.path.join(ctx.cache_dir, "logs")


def run_build(ctx: Context, runner: System, out: Console) -> Optional[BuildResult]:
    from kdoctor.facts import Facts
    from kdoctor.facts.rust import rust_toolchain
    from kdoctor.pipeline.build import build
    from kdoctor.render import text as render

    toolchain = Facts(ctx, runner).of(rust_toolchain)
    if not toolchain.usable or not toolchain.rustc:
        out.print(f"✘ no usable Rust toolchain: {toolchain.reason}", markup=False)
        for problem in toolchain.problems:
            out.print(f"  {problem}", markup=False)
        out.print("  run: kdoctor check toolchain rust-src; kdoctor fix", markup=False)
        return None
    with render.StepDisplay(
        out, f"build ({toolchain.source} rustc {toolchain.version})"
    ) as display:
        return build(
            ctx,
            runner,
            rustc=toolchain.rustc,
            toolchain_env=toolchain.env,
            log_dir=log_dir(ctx),
            on_step=display.step,
        )


def run_verify(ctx: Context, runner: System, out: Console, ko: str) -> VerifyResult:
    """The default verification: in a VM booting the kernel the module was built for."""
    from kdoctor.pipeline.verify import choose_mode, target_release, verify_vm
    from kdoctor.render import text as render

    release, differs = target_release(ctx, ko)
    _, why = choose_mode(ctx, runner, "vm", consent=False, release=release)
    with render.StepDisplay(out, "verify") as display:
        return verify_vm(
            ctx,
            runner,
            ko,
            release=release,
            on_step=display.step,
            notes=[n for n in (why, differs) if n],
        )


def build_command(
    kernel: Optional[str] = KernelOpt,
    module_dir: Optional[str] = ModuleOpt,
    rust: Optional[str] = RustOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Build the module with the toolchain and variables kdoctor diagnosed."""
    from kdoctor.machine.runner import Runner
    from kdoctor.render import jsonout
    from kdoctor.render import text as render

    runner = Runner()
    ctx = context(runner, kernel, module_dir, rust)
    out = render.console(stderr=json_out)
    result = run_build(ctx, runner, out)
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
    from kdoctor.machine.runner import Runner
    from kdoctor.pipeline.apply import apply_plan, sudo_mode
    from kdoctor.pipeline.planner import make_plan
    from kdoctor.render import jsonout
    from kdoctor.render import text as render

    if kbuild_fix not in ("rewrite", "touch"):
        raise typer.BadParameter("must be rewrite or touch", param_hint="--kbuild-fix")
    if allow_rustup_installer:
        os.environ["KDOCTOR_ALLOW_RUSTUP_INSTALLER"] = "1"
    os.environ["KDOCTOR_KBUILD_FIX"] = kbuild_fix
    runner = Runner()
    ctx = context(runner, kernel, module_dir, rust)
    out = render.console(stderr=json_out)
    data: dict[str, object] = {"context": ctx.to_json()}
    before = diagnose(ctx, runner)
    plan = make_plan(ctx, before, runner, lambda c: diagnose(c, runner))
    data["before"] = [f.to_json() for f in before.findings]
    data["plan"] = plan.to_json()
    needs_sudo = not ctx.is_root and any(s.root for s in plan.steps)
    render.print_plan(plan, out, sudo=needs_sudo)

    def finish(code: int) -> None:
        if json_out:
            data["exit_code"] = code
            jsonout.dump_json(data)
        raise typer.Exit(code)

    if dry_run:
        out.print("dry run: nothing was changed", markup=False)
        finish(EXIT_OK)
    if not plan.empty:
        if not yes:
            if not sys.stdin.isatty():
                out.print(
                    "not applying without --yes (no terminal to ask on); try --dry-run",
                    markup=False,
                )
                finish(EXIT_USAGE)
            if not typer.confirm("Apply this plan?"):
                finish(EXIT_USAGE)
        if needs_sudo and sudo_mode(ctx, runner) == "sudo":
            out.print("root steps run through sudo -n", markup=False)
        with render.StepDisplay(out, "fix") as display:
            applied = apply_plan(
                plan,
                ctx,
                runner,
                log_dir=log_dir(ctx),
                on_step=display.plan_step,
                on_line=display.output,
            )
        render.print_apply(applied, out)
        data["apply"] = applied.to_json()
        if applied.stopped == "interrupted":
            finish(EXIT_INTERRUPTED)
        if not applied.ok:
            finish(EXIT_FAIL)
        # diagnose again from scratch: what was installed and persisted is what counts now
        runner = Runner()
        ctx = context(runner, kernel, module_dir, rust)
        after = diagnose(ctx, runner)
        render.print_before_after(before, after, out)
    else:
        after = before
        render.print_report(after, out)
    data["after"] = [f.to_json() for f in after.findings]
    if after.exit_code != EXIT_OK:
        out.print("some required checks still fail (see above); not building", markup=False)
        finish(EXIT_FAIL)
    if no_build:
        finish(EXIT_OK)
    built = run_build(ctx, runner, out)
    if built is None or not built.ok or built.ko is None:
        if built is not None:
            render.print_build(built, out)
            data["build"] = built.to_json()
        finish(EXIT_FAIL)
    assert built is not None and built.ko is not None
    render.print_build(built, out)
    data["build"] = built.to_json()
    verified = run_verify(ctx, runner, out, built.ko)
    render.print_verify(verified, out)
    data["verify"] = verified.to_json()
    finish(EXIT_OK if verified.passed else EXIT_FAIL)


def fetch_image_command(
    release: str = typer.Argument(..., help="The kernel release whose image to fetch."),
) -> None:
    """Download and unpack a kernel image into kdoctor's cache (for VM verification)."""
    from kdoctor.machine.runner import Runner
    from kdoctor.model.context import detect
    from kdoctor.pipeline import kernel_image
    from kdoctor.render import text as render

    runner = Runner()
    ctx = detect(runner, kernel=release)
    out = render.console()
    try:
        image = kernel_image.ensure(ctx, runner, release)
    except kernel_image.KernelImageError as exc:
        out.print(f"✘ {exc}", markup=False)
        out.print(f"  {exc.remediation.text}", markup=False)
        for command in exc.remediation.commands:
            out.print(f"    $ {command}", markup=False)
        raise typer.Exit(EXIT_FAIL) from None
    out.print(f"✔ {image.path}", markup=False)
