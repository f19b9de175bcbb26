#!/usr/bin/env bash
# Where one Modelgate spends its CPU on the prediction routes (issue 15,
# point 3). A benchmark tool, not a test; never run by `npm test`. Build first
# (`npm run build`), then:
#
#   bash bench/profile.sh                       # every target, 1 and 100 rows
#   BENCH_TARGETS=forest-oi-json BENCH_DURATION=5 bash bench/profile.sh
#
# One `node dist/main.js` under `--cpu-prof` (NODE_OPTIONS) against a
# throwaway MLflow (as bench/run.sh makes one) serves the iris demo model
# (column signature) and the benchmark forest converted to ONNX (float_input
# float32 [-1, 30]); each target loads it in turn with bench/load.ts (bounded
# runs, 127.0.0.1 only); then the server is stopped (SIGTERM: the graceful
# shutdown exits, and V8 writes the profile) and bench/profile.ts turns the
# profile into text: top frames by self and total time, and the share of the
# busy time per package. On a shared machine compare the shares (the shape),
# not the milliseconds.
#
# Targets [iris-mlflow forest-mlflow forest-oi-json]:
#   iris-mlflow     POST /invocations (iris, the first of MODELS), dataframe_split
#   forest-mlflow   POST /v1/models/bench-forest-onnx/invocations, dataframe_split
#   forest-oi-json  POST /v2/models/bench-forest-onnx/infer, JSON tensors
# One profile covers every target of the run (BENCH_TARGETS=one target for a
# profile of one route). Written: bench/results/profile-<timestamp>.txt (the
# summary, then each target's req/s, p50 and p99 under the profiler: lower
# than without it). With BENCH_KEEP=1 the .cpuprofile stays in the temp dir
# (Chrome DevTools or speedscope draw its flame graph).
#
# Environment: BENCH_TARGETS, BENCH_ROWS [1,100], BENCH_CONNECTIONS [16],
#   BENCH_WARMUP [2], BENCH_DURATION [5], BENCH_OURS_WAIT [90],
#   BENCH_START_TIMEOUT [180], BENCH_RESULTS_DIR [bench/results],
#   BENCH_PROFILE_TOP (frames per table) [25], BENCH_KEEP=1.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
ROWS=${BENCH_ROWS:-1,100}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
WARMUP=${BENCH_WARMUP:-2}
DURATION=${BENCH_DURATION:-5}
OURS_WAIT=${BENCH_OURS_WAIT:-90}
START_TIMEOUT=${BENCH_START_TIMEOUT:-180}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$repo/bench/results}
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
loadavg_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
for n in "$CONNECTIONS" "$WARMUP" "$DURATION" "$OURS_WAIT" "$START_TIMEOUT"; do
  [[ $n =~ ^[0-9]+$ ]] || die "not a whole number: '$n'"
