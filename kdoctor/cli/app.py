"""The command line: wiring only. Detection, checks, plans and rendering live elsewhere."""

from __future__ import annotations

import math
import os
import shlex
import sys
from typing import Optional

import typer

from kdoctor import i18n
from kdoctor.checks import base as registry
from kdoctor.cli import ask, options
from kdoctor.cli import kernels as cli_kernels
from kdoctor.cli import provision as cli_provision
from kdoctor.cli.completion import complete_check_ids
from kdoctor.cli.help_text import helps, plain_help
from kdoctor.cli.json_errors import JsonErrorsGroup, print_usage_error
from kdoctor.cli.options import (
    FreshOpt,
    JsonOpt,
    KernelOpt,
    ModuleOpt,
    RustOpt,
    VerboseOpt,
    VerifyVerboseOpt,
)
from kdoctor.facts import Facts
from kdoctor.i18n import _
from kdoctor.model.choice import Accel, Lang, RustMode
from kdoctor.model.report import EXIT_DECLINED, EXIT_USAGE
from kdoctor.pipeline.diagnose import run_checks
from kdoctor.pipeline.verify import DEFAULT_TIMEOUT

# the text renderer and verify's machinery are imported by the commands that use them:
# `check --json` must not pay for Rich (see bench/check.py)

#: the longest --timeout (a day): a watchdog must be armable, and no VM boot needs longer
MAX_TIMEOUT = 86400.0

#: on a narrow terminal, plain help (nothing cut); else Rich's panels
PLAIN_HELP = plain_help()
HELP = helps(plain=PLAIN_HELP)
#: the help of `kdoctor check`'s ids (a module-level value: an argument's default is not a call)
IDS_HELP = _("Only these checks (default: all; {command} names them).").format(
    command="kdoctor list"
)

app = typer.Typer(
    cls=JsonErrorsGroup,
    no_args_is_help=True,
    rich_markup_mode=None if PLAIN_HELP else "rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    help=_(
        "Diagnose and provision everything between this machine and a loaded Rust kernel module."
    ),
    epilog=_("Start with `{check}`; `{dry_run}` shows what would change.").format(
        check="kdoctor check", dry_run="kdoctor fix --dry-run"
    ),
)


def _print_version(value: bool) -> None:
    if value:
        from kdoctor import __version__

        typer.echo(f"kdoctor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        help=_("Print kdoctor's version and exit."),
        callback=_print_version,
        is_eager=True,
    ),
    lang: Optional[Lang] = typer.Option(
        None,
        "--lang",
        help=_(
            "The language to speak, after any command too (default: LANGUAGE, LC_ALL,"
            " LC_MESSAGES or LANG)."
        ),
        show_choices=True,
    ),
) -> None:
    """Diagnose and provision everything between this machine and a loaded Rust kernel module."""
    if lang is not None:  # `kdoctor` itself takes --lang out of argv first (kdoctor.__main__)
        i18n.activate(lang.value)


@app.command(help=HELP["check"])
def check(
    ids: list[str] = typer.Argument(
        None,
        metavar=_("ID") + "...",
        autocompletion=complete_check_ids,
        help=IDS_HELP,
    ),
    kernel: Optional[str] = KernelOpt,
    module_dir: Optional[str] = ModuleOpt,
    rust: Optional[RustMode] = RustOpt,
    json_out: bool = JsonOpt,
    verbose: bool = VerboseOpt,
    fresh: bool = FreshOpt,
) -> None:
    try:
        selected = registry.select(list(ids or []))
    except KeyError as exc:
        message = options.unknown_checks_message(str(exc.args[0]))
        typer.echo(message, err=True)
        if json_out:
            print_usage_error(message)
        raise typer.Exit(EXIT_USAGE) from None
    system = options.new_system()
    ctx = options.context(system, kernel, module_dir, rust, fresh)
    report = run_checks(selected, Facts(ctx, system))  # kdoctor check: its one look
    if json_out:
        from kdoctor.render import jsonout

        jsonout.dump_json(jsonout.report_json(report, system.probes() if verbose else ()))
    else:
        from kdoctor.render import report_text, text

        report_text.print_report(
            report,
            text.console(),
            verbose=verbose,
            probes=system.probes(),
            command=shlex.join(["kdoctor", "check", *(ids or [])]),
        )
    raise typer.Exit(report.exit_code)


