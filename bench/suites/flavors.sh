# Suite "flavors" of bench/run.sh (sourced), issue 12: one scikit-learn forest
# (bench/forest_model.py: RandomForestClassifier, 100 trees, breast-cancer
# data, 30 features; sklearn flavor, column signature, input example) served
# by each target in turn, answering MLflow scoring requests (`POST
# /invocations`, dataframe_split bodies of 1 and 100 rows).
#
# Targets [mg-pyfunc-1 mg-pyfunc-2 mg-onnx mlflow-serve mlserver mg-uv]:
#   mg-pyfunc-1   node dist/main.js, PYFUNC_WORKERS=1, MODEL_ONNX_ACCELERATE=off
#                 (Python workers on .venv's python, PYFUNC_ENV=local)
#   mg-pyfunc-2   the same with PYFUNC_WORKERS=2
#   mg-onnx       MODEL_ONNX_ACCELERATE=auto: converted to ONNX, served in process
#                 (a fall-back to workers is caught by the runtime check below)
#   mlflow-serve  mlflow models serve --env-manager local (the baseline)
#   mlserver      MLServer 1.7.1 with mlserver-mlflow (.venv-bench, made by
#                 `scripts/python-env.sh bench`), the model downloaded to a local
#                 directory, its /invocations endpoint
#   mg-uv         no load: seconds from start to GET /ping with PYFUNC_ENV=uv,
#                 first with an empty environment directory and uv cache
#                 (mg-uv-first: the venv is built), then restarted on the same
#                 ones (mg-uv-reuse); uv trusts the system CA store
#                 (UV_NATIVE_TLS=1, as scripts/python-env.sh sets it)
# Each Modelgate target must be served by the runtime it is named after (GET
# /v1/models), else it is recorded as not measured, with what served it.
# Every target's seconds to ready are recorded too (start-up table).
# Environment: BENCH_MLFLOW_WORKERS (`mlflow models serve -w`) [1],
#   BENCH_UV_WAIT seconds for a PYFUNC_ENV=uv start to answer GET /ping [600].

TARGETS=${BENCH_TARGETS:-mg-pyfunc-1 mg-pyfunc-2 mg-onnx mlflow-serve mlserver mg-uv}
MLFLOW_WORKERS=${BENCH_MLFLOW_WORKERS:-}
[ -z "$MLFLOW_WORKERS" ] || [[ $MLFLOW_WORKERS =~ ^[1-9][0-9]*$ ]] \
  || die "BENCH_MLFLOW_WORKERS must be a positive number"
UV_WAIT=${BENCH_UV_WAIT:-600}
[[ $UV_WAIT =~ ^[0-9]+$ ]] || die "BENCH_UV_WAIT must be a whole number of seconds"
MODEL_NAME=bench-forest
MODEL_URI=models:/$MODEL_NAME@champion
dataset=$work/forest-rows.json

log "registering $MODEL_NAME (sklearn forest)"
run timeout 300 "$PY" bench/forest_model.py --tracking-uri "$tracking_uri" --flavor sklearn \
  --name "$MODEL_NAME" --dataset-out "$dataset" >>"$work/models.jsonl" 2>"$work/forest.log" \
  || { log_tail forest; die "registering $MODEL_NAME failed"; }

# modelgate_target TARGET PORT RUNTIME ENV=VALUE...: ours on the forest, checked
# to be served by RUNTIME (onnx, pyfunc); 1 when it was not (recorded).
modelgate_target() {
  local target=$1 port=$2 runtime=$3 served
  shift 3
  # Workers may take as long to load as the bench waits for /ping (a busy machine).
  start_modelgate "$target" "$port" MODELS="$MODEL_URI" PYFUNC_ENV=local PYFUNC_PYTHON="$PY" \
    PYFUNC_START_TIMEOUT="$OURS_WAIT" "$@" || return 1
  served=$(served_runtime "$port" "$MODEL_NAME")
  log "$target: served by $served"
  if [ "${served%% *}" != "$runtime" ]; then
    skip "$target" "expected the $runtime runtime, GET /v1/models says $served"
    stop_group "$started_pid"
    return 1
  fi
  record_startup "$target" "$ready_seconds" "served by $served"
}

