# Suite "cores" of bench/run.sh (sourced), issue 15 point 4: where Modelgate
# stands against the ceiling, on one machine, in one run. Every target answers
# MLflow scoring requests (`POST /invocations`, dataframe_split bodies) for the
# same registered ONNX model; the load generator is wrk (bench/wrk-load.ts
# says why), closed loop, each load ROWSxCONNECTIONS.
#
# Models [BENCH_MODELS: forest iris]:
#   forest  bench-forest-onnx: bench/forest_model.py --flavor onnx (100 trees,
#           30 features, float_input float32 [-1, 30])
#   iris    iris-classifier-tensor: scripts/demo_model.py --signature tensor
#           (the demo model, float_input float32 [-1, 4]; the tensor variant,
#           so that `mlflow models serve` can answer it too)
# Loads [BENCH_LOADS: 1x16,100x16,1x64].
#
# Targets [BENCH_TARGETS: all of these, in this order]:
#   onnx-ceiling     bench/onnx-ceiling.ts: Fastify + onnxruntime-node, parse,
#                    bind, run, answer; the model file downloaded from MLflow
#   mg-1w            node dist/main.js, API_WORKERS=1, MODEL_BATCH_MAX_SIZE=0
#   mg-1w-batch      API_WORKERS=1, batching on (the build's defaults, or
#                    BENCH_BATCH_MAX_SIZE / _DELAY_MS / _QUEUE when set)
#   mg-2w            API_WORKERS=2, batching off
#   mg-2w-batch      API_WORKERS=2, batching on
#   mg-<cores>w[-batch]  the same with API_WORKERS=<cores> (only when the
#                    machine has more than 2 cores: otherwise it is mg-2w)
#   mlflow-serve-1   mlflow models serve --env-manager local -w 1
#   mlflow-serve-2   the same with -w 2
#   mlserver         MLServer 1.7.1 (.venv-bench): has no onnxruntime
#                    (requirements-bench.txt), so it serves bench-forest, the
#                    sklearn flavor of the same trees (bench/forest_model.py
#                    --flavor sklearn); SKIPPED for iris (ONNX only)
# A Modelgate target is measured only when the running build honours what it
# is named after (bench/modelgate-checks.ts): its worker processes and GET
# /v1/cluster for API_WORKERS, a burst of concurrent requests and /metrics'
# rows per runtime call for batching on/off. Otherwise it is INVALID, with why.
#
# Scaling [BENCH_SCALING=1; 0 = none]: the forest, 1 row at 16 connections,
# with wrk pinned to CPU 0 (`taskset`) and the server to CPUs 1..cores-1:
# onnx-ceiling, mg-1w and mg-<max(2, cores-1)>w. With 2 cores the server has
# one core: both workers share it, so this run shows the cost of workers, not
# their gain; the unpinned mg-2w / mg-1w of the main table shows the gain
# with the load generator competing. The report says which.
#
# Other knobs: BENCH_WRK_THREADS [1], BENCH_ONNX_THREADS [0: onnxruntime's
# default, for the ceiling and ONNX_INTRA_OP_THREADS; set it to pin both],
# BENCH_BATCH_BURST [64] (the batching check's concurrent requests),
# BENCH_HEAP_GROWTH_PERCENT [the build's API_HEAP_GROWTH_PERCENT; 0 = V8's own],
# BENCH_ONNX_SPINNING [unset: onnxruntime's default for the ceiling (spinning)
# and the build's for Modelgate (ONNX_INTRA_OP_SPINNING=false); 0 or 1 pins both].

cores=$(nproc)
TARGETS_DEFAULT="onnx-ceiling mg-1w mg-1w-batch mg-2w mg-2w-batch"
[ "$cores" -le 2 ] || TARGETS_DEFAULT+=" mg-${cores}w mg-${cores}w-batch"
TARGETS_DEFAULT+=" mlflow-serve-1 mlflow-serve-2 mlserver"
TARGETS=${BENCH_TARGETS:-$TARGETS_DEFAULT}
CORES_MODELS=${BENCH_MODELS:-forest iris}
LOADS=${BENCH_LOADS:-1x16,100x16,1x64}
SCALING=${BENCH_SCALING:-1}
WRK_THREADS=${BENCH_WRK_THREADS:-1}
ONNX_THREADS=${BENCH_ONNX_THREADS:-0}
ONNX_SPINNING=${BENCH_ONNX_SPINNING:-}
ROUNDS=${BENCH_ROUNDS:-1}
BATCH_BURST=${BENCH_BATCH_BURST:-64}
[[ $LOADS =~ ^[1-9][0-9]*x[1-9][0-9]*(,[1-9][0-9]*x[1-9][0-9]*)*$ ]] \
  || die "BENCH_LOADS must be ROWSxCONNECTIONS separated by commas: '$LOADS'"
