#!/bin/bash
# Install the project and its test requirements with the pinned versions,
# prepare the test databases and run the tests. Arguments go to `stestr run`.
# Uses the active virtualenv if there is one, otherwise ./.venv.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' \
        2>/dev/null; then
    if ! .venv/bin/python -c '' 2>/dev/null; then
        "$(command -v python3.11 || command -v python3)" -m venv --clear .venv
    fi
    # So that python, stestr and subunit2csv below are the ones in .venv.
    export VIRTUAL_ENV=$PWD/.venv PATH=$PWD/.venv/bin:$PATH
fi

# NOTE: the same truth table as tests/base.py's ci_enabled(): any value of CI
# but unset, empty, 0, false, no or off (in any case) means CI.
ci_enabled() {
    case "$(printf '%s' "${CI:-}" | tr '[:upper:]' '[:lower:]')" in
        '' | 0 | false | no | off) return 1 ;;
        *) return 0 ;;
    esac
}

python -m pip install -c upper-constraints.txt \
    -r requirements.txt -r test-requirements.txt .
tools/test-setup.sh

rc=0
stestr run "$@" || rc=$?

if ci_enabled; then
    # NOTE: in CI a skipped test means a database backend did not run, and
    # that must not pass.
    skipped=$({ stestr last --subunit || true; } \
        | subunit2csv --no-passthrough | python -c 'import csv, sys
for row in csv.DictReader(sys.stdin):
    if row["status"] == "skip":
        print("  " + row["test"])')
    if [ -n "$skipped" ]; then
        echo "$skipped" >&2
        echo "run-tests.sh: FAILED: CI=${CI} and the tests above were" \
            "skipped; every database backend must run in CI." >&2
        exit 1
    fi
fi
exit "$rc"
