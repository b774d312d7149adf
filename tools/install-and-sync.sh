#!/bin/bash
# Install the project with the MySQL and PostgreSQL drivers (its extras) into
# ./.venv with the pinned versions, sync the embedded SQLite database to the
# latest version and print that version.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! .venv/bin/python -c '' 2>/dev/null; then
    "$(command -v python3.11 || command -v python3)" -m venv --clear .venv
fi
.venv/bin/python -m pip install -c upper-constraints.txt '.[legacy,mysql,postgresql]'
.venv/bin/nova-schema-manage db sync
.venv/bin/nova-schema-manage db version