[[ $ONNX_SPINNING =~ ^[01]?$ ]] || die "BENCH_ONNX_SPINNING must be 0 or 1: '$ONNX_SPINNING'"
for n in "$WRK_THREADS" "$ONNX_THREADS" "$BATCH_BURST" "$ROUNDS"; do
  [[ $n =~ ^[0-9]+$ ]] || die "not a whole number: '$n'"
done
for model in $CORES_MODELS; do
  case $model in forest | iris) ;; *) die "unknown model '$model' (cores: forest iris)" ;; esac
done
for target in $TARGETS; do
  case $target in
    onnx-ceiling | mlflow-serve-[1-9] | mlserver) ;;
    mg-[1-9]w | mg-[1-9]w-batch | mg-[1-9][0-9]w | mg-[1-9][0-9]w-batch) ;;
    *) die "unknown target '$target' (cores: $TARGETS_DEFAULT)" ;;
  esac
done
# The batching settings a "batch" target passes (empty: the build's defaults).
batch_env=()
[ -z "${BENCH_BATCH_MAX_SIZE:-}" ] || batch_env+=(MODEL_BATCH_MAX_SIZE="$BENCH_BATCH_MAX_SIZE")
[ -z "${BENCH_BATCH_MAX_DELAY_MS:-}" ] || batch_env+=(MODEL_BATCH_MAX_DELAY_MS="$BENCH_BATCH_MAX_DELAY_MS")
[ -z "${BENCH_BATCH_QUEUE:-}" ] || batch_env+=(MODEL_BATCH_QUEUE="$BENCH_BATCH_QUEUE")
runtime_env=()
[ "$ONNX_THREADS" -eq 0 ] || runtime_env+=(ONNX_INTRA_OP_THREADS="$ONNX_THREADS")
[ -z "${BENCH_HEAP_GROWTH_PERCENT:-}" ] || runtime_env+=(API_HEAP_GROWTH_PERCENT="$BENCH_HEAP_GROWTH_PERCENT")
case $ONNX_SPINNING in
  0) runtime_env+=(ONNX_INTRA_OP_SPINNING=false) ;;
  1) runtime_env+=(ONNX_INTRA_OP_SPINNING=true) ;;
esac

# --- wrk (Debian's package) -----------------------------------------------------
if ! command -v wrk >/dev/null; then
  log "wrk is not installed: apt-get install wrk"
  if [ "$(id -u)" -eq 0 ]; then
    run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >"$work/wrk-install.log" 2>&1 \
      || { log_tail wrk-install; die "apt-get install wrk failed"; }
  elif command -v sudo >/dev/null; then
    run sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >"$work/wrk-install.log" 2>&1 \
      || { log_tail wrk-install; die "sudo apt-get install wrk failed"; }
  else
    die "wrk is missing and this user cannot install it: apt-get install wrk"
  fi
fi
wrk_version=$(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2 || true)
log "load generator: $wrk_version, $WRK_THREADS thread(s)"

