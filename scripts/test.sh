#!/usr/bin/env bash
# Set up a virtualenv with the test dependencies and run the whole suite: on SQLite, then on
# PostgreSQL (TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test) when it answers.
# Extra arguments go to pytest. REQUIRE_POSTGRES=1 makes a missing PostgreSQL an error (CI).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
python -m pip install -q -e ".[test]" -e plugins/erp -e "plugins/odoo_example[test]"
if command -v npm >/dev/null 2>&1; then
  (cd tests/sdk && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "== tests on SQLite"
python -m pytest -q "$@"

pg_url=${TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
if python - "$pg_url" <<'PY'
import asyncio, sys
import asyncpg
async def main() -> None:
    conn = await asyncpg.connect(sys.argv[1].replace("postgres://", "postgresql://", 1), timeout=5)
    await conn.close()
asyncio.run(main())
PY
then
  echo "== tests on PostgreSQL ($pg_url)"
  TEST_DATABASE_URL=$pg_url python -m pytest -q "$@"
elif [ "${REQUIRE_POSTGRES:-0}" = 1 ]; then
  echo "PostgreSQL is not reachable at $pg_url" >&2
  exit 1
else
  echo "== PostgreSQL not reachable at $pg_url: its run was skipped"
fi
