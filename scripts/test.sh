#!/usr/bin/env bash
# The whole test suite from a fresh clone: the onboarding script provisions the machine (and
# proves the module builds and loads in a VM), then a virtual environment with kdoctor and its
# test tools runs ruff, mypy (strict) and pytest.
# Usage: scripts/test.sh [pytest args...]   (KDOCTOR_FAST=1 skips the slow e2e/matrix tests)
set -euo pipefail
cd "$(dirname "$0")/.."

# Provision this machine the way a user would: the onboarding script runs kdoctor fix --yes,
# which installs what is missing through the real package manager, builds hello-world and
# verifies it in a VM (the end-to-end proof). Then the few extras only the tests use.
if [ "${KDOCTOR_FAST:-}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== onboarding (provision, build, verify)"
    KDOCTOR_VENV=${KDOCTOR_ONBOARD_VENV:-$PWD/.venv-onboard} ./onboard.sh
    export KDOCTOR_PROVISIONED=1   # tests/test_fix_idempotent.py: a second fix plans nothing
    # cargo-web and librust-bitflags-dev: the cargo-driven fixtures (tests/test_cargo_modules_real.py);
    # debootstrap: Rust-enabled kernels' toolchain roots; time: peak memory (test_bounded_reads.py)
    TEST_EXTRAS=(debootstrap cpio kmod cargo-web librust-bitflags-dev time)
    missing=()
    for p in "${TEST_EXTRAS[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "== installing test-only packages: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
          || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
    fi
fi

VENV=${KDOCTOR_TEST_VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
# kdoctor's distribution is kdoctor-rust; a venv from before the rename holds it as `kdoctor`
if "$VENV/bin/python" -m pip show kdoctor >/dev/null 2>&1; then
    "$VENV/bin/python" -m pip uninstall -q -y --disable-pip-version-check kdoctor
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test,chroot]'
# the collection's own standards (tests/test_ansible_tooling.py): ansible-test comes with
# ansible-core (the test extra), ansible-lint is pinned here, outside the extras, for its many
# dependencies; ansible-test installs each sanity test's requirements itself (~/.ansible/test)
"$VENV/bin/python" -m pip install -q --disable-pip-version-check 'ansible-lint==26.11.0'

echo "== ruff"; "$VENV/bin/ruff" check kdoctor checks fixes tests scripts bench
echo "== mypy"; "$VENV/bin/mypy" kdoctor
echo "== pytest"
# the run ends with "real-machine tests": per marker (integration, e2e, matrix) how many ran,
# passed, failed and were skipped (tests/real_machine_summary.py); with CI=true a real-machine
# test that cannot run fails instead of skipping (tests/real_machine.py)
markers=()
[ "${KDOCTOR_FAST:-}" = 1 ] && markers=(-m "not e2e and not matrix")
"$VENV/bin/python" -m pytest "${markers[@]}" "$@"