# --- models -----------------------------------------------------------------------
declare -A model_name model_dataset model_file
model_name[forest]=bench-forest-onnx
model_name[iris]=iris-classifier-tensor
model_dataset[forest]=$work/forest-rows.json
model_dataset[iris]=  # bench/dataset.ts's iris rows
for model in $CORES_MODELS; do
  case $model in
    forest)
      log "registering bench-forest-onnx (the forest converted to ONNX)"
      run timeout 300 "$PY" bench/forest_model.py --tracking-uri "$tracking_uri" --flavor onnx \
        --name bench-forest-onnx --dataset-out "${model_dataset[forest]}" \
        >>"$work/models.jsonl" 2>"$work/forest.log" \
        || { log_tail forest; die "registering bench-forest-onnx failed"; }
      if [[ " $TARGETS " == *" mlserver "* ]]; then
        log "registering bench-forest (the same trees, sklearn flavor, for MLServer)"
        run timeout 300 "$PY" bench/forest_model.py --tracking-uri "$tracking_uri" --flavor sklearn \
          --name bench-forest >>"$work/models.jsonl" 2>"$work/forest-sklearn.log" \
          || { log_tail forest-sklearn; die "registering bench-forest failed"; }
      fi
      ;;
    iris)
      log "registering iris-classifier-tensor (the demo model, tensor signature)"
      run timeout 300 "$PY" scripts/demo_model.py --tracking-uri "$tracking_uri" \
        --name iris-classifier-tensor --signature tensor --experiment bench \
        >>"$work/models.jsonl" 2>"$work/demo-tensor.log" \
        || { log_tail demo-tensor; die "registering iris-classifier-tensor failed"; }
      ;;
  esac
  if [[ " $TARGETS " == *" onnx-ceiling "* ]] || [ "$SCALING" = 1 ]; then
    run env MLFLOW_TRACKING_URI="$tracking_uri" "$PY" -c \
      'import sys, mlflow; mlflow.artifacts.download_artifacts(artifact_uri=sys.argv[1], dst_path=sys.argv[2])' \
      "models:/${model_name[$model]}@champion" "$work/onnx/$model" >"$work/download-$model.log" 2>&1 \
      || { log_tail "download-$model"; die "downloading ${model_name[$model]} failed"; }
    model_file[$model]=$(find "$work/onnx/$model" -name '*.onnx' | head -n 1)
    [ -n "${model_file[$model]}" ] || die "no .onnx file in models:/${model_name[$model]}@champion"
  fi
done

# The scaling runs record under group=scaling (cores-report.ts keeps them apart).
current_group=
# invalid TARGET MODEL REASON: a target that runs but is not what its name says.
invalid() {
  log "INVALID $1 ($2): $3"
  json_line target="$1" model="$2" rows=0 status=invalid reason="$3" \
    ${current_group:+"group=$current_group"} >>"$work/results.jsonl"
}
skip_model() {  # TARGET MODEL REASON
  log "SKIPPING $1 ($2): $3"
  json_line target="$1" model="$2" rows=0 status=skipped reason="$3" \
    ${current_group:+"group=$current_group"} >>"$work/results.jsonl"
}
# lib.sh's start_modelgate records a server that does not come up with `skip
# TARGET REASON`; here TARGET is "<target>-<model>": record it under both.
skip() { skip_model "$current_target" "$current_model" "$2"; }

# check_modelgate TARGET MODEL PORT PID WORKERS BATCH(on|off): 0 when honoured.
check_modelgate() {
  local target=$1 model=$2 port=$3 pid=$4 workers=$5 batch=$6 verdict
  verdict=$(node "$work/js/modelgate-checks.js" workers --port "$port" --pid "$pid" --expect "$workers" 2>&1) || {
    invalid "$target" "$model" "API_WORKERS=$workers not honoured: $(jq_detail "$verdict")"
    return 1
  }
  log "$target: $(jq_detail "$verdict")"
  verdict=$(node "$work/js/modelgate-checks.js" batching --port "$port" --model "${model_name[$model]}" \
    --expect "$batch" --burst "$BATCH_BURST" ${model_dataset[$model]:+--dataset "${model_dataset[$model]}"} 2>&1) || {
    invalid "$target" "$model" "batching $batch not honoured: $(jq_detail "$verdict")"
    return 1
  }
  log "$target: $(jq_detail "$verdict")"
}
jq_detail() {  # the `detail` of a checks line, or the whole output when it is not one
  node -e 'try { console.log(JSON.parse(process.argv[1].trim().split("\n").pop()).detail) } catch { console.log(process.argv[1].replace(/\s+/g, " ").slice(0, 300)) }' "$1"
}

# wrk_load TARGET MODEL PORT PID [wrk-load.js options...]
wrk_load() {
  local target=$1 model=$2 port=$3 pid=$4
  shift 4
  run timeout "$cores_load_timeout" node "$work/js/wrk-load.js" --target "$target" --model "$model" \
    --url "http://127.0.0.1:$port/invocations" --pid "$pid" --loads "$LOADS" \
    --warmup "$WARMUP" --duration "$DURATION" --threads "$WRK_THREADS" \
    ${model_dataset[$model]:+--dataset "${model_dataset[$model]}"} --out "$work/results.jsonl" "$@"
}
n_loads=$(tr ',' '\n' <<<"$LOADS" | wc -l)
cores_load_timeout=$(( (WARMUP + DURATION + 70) * n_loads + 60 ))

