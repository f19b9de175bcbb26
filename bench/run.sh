#!/usr/bin/env bash
# Throughput, latency and memory of our MLflow-scoring endpoint against
# `mlflow models serve` and a bare Fastify server (the HTTP ceiling). A
# benchmark, not a test: `npm run bench`; never run by `npm test`. See
# bench/README.md for what it measures and how to read it.
#
# One run (~3 min with the defaults):
#   1. .venv from requirements-dev.txt (scripts/python-env.sh);
#   2. a throwaway MLflow tracking server (SQLite, temp dir, loopback port);
#   3. registers the demo iris model twice (scripts/demo_model.py): column
#      signature as iris-classifier@champion (ours), tensor signature as
#      iris-classifier-tensor@champion (mlflow serve: its ONNX flavor cannot
#      answer DataFrame input for the column-signature variant, see
#      bench/reference/mlflow-scoring-responses.md);
#   4. for each target in turn: start it, check one answer per body size, warm
#      up, measure (bench/load.ts, autocannon), stop it;
#   5. bench/results/<timestamp>.{md,json} and latest.{md,json}, ratios printed.
# Every process it starts is stopped on exit, whatever the exit.
#
# Environment (all optional):
#   BENCH_TARGETS            targets, in order [ours ours-key mlflow-serve bare-fastify]
#                            (ours: API_AUTH=off; ours-key: the same with an API key
#                            on every request, for the cost of authentication)
#   BENCH_ROWS               rows per request body, comma-separated [1,100]
#   BENCH_CONNECTIONS        concurrent connections [16]
#   BENCH_WARMUP             warm-up seconds per body size, discarded [3]
#   BENCH_DURATION           measured seconds per body size [10]
#   BENCH_MLFLOW_WORKERS     `mlflow models serve -w` (uvicorn workers) [mlflow's default, 1]
#   BENCH_MLFLOW_SERVE_MODEL model URI for mlflow serve [models:/iris-classifier-tensor@champion]
#   BENCH_OURS_WAIT          seconds to wait for our /ping to answer 200 [60]
#   BENCH_RESULTS_DIR        where results go [bench/results]
#   BENCH_KEEP=1             keep the temp dir (logs, MLflow data) after the run
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

TARGETS=${BENCH_TARGETS:-ours ours-key mlflow-serve bare-fastify}
# ours-key's key: made for the run, its hash in API_KEYS (as `npm run key` prints it).
BENCH_API_KEY="mg_bench-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
BENCH_API_KEYS="bench:predict=sha256:$(printf '%s' "$BENCH_API_KEY" | sha256sum | cut -d' ' -f1)"
ROWS=${BENCH_ROWS:-1,100}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
WARMUP=${BENCH_WARMUP:-3}
DURATION=${BENCH_DURATION:-10}
MLFLOW_WORKERS=${BENCH_MLFLOW_WORKERS:-}
MLFLOW_SERVE_MODEL=${BENCH_MLFLOW_SERVE_MODEL:-models:/iris-classifier-tensor@champion}
OURS_MODEL=models:/iris-classifier@champion
OURS_WAIT=${BENCH_OURS_WAIT:-60}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$repo/bench/results}
START_TIMEOUT=120  # seconds for MLflow's servers to come up (~15 s here)