# mlserver_target PORT: MLServer on the forest, downloaded to $work/mlserver.
mlserver_target() {
  local port=$1 bench_py t0
  if ! bench_py=$(bash scripts/python-env.sh bench 2>"$work/mlserver-env.log"); then
    log_tail mlserver-env
    skip mlserver "scripts/python-env.sh bench failed: $(tail -n 1 "$work/mlserver-env.log")"
    return 1
  fi
  mkdir -p "$work/mlserver"
  run env MLFLOW_TRACKING_URI="$tracking_uri" "$PY" -c \
    'import sys, mlflow; mlflow.artifacts.download_artifacts(artifact_uri=sys.argv[1], dst_path=sys.argv[2])' \
    "$MODEL_URI" "$work/mlserver/model" >"$work/mlserver-download.log" 2>&1 \
    || { log_tail mlserver-download; skip mlserver "downloading $MODEL_URI failed"; return 1; }
  MODEL_NAME_=$MODEL_NAME MODEL_DIR_=$work/mlserver/model node -e '
    console.log(JSON.stringify({
      name: process.env.MODEL_NAME_,
      implementation: "mlserver_mlflow.MLflowRuntime",
      parameters: { uri: process.env.MODEL_DIR_ },
    }));' >"$work/mlserver/model-settings.json"
  log "mlserver: mlserver start on :$port ($("${bench_py%/python}/mlserver" --version))"
  t0=$(date +%s%N)
  # MLServer's gRPC and metrics servers get loopback ports of their own.
  start mlserver env MLSERVER_HOST=127.0.0.1 MLSERVER_HTTP_PORT="$port" \
    MLSERVER_GRPC_PORT="$(free_port)" MLSERVER_METRICS_PORT="$(free_port)" \
    MLFLOW_DISABLE_TELEMETRY=true "${bench_py%/python}/mlserver" start "$work/mlserver"
  if ! wait_http "http://127.0.0.1:$port/v2/models/$MODEL_NAME/ready" "$started_pid" "$START_TIMEOUT"; then
    skip_unready mlserver "$started_pid" "GET /v2/models/$MODEL_NAME/ready answered 200"
    return 1
  fi
  record_startup mlserver "$(elapsed_since "$t0")" "GET /v2/models/$MODEL_NAME/ready"
}

# uv_startups: mg-uv-first then mg-uv-reuse, on one environment dir and uv cache.
uv_startups() {
  local envs=$work/pyfunc-envs uv_cache=$work/uv-cache target port served built
  # Building a venv with mlflow in it takes minutes on 2 cores, not seconds.
  local OURS_WAIT=$UV_WAIT
  mkdir -p "$envs" "$uv_cache"
  for target in mg-uv-first mg-uv-reuse; do
    port=$(free_port)
    start_modelgate "$target" "$port" MODELS="$MODEL_URI" PYFUNC_ENV=uv PYFUNC_ENV_DIR="$envs" \
      UV_CACHE_DIR="$uv_cache" UV_NATIVE_TLS="${UV_NATIVE_TLS:-1}" MODEL_ONNX_ACCELERATE=off \
      PYFUNC_ENV_BUILD_TIMEOUT="$UV_WAIT" PYFUNC_START_TIMEOUT="$UV_WAIT" || return 1
    served=$(served_runtime "$port" "$MODEL_NAME")
    stop_group "$started_pid"
    if [ "${served%% *}" != pyfunc ]; then
      skip "$target" "expected the pyfunc runtime, GET /v1/models says $served"
      return 1
    fi
    # What was timed must be a uv environment: built by the first start, reused by the second.
    built=$(find "$envs" -mindepth 1 -maxdepth 1 -type d | wc -l)
    if [ "$built" -ne 1 ]; then
      skip "$target" "expected one environment in PYFUNC_ENV_DIR after the start, found $built"
      return 1
    fi
    record_startup "$target" "$ready_seconds" \
      "PYFUNC_ENV=uv, $([ $target = mg-uv-first ] && echo 'empty env dir and uv cache' || echo 'same env dir, restarted')"
  done
}

for target in $TARGETS; do
  port=$(free_port)
  case $target in
    mg-pyfunc-1 | mg-pyfunc-2)
      modelgate_target "$target" "$port" pyfunc PYFUNC_WORKERS="${target##*-}" \
        MODEL_ONNX_ACCELERATE=off || continue
      ;;
    mg-onnx)
      modelgate_target "$target" "$port" onnx MODEL_ONNX_ACCELERATE=auto || continue
      ;;
    mlflow-serve)
      log "mlflow-serve: mlflow models serve -m $MODEL_URI on :$port" \
        "(workers: ${MLFLOW_WORKERS:-mlflow default})"
      t0=$(date +%s%N)
      start mlflow-serve env MLFLOW_TRACKING_URI="$tracking_uri" \
        "$venv_bin/mlflow" models serve -m "$MODEL_URI" --env-manager local \
        --host 127.0.0.1 -p "$port" ${MLFLOW_WORKERS:+-w "$MLFLOW_WORKERS"}
      if ! wait_http "http://127.0.0.1:$port/ping" "$started_pid" "$START_TIMEOUT"; then
        skip_unready mlflow-serve "$started_pid" "GET /ping answered 200"
        continue
      fi
      record_startup mlflow-serve "$(elapsed_since "$t0")" "GET /ping"
      ;;
    mlserver)
      mlserver_target "$port" || continue
      ;;
    mg-uv)
      uv_startups || true
      continue
      ;;
    *) die "unknown target '$target' (flavors: mg-pyfunc-1 mg-pyfunc-2 mg-onnx mlflow-serve mlserver mg-uv)" ;;
  esac
  run_load "$target" "http://127.0.0.1:$port/invocations" "$started_pid" --form mlflow \
    --dataset "$dataset" || { log_tail "$target"; skip "$target" "load generator failed (see above)"; }
  stop_group "$started_pid"
done

write_meta model="$MODEL_URI" body="dataframe_split, 30 double columns" \
  mlflow_serve_workers="${MLFLOW_WORKERS:-default (1)}" \
  mg_python="$PY" mlserver="1.7.1, mlserver-mlflow 1.7.1 (requirements-bench.txt)"