# serve TARGET MODEL PORT [PIN...]: start TARGET for MODEL on PORT (under PIN,
# e.g. taskset -c 1); 0 when it is up and honours its name ($started_pid).
serve() {
  local target=$1 model=$2 port=$3 workers batch t0
  shift 3
  local pin=("$@")
  current_target=$target current_model=$model
  # Each server's log (and the name lib.sh's start_modelgate knows it by):
  # $work/<target>-<model>[-scaling].log; global: the main loop tails it.
  name=$target-$model${current_group:+-$current_group}
  case $target in
    onnx-ceiling)
      log "$target ($model): node onnx-ceiling.js on :$port ${pin[*]}"
      t0=$(date +%s%N)
      start "$name" "${pin[@]}" node "$work/js/onnx-ceiling.js" "$port" "${model_file[$model]}" "$ONNX_THREADS" "$ONNX_SPINNING"
      wait_http "http://127.0.0.1:$port/ping" "$started_pid" 60 \
        || { log_tail "$name"; skip_model "$target" "$model" "did not answer GET /ping"; stop_group "$started_pid"; return 1; }
      record_startup "$target/$model${current_group:+/$current_group}" "$(elapsed_since "$t0")" "GET /ping"
      ;;
    mg-*)
      workers=${target#mg-}
      workers=${workers%%w*}
      batch=off
      [[ $target == *-batch ]] && batch=on
      local env=(API_WORKERS="$workers" "${runtime_env[@]}")
      if [ "$batch" = on ]; then env+=("${batch_env[@]}"); else env+=(MODEL_BATCH_MAX_SIZE=0); fi
      # start_modelgate records a failed start itself, through skip (below).
      MG_PIN=("${pin[@]}")
      start_modelgate "$name" "$port" MODELS="models:/${model_name[$model]}@champion" \
        "${env[@]}" || { MG_PIN=(); return 1; }
      MG_PIN=()
      record_startup "$target/$model${current_group:+/$current_group}" "$ready_seconds" "GET /ping; ${env[*]}"
      check_modelgate "$target" "$model" "$port" "$started_pid" "$workers" "$batch" \
        || { stop_group "$started_pid"; return 1; }
      ;;
    mlflow-serve-*)
      workers=${target#mlflow-serve-}
      log "$target ($model): mlflow models serve -w $workers on :$port ${pin[*]}"
      t0=$(date +%s%N)
      start "$name" "${pin[@]}" env MLFLOW_TRACKING_URI="$tracking_uri" \
        "$venv_bin/mlflow" models serve -m "models:/${model_name[$model]}@champion" --env-manager local \
        --host 127.0.0.1 -p "$port" -w "$workers"
      if ! wait_http "http://127.0.0.1:$port/ping" "$started_pid" "$START_TIMEOUT"; then
        log_tail "$name"
        skip_model "$target" "$model" "GET /ping did not answer 200 within ${START_TIMEOUT}s or it exited"
        stop_group "$started_pid"
        return 1
      fi
      record_startup "$target/$model${current_group:+/$current_group}" "$(elapsed_since "$t0")" "GET /ping"
      ;;
    mlserver)
      serve_mlserver "$model" "$port" "${pin[@]}" || return 1
      ;;
  esac
}

# serve_mlserver MODEL PORT: MLServer on bench-forest (sklearn flavor).
serve_mlserver() {
  local model=$1 port=$2 bench_py t0 dir
  if [ "$model" != forest ]; then
    skip_model mlserver "$model" "the demo model is ONNX only and .venv-bench has no onnxruntime (requirements-bench.txt)"
    return 1
  fi
  if ! bench_py=$(bash scripts/python-env.sh bench 2>"$work/mlserver-env.log"); then
    log_tail mlserver-env
    skip_model mlserver "$model" "scripts/python-env.sh bench failed: $(tail -n 1 "$work/mlserver-env.log")"
    return 1
  fi
  dir=$work/mlserver
  if [ ! -d "$dir/model" ]; then
    mkdir -p "$dir"
    run env MLFLOW_TRACKING_URI="$tracking_uri" "$PY" -c \
      'import sys, mlflow; mlflow.artifacts.download_artifacts(artifact_uri=sys.argv[1], dst_path=sys.argv[2])' \
      models:/bench-forest@champion "$dir/model" >"$work/mlserver-download.log" 2>&1 \
      || { log_tail mlserver-download; skip_model mlserver "$model" "downloading models:/bench-forest@champion failed"; return 1; }
    DIR_=$dir/model node -e 'console.log(JSON.stringify({ name: "bench-forest",
      implementation: "mlserver_mlflow.MLflowRuntime", parameters: { uri: process.env.DIR_ } }))' \
      >"$dir/model-settings.json"
  fi
  log "mlserver ($model): mlserver start on :$port (bench-forest, sklearn flavor)"
  t0=$(date +%s%N)
  start "mlserver-$model" env MLSERVER_HOST=127.0.0.1 MLSERVER_HTTP_PORT="$port" \
    MLSERVER_GRPC_PORT="$(free_port)" MLSERVER_METRICS_PORT="$(free_port)" \
    MLFLOW_DISABLE_TELEMETRY=true "${bench_py%/python}/mlserver" start "$dir"
  if ! wait_http "http://127.0.0.1:$port/v2/models/bench-forest/ready" "$started_pid" "$START_TIMEOUT"; then
    log_tail "mlserver-$model"
    skip_model mlserver "$model" "GET /v2/models/bench-forest/ready did not answer 200 within ${START_TIMEOUT}s or it exited"
    stop_group "$started_pid"
    return 1
  fi
  record_startup "mlserver/$model" "$(elapsed_since "$t0")" "GET /v2/models/bench-forest/ready"
}

