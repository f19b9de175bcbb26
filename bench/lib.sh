# Shared by bench/run.sh and its suites (bench/suites/*.sh), sourced, never
# run: process handling (every server in its own session, stopped by process
# group on any exit), waiting, logging, and the steps every suite takes
# (starting a server under load, recording a target that was not measured).
#
# Expects: $repo; sets $work (the run's temp dir), $pgids, the EXIT/INT/TERM traps.

started_at=$(date +%s)
log() { printf '[bench +%ss] %s\n' "$(( $(date +%s) - started_at ))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

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

# skip_unready TARGET PID WHAT: TARGET did not get WHAT in $START_TIMEOUT s, or exited first.
skip_unready() {
  log_tail "$1"
  if kill -0 "$2" 2>/dev/null; then
    skip "$1" "$3 not within ${START_TIMEOUT}s"
  else
    skip "$1" "exited before $3 (see its log)"
  fi
  stop_group "$2"
}

log_tail() { tail -n "${2:-15}" "$work/$1.log" | sed "s/^/    [$1] /" >&2; }

# json_line KEY=VALUE...: one JSON object of strings (numbers for VALUEs that are numbers).
json_line() {
  node -e '
    const o = {};
    for (const kv of process.argv.slice(1)) {
      const i = kv.indexOf("=");
      const [k, v] = [kv.slice(0, i), kv.slice(i + 1)];
      o[k] = /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
    }
    console.log(JSON.stringify(o));' "$@"
}

skip() {  # TARGET REASON: record a target that was not measured
  log "SKIPPING $1: $2"
  json_line target="$1" rows=0 status=skipped reason="$2" >>"$work/results.jsonl"
}

# record_startup TARGET SECONDS NOTE: how long TARGET took to answer (see report.ts).
record_startup() {
  json_line kind=startup target="$1" status=measured seconds="$2" note="$3" >>"$work/results.jsonl"
}

# elapsed_since NANOS: seconds (0.1 s resolution) since `date +%s%N` gave NANOS.
elapsed_since() {
  awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'
}

# The node flags `npm start` runs the server with (package.json), so every
# target measures the server as shipped.
read -r -a MG_NODE_FLAGS <<<"$(node -p 'require(process.argv[1]).scripts.start.replace(/^node /, "").replace(/ ?dist\/main\.js$/, "")' "$repo/package.json")"

# start_modelgate TARGET PORT [ENV=VALUE...]: `node dist/main.js` on 127.0.0.1:PORT,
# with `npm start`'s node flags (MG_NODE_FLAGS),
# against the run's MLflow, its own model cache, API_AUTH=off unless ENV says
# otherwise, under the command in the array MG_PIN when set (e.g. taskset -c 1);
# waits for GET /ping (every model of MODELS loaded). Sets
# $started_pid and $ready_seconds; returns 1 (target recorded as skipped) when
# it does not come up.
start_modelgate() {
  local target=$1 port=$2
  shift 2
  if [ ! -f dist/main.js ]; then
    skip "$target" "dist/main.js not found (npm run build)"
    return 1
  fi
  log "$target: node ${MG_NODE_FLAGS[*]} dist/main.js on :$port, $* (dist/main.js built $(date -r dist/main.js '+%F %T'))"
  local t0
  t0=$(date +%s%N)
  start "$target" ${MG_PIN[@]+"${MG_PIN[@]}"} env MLFLOW_TRACKING_URI="$tracking_uri" API_HOST=127.0.0.1 API_PORT="$port" \
    API_AUTH=off MODEL_CACHE_DIR="$work/cache/$target" \
    AIRFLOW_BASE_URL=http://127.0.0.1:9 AIRFLOW_USERNAME=x AIRFLOW_PASSWORD=x \
    "$@" node ${MG_NODE_FLAGS[@]+"${MG_NODE_FLAGS[@]}"} dist/main.js
  if ! wait_http "http://127.0.0.1:$port/ping" "$started_pid" "$OURS_WAIT"; then
    log_tail "$target"
    if kill -0 "$started_pid" 2>/dev/null; then
      skip "$target" "GET /ping did not answer 200 within ${OURS_WAIT}s"
    else
      skip "$target" "node dist/main.js exited before GET /ping answered 200"
    fi
    stop_group "$started_pid"
    return 1
  fi
  ready_seconds=$(elapsed_since "$t0")
}

# served_runtime PORT MODEL: "RUNTIME" or "RUNTIME (why)" of MODEL in our GET /v1/models.
served_runtime() {
  curl -sf --max-time 5 "http://127.0.0.1:$1/v1/models" | MODEL=$2 node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const m = (JSON.parse(s).models ?? []).find((v) => v.name === process.env.MODEL);
      const why = m?.runtimeReason ? ` (${m.runtimeReason})` : "";
      console.log(m ? `${m.runtime ?? "?"}${why}` : "not-loaded");
    });'
}

# run_load TARGET URL PID [load.js options...]: bench/load.ts against one HTTP target.
run_load() {
  local target=$1 url=$2 pid=$3
  shift 3
  run timeout "$load_timeout" node "$work/js/load.js" --target "$target" --url "$url" \
    --pid "$pid" --rows "$ROWS" --connections "$CONNECTIONS" --warmup "$WARMUP" \
    --duration "$DURATION" --out "$work/results.jsonl" "$@"
}

# write_meta KEY=VALUE...: $work/meta.json, the facts report.ts copies into the
# results: the suite, its targets, the load at start, what was built and
# registered, and the suite's own KEY=VALUE facts.
write_meta() {
  SUITE_=$SUITE TARGETS_=$TARGETS LOADAVG_=$loadavg_at_start ROWS_=$ROWS \
  DIST_BUILT_=$( [ -f dist/main.js ] && date -u -r dist/main.js '+%FT%TZ' || echo missing ) \
  MLFLOW_VERSION_=$("$venv_bin/mlflow" --version 2>/dev/null | awk '{print $NF}') \
  MODELS_FILE_=$work/models.jsonl node -e '
    const fs = require("node:fs");
    const e = process.env;
    const registered = fs.existsSync(e.MODELS_FILE_)
      ? fs.readFileSync(e.MODELS_FILE_, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l))
      : [];
    const facts = Object.fromEntries(process.argv.slice(1).map((kv) => {
      const i = kv.indexOf("=");
      return [kv.slice(0, i), kv.slice(i + 1)];
    }));
    console.log(JSON.stringify({
      suite: e.SUITE_,
      loadavg_at_start: e.LOADAVG_,
      targets: e.TARGETS_.split(/\s+/).filter(Boolean),
      rows: e.ROWS_,
      dist_main_js_built: e.DIST_BUILT_,
      mlflow: e.MLFLOW_VERSION_,
      ...facts,
      registered,
    }, null, 2));' "$@" >"$work/meta.json"
}
