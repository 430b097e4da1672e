#!/usr/bin/env bash
# Regenerate migrations/versions/0001_initial.py from the models (only while nothing has been released).
# Works on a scratch copy of migrations/ so hand-written revisions are never touched.
set -euo pipefail
cd "$(dirname "$0")/.."
exec 9>/tmp/xiaobao-regen.lock
flock 9
tmp=$(mktemp -d)
cp -r migrations "$tmp/migrations"
rm -f "$tmp"/migrations/versions/*.py
cat > "$tmp/alembic.ini" <<INI
[alembic]
script_location = $tmp/migrations
prepend_sys_path = $PWD/src
path_separator = os
INI
XIAOBAO_DATABASE_URL="sqlite:///$tmp/regen.db" .venv/bin/alembic -c "$tmp/alembic.ini" \
  revision --autogenerate -m initial --rev-id 0001 >/dev/null
cp "$tmp"/migrations/versions/0001_initial.py migrations/versions/0001_initial.py
rm -rf "$tmp"
# the generated file follows the project's lint and format rules like any other
.venv/bin/ruff check --fix --unsafe-fixes --quiet migrations/versions/0001_initial.py
.venv/bin/ruff format --quiet migrations/versions/0001_initial.py
echo "regenerated migrations/versions/0001_initial.py"