# --- the main table: every target, every model, every load ------------------------
# BENCH_ROUNDS passes over every target in turn: on a shared machine whose
# speed drifts over minutes, each target is measured at several moments and
# the report keeps the median round of each (cores-report.ts, collapseRounds).
for round in $(seq 1 "$ROUNDS"); do
  [ "$ROUNDS" -eq 1 ] || log "round $round of $ROUNDS"
  for model in $CORES_MODELS; do
    for target in $TARGETS; do
      port=$(free_port)
      serve "$target" "$model" "$port" || continue
      round_args=()
      [ "$ROUNDS" -eq 1 ] || round_args=(--round "$round")
      wrk_load "$target" "$model" "$port" "$started_pid" ${round_args[@]+"${round_args[@]}"} \
        || { log_tail "$name"; skip_model "$target" "$model" "load generator failed (see above)"; }
      stop_group "$started_pid"
    done
  done
done

# --- N-worker scaling, load generator pinned apart --------------------------------
scaling_note="not run (BENCH_SCALING=0)"
if [ "$SCALING" = 1 ] && [[ " $CORES_MODELS " == *" forest "* ]]; then
  if [ "$cores" -lt 2 ]; then
    scaling_note="not run: $cores core (nothing to pin apart)"
  else
    server_cpus=1-$((cores - 1))
    [ "$cores" -gt 2 ] || server_cpus=1
    scale_workers=$((cores - 1))
    [ "$scale_workers" -ge 2 ] || scale_workers=2
    if [ "$cores" -eq 2 ]; then
      scaling_note="wrk on CPU 0, the server on CPU 1: mg-${scale_workers}w's workers share one core, so this machine shows what workers cost, not what they gain; mg-2w / mg-1w unpinned (main table) shows the gain with wrk competing for the cores"
    else
      scaling_note="wrk on CPU 0, the server on CPUs $server_cpus ($((cores - 1)) cores): mg-${scale_workers}w vs mg-1w"
    fi
    log "scaling: $scaling_note"
    saved_loads=$LOADS
    LOADS=1x16
    current_group=scaling
    for target in onnx-ceiling mg-1w "mg-${scale_workers}w"; do
      port=$(free_port)
      serve "$target" forest "$port" taskset -c "$server_cpus" || continue
      wrk_load "$target" forest "$port" "$started_pid" --group scaling --loadgen-cpus 0 \
        --server-cpus "$server_cpus" \
        || { log_tail "$name"; skip_model "$target" forest "scaling: load generator failed"; }
      stop_group "$started_pid"
    done
    LOADS=$saved_loads
    current_group=
  fi
fi

write_meta loads="$LOADS" models="$CORES_MODELS" load_generator="$wrk_version, $WRK_THREADS thread(s), closed loop" \
  forest="models:/bench-forest-onnx@champion (mlserver: models:/bench-forest@champion, sklearn flavor)" \
  iris="models:/iris-classifier-tensor@champion" \
  batch_settings="${batch_env[*]:-defaults of the build}" onnx_intra_op_threads="$ONNX_THREADS" \
  onnx_intra_op_spinning="${ONNX_SPINNING:-defaults: ceiling spins, Modelgate sleeps}" heap_growth_percent="${BENCH_HEAP_GROWTH_PERCENT:-the build default}" \
  scaling="$scaling_note" cores="$cores"
