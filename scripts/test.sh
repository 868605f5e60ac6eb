#!/usr/bin/env bash
# Runs the whole TideLens test suite: lint, engine, store, jobs, API, web
# components and the browser end-to-end flow. The Python tests start the
# servers they own (SeaweedFS S3, the TideLens app, Celery workers) and stop
# them afterwards; Postgres and Redis are expected on 127.0.0.1 and are started
# here if they are installed but not running.
set -uo pipefail
cd "$(dirname "$0")/.."

export TIDELENS_SHARED_DATA=${TIDELENS_SHARED_DATA:-$(cd .. && pwd)/shared/data}
export TIDELENS_TEST_POSTGRES=${TIDELENS_TEST_POSTGRES:-postgresql+psycopg2://postgres@127.0.0.1:5432/test}
export TIDELENS_TEST_REDIS=${TIDELENS_TEST_REDIS:-redis://127.0.0.1:6379}
# Under this command every service and data set must be there: a skip fails.
export TIDELENS_REQUIRE_SERVICES=1
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

ensure_services() {
  if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "==> starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  fi
  if command -v redis-cli >/dev/null && ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
    echo "==> starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
      --appendonly no --dir /tmp --logfile /tmp/tidelens-redis.log || true
  fi
}
ensure_services

status=0
step() {
  echo "==> $1"
  shift
  "$@" || { echo "FAILED: $*" >&2; status=1; }
}

step "lint (ruff)" .venv/bin/ruff check backend tests benchmarks
if [ -f frontend/package.json ]; then
  step "web component tests (vitest)" bash -c "cd frontend && npm test --silent"
fi
step "python tests (engine, store, jobs, api, browser)" .venv/bin/python -m pytest -q -p no:cacheprovider tests "$@"

if [ "$status" -ne 0 ]; then
  echo "Some test steps failed." >&2
fi
exit "$status"
