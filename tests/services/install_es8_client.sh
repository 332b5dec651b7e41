#!/usr/bin/env bash
# Install the real elasticsearch-py 8.x client into its own venv, $REPO/.venv-es8, so
# the tests can drive the Elasticsearch emulator with both client majors (the project
# venv pins 9.x; one venv cannot hold both). Idempotent. Small: the client and
# elastic-transport, no compiled code.
#
# Usage (CI):  bash tests/services/install_es8_client.sh
# Env:         PYTHON=/path/to/python3 (default: the project venv's python, else python3)
set -euo pipefail

SPEC="elasticsearch>=8.15,<9"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$REPO/.venv-es8"
PYTHON="${PYTHON:-$([[ -x "$REPO/.venv/bin/python" ]] && echo "$REPO/.venv/bin/python" || command -v python3)}"

if "$VENV/bin/python" -c 'import elasticsearch, sys; sys.exit(elasticsearch.__versionstr__.split(".")[0] != "8")' 2>/dev/null; then
    echo "elasticsearch 8.x client already installed in $VENV"
    exit 0
fi
"$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q "$SPEC"
"$VENV/bin/python" -c 'import elasticsearch; print("installed elasticsearch", elasticsearch.__versionstr__, "in", "'"$VENV"'")'
