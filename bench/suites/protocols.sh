# Suite "protocols" of bench/run.sh (sourced), issue 14: one Modelgate serving
# the benchmark forest converted to ONNX (bench/forest_model.py --flavor onnx:
# input `float_input` float32 [-1, 30]) answers Open Inference infer requests
# of one FP32 input [rows, 30], 1 and 100 rows, in three forms:
#
# Targets [rest-json rest-binary grpc]:
#   rest-json    POST /v2/models/NAME/infer, JSON tensors (the baseline)
#   rest-binary  the same route with the binary tensor data extension
#                (Inference-Header-Content-Length; outputs asked in binary too)
#   grpc         inference.GRPCInferenceService/ModelInfer on API_GRPC_PORT,
#                the input in raw_input_contents (bench/grpc-load.ts, with the
#                server's own proto, src/grpc/proto/open-inference.proto)
# The three share one server process (started once, stopped at the end), so
# their RSS figures are that process's while each form is loaded.

TARGETS=${BENCH_TARGETS:-rest-json rest-binary grpc}
MODEL_NAME=bench-forest-onnx
dataset=$work/forest-rows.json

for target in $TARGETS; do
  case $target in
    rest-json | rest-binary | grpc) ;;
    *) die "unknown target '$target' (protocols: rest-json rest-binary grpc)" ;;
  esac
done

log "registering $MODEL_NAME (the forest converted to ONNX)"
run timeout 300 "$PY" bench/forest_model.py --tracking-uri "$tracking_uri" --flavor onnx \
  --name "$MODEL_NAME" --dataset-out "$dataset" >>"$work/models.jsonl" 2>"$work/forest.log" \
  || { log_tail forest; die "registering $MODEL_NAME failed"; }

# The server's own service definition: the load generator speaks what it serves.
proto=src/grpc/proto/open-inference.proto
[ -f "$proto" ] || die "no $proto: the gRPC service definition moved?"
log "gRPC service definition: $proto"

port=$(free_port)
grpc_port=$(free_port)
if start_modelgate modelgate "$port" MODELS="models:/$MODEL_NAME@champion" API_GRPC_PORT="$grpc_port"; then
  record_startup modelgate "$ready_seconds" "GET /ping; gRPC on :$grpc_port"
  server_pid=$started_pid
  infer_url=http://127.0.0.1:$port/v2/models/$MODEL_NAME/infer
  for target in $TARGETS; do
    case $target in
      rest-json) run_load "$target" "$infer_url" "$server_pid" --form oi-json --dataset "$dataset" ;;
      rest-binary) run_load "$target" "$infer_url" "$server_pid" --form oi-binary --dataset "$dataset" ;;
      grpc)
        run timeout "$load_timeout" node "$work/js/grpc-load.js" --target grpc \
          --address "127.0.0.1:$grpc_port" --model "$MODEL_NAME" --pid "$server_pid" \
          --rows "$ROWS" --connections "$CONNECTIONS" --warmup "$WARMUP" --duration "$DURATION" \
          --dataset "$dataset" --proto "$proto" --out "$work/results.jsonl"
        ;;
    esac || { log_tail modelgate; skip "$target" "load generator failed (see above)"; }
  done
  stop_group "$server_pid"
else
  for target in $TARGETS; do skip "$target" "the server did not start (see modelgate above)"; done
fi

write_meta model="models:/$MODEL_NAME@champion" input="float_input FP32 [rows, 30]" \
  grpc_proto="${proto#"$work/js/"}" server="one node dist/main.js for every target"
