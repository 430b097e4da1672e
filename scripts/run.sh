#!/usr/bin/env bash
# One command: set up and run the app on the embedded default (SQLite) with demo data loaded.
# Open http://127.0.0.1:8000 and sign in as hq_officer / xiaobao-demo (other users: see README).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export XIAOBAO_DEMO=1
export XIAOBAO_DATABASE_URL=${XIAOBAO_DATABASE_URL:-sqlite:///./var/demo.db}
mkdir -p var
.venv/bin/xiaobao db upgrade
.venv/bin/xiaobao demo --if-empty
exec .venv/bin/xiaobao serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}"
