"""``kdoctor test``, ``kdoctor cache`` and ``kdoctor fetch-kernel``: kernels as cached
artefacts."""

from __future__ import annotations

import os
import sys
from typing import Callable, Optional

import typer

from kdoctor.cli import ask, options
from kdoctor.cli.options import CacheVerboseOpt, JsonOpt, ModuleOpt, RustOpt
from kdoctor.i18n import _
from kdoctor.knowledge.kernel_release import release_problem
from kdoctor.knowledge.rust_kernels import series_of_spec, spec_of
from kdoctor.machine.system import System
from kdoctor.model.cache_layout import (
    PARTIAL,
    apt_root,
    kernel_test_dir,
    kernels_dir,
    release_dir,
    rust_kernel_dir,
    rust_kernel_record,
    rust_kernel_tree,
    toolchain_root,
    toolchain_root_record,
    toolchain_roots_dir,
    tree_dir,
)
from kdoctor.model.choice import RustMode
from kdoctor.model.report import EXIT_DECLINED, EXIT_FAIL, EXIT_OK, EXIT_USAGE
from kdoctor.pipeline.kernels.rust_kernel import built_series, recorded

cache_app = typer.Typer(help=_("What kdoctor keeps in its cache: kernels, apt lists, builds."))


def test_help() -> str:
    """``kdoctor test``'s help (its docstring, translated)."""
    example = _("Example: {command}").format(command="kdoctor test --kernels 5.10,6.1,6.12")
    return _("Build the module for each kernel and load it in a VM booting that kernel.") + (
        "\n\n" + example
    )


def test_command(
    kernels: str = typer.Option(
        ...,
        "--kernels",
        metavar=_("RELEASES"),
        help=_("Comma-separated releases or series (5.10,6.1,6.12)."),
    ),
    module_dir: Optional[str] = ModuleOpt,
    rust: Optional[RustMode] = RustOpt,
    json_out: bool = JsonOpt,
) -> None:
    """Build the module for each kernel and load it in a VM booting that kernel.

    Example: kdoctor test --kernels 5.10,6.1,6.12
    """
    from kdoctor.pipeline.multi_kernel import run_tests
    from kdoctor.render import jsonout
    from kdoctor.render import text as render
    from kdoctor.render.kernels_text import test_table

    specs = [s.strip() for s in kernels.split(",") if s.strip()]
    bad = [s for s in specs if release_problem(s)]
    if not specs or bad:
        raise typer.BadParameter(
            _("not a kernel release or series: {value}").format(
                value=", ".join(bad) or repr(kernels)
            ),
            param_hint="--kernels",
        )
    system = options.new_system()
    ctx = options.context(system, None, module_dir, rust)
    out = render.console(stderr=json_out)
    report = run_tests(ctx, system, specs, lambda text: out.print(f"  {text}", markup=False))
    if json_out:
        jsonout.dump_json(jsonout.document(report.to_json()))
    else:
        for line in test_table(report):
            out.print(line, markup=False)
    raise typer.Exit(EXIT_OK if report.passed else EXIT_FAIL)


def fetch_kernel_help() -> str:
    """``kdoctor fetch-kernel``'s help (its docstring, translated)."""
    return _("Fetch a Debian kernel's headers, kbuild tools and image into kdoctor's cache.")


def fetch_kernel_command(
    spec: str = typer.Argument(
        ...,
        metavar=_("RELEASE"),
        help=_("A Debian kernel release or a series (5.10, 6.12)."),
        callback=options.kernel_value,
    ),
) -> None:
    """Fetch a Debian kernel's headers, kbuild tools and image into kdoctor's cache."""
    from kdoctor.pipeline.kernels import archive as kernel_archive
    from kdoctor.pipeline.kernels.foreign import target_for
    from kdoctor.render import text as render

    system = options.new_system()
    ctx = options.context(system, None, None, None)
    out = render.console()
    try:
        with render.StepDisplay(out, "fetch-kernel") as display:
            target, _tree = target_for(
                ctx, system, spec, display.step, on_download=display.download
            )
    except kernel_archive.ArchiveError as exc:
        out.print(f"✘ {exc}", markup=False)
        out.print(f"  {exc.remediation.text}", markup=False)
        raise typer.Exit(EXIT_FAIL) from None
    out.print(f"✔ {target.target_kernel}: KDIR={target.kdir}", markup=False)


