#!/bin/bash
# Install the project and its test requirements with the pinned versions,
# prepare the test databases and run the tests, on each stack and Python
# this project supports (README, "Which stack runs where"):
#
#   py311   legacy stack, Python 3.11, ./.venv (or the active virtualenv):
#           the whole suite
#   py312   legacy stack, Python 3.12, ./.venv-py312: LEGACY_SUBSET
#   py313   legacy stack, Python 3.13, ./.venv-py313: LEGACY_SUBSET
#   modern  modern stack (SQLAlchemy 2.0, no sqlalchemy-migrate), Python
#           3.13, ./.venv-modern: the test_alembic_* modules, after a check
#           that a plain `pip install .` resolves SQLAlchemy 2
#
# The legacy stack is pinned in upper-constraints.txt, the modern one in
# upper-constraints-modern.txt. Arguments go to `stestr run`; with arguments
# only py311 runs, unless RUN_TESTS_STACKS names the stacks to run
# (RUN_TESTS_STACKS=modern tools/run-tests.sh test_alembic_read_only).
set -euo pipefail
cd "$(dirname "$0")/.."

# What the legacy stack runs on 3.12 and 3.13: walking the versions, bad
# input, both command lines (manage.py needs the getargspec shim there),
# the drift check and the alembic-side tests.
LEGACY_SUBSET='tests\.(functional\.(test_migrations|test_bad_input|test_cli_backends|test_check|test_alembic_[a-z_]+)|unit\.(test_cli|test_manage|test_compat|test_alembic_[a-z_]+))\.'
MODERN_TESTS='tests\.(unit|functional)\.test_alembic_'

if [ $# -eq 0 ]; then
    STACKS=${RUN_TESTS_STACKS:-py311 py312 py313 modern}
else
    STACKS=${RUN_TESTS_STACKS:-py311}
fi

# NOTE: the same truth table as tests/base.py's ci_enabled(): any value of CI
# but unset, empty, 0, false, no or off (in any case) means CI.
ci_enabled() {
    case "$(printf '%s' "${CI:-}" | tr '[:upper:]' '[:lower:]')" in
        '' | 0 | false | no | off) return 1 ;;
        *) return 0 ;;
    esac
}

say() { echo "run-tests.sh: $*" >&2; }

# find_python 3.12: a python3.12 that runs, from PATH or else from pyenv's
# installed versions (whose shims only run the active version).
find_python() {
    local version=$1 candidate
    if "python$version" -c '' 2>/dev/null; then
        command -v "python$version"
        return 0
    fi
    if command -v pyenv >/dev/null; then
        for candidate in $(ls -d "$(pyenv root)/versions/$version".* \
                2>/dev/null | sort -rV); do
            if "$candidate/bin/python$version" -c '' 2>/dev/null; then
                echo "$candidate/bin/python$version"
                return 0
            fi
        done
    fi
    return 1
}

# make_venv DIR VERSION: DIR holds a virtualenv of Python VERSION (with
# VERSION "any", whatever virtualenv is there, else one of Python 3.11 or,
# lacking it, python3: the README's one-Python set-up).
make_venv() {
    local dir=$1 version=$2 python
    if [ "$version" = any ]; then
        "$dir/bin/python" -c '' 2>/dev/null && return 0
        python=$(find_python 3.11 || command -v python3)
    else
        if "$dir/bin/python" -c "import sys
sys.exit(sys.version_info[:2] != tuple(map(int, '$version'.split('.'))))" \
                2>/dev/null; then
            return 0
        fi
        if ! python=$(find_python "$version"); then
            say "Python $version not found (on PATH or in pyenv)"
            return 3
        fi
    fi
    "$python" -m venv --clear "$dir"
}

# In CI a skipped test means a database backend did not run, and that must
# not pass.
check_no_skips() {
    local stack=$1 skipped=
    if ci_enabled; then
        skipped=$({ stestr last --subunit || true; } \
            | subunit2csv --no-passthrough | python -c 'import csv, sys
for row in csv.DictReader(sys.stdin):
    if row["status"] == "skip":
        print("  " + row["test"])')
    fi
    if [ -n "$skipped" ]; then
        echo "$skipped" >&2
        say "FAILED: CI=${CI} and the tests above were skipped on" \
            "$stack; every database backend must run in CI."
        return 1
    fi
}

# run_stack NAME VENV PYTHON_VERSION CONSTRAINTS INSTALL TEST_STACK ARGS...
# In a subshell: its venv's python, stestr and subunit2csv come first.
# Exits 3 if there is no Python for it.
run_stack() (
    local name=$1 venv=$2 version=$3 constraints=$4 install=$5 stack=$6
    shift 6
    local started=$SECONDS rc=0
    say "== $name: $stack stack, Python $version, ${venv:-${VIRTUAL_ENV:-the active virtualenv}}"
    if [ -n "$venv" ]; then
        make_venv "$venv" "$version" || exit $?
        export VIRTUAL_ENV=$PWD/$venv PATH=$PWD/$venv/bin:$PATH
    fi
    # NOTE: set -e does not hold in a function called with ||: every step
    # says itself how it failed.
    python -m pip install -c "$constraints" -r requirements.txt \
        -r test-requirements.txt "$install" || exit 1
    if [ "$name" = modern ]; then
        # NOTE: the modern stack is what a plain install gives.
        python tools/check_plain_install.py || exit 1
    fi
    NOVA_SCHEMA_TEST_STACK=$stack stestr run "$@" || rc=$?
    check_no_skips "$name" || rc=1
    say "== $name: exit $rc after $((SECONDS - started)) s"
    exit "$rc"
)

# The main stack runs where it always has: the active virtualenv, else
# ./.venv.
if python3 -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' \
        2>/dev/null; then
    MAIN_VENV=
else
    MAIN_VENV=.venv
fi

tools/test-setup.sh

ARGS=("$@")
failed=()
for stack in $STACKS; do
    status=0
    case $stack in
        py311)
            run_stack py311 "$MAIN_VENV" any upper-constraints.txt \
                '.[legacy]' legacy "${ARGS[@]}" || status=$? ;;
        py312 | py313)
            run_stack "$stack" ".venv-$stack" "3.${stack#py3}" \
                upper-constraints.txt '.[legacy]' legacy \
                "${ARGS[@]:-$LEGACY_SUBSET}" || status=$? ;;
        modern)
            run_stack modern .venv-modern 3.13 upper-constraints-modern.txt \
                . modern "${ARGS[@]:-$MODERN_TESTS}" || status=$? ;;
        *)
            say "unknown stack $stack in RUN_TESTS_STACKS (py311, py312," \
                "py313, modern)"
            exit 2 ;;
    esac
    if [ "$status" = 3 ] && ! ci_enabled; then
        # NOTE: as a missing database server does outside CI.
        say "WARNING: $stack did not run: no Python for it"
    elif [ "$status" != 0 ]; then
        failed+=("$stack")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    say "FAILED: ${failed[*]}"
    exit 1
fi
