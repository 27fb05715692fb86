#!/usr/bin/env bash
# The whole test suite from a fresh clone: system packages the integration tests use,
# a virtual environment with kdoctor and its test tools, then ruff, mypy (strict) and pytest.
# Usage: scripts/test.sh [pytest args...]   (KDOCTOR_FAST=1 skips the slow e2e/matrix tests)
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the integration and end-to-end tests run for real.
TEST_PACKAGES=(clang llvm libclang-dev bindgen rustc-web rust-web-src make gcc binutils kmod
               linux-headers-amd64 qemu-system-x86 busybox-static cpio debootstrap)
if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    missing=()
    for p in "${TEST_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "== installing test packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

VENV=${KDOCTOR_TEST_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test]'

echo "== ruff"; "$VENV/bin/ruff" check kdoctor checks fixes tests scripts
echo "== mypy"; "$VENV/bin/mypy" kdoctor checks fixes
echo "== pytest"
markers=()
[ "${KDOCTOR_FAST:-}" = 1 ] && markers=(-m "not e2e and not matrix")
"$VENV/bin/python" -m pytest "${markers[@]}" "$@"