@app.command(name="list", help=HELP["list"])
def list_checks(json_out: bool = JsonOpt) -> None:
    checks = registry.all_checks()
    if json_out:
        from kdoctor.render import jsonout

        jsonout.dump_json(jsonout.checks_json(checks))
        return
    from kdoctor.render import text as render

    out = render.console()
    for c in checks:
        advisory = "" if c.required else "  " + i18n._("(advisory)")
        out.print(f"{c.id:16} {c.shown_title()}{advisory}", markup=False)


@app.command(help=HELP["verify"])
def verify(
    ko: Optional[str] = typer.Option(
        None,
        "--ko",
        metavar=_("PATH"),
        help=_("The module to load (default: the .ko the module directory's Kbuild declares)."),
    ),
    expect: Optional[list[str]] = typer.Option(
        None,
        "--expect",
        metavar=_("TEXT"),
        help=_(
            "A message the kernel log must show; repeat it for several, in order (default: "
            "hello-world's three messages for the bundled module; none for others: loading and "
            "unloading must succeed, and the module's kernel log lines are shown)."
        ),
    ),
    vm_mode: bool = typer.Option(
        False,
        "--vm",
        help=_(
            "Boot the target kernel in qemu and load it there (the default unless the "
            "running kernel can load it and --yes is given)."
        ),
    ),
    host_mode: bool = typer.Option(
        False, "--host", help=_("Load it into the running kernel (asks first, unless --yes).")
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help=_("Consent to loading the module into the running kernel.")
    ),
    accel: Accel = typer.Option(
        Accel.AUTO, "--accel", help=_("VM acceleration: auto (KVM, else TCG), kvm or tcg.")
    ),
    timeout: float = typer.Option(
        DEFAULT_TIMEOUT,
        "--timeout",
        metavar=_("SECONDS"),
        help=_("Seconds the VM may run before it is stopped."),
    ),
    kernel: Optional[str] = KernelOpt,
    module_dir: Optional[str] = ModuleOpt,
    json_out: bool = JsonOpt,
    console: bool = typer.Option(False, "--console", help=_("Show the VM's console as it runs.")),
    verbose: bool = VerifyVerboseOpt,
) -> None:
    if expect and any(not text.strip() for text in expect):
        raise typer.BadParameter(
            _("an empty message matches any kernel log: name the text the module prints"),
            param_hint="--expect",
        )
    from kdoctor.cli.errors import json_error
    from kdoctor.pipeline.provision import verify_module
    from kdoctor.pipeline.verify.target import default_ko, expected_messages
    from kdoctor.render import jsonout
    from kdoctor.render import text as render

    if vm_mode and host_mode:
        raise typer.BadParameter(
            _("choose one of {first} and {second}").format(first="--vm", second="--host"),
            param_hint="--vm/--host",
        )
    if not (math.isfinite(timeout) and 0 < timeout <= MAX_TIMEOUT):
        raise typer.BadParameter(
            _("must be more than 0 seconds and at most {most} (got {got})").format(
                most=f"{MAX_TIMEOUT:g}", got=repr(timeout)
            ),
            param_hint="--timeout",
        )
    if ko is not None and not os.path.isfile(ko):
        raise typer.BadParameter(_("no such file: {path}").format(path=ko), param_hint="--ko")
    system = options.new_system()
    ctx = options.context(system, kernel, module_dir, None)
    path = os.path.abspath(ko) if ko else default_ko(ctx, system)
    if host_mode and not yes:
        err = render.console(stderr=True)
        if not sys.stdin.isatty():
            refusal = _("refusing to load a module into the running kernel without --yes")
            err.print(refusal, markup=False)
            json_error(refusal, "usage", EXIT_USAGE)
            raise typer.Exit(EXIT_USAGE)
        question = _("Load {path} into the running kernel {kernel}?")
        if not ask.confirm(question.format(path=path, kernel=ctx.running_kernel), err=json_out):
            err.print(_("nothing loaded"), markup=False)
            json_error(_("nothing loaded"), "declined", EXIT_DECLINED)
            raise typer.Exit(EXIT_DECLINED)
        yes = True
    out = render.console(stderr=json_out)
    result = verify_module(
        ctx,
        system,
        path,
        lambda title: render.StepDisplay(out, title, echo=verbose),
        requested="vm" if vm_mode else "host" if host_mode else "auto",
        consent=yes,
        accel=str(accel),
        timeout=timeout,
        on_console=(lambda line: out.print(line.rstrip(), markup=False)) if console else None,
        expected=expected_messages(ctx, expect or ()),
    )
    if json_out:
        jsonout.dump_json(jsonout.document(result.to_json()))
    else:
        render.print_verify(result, out)
    if verbose:
        from kdoctor.render.report_text import print_probes

        print_probes(system.probes(), out)
    raise typer.Exit(0 if result.passed else 1)


