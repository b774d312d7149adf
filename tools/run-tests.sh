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

# What the legacy stack runs on 3.12 and 3.13 (about a quarter of the
# suite's time): walking the versions, bad input, both command lines
# (manage.py needs the getargspec shim there too) and the alembic-side
# tests.
LEGACY_SUBSET='tests\.(functional\.(test_migrations|test_bad_input|test_cli_backends|test_alembic_[a-z_]+)|unit\.(test_cli|test_manage|test_compat|test_alembic_[a-z_]+))\.'
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

# stack_settings NAME: sets VENV VERSION CONSTRAINTS INSTALL TEST_STACK and
# DEFAULT_TESTS (what stestr runs without arguments) for one stack.
stack_settings() {
    case $1 in
        py311)
            VENV=$MAIN_VENV VERSION=any CONSTRAINTS=upper-constraints.txt
            INSTALL='.[legacy]' TEST_STACK=legacy DEFAULT_TESTS= ;;
        py312 | py313)
            VENV=.venv-$1 VERSION=3.${1#py3} CONSTRAINTS=upper-constraints.txt
            INSTALL='.[legacy]' TEST_STACK=legacy
            DEFAULT_TESTS=$LEGACY_SUBSET ;;
        modern)
            VENV=.venv-modern VERSION=3.13
            CONSTRAINTS=upper-constraints-modern.txt INSTALL=.
            TEST_STACK=modern DEFAULT_TESTS=$MODERN_TESTS ;;
        *)
            say "unknown stack $1 in RUN_TESTS_STACKS (py311, py312," \
                "py313, modern)"
            return 2 ;;
    esac
}

# activate NAME: its virtualenv's python, stestr and subunit2csv come first.
activate() {
    stack_settings "$1"
    if [ -n "$VENV" ]; then
        export VIRTUAL_ENV=$PWD/$VENV PATH=$PWD/$VENV/bin:$PATH
    fi
}

# install_stack NAME: the virtualenv made and the stack installed in it;
# exits 3 if there is no Python for it. In a subshell, so that the stacks
# install side by side (mostly waiting on the package index).
install_stack() (
    local started=$SECONDS
    stack_settings "$1"
    if [ -n "$VENV" ]; then
        make_venv "$VENV" "$VERSION" || exit $?
    fi
    activate "$1"
    # NOTE: set -e does not hold in a function called with ||: every step
    # says itself how it failed.
    # NOTE: one more try after a failure, as a flaky package index is more
    # likely than a broken pin once these pins have installed before (CI
    # once lost the py313 stack to an install failure that did not recur).
    local try
    for try in 1 2; do
        python -m pip install -c "$CONSTRAINTS" -r requirements.txt \
            -r test-requirements.txt "$INSTALL" && break
        if [ "$try" = 2 ]; then
            exit 1
        fi
        say "$1: pip install failed; trying once more in 10 s"
        sleep 10
    done
    if [ "$TEST_STACK" = modern ]; then
        # NOTE: the modern stack is what a plain install gives.
        python tools/check_plain_install.py || exit 1
    fi
    say "== $1: $TEST_STACK stack installed in $((SECONDS - started)) s"
)

# test_stack NAME ARGS...: stestr run ARGS (or the stack's default tests).
test_stack() (
    local started=$SECONDS rc=0 name=$1
    activate "$name"
    shift
    say "== $TEST_STACK stack, $(python -V 2>&1), ${VIRTUAL_ENV:-$PWD}"
    if [ $# -eq 0 ] && [ -n "$DEFAULT_TESTS" ]; then
        set -- "$DEFAULT_TESTS"
    fi
    if ! NOVA_SCHEMA_TEST_STACK=$TEST_STACK stestr run "$@"; then
        rc=1
        echo "failed: $({ stestr failing --list 2>/dev/null || true; } \
            | paste -sd ' ')" >>"$LOGS/$name.why"
    fi
    if ! check_no_skips "$TEST_STACK stack, $(python -V 2>&1)"; then
        rc=1
        echo "skipped in CI (listed above)" >>"$LOGS/$name.why"
    fi
    say "== tests ran in $((SECONDS - started)) s, exit $rc"
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
for stack in $STACKS; do
    stack_settings "$stack" || exit 2
done

LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
declare -A installer
for stack in $STACKS; do
    install_stack "$stack" >"$LOGS/$stack" 2>&1 &
    installer[$stack]=$!
done
tools/test-setup.sh

failed=()
ready=()
declare -A why
for stack in $STACKS; do
    status=0
    wait "${installer[$stack]}" || status=$?
    if [ "$status" = 0 ]; then
        grep -E '^(run-tests\.sh: ==|pip install )' "$LOGS/$stack" >&2
        ready+=("$stack")
    elif [ "$status" = 3 ] && ! ci_enabled; then
        # NOTE: as a missing database server does outside CI.
        say "WARNING: $stack did not run: no Python for it"
    else
        cat "$LOGS/$stack" >&2
        say "$stack: installing failed (exit $status)"
        failed+=("$stack")
        why[$stack]="installing failed (exit $status): $(grep -v '^\s*$' \
            "$LOGS/$stack" | tail -n 1)"
    fi
done

for stack in "${ready[@]}"; do
    if ! test_stack "$stack" "$@"; then
        failed+=("$stack")
        why[$stack]=$(paste -sd ';' "$LOGS/$stack.why" 2>/dev/null \
            | sed 's/;/; /g')
    fi
done
# NOTE: the summary comes last, where a truncated CI log still shows it;
# the very last line names each failed stack's cause too, as a CI log cut
# down to its last line once lost the line before it.
if [ ${#failed[@]} -gt 0 ]; then
    causes=()
    for stack in "${failed[@]}"; do
        say "$stack: ${why[$stack]}"
        causes+=("$stack (${why[$stack]:0:300})")
    done
    say "FAILED: ${causes[*]}"
    exit 1
fi
