#!/usr/bin/env bash
# Install Azurite (npm `azurite`, Azure Storage emulator) for the BulkWriter's
# Azure tests. Idempotent: does nothing when the pinned version is installed.
#
# Where it goes: a project-local npm prefix, $REPO/.azurite (override with
# AZURITE_DIR); nothing global is touched. The folder carries its own
# .gitignore. The tests run $AZURITE_DIR/node_modules/.bin/azurite-blob
# (tests/services/azurite.py) and skip when it is absent.
#
# Usage (CI):  bash tests/services/install_azurite.sh
# Needs:       node >= 18 and npm on PATH.
set -euo pipefail

AZURITE_VERSION="${AZURITE_VERSION:-3.37.0}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="${AZURITE_DIR:-$REPO/.azurite}"
BIN="$DIR/node_modules/.bin/azurite-blob"

installed_version() {
    node -e "console.log(require('$DIR/node_modules/azurite/package.json').version)" 2>/dev/null || true
}

if ! command -v npm >/dev/null 2>&1; then
    echo "npm is not installed: install Node.js 18+ (apt-get install nodejs npm) and run again" >&2
    exit 1
fi

if [[ -x "$BIN" && "$(installed_version)" == "$AZURITE_VERSION" ]]; then
    echo "azurite@$AZURITE_VERSION already installed in $DIR"
    exit 0
fi

mkdir -p "$DIR"
[[ -f "$DIR/.gitignore" ]] || echo '*' >"$DIR/.gitignore"
[[ -f "$DIR/package.json" ]] || echo '{"name": "vts-test-azurite", "private": true}' >"$DIR/package.json"
npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION"
"$BIN" --version >/dev/null
echo "installed azurite@$(installed_version) in $DIR ($BIN)"