@app.command(help=HELP["report"])
def report(
    kernel: Optional[str] = KernelOpt,
    module_dir: Optional[str] = ModuleOpt,
    rust: Optional[RustMode] = RustOpt,
    output: Optional[str] = typer.Option(
        None,
        "--output",
        "-o",
        metavar=_("FILE"),
        help=_("Write the report to FILE (replaced whole) instead of printing it."),
    ),
) -> None:
    from kdoctor.pipeline.last_build import last_build
    from kdoctor.pipeline.provision import ProvisionOptions, dry_run
    from kdoctor.render.markdown_report import markdown_report, placeholders

    system = options.new_system()
    wanted = ProvisionOptions(
        kernel=kernel,
        module_dir=options.module_dir_option(module_dir),
        rust=options.rust_mode(rust),
        cwd=options.current_directory(),
    )
    facts, result = dry_run(wanted, system)  # fix --dry-run's look: nothing is changed
    home = system.env.get("HOME", "")
    owner = system.ownership(home) if home else None  # the person, when USER is not set
    hide = placeholders(
        system.env,
        [system.real_path(home)] if home else [],
        [owner.user] if owner is not None and owner.uid == system.uid() else [],
    )
    text = markdown_report(facts, result, last_build(result.context, system), hide)
    if output is None:
        from kdoctor.render import text as render

        render.console().out(text, end="", highlight=False)
        return
    system.write_file(output, text)  # a place it cannot write: PlaceError, exit 3
    typer.echo(_("report written to {path}").format(path=output), err=True)


app.command(name="fix", help=HELP["fix"])(cli_provision.fix_command)
app.command(name="build", help=HELP["build"])(cli_provision.build_command)
app.command(name="fetch-image", hidden=True, help=HELP["fetch-image"])(
    cli_provision.fetch_image_command
)
app.command(name="build-sysroot", hidden=True, help=HELP["build-sysroot"])(
    cli_provision.build_sysroot_command
)
app.command(name="test", help=cli_kernels.test_help())(cli_kernels.test_command)
app.command(name="build-kernel", help=cli_kernels.build_kernel_help())(
    cli_kernels.build_kernel_command
)
app.command(name="fetch-kernel", hidden=True, help=cli_kernels.fetch_kernel_help())(
    cli_kernels.fetch_kernel_command
)
app.add_typer(cli_kernels.cache_app, name="cache")


def main() -> None:
    from kdoctor.cli.errors import guarded

    # one name however it was started (`python -m kdoctor` too), so completion scripts match
    guarded(lambda: app(prog_name="kdoctor"))