def build_kernel_help() -> str:
    """``kdoctor build-kernel``'s help (its docstring, translated)."""
    return _(
        "Build a Rust-enabled kernel (6.12+rust, rust) from Debian's sources into kdoctor's cache."
    )


def build_kernel_command(
    spec: str = typer.Argument(
        ...,
        metavar=_("KERNEL"),
        help=_("A Rust-enabled kernel: <series>+rust (6.12+rust), or rust (the newest)."),
    ),
) -> None:
    """Build a Rust-enabled kernel (6.12+rust, rust) from Debian's sources into kdoctor's
    cache."""
    from kdoctor.knowledge.rust_kernels import is_rust_spec
    from kdoctor.pipeline.kernels import archive as kernel_archive
    from kdoctor.pipeline.kernels import rust_kernel
    from kdoctor.render import text as render

    if not is_rust_spec(spec):
        raise typer.BadParameter(
            _("not a Rust-enabled kernel: {value} (say 6.12+rust or rust)").format(
                value=repr(spec)
            ),
            param_hint="SPEC",
        )
    system = options.new_system()
    ctx = options.context(system, None, None, None)
    out = render.console()
    if system.uid() != 0:
        out.print(
            "✘ "
            + _(
                "building a Rust-enabled kernel needs root: its toolchain root is made with "
                "debootstrap and entered with chroot"
            ),
            markup=False,
        )
        out.print("  " + f"sudo kdoctor build-kernel {spec}", markup=False)
        raise typer.Exit(EXIT_FAIL)
    try:
        kernel = rust_kernel.ensure(
            system, ctx.cache_dir, spec, lambda t: out.print(f"  {t}", markup=False)
        )
    except kernel_archive.ArchiveError as exc:
        out.print(f"✘ {exc}", markup=False)
        out.print(f"  {exc.remediation.text}", markup=False)
        raise typer.Exit(EXIT_FAIL) from None
    out.print(
        "✔ "
        + _("{spec}: kernel {release}, KDIR={kdir}, image {image}").format(
            spec=kernel.spec, release=kernel.release, kdir=kernel.kdir, image=kernel.image
        ),
        markup=False,
    )


def _clean_rust_kernel(system: System, cache_dir: str, spec: str, say: Callable[..., None]) -> None:
    """Remove one Rust-enabled kernel (its record first: a half-removed one is rebuilt)."""
    series = series_of_spec(spec) or spec
    with system.lock(rust_kernel_dir(cache_dir, series), on_wait=say):
        found = recorded(system, cache_dir, series)
        system.remove_tree(rust_kernel_record(cache_dir, series))
        system.remove_tree(rust_kernel_tree(cache_dir, series))
        if found is not None:  # kdoctor test builds for it under its release, not its series
            system.remove_tree(kernel_test_dir(cache_dir, found.release))
    say(_("removed kernel {release}").format(release=spec), markup=False)


@cache_app.command(
    "size",
    help=_(
        "How much kdoctor's cache holds, by kind (kernels, images, roots, sysroots, lists, "
        "builds, logs, other), adding up to du -sb of it."
    ),
)
def cache_size(verbose: bool = CacheVerboseOpt, json_out: bool = JsonOpt) -> None:
    """How much kdoctor's cache holds, by kind, adding up to du -sb of it."""
    from kdoctor.pipeline.cache_usage import measure
    from kdoctor.render import jsonout
    from kdoctor.render import text as render
    from kdoctor.render.kernels_text import usage_lines

    system = options.new_system()
    ctx = options.context(system, None, None, None)
    usage = measure(system, ctx.cache_dir)
    if json_out:
        jsonout.dump_json(jsonout.document(usage.to_json()))
    else:
        out = render.console()
        if usage.failed:
            said = "; ".join(usage.unreadable)
            out.print(
                "✘ " + _("could not measure the cache: {error}").format(error=said), markup=False
            )
        else:
            for line in usage_lines(usage, verbose=verbose):
                out.print(line, markup=False)
    raise typer.Exit(EXIT_FAIL if usage.failed else EXIT_OK)


def _removals(
    system: System, cache_dir: str, kernel: Optional[str], cached: list[str], built: list[str]
) -> list[str]:
    """Every path ``cache clean`` would remove (a kernel's record before its tree)."""
    paths: list[str] = []
    for release in [kernel] if kernel else cached:
        if release in built:
            series = series_of_spec(release) or release
            found = recorded(system, cache_dir, series)
            paths += [rust_kernel_record(cache_dir, series), rust_kernel_tree(cache_dir, series)]
            if found is not None:
                paths.append(kernel_test_dir(cache_dir, found.release))
        else:
            paths += [release_dir(cache_dir, release), kernel_test_dir(cache_dir, release)]
    if kernel is None:
        paths.append(apt_root(cache_dir))
        for name in _roots(system, cache_dir):
            paths += [toolchain_root_record(cache_dir, name), toolchain_root(cache_dir, name)]
    return paths


