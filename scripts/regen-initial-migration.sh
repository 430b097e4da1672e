#!/usr/bin/env bash
# Regenerate 0001_initial from the models (only while nothing has been released).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/0001_initial.py
mv migrations/versions/0002_audit_guard_fts.py "$tmp/"
XIAOBAO_DATABASE_URL="sqlite:///$tmp/regen.db" .venv/bin/alembic revision --autogenerate -m initial --rev-id 0001 >/dev/null
mv "$tmp/0002_audit_guard_fts.py" migrations/versions/
rm -rf "$tmp"
echo "regenerated migrations/versions/0001_initial.py"
