#!/usr/bin/env bash
# Regenerates test/fixtures/stats/*.json from SciPy reference implementations.
# Creates its own virtual environment under .venv/stats-fixtures (git-ignored) on first run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="$ROOT/.venv/stats-fixtures"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import scipy, numpy' >/dev/null 2>&1; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -r "$ROOT/scripts/stats-fixtures/requirements.txt"
fi
"$VENV/bin/python" "$ROOT/scripts/stats-fixtures/generate.py" --out "$ROOT/test/fixtures/stats" "$@"
