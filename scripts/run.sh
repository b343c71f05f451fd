#!/usr/bin/env bash
# The quick start's processes: gunicorn on 127.0.0.1:$PORT and one Celery worker with an
# embedded beat scheduler. Ctrl-C (SIGINT) or SIGTERM stops both; if either one dies on its
# own, the other is stopped too and the script exits non-zero, so nothing half-runs unnoticed.
# `make run` runs `manage.py quickstart` (var/, migrations, the admin user) before exec-ing this.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BIN="$ROOT/.venv/bin"   # the venv's own binaries: a pyenv shim's PID is not the server's
PORT="${PORT:-8000}"
URL="http://127.0.0.1:$PORT"
# Links in webhook notifications point here unless the environment says otherwise.
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-$URL}"
VAR_DIR="${TARGETLINE_VAR_DIR:-$ROOT/var}"
export DJANGO_SETTINGS_MODULE=config.settings PYTHONUNBUFFERED=1

for tool in python gunicorn celery; do
    if [[ ! -x "$BIN/$tool" ]]; then
        echo "run.sh: $BIN/$tool is missing; start Targetline with 'make run'." >&2
        exit 1
    fi
done
mkdir -p "$VAR_DIR"

# Job control puts each background process in its own process group, so a Ctrl-C at the
# terminal reaches this script alone and each server gets exactly one TERM from stop_all
# (a second signal would turn Celery's warm shutdown into a cold one).
set -m

web_pid="" worker_pid="" helper_pid="" stopping=0

stop_all() {
    stopping=1
    # TERM is a graceful stop for both: gunicorn finishes its requests, Celery its tasks.
    for pid in "$web_pid" "$worker_pid" "$helper_pid"; do
        [[ -n "$pid" ]] && kill -TERM "$pid" 2>/dev/null || true
    done
}
trap stop_all INT TERM

# Runs a command in the background helper and waits for it, so a TERM to the helper
# (sent by stop_all) can be passed on instead of leaving the command orphaned.
helper_child=""
run_child() {
    "$@" &
    helper_child=$!
    local rc=0
    wait "$helper_child" || rc=$?
    helper_child=""
    return "$rc"
}

# True once the API root answers (200, or 401/403 asking for a token); gives up after 30 s.
web_answers() {
    run_child "$BIN/python" -c '
import sys, time, urllib.error, urllib.request
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=2)
        sys.exit(0)
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):  # up, and wants a token
            sys.exit(0)
        time.sleep(0.5)  # e.g. another program on this port
    except OSError:
        time.sleep(0.5)
sys.exit(1)
' "$URL/api/v1/"
}

# Once the server answers: print the banner, then (once per installation) fill the demo project.
announce_and_demo() {
    trap '[[ -n "$helper_child" ]] && kill -TERM "$helper_child" 2>/dev/null; exit 143' TERM
    if ! web_answers; then
        echo "run.sh: the web server did not answer on $URL within 30 s." >&2
        return 0
    fi
    cat <<BANNER

  Targetline is running on $URL/
    admin:    $URL/admin/
    API docs: $URL/api/v1/docs/
  Stop with Ctrl-C.

BANNER
    local demo="$ROOT/sdk/examples/demo.py" log="$VAR_DIR/demo.log" token
    if [[ ! -f "$demo" || "${DEMO:-1}" == 0 || -e "$VAR_DIR/demo-done" ]]; then
        return 0
    fi
    if ! token=$("$BIN/python" manage.py createtoken demo --name "quick start demo" | tail -n 1)
    then
        echo "run.sh: could not create a token for the demo user; skipping the demo." >&2
        return 0
    fi
    echo "Filling the demo project in the background (log: $log; skip with DEMO=0)."
    if TARGETLINE_URL="$URL" TARGETLINE_TOKEN="$token" run_child "$BIN/python" "$demo" \
        >"$log" 2>&1; then
        touch "$VAR_DIR/demo-done"
        echo "The demo project is ready: $URL/"
    else
        echo "run.sh: the demo script failed; see $log (it runs again on the next start)." >&2
    fi
}

"$BIN/gunicorn" config.wsgi:application -c config/gunicorn.py \
    --bind "127.0.0.1:$PORT" \
    --workers 2 --worker-class gthread --threads 4 \
    --access-logfile - --error-logfile - &
web_pid=$!

"$BIN/celery" -A config --quiet worker -B \
    --loglevel INFO \
    --schedule "$VAR_DIR/celerybeat-schedule" &
worker_pid=$!

announce_and_demo &
helper_pid=$!

# Wait for the first of the two servers to exit (or for a signal, which interrupts the wait).
status=0
wait -n "$web_pid" "$worker_pid" || status=$?

if (( ! stopping )); then
    if kill -0 "$web_pid" 2>/dev/null; then died="the Celery worker"; else died="the web server"; fi
    echo "run.sh: $died exited (status $status); stopping the rest." >&2
    stop_all
    (( status != 0 )) || status=1
else
    status=0
fi

# Celery's warm shutdown takes a few seconds: wait for every child, even through a second Ctrl-C.
while kill -0 "$web_pid" 2>/dev/null || kill -0 "$worker_pid" 2>/dev/null; do
    wait "$web_pid" "$worker_pid" 2>/dev/null || true
done
kill -TERM "$helper_pid" 2>/dev/null || true
wait "$helper_pid" 2>/dev/null || true

if (( status == 0 )); then echo "Targetline stopped."; fi
exit "$status"
