#!/usr/bin/env bash
# ECHO developer entry point.
#   ./dev.sh run            install the lock file into .venv, migrate, load demo data, serve on
#                           http://127.0.0.1:8000 with one background worker (and its schedule)
#   ./dev.sh test           install the lock file into .venv, lint, then the whole test suite (embedded
#                           defaults, then PostgreSQL + Redis)
#   ./dev.sh test --latest  the same suite in .venv-latest, on the newest Python found here and the
#                           newest releases pyproject.toml's ranges allow (not the lock): an upstream
#                           release that breaks us fails this run before it reaches production
#   ./dev.sh lock [--upgrade]  refresh requirements-dev.txt and requirements.txt from pyproject.toml
#                           (keeps current pins where the ranges allow; --upgrade takes the newest)
set -euo pipefail
cd "$(dirname "$0")"

LOCK=requirements-dev.txt   # what run and test install: every package, exact version, with hashes
RUNTIME_LOCK=requirements.txt  # the production subset of the same pins (the Procfile's build)
VENV=.venv

check_python() {
  if ! "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "ECHO needs Python 3.11 or newer ($1 is $("$1" --version 2>&1))." >&2
    exit 1
  fi
}

# One line per step, so a first install (a few minutes) never looks stuck.
step() { echo "== $*"; }

ensure_venv() {
  check_python python3
  if [ ! -x "$VENV/bin/python" ]; then
    step "creating $VENV with $(python3 -V)"
    python3 -m venv "$VENV"
  fi
  local stamp
  stamp="$VENV/.installed-$(cat "$LOCK" pyproject.toml | sha1sum | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    # Exactly the lock: every pin must match one of its hashes, and nothing is resolved anew.
    step "installing $(grep -c '^[A-Za-z0-9]' "$LOCK") pinned packages from $LOCK into $VENV (checked against their hashes; a few minutes the first time)"
    "$VENV/bin/python" -m pip install --quiet --require-hashes --no-deps -r "$LOCK"
    step "installing ECHO itself into $VENV (editable)"
    "$VENV/bin/python" -m pip install --quiet --no-deps -e .
    rm -f "$VENV"/.installed-*
    touch "$stamp"
  fi
}

newest_python() {
  # PYTHON=... picks one; otherwise the newest CPython 3.x on PATH or under pyenv.
  if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
  local minor candidate
  for minor in 20 19 18 17 16 15 14 13 12 11; do
    # Run it, not just find it: a pyenv shim exists for versions that are not selected.
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3."$minor".*/bin/python3."$minor" \
                     "python3.$minor"; do
      if "$candidate" -c '' >/dev/null 2>&1; then echo "$candidate"; return; fi
    done
  done
  echo python3
}

ensure_latest_venv() {
  local python
  python="$(newest_python)"
  check_python "$python"
  VENV=.venv-latest
  if [ -x "$VENV/bin/python" ] && ! cmp -s <("$VENV/bin/python" -VV) <("$python" -VV); then
    rm -rf "$VENV"
  fi
  [ -x "$VENV/bin/python" ] || "$python" -m venv "$VENV"
  echo "== --latest: $("$VENV/bin/python" -V), newest releases within pyproject.toml's ranges"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet --upgrade --upgrade-strategy eager -e ".[dev]"
  "$VENV/bin/python" -m pip list --format=freeze > "$VENV/installed.txt"
  echo "   (installed versions: $VENV/installed.txt)"
}

run_tests() {
  local py="$VENV/bin/python"
  echo "== lint: ruff, formatting, migrations"
  "$VENV/bin/ruff" check .
  "$VENV/bin/ruff" format --check .
  env -u DATABASE_URL -u REDIS_URL DEBUG=1 "$py" manage.py makemigrations --check --dry-run >/dev/null
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
}

cmd="${1:-}"
shift || true
case "$cmd" in
  run)
    ensure_venv
    # Development mode, explicitly: without DEBUG=1 the service runs as in production.
    export DEBUG=1
    step "database: applying migrations to ./db.sqlite3"
    "$VENV/bin/python" manage.py migrate --no-input --verbosity 0
    step "demo data: users, listings and two orders"
    "$VENV/bin/python" manage.py seed_demo
    # Pages name static files by their content hashes in every mode (echo_site/staticstorage.py).
    step "static files: hashing and compressing into staticfiles/"
    "$VENV/bin/python" manage.py collectstatic --no-input --verbosity 0
    step "background worker: one child process with the schedule (stopped with the server)"
    # One background worker with the schedule inside it (-B), on the embedded broker (files under
    # .celery/, echo_site/settings.py): a child of this script, stopped when the server stops.
    "$VENV/bin/celery" -A echo_site worker -B --pool=solo --without-gossip --without-mingle \
      -l WARNING &
    worker=$!
    echo "ECHO is starting on http://127.0.0.1:${PORT:-8000}/ (API docs at /api/docs)"
    # The server runs as a child too, so that stopping this script by its PID (TERM) or Ctrl-C
    # stops both: a foreground server would outlive a TERM sent to the script.
    "$VENV/bin/python" -m echo_site.serve -b 127.0.0.1 -p "${PORT:-8000}" echo_site.asgi:application &
    server=$!
    trap 'kill "$server" "$worker" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    wait "$server"
    ;;
  test)
    if [ "${1:-}" = "--latest" ]; then
      shift
      ensure_latest_venv
      # The lock-file test checks the lock against .venv; here nothing is meant to match it.
      export ECHO_UNLOCKED_VENV=1
    else
      ensure_venv
    fi
    run_tests "$@"
    ;;
  lock)
    if [ -f "$LOCK" ]; then
      ensure_venv
    else  # the first lock: uv from its pyproject.toml range
      [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
      "$VENV/bin/python" -m pip install --quiet "uv>=0.9,<1"
    fi
    common=(--universal --python-version 3.11 --generate-hashes --quiet
            --custom-compile-command "./dev.sh lock")
    "$VENV/bin/uv" pip compile pyproject.toml --extra dev "${common[@]}" -o "$LOCK" "$@"
    # The runtime lock takes the very same pins: constrained by the dev lock, without its hashes.
    pins="$VENV/lock-pins.txt"  # a fixed name: uv records it in the lock's comments
    grep -E '^[A-Za-z0-9_.-]+(\[[^]]*\])?==' "$LOCK" | sed 's/ *\\$//' > "$pins"
    "$VENV/bin/uv" pip compile pyproject.toml "${common[@]}" -c "$pins" -o "$RUNTIME_LOCK"
    echo "Wrote $LOCK and $RUNTIME_LOCK. Run ./dev.sh test before committing them."
    ;;
  *)
    echo "usage: ./dev.sh run | ./dev.sh test [--latest] [pytest args] | ./dev.sh lock [--upgrade]" >&2
    exit 2
    ;;
esac