def _roots(system: System, cache_dir: str) -> list[str]:
    return [
        name
        for name in system.listdir(toolchain_roots_dir(cache_dir))
        if not name.endswith((".lock", ".json")) and not name.startswith(PARTIAL)
    ]


@cache_app.command(
    "clean",
    help=_(
        "Remove cached kernels (and their test builds; without --kernel also the apt lists and "
        "the toolchain roots), after showing what and how much and asking."
    ),
)
def cache_clean(
    kernel: Optional[str] = typer.Option(
        None,
        "--kernel",
        metavar=_("RELEASE"),
        help=_("Only this release (default: every cached kernel)."),
        callback=options.kernel_value,
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help=_("Show what would be removed and its size; remove nothing.")
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help=_("Remove without asking.")),
) -> None:
    """Remove cached kernels (and their test builds; without --kernel also the apt lists and the
    toolchain roots), after showing what and how much and asking."""
    from kdoctor.pipeline.cache_usage import measure, sizes_of
    from kdoctor.render import text as render
    from kdoctor.render.kernels_text import size_lines
    from kdoctor.render.words import human

    system = options.new_system()
    ctx = options.context(system, None, None, None)
    out = render.console()
    system.makedirs(ctx.cache_dir)  # a cache kdoctor cannot use is named (exit 3), not skipped
    kernels = kernels_dir(ctx.cache_dir)
    cached = [n for n in system.listdir(kernels) if system.is_dir(os.path.join(kernels, n))]
    built = [spec_of(n) for n in built_series(system, ctx.cache_dir)]
    cached += built
    if kernel is not None and kernel not in cached:
        missing = _("no cached kernel {release}; cached: {cached}")
        out.print(
            missing.format(release=kernel, cached=", ".join(cached) or _("none")), markup=False
        )
        raise typer.Exit(EXIT_USAGE)
    sizes = sizes_of(system, ctx.cache_dir, _removals(system, ctx.cache_dir, kernel, cached, built))
    if not sizes:
        out.print(_("nothing to remove"), markup=False)
        raise typer.Exit(EXIT_OK)
    total = sum(size for _path, size in sizes)
    header = _("would remove from {path}:") if dry_run else _("to remove from {path}:")
    out.print(header.format(path=ctx.cache_dir), markup=False)
    for line in size_lines(sizes, total):
        out.print(line, markup=False)
    if dry_run:
        out.print(_("nothing removed (--dry-run)"), markup=False)
        raise typer.Exit(EXIT_OK)
    if not yes:
        if not sys.stdin.isatty():
            refusal = _("not removing without --yes (no terminal to ask on); try --dry-run")
            render.console(stderr=True).print(refusal, markup=False)
            raise typer.Exit(EXIT_USAGE)
        if not ask.confirm(_("Remove these ({size})?").format(size=human(total))):
            out.print(_("nothing removed"), markup=False)
            raise typer.Exit(EXIT_DECLINED)
    for release in [kernel] if kernel else cached:
        if release in built:
            _clean_rust_kernel(system, ctx.cache_dir, release, out.print)
            continue
        with system.lock(tree_dir(ctx.cache_dir, release), on_wait=out.print):
            system.remove_tree(release_dir(ctx.cache_dir, release))
            system.remove_tree(kernel_test_dir(ctx.cache_dir, release))
        out.print(_("removed kernel {release}").format(release=release), markup=False)
    if kernel is None:
        system.remove_tree(apt_root(ctx.cache_dir))
        out.print(_("removed the private apt lists"), markup=False)
        for name in _roots(system, ctx.cache_dir):
            with system.lock(toolchain_root(ctx.cache_dir, name), on_wait=out.print):
                system.remove_tree(toolchain_root_record(ctx.cache_dir, name))
                system.remove_tree(toolchain_root(ctx.cache_dir, name))
            out.print(_("removed the toolchain root {name}").format(name=name), markup=False)
    holds = _("the cache now holds {size} (kdoctor cache size -v tells what)")
    out.print(holds.format(size=human(measure(system, ctx.cache_dir).total)), markup=False)
