"""What ``./onboard.sh`` says, in the person's language.

The script runs before kdoctor is installed, so it asks this module with the system's python3
and the source tree on ``PYTHONPATH`` (standard library only, Python 3.9):

    python3 -m kdoctor.onboard_words [--lang L] KEY [NAME=VALUE ...]

prints the message ``KEY`` with its ``{NAME}`` placeholders filled in. An unknown key or a
missing value is an error (exit 2), so a typo in the script fails its tests.
"""

from __future__ import annotations

import os
import sys

from kdoctor import i18n
from kdoctor.i18n import N_, _

MESSAGES = {
    # Translators: onboard.sh --help; keep the command lines and the variables' names as they are
    "help": N_(
        "kdoctor onboarding: a fresh Debian/Ubuntu machine with only python3 → a built\n"
        "Rust kernel module, verified by loading it (in a VM by default). Safe to run\n"
        "again: every step checks first and does nothing when it is already done.\n"
        "\n"
        "  ./onboard.sh [kdoctor fix options...]   e.g. ./onboard.sh --rust distro\n"
        "  ./onboard.sh --help                     this text (installs nothing)\n"
        "\n"
        "Environment: KDOCTOR_VENV (default ~/.local/share/kdoctor/venv),\n"
        "KDOCTOR_LINK_DIR (where the `kdoctor` command is linked, default ~/.local/bin;\n"
        "empty: no link), plus everything kdoctor honours (KDIR, CC, CLANG, RUSTC,\n"
        "BINDGEN, LIBCLANG_PATH, KDOCTOR_RUST, KDOCTOR_CACHE). KDOCTOR_TIMELINE=FILE\n"
        "appends when each step (and each stage of kdoctor fix) started and ended to\n"
        "FILE, as JSON lines: a profile of the onboarding."
    ),
    "venv-package": N_("installing python3-venv (the only thing needed before kdoctor can run)"),
    "no-venv": N_("python3 lacks venv support; install it, then rerun"),
    "did-venv-package": N_("installed python3-venv"),
    "creating": N_("creating {venv}"),
    "did-venv": N_("created the virtual environment {venv}"),
    "installing": N_("installing kdoctor into {venv}"),
    "did-install": N_("installed kdoctor"),
    "did-link": N_("linked {link} -> {target} (undo: rm {link})"),
    "not-on-path": N_("{dir} is not on your PATH; add it: {command}"),
    "not-a-link": N_("{link} exists and is not a link; left alone (kdoctor is at {target})"),
    "in-place": N_("python side already in place"),
    "done": N_("done — the module is built and verified. kdoctor is at {target}"),
    "done-no-build": N_(
        "done — the machine is provisioned (--no-build: nothing built). kdoctor is at {target}"
    ),
    "stopped": N_(
        "kdoctor fix stopped (exit {status}); the messages above say why. "
        "Rerun ./onboard.sh when fixed."
    ),
    "options": N_("Options (passed to kdoctor fix):"),
    "options-later": N_(
        'Options are those of `kdoctor fix` (see README.md, "kdoctor fix"); they are listed '
        "here once kdoctor is installed."
    ),
}


def say(key: str, values: dict[str, str]) -> str:
    return _(MESSAGES[key]).format(**values)


def main(argv: list[str]) -> int:
    lang = i18n.take_lang(argv)
    i18n.activate(i18n.resolve(lang, os.environ), cli=False)
    if not argv or argv[0] not in MESSAGES:
        sys.stderr.write(f"onboard_words: unknown message {argv[:1]}; known: {list(MESSAGES)}\n")
        return 2
    values = dict(pair.split("=", 1) for pair in argv[1:] if "=" in pair)
    try:
        print(say(argv[0], values))
    except KeyError as missing:
        sys.stderr.write(f"onboard_words: {argv[0]} needs {missing}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
