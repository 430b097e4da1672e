#!/usr/bin/env bash
# Shared setup for scripts/run.sh and scripts/test.sh: a virtualenv with the pinned dependencies
# and the front-end libraries from npm. Safe to run repeatedly.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras=${1:-}
stamp=".venv/.installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
  touch "$stamp"
fi
if [ ! -f src/xiaobao/web/static/vendor/echarts.min.js ] || [ package.json -nt src/xiaobao/web/static/vendor/echarts.min.js ]; then
  npm install --no-audit --no-fund --loglevel=error
fi
