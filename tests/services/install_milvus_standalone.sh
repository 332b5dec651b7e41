#!/usr/bin/env bash
# Install the real Milvus 2.3.5 standalone (PyPI package `milvus==2.3.5`, which
# provides the `milvus-server` launcher) for the test suite. Idempotent.
#
# Where it goes: its own venv, $REPO/.venv-milvus-server (override with
# MILVUS_SERVER_VENV). The project venv ($REPO/.venv: pymilvus 3.0.2,
# milvus-lite 3.2.2) is never touched. The wheel's metadata declares no
# required dependencies (only the `client` extra, which would pin
# pymilvus<2.4), so it would not conflict today, but a separate venv keeps the
# project's environment byte-for-byte as pinned and makes the server trivial to
# remove; the tests only run it as a subprocess, they never import it.
#
# The script also unpacks the server's lzma-compressed binaries once into
# $VENV/milvus-bin (the launcher links them into each data dir, which saves the
# several seconds `milvus-server` otherwise spends decompressing on every
# start).
#
# Usage (CI):  bash tests/services/install_milvus_standalone.sh
# Env:         PYTHON=/path/to/python3.11 (interpreter for the venv; default:
#              the project venv's python, else python3.11, else python3)
#              MILVUS_SERVER_VENV=/path (default $REPO/.venv-milvus-server)
set -euo pipefail

MILVUS_VERSION="2.3.5"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${MILVUS_SERVER_VENV:-$REPO/.venv-milvus-server}"

if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$REPO/.venv/bin/python" ]]; then
        PYTHON="$REPO/.venv/bin/python"
    elif command -v python3.11 >/dev/null 2>&1; then
        PYTHON="$(command -v python3.11)"
    else
        PYTHON="$(command -v python3)"
    fi
fi

installed_version() {
    "$VENV/bin/python" - <<'EOF' 2>/dev/null || true
import importlib.metadata as m
print(m.version("milvus"))
EOF
}

if [[ -x "$VENV/bin/milvus-server" && "$(installed_version)" == "$MILVUS_VERSION" \
      && -f "$VENV/milvus-bin/.complete" ]]; then
    echo "milvus==$MILVUS_VERSION already installed in $VENV"
    exit 0
fi

# Report what the wheel requires (informational; see header for the decision).
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: \
    "milvus==$MILVUS_VERSION" -d "$TMP"
WHEEL="$(ls "$TMP"/milvus-"$MILVUS_VERSION"-*.whl)"
echo "milvus==$MILVUS_VERSION requires (non-extra):"
"$PYTHON" - "$WHEEL" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
    reqs = [l.split(":", 1)[1].strip() for l in z.read(meta).decode().splitlines()
            if l.startswith("Requires-Dist:")]
hard = [r for r in reqs if "extra ==" not in r]
print("  " + (", ".join(hard) if hard else "(none)"))
EOF

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
fi
# Keep the venv out of git (what `python -m venv` does itself from 3.13 on).
[[ -f "$VENV/.gitignore" ]] || echo '*' >"$VENV/.gitignore"
# --no-deps: the wheel has no required deps; never pull the `client` extra.
"$VENV/bin/python" -m pip install --quiet --no-deps "$WHEEL"

# Pre-unpack the binaries (same layout and .md5 markers milvus-server writes).
rm -rf "$VENV/milvus-bin"
"$VENV/bin/python" - "$VENV/milvus-bin" <<'EOF'
import os, sys
import milvus
target = sys.argv[1]
milvus._initialize_data_files(target)  # writes target/bin/*
open(os.path.join(target, ".complete"), "w").close()
EOF

echo "installed milvus==$(installed_version) in $VENV ($VENV/bin/milvus-server)"
