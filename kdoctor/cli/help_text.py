"""Each command's help: what it does in one line, a few words more, and examples to copy.

Kept as data so the help and its tests read the same examples (each must parse as a command)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from kdoctor.i18n import N_, _

#: (command line, what it does); each example's line (at most 76 columns, tests/test_cli_help.py)
#: fits an 80-column help, so no command is broken across lines
Example = tuple[str, str]

EXAMPLES: dict[str, tuple[Example, ...]] = {
    "check": (
        ("kdoctor check", N_("every check, one line each")),
        ("kdoctor check bindgen toolchain", N_("only these two")),
        ("kdoctor check --json -v", N_("JSON, with every probe")),
    ),
    "fix": (
        ("kdoctor fix --dry-run", N_("show the plan; nothing changes")),
        ("kdoctor fix --yes", N_("apply it, then build and verify")),
        ("kdoctor fix --yes --rust distro", N_("with the distribution's Rust")),
    ),
    "build": (
        ("kdoctor build", N_("the module here, else hello-world")),
        ("kdoctor build --module-dir ~/mymod -v", N_("another module; make's output")),
    ),
    "verify": (
        ("kdoctor verify", N_("in a VM, the target kernel")),
        ("kdoctor verify --console", N_("and watch the VM's console")),
        ("kdoctor verify --ko my.ko --expect loaded", N_("another module, its message")),
    ),
    "list": (
        ("kdoctor list", N_("id and title of every check")),
        ("kdoctor list --json", N_("the same, as JSON")),
    ),
    "report": (
        ("kdoctor report", N_("the report, to paste into a question")),
        ("kdoctor report --output report.md", N_("the same, into a file")),
    ),
    "fetch-image": (("kdoctor fetch-image 6.1.0-50-amd64", N_("that kernel's image")),),
    "build-sysroot": (("kdoctor build-sysroot", N_("the module's Rust sysroot, for the target")),),
}


#: below this many columns the help is Click's plain text: Rich's tables would cut option names
NARROW_COLUMNS = 80


def plain_help() -> bool:
    """Whether the help is plain text (a terminal, or ``COLUMNS``, narrower than 80)."""
    return shutil.get_terminal_size().columns < NARROW_COLUMNS


def command_help(summary: str, detail: str, examples: Sequence[Example], *, plain: bool) -> str:
    """The help of one command: its summary line, a paragraph, then one example per line, each
    a whole command (with a shell comment saying what it does, so a pasted line still runs)."""
    width = max(len(command) for command, _what in examples) + 2
    lines = [f"  {command.ljust(width)}# {_(what)}" for command, what in examples]
    # plain help rewraps paragraphs except those marked \b; Rich's keeps lines, and the detail
    # paragraph before the examples keeps their indentation (the paragraphs after the first are
    # dedented as one block)
    keep = "\b\n" if plain else ""
    examples_head = _("Examples:")
    return f"{summary}\n\n{detail}\n\n{keep}{examples_head}\n" + "\n".join(lines)


def helps(plain: bool) -> dict[str, str]:
    """Every command's help, by command name."""
    return {
        "check": command_help(
            _("Diagnose everything that stands between this machine and a loaded module."),
            _(
                "One line per check, the skipped ones sharing one; a problem also gets what "
                "to do, each command once. -v gives every check its details and shows every "
                "probe."
            ),
            EXAMPLES["check"],
            plain=plain,
        ),
        "fix": command_help(
            _("Install or patch what is missing, then build and verify the module."),
            _(
                "Shows the plan and asks before changing anything (--yes does not ask). "
                "-v gives every check its details and shows every probe."
            ),
            EXAMPLES["fix"],
            plain=plain,
        ),
        "build": command_help(
            _("Build the module with the toolchain and variables kdoctor diagnosed."),
            _("make's output goes to a log; -v also shows it as it runs, and every probe."),
            EXAMPLES["build"],
            plain=plain,
        ),
        "verify": command_help(
            _("Load the built module, unload it, and confirm its messages in order."),
            _("--console shows the VM's console as it runs; -v shows every probe."),
            EXAMPLES["verify"],
            plain=plain,
        ),
        "list": command_help(
            _("List the checks and their ids."),
            _("Any of these ids can follow kdoctor check."),
            EXAMPLES["list"],
            plain=plain,
        ),
        "report": command_help(
            _("A Markdown report of this machine to paste when asking for help."),
            _(
                "kdoctor's version, the distribution, the kernels, the toolchain, every check, "
                "the last build and the plan kdoctor fix would apply (nothing is changed); "
                "your home directory and user name are replaced."
            ),
            EXAMPLES["report"],
            plain=plain,
        ),
        "fetch-image": command_help(
            _("Download and unpack a kernel image into kdoctor's cache (for VM verification)."),
            _("kdoctor fix and kdoctor verify fetch the image they need themselves."),
            EXAMPLES["fetch-image"],
            plain=plain,
        ),
        "build-sysroot": command_help(
            _("Build only the module's Rust sysroot (make sysroot), into kdoctor's cache."),
            _(
                "kdoctor fix runs it while the rest of the packages install; "
                "kdoctor build builds the sysroot itself when it is missing."
            ),
            EXAMPLES["build-sysroot"],
            plain=plain,
        ),
    }
