#!/usr/bin/env bash
# Throughput, latency and memory of Modelgate against other model servers, on
# this machine. A benchmark, not a test: `npm run bench [-- --suite NAME]`;
# never run by `npm test`. See bench/README.md for what each suite measures
# and how to read it.
#
#   npm run bench                         # suite serving (the default)
#   npm run bench -- --suite flavors      # or BENCH_SUITE=flavors npm run bench
#   npm run bench -- --suite protocols
#   npm run bench -- --suite cores        # issue 15: workers, batching, the ceiling
#   bash bench/run.sh --compile-only      # step 2 alone (test/bench-compile.int-spec.ts)
#
# Suites (bench/suites/<name>.sh):
#   serving    our MLflow scoring endpoint (with and without an API key) vs
#              `mlflow models serve` and a bare Fastify server, iris demo model
#   flavors    one sklearn forest served by Modelgate's Python workers (1 and 2),
#              Modelgate's ONNX acceleration, `mlflow models serve` and MLServer;
#              plus the time a PYFUNC_ENV=uv environment takes to build and reuse
#   protocols  the forest as ONNX on one Modelgate: Open Inference REST JSON vs
#              REST binary (tensor extension) vs gRPC
#   cores      Modelgate with 1 and N workers, batching on and off, against a
#              minimal Fastify + onnxruntime-node server (the ceiling),
#              `mlflow models serve` -w 1 and 2 and MLServer, on the forest
#              (ONNX) and iris, with wrk; targets of issue 15 MET / MISSED
#
# One run:
#   1. .venv from requirements-dev.txt (scripts/python-env.sh);
#   2. bench/*.ts compiled into the run's temp dir;
#   3. a throwaway MLflow tracking server (SQLite, temp dir, loopback port);
#   4. the suite: registers its models, then for each target in turn: start
#      it, check one answer per body size, warm up, measure, stop it;
#   5. bench/results/[<suite>-]<timestamp>.{md,json} and [<suite>-]latest.{md,json}.
# Every process it starts is stopped on exit, whatever the exit.
#
# Environment (all optional; each suite reads a few more, see its file):
#   BENCH_SUITE              the suite, when --suite is not given [serving]
#   BENCH_TARGETS            targets, in order [the suite's, all]
#   BENCH_ROWS               rows per request body, comma-separated [1,100]
#   BENCH_CONNECTIONS        concurrent connections [16]
#   BENCH_WARMUP             warm-up seconds per body size, discarded [3; cores: 2]
#   BENCH_DURATION           measured seconds per body size [10; cores: 5]
#   BENCH_OURS_WAIT          seconds to wait for our /ping to answer 200 [60]
#   BENCH_START_TIMEOUT      seconds for the MLflow server, `mlflow models serve`
#                            and MLServer to answer [180]
#   BENCH_RESULTS_DIR        where results go [bench/results]
#   BENCH_KEEP=1             keep the temp dir (logs, MLflow data) after the run
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