started_at=$(date +%s)
loadavg_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
log() { printf '[bench +%ss] %s\n' "$(( $(date +%s) - started_at ))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for n in "$CONNECTIONS" "$WARMUP" "$DURATION" "$OURS_WAIT"; do
  [[ $n =~ ^[0-9]+$ ]] || die "not a whole number: '$n'"
done
[ -z "$MLFLOW_WORKERS" ] || [[ $MLFLOW_WORKERS =~ ^[1-9][0-9]*$ ]] \
  || die "BENCH_MLFLOW_WORKERS must be a positive number"
node -e 'require.resolve("autocannon")' 2>/dev/null \
  || die "autocannon is not installed: run npm install (it is a devDependency)"

work=$(mktemp -d -t modelgate-bench.XXXXXX)
# The script's own stdout/stderr, for cleanup: a signal can arrive while a
# step's output is redirected to a log file.
exec 3>&1 4>&2
pgids=()  # every server started, each the leader of its own process group
fg_pid=   # the foreground step running now (see run)

stop_group() {  # PGID: TERM the group, KILL whatever is left after 10 s
  local pgid=$1
  kill -TERM -- "-$pgid" 2>/dev/null || return 0
  for _ in $(seq 50); do
    kill -0 -- "-$pgid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  exec 1>&3 2>&4
  if [ -n "$fg_pid" ]; then kill -TERM "$fg_pid" 2>/dev/null || true; fi
  for pgid in "${pgids[@]}"; do stop_group "$pgid"; done
  if [ "${BENCH_KEEP:-}" = 1 ] || [ "$status" -ne 0 ]; then
    log "logs and data kept in $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run CMD...: a foreground step that a signal to this script interrupts at
# once (bash runs a trap only after the foreground command ends, but `wait`
# returns as soon as a trapped signal arrives).
run() {
  "$@" 3>&- 4>&- &
  fg_pid=$!
  local status=0
  wait "$fg_pid" || status=$?
  fg_pid=
  return "$status"
}

# start NAME CMD...: runs CMD in a new session (so its whole tree can be
# stopped) with output to $work/NAME.log; sets $started_pid.
start() {
  local name=$1
  shift
  setsid "$@" >"$work/$name.log" 2>&1 3>&- 4>&- &
  started_pid=$!
  pgids+=("$started_pid")
}

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL PID SECONDS: until URL answers 200, PID dies, or time runs out.
wait_http() {
  local url=$1 pid=$2 deadline=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    kill -0 "$pid" 2>/dev/null || return 1
    curl -sf -o /dev/null --max-time 2 "$url" && return 0
    sleep 0.5
  done
  return 1
}

log_tail() { tail -n "${2:-15}" "$work/$1.log" | sed "s/^/    [$1] /" >&2; }

skip() {  # TARGET REASON: record a target that was not measured
  log "SKIPPING $1: $2"
  TARGET=$1 REASON=$2 node -e \
    'console.log(JSON.stringify({target: process.env.TARGET, rows: 0, status: "skipped", reason: process.env.REASON}))' \
    >>"$work/results.jsonl"
}

# --- 1. Python tools ---------------------------------------------------------
log "load average $loadavg_at_start on $(nproc) cores$(awk -v c="$(nproc)" '$1 > c {print " (busy: figures will be noisy)"}' /proc/loadavg)"
log "python env"
PY=$(bash scripts/python-env.sh)
venv_bin=$(dirname "$PY")
# `mlflow models serve --env-manager local` execs `uvicorn` from PATH.
export PATH="$venv_bin:$PATH"
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true

log "compiling bench/*.ts"
run node_modules/.bin/tsc --outDir "$work/js" --rootDir bench --module commonjs --target ES2023 \
  --esModuleInterop --skipLibCheck --strict --types node \
  bench/autocannon.d.ts bench/bare-fastify.ts bench/load.ts bench/report.ts
export NODE_PATH="$repo/node_modules"  # the compiled files live in $work

# --- 2. MLflow tracking server -----------------------------------------------
mlflow_port=$(free_port)
tracking_uri=http://127.0.0.1:$mlflow_port
log "mlflow server on $tracking_uri"
start mlflow-server "$venv_bin/mlflow" server --host 127.0.0.1 --port "$mlflow_port" \
  --backend-store-uri "sqlite:///$work/mlflow.db" --artifacts-destination "$work/artifacts" \
  --workers 1
wait_http "$tracking_uri/health" "$started_pid" "$START_TIMEOUT" \
  || { log_tail mlflow-server; die "mlflow server did not come up"; }

# --- 3. models ---------------------------------------------------------------
log "registering iris-classifier (columns) and iris-classifier-tensor (tensor)"
run timeout 300 "$PY" scripts/demo_model.py --tracking-uri "$tracking_uri" \
  --name iris-classifier --signature columns --experiment bench \
  >>"$work/models.jsonl" 2>"$work/demo-columns.log" \
  || { log_tail demo-columns; die "registering iris-classifier failed"; }
run timeout 300 "$PY" scripts/demo_model.py --tracking-uri "$tracking_uri" \
  --name iris-classifier-tensor --signature tensor --experiment bench \
  >>"$work/models.jsonl" 2>"$work/demo-tensor.log" \
  || { log_tail demo-tensor; die "registering iris-classifier-tensor failed"; }

# --- 4. targets --------------------------------------------------------------
IFS=',' read -r -a rows_list <<<"$ROWS"
load_timeout=$(( (WARMUP + DURATION + 40) * ${#rows_list[@]} + 60 ))

run_load() {  # TARGET PORT PID [load.js options...]
  local target=$1 port=$2 pid=$3
  shift 3
  run timeout "$load_timeout" node "$work/js/load.js" --target "$target" \
    --url "http://127.0.0.1:$port/invocations" --pid "$pid" --rows "$ROWS" \
    --connections "$CONNECTIONS" --warmup "$WARMUP" --duration "$DURATION" \
    --out "$work/results.jsonl" "$@"
}

for target in $TARGETS; do
  port=$(free_port)
  load_args=()
  case $target in
    ours|ours-key)
      if [ ! -f dist/main.js ]; then
        skip "$target" "dist/main.js not found (npm run build)"
        continue
      fi
      if [ "$target" = ours ]; then
        auth=(API_AUTH=off)
      else
        auth=(API_AUTH=on API_KEYS="$BENCH_API_KEYS")
        load_args=(--api-key "$BENCH_API_KEY")
      fi
      log "$target: node dist/main.js on :$port, ${auth[0]} (dist/main.js built $(date -r dist/main.js '+%F %T'))"
      start "$target" env MLFLOW_TRACKING_URI="$tracking_uri" MODELS="$OURS_MODEL" \
        API_HOST=127.0.0.1 API_PORT="$port" "${auth[@]}" \
        AIRFLOW_BASE_URL=http://127.0.0.1:9 AIRFLOW_USERNAME=x AIRFLOW_PASSWORD=x \
        node dist/main.js
      if ! wait_http "http://127.0.0.1:$port/ping" "$started_pid" "$OURS_WAIT"; then
        log_tail "$target"
        if kill -0 "$started_pid" 2>/dev/null; then
          skip "$target" "GET /ping did not answer 200 within ${OURS_WAIT}s"
        else
          skip "$target" "node dist/main.js exited before GET /ping answered 200"
        fi
        stop_group "$started_pid"
        continue
      fi
      ;;
    mlflow-serve)
      log "mlflow-serve: mlflow models serve -m $MLFLOW_SERVE_MODEL on :$port" \
        "(workers: ${MLFLOW_WORKERS:-mlflow default})"
      start mlflow-serve env MLFLOW_TRACKING_URI="$tracking_uri" \
        "$venv_bin/mlflow" models serve -m "$MLFLOW_SERVE_MODEL" --env-manager local \
        --host 127.0.0.1 -p "$port" ${MLFLOW_WORKERS:+-w "$MLFLOW_WORKERS"}
      if ! wait_http "http://127.0.0.1:$port/ping" "$started_pid" "$START_TIMEOUT"; then
        log_tail mlflow-serve
        skip mlflow-serve "mlflow models serve did not answer GET /ping within ${START_TIMEOUT}s"
        stop_group "$started_pid"
        continue
      fi
      ;;
    bare-fastify)
      log "bare-fastify on :$port"
      start bare-fastify node "$work/js/bare-fastify.js" "$port"
      wait_http "http://127.0.0.1:$port/ping" "$started_pid" 30 \
        || { log_tail bare-fastify; die "bare-fastify did not start"; }
      ;;
    *) die "unknown target '$target' (BENCH_TARGETS: ours ours-key mlflow-serve bare-fastify)" ;;
  esac
  run_load "$target" "$port" "$started_pid" "${load_args[@]}" \
    || { log_tail "$target"; skip "$target" "load generator failed (see above)"; }
  stop_group "$started_pid"
done

# --- 5. report ---------------------------------------------------------------
LOADAVG_=$loadavg_at_start TARGETS_=$TARGETS MLFLOW_SERVE_MODEL_=$MLFLOW_SERVE_MODEL OURS_MODEL_=$OURS_MODEL \
MLFLOW_WORKERS_=${MLFLOW_WORKERS:-default (1)} \
DIST_BUILT_=$( [ -f dist/main.js ] && date -u -r dist/main.js '+%FT%TZ' || echo missing ) \
MLFLOW_VERSION_=$("$venv_bin/mlflow" --version 2>/dev/null | awk '{print $NF}') \
  "$PY" - "$work/models.jsonl" >"$work/meta.json" <<'EOF'
import json, os, sys
print(json.dumps({
    "loadavg_at_start": os.environ["LOADAVG_"],
    "targets": os.environ["TARGETS_"].split(),
    "ours": {"command": "node dist/main.js", "model": os.environ["OURS_MODEL_"],
             "dist_main_js_built": os.environ["DIST_BUILT_"]},
    "mlflow_serve": {"model": os.environ["MLFLOW_SERVE_MODEL_"], "env_manager": "local",
                     "workers": os.environ["MLFLOW_WORKERS_"], "mlflow": os.environ["MLFLOW_VERSION_"]},
    "bare_fastify": "bench/bare-fastify.ts: parse JSON, answer one 0 per row",
    "registered": [json.loads(line) for line in open(sys.argv[1]) if line.strip()],
}, indent=2))
EOF
node "$work/js/report.js" --in "$work/results.jsonl" --out-dir "$RESULTS_DIR" --meta "$work/meta.json"
log "done"