done
[[ $ROWS =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "BENCH_ROWS must be numbers separated by commas: '$ROWS'"
IFS=',' read -r -a rows_list <<<"$ROWS"
load_timeout=$(( (WARMUP + DURATION + 40) * ${#rows_list[@]} + 60 ))
[ -f dist/main.js ] || die "dist/main.js not found (npm run build)"

PY=$(bash scripts/python-env.sh)
venv_bin=$(dirname "$PY")
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
log "compiling the load generator and the profile summary"
run node_modules/.bin/tsc --outDir "$work/js" --rootDir bench --module commonjs --target ES2023 \
  --esModuleInterop --skipLibCheck --strict --types node \
  bench/load.ts bench/profile.ts bench/autocannon.d.ts
export NODE_PATH="$repo/node_modules"

mlflow_port=$(free_port)
tracking_uri=http://127.0.0.1:$mlflow_port
log "mlflow server on $tracking_uri"
start mlflow-server "$venv_bin/mlflow" server --host 127.0.0.1 --port "$mlflow_port" \
  --backend-store-uri "sqlite:///$work/mlflow.db" --artifacts-destination "$work/artifacts" \
  --workers 1
wait_http "$tracking_uri/health" "$started_pid" "$START_TIMEOUT" \
  || { log_tail mlflow-server; die "mlflow server did not come up"; }

TARGETS=${BENCH_TARGETS:-iris-mlflow forest-mlflow forest-oi-json}
PROFILE_TOP=${BENCH_PROFILE_TOP:-25}
[[ $PROFILE_TOP =~ ^[1-9][0-9]*$ ]] || die "BENCH_PROFILE_TOP must be a positive number"
IRIS=iris-classifier
FOREST=bench-forest-onnx
forest_rows=$work/forest-rows.json

for target in $TARGETS; do
  case $target in
    iris-mlflow | forest-mlflow | forest-oi-json) ;;
    *) die "unknown target '$target' (profile: iris-mlflow forest-mlflow forest-oi-json)" ;;
  esac
done

log "registering $IRIS (columns) and $FOREST (the forest converted to ONNX)"
run timeout 300 "$PY" scripts/demo_model.py --tracking-uri "$tracking_uri" \
  --name "$IRIS" --signature columns --experiment bench \
  >>"$work/models.jsonl" 2>"$work/demo-columns.log" \
  || { log_tail demo-columns; die "registering $IRIS failed"; }
run timeout 300 "$PY" bench/forest_model.py --tracking-uri "$tracking_uri" --flavor onnx \
  --name "$FOREST" --dataset-out "$forest_rows" >>"$work/models.jsonl" 2>"$work/forest.log" \
  || { log_tail forest; die "registering $FOREST failed"; }

profile_dir=$work/cpu-profile
mkdir -p "$profile_dir"
port=$(free_port)
# As lib.sh's start_modelgate, with the profiler's flags (NODE_OPTIONS cannot carry --cpu-prof).
log "modelgate: node --cpu-prof dist/main.js on :$port (dist/main.js built $(date -r dist/main.js '+%F %T'))"
start modelgate env MLFLOW_TRACKING_URI="$tracking_uri" API_HOST=127.0.0.1 API_PORT="$port" \
  API_AUTH=off MODEL_CACHE_DIR="$work/cache/modelgate" \
  AIRFLOW_BASE_URL=http://127.0.0.1:9 AIRFLOW_USERNAME=x AIRFLOW_PASSWORD=x \
  MODELS="models:/$IRIS@champion,models:/$FOREST@champion" \
  node ${MG_NODE_FLAGS[@]+"${MG_NODE_FLAGS[@]}"} --cpu-prof --cpu-prof-dir="$profile_dir" dist/main.js
if wait_http "http://127.0.0.1:$port/ping" "$started_pid" "$OURS_WAIT"; then
  server_pid=$started_pid
  base=http://127.0.0.1:$port
  for target in $TARGETS; do
    case $target in
      iris-mlflow) run_load "$target" "$base/invocations" "$server_pid" ;;
      forest-mlflow)
        run_load "$target" "$base/v1/models/$FOREST/invocations" "$server_pid" \
          --dataset "$forest_rows"
        ;;
      forest-oi-json)
        run_load "$target" "$base/v2/models/$FOREST/infer" "$server_pid" --form oi-json \
          --dataset "$forest_rows"
        ;;
    esac || { log_tail modelgate; skip "$target" "load generator failed (see above)"; }
  done
  stop_group "$server_pid"
  # Only the server's own process writes a profile (its Python helpers are not node).
  profile=$(find "$profile_dir" -name '*.cpuprofile' -size +0 -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2-)
  if [ -n "$profile" ]; then
    mkdir -p "$RESULTS_DIR"
    summary=$RESULTS_DIR/profile-$(date -u +%Y-%m-%dT%H-%M-%SZ).txt
    {
      echo "# node --cpu-prof dist/main.js, targets: $TARGETS; rows $ROWS; $CONNECTIONS connections;"
      echo "# $DURATION s measured + $WARMUP s warm-up per body size; load average at start $loadavg_at_start on $(nproc) cores"
      echo
      node "$work/js/profile.js" "$profile" --top "$PROFILE_TOP"
      echo
      echo "load under the profiler (bench/load.ts)"
      node -e '
        const lines = require("node:fs").readFileSync(process.argv[1], "utf8").split("\n");
        for (const m of lines.filter(Boolean).map((l) => JSON.parse(l))) {
          if (m.kind === "startup") continue;
          if (m.status !== "measured") { console.log(`${m.target} ${m.rows}: ${m.status} ${m.reason ?? ""}`); continue; }
          console.log(`${m.target.padEnd(16)} ${String(m.rows).padStart(4)} rows ${String(m.reqPerSec).padStart(8)} req/s  p50 ${m.latencyMs?.p50} ms  p99 ${m.latencyMs?.p99} ms  non-2xx ${m.non2xx}`);
        }' "$work/results.jsonl"
    } >"$summary"
    cat "$summary" >&2
    log "profile summary: $summary (profile: $profile)"
  else
    log "no CPU profile was written (did the server exit on SIGTERM?)"
  fi
else
  log_tail modelgate
  die "GET /ping did not answer 200 within ${OURS_WAIT}s"
fi