SUITE=${BENCH_SUITE:-serving}
COMPILE_ONLY=0
while [ $# -gt 0 ]; do
  case $1 in
    --compile-only) COMPILE_ONLY=1; shift ;;
    --suite) [ $# -ge 2 ] || { echo "--suite needs a name" >&2; exit 2; }; SUITE=$2; shift 2 ;;
    --suite=*) SUITE=${1#--suite=}; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument '$1' (--suite serving|flavors|protocols|cores)" >&2; exit 2 ;;
  esac
done
suite_file=$repo/bench/suites/$SUITE.sh
[ -f "$suite_file" ] || { echo "unknown suite '$SUITE' (serving, flavors, protocols, cores)" >&2; exit 2; }

ROWS=${BENCH_ROWS:-1,100}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
# cores runs ~50 loads (targets x models x loads): shorter by default to stay
# near 15 minutes; BENCH_WARMUP / BENCH_DURATION lengthen them.
if [ "$SUITE" = cores ]; then default_warmup=2 default_duration=5; else default_warmup=3 default_duration=10; fi
WARMUP=${BENCH_WARMUP:-$default_warmup}
DURATION=${BENCH_DURATION:-$default_duration}
OURS_WAIT=${BENCH_OURS_WAIT:-60}
RESULTS_DIR=${BENCH_RESULTS_DIR:-$repo/bench/results}
# Seconds for MLflow's servers and MLServer to come up (~15 s on a quiet machine).
START_TIMEOUT=${BENCH_START_TIMEOUT:-180}

# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

# Every bench/*.ts but those run on their own with ts-node: probe-burst.ts
# (imports test/support) and metric-series.ts (imports src/metrics); and
# soak.ts (bench/soak.sh compiles it). Nothing is written when a file fails,
# so a failed compile leaves no stray .js beside the sources.
compile_ts() {
  log "compiling bench/*.ts"
  local ts_files=() f
  for f in bench/*.ts; do
    case $f in bench/probe-burst.ts | bench/metric-series.ts | bench/soak.ts) ;; *) ts_files+=("$f") ;; esac
  done
  run node_modules/.bin/tsc --outDir "$work/js" --rootDir bench --module commonjs --target ES2023 \
    --esModuleInterop --skipLibCheck --strict --types node --noEmitOnError "${ts_files[@]}"
}
if [ "$COMPILE_ONLY" = 1 ]; then
  compile_ts
  log "compiled: $(find "$work/js" -name '*.js' | wc -l) files"
  exit 0
fi

loadavg_at_start=$(cut -d' ' -f1-3 /proc/loadavg)
for n in "$CONNECTIONS" "$WARMUP" "$DURATION" "$OURS_WAIT" "$START_TIMEOUT"; do
  [[ $n =~ ^[0-9]+$ ]] || die "not a whole number: '$n'"
done
[[ $ROWS =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "BENCH_ROWS must be numbers separated by commas: '$ROWS'"
node -e 'require.resolve("autocannon")' 2>/dev/null \
  || die "autocannon is not installed: run npm install (it is a devDependency)"
IFS=',' read -r -a rows_list <<<"$ROWS"
load_timeout=$(( (WARMUP + DURATION + 40) * ${#rows_list[@]} + 60 ))

# --- 1. Python tools ---------------------------------------------------------
log "suite $SUITE; load average $loadavg_at_start on $(nproc) cores$(awk -v c="$(nproc)" '$1 > c {print " (busy: figures will be noisy)"}' /proc/loadavg)"
log "python env"
PY=$(bash scripts/python-env.sh)
venv_bin=$(dirname "$PY")
# `mlflow models serve --env-manager local` execs `uvicorn` from PATH.
export PATH="$venv_bin:$PATH"
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true

# --- 2. the load generators and the report ------------------------------------
compile_ts
export NODE_PATH="$repo/node_modules"  # the compiled files live in $work

# --- 3. MLflow tracking server -----------------------------------------------
mlflow_port=$(free_port)
tracking_uri=http://127.0.0.1:$mlflow_port
log "mlflow server on $tracking_uri"
start mlflow-server "$venv_bin/mlflow" server --host 127.0.0.1 --port "$mlflow_port" \
  --backend-store-uri "sqlite:///$work/mlflow.db" --artifacts-destination "$work/artifacts" \
  --workers 1
wait_http "$tracking_uri/health" "$started_pid" "$START_TIMEOUT" \
  || { log_tail mlflow-server; die "mlflow server did not come up"; }

# --- 4. the suite: models, targets, $work/meta.json ---------------------------
# shellcheck source=/dev/null
source "$suite_file"

# --- 5. report ---------------------------------------------------------------
[ -s "$work/results.jsonl" ] || die "no target recorded anything"
# cores has a report of its own: its targets are the issue's, MET / MISSED.
report=$work/js/report.js
[ "$SUITE" != cores ] || report=$work/js/cores-report.js
node "$report" --suite "$SUITE" --in "$work/results.jsonl" --out-dir "$RESULTS_DIR" \
  --meta "$work/meta.json"
log "done"
