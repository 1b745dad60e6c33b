#!/usr/bin/env bash
# ECHO developer entry point.
#   ./dev.sh run    install into .venv, migrate, load demo data, serve on http://127.0.0.1:8000
#   ./dev.sh test   install into .venv, lint, then the whole test suite (embedded defaults, then
#                   PostgreSQL + Redis)
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PY="$VENV/bin/python"

ensure_venv() {
  if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "ECHO needs Python 3.11 or newer (python3 is $(python3 --version 2>&1))." >&2
    exit 1
  fi
  [ -x "$PY" ] || python3 -m venv "$VENV"
  local stamp
  stamp="$VENV/.installed-$(sha1sum pyproject.toml | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    "$PY" -m pip install --quiet --upgrade pip
    "$PY" -m pip install --quiet -e ".[dev]"
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
}

cmd="${1:-}"
shift || true
case "$cmd" in
  run)
    ensure_venv
    # Development mode, explicitly: without DEBUG=1 the service runs as in production.
    export DEBUG=1
    "$PY" manage.py migrate --no-input
    "$PY" manage.py seed_demo
    echo "ECHO is starting on http://127.0.0.1:${PORT:-8000}/ (API docs at /api/docs)"
    exec "$PY" -m echo_site.serve -b 127.0.0.1 -p "${PORT:-8000}" \
      --websocket-max-message-size 65536 --websocket-max-frame-size 65536 echo_site.asgi:application
    ;;
  test)
    ensure_venv
    echo "== lint: ruff, formatting, migrations"
    "$VENV/bin/ruff" check .
    "$VENV/bin/ruff" format --check .
    env -u DATABASE_URL -u REDIS_URL DEBUG=1 "$PY" manage.py makemigrations --check --dry-run >/dev/null
    echo "== types: mypy"
    "$VENV/bin/mypy" .
    echo "== layers: import-linter"
    "$VENV/bin/lint-imports" --no-cache
    echo "== tests, embedded defaults (SQLite, in-memory channel layer)"
    env -u DATABASE_URL -u REDIS_URL DEBUG=1 "$VENV/bin/pytest" -m "not services" "$@"
    echo "== tests, PostgreSQL + Redis"
    DEBUG=1 DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/echo}" \
      REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}" \
      "$VENV/bin/pytest" "$@"
    ;;
  *)
    echo "usage: ./dev.sh run | ./dev.sh test [pytest args]" >&2
    exit 2
    ;;
esac
