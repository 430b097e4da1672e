#!/usr/bin/env bash
# One command: set up and run the whole test suite with its quality gates.
# PostgreSQL (127.0.0.1:5432) and Chromium (/usr/bin/chromium) are used when present; with CI set they are
# required and the tests that need them fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
export PYTHONHASHSEED=0
echo "== ruff"; .venv/bin/ruff check src tests bench migrations
echo "== ruff format"; .venv/bin/ruff format --check src tests bench migrations
echo "== mypy"; .venv/bin/mypy src/xiaobao
echo "== alembic check (sqlite)"
tmpdb=$(mktemp -d)
XIAOBAO_DATABASE_URL="sqlite:///$tmpdb/check.db" XIAOBAO_SECRET_KEY=check-only-secret-0123456789 \
  .venv/bin/xiaobao db upgrade >/dev/null
XIAOBAO_DATABASE_URL="sqlite:///$tmpdb/check.db" XIAOBAO_SECRET_KEY=check-only-secret-0123456789 .venv/bin/xiaobao db check
rm -rf "$tmpdb"
if .venv/bin/python -c "import psycopg; psycopg.connect('host=127.0.0.1 user=postgres dbname=postgres', connect_timeout=3).close()" 2>/dev/null; then
  echo "== alembic check (postgresql)"
  pgdb="xb_check_$$"
  psql_url="postgresql://postgres@127.0.0.1:5432"
  .venv/bin/python - "$pgdb" <<'PY'
import sys, psycopg
with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
    c.execute(f'DROP DATABASE IF EXISTS "{sys.argv[1]}"'); c.execute(f'CREATE DATABASE "{sys.argv[1]}"')
PY
  XIAOBAO_DATABASE_URL="$psql_url/$pgdb" XIAOBAO_SECRET_KEY=check-only-secret-0123456789 .venv/bin/xiaobao db upgrade >/dev/null
  XIAOBAO_DATABASE_URL="$psql_url/$pgdb" XIAOBAO_SECRET_KEY=check-only-secret-0123456789 .venv/bin/xiaobao db check
  .venv/bin/python - "$pgdb" <<'PY'
import sys, psycopg
with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
    c.execute(f'DROP DATABASE IF EXISTS "{sys.argv[1]}" WITH (FORCE)')
PY
elif [ -n "${CI:-}" ]; then
  echo "PostgreSQL is required in CI but not reachable on 127.0.0.1:5432" >&2; exit 1
fi
echo "== pytest"
.venv/bin/coverage run -m pytest "$@"
.venv/bin/coverage report
