# Suite "serving" of bench/run.sh (sourced): our MLflow scoring endpoint
# (`POST /invocations`, dataframe_split) against `mlflow models serve` and a
# bare Fastify server, on the iris demo model (scripts/demo_model.py).
#
# Targets [ours ours-key mlflow-serve bare-fastify]:
#   ours          node dist/main.js, API_AUTH=off, models:/iris-classifier@champion
#   ours-key      the same with API_AUTH=on and an API key on every request
#   mlflow-serve  mlflow models serve --env-manager local, the tensor-signature
#                 variant (its ONNX flavor cannot answer DataFrames for the
#                 column one: bench/reference/mlflow-scoring-responses.md)
#   bare-fastify  bench/bare-fastify.ts: the HTTP ceiling
# Environment: BENCH_MLFLOW_WORKERS (`mlflow models serve -w`) [mlflow's default, 1],
#   BENCH_MLFLOW_SERVE_MODEL [models:/iris-classifier-tensor@champion].

TARGETS=${BENCH_TARGETS:-ours ours-key mlflow-serve bare-fastify}
MLFLOW_WORKERS=${BENCH_MLFLOW_WORKERS:-}
MLFLOW_SERVE_MODEL=${BENCH_MLFLOW_SERVE_MODEL:-models:/iris-classifier-tensor@champion}
OURS_MODEL=models:/iris-classifier@champion
[ -z "$MLFLOW_WORKERS" ] || [[ $MLFLOW_WORKERS =~ ^[1-9][0-9]*$ ]] \
  || die "BENCH_MLFLOW_WORKERS must be a positive number"
# ours-key's key: made for the run, its hash in API_KEYS (as `npm run key` prints it).
BENCH_API_KEY="mg_bench-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
BENCH_API_KEYS="bench:predict=sha256:$(printf '%s' "$BENCH_API_KEY" | sha256sum | cut -d' ' -f1)"

log "registering iris-classifier (columns) and iris-classifier-tensor (tensor)"
run timeout 300 "$PY" scripts/demo_model.py --tracking-uri "$tracking_uri" \
  --name iris-classifier --signature columns --experiment bench \
  >>"$work/models.jsonl" 2>"$work/demo-columns.log" \
  || { log_tail demo-columns; die "registering iris-classifier failed"; }
run timeout 300 "$PY" scripts/demo_model.py --tracking-uri "$tracking_uri" \
  --name iris-classifier-tensor --signature tensor --experiment bench \
  >>"$work/models.jsonl" 2>"$work/demo-tensor.log" \
  || { log_tail demo-tensor; die "registering iris-classifier-tensor failed"; }

for target in $TARGETS; do
  port=$(free_port)
  load_args=()
  case $target in
    ours)
      start_modelgate "$target" "$port" MODELS="$OURS_MODEL" || continue
      ;;
    ours-key)
      start_modelgate "$target" "$port" MODELS="$OURS_MODEL" API_AUTH=on \
        API_KEYS="$BENCH_API_KEYS" || continue
      load_args=(--api-key "$BENCH_API_KEY")
      ;;
    mlflow-serve)
      log "mlflow-serve: mlflow models serve -m $MLFLOW_SERVE_MODEL on :$port" \
        "(workers: ${MLFLOW_WORKERS:-mlflow default})"
      start mlflow-serve env MLFLOW_TRACKING_URI="$tracking_uri" \
        "$venv_bin/mlflow" models serve -m "$MLFLOW_SERVE_MODEL" --env-manager local \
        --host 127.0.0.1 -p "$port" ${MLFLOW_WORKERS:+-w "$MLFLOW_WORKERS"}
      if ! wait_http "http://127.0.0.1:$port/ping" "$started_pid" "$START_TIMEOUT"; then
        skip_unready mlflow-serve "$started_pid" "GET /ping answered 200"
        continue
      fi
      ;;
    bare-fastify)
      log "bare-fastify on :$port"
      start bare-fastify node "$work/js/bare-fastify.js" "$port"
      wait_http "http://127.0.0.1:$port/ping" "$started_pid" 30 \
        || { log_tail bare-fastify; die "bare-fastify did not start"; }
      ;;
    *) die "unknown target '$target' (serving: ours ours-key mlflow-serve bare-fastify)" ;;
  esac
  run_load "$target" "http://127.0.0.1:$port/invocations" "$started_pid" "${load_args[@]}" \
    || { log_tail "$target"; skip "$target" "load generator failed (see above)"; }
  stop_group "$started_pid"
done

write_meta ours_model="$OURS_MODEL" mlflow_serve_model="$MLFLOW_SERVE_MODEL" \
  mlflow_serve_workers="${MLFLOW_WORKERS:-default (1)}" \
  bare_fastify="bench/bare-fastify.ts: parse JSON, answer one 0 per row"
