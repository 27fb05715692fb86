#!/usr/bin/env bash
# kdoctor onboarding: a fresh Debian/Ubuntu machine with only python3 → a built Rust kernel
# module, verified by loading it (in a VM by default). Safe to run again: every step checks
# first and does nothing when it is already done.
#
#   ./onboard.sh [kdoctor fix options...]     e.g. ./onboard.sh --rust distro
#   ./onboard.sh --help                       this text (installs nothing)
#
# Environment: KDOCTOR_VENV (default ~/.local/share/kdoctor/venv), KDOCTOR_LINK_DIR (where the
# `kdoctor` command is linked, default ~/.local/bin; empty: no link), plus everything kdoctor
# honours (KDIR, CC, CLANG, RUSTC, BINDGEN, LIBCLANG_PATH, KDOCTOR_RUST, KDOCTOR_CACHE).
# KDOCTOR_TIMELINE=FILE appends when each step (and each stage of kdoctor fix) started and
# ended to FILE, as JSON lines: a profile of the onboarding.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${KDOCTOR_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/kdoctor/venv}
link_dir=${KDOCTOR_LINK_DIR-$HOME/.local/bin}
did=()
# bold only on a terminal that wants it (https://no-color.org)
# what the script says comes from kdoctor's catalogs, in the person's language (LANG, ...,
# or --lang among the arguments): python3 and the source tree are all it needs
lang_args=()
prev=""
for arg in "$@"; do
    case $arg in --lang=*) lang_args=("$arg") ;; esac
    [ "$prev" != --lang ] || lang_args=(--lang "$arg")
    prev=$arg
done
words() {
    PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}" \
        python3 -m kdoctor.onboard_words ${lang_args[@]+"${lang_args[@]}"} "$@" || echo "$1"
}
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
    say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
else
    say() { printf '==> %s\n' "$*"; }
fi

for arg in "$@"; do
    case $arg in
    -h|--help)
        # the text of the comment above, in the person's language (the comment itself when
        # python3 cannot say them)
        help_text=$(words help 2>/dev/null)
        if [ "$help_text" != help ]; then
            printf '%s\n' "$help_text"
        else
            sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
        fi
        echo
        if [ -x "$venv/bin/kdoctor" ]; then
            words options
            "$venv/bin/kdoctor" fix --help ${lang_args[@]+"${lang_args[@]}"}
        else
            words options-later
        fi
        exit 0 ;;
    --) break ;;
    esac
done

timeline=${KDOCTOR_TIMELINE:-}
now() { date +%s.%N; }
# span WHAT START: the step WHAT ran from START until now
span() {
    [ -z "$timeline" ] || printf '{"what": "onboard: %s", "start": %s, "end": %s}\n' \
        "$1" "$2" "$(now)" >> "$timeline" || true
}
started=$(now)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. python3 with venv support (Debian and Ubuntu split it into python3-venv)
t=$(now)
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    say "$(words venv-package)"
    command -v apt-get >/dev/null || { words no-venv >&2; exit 1; }
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null \
      || { as_root apt-get update -q >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null; }
    did+=("$(words did-venv-package)")
    span "install python3-venv" "$t"
fi

# 2. a virtual environment with kdoctor from this checkout (reinstalled only when it changed)
if [ ! -x "$venv/bin/python" ]; then
    say "$(words creating venv="$venv")"
    t=$(now)
    python3 -m venv "$venv"
    span "create the venv" "$t"
    did+=("$(words did-venv venv="$venv")")
fi
stamp="$venv/.kdoctor-source"
# what identifies this checkout: git's commit and changes, else (an exported tree, or no git)
# the installable files' names, sizes and times
source_id=$(cd "$here" && {
    if git rev-parse HEAD 2>/dev/null; then git status --porcelain 2>/dev/null || true
    else find pyproject.toml kdoctor hello-world -type f ! -name '*.pyc' \
           -printf '%p %s %T@\n' 2>/dev/null | sort || true; fi
} | sha256sum | cut -c1-16)
if [ ! -x "$venv/bin/kdoctor" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$source_id" ]; then
    say "$(words installing venv="$venv")"
    t=$(now)
    # kdoctor's distribution is kdoctor-rust (`kdoctor` on the package index is another project);
    # a venv from before the rename holds it as `kdoctor`: removed first, so that no two
    # distributions own the same files
    if "$venv/bin/python" -m pip show kdoctor >/dev/null 2>&1; then
        "$venv/bin/python" -m pip uninstall -q -y --disable-pip-version-check kdoctor
    fi
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$here"
    span "pip install kdoctor" "$t"
    echo "$source_id" > "$stamp"
    did+=("$(words did-install)")
fi

# 3. the kdoctor command on the user's PATH (a link into the venv; never over a file of theirs)
link_note=""
if [ -n "$link_dir" ]; then
    link="$link_dir/kdoctor"
    if [ -L "$link" ] || [ ! -e "$link" ]; then
        if [ "$(readlink "$link" 2>/dev/null)" != "$venv/bin/kdoctor" ]; then
            mkdir -p "$link_dir" && ln -sfn "$venv/bin/kdoctor" "$link"
            did+=("$(words did-link link="$link" target="$venv/bin/kdoctor")")
        fi
        case ":$PATH:" in
        *":$link_dir:"*) ;;
        *) link_note=$(words not-on-path dir="$link_dir" command="export PATH=\"$link_dir:\$PATH\"") ;;
        esac
    else
        link_note=$(words not-a-link link="$link" target="$venv/bin/kdoctor")
    fi
fi

# 4. diagnose, provision, build and verify
say "kdoctor fix --yes $*"
set +e
t=$(now)
"$venv/bin/kdoctor" fix --yes "$@"
rc=$?
span "kdoctor fix --yes" "$t"
span "everything" "$started"
set -e

echo
if [ ${#did[@]} -gt 0 ]; then printf 'onboard: %s\n' "${did[@]}"; else echo "onboard: $(words in-place)"; fi
built=yes
for arg in "$@"; do [ "$arg" != --no-build ] || built=no; done
if [ $rc = 0 ]; then
    if [ $built = yes ]; then
        echo "onboard: $(words done target="$venv/bin/kdoctor")"
    else
        echo "onboard: $(words done-no-build target="$venv/bin/kdoctor")"
    fi
    [ -z "$link_note" ] || echo "onboard: $link_note"
else
    echo "onboard: $(words stopped status="$rc")" >&2
fi
exit $rc
